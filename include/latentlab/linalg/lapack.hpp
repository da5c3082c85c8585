// Cholesky-based solves and inverses on row-major double storage, for the
// GPLVM's kernel matrices (never xt::linalg's solve helpers: with a matrix
// right-hand side, xtensor-blas 0.20 silently solves only its first column).
// `L` is the lower factor from lapack::potrf_lower.
#pragma once
#include <cstddef>

namespace latentlab::lapack {

// --- LAPACK drivers, double, setup-time work ---------------------------------

// Symmetric eigendecomposition of the row-major n×n matrix A (dsyevd).
// On return `w` holds the eigenvalues in ascending order and row j of A the
// unit eigenvector of w[j]. Returns LAPACK's info (0 = success).
int syevd(std::size_t n, double* A, double* w);

// All eigenvalues of the symmetric row-major n×n matrix A (destroyed), in
// ascending order into w, and the unit eigenvectors of the k largest (k < n)
// as the rows of V (k×n), largest first: one tridiagonal reduction (dsytrd),
// the eigenvalues by dsterf, the k vectors by MRRR (dstemr) and dormtr —
// about half of dsyevd's time when k ≪ n. Returns LAPACK's info (0 = success,
// < 0 an argument rejected, > 0 no convergence or fewer than k vectors found).
int syev_top(std::size_t n, double* A, double* w, std::size_t k, double* V);

// Cholesky of the row-major SPD n×n matrix A: on success the lower triangle
// of A holds L with A = L Lᵀ (upper triangle untouched). Returns info (> 0:
// not positive definite at that leading minor).
int potrf_lower(std::size_t n, double* A);

// Singular values (descending) of the row-major M×N matrix A (destroyed).
int singular_values(std::size_t M, std::size_t N, double* A, double* s);

// --- built on them ---------------------------------------------------------

// A (n×n) ← K⁻¹ (full, both triangles) from the factor L in A's lower
// triangle (as potrf_lower leaves it). Returns LAPACK's info.
int cholesky_inverse(std::size_t n, double* A);

// B (n×nrhs, row-major) ← L⁻¹ B, or L⁻ᵀ B when `transpose`: one triangular
// solve with all right-hand sides (L lower, n×n, row-major).
void triangular_solve(std::size_t n, std::size_t nrhs, const double* L, double* B, bool transpose = false);

// log|K| = 2 Σ log L_ii
double cholesky_logdet(std::size_t n, const double* L);

}  // namespace latentlab::lapack
