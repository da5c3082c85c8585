#include "latentlab/optim/adam.hpp"
#include "latentlab/optim/lbfgs.hpp"
#include "latentlab/optim/sgd.hpp"
#include "latentlab/util/error.hpp"

namespace latentlab {

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimConfig& cfg, std::size_t n) {
    if (cfg.type == "sgd")
        return std::make_unique<Sgd<T>>(SgdOptions{cfg.momentum, cfg.nesterov, cfg.weight_decay}, n);
    if (cfg.type == "adam")
        return std::make_unique<Adam<T>>(
            AdamOptions{cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay}, n);
    if (cfg.type == "lbfgs") {
        LbfgsOptions o;
        o.history = static_cast<std::size_t>(cfg.history);
        o.grad_tol = cfg.grad_tol;
        o.rel_tol = cfg.rel_tol;
        return std::make_unique<Lbfgs<T>>(o);
    }
    throw ConfigError("optim.type: unknown optimiser '" + cfg.type + "'");
}

template std::unique_ptr<Optimizer<float>> make_optimizer<float>(const OptimConfig&, std::size_t);
template std::unique_ptr<Optimizer<double>> make_optimizer<double>(const OptimConfig&, std::size_t);

}  // namespace latentlab
