// Adam (Kingma & Ba 2015) with bias correction and optional decoupled weight
// decay (AdamW, Loshchilov & Hutter 2019):
//   t ← t+1;  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
//   x ← x − η ( m/(1−β₁ᵗ) / (sqrt(v/(1−β₂ᵗ)) + ε) + λ x )
#pragma once
#include "latentlab/optim/optimizer.hpp"

namespace latentlab {

struct AdamOptions {
    double beta1 = 0.9;
    double beta2 = 0.999;
    double eps = 1e-8;
    double weight_decay = 0.0;
};

template <class T>
struct AdamState {
    xt::xtensor<T, 1> m, v;
    long t = 0;
};

template <class T>
class Adam : public FirstOrderOptimizer<T> {
public:
    Adam(AdamOptions opt, std::size_t n);
    std::string name() const override { return "adam"; }
    void update(xt::xtensor<T, 1>& x, const xt::xtensor<T, 1>& g, double lr) override;
    void save_state(std::ostream& out) const override;
    void load_state(std::istream& in, std::size_t n) override;
    const AdamState<T>& state() const { return state_; }

private:
    AdamOptions opt_;
    AdamState<T> state_;
};

}  // namespace latentlab
