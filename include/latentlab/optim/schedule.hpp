// Learning-rate schedules, as a function of training progress in epochs
// (fractional within an epoch):
//   constant: η
//   step:     η · γ^floor(epoch / step_epochs)
//   cosine:   η_min + ½ (η − η_min)(1 + cos(π · epoch / epochs))
#pragma once

namespace latentlab {

struct Schedule {
    enum class Kind { constant, step, cosine };
    Kind kind = Kind::constant;
    double lr = 1e-3;       // η
    long step_epochs = 10;  // step
    double gamma = 0.1;     // step: γ
    double min_lr = 0.0;    // cosine: η_min

    // η at `epoch` of a run of `total_epochs`.
    double at(double epoch, long total_epochs) const;
};

}  // namespace latentlab
