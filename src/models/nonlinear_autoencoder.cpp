#include "latentlab/models/nonlinear_autoencoder.hpp"

#include <algorithm>

#include "latentlab/linalg/blas.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/io/npy.hpp"

namespace latentlab {

using blas::Op;

template <class T>
NonlinearAutoencoder<T>::NonlinearAutoencoder(std::size_t input_dim, std::size_t latent_dim,
                                              Activation activation, double init_scale)
    : n_(input_dim), m_(latent_dim), f_(activation), init_scale_(init_scale) {
    this->allocate({ParamBlock{"W", {m_, n_}, 0}});
}

template <class T>
void NonlinearAutoencoder<T>::init(std::mt19937_64& rng) {
    std::normal_distribution<double> N01(0.0, 1.0);
    for (auto& w : this->theta_) w = static_cast<T>(init_scale_ * N01(rng));
}

template <class T>
void NonlinearAutoencoder<T>::check(const MatrixView<T>& X) const {
    if (X.cols != n_)
        throw DataError("nonlinear_autoencoder: the data have " + std::to_string(X.cols) +
                        " columns but the model was built for " + std::to_string(n_));
}

template <class T>
void NonlinearAutoencoder<T>::reserve(std::size_t rows) {
    if (rows <= cap_) return;
    cap_ = rows;
    Z1_.resize(cap_ * m_);
    H_.resize(cap_ * m_);
    Z2_.resize(cap_ * n_);
    Y_.resize(cap_ * n_);
}

template <class T>
double NonlinearAutoencoder<T>::forward(const MatrixView<T>& X) {
    const std::size_t B = X.rows;
    reserve(B);
    const T* W = this->theta_.data();
    // Z₁ = X Wᵀ (B×m), H = f(Z₁)
    blas::gemm<T>(Op::N, Op::T, B, m_, n_, T(1), X.data, n_, W, n_, T(0), Z1_.data(), m_);
    activate<T>(f_, Z1_.data(), H_.data(), B * m_);
    // Z₂ = H W (B×n), Y = f(Z₂)
    blas::gemm<T>(Op::N, Op::N, B, n_, m_, T(1), H_.data(), m_, W, n_, T(0), Z2_.data(), n_);
    activate<T>(f_, Z2_.data(), Y_.data(), B * n_);
    // Σ ½‖Y − X‖² in double
    const T* x = X.data;
    const T* y = Y_.data();
    double s = 0.0;
    for (std::size_t i = 0; i < B * n_; ++i) {
        const double r = static_cast<double>(y[i]) - static_cast<double>(x[i]);
        s += r * r;
    }
    return 0.5 * s;
}

template <class T>
void NonlinearAutoencoder<T>::backward(const MatrixView<T>& X, T scale, T* g) {
    const std::size_t B = X.rows, N = B * n_;
    const T* W = this->theta_.data();
    const T* x = X.data;
    const T* y = Y_.data();
    T* z2 = Z2_.data();
    T* z1 = Z1_.data();
    T* h = H_.data();
    // Δ₂ = f'(Z₂) ⊙ (Y − X), in the Z₂ buffer
    activation_derivative<T>(f_, z2, y, z2, N);
    for (std::size_t i = 0; i < N; ++i) z2[i] *= y[i] - x[i];
    // decoder path: g += scale · Hᵀ Δ₂  (m×n)
    blas::gemm<T>(Op::T, Op::N, m_, n_, B, scale, h, m_, z2, n_, T(1), g, n_);
    // Δ₁ = f'(Z₁) ⊙ (Δ₂ Wᵀ): f'(Z₁) into the Z₁ buffer (needs H), then H is
    // free to hold Δ₂ Wᵀ (B×m).
    activation_derivative<T>(f_, z1, h, z1, B * m_);
    blas::gemm<T>(Op::N, Op::T, B, m_, n_, T(1), z2, n_, W, n_, T(0), h, m_);
    for (std::size_t i = 0; i < B * m_; ++i) z1[i] *= h[i];
    // encoder path: g += scale · Δ₁ᵀ X  (m×n)
    blas::gemm<T>(Op::T, Op::N, m_, n_, B, scale, z1, m_, x, n_, T(1), g, n_);
}

template <class T>
double NonlinearAutoencoder<T>::loss(const MatrixView<T>& X) {
    check(X);
    if (X.rows == 0) return 0.0;
    double s = 0.0;
    for (std::size_t b = 0; b < X.rows; b += kChunkRows)
        s += forward(X.slice(b, std::min(X.rows, b + kChunkRows)));
    return s / static_cast<double>(X.rows);
}

template <class T>
double NonlinearAutoencoder<T>::loss_and_grad(const MatrixView<T>& X, xt::xtensor<T, 1>& g) {
    check(X);
    if (g.size() != this->theta_.size()) g = xt::zeros<T>({this->theta_.size()});
    std::fill(g.begin(), g.end(), T(0));
    if (X.rows == 0) return 0.0;
    const T scale = static_cast<T>(1.0 / static_cast<double>(X.rows));
    double s = 0.0;
    for (std::size_t b = 0; b < X.rows; b += kChunkRows) {
        const MatrixView<T> chunk = X.slice(b, std::min(X.rows, b + kChunkRows));
        s += forward(chunk);
        backward(chunk, scale, g.data());
    }
    return s / static_cast<double>(X.rows);
}

template <class T>
void NonlinearAutoencoder<T>::encode(const MatrixView<T>& X, std::vector<T>& out) {
    check(X);
    out.resize(X.rows * m_);
    if (X.rows == 0) return;
    const T* W = this->theta_.data();
    blas::gemm<T>(Op::N, Op::T, X.rows, m_, n_, T(1), X.data, n_, W, n_, T(0), out.data(), m_);
    activate<T>(f_, out.data(), out.data(), out.size());
}

template <class T>
std::vector<typename Model<T>::Output> NonlinearAutoencoder<T>::apply(const MatrixView<T>& X) {
    check(X);
    const std::size_t N = X.rows;
    std::vector<T> codes(N * m_), recon(N * n_);
    std::vector<double> loss(N);
    for (std::size_t b = 0; b < N; b += kChunkRows) {
        const MatrixView<T> chunk = X.slice(b, std::min(N, b + kChunkRows));
        forward(chunk);  // leaves H (codes) and Y (reconstruction) of the chunk
        std::copy_n(H_.data(), chunk.rows * m_, codes.data() + b * m_);
        std::copy_n(Y_.data(), chunk.rows * n_, recon.data() + b * n_);
        for (std::size_t i = 0; i < chunk.rows; ++i) {
            double s = 0;
            for (std::size_t j = 0; j < n_; ++j) {
                const double r = static_cast<double>(Y_[i * n_ + j]) - static_cast<double>(chunk.row(i)[j]);
                s += r * r;
            }
            loss[b + i] = 0.5 * s;
        }
    }
    return {{"codes", make_raw<T>(codes.data(), {N, m_})},
            {"reconstruction", make_raw<T>(recon.data(), {N, n_})},
            {"reconstruction_loss", make_raw<double>(loss.data(), {N})}};
}

template class NonlinearAutoencoder<float>;
template class NonlinearAutoencoder<double>;

}  // namespace latentlab
