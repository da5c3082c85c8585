// PCA by LAPACK, and what it tells about a tied linear autoencoder
// (README, Reproducing the homework: Problem 1; Baldi & Hornik 1989).
//
// C = Σᵢ xᵢ xᵢᵀ = Xᵀ X is the second-moment matrix of the data as fed (centred
// or not). Every minimum of the batch-mean loss has W Wᵀ = I and rows spanning
// the top-m eigenvectors of C, with value L* = ½ Σ_{j>m} λ_j(C) / N.
#pragma once
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/linalg/pca.hpp"

namespace latentlab {

// L* = ½ Σ_{j>m} λ_j / N: the exact optimum of the batch-mean AE loss.
double optimal_ae_loss(const Pca& pca, std::size_t m, std::size_t n_samples);

// The AE loss and its gradient norm over the whole data set, exactly and in
// double, from C alone, in O(m n²) — independent of N:
//   L = ½ (tr(W C Wᵀ W Wᵀ) − 2 tr(W C Wᵀ) + tr C) / N
//   ∇L = (S W + (W Wᵀ − 2I) W C) / N,   S = W C Wᵀ
struct AeFullEval {
    double loss = 0;
    double grad_norm = 0;
};
template <class T>
AeFullEval ae_full_eval(const T* W, std::size_t m, std::size_t n, const xt::xtensor<double, 2>& C,
                        std::size_t n_samples);

// Fraction of the total second moment tr(C) captured by the projection onto
// row-space(W): tr(Π C) / tr C. PCA's best is Σ_{j≤m} λ_j / Σ λ_j.
double variance_captured(const xt::xtensor<double, 2>& W, const xt::xtensor<double, 2>& C);

}  // namespace latentlab
