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

#include "latentlab/train/checkpoint.hpp"
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
    // Adds the record's row (written by write(): CheckpointCallback decides when).
    bool on_epoch_end(const TrainContext<T>& ctx, const EpochRecord& r) override;
    void write(bool durable = true) const;
    const std::string& path() const { return path_; }
    // The fixed columns; a model's diagnostics follow as extra columns.
    static const char* header();

private:
    std::string path_;
    std::string header_;
    std::vector<std::string> rows_;
};

// How often a run writes its state: after epoch 0, whenever `every_epochs`
// divides the epoch (0: never by count), after any epoch once the time since
// the last write is at least (1/share − 1) times that write's duration (so
// writing takes at most `share` of the run: share 1 writes every epoch), and
// always at the end. Writing every epoch of a cheap run (a GPLVM iteration in
// a millisecond) would cost more than the run; a run whose epochs take longer
// than its writes writes every epoch.
struct WriteCadence {
    long every_epochs = 0;
    double share = 0.05;
};

// The run's state on disk, together and consistent: metrics.csv, the
// parameters as <block>.npy and checkpoint.bin, at the WriteCadence. Each
// epoch's state is kept in memory until the next write, so the last complete
// epoch is written at the end whenever the run ends (finished, stopped,
// interrupted within an epoch, or by flush() after a failure).
template <class T>
class CheckpointCallback : public Callback<T> {
public:
    CheckpointCallback(std::string run_dir, bool write_checkpoint, WriteCadence cadence,
                       const MetricsCsvCallback<T>* metrics);
    bool on_epoch_end(const TrainContext<T>& ctx, const EpochRecord& r) override;
    void on_run_end(const TrainContext<T>& ctx) override;
    // Writes the last complete epoch's state if it is not on disk yet;
    // `durable`: fsync'd (the end of a run), else atomic only (complete after
    // a killed process, not after a power loss).
    void flush(bool durable = true);
    long writes() const { return writes_; }
    double write_seconds() const { return write_seconds_; }  // spent writing, this session

private:
    std::string dir_;
    bool checkpoint_;
    WriteCadence cadence_;
    const MetricsCsvCallback<T>* metrics_;
    const Model<T>* model_ = nullptr;
    const Optimizer<T>* optimizer_ = nullptr;
    StartPoint where_;
    bool live_ = false;             // the model and optimiser still hold the pending state
    bool durable_ = true;           // the last write was fsync'd
    std::chrono::steady_clock::time_point last_write_;
    double last_write_seconds_ = 0;
    bool pending_ = false;
    std::string snapshot_;          // checkpoint bytes of the last complete epoch
    xt::xtensor<T, 1> params_;      // its parameters
    long writes_ = 0;
    double write_seconds_ = 0;
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
