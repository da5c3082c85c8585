// Pixel data: 8-bit images scaled to [0, 1], every value k·(1/255) for an
// integer level k in 0..255 — exactly the value data/dataset.cpp stores for
// a byte k (the double k·(1/255) rounded to T). Such data can travel as its
// levels, a quarter (float) or an eighth (double) of the bytes, and be
// turned back into the same bits: the batcher gathers minibatch rows this
// way (memory bandwidth is what a gather of scattered rows costs), and the
// second moment (linalg/pca.hpp) sums the integer levels exactly.
#pragma once
#include <cstddef>
#include <cstdint>

namespace latentlab::pixels {

// The value of level k: T(double(k) · (1/255)), the dataset's formula.
template <class T>
inline T value(unsigned k) {
    return static_cast<T>(static_cast<double>(k) * (1.0 / 255.0));
}

// levels[i] ← the level of x[i] for i < count; false (levels then
// unspecified) if some x[i] is not exactly value<T>(k) for any k, including
// NaN and values outside [0, 1]. Vectorised, branch-free.
template <class T>
bool encode(const T* x, std::size_t count, std::uint8_t* levels);

// x[i] ← value<T>(levels[i]) for i < count, bit for bit (vectorised: for
// float, float(k) / 255 in single precision, which equals the formula for
// every k; tests/test_pixels.cpp checks all 256).
template <class T>
void decode(const std::uint8_t* levels, std::size_t count, T* x);

}  // namespace latentlab::pixels
