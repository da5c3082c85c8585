// Limited-memory BFGS (Nocedal 1980; Nocedal & Wright, Numerical
// Optimization, 2nd ed.): the two-loop recursion (Alg. 7.4) with the initial
// scaling γ = sᵀy / yᵀy, and a line search satisfying the strong Wolfe
// conditions (Alg. 3.5 with zoom, Alg. 3.6; cubic interpolation, bisection
// as the safeguard). A trial point where the objective throws (e.g. a kernel
// that is not positive definite) counts as f = +∞, so the search backs off.
//
// Stops when ‖∇f‖∞ ≤ grad_tol, or when the decrease of one iteration is
// ≤ rel_tol · max(|f|, 1), or when the line search cannot make progress.
#pragma once
#include <vector>

#include "latentlab/optim/optimizer.hpp"

namespace latentlab {

struct LbfgsOptions {
    std::size_t history = 10;
    double grad_tol = 1e-5;
    double rel_tol = 1e-12;
    double c1 = 1e-4;       // sufficient decrease
    double c2 = 0.9;        // curvature
    int max_evaluations = 25;  // per line search
};

template <class T>
struct LbfgsState {
    std::vector<std::vector<double>> s, y;  // newest last
    std::vector<double> rho;
    long iterations = 0;
    long evaluations = 0;
    double last_step = 0;
};

template <class T>
class Lbfgs : public Optimizer<T> {
public:
    explicit Lbfgs(LbfgsOptions opt) : opt_(opt) {}
    std::string name() const override { return "lbfgs"; }
    bool full_batch() const override { return true; }
    // A minibatch step is not defined for L-BFGS.
    void step(xt::xtensor<T, 1>&, const xt::xtensor<T, 1>&, double) override;
    bool iterate(xt::xtensor<T, 1>& x, double& f, xt::xtensor<T, 1>& g, const Objective<T>& fn) override;
    std::string stop_reason() const override { return reason_; }
    void save_state(std::ostream& out) const override;
    void load_state(std::istream& in) override;
    const LbfgsState<T>& state() const { return state_; }

private:
    std::vector<double> direction(const xt::xtensor<T, 1>& g) const;
    LbfgsOptions opt_;
    LbfgsState<T> state_;
    std::string reason_;
};

}  // namespace latentlab
