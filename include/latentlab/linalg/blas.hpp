// Thin typed wrappers over CBLAS/LAPACK on raw row-major storage (xtensor
// buffers pass `.data()`). Kept free of <cblas.h> and xtensor-blas so that any
// TU can include them (the two declare the CBLAS prototypes differently). Transposes are flags,
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

// The same product as a sequence of calls, each over at most `m_chunk` rows of
// C and `k_chunk` of the inner dimension, accumulated in order of K (the
// first chunk with `beta`, the rest with 1). Used to keep each call within
// OpenBLAS's unpacked small-matrix kernels (see small_gemm_limit() in linalg/openblas.hpp), which on
// the autoencoder's thin shapes are ~1.5× faster than one packed call.
template <class T>
void gemm_chunked(Op opA, Op opB, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A,
                  std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc,
                  std::size_t m_chunk, std::size_t k_chunk);


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

// The upper triangle of C (N×N) += alpha · Aᵀ A (A: K×N, row-major); the
// lower triangle is not touched (mirror_upper fills it from the upper).
template <class T>
void syrk_upper_add(std::size_t K, std::size_t N, T alpha, const T* A, T* C);
// The upper triangle of C (N×N) = alpha · A Aᵀ + beta · C for A (N×K,
// row-major): the Gram matrix of A's rows; the lower triangle is not touched.
template <class T>
void syrk_rows_upper(std::size_t N, std::size_t K, T alpha, const T* A, T beta, T* C);
// The same as syrk_upper_add, overwriting the upper triangle (C need not be initialised).
template <class T>
void syrk_upper_set(std::size_t K, std::size_t N, T alpha, const T* A, T* C);
// C's lower triangle ← its upper (mirror_upper), or the upper ← the lower
// (mirror_lower); C is N×N, row-major.
template <class T>
void mirror_upper(std::size_t N, T* C);
template <class T>
void mirror_lower(std::size_t N, T* C);

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


}  // namespace latentlab::blas
