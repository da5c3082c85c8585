// Internal: explicit SIMD for the few elementwise loops of a training step
// (optimiser updates, batch gather) that the compiler cannot vectorise well
// for the baseline x86-64 target the library is built for.
//
// Paths are chosen at run time (has_avx512()), so one binary runs anywhere.
// Determinism: every path computes each element with the same IEEE operations
// (+, −, ×, ÷, sqrt are correctly rounded, lane by lane) in the same order as
// the scalar code, and FMA contraction is disabled in these functions, so all
// paths give bit-identical results (tests/test_perf_kernels.cpp checks it).
#pragma once
#include <cstddef>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
#define LATENTLAB_HAVE_AVX512 1
// fp-contract=off: a·b + c must stay two roundings, as in the scalar code.
#define LATENTLAB_NO_CONTRACT __attribute__((optimize("fp-contract=off")))
#define LATENTLAB_AVX512 __attribute__((target("avx512f"), optimize("fp-contract=off")))
#else
#define LATENTLAB_HAVE_AVX512 0
#define LATENTLAB_NO_CONTRACT
#endif

namespace latentlab::simd {

// sqrt without the errno path (the argument is never negative here), which
// also lets the compiler keep it inline under the attributes above.
inline float sqrt_ieee(float x) { return __builtin_sqrtf(x); }
inline double sqrt_ieee(double x) { return __builtin_sqrt(x); }

#if LATENTLAB_HAVE_AVX512
inline bool has_avx512() {
    static const bool yes = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") != 0;
    }();
    return yes;
}

// One 512-bit register of T, unaligned loads and stores.
template <class T>
struct Avx512;

template <>
struct Avx512<float> {
    using V = __m512;
    static constexpr std::size_t width = 16;
    LATENTLAB_AVX512 static V load(const float* p) { return _mm512_loadu_ps(p); }
    LATENTLAB_AVX512 static void store(float* p, V a) { _mm512_storeu_ps(p, a); }
    LATENTLAB_AVX512 static V set1(float a) { return _mm512_set1_ps(a); }
    LATENTLAB_AVX512 static V add(V a, V b) { return _mm512_add_ps(a, b); }
    LATENTLAB_AVX512 static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
    LATENTLAB_AVX512 static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
    LATENTLAB_AVX512 static V div(V a, V b) { return _mm512_div_ps(a, b); }
    LATENTLAB_AVX512 static V sqrt(V a) { return _mm512_maskz_sqrt_ps(0xFFFF, a); }  // maskz: no GCC 12 -Wmaybe-uninitialized
};

template <>
struct Avx512<double> {
    using V = __m512d;
    static constexpr std::size_t width = 8;
    LATENTLAB_AVX512 static V load(const double* p) { return _mm512_loadu_pd(p); }
    LATENTLAB_AVX512 static void store(double* p, V a) { _mm512_storeu_pd(p, a); }
    LATENTLAB_AVX512 static V set1(double a) { return _mm512_set1_pd(a); }
    LATENTLAB_AVX512 static V add(V a, V b) { return _mm512_add_pd(a, b); }
    LATENTLAB_AVX512 static V sub(V a, V b) { return _mm512_sub_pd(a, b); }
    LATENTLAB_AVX512 static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
    LATENTLAB_AVX512 static V div(V a, V b) { return _mm512_div_pd(a, b); }
    LATENTLAB_AVX512 static V sqrt(V a) { return _mm512_maskz_sqrt_pd(0xFF, a); }
};
#else
inline bool has_avx512() { return false; }
#endif

}  // namespace latentlab::simd
