// The optional parts of a run, as callbacks (ensmallen-style: plain classes that
// override only the hooks they need, not code in the loop): progress on the
// terminal and in the log, metrics.csv, per-epoch checkpoints.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "latentlab/train/trainer.hpp"

namespace latentlab {

// One log line per epoch; within an epoch, a live progress bar on a terminal
// (stderr), or a plain line every `log_every` seconds when not a terminal.
// With a known optimum (`optimum` > 0) every line also shows loss / optimum.
template <class T>
class ProgressCallback : public Callback<T> {
public:
    ProgressCallback(std::shared_ptr<spdlog::logger> log, double log_every, double optimum);
    void on_run_begin(const TrainContext<T>& ctx) override;
    bool on_step(const TrainContext<T>& ctx, std::size_t batch, double loss) override;
    bool on_epoch_end(const TrainContext<T>& ctx, const EpochRecord& r) override;

private:
    void clear_line();
    std::shared_ptr<spdlog::logger> log_;
    double log_every_, optimum_;
    bool tty_;
    bool line_open_ = false;
    std::chrono::steady_clock::time_point last_, epoch_start_;
    double running_loss_ = 0;
    std::size_t running_n_ = 0;
};

// metrics.csv: one row per epoch (epoch 0 = the initial state; for L-BFGS one
// row per iteration): the fixed columns, the record's metrics (callbacks of
// train/metrics.hpp), then the model's diagnostics, rewritten
// atomically after every epoch. On resume, rows after the checkpoint's epoch
// are dropped, so the file always matches the parameters on disk.
template <class T>
class MetricsCsvCallback : public Callback<T> {
public:
    MetricsCsvCallback(std::string path, long resume_epoch);
    bool on_epoch_end(const TrainContext<T>& ctx, const EpochRecord& r) override;
    // The fixed columns; a model's diagnostics follow as extra columns.
    static const char* header();

private:
    std::string path_;
    std::string header_;
    std::vector<std::string> rows_;
};

// After every epoch: the parameters as <block>.npy and checkpoint.bin.
template <class T>
class CheckpointCallback : public Callback<T> {
public:
    CheckpointCallback(std::string run_dir, bool write_checkpoint);
    bool on_epoch_end(const TrainContext<T>& ctx, const EpochRecord& r) override;

private:
    std::string dir_;
    bool checkpoint_;
};

// Stops the run after epoch `last` (a run can be continued with --resume
// under the same schedule).
template <class T>
class StopAfterEpoch : public Callback<T> {
public:
    explicit StopAfterEpoch(long last) : last_(last) {}
    bool on_epoch_end(const TrainContext<T>&, const EpochRecord& r) override { return r.epoch >= last_; }

private:
    long last_;
};

}  // namespace latentlab
