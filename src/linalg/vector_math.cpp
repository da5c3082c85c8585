#include "latentlab/linalg/vector_math.hpp"

#include <cmath>

#include "latentlab/linalg/simd.hpp"

// glibc declares the SIMD variants of exp only under -ffast-math; declaring
// them here (the same declaration glibc's <bits/math-vector.h> makes) lets
// GCC call libmvec without relaxing IEEE semantics anywhere else.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
extern "C" double exp(double) noexcept __attribute__((simd("notinbranch")));
#define LATENTLAB_VECTORISE __attribute__((optimize("vect-cost-model=dynamic")))
#else
#define LATENTLAB_VECTORISE
#endif

namespace latentlab::vmath {

LATENTLAB_CLONES LATENTLAB_VECTORISE void exp_inplace(double* __restrict x, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
}

}  // namespace latentlab::vmath
