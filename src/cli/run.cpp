#include "run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "latentlab/analysis/pca.hpp"
#include "latentlab/analysis/principal_angles.hpp"
#include "latentlab/config/config.hpp"
#include "latentlab/data/dataset.hpp"
#include "latentlab/data/npy.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/models/linear_autoencoder.hpp"
#include "latentlab/models/make_model.hpp"
#include "latentlab/optim/optimizer.hpp"
#include "latentlab/train/callbacks.hpp"
#include "latentlab/train/checkpoint.hpp"
#include "latentlab/train/trainer.hpp"
#include "latentlab/util/error.hpp"
#include "latentlab/util/files.hpp"
#include "latentlab/util/json.hpp"

namespace latentlab::cli {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

std::shared_ptr<spdlog::logger> make_logger(bool quiet) {
    auto console = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    console->set_level(quiet ? spdlog::level::warn : spdlog::level::info);
    console->set_pattern("[%H:%M:%S] %v");
    auto log = std::make_shared<spdlog::logger>("train", console);
    log->set_level(spdlog::level::info);
    log->flush_on(spdlog::level::info);
    return log;
}

void add_file_sink(spdlog::logger& log, const std::string& path) {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
    file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
    log.sinks().push_back(file);
}

double median(std::vector<double> v) {
    if (v.empty()) return std::nan("");
    std::sort(v.begin(), v.end());
    const std::size_t k = v.size() / 2;
    return v.size() % 2 ? v[k] : 0.5 * (v[k - 1] + v[k]);
}

// The run directory and the config, from --config/--out or --resume.
struct RunSetup {
    Config cfg;
    std::string dir;
    bool resume = false;
};

RunSetup prepare(const RunOptions& opt) {
    RunSetup s;
    if (!opt.resume_dir.empty()) {
        s.dir = opt.resume_dir;
        s.resume = true;
        if (!is_directory(s.dir)) throw DataError(s.dir + ": no such run directory");
        if (!file_exists(s.dir + "/checkpoint.bin") || !file_exists(s.dir + "/config.yaml"))
            throw DataError(s.dir + ": not a run directory (no checkpoint.bin and config.yaml to resume)");
        s.cfg = load_config(s.dir + "/config.yaml", opt.overrides);
        return s;
    }
    s.cfg = load_config(opt.config_path, opt.overrides);
    if (!opt.out_dir.empty()) s.dir = opt.out_dir;
    else if (!s.cfg.output.dir.empty()) s.dir = s.cfg.output.dir;
    else s.dir = "runs/" + fs::path(opt.config_path).stem().string();
    s.cfg.output.dir = s.dir;
    for (const char* f : {"checkpoint.bin", "summary.json", "metrics.csv"})
        if (file_exists(s.dir + "/" + f) && !opt.force)
            throw ConfigError(s.dir + ": already holds a run; continue it with --resume " + s.dir +
                              ", overwrite it with --force, or choose --out DIR");
    return s;
}

// What the linear-AE analysis knows before training starts.
struct AeReference {
    xt::xtensor<double, 2> C;
    Pca pca;
    double optimum = 0;
    std::size_t n = 0, m = 0, samples = 0;
};

void print_table(const std::vector<std::pair<std::string, std::string>>& rows) {
    std::printf("\n");
    for (const auto& [k, v] : rows) std::printf("  %-28s %s\n", k.c_str(), v.c_str());
    std::printf("\n");
}

std::string fmt(double v, const char* f = "%.8g") {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

template <class T>
int run_typed(const RunSetup& setup, const RunOptions& opt, std::shared_ptr<spdlog::logger> log) {
    const Config& cfg = setup.cfg;
    const auto t0 = Clock::now();
    blas::set_threads(static_cast<int>(cfg.train.threads));
    const int threads = blas::threads();

    // 1. Data and model: errors here leave the run directory untouched.
    Dataset<T> data = load_dataset<T>(cfg.data, static_cast<std::uint64_t>(cfg.seed));
    auto model = make_model<T>(cfg.model, data.dim());
    auto optimizer = make_optimizer<T>(cfg.optim, model->num_params());

    // 2. The run directory.
    make_directories(setup.dir);
    if (!setup.resume && opt.force)
        for (const char* f : {"checkpoint.bin", "summary.json", "metrics.csv", "train.log"})
            fs::remove(setup.dir + "/" + f);
    write_file_atomic(setup.dir + "/config.yaml", to_yaml(cfg));
    add_file_sink(*log, setup.dir + "/train.log");
    log->info("LatentLab {} run in {}", setup.resume ? "resumed" : "new", setup.dir);
    log->info("data: {} | {} train + {} test samples of dimension {}{}{}", data.description,
              data.n_train, data.n_test, data.dim(), cfg.data.center ? ", centred" : "",
              data.has_labels() ? ", labelled" : "");
    log->info("model: {} m={} ({} parameters, {}) | optimiser {} lr {} ({}) | batch {} | {} epochs | "
              "seed {} | {} BLAS threads",
              model->name(), cfg.model.latent_dim, model->num_params(), cfg.model.dtype, cfg.optim.type,
              cfg.optim.lr, cfg.optim.schedule, cfg.train.batch_size, cfg.train.epochs, cfg.seed, threads);

    // 3. The exact reference of the linear AE: PCA of the data as fed.
    const bool is_ae = cfg.model.type == "linear_autoencoder";
    AeReference ref;
    TrainerOptions<T> topt;
    topt.optim = cfg.optim;
    topt.epochs = cfg.train.epochs;
    topt.batch_size = static_cast<std::size_t>(cfg.train.batch_size);
    topt.seed = static_cast<std::uint64_t>(cfg.seed);
    if (is_ae) {
        const auto tp = Clock::now();
        ref.n = data.dim();
        ref.m = static_cast<std::size_t>(cfg.model.latent_dim);
        ref.samples = data.n_train;
        ref.C = second_moment(data.train());
        ref.pca = pca_from_second_moment(ref.C);
        ref.optimum = optimal_ae_loss(ref.pca, ref.m, ref.samples);
        log->info("PCA (LAPACK dsyevd, {}x{} second moment): optimal loss L* = {:.8f} ({:.2f}s)",
                  ref.n, ref.n, ref.optimum, std::chrono::duration<double>(Clock::now() - tp).count());
        auto top = xt::xtensor<double, 2>::from_shape({ref.m, ref.n});
        std::copy_n(ref.pca.components.data(), ref.m * ref.n, top.data());
        write_npy(setup.dir + "/pca_components.npy", make_raw<double>(top.data(), {ref.m, ref.n}));
        write_npy(setup.dir + "/pca_eigenvalues.npy",
                  make_raw<double>(ref.pca.eigenvalues.data(), {ref.n}));
        // Exact full-data loss and gradient from C in O(m n²): free each epoch.
        topt.train_eval = [&ref](const Model<T>& mdl) {
            const auto e = ae_full_eval<T>(mdl.params().data(), ref.m, ref.n, ref.C, ref.samples);
            return Evaluation{e.loss, e.grad_norm};
        };
    }

    // 4. Initial state: fresh or from the checkpoint.
    StartPoint start;
    if (setup.resume) {
        start = load_checkpoint<T>(setup.dir + "/checkpoint.bin", *model, *optimizer);
        log->info("resuming after epoch {} (step {})", start.epoch, start.step);
    } else {
        std::mt19937_64 rng(static_cast<std::uint64_t>(cfg.seed));
        model->init(rng);
    }

    Trainer<T> trainer(*model, *optimizer, data, topt);
    ProgressCallback<T> progress(log, cfg.train.log_every, is_ae ? ref.optimum : 0.0);
    MetricsCsvCallback<T> metrics(setup.dir + "/metrics.csv", start.epoch);
    CheckpointCallback<T> checkpoint(setup.dir, cfg.train.checkpoint);
    trainer.add_callback(&progress);
    trainer.add_callback(&metrics);
    trainer.add_callback(&checkpoint);
    StopAfterEpoch<T> stop_after(opt.stop_after);
    if (opt.stop_after > 0) trainer.add_callback(&stop_after);

    JsonObject summary;
    summary.set("model", model->name()).set("dtype", cfg.model.dtype).set("optimizer", cfg.optim.type);
    summary.set("n_train", data.n_train).set("n_test", data.n_test).set("dim", data.dim());
    summary.set("seed", cfg.seed).set("threads", threads);

    TrainResult result;
    try {
        result = trainer.run(start);
    } catch (const NumericalError& e) {
        // Keep what is good: the last good parameters and a summary saying why.
        save_params_npy(setup.dir, *model);
        summary.set("status", "diverged").set("error", e.what());
        write_file_atomic(setup.dir + "/summary.json", summary.dump());
        log->error("{}", e.what());
        throw;
    }
    save_params_npy(setup.dir, *model);

    const EpochRecord last = result.history.empty() ? EpochRecord{} : result.history.back();
    summary.set("status", result.stopped_by_callback ? "stopped" : "finished");
    summary.set("epochs", result.epochs_done).set("steps", result.steps);
    summary.set("seconds", result.seconds);
    summary.set("train_seconds_per_epoch", median(result.epoch_seconds));
    summary.set("final_test_loss", last.test_loss);
    std::vector<std::pair<std::string, std::string>> table;

    if (is_ae) {
        const auto W = xt::xtensor<double, 2>(xt::adapt(model->params().data(), model->num_params(),
                                                        xt::no_ownership(), std::vector<std::size_t>{ref.m, ref.n}));
        const auto eval = ae_full_eval<double>(W.data(), ref.m, ref.n, ref.C, ref.samples);
        auto top = xt::xtensor<double, 2>::from_shape({ref.m, ref.n});
        std::copy_n(ref.pca.components.data(), ref.m * ref.n, top.data());
        const auto angles = principal_angles_deg(W, top);
        double sum = 0, mx = 0;
        for (double a : angles) { sum += a; mx = std::max(mx, a); }
        double pca_var = 0, total = 0;
        for (std::size_t j = 0; j < ref.n; ++j) {
            total += ref.pca.eigenvalues(j);
            if (j < ref.m) pca_var += ref.pca.eigenvalues(j);
        }
        const double ratio = eval.loss / ref.optimum;
        summary.set("final_loss", eval.loss).set("optimal_loss", ref.optimum).set("loss_ratio", ratio);
        summary.set("final_grad_norm", eval.grad_norm);
        summary.set("principal_angles_deg", angles);
        summary.set("max_principal_angle_deg", mx).set("mean_principal_angle_deg", sum / angles.size());
        summary.set("orthonormality_error", orthonormality_error(W));
        summary.set("variance_captured", variance_captured(W, ref.C));
        summary.set("pca_variance_captured", pca_var / total);
        table = {{"final loss (train mean)", fmt(eval.loss)},
                 {"optimal loss L* (PCA)", fmt(ref.optimum)},
                 {"loss ratio L/L*", fmt(ratio, "%.6f")},
                 {"max principal angle", fmt(mx, "%.4f deg")},
                 {"mean principal angle", fmt(sum / angles.size(), "%.4f deg")},
                 {"||W W^T - I||_F", fmt(orthonormality_error(W), "%.3e")},
                 {"variance captured (W / PCA)",
                  fmt(variance_captured(W, ref.C), "%.6f") + " / " + fmt(pca_var / total, "%.6f")}};
    } else {
        summary.set("final_loss", last.train_loss);
        table = {{"final loss (train mean)", fmt(last.train_loss)}};
    }
    if (!std::isnan(last.test_loss)) table.push_back({"test loss", fmt(last.test_loss)});
    table.push_back({"epochs", std::to_string(result.epochs_done)});
    table.push_back({"seconds (whole run)", fmt(result.seconds, "%.2f")});
    table.push_back({"seconds per epoch (steps)", fmt(median(result.epoch_seconds), "%.3f")});
    summary.set("wall_seconds_this_session", std::chrono::duration<double>(Clock::now() - t0).count());
    write_file_atomic(setup.dir + "/summary.json", summary.dump());
    if (result.stopped_by_callback)
        log->info("stopped after epoch {}: continue with  train --resume {}", result.epochs_done, setup.dir);
    log->info("summary in {}/summary.json", setup.dir);
    if (!opt.quiet) print_table(table);
    return 0;
}

}  // namespace

int run(const RunOptions& opt) {
    auto log = make_logger(opt.quiet);
    const RunSetup setup = prepare(opt);
    if (setup.cfg.model.dtype == "float64") return run_typed<double>(setup, opt, log);
    return run_typed<float>(setup, opt, log);
}

}  // namespace latentlab::cli
