// The variational Bayesian GPLVM trained on mini-batches (Hensman, Fusi &
// Lawrence 2013, "Gaussian Processes for Big Data"; README, "The variational
// GPLVM"): the uncollapsed bound with an explicit q(u) = Π_d N(m_d, S)
// (m: M×D, S = L Lᵀ shared by the D outputs),
//
//   ELBO = Σ_n [−(D/2) log 2πσ² − (β/2)‖y_n‖² + β y_n mᵀK⁻¹ Ψ1_nᵀ
//               − (β/2) tr(K⁻¹(m mᵀ + D S)K⁻¹ Ψ2_n) − (βD/2)(ψ0_n − tr(K⁻¹Ψ2_n))
//               − KL(q(x_n) ‖ N(0, I))]  −  KL(q(u) ‖ p(u)),
//   KL(q(u) ‖ p(u)) = ½ [D tr(K⁻¹S) + tr(mᵀK⁻¹m) − DM + D log|K| − D log|S|],
//
// K = Kmm. A sum over rows plus one global term, so a batch B of rows gives
// an unbiased estimate (N/B) Σ_{n∈B} ELBO_n − KL(q(u)). The loss of a batch
// is that estimate's negative per row, −(1/B) Σ_{n∈B} ELBO_n + KL(q(u))/N.
//
// Global parameters (q(u), Z, kernel, noise) take the optimiser's steps
// (Adam); a row's q(x_n) is updated when its row is drawn: before the global
// gradient is taken, each drawn row's term is maximised over its own
// (μ_n, log S_n) with q(u) and the kernel fixed (`row_solver`, L-BFGS from
// the current values), and the loss's gradient for the local blocks is zero.
// At the maximised rows the global gradient is the gradient of the bound
// with the rows' q(x) collapsed out (envelope theorem). Everything lives in
// the parameter vector, so checkpoints resume bit-exactly.
//
// q(u) starts at its optimum for the initial q(X) (one pass over the data:
// S = K A⁻¹ K, m = β K A⁻¹ Ψ1ᵀY, A = K + βΨ2), where the collapsed bound
// and this one agree.
#pragma once
#include <functional>

#include "latentlab/models/bayesian_gplvm.hpp"

namespace latentlab {

// Minimises f over x (dim values, in place, warm start) with the gradient g.
using RowSolver = std::function<void(std::size_t dim, double* x,
                                     const std::function<double(const double* x, double* g)>& f)>;

template <class T>
class StochasticBayesianGplvm : public BayesianGplvm<T> {
public:
    StochasticBayesianGplvm(std::size_t N, std::size_t D, std::size_t q, BayesianGplvmOptions opt);

    std::string name() const override { return "bayesian_gplvm"; }
    bool separable() const override { return true; }
    void init_from_data(const MatrixView<T>& Y, std::mt19937_64& rng) override;
    // The kernel and noise (the collapsed bound's KL and jitter are not tracked here).
    std::vector<std::pair<std::string, double>> diagnostics() const override;

    // `batch` rows carry their training-set positions (MatrixView::row_id).
    double loss(const MatrixView<T>& batch) override;
    double loss_and_grad(const MatrixView<T>& batch, xt::xtensor<T, 1>& g) override;
    // q(u) as the fixed posterior of new rows: G1 = β Y (K⁻¹m)ᵀ, G2 as above.
    typename BayesianGplvm<T>::Posterior posterior(const MatrixView<T>& Y) override;

    // The loss over all rows Y (in training order) and its gradient for the
    // global blocks, the rows' q(x) left as they are (no updates): what an
    // epoch reports. −N × the loss is the uncollapsed ELBO.
    double loss_and_global_grad(const MatrixView<T>& Y, xt::xtensor<T, 1>& g);
    double elbo(const MatrixView<T>& Y);

    RowSolver row_solver;

private:
    struct Globals;
    Globals globals();
    double evaluate(const MatrixView<T>& batch, T* grad, bool update_rows);
    void update_rows(const MatrixView<T>& batch, const Globals& G);
};

}  // namespace latentlab
