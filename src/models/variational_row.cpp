#include "latentlab/models/variational_row.hpp"

#include <cmath>
#include <vector>

namespace latentlab {

double negative_row_bound(const PsiStatistics& ps, const double* G2, double g0, const double* G1_row, const double* x,
                          double* g) {
    const std::size_t q = ps.q(), M = ps.M();
    const double* mu = x;
    std::vector<double> S(q), P1(M), Psi2(M * M), G1(G1_row, G1_row + M), dmu(q), dS(q);
    for (std::size_t j = 0; j < q; ++j) S[j] = std::exp(x[q + j]);
    PsiSums sums = ps.zero_sums();
    ps.forward(mu, S.data(), 1, P1.data(), sums);
    ps.psi2_matrix(sums, Psi2.data());
    double f = g0 * sums.psi0;
    for (std::size_t m = 0; m < M; ++m) f += G1[m] * P1[m];
    for (std::size_t i = 0; i < M * M; ++i) f += G2[i] * Psi2[i];
    for (std::size_t j = 0; j < q; ++j) f -= 0.5 * (mu[j] * mu[j] + S[j] - x[q + j] - 1.0);
    if (g) {
        PsiGradSums unused = ps.zero_grad_sums();
        ps.backward(mu, S.data(), 1, g0, G1.data(), dmu.data(), dS.data(), unused);
        for (std::size_t j = 0; j < q; ++j) {
            g[j] = -(dmu[j] - mu[j]);
            g[q + j] = -(S[j] * dS[j] - 0.5 * (S[j] - 1.0));
        }
    }
    return -f;
}

}  // namespace latentlab
