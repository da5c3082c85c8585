#include "latentlab/models/linear_autoencoder.hpp"

#include <algorithm>
#include <utility>

#include "latentlab/linalg/blas.hpp"

namespace latentlab {

using blas::Op;

namespace {

// How the products are cut into calls. OpenBLAS runs a GEMM with M·N·K up to
// small_gemm_limit() on unpacked kernels that, on these thin shapes (m ≪ n),
// beat one packed call by ~1.5× (bench/bench_autoencoder.cpp, bench/results.md).
// Chunk sizes depend only on the shapes (never on timings), so results are
// reproducible run to run.
struct Chunks {
    std::size_t rows, k;
};

// For C (M×N) = op(A) op(B) with inner dimension K: the largest K-chunk from a
// short list (n = 784 splits evenly by 196, 112, 98) such that M'·N·K' stays
// within the limit, with M' rows at a time (at most max_rows).
Chunks plan(std::size_t M, std::size_t N, std::size_t K, std::size_t max_rows) {
    const double limit = blas::small_gemm_limit();
    if (limit <= 0) return {M, K};  // no small kernels: one call
    const std::size_t rows = std::max<std::size_t>(1, std::min(M, max_rows));
    for (std::size_t k : {K, std::size_t{196}, std::size_t{112}, std::size_t{98}, std::size_t{64},
                          std::size_t{32}, std::size_t{16}})
        if (k <= K && static_cast<double>(rows) * N * k <= limit) return {rows, k};
    return {M, K};  // too wide even at K' = 16: one packed call is as good
}

// How many parts a step's products are split into: one per BLAS thread
// (train.threads), since OpenBLAS runs its small-matrix kernels on the calling
// thread only. Rows of A and columns of the gradient are split; each part
// keeps the chunking of the whole, so every element is computed by the same
// sequence of operations whatever the split (tests/test_perf_kernels.cpp).
std::size_t parts_for(std::size_t B) {
    if (blas::small_gemm_limit() <= 0 || B < 64) return 1;
    return static_cast<std::size_t>(std::clamp(blas::threads(), 1, 8));
}

// [begin, end) of part p of `total` split into `parts`, at multiples of `align`.
std::pair<std::size_t, std::size_t> part_range(std::size_t total, std::size_t parts, std::size_t p,
                                               std::size_t align) {
    const auto at = [&](std::size_t q) {
        return std::min(total, (total * q / parts + align / 2) / align * align);
    };
    return {p == 0 ? 0 : at(p), p + 1 == parts ? total : at(p + 1)};
}

}  // namespace

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
double LinearAutoencoder<T>::forward(const MatrixView<T>& X) {
    const std::size_t B = X.rows, m = m_, n = n_;
    if (A_.size() < B * m) {
        A_.resize(B * m);
        A2_.resize(B * m);
    }
    const T* W = this->theta_.data();
    blas::transpose<T>(m, n, W, n, Wt_.data(), m);
    // A = X Wᵀ (B×m): 2·B·m·n flops. Rows of 256 (128 for m ≥ 64) at a time.
    // Q = W Wᵀ (m×m), as (Wᵀ)ᵀ Wᵀ. Both split by rows over the parts.
    const Chunks ca = plan(B, m, n, m >= 64 ? 128 : 256);
    const Chunks cq = plan(m, m, n, m);
    const std::size_t parts = parts_for(B);
    blas::parallel_for(parts, [&](std::size_t p) {
        const auto [r0, r1] = part_range(B, parts, p, 16);
        if (r1 > r0)
            blas::gemm_chunked<T>(Op::N, Op::N, r1 - r0, m, n, T(1), X.data + r0 * n, n, Wt_.data(), m, T(0),
                                  A_.data() + r0 * m, m, ca.rows, ca.k);
        const auto [q0, q1] = part_range(m, parts, p, 1);
        if (q1 > q0)
            blas::gemm_chunked<T>(Op::T, Op::N, q1 - q0, m, n, T(1), Wt_.data() + q0, m, Wt_.data(), m, T(0),
                                  Q_.data() + q0 * m, m, cq.rows, cq.k);
    });
    for (std::size_t i = 0; i < m; ++i) Q_[i * m + i] -= T(2);
    // A₂ = A (Q − 2I) (B×m).
    const Chunks c2 = plan(B, m, m, B);
    blas::gemm_chunked<T>(Op::N, Op::N, B, m, m, T(1), A_.data(), m, Q_.data(), m, T(0), A2_.data(), m,
                          c2.rows, c2.k);

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
    return forward(X);
}

template <class T>
double LinearAutoencoder<T>::loss_and_grad(const MatrixView<T>& X, xt::xtensor<T, 1>& g) {
    const double L = forward(X);
    const std::size_t B = X.rows, m = m_, n = n_;
    const T invB = T(1.0 / static_cast<double>(B));
    if (g.size() != this->theta_.size()) g = xt::zeros<T>({this->theta_.size()});
    T* G = g.data();
    // S = Aᵀ A (m×m)
    const Chunks cs = plan(m, m, B, m);
    blas::gemm_chunked<T>(Op::T, Op::N, m, m, B, T(1), A_.data(), m, A_.data(), m, T(0), S_.data(), m,
                          cs.rows, cs.k);
    // G = (1/B) S W, then G += (1/B) A₂ᵀ X over chunks of the batch: the
    // second product over the batch, 2·B·m·n flops. (S is symmetric: Sᵀ W.)
    // At most 32 rows of G per call: for m = 64 that beats thinner K-chunks.
    // Split by columns over the parts.
    const Chunks cw = plan(m, n, m, 32);
    const Chunks cg = plan(m, n, B, 32);
    const T* W = this->theta_.data();
    const std::size_t parts = parts_for(B);
    blas::parallel_for(parts, [&](std::size_t p) {
        const auto [c0, c1] = part_range(n, parts, p, 16);
        if (c1 <= c0) return;
        blas::gemm_chunked<T>(Op::T, Op::N, m, c1 - c0, m, invB, S_.data(), m, W + c0, n, T(0), G + c0, n,
                              cw.rows, cw.k);
        blas::gemm_chunked<T>(Op::T, Op::N, m, c1 - c0, B, invB, A2_.data(), m, X.data + c0, n, T(1), G + c0,
                              n, cg.rows, cg.k);
    });
    return L;
}

template class LinearAutoencoder<float>;
template class LinearAutoencoder<double>;

}  // namespace latentlab
