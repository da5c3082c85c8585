#include "latentlab/train/trainer.hpp"

#include <chrono>
#include <cstring>
#include <memory>
#include <sstream>

#include "latentlab/core/communicator.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/format.hpp"
#include "latentlab/core/median.hpp"
#include "latentlab/data/batcher.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/openblas.hpp"

namespace latentlab {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}
}  // namespace

template <class T>
VectorOps vector_ops(const Model<T>& model) {
    VectorOps ops;
    if (world().size() == 1) return ops;
    for (const auto& b : model.blocks()) {
        if (!b.per_row) continue;
        if (b.offset != ops.spread)
            throw Error(model.name() + ": per-row parameter block '" + b.name + "' does not come first");
        ops.spread = b.offset + b.size();
    }
    return ops;
}

template <class T>
Evaluation evaluate_model(Model<T>& model, const MatrixView<T>& X, bool with_grad) {
    Evaluation e;
    const bool spread = world().size() > 1;
    const std::size_t total = spread ? sum_all(X.rows) : X.rows;
    if (total == 0) {
        e.loss = std::numeric_limits<double>::quiet_NaN();
        return e;
    }
    xt::xtensor<T, 1> g, gsum;
    if (!model.separable()) {  // one evaluation on all rows (the model sums over ranks itself)
        if (with_grad) {
            e.loss = model.loss_and_grad(X, g);
            e.grad_norm = std::sqrt(spread ? vector_ops(model).dot(g, g, g.size())
                                           : blas::sqnorm<T>(g.size(), g.data()));
        } else {
            e.loss = model.loss(X);
        }
        return e;
    }
    const std::size_t chunk = 4096;
    if (with_grad) gsum = xt::zeros<T>({model.num_params()});
    double total_loss = 0.0;
    for (std::size_t r = 0; r < X.rows; r += chunk) {
        const auto part = X.slice(r, std::min(X.rows, r + chunk));
        const double w = static_cast<double>(part.rows);
        if (with_grad) {
            total_loss += w * model.loss_and_grad(part, g);
            blas::axpy<T>(g.size(), static_cast<T>(w), g.data(), gsum.data());
        } else {
            total_loss += w * model.loss(part);
        }
    }
    if (spread) {  // every rank's sums (in double: the same bits on every rank)
        std::vector<double> all(gsum.begin(), gsum.end());  // empty without the gradient
        all.push_back(total_loss);
        world().sum(all.data(), all.size());
        total_loss = all.back();
        std::copy(all.begin(), all.end() - 1, gsum.begin());
    }
    const double N = static_cast<double>(total);
    e.loss = total_loss / N;
    if (with_grad) e.grad_norm = std::sqrt(blas::sqnorm<T>(gsum.size(), gsum.data())) / N;
    return e;
}

template <class T>
Trainer<T>::Trainer(Model<T>& model, Optimizer<T>& opt, const Dataset<T>& data, TrainerOptions options)
    : model_(model),
      opt_(opt),
      data_(data),
      options_(std::move(options)),
      // A full-batch model (GPLVM) sees its rows in order: row i of Y belongs
      // to latent i, so they are never shuffled. A line search needs the same
      // objective at every trial point.
      full_batch_(!model.separable() || opt.line_search()),
      ops_(vector_ops(model)) {
    opt_.set_vector_ops(ops_);
    opt_.on_line = [&m = model_](const T* x, const double* d) { return m.on_line(x, d); };
}

template <class T>
EpochRecord Trainer<T>::evaluate(const TrainContext<T>& ctx, long epoch, double lr, const StepResult* last) {
    EpochRecord r;
    r.epoch = epoch;
    r.step = ctx.step;
    r.lr = lr;
    r.train_loss = r.grad_norm = std::numeric_limits<double>::quiet_NaN();
    bool claimed = false;
    for (auto* cb : callbacks_) claimed |= cb->evaluates_train_loss();
    if (last && last->has_end_value()) {
        r.train_loss = last->end_loss;
        r.grad_norm = last->end_grad_norm;
    } else if (!claimed) {
        const Evaluation tr = evaluate_model(model_, data_.train(), true);
        r.train_loss = tr.loss;
        r.grad_norm = tr.grad_norm;
    }
    if (data_.test_all() > 0) r.test_loss = evaluate_model(model_, data_.test(), false).loss;
    r.extra = model_.diagnostics();
    for (auto* cb : callbacks_) cb->on_evaluate(ctx, r);
    return r;
}

template <class T>
TrainResult Trainer<T>::run(StartPoint start) {
    const auto t_begin = Clock::now();
    std::unique_ptr<Batcher<T>> batcher;
    if (!full_batch_)
        batcher = std::make_unique<Batcher<T>>(data_, options_.batch_size, options_.seed,
                                               static_cast<std::size_t>(std::max(1, blas::threads())));
    const std::size_t nb = batcher ? batcher->num_batches() : 1;
    TrainContext<T> ctx{model_, opt_, start.epoch, start.step, options_.epochs, nb, opt_.line_search(),
                        start.seconds};
    auto elapsed = [&] { return start.seconds + since(t_begin); };
    TrainResult result;
    result.epochs_done = start.epoch;
    result.steps = start.step;

    // The learning rate at a point of training (NaN for a line search).
    auto rate = [&](double epoch) {
        return opt_.line_search() ? std::numeric_limits<double>::quiet_NaN()
                                  : options_.schedule.at(epoch, options_.epochs);
    };
    double lr = rate(static_cast<double>(start.epoch));
    auto fail = [&](const std::string& what, long epoch) {
        std::ostringstream s;
        s << (ctx.iterations ? "iteration " : "epoch ") << epoch << ", step " << ctx.step << ": " << what;
        if (!ctx.iterations)
            s << " (learning rate " << format_g(lr) << ", initially " << format_g(options_.schedule.lr) << ")";
        s << "; stopped, parameters of the last good step kept";
        throw NumericalError(s.str());
    };

    for (auto* cb : callbacks_) cb->on_run_begin(ctx);
    bool stop = false;
    if (start.epoch == 0) {
        EpochRecord r0 = evaluate(ctx, 0, lr, nullptr);
        r0.seconds = elapsed();
        if (!std::isfinite(r0.train_loss)) fail("initial loss is " + format_g(r0.train_loss), 0);
        result.history.push_back(r0);
        for (auto* cb : callbacks_) stop |= cb->on_epoch_end(ctx, r0);
    }
    const double first_loss = result.history.empty() ? 0.0 : result.history.front().train_loss;

    // The objective of a step: the loss and gradient on the step's batch,
    // checked. A good evaluation's point is kept as the last good one, so
    // that a failure restores it.
    xt::xtensor<T, 1> last_good = model_.params();
    MatrixView<T> batch;
    std::size_t batch_total = 0;  // the batch's rows over all ranks
    long epoch = start.epoch;
    // Under several processes a separable model's batch is spread over the
    // ranks: each rank's mean, weighted by its share of the rows, summed over
    // ranks (a reduction of the gradient and one of the loss per evaluation;
    // every rank gets the same bits: core/communicator.hpp).
    const bool spread_rows = world().size() > 1 && model_.separable();
    const Objective<T> objective = [&](xt::xtensor<T, 1>& g) {
        double loss = 0;
        if (!spread_rows) {
            loss = model_.loss_and_grad(batch, g);
        } else {
            if (g.size() != model_.num_params()) g = xt::zeros<T>({model_.num_params()});
            if (batch.rows > 0) loss = model_.loss_and_grad(batch, g);
            else std::fill(g.begin(), g.end(), T(0));
            const double w = static_cast<double>(batch.rows) / static_cast<double>(batch_total);
            for (auto& v : g) v = static_cast<T>(w * static_cast<double>(v));
            world().sum(g.data(), g.size());  // in the model's precision: float32 sends half the bytes
            loss = sum_all(w * loss);
        }
        const double gn2 = ops_.spread ? ops_.dot(g, g, g.size()) : blas::sqnorm<T>(g.size(), g.data());
        if (!std::isfinite(loss) || !std::isfinite(gn2))
            fail(std::string(std::isfinite(loss) ? "gradient" : "loss") + " is not finite (" +
                     (std::isnan(loss) ? "NaN" : format_g(loss)) + "): the run diverged",
                 epoch);
        // (A line search backs off from such points itself.)
        if (!opt_.line_search() && first_loss > 0 && loss > 1e8 * first_loss)
            fail("loss " + format_g(loss) + " is 1e8 times the initial " + format_g(first_loss) +
                     ": the run diverged",
                 epoch);
        std::memcpy(last_good.data(), model_.params().data(), g.size() * sizeof(T));
        return loss;
    };

    // train.step_threads auto (TrainerOptions): an epoch's steps 8..55
    // alternate in blocks of 4 between every thread and one, each step
    // timed; one thread is kept for the minibatch steps when its median step
    // was 3% faster (evaluations keep every thread). Medians of interleaved
    // blocks: a burst of load from elsewhere on a shared machine, or a drift
    // of the clock, moves both sides alike and neither median much (two
    // consecutive windows of 24 steps, compared by their totals, once kept one
    // thread on a 2-core machine where it was 1.6× slower).
    const int threads = blas::threads();
    constexpr std::size_t kWarm = 8, kBlock = 4, kTrial = 48;
    const bool may_trial = options_.auto_step_threads && batcher && threads >= 2 &&
                           model_.same_bits_at_any_thread_count() && nb > kWarm + kTrial;
    bool trial = false;
    int step_threads = threads;
    struct StepThreads {  // the BLAS thread count of the steps; every thread again when it ends
        int all, now;
        void set(int n) {
            if (n != now) blas::set_threads(n);
            now = n;
        }
        ~StepThreads() { set(all); }
    } on_steps{threads, threads};
    const auto trial_threads = [&](std::size_t b) { return ((b - kWarm) / kBlock) % 2 == 0 ? threads : 1; };
    std::vector<double> t_all, t_one;  // seconds of the trial's steps on every thread, on one
    Clock::time_point t_step{};

    for (epoch = start.epoch + 1; epoch <= options_.epochs && !stop; ++epoch) {
        ctx.epoch = epoch;
        if (batcher) batcher->start_epoch(epoch);
        // The trial runs in the first epoch, and again in every epoch after
        // one that chose one thread: that choice costs up to half the speed
        // when it is wrong (the other core busy during the trial only), the
        // other one a few percent; a trial is 48 steps of the epoch.
        if (may_trial && (epoch == start.epoch + 1 || step_threads == 1)) {
            trial = true;
            t_all.clear();
            t_one.clear();
        }
        const auto t_epoch = Clock::now();
        StepResult last;
        std::size_t done = 0;
        on_steps.set(step_threads);
        for (std::size_t b = 0; b < nb && !stop; ++b, ++done) {
            if (trial && b > kWarm) (trial_threads(b - 1) == 1 ? t_one : t_all).push_back(since(t_step));
            if (trial && b == kWarm + kTrial) {
                const double m_all = median(t_all), m_one = median(t_one);
                trial = false;
                const int before = step_threads;
                step_threads = m_one < 0.97 * m_all ? 1 : threads;  // one thread only when clearly faster
                on_steps.set(step_threads);
                const std::string note =
                    "train.step_threads auto: median step " + format_g(1e3 * m_all, 3) + " ms on " +
                    std::to_string(threads) + " threads, " + format_g(1e3 * m_one, 3) +
                    " ms on 1: the steps run on " + std::to_string(step_threads) +
                    (step_threads == 1 ? " (the same bits either way)" : "");
                if (on_info && (epoch == start.epoch + 1 || step_threads != before)) on_info(note);  // news only
            } else if (trial && b >= kWarm) {
                on_steps.set(trial_threads(b));
                t_step = Clock::now();
            }
            lr = rate(static_cast<double>(epoch - 1) + static_cast<double>(b) / static_cast<double>(nb));
            batch = batcher ? batcher->batch(b) : data_.train();
            batch_total = batcher ? batcher->batch_rows(b) : data_.train_all();
            try {
                last = opt_.step(model_.params(), objective, lr);
            } catch (const NumericalError&) {
                model_.params() = last_good;
                throw;
            }
            ++ctx.step;
            for (auto* cb : callbacks_) stop |= cb->on_step(ctx, b, last.loss);
        }
        on_steps.set(threads);  // the evaluation and the callbacks: every thread
        trial = false;  // a trial cut short (a stop) decides nothing: the last choice stands
        if (done < nb) {  // stopped within the epoch: it is not recorded (its files stay those of the last)
            result.partial_epoch = true;
            break;
        }
        const double epoch_time = since(t_epoch);
        result.epoch_seconds.push_back(epoch_time);

        EpochRecord r = evaluate(ctx, epoch, lr, full_batch_ ? &last : nullptr);
        if (!std::isfinite(r.train_loss) || !std::isfinite(r.grad_norm)) {
            model_.params() = last_good;
            fail("training loss is " + format_g(r.train_loss) + " (|grad| " + format_g(r.grad_norm) +
                     ") after the " + (ctx.iterations ? "iteration" : "epoch") + ": the run diverged",
                 epoch);
        }
        r.epoch_seconds = epoch_time;
        r.seconds = ctx.seconds = elapsed();
        result.history.push_back(r);
        result.epochs_done = epoch;
        result.steps = ctx.step;
        for (auto* cb : callbacks_) stop |= cb->on_epoch_end(ctx, r);
        if (last.converged || last.budget_spent) {
            result.converged = last.converged;
            result.stop_reason = last.stop_reason;
            break;
        }
    }
    result.step_threads = batcher ? step_threads : 0;
    result.stopped_by_callback = stop && !result.converged && result.epochs_done < options_.epochs;
    result.seconds = ctx.seconds = elapsed();
    for (auto* cb : callbacks_) cb->on_run_end(ctx);
    return result;
}

template class Trainer<float>;
template class Trainer<double>;
template Evaluation evaluate_model<float>(Model<float>&, const MatrixView<float>&, bool);
template Evaluation evaluate_model<double>(Model<double>&, const MatrixView<double>&, bool);
template VectorOps vector_ops<float>(const Model<float>&);
template VectorOps vector_ops<double>(const Model<double>&);

}  // namespace latentlab
