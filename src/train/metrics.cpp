#include "latentlab/train/metrics.hpp"

#include <cmath>

#include "latentlab/analysis/pca.hpp"

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
    r.metrics.emplace_back("train_accuracy", accuracy_(train_));
    r.metrics.emplace_back("test_accuracy", test_.rows ? accuracy_(test_) : std::nan(""));
}

template class ExactAutoencoderLoss<float>;
template class ExactAutoencoderLoss<double>;
template class AccuracyMetric<float>;
template class AccuracyMetric<double>;

}  // namespace latentlab
