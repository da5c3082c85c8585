// What the training loop needs of an optimiser: one update from a gradient,
// and its per-run state saved/restored so that a run resumes bit-exactly.
#pragma once
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include <xtensor/xtensor.hpp>

#include "latentlab/config/config.hpp"

namespace latentlab {

// A full-batch objective evaluated at the current parameters: returns f and
// writes ∇f into g. It throws NumericalError where f is undefined.
template <class T>
using Objective = std::function<double(xt::xtensor<T, 1>& g)>;

template <class T>
class Optimizer {
public:
    virtual ~Optimizer() = default;
    virtual std::string name() const = 0;
    // x ← update(x, g) with learning rate `lr` (from the schedule).
    virtual void step(xt::xtensor<T, 1>& x, const xt::xtensor<T, 1>& g, double lr) = 0;
    // Full-batch optimisers (L-BFGS) evaluate the objective themselves: one
    // iteration from x (with f = f(x), g = ∇f(x)) moves x in place and updates
    // f and g. Returns true when a stopping rule holds (see stop_reason()).
    virtual bool full_batch() const { return false; }
    virtual bool iterate(xt::xtensor<T, 1>& /*x*/, double& /*f*/, xt::xtensor<T, 1>& /*g*/,
                         const Objective<T>& /*fn*/) {
        return true;
    }
    virtual std::string stop_reason() const { return ""; }
    // Per-run state (moments, step count), binary.
    virtual void save_state(std::ostream& out) const = 0;
    virtual void load_state(std::istream& in) = 0;
};

// Builds the optimiser named by cfg.type ("sgd" | "adam") for n parameters.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimConfig& cfg, std::size_t n);

}  // namespace latentlab
