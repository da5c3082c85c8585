// The training loop, one for every optimiser: epochs over a batch plan
// decided once (seeded shuffled minibatches, or the ordered full set for a
// model that is not separable or an optimiser with a line search), the
// learning-rate schedule, a NaN/Inf check at every evaluation, a per-epoch
// evaluation, and callbacks for everything optional (progress, metrics,
// checkpoints: train/callbacks.hpp; model-specific metrics:
// train/metrics.hpp).
#pragma once
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "latentlab/data/dataset.hpp"
#include "latentlab/models/model.hpp"
#include "latentlab/optim/optimizer.hpp"
#include "latentlab/optim/schedule.hpp"

namespace latentlab {

// One row of metrics.csv. Epoch 0 is the initial state before any step.
struct EpochRecord {
    long epoch = 0;
    long step = 0;                 // optimiser steps so far
    double train_loss = 0;         // mean over all training samples
    double test_loss = std::numeric_limits<double>::quiet_NaN();  // NaN without a test split
    double grad_norm = 0;          // ‖∇L‖ over all training samples
    double lr = 0;                 // learning rate at the end of the epoch (NaN: a line search chose the steps)
    double seconds = 0;            // wall time since the run began (all sessions)
    double epoch_seconds = 0;      // time of this epoch's optimisation steps only
    // Named metrics filled by callbacks (train/metrics.hpp: accuracy, log-likelihood, ...).
    std::vector<std::pair<std::string, double>> metrics;
    std::vector<std::pair<std::string, double>> extra;  // model diagnostics (e.g. hyperparameters)
};

// What callbacks see of the run.
template <class T>
struct TrainContext {
    Model<T>& model;
    Optimizer<T>& optimizer;
    long epoch = 0;           // current (1-based) or last finished epoch
    long step = 0;
    long total_epochs = 0;
    std::size_t num_batches = 0;  // per epoch (1: the full set)
    bool iterations = false;  // an epoch is one iteration of a line-search optimiser
    double seconds = 0;       // since the run began (all sessions)
};

template <class T>
class Callback {
public:
    virtual ~Callback() = default;
    virtual void on_run_begin(const TrainContext<T>&) {}
    // True if on_evaluate sets the record's train_loss and grad_norm itself
    // (an exact evaluation), so that the loop does not evaluate them.
    virtual bool evaluates_train_loss() const { return false; }
    // Fills the record of each epoch (and of epoch 0) after the loop's own
    // evaluation, before any on_epoch_end: metrics the log line, metrics.csv
    // and the summary all see.
    virtual void on_evaluate(const TrainContext<T>&, EpochRecord&) {}
    // After each optimiser step; return true to stop the run at once (the
    // unfinished epoch is then not recorded: TrainResult::partial_epoch).
    virtual bool on_step(const TrainContext<T>&, std::size_t /*batch*/, double /*loss*/) { return false; }
    // After each epoch's evaluation (and once for epoch 0); true stops the run.
    virtual bool on_epoch_end(const TrainContext<T>&, const EpochRecord&) { return false; }
    virtual void on_run_end(const TrainContext<T>&) {}
};

// Loss and full-data gradient norm of the current parameters.
struct Evaluation {
    double loss = 0;
    double grad_norm = 0;
};

struct TrainerOptions {
    Schedule schedule;       // learning rate by epoch (first-order optimisers)
    long epochs = 1;         // iterations, for a line-search optimiser
    std::size_t batch_size = 256;
    std::uint64_t seed = 0;
    // train.step_threads: "auto" times the first epoch's minibatch steps on
    // every BLAS thread and on one (alternately; again in each epoch after
    // one that chose one thread), and keeps the faster for the steps (a
    // small step can lose more to the fork and join of its parts than the
    // second thread gives) — only for models whose bits do not depend on the
    // thread count, so the choice, made by the clock, cannot change the run.
    // false ("all"): the steps use every thread.
    bool auto_step_threads = true;
};

struct TrainResult {
    long epochs_done = 0;           // last finished epoch
    long steps = 0;
    double seconds = 0;             // whole run, all sessions
    std::vector<double> epoch_seconds;  // optimisation time of each epoch of this session
    std::vector<EpochRecord> history;   // this session's records
    bool stopped_by_callback = false;
    // A callback stopped the run within an epoch (on_step): the model holds
    // that unfinished epoch's parameters, which no record or file describes.
    bool partial_epoch = false;
    int step_threads = 0;           // BLAS threads the minibatch steps ran on (0: no minibatches)
    bool converged = false;         // the optimiser's stopping rule held
    std::string stop_reason;        // why the optimiser stopped (a stopping rule or its budget)
};

// Where to start: a fresh run, or a resumed one (from a checkpoint).
struct StartPoint {
    long epoch = 0;   // last finished epoch
    long step = 0;
    double seconds = 0;
};

template <class T>
class Trainer {
public:
    Trainer(Model<T>& model, Optimizer<T>& opt, const Dataset<T>& data, TrainerOptions options);
    void add_callback(Callback<T>* cb) { callbacks_.push_back(cb); }

    // Runs epochs start.epoch+1 .. options.epochs. Throws NumericalError on a
    // non-finite or diverging loss/gradient, after restoring the parameters of
    // the last good step.
    TrainResult run(StartPoint start = {});

    // True when every step sees all training rows in order (a model that is
    // not separable, or an optimiser with a line search).
    bool full_batch() const { return full_batch_; }

    // Where the trainer says what it decided (train.step_threads); unset: silent.
    std::function<void(const std::string&)> on_info;

private:
    // The record of `epoch`: train loss and gradient norm from `last` (the
    // step's end point, if the optimiser reported it) or evaluated, the test
    // loss, the model's diagnostics, then the callbacks' metrics.
    EpochRecord evaluate(const TrainContext<T>& ctx, long epoch, double lr, const StepResult* last);

    Model<T>& model_;
    Optimizer<T>& opt_;
    const Dataset<T>& data_;
    TrainerOptions options_;
    bool full_batch_;
    VectorOps ops_;
    std::vector<Callback<T>*> callbacks_;
};

// Chunked mean loss over `X` (and, if wanted, the full-data gradient norm).
// Under several processes X is this rank's share and the result is over all
// ranks' rows (a collective call).
template <class T>
Evaluation evaluate_model(Model<T>& model, const MatrixView<T>& X, bool with_grad);

// How an optimiser measures the model's parameter vectors (optim/optimizer.hpp):
// the per-row blocks spread over the ranks, if any.
template <class T>
VectorOps vector_ops(const Model<T>& model);

}  // namespace latentlab
