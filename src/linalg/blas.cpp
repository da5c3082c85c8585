// CBLAS/LAPACK calls. This TU deliberately does not include xtensor-blas,
// whose own CBLAS declarations clash with <cblas.h> (numerics.md).
#include "latentlab/linalg/blas.hpp"

#include <cblas.h>

#include <algorithm>
#include <thread>
#include <vector>

extern "C" {
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
             double* w, double* work, const int* lwork, int* iwork, const int* liwork, int* info);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda,
             double* b, const int* ldb, int* info);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s,
             double* u, const int* ldu, double* vt, const int* ldvt, double* work,
             const int* lwork, int* iwork, int* info);
}

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
void gram(std::size_t K, std::size_t N, T alpha, const T* A, T beta, T* C) {
    // A plain GEMM: for the small N (latent sizes) we use it on, SYRK's saved
    // half is noise, and GEMM fills both triangles.
    gemm<T>(Op::T, Op::N, N, N, K, alpha, A, N, A, N, beta, C, N);
}
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

template <>
double dot<double>(std::size_t n, const double* x, const double* y) {
    return cblas_ddot(I(n), x, 1, y, 1);
}
template <>
double dot<float>(std::size_t n, const float* x, const float* y) {
    return cblas_dsdot(I(n), x, 1, y, 1);
}

void set_threads(int n) {
    if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    openblas_set_num_threads(n);
}
int threads() { return openblas_get_num_threads(); }

int syevd(std::size_t n, double* A, double* w) {
    // Row-major symmetric A is its own column-major transpose; the column-major
    // eigenvector j (contiguous) is row j of the row-major buffer.
    const int N = I(n), lda = I(n);
    int info = 0, lwork = -1, liwork = -1, iwq = 0;
    double wq = 0;
    dsyevd_("V", "U", &N, A, &lda, w, &wq, &lwork, &iwq, &liwork, &info);
    if (info != 0) return info;
    lwork = static_cast<int>(wq) + 1;
    liwork = iwq;
    std::vector<double> work(static_cast<std::size_t>(lwork));
    std::vector<int> iwork(static_cast<std::size_t>(liwork));
    dsyevd_("V", "U", &N, A, &lda, w, work.data(), &lwork, iwork.data(), &liwork, &info);
    return info;
}

int potrf_lower(std::size_t n, double* A) {
    // Row-major lower = column-major upper (numerics.md).
    const int N = I(n);
    int info = 0;
    dpotrf_("U", &N, A, &N, &info);
    return info;
}

int potrs_lower(std::size_t n, std::size_t nrhs, const double* L, double* B) {
    // Column-major potrs wants B as n×nrhs column-major: that is our row-major
    // Bᵀ. Transpose into a scratch buffer, solve all right-hand sides at once.
    const int N = I(n), R = I(nrhs);
    std::vector<double> Bt(n * nrhs);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < nrhs; ++j) Bt[j * n + i] = B[i * nrhs + j];
    int info = 0;
    dpotrs_("U", &N, &R, L, &N, Bt.data(), &N, &info);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < nrhs; ++j) B[i * nrhs + j] = Bt[j * n + i];
    return info;
}

int singular_values(std::size_t M, std::size_t N, double* A, double* s) {
    // Row-major M×N = column-major N×M (Aᵀ): same singular values.
    const int m = I(N), n = I(M), lda = I(N), one = 1;
    int info = 0, lwork = -1;
    double wq = 0, dummy = 0;
    std::vector<int> iwork(8 * std::min(M, N));
    dgesdd_("N", &m, &n, A, &lda, s, &dummy, &one, &dummy, &one, &wq, &lwork, iwork.data(), &info);
    if (info != 0) return info;
    lwork = static_cast<int>(wq) + 1;
    std::vector<double> work(static_cast<std::size_t>(lwork));
    dgesdd_("N", &m, &n, A, &lda, s, &dummy, &one, &dummy, &one, work.data(), &lwork, iwork.data(),
            &info);
    return info;
}

}  // namespace latentlab::blas
