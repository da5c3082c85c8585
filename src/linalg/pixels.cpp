#include "latentlab/linalg/pixels.hpp"

#include <cmath>
#include <type_traits>

#include "latentlab/linalg/simd.hpp"

namespace latentlab::pixels {

namespace {

// Without the trapping-math assumption GCC keeps the clamps below as
// branches and does not vectorise; the results are the same IEEE operations.
#if defined(__GNUC__) && !defined(__clang__)
#define LATENTLAB_NO_TRAP __attribute__((optimize("no-trapping-math")))
#else
#define LATENTLAB_NO_TRAP
#endif

template <class T>
LATENTLAB_CLONES LATENTLAB_NO_TRAP bool encode_loop(const T* __restrict x, std::size_t count,
                                                    std::uint8_t* __restrict levels) {
    int bad = 0;
    for (std::size_t i = 0; i < count; ++i) {
        // Round x·255 to the nearest level, clamped to 0..255 (NaN → 0: the
        // comparisons are false), then compare that level's value with x.
        float v = static_cast<float>(x[i]) * 255.0f + 0.5f;
        v = v > 0.0f ? v : 0.0f;
        v = v < 255.0f ? v : 255.0f;
        const int k = static_cast<int>(v);
        bad |= static_cast<int>(static_cast<T>(static_cast<double>(k) * (1.0 / 255.0)) != x[i]) |
               static_cast<int>(std::signbit(x[i]));  // −0 is not level 0's bits
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
