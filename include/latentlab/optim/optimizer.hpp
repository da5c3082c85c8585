// What the training loop needs of an optimiser: one update from a gradient,
// and its per-run state saved/restored so that a run resumes bit-exactly.
#pragma once
#include <iosfwd>
#include <memory>
#include <string>

#include <xtensor/xtensor.hpp>

#include "latentlab/config/config.hpp"

namespace latentlab {

template <class T>
class Optimizer {
public:
    virtual ~Optimizer() = default;
    virtual std::string name() const = 0;
    // x ← update(x, g) with learning rate `lr` (from the schedule).
    virtual void step(xt::xtensor<T, 1>& x, const xt::xtensor<T, 1>& g, double lr) = 0;
    // Per-run state (moments, step count), binary.
    virtual void save_state(std::ostream& out) const = 0;
    virtual void load_state(std::istream& in) = 0;
};

// Builds the optimiser named by cfg.type ("sgd" | "adam") for n parameters.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimConfig& cfg, std::size_t n);

}  // namespace latentlab
