#include "latentlab/models/mlp.hpp"

#include <algorithm>
#include <cmath>

#include "latentlab/linalg/blas.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/io/npy.hpp"

namespace latentlab {

using blas::Op;

template <class T>
Mlp<T>::Mlp(std::size_t input_dim, std::size_t hidden, std::size_t classes, Activation activation)
    : n_(input_dim), h_(hidden), c_(classes), f_(activation) {
    if (n_ == 0 || h_ == 0 || c_ < 2)
        throw OptionError("hidden", ": the mlp needs input_dim > 0, hidden > 0 and at least 2 classes (got " +
                          std::to_string(n_) + ", " + std::to_string(h_) + ", " +
                          std::to_string(c_) + ")");
    this->allocate({ParamBlock{"W1", {h_, n_}, 0}, ParamBlock{"b1", {h_}, 0},
                    ParamBlock{"W2", {c_, h_}, 0}, ParamBlock{"b2", {c_}, 0}});
}

template <class T>
void Mlp<T>::init(std::mt19937_64& rng) {
    std::normal_distribution<double> N01(0.0, 1.0);
    const bool rectifying = f_ == Activation::swish || f_ == Activation::relu;
    const double s1 = rectifying ? std::sqrt(2.0 / static_cast<double>(n_))
                                 : std::sqrt(2.0 / static_cast<double>(n_ + h_));
    const double s2 = std::sqrt(2.0 / static_cast<double>(h_ + c_));
    T* p = this->theta_.data();
    for (std::size_t k = 0; k < h_ * n_; ++k) *p++ = static_cast<T>(s1 * N01(rng));
    for (std::size_t k = 0; k < h_; ++k) *p++ = T(0);
    for (std::size_t k = 0; k < c_ * h_; ++k) *p++ = static_cast<T>(s2 * N01(rng));
    for (std::size_t k = 0; k < c_; ++k) *p++ = T(0);
}

template <class T>
void Mlp<T>::check(const MatrixView<T>& X, bool need_labels) const {
    if (X.cols != n_)
        throw DataError("mlp: the data have " + std::to_string(X.cols) +
                        " columns but the model was built for " + std::to_string(n_));
    if (!need_labels) return;
    if (X.labels == nullptr)
        throw DataError("mlp: the batch has no class labels (the mlp model needs labelled data)");
    for (std::size_t i = 0; i < X.rows; ++i)
        if (X.labels[i] < 0 || static_cast<std::size_t>(X.labels[i]) >= c_)
            throw DataError("mlp: label " + std::to_string(X.labels[i]) + " of row " +
                            std::to_string(i) + " is outside [0, " + std::to_string(c_) +
                            ") (classes = " + std::to_string(c_) + ")");
}

template <class T>
void Mlp<T>::reserve(std::size_t rows) {
    if (rows <= cap_) return;
    cap_ = rows;
    Z1_.resize(cap_ * h_);
    H1_.resize(cap_ * h_);
    Z2_.resize(cap_ * c_);
    dH_.resize(cap_ * h_);
}

// Row i of C (B×k) ← bias, so that a GEMM with beta = 1 adds the product.
template <class T>
static void fill_rows(T* C, std::size_t B, std::size_t k, const T* bias) {
    for (std::size_t i = 0; i < B; ++i) std::copy(bias, bias + k, C + i * k);
}

// g (k) += Σᵢ rows of D (B×k)
template <class T>
static void add_column_sums(const T* D, std::size_t B, std::size_t k, T* g) {
    for (std::size_t i = 0; i < B; ++i) {
        const T* d = D + i * k;
        for (std::size_t j = 0; j < k; ++j) g[j] += d[j];
    }
}

template <class T>
void Mlp<T>::forward(const MatrixView<T>& X) {
    const std::size_t B = X.rows;
    reserve(B);
    // Z₁ = X W₁ᵀ + 1 b₁ᵀ (B×h), H₁ = f(Z₁)
    fill_rows(Z1_.data(), B, h_, b1());
    blas::gemm<T>(Op::N, Op::T, B, h_, n_, T(1), X.data, n_, W1(), n_, T(1), Z1_.data(), h_);
    activate<T>(f_, Z1_.data(), H1_.data(), B * h_);
    // Z₂ = H₁ W₂ᵀ + 1 b₂ᵀ (B×c)
    fill_rows(Z2_.data(), B, c_, b2());
    blas::gemm<T>(Op::N, Op::T, B, c_, h_, T(1), H1_.data(), h_, W2(), h_, T(1), Z2_.data(), c_);
}

template <class T>
double Mlp<T>::cross_entropy(const MatrixView<T>& X, T scale) {
    double total = 0.0;
    for (std::size_t i = 0; i < X.rows; ++i) {
        T* z = Z2_.data() + i * c_;
        // log Σ exp z = zmax + log Σ exp(z − zmax): every exp ≤ 1, one is 1.
        T zmax = z[0];
        for (std::size_t k = 1; k < c_; ++k) zmax = std::max(zmax, z[k]);
        double s = 0.0;
        for (std::size_t k = 0; k < c_; ++k) s += std::exp(static_cast<double>(z[k] - zmax));
        const double lse = static_cast<double>(zmax) + std::log(s);
        const std::size_t y = static_cast<std::size_t>(X.labels[i]);
        total += lse - static_cast<double>(z[y]);
        if (scale != T(0)) {
            // Δ₂ row = scale · (softmax(z) − onehot(y))
            for (std::size_t k = 0; k < c_; ++k)
                z[k] = scale * static_cast<T>(std::exp(static_cast<double>(z[k]) - lse));
            z[y] -= scale;
        }
    }
    return total;
}

template <class T>
void Mlp<T>::backward(const MatrixView<T>& X, xt::xtensor<T, 1>& g) {
    const std::size_t B = X.rows;
    T* gW1 = this->template view<2>(g, "W1").data();
    T* gb1 = this->template view<1>(g, "b1").data();
    T* gW2 = this->template view<2>(g, "W2").data();
    T* gb2 = this->template view<1>(g, "b2").data();
    const T* D2 = Z2_.data();
    // ∂L/∂W₂ += Δ₂ᵀ H₁ (c×h), ∂L/∂b₂ += Δ₂ᵀ 1
    blas::gemm<T>(Op::T, Op::N, c_, h_, B, T(1), D2, c_, H1_.data(), h_, T(1), gW2, h_);
    add_column_sums(D2, B, c_, gb2);
    // ∂L/∂H₁ = Δ₂ W₂ (B×h); Δ₁ = f'(Z₁) ⊙ ∂L/∂H₁
    blas::gemm<T>(Op::N, Op::N, B, h_, c_, T(1), D2, c_, W2(), h_, T(0), dH_.data(), h_);
    activation_backward<T>(f_, Z1_.data(), H1_.data(), dH_.data(), Z1_.data(), B * h_);
    // ∂L/∂W₁ += Δ₁ᵀ X (h×n), ∂L/∂b₁ += Δ₁ᵀ 1
    blas::gemm<T>(Op::T, Op::N, h_, n_, B, T(1), Z1_.data(), h_, X.data, n_, T(1), gW1, n_);
    add_column_sums(Z1_.data(), B, h_, gb1);
}

template <class T>
double Mlp<T>::loss(const MatrixView<T>& X) {
    check(X, true);
    if (X.rows == 0) return 0.0;
    double total = 0.0;
    for (std::size_t b = 0; b < X.rows; b += kChunkRows) {
        const MatrixView<T> chunk = X.slice(b, std::min(X.rows, b + kChunkRows));
        forward(chunk);
        total += cross_entropy(chunk, T(0));
    }
    return total / static_cast<double>(X.rows);
}

template <class T>
double Mlp<T>::loss_and_grad(const MatrixView<T>& X, xt::xtensor<T, 1>& g) {
    check(X, true);
    if (g.size() != this->theta_.size()) g = xt::zeros<T>({this->theta_.size()});
    std::fill(g.begin(), g.end(), T(0));
    if (X.rows == 0) return 0.0;
    const T scale = static_cast<T>(1.0 / static_cast<double>(X.rows));
    double total = 0.0;
    for (std::size_t b = 0; b < X.rows; b += kChunkRows) {
        const MatrixView<T> chunk = X.slice(b, std::min(X.rows, b + kChunkRows));
        forward(chunk);
        total += cross_entropy(chunk, scale);
        backward(chunk, g);
    }
    return total / static_cast<double>(X.rows);
}

template <class T>
void Mlp<T>::predict(const MatrixView<T>& X, std::int32_t* out) {
    check(X, false);
    for (std::size_t b = 0; b < X.rows; b += kChunkRows) {
        const MatrixView<T> chunk = X.slice(b, std::min(X.rows, b + kChunkRows));
        forward(chunk);
        for (std::size_t i = 0; i < chunk.rows; ++i) {
            const T* z = Z2_.data() + i * c_;
            out[b + i] = static_cast<std::int32_t>(std::max_element(z, z + c_) - z);
        }
    }
}

template <class T>
double Mlp<T>::accuracy(const MatrixView<T>& X) {
    check(X, true);
    if (X.rows == 0) return 0.0;
    std::size_t correct = 0;
    for (std::size_t b = 0; b < X.rows; b += kChunkRows) {
        const MatrixView<T> chunk = X.slice(b, std::min(X.rows, b + kChunkRows));
        forward(chunk);
        for (std::size_t i = 0; i < chunk.rows; ++i) {
            const T* z = Z2_.data() + i * c_;
            if (std::max_element(z, z + c_) - z == chunk.labels[i]) ++correct;
        }
    }
    return static_cast<double>(correct) / static_cast<double>(X.rows);
}

template <class T>
std::vector<typename Model<T>::Output> Mlp<T>::apply(const MatrixView<T>& X) {
    check(X, false);
    const std::size_t N = X.rows;
    std::vector<std::int32_t> classes(N), correct;
    std::vector<double> probs(N * c_);
    if (X.labels) {
        check(X, true);
        correct.resize(N);
    }
    for (std::size_t b = 0; b < N; b += kChunkRows) {
        const MatrixView<T> chunk = X.slice(b, std::min(N, b + kChunkRows));
        forward(chunk);
        for (std::size_t i = 0; i < chunk.rows; ++i) {
            const T* z = Z2_.data() + i * c_;
            const T zmax = *std::max_element(z, z + c_);
            double* p = probs.data() + (b + i) * c_;
            double s = 0;
            for (std::size_t k = 0; k < c_; ++k) s += p[k] = std::exp(static_cast<double>(z[k] - zmax));
            for (std::size_t k = 0; k < c_; ++k) p[k] /= s;
            classes[b + i] = static_cast<std::int32_t>(std::max_element(z, z + c_) - z);
            if (X.labels) correct[b + i] = classes[b + i] == X.labels[b + i];
        }
    }
    std::vector<typename Model<T>::Output> out{{"classes", make_raw<std::int32_t>(classes.data(), {N})},
                                               {"probabilities", make_raw<double>(probs.data(), {N, c_})}};
    if (X.labels) out.push_back({"correct", make_raw<std::int32_t>(correct.data(), {N})});
    return out;
}

template class Mlp<float>;
template class Mlp<double>;

}  // namespace latentlab
