// The fixed-order dot product (linalg/blas.hpp: dot).
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/simd.hpp"

#include <cstddef>

namespace latentlab::blas {

// Σ x_i y_i in double over 32 interleaved partial sums (sum j takes the
// i ≡ j mod 32), added in a fixed order at the end: the same bits on every
// path and at any thread count. (OpenBLAS's ddot splits the sum over its
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
LATENTLAB_NO_CONTRACT double dot_scalar(std::size_t n, const T* x, const T* y) {
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

#if LATENTLAB_HAVE_AVX512
LATENTLAB_AVX512 __m512d widen(const double* p) { return _mm512_loadu_pd(p); }
LATENTLAB_AVX512 __m512d widen(const float* p) {
    return _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(p));  // maskz: no GCC 12 -Wmaybe-uninitialized
}

template <class T>
LATENTLAB_AVX512 double dot_avx512(std::size_t n, const T* x, const T* y) {
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;  // lanes 0–7, 8–15, ...
    std::size_t i = 0;
    for (; i + kDotLanes <= n; i += kDotLanes) {
        a0 = _mm512_add_pd(a0, _mm512_mul_pd(widen(x + i), widen(y + i)));
        a1 = _mm512_add_pd(a1, _mm512_mul_pd(widen(x + i + 8), widen(y + i + 8)));
        a2 = _mm512_add_pd(a2, _mm512_mul_pd(widen(x + i + 16), widen(y + i + 16)));
        a3 = _mm512_add_pd(a3, _mm512_mul_pd(widen(x + i + 24), widen(y + i + 24)));
    }
    alignas(64) double acc[kDotLanes];
    _mm512_store_pd(acc, a0);
    _mm512_store_pd(acc + 8, a1);
    _mm512_store_pd(acc + 16, a2);
    _mm512_store_pd(acc + 24, a3);
    dot_tail(i, n, x, y, acc);
    double s = 0.0;
    for (double a : acc) s += a;
    return s;
}
#endif

template <class T>
double dot_any(std::size_t n, const T* x, const T* y) {
#if LATENTLAB_HAVE_AVX512
    if (simd::has_avx512()) return dot_avx512(n, x, y);
#endif
    return dot_scalar(n, x, y);
}
}  // namespace

template <>
double dot<double>(std::size_t n, const double* x, const double* y) {
    return dot_any(n, x, y);
}
template <>
double dot<float>(std::size_t n, const float* x, const float* y) {
    return dot_any(n, x, y);
}

}  // namespace latentlab::blas
