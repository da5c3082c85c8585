// Model-specific metrics as callbacks that fill each epoch's record
// (Callback::on_evaluate), so that the log line, metrics.csv and the summary
// see the same numbers.
#pragma once
#include <cmath>
#include <functional>
#include <string>

#include <xtensor/xtensor.hpp>

#include "latentlab/core/matrix_view.hpp"
#include "latentlab/train/trainer.hpp"

namespace latentlab {

// The linear autoencoder's loss and gradient norm over the whole training
// set, exactly and in double, from the second moment C = XᵀX alone
// (analysis/pca.hpp: ae_full_eval), in place of the loop's chunked pass.
template <class T>
class ExactAutoencoderLoss : public Callback<T> {
public:
    ExactAutoencoderLoss(const xt::xtensor<double, 2>& C, std::size_t latent_dim, std::size_t n_samples)
        : C_(C), m_(latent_dim), N_(n_samples) {}
    bool evaluates_train_loss() const override { return true; }
    void on_evaluate(const TrainContext<T>& ctx, EpochRecord& r) override;

private:
    const xt::xtensor<double, 2>& C_;
    std::size_t m_, N_;
};

// The training loss and gradient norm from a full-data evaluation the model
// type supplies, in place of the loop's chunked loss_and_grad pass (for the
// stochastic variational GPLVM, whose loss_and_grad also updates the drawn
// rows' q(x)); with `column`, also −loss·scale (e.g. "elbo" with scale N
// for a loss that is −ELBO per row).
template <class T>
class FullDataEvaluation : public Callback<T> {
public:
    using Evaluate = std::function<double(xt::xtensor<T, 1>& g)>;
    FullDataEvaluation(Evaluate evaluate, std::string column, double scale)
        : evaluate_(std::move(evaluate)), column_(std::move(column)), scale_(scale) {}
    bool evaluates_train_loss() const override { return true; }
    void on_evaluate(const TrainContext<T>&, EpochRecord& r) override {
        xt::xtensor<T, 1> g;
        r.train_loss = evaluate_(g);
        double sq = 0;
        for (const T v : g) sq += static_cast<double>(v) * static_cast<double>(v);
        r.grad_norm = std::sqrt(sq);
        if (!column_.empty()) r.metrics.emplace_back(column_, -r.train_loss * scale_);
    }

private:
    Evaluate evaluate_;
    std::string column_;
    double scale_;
};

// train_accuracy and test_accuracy (NaN without a test split) of a
// classifier, given as the function that scores a set of labelled rows.
template <class T>
class AccuracyMetric : public Callback<T> {
public:
    using Score = std::function<double(const MatrixView<T>&)>;
    AccuracyMetric(Score accuracy, MatrixView<T> train, MatrixView<T> test)
        : accuracy_(std::move(accuracy)), train_(train), test_(test) {}
    void on_evaluate(const TrainContext<T>& ctx, EpochRecord& r) override;

private:
    Score accuracy_;
    MatrixView<T> train_, test_;
};

// log_likelihood = −train_loss, for models whose loss is a negative
// log-likelihood (the GPLVM).
template <class T>
class LogLikelihoodMetric : public Callback<T> {
public:
    // `name`: the column (e.g. "elbo" for a bound on the log-likelihood).
    explicit LogLikelihoodMetric(std::string name = "log_likelihood") : name_(std::move(name)) {}
    void on_evaluate(const TrainContext<T>&, EpochRecord& r) override { r.metrics.emplace_back(name_, -r.train_loss); }

private:
    std::string name_;
};

// evaluations: the objective evaluations so far of an optimiser that counts
// them (L-BFGS: one or more an iteration; optim.max_evaluations bounds them),
// so that runs compare at equal cost.
template <class T>
class EvaluationsMetric : public Callback<T> {
public:
    void on_evaluate(const TrainContext<T>& ctx, EpochRecord& r) override {
        r.metrics.emplace_back("evaluations", static_cast<double>(ctx.optimizer.evaluations()));
    }
};

}  // namespace latentlab
