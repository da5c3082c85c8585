#include "latentlab/analysis/pca.hpp"

#include <algorithm>
#include <type_traits>

#include "latentlab/analysis/principal_angles.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/lapack.hpp"
#include "latentlab/core/error.hpp"

namespace latentlab {

using blas::Op;

double optimal_ae_loss(const Pca& pca, std::size_t m, std::size_t n_samples) {
    double tail = 0.0;
    // Sum the small eigenvalues from the smallest up (less rounding); clamp the
    // tiny negative ones LAPACK returns for a rank-deficient C.
    for (std::size_t j = pca.eigenvalues.size(); j-- > m;) tail += std::max(0.0, pca.eigenvalues(j));
    return 0.5 * tail / static_cast<double>(n_samples);
}

template <class T>
AeFullEval ae_full_eval(const T* Wp, std::size_t m, std::size_t n, const xt::xtensor<double, 2>& C,
                        std::size_t n_samples) {
    std::vector<double> W(Wp, Wp + m * n), P(m * n), S(m * m), Q(m * m), G(m * n);
    // P = W C (m×n), S = P Wᵀ = W C Wᵀ, Q = W Wᵀ
    blas::gemm<double>(Op::N, Op::N, m, n, n, 1.0, W.data(), n, C.data(), n, 0.0, P.data(), n);
    blas::gemm<double>(Op::N, Op::T, m, m, n, 1.0, P.data(), n, W.data(), n, 0.0, S.data(), m);
    blas::gemm<double>(Op::N, Op::T, m, m, n, 1.0, W.data(), n, W.data(), n, 0.0, Q.data(), m);
    double trC = 0.0, trSQ = 0.0, trS = 0.0;
    for (std::size_t i = 0; i < n; ++i) trC += C(i, i);
    for (std::size_t i = 0; i < m * m; ++i) trSQ += S[i] * Q[i];
    for (std::size_t i = 0; i < m; ++i) trS += S[i * m + i];
    const double N = static_cast<double>(n_samples);
    AeFullEval e;
    e.loss = 0.5 * (trSQ - 2.0 * trS + trC) / N;
    for (std::size_t i = 0; i < m; ++i) Q[i * m + i] -= 2.0;
    blas::gemm<double>(Op::N, Op::N, m, n, m, 1.0 / N, S.data(), m, W.data(), n, 0.0, G.data(), n);
    blas::gemm<double>(Op::N, Op::N, m, n, m, 1.0 / N, Q.data(), m, P.data(), n, 1.0, G.data(), n);
    e.grad_norm = std::sqrt(blas::sqnorm<double>(m * n, G.data()));
    return e;
}

double variance_captured(const xt::xtensor<double, 2>& W, const xt::xtensor<double, 2>& C) {
    const xt::xtensor<double, 2> Q = orthonormal_rows(W);
    const std::size_t m = Q.shape()[0], n = Q.shape()[1];
    std::vector<double> QC(m * n);
    blas::gemm<double>(Op::N, Op::N, m, n, n, 1.0, Q.data(), n, C.data(), n, 0.0, QC.data(), n);
    double num = 0.0, trC = 0.0;  // tr(Qᵀ Q C) = tr(Q C Qᵀ) = Σ (QC ⊙ Q)
    for (std::size_t i = 0; i < m * n; ++i) num += QC[i] * Q.data()[i];
    for (std::size_t i = 0; i < n; ++i) trC += C(i, i);
    return num / trC;
}

template AeFullEval ae_full_eval<float>(const float*, std::size_t, std::size_t,
                                        const xt::xtensor<double, 2>&, std::size_t);
template AeFullEval ae_full_eval<double>(const double*, std::size_t, std::size_t,
                                         const xt::xtensor<double, 2>&, std::size_t);

}  // namespace latentlab
