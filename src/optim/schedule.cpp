#include "latentlab/optim/schedule.hpp"

#include <algorithm>
#include <cmath>

namespace latentlab {

double Schedule::at(double epoch, long total_epochs) const {
    switch (kind) {
        case Kind::step:
            return lr * std::pow(gamma, std::floor(epoch / static_cast<double>(step_epochs)));
        case Kind::cosine: {
            const double progress = total_epochs > 0 ? std::min(1.0, epoch / total_epochs) : 1.0;
            return min_lr + 0.5 * (lr - min_lr) * (1.0 + std::cos(M_PI * progress));
        }
        case Kind::constant:
            break;
    }
    return lr;
}

}  // namespace latentlab
