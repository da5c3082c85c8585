// CBLAS calls on raw row-major storage. This TU deliberately does not include
// xtensor-blas, whose own CBLAS prototypes clash with <cblas.h>'s.
#include "latentlab/linalg/blas.hpp"

#include <cblas.h>

#include <algorithm>
#include <cstddef>

namespace latentlab::blas {

namespace {
CBLAS_TRANSPOSE tr(Op op) { return op == Op::N ? CblasNoTrans : CblasTrans; }
int I(std::size_t v) { return static_cast<int>(v); }
}  // namespace

template <>
void gemm<double>(Op opA, Op opB, std::size_t M, std::size_t N, std::size_t K, double alpha,
                  const double* A, std::size_t lda, const double* B, std::size_t ldb, double beta,
                  double* C, std::size_t ldc) {
    cblas_dgemm(CblasRowMajor, tr(opA), tr(opB), I(M), I(N), I(K), alpha, A, I(lda), B, I(ldb),
                beta, C, I(ldc));
}
template <>
void gemm<float>(Op opA, Op opB, std::size_t M, std::size_t N, std::size_t K, float alpha,
                 const float* A, std::size_t lda, const float* B, std::size_t ldb, float beta,
                 float* C, std::size_t ldc) {
    cblas_sgemm(CblasRowMajor, tr(opA), tr(opB), I(M), I(N), I(K), alpha, A, I(lda), B, I(ldb),
                beta, C, I(ldc));
}

template <class T>
void gemm_chunked(Op opA, Op opB, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A,
                  std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc,
                  std::size_t m_chunk, std::size_t k_chunk) {
    if (K == 0 || M == 0) return gemm<T>(opA, opB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    m_chunk = std::max<std::size_t>(1, std::min(m_chunk, M));
    k_chunk = std::max<std::size_t>(1, std::min(k_chunk, K));
    for (std::size_t r = 0; r < M; r += m_chunk) {
        const std::size_t mr = std::min(m_chunk, M - r);
        const T* Ar = opA == Op::N ? A + r * lda : A + r;
        for (std::size_t k = 0; k < K; k += k_chunk) {
            const std::size_t kk = std::min(k_chunk, K - k);
            const T* Ak = opA == Op::N ? Ar + k : Ar + k * lda;
            const T* Bk = opB == Op::N ? B + k * ldb : B + k;
            gemm<T>(opA, opB, mr, N, kk, alpha, Ak, lda, Bk, ldb, k == 0 ? beta : T(1), C + r * ldc, ldc);
        }
    }
}
template void gemm_chunked<float>(Op, Op, std::size_t, std::size_t, std::size_t, float, const float*,
                                  std::size_t, const float*, std::size_t, float, float*, std::size_t,
                                  std::size_t, std::size_t);
template void gemm_chunked<double>(Op, Op, std::size_t, std::size_t, std::size_t, double, const double*,
                                   std::size_t, const double*, std::size_t, double, double*, std::size_t,
                                   std::size_t, std::size_t);
template <>
void transpose<float>(std::size_t rows, std::size_t cols, const float* A, std::size_t lda, float* B,
                      std::size_t ldb) {
    // OpenBLAS's omatcopy: ~4 µs for 32×784, a naive loop ~10–50 µs.
    cblas_somatcopy(CblasRowMajor, CblasTrans, I(rows), I(cols), 1.0f, A, I(lda), B, I(ldb));
}
template <>
void transpose<double>(std::size_t rows, std::size_t cols, const double* A, std::size_t lda, double* B,
                       std::size_t ldb) {
    cblas_domatcopy(CblasRowMajor, CblasTrans, I(rows), I(cols), 1.0, A, I(lda), B, I(ldb));
}

template <class T>
void gram(std::size_t K, std::size_t N, T alpha, const T* A, T beta, T* C) {
    // A plain GEMM: for the small N (latent sizes) we use it on, SYRK's saved
    // half is noise, and GEMM fills both triangles.
    gemm<T>(Op::T, Op::N, N, N, K, alpha, A, N, A, N, beta, C, N);
}
namespace {
void syrk_upper(std::size_t K, std::size_t N, double alpha, const double* A, std::size_t lda, double beta,
                double* C) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, I(N), I(K), alpha, A, I(lda), beta, C, I(N));
}
void syrk_upper(std::size_t K, std::size_t N, float alpha, const float* A, std::size_t lda, float beta, float* C) {
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, I(N), I(K), alpha, A, I(lda), beta, C, I(N));
}
}  // namespace

template <class T>
void syrk_full(std::size_t K, std::size_t N, T alpha, const T* A, std::size_t lda, T* C) {
    syrk_upper(K, N, alpha, A, lda, T(0), C);
    mirror_upper(N, C);
}
template void syrk_full<float>(std::size_t, std::size_t, float, const float*, std::size_t, float*);
template void syrk_full<double>(std::size_t, std::size_t, double, const double*, std::size_t, double*);

template <class T>
void syrk_upper_add(std::size_t K, std::size_t N, T alpha, const T* A, T* C) {
    syrk_upper(K, N, alpha, A, N, T(1), C);
}
template void syrk_upper_add<float>(std::size_t, std::size_t, float, const float*, float*);
template void syrk_upper_add<double>(std::size_t, std::size_t, double, const double*, double*);
template <>
void syrk_rows_upper<double>(std::size_t N, std::size_t K, double alpha, const double* A, double beta, double* C) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, I(N), I(K), alpha, A, I(K), beta, C, I(N));
}
template <>
void syrk_rows_upper<float>(std::size_t N, std::size_t K, float alpha, const float* A, float beta, float* C) {
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, I(N), I(K), alpha, A, I(K), beta, C, I(N));
}

template <class T>
void syrk_upper_set(std::size_t K, std::size_t N, T alpha, const T* A, T* C) {
    syrk_upper(K, N, alpha, A, N, T(0), C);
}
template void syrk_upper_set<float>(std::size_t, std::size_t, float, const float*, float*);
template void syrk_upper_set<double>(std::size_t, std::size_t, double, const double*, double*);

// In tiles of 64×64 so that the strided side of the copy stays in cache
// (a row-by-row copy misses on every element of the column once N·64·8
// bytes exceed L2: ~10 ms at N = 2,000).
template <class T>
static void mirror(std::size_t N, T* C, bool from_upper) {
    constexpr std::size_t B = 64;
    for (std::size_t ib = 0; ib < N; ib += B)
        for (std::size_t jb = 0; jb <= ib; jb += B) {
            const std::size_t ie = std::min(N, ib + B), je = std::min(N, jb + B);
            for (std::size_t i = ib; i < ie; ++i)
                for (std::size_t j = jb; j < std::min(je, i); ++j) {
                    if (from_upper) C[i * N + j] = C[j * N + i];
                    else C[j * N + i] = C[i * N + j];
                }
        }
}
template <class T>
void mirror_upper(std::size_t N, T* C) {
    mirror(N, C, true);
}
template <class T>
void mirror_lower(std::size_t N, T* C) {
    mirror(N, C, false);
}
template void mirror_upper<float>(std::size_t, float*);
template void mirror_upper<double>(std::size_t, double*);
template void mirror_lower<float>(std::size_t, float*);
template void mirror_lower<double>(std::size_t, double*);

template void gram<float>(std::size_t, std::size_t, float, const float*, float, float*);
template void gram<double>(std::size_t, std::size_t, double, const double*, double, double*);

template <>
void axpy<double>(std::size_t n, double alpha, const double* x, double* y) {
    cblas_daxpy(I(n), alpha, x, 1, y, 1);
}
template <>
void axpy<float>(std::size_t n, float alpha, const float* x, float* y) {
    cblas_saxpy(I(n), alpha, x, 1, y, 1);
}
}  // namespace latentlab::blas
