// Learning-rate schedules, as a function of training progress in epochs
// (fractional within an epoch):
//   constant: η
//   step:     η · γ^floor(epoch / step_epochs)
//   cosine:   η_min + ½ (η − η_min)(1 + cos(π · epoch / epochs))
#pragma once
#include "latentlab/config/config.hpp"

namespace latentlab {

double learning_rate(const OptimConfig& cfg, double epoch, long total_epochs);

}  // namespace latentlab
