// Internal: how the project vectorises the few loops BLAS does not cover
// (optimiser updates, the fixed-order dot product, the GPLVM's streaming
// products). One approach throughout: plain loops, or GCC vector types where
// the registers are tiled by hand, compiled once per instruction set by
// `target_clones` (AVX-512, AVX2, baseline) and chosen by the loader for the
// CPU it finds, so one binary runs anywhere at its best. No intrinsics.
// (xsimd, which xtensor uses, would need one translation unit per instruction
// set, built with its own -m flags, and a dispatcher of our own.)
//
// Determinism: where a result must not depend on the clone (optimiser
// updates, dot), the loops compute each element with the same IEEE
// operations (+, −, ×, ÷, sqrt are correctly rounded, lane by lane) in the
// same order whatever the vector width, and FMA contraction is off
// (LATENTLAB_NO_CONTRACT), so every clone gives the same bits
// (tests/test_perf_kernels.cpp checks it).
#pragma once
#include <cstddef>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
// One copy of the function per instruction set, chosen at load time.
#define LATENTLAB_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
// a·b + c stays two roundings, as in the scalar reading of the code. (The
// project builds with -fno-math-errno, so that loops with sqrt vectorise.)
#define LATENTLAB_NO_CONTRACT __attribute__((optimize("fp-contract=off")))
#else
#define LATENTLAB_CLONES
#define LATENTLAB_NO_CONTRACT
#endif

namespace latentlab::simd {

// Eight doubles in one vector register (two AVX2 or one AVX-512 register);
// v8u is the same for unaligned access through a may_alias pointer.
typedef double v8d __attribute__((vector_size(64)));
typedef double v8u __attribute__((vector_size(64), aligned(8), may_alias));

}  // namespace latentlab::simd
