#include "latentlab/train/trainer.hpp"

#include <chrono>
#include <cstring>
#include <sstream>

#include "latentlab/linalg/blas.hpp"
#include "latentlab/optim/schedule.hpp"
#include "latentlab/util/error.hpp"

namespace latentlab {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}
std::string fmt_g(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}
}  // namespace

template <class T>
Evaluation evaluate_model(Model<T>& model, const MatrixView<T>& X, bool with_grad) {
    Evaluation e;
    if (X.rows == 0) {
        e.loss = std::numeric_limits<double>::quiet_NaN();
        return e;
    }
    xt::xtensor<T, 1> g, gsum;
    if (!model.separable()) {  // one evaluation on all rows
        if (with_grad) {
            e.loss = model.loss_and_grad(X, g);
            e.grad_norm = std::sqrt(blas::sqnorm<T>(g.size(), g.data()));
        } else {
            e.loss = model.loss(X);
        }
        return e;
    }
    const std::size_t chunk = 4096;
    if (with_grad) gsum = xt::zeros<T>({model.num_params()});
    double total = 0.0;
    for (std::size_t r = 0; r < X.rows; r += chunk) {
        const auto part = X.slice(r, std::min(X.rows, r + chunk));
        const double w = static_cast<double>(part.rows);
        if (with_grad) {
            total += w * model.loss_and_grad(part, g);
            blas::axpy<T>(g.size(), static_cast<T>(w), g.data(), gsum.data());
        } else {
            total += w * model.loss(part);
        }
    }
    const double N = static_cast<double>(X.rows);
    e.loss = total / N;
    if (with_grad) e.grad_norm = std::sqrt(blas::sqnorm<T>(gsum.size(), gsum.data())) / N;
    return e;
}

template <class T>
Trainer<T>::Trainer(Model<T>& model, Optimizer<T>& opt, const Dataset<T>& data,
                    TrainerOptions<T> options)
    : model_(model), opt_(opt), data_(data), options_(std::move(options)) {}

template <class T>
EpochRecord Trainer<T>::evaluate(long epoch, long step, double lr) {
    EpochRecord r;
    r.epoch = epoch;
    r.step = step;
    r.lr = lr;
    const Evaluation tr = options_.train_eval ? options_.train_eval(model_)
                                              : evaluate_model(model_, data_.train(), true);
    r.train_loss = tr.loss;
    r.grad_norm = tr.grad_norm;
    if (data_.n_test > 0) r.test_loss = evaluate_model(model_, data_.test(), false).loss;
    r.extra = model_.diagnostics();
    return r;
}

template <class T>
TrainResult Trainer<T>::run(StartPoint start) {
    const auto t_begin = Clock::now();
    const auto workers = static_cast<std::size_t>(std::max(1, blas::threads()));
    Batcher<T> batcher(data_, options_.batch_size, options_.seed, workers);
    TrainContext<T> ctx{model_, opt_, start.epoch, start.step, options_.epochs,
                        batcher.num_batches(), start.seconds};
    auto elapsed = [&] { return start.seconds + since(t_begin); };
    TrainResult result;
    result.epochs_done = start.epoch;
    result.steps = start.step;

    for (auto* cb : callbacks_) cb->on_run_begin(ctx);
    const double nb = static_cast<double>(batcher.num_batches());
    double lr = learning_rate(options_.optim, static_cast<double>(start.epoch), options_.epochs);
    bool stop = false;

    auto fail = [&](const std::string& what, long epoch) {
        std::ostringstream s;
        s << "epoch " << epoch << ", step " << ctx.step << ": " << what << " (learning rate " << lr
          << ", optim.lr " << options_.optim.lr << "); stopped, parameters of the last good step kept";
        throw NumericalError(s.str());
    };

    if (start.epoch == 0) {
        EpochRecord r0 = evaluate(0, 0, lr);
        r0.seconds = elapsed();
        if (!std::isfinite(r0.train_loss)) fail("initial loss is " + fmt_g(r0.train_loss), 0);
        result.history.push_back(r0);
        for (auto* cb : callbacks_) stop |= cb->on_epoch_end(ctx, r0);
    }
    const double first_loss = result.history.empty() ? 0.0 : result.history.front().train_loss;

    xt::xtensor<T, 1> g = xt::zeros<T>({model_.num_params()});
    if (opt_.full_batch()) {
        run_full_batch(ctx, result, stop, elapsed);
        result.seconds = ctx.seconds = elapsed();
        for (auto* cb : callbacks_) cb->on_run_end(ctx);
        return result;
    }
    xt::xtensor<T, 1> last_good = model_.params();
    for (long epoch = start.epoch + 1; epoch <= options_.epochs && !stop; ++epoch) {
        ctx.epoch = epoch;
        batcher.start_epoch(epoch);
        const auto t_epoch = Clock::now();
        const std::size_t n_batches = model_.separable() ? batcher.num_batches() : 1;
        for (std::size_t b = 0; b < n_batches && !stop; ++b) {
            lr = learning_rate(options_.optim, static_cast<double>(epoch - 1) + b / nb, options_.epochs);
            // A full-batch model (GPLVM) sees its rows in order: row i of Y
            // belongs to latent i, so they are never shuffled.
            const auto batch = model_.separable() ? batcher.batch(b) : data_.train();
            const double loss = model_.loss_and_grad(batch, g);
            const double gn2 = blas::sqnorm<T>(g.size(), g.data());
            if (!std::isfinite(loss) || !std::isfinite(gn2)) {
                model_.params() = last_good;
                fail(std::string(std::isfinite(loss) ? "gradient" : "loss") + " is not finite (" +
                         (std::isnan(loss) ? "NaN" : fmt_g(loss)) + "): the run diverged",
                     epoch);
            }
            if (first_loss > 0 && loss > 1e8 * first_loss) {
                model_.params() = last_good;
                fail("loss " + fmt_g(loss) + " is 1e8 times the initial " + fmt_g(first_loss) +
                         ": the run diverged",
                     epoch);
            }
            std::memcpy(last_good.data(), model_.params().data(), g.size() * sizeof(T));
            opt_.step(model_.params(), g, lr);
            ++ctx.step;
            for (auto* cb : callbacks_) stop |= cb->on_step(ctx, b, loss);
        }
        const double epoch_time = since(t_epoch);
        result.epoch_seconds.push_back(epoch_time);

        EpochRecord r = evaluate(epoch, ctx.step, lr);
        if (!std::isfinite(r.train_loss)) {
            model_.params() = last_good;
            fail("training loss is " + fmt_g(r.train_loss) + " after the epoch: the run diverged", epoch);
        }
        r.epoch_seconds = epoch_time;
        r.seconds = ctx.seconds = elapsed();
        result.history.push_back(r);
        result.epochs_done = epoch;
        result.steps = ctx.step;
        for (auto* cb : callbacks_) stop |= cb->on_epoch_end(ctx, r);
    }
    result.stopped_by_callback = stop && result.epochs_done < options_.epochs;
    result.seconds = ctx.seconds = elapsed();
    for (auto* cb : callbacks_) cb->on_run_end(ctx);
    return result;
}

template <class T>
void Trainer<T>::run_full_batch(TrainContext<T>& ctx, TrainResult& result, bool& stop,
                                const std::function<double()>& elapsed) {
    // One optimiser iteration (with its line search) per epoch, on all
    // training rows; f and ∇f come from the iteration itself.
    const auto train = data_.train();
    Objective<T> fn = [&](xt::xtensor<T, 1>& grad) { return model_.loss_and_grad(train, grad); };
    xt::xtensor<T, 1> g = xt::zeros<T>({model_.num_params()});
    double f = fn(g);
    for (long epoch = ctx.epoch + 1; epoch <= options_.epochs && !stop; ++epoch) {
        ctx.epoch = epoch;
        const auto t_iter = Clock::now();
        const xt::xtensor<T, 1> before = model_.params();
        const bool converged = opt_.iterate(model_.params(), f, g, fn);
        const double gn = std::sqrt(blas::sqnorm<T>(g.size(), g.data()));
        if (!std::isfinite(f) || !std::isfinite(gn)) {
            model_.params() = before;
            throw NumericalError("iteration " + std::to_string(epoch) + ": the objective is not finite; stopped, "
                                 "parameters of the last good iteration kept");
        }
        ++ctx.step;
        const double iter_time = since(t_iter);
        result.epoch_seconds.push_back(iter_time);
        EpochRecord r;
        r.epoch = epoch;
        r.step = ctx.step;
        r.train_loss = f;
        r.grad_norm = gn;
        r.lr = std::nan("");
        if (data_.n_test > 0) r.test_loss = evaluate_model(model_, data_.test(), false).loss;
        r.epoch_seconds = iter_time;
        r.seconds = ctx.seconds = elapsed();
        r.extra = model_.diagnostics();
        result.history.push_back(r);
        result.epochs_done = epoch;
        result.steps = ctx.step;
        for (auto* cb : callbacks_) stop |= cb->on_epoch_end(ctx, r);
        if (converged) {
            result.converged = true;
            result.stop_reason = opt_.stop_reason();
            break;
        }
    }
}

template class Trainer<float>;
template class Trainer<double>;
template Evaluation evaluate_model<float>(Model<float>&, const MatrixView<float>&, bool);
template Evaluation evaluate_model<double>(Model<double>&, const MatrixView<double>&, bool);

}  // namespace latentlab
