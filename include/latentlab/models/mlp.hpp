// The 2-layer Swish network of Problem 3 (README, Reproducing the homework),
// trained with softmax cross-entropy on class labels.
//
//   one sample:  z₁ = W₁ x + b₁,  h₁ = f(z₁) (f = swish by default),  z₂ = W₂ h₁ + b₂,
//                ℓ = −log softmax(z₂)_y
//   batch (rows are samples, X: B×n, labels y ∈ [0, c)^B):
//                Z₁ = X W₁ᵀ + 1 b₁ᵀ   H₁ = f(Z₁)   Z₂ = H₁ W₂ᵀ + 1 b₂ᵀ
//                L  = (1/B) Σᵢ (logsumexp(Z₂[i,:]) − Z₂[i, yᵢ])
//
// Backward, the homework's single-sample results stacked as rows:
//
//   Δ₂ = (softmax(Z₂) − onehot(y)) / B     (B×c)   ∂L/∂z₂ = softmax(z₂) − onehot(y)
//   ∂L/∂W₂ = Δ₂ᵀ H₁   (c×h)                        (∂L/∂z₂) h₁ᵀ
//   ∂L/∂b₂ = Δ₂ᵀ 1                                 ∂L/∂z₂
//   ∂L/∂H₁ = Δ₂ W₂    (B×h)                        W₂ᵀ (∂L/∂z₂)
//   Δ₁ = f'(Z₁) ⊙ (Δ₂ W₂)                          swish'(z₁) ⊙ ∂L/∂h₁
//   ∂L/∂W₁ = Δ₁ᵀ X    (h×n)                        (∂L/∂z₁) xᵀ
//   ∂L/∂b₁ = Δ₁ᵀ 1                                 ∂L/∂z₁
//
// with swish'(z) = swish(z) + σ(z)(1 − swish(z)) (activations.hpp). The
// log-softmax subtracts each row's maximum before exp (no overflow) and the
// logsumexp is accumulated in double.
//
// Parameters: blocks "W1" (h×n), "b1" (h), "W2" (c×h), "b2" (c). init():
// biases 0; W₁ ~ N(0, 2/n) (He et al. 2015) for the rectifying activations
// swish and relu, N(0, 2/(n + h)) (Glorot & Bengio 2010) for sigmoid, tanh and
// identity; W₂ ~ N(0, 2/(h + c)) (Glorot: it feeds the softmax linearly).
//
// Batches are processed in chunks of at most kChunkRows rows into buffers
// allocated once (grown up to that size); no allocation per step.
#pragma once
#include <cstdint>
#include <vector>

#include "latentlab/models/activations.hpp"
#include "latentlab/models/model.hpp"

namespace latentlab {

template <class T>
class Mlp : public Model<T> {
public:
    static constexpr std::size_t kChunkRows = 2048;

    Mlp(std::size_t input_dim, std::size_t hidden, std::size_t classes,
        Activation activation = Activation::swish);

    std::string name() const override { return "mlp"; }
    void init(std::mt19937_64& rng) override;

    // Mean softmax cross-entropy. Throws DataError if the batch has no labels
    // or a label is outside [0, classes).
    double loss(const MatrixView<T>& X) override;
    double loss_and_grad(const MatrixView<T>& X, xt::xtensor<T, 1>& g) override;
    // classes (N, int32), probabilities = softmax of the logits (N×c); with labels, correct (N, 0/1).
    std::vector<typename Model<T>::Output> apply(const MatrixView<T>& X) override;

    // Fraction of rows whose argmax_k z₂[k] equals the label (labels required).
    double accuracy(const MatrixView<T>& X);
    // argmax_k z₂[k] per row into out[0..rows) (labels not needed).
    void predict(const MatrixView<T>& X, std::int32_t* out);

    std::size_t input_dim() const { return n_; }
    std::size_t hidden() const { return h_; }
    std::size_t classes() const { return c_; }
    Activation activation() const { return f_; }

    // Views into the flat parameter buffer (row-major).
    const T* W1() const { return this->template param<2>("W1").data(); }
    const T* b1() const { return this->template param<1>("b1").data(); }
    const T* W2() const { return this->template param<2>("W2").data(); }
    const T* b2() const { return this->template param<1>("b2").data(); }

private:
    // Z₁, H₁, Z₂ of ≤ kChunkRows rows into the buffers.
    void forward(const MatrixView<T>& X);
    // Σ over the chunk's rows of the cross-entropy; if `scale` ≠ 0 also turns
    // Z₂ into scale · (softmax(Z₂) − onehot(y)).
    double cross_entropy(const MatrixView<T>& X, T scale);
    // Adds the chunk's gradient (Δ₂ already in the Z₂ buffer) to g.
    void backward(const MatrixView<T>& X, xt::xtensor<T, 1>& g);
    void reserve(std::size_t rows);
    void check(const MatrixView<T>& X, bool need_labels) const;

    std::size_t n_, h_, c_;
    Activation f_;
    std::size_t cap_ = 0;
    std::vector<T> Z1_;  // B×h, then Δ₁
    std::vector<T> H1_;  // B×h
    std::vector<T> Z2_;  // B×c, then Δ₂
    std::vector<T> dH_;  // B×h
};

}  // namespace latentlab
