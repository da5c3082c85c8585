// Tied nonlinear autoencoder (README, Reproducing the homework: Problem 1,
// "the nonlinear variant"):
//
//   one sample:  L(W) = ½ ‖f(Wᵀ f(W x)) − x‖²                 x ∈ Rⁿ, W: m×n
//   batch:       L(W) = (1/B) · ½ ‖f(f(X Wᵀ) W) − X‖_F²       X: B×n, rows are samples
//
// with an elementwise f (activations.hpp). Forward, in row form:
//
//   Z₁ = X Wᵀ  (B×m)    H = f(Z₁)    Z₂ = H W  (B×n)    Y = f(Z₂)    R = Y − X
//
// Backward. W is used twice, so (total-derivative rule) its gradient is the sum of
// the two paths, each computed with the other use of W held fixed:
//
//   Δ₂ = f'(Z₂) ⊙ R                          (B×n)  ∂L/∂Z₂ · B
//   decoder path (W in Z₂ = H W):     Hᵀ Δ₂              (m×n)
//   Δ₁ = f'(Z₁) ⊙ (Δ₂ Wᵀ)                    (B×m)  ∂L/∂Z₁ · B
//   encoder path (W in Z₁ = X Wᵀ):    Δ₁ᵀ X              (m×n)
//
//   ∇_W L = (1/B) (Hᵀ Δ₂ + Δ₁ᵀ X)
//
// With f = identity this is the homework's Aᵀ R + (R Wᵀ)ᵀ X (the tests check
// it against LinearAutoencoder). Five GEMMs (10·B·m·n flops): unlike the
// linear case, f does not let the n-wide intermediate be avoided.
//
// Batches are processed in chunks of at most kChunkRows rows, so the B×n
// buffers are allocated once (grown up to that size) and stay bounded when
// the loss of a whole data set is evaluated. The loss is accumulated in double.
#pragma once
#include <vector>

#include "latentlab/models/activations.hpp"
#include "latentlab/models/model.hpp"

namespace latentlab {

template <class T>
class NonlinearAutoencoder : public Model<T> {
public:
    static constexpr std::size_t kChunkRows = 2048;

    NonlinearAutoencoder(std::size_t input_dim, std::size_t latent_dim,
                         Activation activation = Activation::sigmoid, double init_scale = 0.01);

    std::string name() const override { return "nonlinear_autoencoder"; }
    void init(std::mt19937_64& rng) override;  // W ~ N(0, init_scale²)

    double loss(const MatrixView<T>& X) override;
    double loss_and_grad(const MatrixView<T>& X, xt::xtensor<T, 1>& g) override;
    // codes = f(X Wᵀ) (N×m), reconstruction = f(codes W) (N×n), reconstruction_loss = ½‖x̂ − x‖² per row.
    std::vector<typename Model<T>::Output> apply(const MatrixView<T>& X) override;

    // The codes H = f(X Wᵀ), B×m row-major, into `out` (resized).
    void encode(const MatrixView<T>& X, std::vector<T>& out);

    std::size_t input_dim() const { return n_; }
    std::size_t latent_dim() const { return m_; }
    Activation activation() const { return f_; }
    const T* W() const { return this->theta_.data(); }  // row-major m×n
    T* W() { return this->theta_.data(); }

private:
    // Forward on ≤ kChunkRows rows; returns Σ ½‖rᵢ‖² (not divided by B).
    // Leaves Z₁, H, Z₂, Y of the chunk in the buffers.
    double forward(const MatrixView<T>& X);
    // Adds scale · (Hᵀ Δ₂ + Δ₁ᵀ X) of the chunk last passed to forward() to g.
    void backward(const MatrixView<T>& X, T scale, T* g);
    void reserve(std::size_t rows);
    void check(const MatrixView<T>& X) const;

    std::size_t n_, m_;
    Activation f_;
    double init_scale_;
    std::size_t cap_ = 0;  // rows the buffers hold
    std::vector<T> Z1_;    // B×m, then Δ₁
    std::vector<T> H_;     // B×m
    std::vector<T> Z2_;    // B×n, then Δ₂
    std::vector<T> Y_;     // B×n
};

}  // namespace latentlab
