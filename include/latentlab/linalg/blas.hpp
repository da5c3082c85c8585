// Thin typed wrappers over CBLAS/LAPACK on raw row-major storage (xtensor
// buffers pass `.data()`). Kept free of <cblas.h> and xtensor-blas so that any
// TU can include them (the two clash: numerics.md). Transposes are flags,
// never copies; outputs go into caller-owned, preallocated buffers.
#pragma once
#include <cstddef>

namespace latentlab::blas {

enum class Op { N, T };

// C (M×N) = alpha · op(A) · op(B) + beta · C, all row-major.
// op(A) is M×K, op(B) is K×N; lda/ldb/ldc are the row strides as stored.
template <class T>
void gemm(Op opA, Op opB, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A,
          std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc);

// C (N×N) = alpha · Aᵀ A + beta · C for A (K×N) row-major, C full (both triangles).
template <class T>
void gram(std::size_t K, std::size_t N, T alpha, const T* A, T beta, T* C);

// y += alpha x
template <class T>
void axpy(std::size_t n, T alpha, const T* x, T* y);

// Σ x_i y_i accumulated in double (dsdot for float).
template <class T>
double dot(std::size_t n, const T* x, const T* y);

// ‖x‖² accumulated in double.
template <class T>
double sqnorm(std::size_t n, const T* x) { return dot(n, x, x); }

// Number of BLAS threads (OpenBLAS); n = 0 means all cores.
void set_threads(int n);
int threads();

// --- LAPACK, double, setup-time work ---------------------------------------

// Symmetric eigendecomposition of the row-major n×n matrix A (dsyevd).
// On return `w` holds the eigenvalues in ascending order and row j of A the
// unit eigenvector of w[j]. Returns LAPACK's info (0 = success).
int syevd(std::size_t n, double* A, double* w);

// Cholesky of the row-major SPD n×n matrix A: on success the lower triangle
// of A holds L with A = L Lᵀ (upper triangle untouched). Returns info (> 0:
// not positive definite at that leading minor).
int potrf_lower(std::size_t n, double* A);

// Solves A X = B for B (n×nrhs, row-major) in place, given potrf_lower's L.
int potrs_lower(std::size_t n, std::size_t nrhs, const double* L, double* B);

// Singular values (descending) of the row-major M×N matrix A (destroyed).
int singular_values(std::size_t M, std::size_t N, double* A, double* s);

}  // namespace latentlab::blas
