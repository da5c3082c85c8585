#include "latentlab/analysis/principal_angles.hpp"

#include <algorithm>
#include <cmath>

#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/lapack.hpp"
#include "latentlab/core/error.hpp"

namespace latentlab {

using blas::Op;

xt::xtensor<double, 2> orthonormal_rows(const xt::xtensor<double, 2>& A) {
    const std::size_t p = A.shape()[0], n = A.shape()[1];
    xt::xtensor<double, 2> Q = A;
    double* q = Q.data();
    for (std::size_t i = 0; i < p; ++i) {
        double* qi = q + i * n;
        const double norm0 = std::sqrt(blas::sqnorm<double>(n, qi));
        for (int pass = 0; pass < 2; ++pass)  // "twice is enough" (Kahan, Parlett)
            for (std::size_t j = 0; j < i; ++j) {
                const double* qj = q + j * n;
                blas::axpy<double>(n, -blas::dot<double>(n, qi, qj), qj, qi);
            }
        const double norm = std::sqrt(blas::sqnorm<double>(n, qi));
        if (!(norm > 1e-12 * norm0) || norm0 == 0.0)
            throw Error("principal angles: the rows of W are linearly dependent (row " +
                        std::to_string(i) + ")");
        for (std::size_t k = 0; k < n; ++k) qi[k] /= norm;
    }
    return Q;
}

std::vector<double> principal_angles_deg(const xt::xtensor<double, 2>& A,
                                         const xt::xtensor<double, 2>& B) {
    const xt::xtensor<double, 2> Qa = orthonormal_rows(A), Qb = orthonormal_rows(B);
    const std::size_t p = Qa.shape()[0], q = Qb.shape()[0], n = Qa.shape()[1];
    const std::size_t k = std::min(p, q);
    // M = Qa Qbᵀ (p×q): cosines
    std::vector<double> M(p * q), cosv(k), sinv(std::min(p, n));
    blas::gemm<double>(Op::N, Op::T, p, q, n, 1.0, Qa.data(), n, Qb.data(), n, 0.0, M.data(), q);
    // Rres = Qa − M Qb (p×n): sines
    std::vector<double> R(Qa.begin(), Qa.end());
    blas::gemm<double>(Op::N, Op::N, p, n, q, -1.0, M.data(), q, Qb.data(), n, 1.0, R.data(), n);
    if (lapack::singular_values(p, q, M.data(), cosv.data()) != 0 ||
        lapack::singular_values(p, n, R.data(), sinv.data()) != 0)
        throw Error("principal angles: LAPACK dgesdd failed");
    // cos descending pairs with sin ascending (the smallest angles first).
    std::vector<double> deg(k);
    std::sort(sinv.begin(), sinv.end());
    for (std::size_t i = 0; i < k; ++i) {
        const double c = std::clamp(cosv[i], 0.0, 1.0);
        const double s = std::clamp(sinv[i], 0.0, 1.0);
        // Small angles from the sine, large ones from the cosine.
        const double rad = s < std::sqrt(0.5) ? std::asin(s) : std::acos(c);
        deg[i] = rad * 180.0 / M_PI;
    }
    std::sort(deg.begin(), deg.end());
    return deg;
}

double orthonormality_error(const xt::xtensor<double, 2>& W) {
    const std::size_t m = W.shape()[0], n = W.shape()[1];
    std::vector<double> Q(m * m);
    blas::gemm<double>(Op::N, Op::T, m, m, n, 1.0, W.data(), n, W.data(), n, 0.0, Q.data(), m);
    double e = 0.0;
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < m; ++j) {
            const double d = Q[i * m + j] - (i == j ? 1.0 : 0.0);
            e += d * d;
        }
    return std::sqrt(e);
}

}  // namespace latentlab
