// The analytic maximum of the linear-kernel GPLVM with α and β fixed
// (Lawrence 2005, JMLR 6; README, Reproducing the homework: Problem 2):
// probabilistic PCA (Tipping & Bishop 1999).
//
//   X* = U_q Λ Vᵀ,  l_j = sqrt(λ_j/α − 1/(αβ)) for λ_j > 1/β (else 0),
//
// where λ_j, U_q are the top eigenpairs of S = Y Yᵀ / D. They are computed
// from the D×D matrix YᵀY (same non-zero eigenvalues; U = Y V / sqrt(D λ)),
// so N = 60,000 costs one D×D eigendecomposition. At X*, K has eigenvalues
// max(λ_j, σ²) on U_q and σ² elsewhere, hence
//
//   −NLL* = −(ND/2) log 2π − (D/2) Σ_{j≤N} log κ_j − (D/2) Σ_j λ_j / κ_j,
//   κ_j = max(λ_j, σ²) for j ≤ q, σ² otherwise.
#pragma once
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/analysis/pca.hpp"
#include "latentlab/core/matrix_view.hpp"

namespace latentlab {

struct GplvmOptimum {
    double log_likelihood = 0;              // with the constant
    std::vector<double> eigenvalues;        // top q of S = YYᵀ/D
    xt::xtensor<double, 2> X;               // N×q maximiser (V = I)
};

// `pca` is pca_from_second_moment(second_moment(Y)) (YᵀY, D×D).
template <class T>
GplvmOptimum linear_gplvm_optimum(const MatrixView<T>& Y, const Pca& pca, std::size_t q, double alpha,
                                  double noise_variance);

}  // namespace latentlab
