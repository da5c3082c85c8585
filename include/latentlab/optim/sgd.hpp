// Stochastic gradient descent with optional (Nesterov) momentum and L2
// weight decay, in the convention of PyTorch's SGD:
//   g ← g + λ x;   v ← μ v + g;   x ← x − η (g + μ v)  (Nesterov)  or  x − η v.
// With μ = 0 this is plain x ← x − η g.
#pragma once
#include "latentlab/optim/optimizer.hpp"

namespace latentlab {

struct SgdOptions {
    double momentum = 0.0;
    bool nesterov = false;
    double weight_decay = 0.0;
};

template <class T>
struct SgdState {
    xt::xtensor<T, 1> velocity;
};

template <class T>
class Sgd : public FirstOrderOptimizer<T> {
public:
    Sgd(SgdOptions opt, std::size_t n);
    std::string name() const override { return "sgd"; }
    void update(xt::xtensor<T, 1>& x, const xt::xtensor<T, 1>& g, double lr) override;
    void save_state(std::ostream& out) const override;
    void load_state(std::istream& in, std::size_t n) override;
    const SgdState<T>& state() const { return state_; }

private:
    SgdOptions opt_;
    SgdState<T> state_;
};

}  // namespace latentlab
