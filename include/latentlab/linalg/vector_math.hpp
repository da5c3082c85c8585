// Elementwise transcendental functions over arrays, vectorised: glibc's
// libmvec (the SIMD variants of exp that GCC calls when a loop vectorises),
// in the clone for the CPU's instruction set (linalg/simd.hpp). libmvec's exp
// is accurate to a few ulp, not correctly rounded, so the last bits may
// differ between CPUs with different vector units (never between runs or
// thread counts on one machine).
#pragma once
#include <cstddef>

namespace latentlab::vmath {

// x[i] ← exp(x[i]) for i < n.
void exp_inplace(double* x, std::size_t n);

}  // namespace latentlab::vmath
