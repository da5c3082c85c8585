#include "latentlab/models/linear_autoencoder.hpp"

#include <type_traits>

#include "latentlab/linalg/blas.hpp"

namespace latentlab {

using blas::Op;

template <class T>
LinearAutoencoder<T>::LinearAutoencoder(std::size_t input_dim, std::size_t latent_dim,
                                        double init_scale)
    : n_(input_dim), m_(latent_dim), init_scale_(init_scale) {
    this->allocate({ParamBlock{"W", {m_, n_}, 0}});
    Sd_.resize(m_ * m_);
    S_.resize(m_ * m_);
    Q_.resize(m_ * m_);
    P_.resize(m_ * n_);
}

template <class T>
void LinearAutoencoder<T>::init(std::mt19937_64& rng) {
    std::normal_distribution<double> N01(0.0, 1.0);
    for (auto& w : this->theta_) w = static_cast<T>(init_scale_ * N01(rng));
}

template <class T>
double LinearAutoencoder<T>::forward(const MatrixView<T>& X) {
    const std::size_t B = X.rows;
    if (A_.size() < B * m_) A_.resize(B * m_);
    const T* W = this->theta_.data();
    // A = X Wᵀ  (B×m)
    blas::gemm<T>(Op::N, Op::T, B, m_, n_, T(1), X.data, n_, W, n_, T(0), A_.data(), m_);
    // S = Aᵀ A in double
    if constexpr (std::is_same_v<T, double>) {
        blas::gram<double>(B, m_, 1.0, A_.data(), 0.0, Sd_.data());
    } else {
        if (Ad_.size() < B * m_) Ad_.resize(B * m_);
        for (std::size_t i = 0; i < B * m_; ++i) Ad_[i] = A_[i];
        blas::gram<double>(B, m_, 1.0, Ad_.data(), 0.0, Sd_.data());
    }
    // Q = W Wᵀ  (m×m)
    blas::gemm<T>(Op::N, Op::T, m_, m_, n_, T(1), W, n_, W, n_, T(0), Q_.data(), m_);

    double sq = 0.0;  // ‖X‖_F²
    if (X.sqnorms) {
        for (std::size_t i = 0; i < B; ++i) sq += X.sqnorms[i];
    } else {
        sq = blas::sqnorm<T>(B * n_, X.data);
    }
    double trSQ = 0.0, trS = 0.0;
    for (std::size_t i = 0; i < m_ * m_; ++i) trSQ += Sd_[i] * static_cast<double>(Q_[i]);
    for (std::size_t i = 0; i < m_; ++i) trS += Sd_[i * m_ + i];
    return 0.5 * (trSQ - 2.0 * trS + sq) / static_cast<double>(B);
}

template <class T>
double LinearAutoencoder<T>::loss(const MatrixView<T>& X) {
    return forward(X);
}

template <class T>
double LinearAutoencoder<T>::loss_and_grad(const MatrixView<T>& X, xt::xtensor<T, 1>& g) {
    const double L = forward(X);
    const std::size_t B = X.rows;
    const T invB = T(1.0 / static_cast<double>(B));
    if (g.size() != this->theta_.size()) g = xt::zeros<T>({this->theta_.size()});
    const T* W = this->theta_.data();
    // P = Aᵀ X  (m×n)
    blas::gemm<T>(Op::T, Op::N, m_, n_, B, T(1), A_.data(), m_, X.data, n_, T(0), P_.data(), n_);
    // G = (1/B) S W + (1/B) (Q − 2I) P
    for (std::size_t i = 0; i < m_ * m_; ++i) S_[i] = static_cast<T>(Sd_[i]);
    for (std::size_t i = 0; i < m_; ++i) Q_[i * m_ + i] -= T(2);
    blas::gemm<T>(Op::N, Op::N, m_, n_, m_, invB, S_.data(), m_, W, n_, T(0), g.data(), n_);
    blas::gemm<T>(Op::N, Op::N, m_, n_, m_, invB, Q_.data(), m_, P_.data(), n_, T(1), g.data(), n_);
    return L;
}

template class LinearAutoencoder<float>;
template class LinearAutoencoder<double>;

}  // namespace latentlab
