#include "latentlab/analysis/gplvm_optimum.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "latentlab/analysis/pca.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/core/communicator.hpp"
#include "latentlab/core/error.hpp"

namespace latentlab {

template <class T>
GplvmOptimum linear_gplvm_optimum(const MatrixView<T>& Y, const Pca& pca, std::size_t q, double alpha, double s2) {
    const std::size_t N = Y.rows, D = Y.cols;
    // N over every process's rows (core/communicator.hpp); X* below is this rank's rows'.
    const double Nd = static_cast<double>(sum_all(N)), Dd = static_cast<double>(D);
    // pca: eigenpairs of YᵀY; S = YYᵀ/D shares its non-zero eigenvalues /D.
    GplvmOptimum opt;
    double trS = 0;
    for (std::size_t j = 0; j < D; ++j) trS += std::max(0.0, pca.eigenvalues(j)) / Dd;
    // Σ_j log κ_j + Σ_j λ_j/κ_j over all N eigen-directions of S (the N − D
    // beyond D have λ = 0, κ = σ²).
    double logdet = 0, quad = 0;
    for (std::size_t j = 0; j < q; ++j) {
        const double lam = std::max(0.0, pca.eigenvalues(j)) / Dd;
        opt.eigenvalues.push_back(lam);
        const double kappa = std::max(lam, s2);
        logdet += std::log(kappa);
        quad += lam / kappa;
    }
    logdet += (Nd - static_cast<double>(q)) * std::log(s2);
    double tail = trS;
    for (double lam : opt.eigenvalues) tail -= lam;
    quad += std::max(0.0, tail) / s2;
    opt.log_likelihood = -0.5 * Nd * Dd * std::log(2.0 * M_PI) - 0.5 * Dd * logdet - 0.5 * Dd * quad;

    // X* = U_q Λ with u_j = Y v_j / sqrt(D λ_j), l_j = sqrt(λ_j/α − σ²/α).
    opt.X = pca_scores(Y, pca, q);
    for (std::size_t j = 0; j < q; ++j) {
        const double lam = opt.eigenvalues[j];
        const double l = lam > s2 ? std::sqrt(lam / alpha - s2 / alpha) : 0.0;
        const double norm = lam > 0 ? std::sqrt(Dd * lam) : 1.0;
        for (std::size_t i = 0; i < N; ++i) opt.X(i, j) *= l / norm;
    }
    return opt;
}

template GplvmOptimum linear_gplvm_optimum<float>(const MatrixView<float>&, const Pca&, std::size_t, double, double);
template GplvmOptimum linear_gplvm_optimum<double>(const MatrixView<double>&, const Pca&, std::size_t, double, double);

}  // namespace latentlab
