// The fixed-order dot product (linalg/blas.hpp: dot).
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/simd.hpp"

#include <cstddef>

namespace latentlab::blas {

// Σ x_i y_i in double over 32 interleaved partial sums (sum j takes the
// i ≡ j mod 32), added in a fixed order at the end: the same bits in every
// clone (the compiler maps the 32 sums onto its vector registers) and at any
// thread count. (OpenBLAS's ddot splits the sum over its
// threads for n > 10⁴, so its result depended on train.threads, and waking its
// thread pool at every training step cost more than the sum itself.) Products
// of floats are exact in double; no FMA contraction (linalg/simd.hpp).
namespace {
constexpr std::size_t kDotLanes = 32;

template <class T>
LATENTLAB_NO_CONTRACT void dot_tail(std::size_t i, std::size_t n, const T* x, const T* y, double* acc) {
    for (; i < n; ++i) acc[i % kDotLanes] += static_cast<double>(x[i]) * static_cast<double>(y[i]);
}

template <class T>
LATENTLAB_CLONES LATENTLAB_NO_CONTRACT double dot_lanes(std::size_t n, const T* x, const T* y) {
    double acc[kDotLanes] = {};
    std::size_t i = 0;
    for (; i + kDotLanes <= n; i += kDotLanes)
        for (std::size_t j = 0; j < kDotLanes; ++j)
            acc[j] += static_cast<double>(x[i + j]) * static_cast<double>(y[i + j]);
    dot_tail(i, n, x, y, acc);
    double s = 0.0;
    for (double a : acc) s += a;
    return s;
}
}  // namespace

template <>
double dot<double>(std::size_t n, const double* x, const double* y) {
    return dot_lanes(n, x, y);
}
template <>
double dot<float>(std::size_t n, const float* x, const float* y) {
    return dot_lanes(n, x, y);
}

}  // namespace latentlab::blas
