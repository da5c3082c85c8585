#include "latentlab/models/linear_autoencoder.hpp"

#include <algorithm>
#include <utility>

#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/linalg/partition.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/io/npy.hpp"

namespace latentlab {

using blas::Op;
using blas::Chunks;
using blas::block_for;
using blas::parts_of;
using blas::small_gemm_chunks;

template <class T>
LinearAutoencoder<T>::LinearAutoencoder(std::size_t input_dim, std::size_t latent_dim,
                                        double init_scale)
    : n_(input_dim), m_(latent_dim), init_scale_(init_scale) {
    this->allocate({ParamBlock{"W", {m_, n_}, 0}});
    Wt_.resize(n_ * m_);
    Q_.resize(m_ * m_);
    S_.resize(m_ * m_);
}

template <class T>
void LinearAutoencoder<T>::init(std::mt19937_64& rng) {
    std::normal_distribution<double> N01(0.0, 1.0);
    for (auto& w : this->theta_) w = static_cast<T>(init_scale_ * N01(rng));
}

template <class T>
double LinearAutoencoder<T>::forward(const MatrixView<T>& X, bool with_S) {
    const std::size_t B = X.rows, m = m_, n = n_;
    if (A_.size() < B * m) {
        A_.resize(B * m);
        A2_.resize(B * m);
    }
    const T* W = this->theta_.data();
    blas::transpose<T>(m, n, W, n, Wt_.data(), m);
    // A = X Wᵀ (B×m): 2·B·m·n flops. Rows of 256 (128 for m ≥ 64) at a time.
    // Q = W Wᵀ (m×m), as (Wᵀ)ᵀ Wᵀ. Split into parts.
    const Chunks ca = small_gemm_chunks(B, m, n, m >= 64 ? 128 : 256);
    const Chunks cq = small_gemm_chunks(m, m, n, m);
    // Without small-matrix kernels (packed GEMM only) the two Gram matrices
    // Q = W Wᵀ and S = Aᵀ A come from SYRK: half their flops, ~6% of a step.
    const bool packed = blas::small_gemm_limit() <= 0;
    const auto gram = [packed](std::size_t K, std::size_t N, const T* M, T* C, const Chunks& c) {
        // C (N×N) = Mᵀ M for M (K×N).
        if (packed) return blas::syrk_full<T>(K, N, T(1), M, N, C);
        blas::gemm_chunked<T>(Op::T, Op::N, N, N, K, T(1), M, N, M, N, T(0), C, N, c.rows, c.k);
    };
    const std::size_t rb = block_for(B), row_parts = parts_of(B, rb);
    // Parts 0 … row_parts − 1: rows of A; the last part: Q.
    blas::parallel_for(row_parts + 1, [&](std::size_t p) {
        if (p == row_parts) return gram(n, m, Wt_.data(), Q_.data(), cq);
        const std::size_t r0 = p * rb, r1 = std::min(B, r0 + rb);
        blas::gemm_chunked<T>(Op::N, Op::N, r1 - r0, m, n, T(1), X.data + r0 * n, n, Wt_.data(), m, T(0),
                              A_.data() + r0 * m, m, ca.rows, ca.k);
    });
    for (std::size_t i = 0; i < m; ++i) Q_[i * m + i] -= T(2);
    // A₂ = A (Q − 2I) (B×m) by the same row parts; with the gradient, the
    // last part forms S = Aᵀ A (m×m). Every product runs inside parallel_for,
    // small ones too: outside it OpenBLAS would thread them by its own rule.
    const Chunks c2 = small_gemm_chunks(B, m, m, B);
    const Chunks cs = small_gemm_chunks(m, m, B, m);
    blas::parallel_for(row_parts + (with_S ? 1 : 0), [&](std::size_t p) {
        if (p == row_parts) return gram(B, m, A_.data(), S_.data(), cs);
        const std::size_t r0 = p * rb, r1 = std::min(B, r0 + rb);
        blas::gemm_chunked<T>(Op::N, Op::N, r1 - r0, m, m, T(1), A_.data() + r0 * m, m, Q_.data(), m, T(0),
                              A2_.data() + r0 * m, m, c2.rows, c2.k);
    });

    double sq = 0.0;  // ‖X‖_F²
    if (X.sqnorms) {
        for (std::size_t i = 0; i < B; ++i) sq += X.sqnorms[i];
    } else {
        sq = blas::sqnorm<T>(B * n, X.data);
    }
    // Σ A₂ ⊙ A = tr(S Q) − 2 tr S, accumulated in double.
    const double quad = blas::dot<T>(B * m, A2_.data(), A_.data());
    return 0.5 * (sq + quad) / static_cast<double>(B);
}

template <class T>
double LinearAutoencoder<T>::loss(const MatrixView<T>& X) {
    return forward(X, false);
}

template <class T>
double LinearAutoencoder<T>::loss_and_grad(const MatrixView<T>& X, xt::xtensor<T, 1>& g) {
    const double L = forward(X, true);
    const std::size_t B = X.rows, m = m_, n = n_;
    const T invB = T(1.0 / static_cast<double>(B));
    if (g.size() != this->theta_.size()) g = xt::zeros<T>({this->theta_.size()});
    T* G = g.data();
    // G = (1/B) S W, then G += (1/B) A₂ᵀ X over chunks of the batch: the
    // second product over the batch, 2·B·m·n flops. (S is symmetric: Sᵀ W.)
    // At most 32 rows of G per call: for m = 64 that beats thinner K-chunks.
    // Split by columns into parts.
    const Chunks cw = small_gemm_chunks(m, n, m, 32);
    const Chunks cg = small_gemm_chunks(m, n, B, 32);
    const T* W = this->theta_.data();
    const std::size_t cb = block_for(n), col_parts = parts_of(n, cb);
    blas::parallel_for(col_parts, [&](std::size_t p) {
        const std::size_t c0 = p * cb, c1 = std::min(n, c0 + cb);
        blas::gemm_chunked<T>(Op::T, Op::N, m, c1 - c0, m, invB, S_.data(), m, W + c0, n, T(0), G + c0, n,
                              cw.rows, cw.k);
        blas::gemm_chunked<T>(Op::T, Op::N, m, c1 - c0, B, invB, A2_.data(), m, X.data + c0, n, T(1), G + c0,
                              n, cg.rows, cg.k);
    });
    return L;
}

template <class T>
std::vector<typename Model<T>::Output> LinearAutoencoder<T>::apply(const MatrixView<T>& X) {
    if (X.cols != n_)
        throw DataError("linear_autoencoder: the data have " + std::to_string(X.cols) +
                        " columns but the model was trained on " + std::to_string(n_));
    const std::size_t N = X.rows;
    std::vector<T> codes(N * m_), recon(N * n_);
    const T* W = this->theta_.data();
    if (N > 0) {
        blas::gemm<T>(Op::N, Op::T, N, m_, n_, T(1), X.data, n_, W, n_, T(0), codes.data(), m_);
        blas::gemm<T>(Op::N, Op::N, N, n_, m_, T(1), codes.data(), m_, W, n_, T(0), recon.data(), n_);
    }
    std::vector<double> loss(N);
    for (std::size_t i = 0; i < N; ++i) {
        double s = 0;
        for (std::size_t j = 0; j < n_; ++j) {
            const double r = static_cast<double>(recon[i * n_ + j]) - static_cast<double>(X.row(i)[j]);
            s += r * r;
        }
        loss[i] = 0.5 * s;
    }
    return {{"codes", make_raw<T>(codes.data(), {N, m_})},
            {"reconstruction", make_raw<T>(recon.data(), {N, n_})},
            {"reconstruction_loss", make_raw<double>(loss.data(), {N})}};
}

template class LinearAutoencoder<float>;
template class LinearAutoencoder<double>;

}  // namespace latentlab
