#include "latentlab/linalg/pixels.hpp"

#include <cmath>
#include <type_traits>

#include "latentlab/linalg/simd.hpp"

namespace latentlab::pixels {

namespace {

// This file is compiled with -fno-trapping-math (CMakeLists.txt): GCC then
// turns the clamps below into selects and vectorises the loop; the results
// are the same IEEE operations. (An optimize attribute instead would keep
// std::copysign from being inlined into the loop.)
template <class T>
LATENTLAB_CLONES bool encode_loop(const T* __restrict x, std::size_t count, std::uint8_t* __restrict levels) {
    int bad = 0;
    for (std::size_t i = 0; i < count; ++i) {
        // Round x·255 to the nearest level, clamped to 0..255 (NaN → 0: the
        // comparisons are false), then compare that level's value with x.
        T v = x[i] * T(255) + T(0.5);
        v = v > T(0) ? v : T(0);
        v = v < T(255) ? v : T(255);
        const int k = static_cast<int>(v);
        bad |= static_cast<int>(static_cast<T>(static_cast<double>(k) * (1.0 / 255.0)) != x[i]) |
               static_cast<int>(std::copysign(T(1), x[i]) < T(0));  // −0 is not level 0's bits
        levels[i] = static_cast<std::uint8_t>(k);
    }
    return bad == 0;
}

template <class T>
LATENTLAB_CLONES void decode_loop(const std::uint8_t* __restrict levels, std::size_t count, T* __restrict x) {
    if constexpr (std::is_same_v<T, float>) {
        for (std::size_t i = 0; i < count; ++i) x[i] = static_cast<float>(levels[i]) / 255.0f;
    } else {
        for (std::size_t i = 0; i < count; ++i) x[i] = static_cast<double>(levels[i]) * (1.0 / 255.0);
    }
}

}  // namespace

template <class T>
bool encode(const T* x, std::size_t count, std::uint8_t* levels) {
    return encode_loop(x, count, levels);
}

template <class T>
void decode(const std::uint8_t* levels, std::size_t count, T* x) {
    decode_loop(levels, count, x);
}

template bool encode<float>(const float*, std::size_t, std::uint8_t*);
template bool encode<double>(const double*, std::size_t, std::uint8_t*);
template void decode<float>(const std::uint8_t*, std::size_t, float*);
template void decode<double>(const std::uint8_t*, std::size_t, double*);

}  // namespace latentlab::pixels
