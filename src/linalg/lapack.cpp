// Like blas.cpp, this TU includes <cblas.h> and so stays out of the
// precompiled header (it clashes with xtensor-blas's own CBLAS declarations).
#include "latentlab/linalg/lapack.hpp"

#include <cblas.h>

#include <cmath>

extern "C" void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info);

namespace latentlab::lapack {

void cholesky_solve(std::size_t n, std::size_t nrhs, const double* L, double* B) {
    const int N = static_cast<int>(n), R = static_cast<int>(nrhs);
    // L Y = B, then Lᵀ X = Y (row-major, lower triangle of L).
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, N, R, 1.0, L, N, B, R);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, N, R, 1.0, L, N, B, R);
}

int cholesky_inverse(std::size_t n, double* A) {
    // Row-major lower = column-major upper.
    const int N = static_cast<int>(n);
    int info = 0;
    dpotri_("U", &N, A, &N, &info);
    if (info != 0) return info;
    for (std::size_t i = 0; i < n; ++i)  // mirror the lower triangle up
        for (std::size_t j = i + 1; j < n; ++j) A[i * n + j] = A[j * n + i];
    return 0;
}

double cholesky_logdet(std::size_t n, const double* L) {
    double s = 0.0;
    for (std::size_t i = 0; i < n; ++i) s += std::log(L[i * n + i]);
    return 2.0 * s;
}

}  // namespace latentlab::lapack
