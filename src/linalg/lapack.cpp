// Like blas.cpp, this TU includes <cblas.h> and so stays out of the
// precompiled header (it clashes with xtensor-blas's own CBLAS declarations).
#include "latentlab/linalg/lapack.hpp"

#include "latentlab/linalg/blas.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

extern "C" {
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
             double* w, double* work, const int* lwork, int* iwork, const int* liwork, int* info);
void dsytrd_(const char* uplo, const int* n, double* a, const int* lda, double* d, double* e, double* tau,
             double* work, const int* lwork, int* info);
void dsterf_(const int* n, double* d, double* e, int* info);
void dstemr_(const char* jobz, const char* range, const int* n, double* d, double* e, const double* vl,
             const double* vu, const int* il, const int* iu, int* m, double* w, double* z, const int* ldz,
             const int* nzc, int* isuppz, int* tryrac, double* work, const int* lwork, int* iwork,
             const int* liwork, int* info);
void dormtr_(const char* side, const char* uplo, const char* trans, const int* m, const int* n, const double* a,
             const int* lda, const double* tau, double* c, const int* ldc, double* work, const int* lwork,
             int* info);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s,
             double* u, const int* ldu, double* vt, const int* ldvt, double* work,
             const int* lwork, int* iwork, int* info);
}

namespace latentlab::lapack {

namespace {
int I(std::size_t v) { return static_cast<int>(v); }
}  // namespace

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

int syev_top(std::size_t n, double* A, double* w, std::size_t k, double* V) {
    // Row-major symmetric A is its own column-major transpose.
    const int N = I(n), K = I(k);
    int info = 0, lwork = -1;
    std::vector<double> d(n), e(n), tau(n);
    double wq = 0;
    dsytrd_("L", &N, A, &N, d.data(), e.data(), tau.data(), &wq, &lwork, &info);
    if (info != 0) return info;
    std::vector<double> work(static_cast<std::size_t>(wq) + 1);
    lwork = I(work.size());
    dsytrd_("L", &N, A, &N, d.data(), e.data(), tau.data(), work.data(), &lwork, &info);
    if (info != 0) return info;
    // The eigenvalues (dsterf overwrites its copies of d and e).
    std::vector<double> ee(e);
    std::copy(d.begin(), d.end(), w);
    dsterf_(&N, w, ee.data(), &info);
    if (info != 0) return info;
    // The k largest eigenvectors of the tridiagonal matrix, column-major n×k.
    const int il = N - K + 1, iu = N;
    const double vl = 0, vu = 0;
    int m = 0, tryrac = 1, liwork = -1, iwq = 0;
    std::vector<double> wk(n), Z(n * k);
    std::vector<int> isuppz(2 * k);
    lwork = -1;
    dstemr_("V", "I", &N, d.data(), e.data(), &vl, &vu, &il, &iu, &m, wk.data(), Z.data(), &N, &K, isuppz.data(),
            &tryrac, &wq, &lwork, &iwq, &liwork, &info);
    if (info != 0) return info;
    work.resize(std::max(work.size(), static_cast<std::size_t>(wq) + 1));
    lwork = I(work.size());
    liwork = iwq;
    std::vector<int> iwork(static_cast<std::size_t>(std::max(1, liwork)));
    dstemr_("V", "I", &N, d.data(), e.data(), &vl, &vu, &il, &iu, &m, wk.data(), Z.data(), &N, &K, isuppz.data(),
            &tryrac, work.data(), &lwork, iwork.data(), &liwork, &info);
    if (info != 0) return info;
    if (m != K) return N + 1;  // fewer vectors than asked: reported as a failure to converge
    // Back to A's basis: Z ← Q Z.
    lwork = -1;
    dormtr_("L", "L", "N", &N, &K, A, &N, tau.data(), Z.data(), &N, &wq, &lwork, &info);
    if (info != 0) return info;
    work.resize(std::max(work.size(), static_cast<std::size_t>(wq) + 1));
    lwork = I(work.size());
    dormtr_("L", "L", "N", &N, &K, A, &N, tau.data(), Z.data(), &N, work.data(), &lwork, &info);
    if (info != 0) return info;
    for (std::size_t j = 0; j < k; ++j) std::copy_n(Z.data() + (k - 1 - j) * n, n, V + j * n);
    return 0;
}

int potrf_lower(std::size_t n, double* A) {
    // Row-major lower = column-major upper: the factor comes back without a copy.
    const int N = I(n);
    int info = 0;
    dpotrf_("U", &N, A, &N, &info);
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


void triangular_solve(std::size_t n, std::size_t nrhs, const double* L, double* B, bool transpose) {
    const int N = static_cast<int>(n), R = static_cast<int>(nrhs);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, transpose ? CblasTrans : CblasNoTrans, CblasNonUnit, N, R, 1.0,
                L, N, B, R);
}

int cholesky_inverse(std::size_t n, double* A) {
    // Row-major lower = column-major upper.
    const int N = static_cast<int>(n);
    int info = 0;
    dpotri_("U", &N, A, &N, &info);
    if (info != 0) return info;
    blas::mirror_lower(n, A);  // the lower triangle up
    return 0;
}

double cholesky_logdet(std::size_t n, const double* L) {
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) s += std::log(L[i * n + i]);
    return 2.0 * s;
}

}  // namespace latentlab::lapack
