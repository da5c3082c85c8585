#include "latentlab/optim/schedule.hpp"

#include <cmath>

namespace latentlab {

double learning_rate(const OptimConfig& cfg, double epoch, long total_epochs) {
    if (cfg.schedule == "step") {
        return cfg.lr * std::pow(cfg.gamma, std::floor(epoch / static_cast<double>(cfg.step_epochs)));
    }
    if (cfg.schedule == "cosine") {
        const double progress = total_epochs > 0 ? std::min(1.0, epoch / total_epochs) : 1.0;
        return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + std::cos(M_PI * progress));
    }
    return cfg.lr;
}

}  // namespace latentlab
