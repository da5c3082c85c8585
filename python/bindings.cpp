// The C++ side of the Python module (python/latentlab): a run of a config on
// numpy arrays, as `train` runs it on files (src/cli/run.cpp): the same data
// preparation, model, optimiser, training loop and per-model metrics
// (src/cli/report_*.cpp), so that a notebook and a YAML experiment agree to
// the bit. No run directory is written; the parameters, the epoch records
// and the summary come back as Python objects.
//
// The GIL is released while data are prepared and the model trains; a
// callback takes it back once per step to see Ctrl-C (PyErr_CheckSignals)
// and once per epoch for the Python per-epoch hook.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include "latentlab/analysis/bayesian_gplvm_projection.hpp"
#include "latentlab/analysis/gplvm_projection.hpp"
#include "latentlab/config/build.hpp"
#include "latentlab/config/config.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/files.hpp"
#include "latentlab/core/json.hpp"
#include "latentlab/data/dataset.hpp"
#include "latentlab/data/sources.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/models/bayesian_gplvm.hpp"
#include "latentlab/models/gplvm.hpp"
#include "latentlab/train/callbacks.hpp"
#include "latentlab/train/trainer.hpp"
#include "report.hpp"  // src/cli: the per-model metrics and summary the CLI uses

namespace py = pybind11;
namespace fs = std::filesystem;
using namespace latentlab;

namespace {

// Log lines to Python's sys.stdout (a notebook shows them; C's stdout it
// may not), formatted as the CLI's console: "[HH:MM:SS] message".
class PythonStdoutSink : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t buf;
        formatter_->format(msg, buf);
        py::gil_scoped_acquire gil;
        try {
            py::module_::import("sys").attr("stdout").attr("write")(std::string(buf.data(), buf.size()));
        } catch (py::error_already_set&) {  // a closed stdout does not stop a fit
        }
    }
    void flush_() override {
        py::gil_scoped_acquire gil;
        try {
            py::module_::import("sys").attr("stdout").attr("flush")();
        } catch (py::error_already_set&) {
        }
    }
};

std::shared_ptr<spdlog::logger> make_logger(bool verbose) {
    auto sink = std::make_shared<PythonStdoutSink>();
    sink->set_pattern("[%H:%M:%S] %v");
    auto log = std::make_shared<spdlog::logger>("latentlab", sink);
    log->set_level(verbose ? spdlog::level::info : spdlog::level::off);
    log->flush_on(spdlog::level::info);
    return log;
}

py::dict record_dict(const EpochRecord& r) {
    py::dict d;
    d["epoch"] = r.epoch;
    d["step"] = r.step;
    d["train_loss"] = r.train_loss;
    d["test_loss"] = r.test_loss;
    d["grad_norm"] = r.grad_norm;
    d["lr"] = r.lr;
    d["seconds"] = r.seconds;
    d["epoch_seconds"] = r.epoch_seconds;
    for (const auto& [k, v] : r.metrics) d[py::str(k)] = v;
    for (const auto& [k, v] : r.extra) d[py::str(k)] = v;
    return d;
}

// Ctrl-C and the Python per-epoch hook. Runs without the GIL and takes it
// for each check; a Python exception (KeyboardInterrupt from the signal
// check, or one the hook raised) stops the run and is raised again once the
// loop has returned. A hook that returns True stops the run as well.
template <class T>
class PythonHooks : public Callback<T> {
public:
    explicit PythonHooks(py::object on_epoch) : on_epoch_(std::move(on_epoch)) {}
    void on_run_begin(const TrainContext<T>& ctx) override { last_ = ctx.model.params(); }
    // Ctrl-C within an epoch: looked for every 20 ms (taking the GIL at
    // every step would make each step wait for a busy Python thread).
    bool on_step(const TrainContext<T>&, std::size_t, double) override {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_check_ < std::chrono::milliseconds(20)) return false;
        last_check_ = now;
        py::gil_scoped_acquire gil;
        return check_signals();
    }
    bool on_epoch_end(const TrainContext<T>& ctx, const EpochRecord& r) override {
        last_ = ctx.model.params();
        history_.push_back(r);
        py::gil_scoped_acquire gil;
        if (check_signals()) return true;
        if (on_epoch_.is_none()) return false;
        try {
            const py::object answer = on_epoch_(record_dict(r));
            if (answer.is(py::bool_(true))) stopped_by_hook_ = true;
            return stopped_by_hook_;
        } catch (py::error_already_set& e) {
            error_ = std::make_unique<py::error_already_set>(std::move(e));
            return true;
        }
    }
    const xt::xtensor<T, 1>& last_complete() const { return last_; }
    const std::vector<EpochRecord>& history() const { return history_; }
    bool stopped_by_hook() const { return stopped_by_hook_; }
    // Raises the Python exception that stopped the run, if any (GIL held).
    void rethrow() {
        if (error_) {
            auto e = std::move(error_);
            throw py::error_already_set(std::move(*e));
        }
    }
    // Drops the exception object while the GIL is held.
    void release_error() {
        py::gil_scoped_acquire gil;
        error_.reset();
    }

private:
    bool check_signals() {
        if (PyErr_CheckSignals() != 0) {
            error_ = std::make_unique<py::error_already_set>();
            return true;
        }
        return false;
    }
    py::object on_epoch_;
    xt::xtensor<T, 1> last_;
    std::vector<EpochRecord> history_;
    std::unique_ptr<py::error_already_set> error_;
    bool stopped_by_hook_ = false;
    std::chrono::steady_clock::time_point last_check_ = std::chrono::steady_clock::now();
};

// A numpy array of the given dtype and shape that owns `bytes` (moved, not copied).
py::array owning_array(std::vector<unsigned char>&& bytes, py::dtype dtype, const std::vector<std::size_t>& shape) {
    auto* owner = new std::vector<unsigned char>(std::move(bytes));
    py::capsule free_when_done(owner, [](void* p) { delete static_cast<std::vector<unsigned char>*>(p); });
    std::vector<py::ssize_t> sh(shape.begin(), shape.end());
    return py::array(dtype, sh, owner->data(), free_when_done);
}

py::dtype numpy_dtype(DType t) {
    switch (t) {
        case DType::u8: return py::dtype::of<std::uint8_t>();
        case DType::i8: return py::dtype::of<std::int8_t>();
        case DType::i16: return py::dtype::of<std::int16_t>();
        case DType::i32: return py::dtype::of<std::int32_t>();
        case DType::i64: return py::dtype::of<std::int64_t>();
        case DType::f32: return py::dtype::of<float>();
        case DType::f64: return py::dtype::of<double>();
    }
    return py::dtype::of<double>();
}

py::array to_numpy(RawTensor&& t) {
    const py::dtype dt = numpy_dtype(t.dtype);
    return owning_array(std::move(t.bytes), dt, t.shape);
}

// A C-contiguous float32/float64 array (the Python side converts anything
// else, naming the argument): its DType, or an error naming `name`.
// Whether `a` holds T in native byte order: compared as numpy compares
// dtypes (an unpickled array's descriptor is equal, not the same object).
template <class T>
bool holds(const py::array& a) {
    const py::dtype d = a.dtype();
    return d.num() == py::dtype::of<T>().num() && d.attr("isnative").cast<bool>();
}

DType array_dtype(const py::array& a, const std::string& name) {
    if (holds<float>(a)) return DType::f32;
    if (holds<double>(a)) return DType::f64;
    throw py::type_error(name + ": expected float32 or float64, got " + py::str(a.dtype()).cast<std::string>());
}

// The element type of an array a fit reads in place: the types the data
// layer reads from files (uint8 is scaled by 1/255 unless data.scale says
// otherwise, as for an IDX or .npy file).
DType fit_dtype(const py::array& a, const std::string& name) {
    if (holds<std::uint8_t>(a)) return DType::u8;
    if (holds<std::int8_t>(a)) return DType::i8;
    if (holds<std::int16_t>(a)) return DType::i16;
    if (holds<std::int32_t>(a)) return DType::i32;
    if (holds<std::int64_t>(a)) return DType::i64;
    return array_dtype(a, name);
}

std::vector<std::size_t> array_shape(const py::array& a) {
    return std::vector<std::size_t>(a.shape(), a.shape() + a.ndim());
}

void check_matrix(const py::array& a, const std::string& name) {
    if (a.ndim() != 2)
        throw py::value_error(name + ": expected a 2-d array (samples × features), got " + std::to_string(a.ndim()) +
                              "-d");
    if (!(a.flags() & py::array::c_style)) throw py::value_error(name + ": expected a C-contiguous array");
}

// Labels as the data layer reads them from a file (one value per row).
RawTensor labels_tensor(const py::array& y) {
    const py::array_t<double, py::array::c_style | py::array::forcecast> v(y);
    return make_raw<double>(v.data(), {static_cast<std::size_t>(v.size())});
}

// The config: a YAML file (or the defaults) with "key=value" overrides, as
// `train --config FILE --set k=v` reads it, with the same inference of the
// data's format and absolute paths as the CLI.
Config make_config(const std::string& path, const std::vector<std::string>& overrides) {
    Config cfg;
    if (!path.empty()) {
        cfg = load_config(path, overrides);
    } else {
        for (const auto& o : overrides) apply_override(cfg, o);
        validate(cfg);
    }
    if (cfg.data.source == "mnist" && !cfg.data.path.empty() && !is_directory(cfg.data.path))
        cfg.data.source = file_format(cfg.data.path);
    // Absolute, so that a fitted model finds its data from any directory.
    for (std::string* p : {&cfg.data.path, &cfg.data.labels, &cfg.data.test_path, &cfg.data.test_labels})
        if (!p->empty() && fs::path(*p).is_relative()) *p = fs::absolute(*p).lexically_normal().string();
    return cfg;
}

// The run's threads, as the CLI chooses them (train.threads, at most the
// cores), for the guard's lifetime; then the count the call found: numpy in
// the same process shares this OpenBLAS.
class ThreadsGuard {
public:
    explicit ThreadsGuard(const Config& cfg) : previous_(blas::threads()) {
        const long cores = static_cast<long>(std::max(1u, std::thread::hardware_concurrency()));
        blas::set_threads(static_cast<int>(std::min<long>(cfg.train.threads, cores)));
    }
    ThreadsGuard(const ThreadsGuard&) = delete;
    ThreadsGuard& operator=(const ThreadsGuard&) = delete;
    ~ThreadsGuard() { blas::set_threads(previous_); }

private:
    int previous_;
};

template <class T>
py::dict fit_typed(const Config& cfg, const py::object& X, const py::object& y, const py::object& on_epoch,
                   bool verbose) {
    auto log = make_logger(verbose);
    if (cfg.model.is_gplvm() && cfg.data.test_fraction > 0)
        throw ConfigError("data.test_fraction must be 0 for model.type " + cfg.model.type +
                          " (it models every point it is given)");
    // The arrays' buffers, read without the GIL; the arrays stay referenced here.
    const bool has_X = !X.is_none();
    py::array Xa;
    RawTensor labels;
    DType xdtype = DType::f64;
    std::vector<std::size_t> xshape;
    if (has_X) {
        Xa = X.cast<py::array>();
        check_matrix(Xa, "X");
        xdtype = fit_dtype(Xa, "X");
        xshape = array_shape(Xa);
        if (!y.is_none()) labels = labels_tensor(y.cast<py::array>());
    }
    const bool has_labels = !y.is_none();

    PythonHooks<T> hooks(on_epoch);
    py::dict out;
    JsonObject summary;
    std::unique_ptr<Model<T>> model;
    std::unique_ptr<Dataset<T>> data;
    TrainResult result;
    {
        py::gil_scoped_release nogil;
        const ThreadsGuard threads_guard(cfg);
        const auto seed = static_cast<std::uint64_t>(cfg.seed);
        // 1. The data, as the CLI prepares them: one seeded shuffle, limit,
        //    split, scale, centre. From an array: read in place, copied once.
        if (has_X) {
            data = std::make_unique<Dataset<T>>(make_dataset<T>(Xa.data(), xdtype, xshape,
                                                                has_labels ? &labels : nullptr, cfg.data, seed, "X"));
            labels = RawTensor{};
        } else {
            data = std::make_unique<Dataset<T>>(load_data<T>(cfg.data, seed));
        }
        model = make_model<T>(cfg.model, data->dim(), data->n_train);
        auto optimizer = make_optimizer<T>(cfg.optim, model->num_params());
        model->on_warning = [log](const std::string& msg) { log->warn("{}", msg); };
        auto report = cli::make_report<T>(cfg);
        report->check(cfg, *data, *model);
        std::mt19937_64 rng(seed);
        model->init_from_data(data->train(), rng);
        log->info("data: {} | {} train + {} test samples of dimension {}{}{}", data->description, data->n_train,
                  data->n_test, data->dim(), cfg.data.center ? ", centred" : "", data->has_labels() ? ", labelled" : "");

        // 2. The loop with the CLI's metrics, progress when verbose, and the hooks.
        TrainerOptions topt;
        topt.schedule = make_schedule(cfg.optim);
        topt.epochs = run_length(cfg);
        topt.batch_size = static_cast<std::size_t>(cfg.train.batch_size);
        topt.seed = seed;
        Trainer<T> trainer(*model, *optimizer, *data, topt);
        for (auto* m : report->metrics()) trainer.add_callback(m);
        ProgressCallback<T> progress(log, cfg.train.log_every, report->optimum());
        if (verbose) trainer.add_callback(&progress);
        trainer.add_callback(&hooks);
        try {
            result = trainer.run();
        } catch (...) {
            hooks.release_error();
            throw;
        }
        if (result.partial_epoch) model->params() = hooks.last_complete();

        // 3. The summary the CLI writes (report files, if any, into a scratch directory).
        summary.set("model", model->name()).set("dtype", cfg.model.dtype).set("optimizer", cfg.optim.type);
        summary.set("n_train", data->n_train).set("n_test", data->n_test).set("dim", data->dim());
        summary.set("seed", cfg.seed).set("data_scale", data->scale);
        summary.set("converged", result.converged).set("stop_reason", result.stop_reason);
        summary.set("epochs", result.epochs_done).set("steps", result.steps).set("seconds", result.seconds);
        const EpochRecord last = result.history.empty() ? EpochRecord{} : result.history.back();
        summary.set("final_test_loss", last.test_loss);
        if (!hooks.stopped_by_hook() && !result.partial_epoch && !result.stopped_by_callback) {
            const fs::path scratch = fs::temp_directory_path() /
                                     ("latentlab-py-" + std::to_string(::getpid()) + "-" +
                                      std::to_string(reinterpret_cast<std::uintptr_t>(&hooks)));
            fs::create_directories(scratch);
            cli::Table table;
            try {
                report->finish(cfg, *data, *model, result, scratch.string(), *log, summary, table);
            } catch (...) {
                std::error_code ec;
                fs::remove_all(scratch, ec);
                throw;
            }
            std::error_code ec;
            fs::remove_all(scratch, ec);
        }
        if (!summary.has("final_loss")) summary.set("final_loss", last.train_loss);
    }
    hooks.rethrow();  // Ctrl-C (KeyboardInterrupt) or the hook's own exception

    py::dict params;
    for (const auto& b : model->blocks()) {
        RawTensor t = make_raw<T>(model->params().data() + b.offset, b.shape);
        params[py::str(b.name)] = to_numpy(std::move(t));
    }
    py::list history;
    for (const auto& r : hooks.history()) history.append(record_dict(r));
    out["params"] = params;
    out["history"] = history;
    out["summary"] = summary.dump();
    out["config"] = to_yaml(cfg);
    out["rows"] = to_numpy(make_raw<std::int64_t>(data->rows.data(), {data->rows.size()}));
    if (!data->mean.empty()) out["mean"] = to_numpy(make_raw<double>(data->mean.data(), {data->mean.size()}));
    out["scale"] = data->scale;
    out["n_train"] = data->n_train;
    out["n_test"] = data->n_test;
    out["stopped"] = hooks.stopped_by_hook();
    return out;
}

py::dict fit(const std::string& config_path, const std::vector<std::string>& overrides, const py::object& X,
             const py::object& y, const py::object& on_epoch, bool verbose) {
    const Config cfg = make_config(config_path, overrides);
    if (cfg.model.dtype == "float64") return fit_typed<double>(cfg, X, y, on_epoch, verbose);
    return fit_typed<float>(cfg, X, y, on_epoch, verbose);
}

// Rows to apply a model to, prepared as the training rows were (times
// `scale`, minus `mean`): the array itself when it is already in the model's
// precision and needs nothing done (no copy), else one converted copy.
template <class T>
struct PreparedRows {
    std::vector<T> copy;
    std::vector<double> sqnorms;
    MatrixView<T> view;
};

template <class T>
void prepare_rows(const py::array& X, double scale, const py::object& mean, PreparedRows<T>& p) {
    const std::size_t N = static_cast<std::size_t>(X.shape(0)), D = static_cast<std::size_t>(X.shape(1));
    std::vector<double> mu;
    if (!mean.is_none()) {
        const auto m = mean.cast<py::array_t<double, py::array::c_style | py::array::forcecast>>();
        if (static_cast<std::size_t>(m.size()) != D)
            throw py::value_error("X: " + std::to_string(D) + " columns, the model was trained on " +
                                  std::to_string(m.size()));
        mu.assign(m.data(), m.data() + D);
    }
    const DType dt = array_dtype(X, "X");
    const bool in_place = mu.empty() && scale == 1.0 && dt == (std::is_same_v<T, float> ? DType::f32 : DType::f64);
    const T* data = nullptr;
    if (in_place) {
        data = static_cast<const T*>(X.data());
    } else {
        p.copy.resize(N * D);
        for (std::size_t i = 0; i < N; ++i)
            for (std::size_t j = 0; j < D; ++j) {
                const double v = dt == DType::f32 ? static_cast<const float*>(X.data())[i * D + j]
                                                  : static_cast<const double*>(X.data())[i * D + j];
                p.copy[i * D + j] = static_cast<T>(v * scale - (mu.empty() ? 0.0 : mu[j]));
            }
        data = p.copy.data();
    }
    p.sqnorms.resize(N);
    for (std::size_t i = 0; i < N; ++i) p.sqnorms[i] = blas::sqnorm<T>(D, data + i * D);
    p.view.data = data;
    p.view.rows = N;
    p.view.cols = D;
    p.view.sqnorms = p.sqnorms.data();
}

template <class T>
void set_parameters(Model<T>& model, const py::dict& params) {
    for (const auto& b : model.blocks()) {
        if (!params.contains(b.name)) throw py::value_error("parameters: no block '" + b.name + "'");
        const auto a = params[py::str(b.name)].cast<py::array_t<double, py::array::c_style | py::array::forcecast>>();
        if (std::vector<std::size_t>(a.shape(), a.shape() + a.ndim()) != b.shape)
            throw py::value_error("parameters: block '" + b.name + "' has the wrong shape for this config");
        for (std::size_t i = 0; i < b.size(); ++i) model.params()(b.offset + i) = static_cast<T>(a.data()[i]);
    }
}

// The training rows of a GPLVM, in training order: drawn again from the
// training array (as fit drew them) or from the config's data (a run).
template <class T>
Dataset<T> training_rows(const Config& cfg, const py::object& train_X) {
    const auto seed = static_cast<std::uint64_t>(cfg.seed);
    if (train_X.is_none()) return load_data<T>(cfg.data, seed);
    const py::array a = train_X.cast<py::array>();
    check_matrix(a, "training X");
    return make_dataset<T>(a.data(), fit_dtype(a, "training X"), array_shape(a), nullptr, cfg.data, seed, "X");
}

template <class T>
py::dict apply_typed(const Config& cfg, const py::dict& params, const py::array& X, double scale,
                     const py::object& mean, const py::object& train_X) {
    check_matrix(X, "X");
    PreparedRows<T> rows;
    prepare_rows<T>(X, scale, mean, rows);
    std::vector<typename Model<T>::Output> outputs;
    std::unique_ptr<Model<T>> model;
    if (cfg.model.is_gplvm()) {
        const Dataset<T> train = training_rows<T>(cfg, train_X);
        if (train.dim() != rows.view.cols)
            throw py::value_error("X: " + std::to_string(rows.view.cols) + " columns, the model was trained on " +
                                  std::to_string(train.dim()));
        model = make_model<T>(cfg.model, train.dim(), train.n_train);
        set_parameters(*model, params);
        py::gil_scoped_release nogil;
        const ThreadsGuard threads_guard(cfg);
        if (auto* gp = dynamic_cast<Gplvm<T>*>(model.get())) {
            if (gp->kernel_params().type != KernelType::linear) gp->loss(train.train());  // the jitter training needed
            const GplvmProjection p = project(*gp, train.train(), rows.view);
            outputs.push_back({"latent", make_raw<double>(p.latent.data(), {p.latent.shape()[0], p.latent.shape()[1]})});
            outputs.push_back({"log_likelihood", make_raw<double>(p.log_likelihood.data(), {p.log_likelihood.size()})});
        } else {
            auto& bg = dynamic_cast<BayesianGplvm<T>&>(*model);
            const BayesianGplvmProjection p = project(bg, train.train(), rows.view);
            const std::size_t R = p.mean.shape()[0], q = p.mean.shape()[1];
            outputs.push_back({"X_mean", make_raw<double>(p.mean.data(), {R, q})});
            outputs.push_back({"X_var", make_raw<double>(p.variance.data(), {R, q})});
            outputs.push_back({"elbo", make_raw<double>(p.elbo.data(), {R})});
        }
    } else {
        model = make_model<T>(cfg.model, rows.view.cols, std::max<std::size_t>(rows.view.rows, 1));
        set_parameters(*model, params);
        py::gil_scoped_release nogil;
        const ThreadsGuard threads_guard(cfg);
        outputs = model->apply(rows.view);
    }
    py::dict out;
    for (auto& o : outputs) out[py::str(o.name)] = to_numpy(std::move(o.values));
    return out;
}

py::dict apply(const std::string& config_yaml, const py::dict& params, const py::array& X, double scale,
               const py::object& mean, const py::object& train_X) {
    const Config cfg = parse_config(config_yaml, "the estimator's config");
    if (cfg.model.dtype == "float64") return apply_typed<double>(cfg, params, X, scale, mean, train_X);
    return apply_typed<float>(cfg, params, X, scale, mean, train_X);
}

// The rows a config's data.* keys describe, prepared as a run prepares them
// (shuffled by the seed, limited, scaled, centred): X (train rows, then test
// rows; the Dataset's own buffer, handed over without a copy), the labels or
// None, and the number of training rows.
template <class T>
py::tuple load_rows(const Config& cfg) {
    auto data = std::make_unique<Dataset<T>>();
    {
        py::gil_scoped_release nogil;
        *data = load_data<T>(cfg.data, static_cast<std::uint64_t>(cfg.seed));
    }
    py::object labels = py::none();
    if (data->has_labels()) labels = to_numpy(make_raw<std::int32_t>(data->labels.data(), {data->labels.size()}));
    const std::size_t n_train = data->n_train;
    auto* X = new xt::xtensor<T, 2>(std::move(data->X));
    py::capsule owner(X, [](void* p) { delete static_cast<xt::xtensor<T, 2>*>(p); });
    const std::vector<py::ssize_t> shape{static_cast<py::ssize_t>(X->shape()[0]), static_cast<py::ssize_t>(X->shape()[1])};
    return py::make_tuple(py::array_t<T>(shape, X->data(), owner), labels, n_train);
}

py::tuple load_rows_py(const std::string& config_path, const std::vector<std::string>& overrides) {
    const Config cfg = make_config(config_path, overrides);
    if (cfg.model.dtype == "float64") return load_rows<double>(cfg);
    return load_rows<float>(cfg);
}

}  // namespace

PYBIND11_MODULE(_latentlab, m) {
    m.doc() = "LatentLab's C++ library: fit a config on numpy arrays, apply a fitted model (python/latentlab)";
    // The library's errors keep their one-line message; each is also the
    // Python exception a user would catch (ValueError, FloatingPointError).
    static py::exception<Error> error(m, "Error", PyExc_RuntimeError);
    static py::exception<ConfigError> config_error(m, "ConfigError", PyExc_ValueError);
    static py::exception<DataError> data_error(m, "DataError", PyExc_ValueError);
    static py::exception<NumericalError> numerical_error(m, "NumericalError", PyExc_FloatingPointError);
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const OptionError& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        } catch (const ConfigError& e) {
            PyErr_SetString(config_error.ptr(), e.what());
        } catch (const DataError& e) {
            PyErr_SetString(data_error.ptr(), e.what());
        } catch (const NumericalError& e) {
            PyErr_SetString(numerical_error.ptr(), e.what());
        } catch (const Error& e) {
            PyErr_SetString(error.ptr(), e.what());
        }
    });
    m.def("fit", &fit, py::arg("config_path"), py::arg("overrides"), py::arg("X"), py::arg("y"),
          py::arg("on_epoch"), py::arg("verbose"),
          "Trains the config (a YAML file or \"\" for the defaults, with key=value overrides) on X (and labels y), "
          "or on the config's own data when X is None. Returns params, history, summary (JSON), config (YAML), "
          "rows, mean, scale.");
    m.def("apply", &apply, py::arg("config_yaml"), py::arg("params"), py::arg("X"), py::arg("scale"),
          py::arg("mean"), py::arg("train_X"),
          "The fitted model (resolved config YAML and parameter blocks) applied to new rows X.");
    m.def("load_data", &load_rows_py, py::arg("config_path"), py::arg("overrides"),
          "The rows of the config's data.* keys as a run prepares them: (X, labels or None, n_train).");
    m.def("resolve_config", [](const std::string& path, const std::vector<std::string>& overrides) {
        return to_yaml(make_config(path, overrides));
    }, py::arg("path"), py::arg("overrides"), "The resolved config as YAML (every key), as a run writes it.");
    m.def("config_keys", &config_keys, "Every config key, in table order.");
    m.def("describe_keys", &describe_keys, "One line per key: name, type, default, allowed values, help.");
}
