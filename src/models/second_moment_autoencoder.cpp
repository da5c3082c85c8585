#include "latentlab/models/second_moment_autoencoder.hpp"

#include <algorithm>

#include "latentlab/core/communicator.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/lapack.hpp"
#include "latentlab/linalg/pca.hpp"

namespace latentlab {

using blas::Op;

// A view other than the training set, row by row; under several processes
// each rank's mean weighted by its rows and summed over the ranks.
template <class T>
double SecondMomentAutoencoder<T>::loss_of_rows(const MatrixView<T>& X) {
    if (world().size() == 1) return LinearAutoencoder<T>::loss(X);
    double v[2] = {X.rows ? LinearAutoencoder<T>::loss(X) * static_cast<double>(X.rows) : 0.0,
                   static_cast<double>(X.rows)};
    world().sum(v, 2);
    return v[0] / v[1];
}

// The training set: a view of n_train rows, on every rank (agreed, so that
// all ranks take the same branch and make the same sums: a test share may
// have as many rows as a training share on some rank).
template <class T>
bool SecondMomentAutoencoder<T>::is_training_set(const MatrixView<T>& X) const {
    const bool mine = X.rows == n_train_;
    if (world().size() == 1) return mine;
    std::uint64_t all = mine ? 1 : 0;
    world().sum(&all, 1);
    return all == static_cast<std::uint64_t>(world().size());
}

template <class T>
double SecondMomentAutoencoder<T>::loss(const MatrixView<T>& X) {
    if (!is_training_set(X)) return loss_of_rows(X);
    return evaluate(X, nullptr);
}

template <class T>
double SecondMomentAutoencoder<T>::loss_and_grad(const MatrixView<T>& X, xt::xtensor<T, 1>& g) {
    if (!is_training_set(X)) return LinearAutoencoder<T>::loss_and_grad(X, g);
    if (g.size() != this->theta_.size()) g = xt::zeros<T>({this->theta_.size()});
    return evaluate(X, g.data());
}

template <class T>
void SecondMomentAutoencoder<T>::form_second_moment(const MatrixView<T>& X) {
    if (X.rows == 0) throw Error("linear_autoencoder: no rows to form the second moment from");
    if (C_of_ == X.data && C_rows_ == X.rows) return;
    const std::size_t n = this->input_dim();
    // linalg/pca.hpp: SYRK, summed over the processes' rows
    const xt::xtensor<double, 2> C = second_moment_all(X);
    N_all_ = sum_all(X.rows);
    C_.assign(C.begin(), C.end());
    trace_C_ = 0;
    for (std::size_t i = 0; i < n; ++i) trace_C_ += C_[i * n + i];
    C_of_ = X.data;
    C_rows_ = X.rows;
}

template <class T>
void SecondMomentAutoencoder<T>::init_from_data(const MatrixView<T>& X, std::mt19937_64& rng) {
    this->init(rng);
    if (warm_start_ <= 0) return;
    if (X.cols != this->input_dim())
        throw Error("linear_autoencoder: the model was built for " + std::to_string(this->input_dim()) +
                    " columns, got " + std::to_string(X.cols));
    form_second_moment(X);
    const std::size_t n = this->input_dim(), m = this->latent_dim();
    std::vector<double> W(this->W(), this->W() + m * n), WC(m * n), G(m * m);
    // Rows of W made orthonormal: G = W Wᵀ = L Lᵀ, W ← L⁻¹ W (twice: CholeskyQR2).
    auto orthonormalise = [&](std::vector<double>& A) {
        for (int pass = 0; pass < 2; ++pass) {
            blas::gemm<double>(Op::N, Op::T, m, m, n, 1.0, A.data(), n, A.data(), n, 0.0, G.data(), m);
            if (lapack::potrf_lower(m, G.data()) != 0)
                throw NumericalError("linear_autoencoder: warm start: W C lost rank (fewer than " + std::to_string(m) +
                                     " directions in the data; lower model.latent_dim or model.warm_start)");
            for (std::size_t i = 0; i < m; ++i)
                for (std::size_t j = i + 1; j < m; ++j) G[i * m + j] = 0.0;
            lapack::triangular_solve(m, n, G.data(), A.data());
        }
    };
    for (int step = 0; step < warm_start_; ++step) {
        blas::gemm<double>(Op::N, Op::N, m, n, n, 1.0, W.data(), n, C_.data(), n, 0.0, WC.data(), n);
        orthonormalise(WC);
        W.swap(WC);
    }
    std::transform(W.begin(), W.end(), this->W(), [](double v) { return static_cast<T>(v); });
}

template <class T>
double SecondMomentAutoencoder<T>::evaluate(const MatrixView<T>& X, T* grad) {
    const std::size_t n = this->input_dim(), m = this->latent_dim();
    if (X.cols != n)
        throw Error("linear_autoencoder: the model was built for " + std::to_string(n) + " columns, got " +
                    std::to_string(X.cols));
    form_second_moment(X);
    const double N = static_cast<double>(N_all_);
    std::vector<double> W(this->W(), this->W() + m * n), WC(m * n), S(m * m), Q(m * m);
    blas::gemm<double>(Op::N, Op::N, m, n, n, 1.0, W.data(), n, C_.data(), n, 0.0, WC.data(), n);
    blas::gemm<double>(Op::N, Op::T, m, m, n, 1.0, WC.data(), n, W.data(), n, 0.0, S.data(), m);
    blas::gemm<double>(Op::N, Op::T, m, m, n, 1.0, W.data(), n, W.data(), n, 0.0, Q.data(), m);
    for (std::size_t i = 0; i < m; ++i) Q[i * m + i] -= 2.0;
    double tr = 0;  // tr(S Q) = Σ_ij S_ij Q_ji
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < m; ++j) tr += S[i * m + j] * Q[j * m + i];
    const double loss = 0.5 * (tr + trace_C_) / N;
    if (!grad) return loss;
    std::vector<double> G(m * n);
    blas::gemm<double>(Op::N, Op::N, m, n, m, 1.0 / N, S.data(), m, W.data(), n, 0.0, G.data(), n);
    blas::gemm<double>(Op::N, Op::N, m, n, m, 1.0 / N, Q.data(), m, WC.data(), n, 1.0, G.data(), n);
    std::transform(G.begin(), G.end(), grad, [](double v) { return static_cast<T>(v); });
    return loss;
}

template class SecondMomentAutoencoder<float>;
template class SecondMomentAutoencoder<double>;

}  // namespace latentlab
