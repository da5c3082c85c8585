// What the training loop needs of an optimiser: one step on an objective,
// and its per-run state saved/restored so that a run resumes bit-exactly.
//
// Every optimiser takes the same step (ensmallen's contract): it evaluates
// the objective at x as often as it needs (first-order methods once, L-BFGS
// along its line search) and moves x. The training loop (train/trainer.hpp)
// is therefore one loop for all of them, with the same callbacks.
#pragma once
#include <functional>
#include <algorithm>
#include <cmath>
#include <iosfwd>
#include <limits>
#include <string>

#include <xtensor/xtensor.hpp>

#include "latentlab/core/communicator.hpp"

namespace latentlab {

// Inner products and largest entries of vectors shaped like the parameters,
// as an optimiser measures them. On one process (or when every rank holds
// every entry) plain sums. Under several processes with a model whose first
// `spread` entries are this rank's share of per-row parameters (e.g. the
// latents of its rows; train/trainer.hpp: vector_ops), those entries are
// reduced over the ranks and the rest, the same on every rank, counted once.
struct VectorOps {
    std::size_t spread = 0;  // 0: nothing spread
    template <class A, class B>
    double dot(const A& a, const B& b, std::size_t n) const {
        double s = 0;
        if (spread == 0) {
            for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
            return s;
        }
        double shared = 0;
        for (std::size_t i = 0; i < spread; ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
        for (std::size_t i = spread; i < n; ++i) shared += static_cast<double>(a[i]) * static_cast<double>(b[i]);
        if (world().rank() == 0) s += shared;
        world().sum(&s, 1);
        return s;
    }
    template <class A>
    double max_abs(const A& a, std::size_t n) const {
        double m = 0;
        for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::abs(static_cast<double>(a[i])));
        if (spread) world().max(&m, 1);
        return m;
    }
};

// The objective at the optimiser's current x (the buffer that step() moves):
// returns f(x) and writes ∇f(x) into g (sized to x). It may throw
// NumericalError where f is undefined.
template <class T>
using Objective = std::function<double(xt::xtensor<T, 1>& g)>;

// What one step did.
struct StepResult {
    double loss = 0;  // f at the point the step started from
    // Optimisers that evaluate at the point they end on (L-BFGS) report f and
    // ‖∇f‖ there, so the loop need not evaluate again; NaN otherwise.
    double end_loss = std::numeric_limits<double>::quiet_NaN();
    double end_grad_norm = std::numeric_limits<double>::quiet_NaN();
    bool converged = false;  // a stopping rule holds: no further step will help
    bool budget_spent = false;  // the optimiser's own budget (L-BFGS's evaluations) is used up
    std::string stop_reason;  // why, when converged or budget_spent
    bool has_end_value() const { return end_loss == end_loss; }
};

template <class T>
class Optimizer {
public:
    virtual ~Optimizer() = default;
    virtual std::string name() const = 0;
    // One step from x on `f`, with learning rate `lr` (from the schedule;
    // ignored by optimisers that choose their own step length).
    virtual StepResult step(xt::xtensor<T, 1>& x, const Objective<T>& f, double lr) = 0;
    // True for methods that choose their own step length by a line search
    // (L-BFGS): they need the same objective at every step (the full batch)
    // and take no learning rate; a step of theirs is one iteration.
    virtual bool line_search() const { return false; }
    // Objective evaluations so far in the run (line-search methods count
    // them: an iteration takes one or more); 0 where not counted.
    virtual long evaluations() const { return 0; }
    // Per-run state (moments, step count), binary.
    virtual void save_state(std::ostream& out) const = 0;
    // Reads back what save_state wrote, for a model of `n` parameters; `in`
    // holds exactly that state (bytes left over are an error). Everything is
    // checked before it is kept: each vector's length against n and against
    // the bytes left (before allocating), its values for NaN and Inf, counts
    // for being negative or absurd. On Error the optimiser is unchanged.
    virtual void load_state(std::istream& in, std::size_t n) = 0;
    // How vectors are measured (set by the training loop before the first step).
    void set_vector_ops(VectorOps ops) { ops_ = ops; }
    // Told before a line search evaluates the objective at x0 + a·d for some
    // a: (x0, d), x0 the parameters it starts from, d the direction; after
    // it: (x, nullptr), x the point it accepted — true asks the optimiser to
    // evaluate there once more (the value it has may differ in its last bits
    // from what a fresh evaluation gives, which a resumed run would see);
    // (nullptr, nullptr) if the search ended in an exception. The training
    // loop passes it on to the model (Model::on_line). Unset: not called.
    std::function<bool(const T* x, const double* d)> on_line;

protected:
    VectorOps ops_;
};

// First-order methods: one evaluation, then x ← update(x, ∇f(x), lr).
template <class T>
class FirstOrderOptimizer : public Optimizer<T> {
public:
    virtual void update(xt::xtensor<T, 1>& x, const xt::xtensor<T, 1>& g, double lr) = 0;
    StepResult step(xt::xtensor<T, 1>& x, const Objective<T>& f, double lr) final {
        if (g_.size() != x.size()) g_ = xt::zeros<T>({x.size()});
        StepResult r;
        r.loss = f(g_);
        update(x, g_, lr);
        return r;
    }

private:
    xt::xtensor<T, 1> g_;
};

}  // namespace latentlab
