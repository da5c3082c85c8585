#include "latentlab/train/callbacks.hpp"

#include "latentlab/core/communicator.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "latentlab/train/checkpoint.hpp"
#include "latentlab/core/files.hpp"
#include "latentlab/core/format.hpp"
#include "latentlab/core/json.hpp"
#include "latentlab/io/npy.hpp"

namespace latentlab {

namespace {
double secs(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// For the console: 8 significant digits.
std::string short_number(double v) { return format_g(v, 8); }

// Shortest text that reads back to the same double (numpy reads it exactly).
std::string csv_number(double v) {
    if (std::isnan(v)) return "";
    return json_number(v);
}
}  // namespace

template <class T>
ProgressCallback<T>::ProgressCallback(std::shared_ptr<spdlog::logger> log, double log_every,
                                      double optimum)
    : log_(std::move(log)), log_every_(log_every), optimum_(optimum), tty_(::isatty(2) != 0) {}

template <class T>
void ProgressCallback<T>::clear_line() {
    if (line_open_) {
        std::fputs("\r\033[K", stderr);
        line_open_ = false;
    }
}

template <class T>
void ProgressCallback<T>::on_run_begin(const TrainContext<T>& ctx) {
    last_ = epoch_start_ = std::chrono::steady_clock::now();
    if (ctx.iterations)
        log_->info("training: at most {} {} iterations on the full batch", ctx.total_epochs, ctx.optimizer.name());
    else
        log_->info("training: {} epochs of {} batches, optimiser {}", ctx.total_epochs, ctx.num_batches,
                   ctx.optimizer.name());
}

template <class T>
bool ProgressCallback<T>::on_step(const TrainContext<T>& ctx, std::size_t batch, double loss) {
    if (ctx.iterations) return false;  // an iteration is a line of its own (on_epoch_end)
    auto now = std::chrono::steady_clock::now();
    if (batch == 0) {
        epoch_start_ = now;
        running_loss_ = 0;
        running_n_ = 0;
    }
    running_loss_ += loss;
    ++running_n_;
    const double since_last = secs(now - last_);
    if (tty_ && since_last >= 0.2) {
        const double frac = static_cast<double>(batch + 1) / static_cast<double>(ctx.num_batches);
        const double el = secs(now - epoch_start_);
        const int width = 24, filled = static_cast<int>(frac * width);
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar.resize(width, '.');
        fmt::print(stderr, "\r\033[Kepoch {}/{} [{}] {}/{}  batch loss {}  {:.1f}s, eta {:.1f}s", ctx.epoch,
                   ctx.total_epochs, bar, batch + 1, ctx.num_batches,
                   format_g(running_loss_ / static_cast<double>(running_n_)), el, el / frac - el);
        std::fflush(stderr);
        line_open_ = true;
        last_ = now;
    } else if (!tty_ && since_last >= log_every_) {
        log_->info("epoch {}/{}: batch {}/{}, mean batch loss {:.6g}", ctx.epoch, ctx.total_epochs,
                   batch + 1, ctx.num_batches, running_loss_ / static_cast<double>(running_n_));
        last_ = now;
    }
    return false;
}

template <class T>
bool ProgressCallback<T>::on_epoch_end(const TrainContext<T>& ctx, const EpochRecord& r) {
    clear_line();
    std::ostringstream s;
    const bool iteration = ctx.iterations;  // L-BFGS: one row per iteration
    s << (iteration ? "iteration " : "epoch ") << r.epoch << "/" << ctx.total_epochs << "  train "
      << short_number(r.train_loss);
    if (optimum_ > 0) s << " (L/L* " << short_number(r.train_loss / optimum_) << ")";
    if (!std::isnan(r.test_loss)) s << "  test " << short_number(r.test_loss);
    s << "  |grad| " << short_number(r.grad_norm);
    if (!iteration) s << "  lr " << short_number(r.lr);
    for (const auto& kv : r.metrics) s << "  " << kv.first << " " << short_number(kv.second);
    for (const auto& kv : r.extra)
        if (kv.first != "jitter" || kv.second > 0) s << "  " << kv.first << " " << short_number(kv.second);
    if (r.epoch > 0) s << "  " << short_number(std::round(r.epoch_seconds * 100) / 100) << "s";
    log_->info(s.str());
    last_ = std::chrono::steady_clock::now();
    return false;
}

template <class T>
const char* MetricsCsvCallback<T>::header() {
    return "epoch,step,train_loss,test_loss,grad_norm,lr,seconds,epoch_seconds";
}

template <class T>
MetricsCsvCallback<T>::MetricsCsvCallback(std::string path, long resume_epoch) : path_(std::move(path)) {
    if (resume_epoch > 0 && file_exists(path_)) {
        std::istringstream in(read_file(path_));
        std::string line;
        std::getline(in, header_);
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            const long epoch = std::strtol(line.c_str(), nullptr, 10);
            if (epoch <= resume_epoch) rows_.push_back(line);
        }
    }
}

template <class T>
bool MetricsCsvCallback<T>::on_epoch_end(const TrainContext<T>&, const EpochRecord& r) {
    std::ostringstream row;
    row << r.epoch << ',' << r.step << ',' << csv_number(r.train_loss) << ','
        << csv_number(r.test_loss) << ',' << csv_number(r.grad_norm) << ',' << csv_number(r.lr)
        << ',' << csv_number(r.seconds) << ',' << csv_number(r.epoch_seconds);
    for (const auto& kv : r.metrics) row << ',' << csv_number(kv.second);
    for (const auto& kv : r.extra) row << ',' << csv_number(kv.second);
    rows_.push_back(row.str());
    if (header_.empty()) {
        header_ = header();
        for (const auto& kv : r.metrics) header_ += "," + kv.first;
        for (const auto& kv : r.extra) header_ += "," + kv.first;
    }
    return false;
}

template <class T>
void MetricsCsvCallback<T>::write(bool durable) const {
    std::string all = header_ + "\n";
    for (const auto& l : rows_) all += l + "\n";
    write_file_atomic(path_, all, durable);
}

template <class T>
CheckpointCallback<T>::CheckpointCallback(std::string run_dir, bool write_checkpoint, WriteCadence cadence,
                                          const MetricsCsvCallback<T>* metrics)
    : dir_(std::move(run_dir)), checkpoint_(write_checkpoint), cadence_(cadence), metrics_(metrics) {}

template <class T>
bool CheckpointCallback<T>::on_epoch_end(const TrainContext<T>& ctx, const EpochRecord& r) {
    model_ = &ctx.model;
    optimizer_ = &ctx.optimizer;
    where_ = StartPoint{r.epoch, r.step, r.seconds};
    const auto now = std::chrono::steady_clock::now();
    // The state of this complete epoch, in memory (no disk), when the run can
    // still end within the next epoch (a signal between minibatch steps). An
    // iteration of a line search is never cut: its state is the live one.
    live_ = ctx.iterations;
    if (!live_) {
        if (checkpoint_) snapshot_ = checkpoint_bytes(ctx.model, ctx.optimizer, where_);
        params_ = ctx.model.params();
    }
    pending_ = true;
    bool due = r.epoch == 0 || (cadence_.every_epochs > 0 && r.epoch % cadence_.every_epochs == 0) ||
               secs(now - last_write_) * cadence_.share >= last_write_seconds_ * (1.0 - cadence_.share);
    if (world().size() > 1) {  // rank 0's clock decides for all (a write may gather from every rank)
        std::uint64_t d = due ? 1 : 0;
        world().broadcast(&d, sizeof d);
        due = d != 0;
    }
    if (due) flush(false);
    return false;
}

template <class T>
void CheckpointCallback<T>::flush(bool durable) {
    if (!pending_ || !model_) return;
    const auto t0 = std::chrono::steady_clock::now();
    // Under several processes rank 0 writes the files of the run, gathering
    // per-row blocks; each rank writes its own checkpoint where it differs.
    const bool writer = world().rank() == 0;
    if (metrics_ && writer) metrics_->write(durable);
    const T* params = live_ ? model_->params().data() : params_.data();
    for (const auto& b : model_->blocks()) {
        const std::string bytes = block_npy_bytes(*model_, params, b);
        if (writer) write_file_atomic(dir_ + "/" + b.name + ".npy", bytes, durable);
    }
    if (checkpoint_ && writes_own_checkpoint(*model_))
        write_file_atomic(dir_ + "/" + checkpoint_name(world().rank()),
                          live_ ? checkpoint_bytes(*model_, *optimizer_, where_) : snapshot_, durable);
    pending_ = false;
    durable_ = durable;
    last_write_ = std::chrono::steady_clock::now();
    last_write_seconds_ = secs(last_write_ - t0);
    write_seconds_ += last_write_seconds_;
    ++writes_;
}

template <class T>
void CheckpointCallback<T>::on_run_end(const TrainContext<T>&) {
    if (pending_) {
        flush(true);
    } else if (!durable_ && model_) {  // written, not yet fsync'd
        const bool writer = world().rank() == 0;
        if (metrics_ && writer) sync_file(metrics_->path());
        if (writer)
            for (const auto& b : model_->blocks()) sync_file(dir_ + "/" + b.name + ".npy");
        if (checkpoint_ && writes_own_checkpoint(*model_)) sync_file(dir_ + "/" + checkpoint_name(world().rank()));
        durable_ = true;
    }
}

template class ProgressCallback<float>;
template class ProgressCallback<double>;
template class MetricsCsvCallback<float>;
template class MetricsCsvCallback<double>;
template class CheckpointCallback<float>;
template class CheckpointCallback<double>;

}  // namespace latentlab
