// Thin typed wrappers over CBLAS/LAPACK on raw row-major storage (xtensor
// buffers pass `.data()`). Kept free of <cblas.h> and xtensor-blas so that any
// TU can include them (xtensor-blas's own CBLAS declarations clash with
// <cblas.h> in one TU). Transposes are flags, never copies; outputs go into
// caller-owned, preallocated buffers.
#pragma once
#include <cstddef>
#include <functional>
#include <string>

namespace latentlab::blas {

enum class Op { N, T };

// C (M×N) = alpha · op(A) · op(B) + beta · C, all row-major.
// op(A) is M×K, op(B) is K×N; lda/ldb/ldc are the row strides as stored.
template <class T>
void gemm(Op opA, Op opB, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A,
          std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc);

// The same product as a sequence of calls, each over at most `m_chunk` rows of
// C and `k_chunk` of the inner dimension, accumulated in order of K (the
// first chunk with `beta`, the rest with 1). Used to keep each call within
// OpenBLAS's unpacked small-matrix kernels (see small_gemm_limit()), which on
// the autoencoder's thin shapes are ~1.5× faster than one packed call.
template <class T>
void gemm_chunked(Op opA, Op opB, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A,
                  std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc,
                  std::size_t m_chunk, std::size_t k_chunk);

// M·N·K up to which OpenBLAS runs a GEMM on its unpacked small-matrix kernels
// (SkylakeX and newer kernel sets, OpenBLAS ≥ 0.3.16), or 0 when the kernel
// set in use has none.
double small_gemm_limit();

// B (cols×rows, row stride ldb) = Aᵀ for A (rows×cols, row stride lda).
template <class T>
void transpose(std::size_t rows, std::size_t cols, const T* A, std::size_t lda, T* B, std::size_t ldb);

// C (N×N) = alpha · Aᵀ A + beta · C for A (K×N) row-major, C full (both triangles).
template <class T>
void gram(std::size_t K, std::size_t N, T alpha, const T* A, T beta, T* C);

// C (N×N) = alpha · Aᵀ A for A (K×N, row stride lda) by SYRK (half the
// flops of a GEMM), the lower triangle mirrored from the upper.
template <class T>
void syrk_full(std::size_t K, std::size_t N, T alpha, const T* A, std::size_t lda, T* C);

// y += alpha x
template <class T>
void axpy(std::size_t n, T alpha, const T* x, T* y);

// Σ x_i y_i accumulated in double, in a fixed order (not OpenBLAS's ddot,
// whose threaded sum depends on the thread count; blas.cpp).
template <class T>
double dot(std::size_t n, const T* x, const T* y);

// ‖x‖² accumulated in double.
template <class T>
double sqnorm(std::size_t n, const T* x) { return dot(n, x, x); }

// The number of threads for BLAS work (train.threads): OpenBLAS's own count,
// and the number of workers of parallel_for. n = 0 means all cores.
void set_threads(int n);
int threads();

// Runs f(0), …, f(parts − 1) on up to threads() workers (thread_pool.hpp),
// with OpenBLAS single-threaded for the duration. A caller that fixes the
// parts from the shapes alone (never from the thread count) therefore gets
// the same bits at any thread count, on any OpenBLAS kernel set: each part is
// one fixed sequence of single-threaded BLAS calls, whichever thread runs it.
// Not reentrant from f.
void parallel_for(std::size_t parts, const std::function<void(std::size_t)>& f);

// The OpenBLAS kernel set in use (e.g. "SkylakeX"). OpenBLAS falls back to
// SSE3 "Prescott" kernels on CPUs it does not recognise; blas.cpp then selects
// what the CPU supports unless OPENBLAS_CORETYPE says otherwise, and the
// name says so.
std::string kernels();

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
