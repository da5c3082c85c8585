#include "run.hpp"
#include "report.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <cerrno>
#include <csignal>
#include <sys/types.h>
#include <type_traits>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "latentlab/analysis/gradcheck.hpp"
#include "latentlab/config/build.hpp"
#include "latentlab/config/config.hpp"
#include "latentlab/core/format.hpp"
#include "latentlab/data/dataset.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/train/callbacks.hpp"
#include "latentlab/train/checkpoint.hpp"
#include "latentlab/train/trainer.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/files.hpp"
#include "latentlab/core/json.hpp"

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

// Temporaries of writes that a killed process never renamed (NAME.tmp.PID,
// PID no longer running): complete files are never among them.
void remove_stale_temporaries(const std::string& dir) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        const auto pos = name.rfind(".tmp.");
        if (pos == std::string::npos) continue;
        const long pid = std::strtol(name.c_str() + pos + 5, nullptr, 10);
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove(e.path(), ec);
    }
}

RunSetup prepare(const RunOptions& opt) {
    RunSetup s;
    if (!opt.resume_dir.empty()) {
        s.dir = opt.resume_dir;
        s.resume = true;
        if (!file_exists(s.dir)) throw DataError(s.dir + ": no such run directory");
        if (!is_directory(s.dir)) throw DataError(s.dir + ": not a directory (--resume takes a run directory)");
        if (!file_exists(s.dir + "/checkpoint.bin") || !file_exists(s.dir + "/config.yaml"))
            throw DataError(s.dir + ": not a run directory (no checkpoint.bin and config.yaml to resume)");
        remove_stale_temporaries(s.dir);
        s.cfg = load_config(s.dir + "/config.yaml", opt.overrides);
        return s;
    }
    s.cfg = load_config(opt.config_path, opt.overrides);
    if (!opt.out_dir.empty()) s.dir = opt.out_dir;
    else if (!s.cfg.output.dir.empty()) s.dir = s.cfg.output.dir;
    else s.dir = "runs/" + fs::path(opt.config_path).stem().string();
    s.cfg.output.dir = s.dir;
    if (!opt.force) {
        const bool resumable = file_exists(s.dir + "/checkpoint.bin");
        for (const char* f : {"checkpoint.bin", "summary.json", "metrics.csv"})
            if (file_exists(s.dir + "/" + f))
                throw ConfigError(s.dir + ": already holds a run; " +
                                  (resumable ? "continue it with --resume " + s.dir + ", " : std::string()) +
                                  "overwrite it with --force, or choose --out DIR");
    }
    return s;
}

void print_table(const Table& rows) {
    std::printf("\n");
    for (const auto& [k, v] : rows) std::printf("  %-28s %s\n", k.c_str(), v.c_str());
    std::printf("\n");
}

// --gradcheck: the model at its initial parameters, on the first rows of the
// training data (all rows for a full-batch model), float through a double twin.
template <class T>
int gradient_check(const Config& cfg, const Dataset<T>& data, Model<T>& model) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(cfg.seed));
    model.init_from_data(data.train(), rng);
    GradCheckOptions o;
    o.seed = static_cast<std::uint64_t>(cfg.seed);
    if (!model.separable()) o.max_coords = 50;  // each difference costs a full evaluation
    GradCheckReport r;
    if constexpr (std::is_same_v<T, double>) {
        r = gradcheck(model, data.train(), o);
    } else {
        auto twin = make_model<double>(cfg.model, data.dim(), data.n_train);
        r = gradcheck(model, *twin, data.train(), o);
    }
    std::fputs(format_gradcheck(r).c_str(), stdout);
    std::printf("%s\n", r.pass() ? "gradient check passed" : "gradient check FAILED");
    return r.pass() ? 0 : 3;
}

template <class T>
int run_typed(const RunSetup& setup, const RunOptions& opt, std::shared_ptr<spdlog::logger> log) {
    const Config& cfg = setup.cfg;
    const auto t0 = Clock::now();
    blas::set_threads(static_cast<int>(cfg.train.threads));
    const int threads = blas::threads();
    if (cfg.model.type == "gplvm" && cfg.data.test_fraction > 0)
        throw ConfigError("data.test_fraction must be 0 for model.type gplvm (it models every point it is given)");

    // 1. Data, model and (on --resume) the checkpoint: errors here leave the
    //    run directory untouched.
    Dataset<T> data = load_data<T>(cfg.data, static_cast<std::uint64_t>(cfg.seed));
    auto model = make_model<T>(cfg.model, data.dim(), data.n_train);
    auto optimizer = make_optimizer<T>(cfg.optim, model->num_params());
    const bool full_batch = optimizer->line_search();  // iterations, not epochs
    model->on_warning = [log](const std::string& msg) { log->warn("{}", msg); };
    if (!model->separable() && !full_batch)
        log->info("{} is a full-batch model: every {} step uses all {} samples", model->name(), cfg.optim.type,
                  data.n_train);
    auto report = make_report<T>(cfg);
    if (opt.gradcheck) return gradient_check<T>(cfg, data, *model);
    // Verified and read before anything is written: a damaged checkpoint
    // leaves the run directory byte for byte as it was.
    StartPoint start;
    if (setup.resume) start = load_checkpoint<T>(setup.dir + "/checkpoint.bin", *model, *optimizer);

    // 2. The run directory.
    make_directories(setup.dir);
    if (!setup.resume && opt.force)
        for (const char* f : {"checkpoint.bin", "summary.json", "metrics.csv", "train.log"})
            fs::remove(setup.dir + "/" + f);
    write_file_atomic(setup.dir + "/config.yaml", to_yaml(cfg));
    add_file_sink(*log, setup.dir + "/train.log");
    log->info("LatentLab {} run in {} (OpenBLAS kernels: {})", setup.resume ? "resumed" : "new", setup.dir,
              blas::kernels());
    log->info("data: {} | {} train + {} test samples of dimension {}{}{}", data.description, data.n_train,
              data.n_test, data.dim(), cfg.data.center ? ", centred" : "", data.has_labels() ? ", labelled" : "");
    if (full_batch)
        log->info("model: {} latent_dim={} ({} parameters, {}) | optimiser lbfgs, at most {} iterations | seed {} | "
                  "{} BLAS threads",
                  model->name(), cfg.model.latent_dim, model->num_params(), cfg.model.dtype,
                  cfg.optim.max_iterations, cfg.seed, threads);
    else
        log->info("model: {} latent_dim={} ({} parameters, {}) | optimiser {} lr {} ({}) | batch {} | {} epochs | "
                  "seed {} | {} BLAS threads",
                  model->name(), cfg.model.latent_dim, model->num_params(), cfg.model.dtype, cfg.optim.type,
                  cfg.optim.lr, cfg.optim.schedule, cfg.train.batch_size, cfg.train.epochs, cfg.seed, threads);

    // 3. Model-specific references (e.g. the PCA optimum of the linear AE).
    report->prepare(cfg, data, *model, setup.dir, *log);

    // 4. Initial state: fresh or from the checkpoint (read in step 1).
    if (setup.resume) {
        log->info("resuming after epoch {} (step {})", start.epoch, start.step);
    } else {
        std::mt19937_64 rng(static_cast<std::uint64_t>(cfg.seed));
        model->init_from_data(data.train(), rng);
    }

    TrainerOptions topt;
    topt.schedule = make_schedule(cfg.optim);
    topt.epochs = run_length(cfg);
    topt.batch_size = static_cast<std::size_t>(cfg.train.batch_size);
    topt.seed = static_cast<std::uint64_t>(cfg.seed);
    Trainer<T> trainer(*model, *optimizer, data, topt);
    for (auto* m : report->metrics()) trainer.add_callback(m);  // first: they fill the records
    ProgressCallback<T> progress(log, cfg.train.log_every, report->optimum());
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
    summary.set("seed", cfg.seed).set("threads", threads).set("blas_kernels", blas::kernels());

    TrainResult result;
    try {
        result = trainer.run(start);
    } catch (const NumericalError& e) {
        // Keep what is good: the last good parameters and a summary saying why.
        std::string msg = e.what();
        if (!full_batch) msg += "; optim.lr " + format_g(cfg.optim.lr) + " may be too large";
        save_params_npy(setup.dir, *model);
        summary.set("status", "diverged").set("error", msg);
        write_file_atomic(setup.dir + "/summary.json", summary.dump());
        log->error("{}", msg);
        throw NumericalError(msg);
    }
    save_params_npy(setup.dir, *model);

    const EpochRecord last = result.history.empty() ? EpochRecord{} : result.history.back();
    summary.set("status", result.stopped_by_callback ? "stopped" : result.converged ? "converged" : "finished");
    summary.set("epochs", result.epochs_done).set("steps", result.steps);
    summary.set("seconds", result.seconds);
    summary.set("train_seconds_per_epoch", median(result.epoch_seconds));
    summary.set("final_test_loss", last.test_loss);
    Table table;
    report->finish(cfg, data, *model, result, setup.dir, *log, summary, table);
    if (!summary.has("final_loss")) {
        summary.set("final_loss", last.train_loss);
        table.insert(table.begin(), {"final loss", format_g(last.train_loss, 8)});
    }
    if (!std::isnan(last.test_loss)) table.push_back({"test loss", format_g(last.test_loss, 8)});
    table.push_back({full_batch ? "iterations" : "epochs", std::to_string(result.epochs_done)});
    table.push_back({"seconds (whole run)", format_fixed(result.seconds, 2)});
    table.push_back({full_batch ? "seconds per iteration" : "seconds per epoch (steps)",
                     format_fixed(median(result.epoch_seconds), 3)});
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
    const std::string origin = setup.resume ? setup.dir + "/config.yaml" : opt.config_path;
    try {
        if (setup.cfg.model.dtype == "float64") return run_typed<double>(setup, opt, log);
        return run_typed<float>(setup, opt, log);
    } catch (const ConfigError& e) {
        // A value that only the data could judge (e.g. latent_dim vs the data's
        // dimension): name the config file it came from.
        const std::string msg = e.what();
        if (msg.rfind(origin, 0) == 0) throw;
        throw ConfigError(origin + ": " + msg);
    }
}

}  // namespace latentlab::cli
