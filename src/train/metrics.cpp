#include "latentlab/train/metrics.hpp"

#include <cmath>

#include "latentlab/analysis/pca.hpp"
#include "latentlab/core/communicator.hpp"

namespace latentlab {

template <class T>
void ExactAutoencoderLoss<T>::on_evaluate(const TrainContext<T>& ctx, EpochRecord& r) {
    const std::size_t n = C_.shape()[0];
    const auto e = ae_full_eval<T>(ctx.model.params().data(), m_, n, C_, N_);
    r.train_loss = e.loss;
    r.grad_norm = e.grad_norm;
}

template <class T>
void AccuracyMetric<T>::on_evaluate(const TrainContext<T>&, EpochRecord& r) {
    // Under several processes: correct rows and rows summed over the ranks.
    auto over_all = [&](const MatrixView<T>& X) {
        if (world().size() == 1) return X.rows ? accuracy_(X) : std::nan("");
        double v[2] = {X.rows ? accuracy_(X) * static_cast<double>(X.rows) : 0.0, static_cast<double>(X.rows)};
        world().sum(v, 2);
        return v[1] > 0 ? v[0] / v[1] : std::nan("");
    };
    r.metrics.emplace_back("train_accuracy", over_all(train_));
    r.metrics.emplace_back("test_accuracy", over_all(test_));
}

template class ExactAutoencoderLoss<float>;
template class ExactAutoencoderLoss<double>;
template class AccuracyMetric<float>;
template class AccuracyMetric<double>;

}  // namespace latentlab
