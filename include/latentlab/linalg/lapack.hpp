// Cholesky-based solves and inverses on row-major double storage, for the
// GPLVM's kernel matrices (never xt::linalg's solve helpers: with a matrix
// right-hand side, xtensor-blas 0.20 silently solves only its first column).
// `L` is the lower factor from blas::potrf_lower.
#pragma once
#include <cstddef>

namespace latentlab::lapack {

// B (n×nrhs, row-major) ← K⁻¹ B with K = L Lᵀ: two triangular solves with all
// right-hand sides at once, no transposed copies.
void cholesky_solve(std::size_t n, std::size_t nrhs, const double* L, double* B);

// A (n×n) ← K⁻¹ (full, both triangles) from the factor L in A's lower
// triangle (as potrf_lower leaves it). Returns LAPACK's info.
int cholesky_inverse(std::size_t n, double* A);

// log|K| = 2 Σ log L_ii
double cholesky_logdet(std::size_t n, const double* L);

}  // namespace latentlab::lapack
