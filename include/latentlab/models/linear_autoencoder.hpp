// Tied linear autoencoder (homework.md, Problem 1).
//
//   L(W) = (1/B) · ½ ‖X Wᵀ W − X‖_F²      X: B×n (rows are samples), W: m×n
//
// With A = X Wᵀ (B×m), S = Aᵀ A (m×m), P = Aᵀ X (m×n) and Q = W Wᵀ (m×m):
//
//   ∇_W L = (1/B) (S W + Q P − 2 P)        = (1/B)(Aᵀ R + (R Wᵀ)ᵀ X), R = A W − X
//   L     = (1/B) · ½ (tr(S Q) − 2 tr(S) + ‖X‖_F²)      (tr(P Wᵀ) = tr(Aᵀ A) = tr S)
//
// Two GEMMs over the batch (A and P: 4·B·m·n flops) and O(m²n) on top; no
// B×n intermediate. S and the traces are accumulated in double because the
// loss is a small difference of large terms.
#pragma once
#include <vector>

#include "latentlab/models/model.hpp"

namespace latentlab {

template <class T>
class LinearAutoencoder : public Model<T> {
public:
    LinearAutoencoder(std::size_t input_dim, std::size_t latent_dim, double init_scale = 0.01);

    std::string name() const override { return "linear_autoencoder"; }
    void init(std::mt19937_64& rng) override;  // W ~ N(0, init_scale²)

    double loss(const MatrixView<T>& X) override;
    double loss_and_grad(const MatrixView<T>& X, xt::xtensor<T, 1>& g) override;

    std::size_t input_dim() const { return n_; }
    std::size_t latent_dim() const { return m_; }
    const T* W() const { return this->theta_.data(); }  // row-major m×n
    T* W() { return this->theta_.data(); }

private:
    // A = X Wᵀ; S (double) = Aᵀ A; Q = W Wᵀ. Returns the batch-mean loss.
    double forward(const MatrixView<T>& X);

    std::size_t n_, m_;
    double init_scale_;
    std::vector<T> A_;        // B×m
    std::vector<double> Sd_;  // m×m (double)
    std::vector<double> Ad_;  // B×m in double (float models only)
    std::vector<T> S_;        // m×m in T for the gradient GEMM
    std::vector<T> Q_;        // m×m
    std::vector<T> P_;        // m×n
};

}  // namespace latentlab
