// Tied linear autoencoder (README, Reproducing the homework: Problem 1; Baldi &
// Hornik 1989).
//
//   L(W) = (1/B) · ½ ‖X Wᵀ W − X‖_F²      X: B×n (rows are samples), W: m×n
//
// With A = X Wᵀ (B×m), S = Aᵀ A (m×m), Q = W Wᵀ (m×m) and P = Aᵀ X (m×n):
//
//   ∇_W L = (1/B) (S W + (Q − 2I) P)      = (1/B)(Aᵀ R + (R Wᵀ)ᵀ X), R = A W − X
//   L     = (1/B) · ½ (‖X‖_F² − 2 tr S + tr(S Q))
//
// computed as (Q − 2I) P = A₂ᵀ X with A₂ = A (Q − 2I) (B×m), so that
//
//   ∇_W L = (1/B) (S W + A₂ᵀ X),   L = (1/B) · ½ (‖X‖_F² + Σ A₂ ⊙ A)
//
// (Σ A₂ ⊙ A = Σ_b a_bᵀ (Q − 2I) a_b = tr(S Q) − 2 tr S). Two products over the
// batch, A = X Wᵀ and A₂ᵀ X: 4·B·m·n flops; the rest is O(m² (n + B)); no B×n
// intermediate. The loss is a small difference of large terms: the sum is
// accumulated in double.
#pragma once
#include <vector>

#include "latentlab/models/model.hpp"

namespace latentlab {

template <class T>
class LinearAutoencoder : public Model<T> {
public:
    LinearAutoencoder(std::size_t input_dim, std::size_t latent_dim, double init_scale = 0.01);

    std::string name() const override { return "linear_autoencoder"; }
    // Fixed row and column parts (tests/test_perf_kernels.cpp checks 1, 2, 3 threads).
    bool same_bits_at_any_thread_count() const override { return true; }
    void init(std::mt19937_64& rng) override;  // W ~ N(0, init_scale²)

    double loss(const MatrixView<T>& X) override;
    double loss_and_grad(const MatrixView<T>& X, xt::xtensor<T, 1>& g) override;
    // codes = X Wᵀ (N×m), reconstruction = codes W (N×n), reconstruction_loss = ½‖x̂ − x‖² per row.
    std::vector<typename Model<T>::Output> apply(const MatrixView<T>& X) override;

    std::size_t input_dim() const { return n_; }
    std::size_t latent_dim() const { return m_; }
    const T* W() const { return this->theta_.data(); }  // row-major m×n
    T* W() { return this->theta_.data(); }

private:
    // Wᵀ, A, A₂ and Q − 2I for batch X (and S = Aᵀ A when with_S). Returns
    // the batch-mean loss.
    double forward(const MatrixView<T>& X, bool with_S);

    std::size_t n_, m_;
    double init_scale_;
    std::vector<T> Wt_;  // n×m: Wᵀ (A = X Wᵀ as a plain product: the fastest form)
    std::vector<T> A_;   // B×m: X Wᵀ
    std::vector<T> A2_;  // B×m: A (Q − 2I)
    std::vector<T> Q_;   // m×m: W Wᵀ − 2I
    std::vector<T> S_;   // m×m: Aᵀ A
};

}  // namespace latentlab
