// Limited-memory BFGS (Nocedal 1980; Nocedal & Wright, Numerical
// Optimization, 2nd ed.), in its named parts:
//   direction:   the two-loop recursion (Alg. 7.4) with the initial scaling
//                γ = sᵀy / yᵀy (steepest descent, step ≤ 1, when empty);
//   line search: strong Wolfe (optim/line_search.hpp);
//   history:     the last `history` curvature pairs (s, y) with sᵀy > 0;
//   stopping:    ‖∇f‖∞ ≤ grad_tol, or one iteration's decrease
//                ≤ rel_tol · max(|f|, 1), or a line search without progress
//                (also along steepest descent, with the pairs forgotten);
//   budget:      at most max_evaluations evaluations of the objective in
//                all, the first and every line-search trial counted (scipy's
//                L-BFGS-B `maxfun`), so that runs compare at equal cost.
// One step() is one iteration. It needs the same objective at every step
// (the full batch) and takes no learning rate.
#pragma once
#include <string>
#include <vector>

#include "latentlab/optim/line_search.hpp"
#include "latentlab/optim/optimizer.hpp"

namespace latentlab {

struct LbfgsOptions {
    std::size_t history = 10;
    double grad_tol = 1e-5;
    double rel_tol = 1e-12;
    LineSearchOptions line_search;
    long max_evaluations = 0;  // 0 = no limit
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
    bool line_search() const override { return true; }
    long evaluations() const override { return state_.evaluations; }
    StepResult step(xt::xtensor<T, 1>& x, const Objective<T>& fn, double lr) override;
    void save_state(std::ostream& out) const override;
    void load_state(std::istream& in, std::size_t n) override;
    const LbfgsState<T>& state() const { return state_; }

private:
    std::vector<double> direction(const xt::xtensor<T, 1>& g) const;
    void forget();
    void update_history(const xt::xtensor<T, 1>& x0, const xt::xtensor<T, 1>& g0);
    std::string stopping_rule(double f0) const;
    long evaluations_left() const;

    LbfgsOptions opt_;
    LbfgsState<T> state_;
    // f and ∇f at x_ (the point the last step ended on), so that the next
    // step does not evaluate them again.
    xt::xtensor<T, 1> x_, g_;
    double f_ = 0;
};

}  // namespace latentlab
