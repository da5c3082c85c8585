#include "run.hpp"
#include "report.hpp"
#include "run_directory.hpp"
#include "interrupt.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>
#include <thread>
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
#include "latentlab/core/communicator.hpp"
#include "latentlab/core/format.hpp"
#include "latentlab/core/median.hpp"
#include "latentlab/data/dataset.hpp"
#include "latentlab/data/sources.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/train/callbacks.hpp"
#include "latentlab/train/checkpoint.hpp"
#include "latentlab/train/metrics.hpp"
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
    // Under several processes rank 0 speaks for the job.
    console->set_level(world().rank() != 0 ? spdlog::level::off
                       : quiet             ? spdlog::level::warn
                                           : spdlog::level::info);
    console->set_pattern("[%H:%M:%S] %v");
    auto log = std::make_shared<spdlog::logger>("train", console);
    log->set_level(spdlog::level::info);
    log->flush_on(spdlog::level::info);
    // train.log is a record, not a result: a failed write of it (a full disk)
    // is not a second error line; the run's own files report the condition.
    log->set_error_handler([](const std::string&) {});
    return log;
}

void add_file_sink(spdlog::logger& log, const std::string& path) {
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, /*truncate=*/false);
    file->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] %v");
    log.sinks().push_back(file);
}

// The run directory and the config, from --config/--out or --resume.
struct RunSetup {
    Config cfg;
    std::string dir;
    bool resume = false;
};

// Keys a --resume may not change: what the data are and how they are split.
// A new seed or data setting would redraw the split (test rows could leak
// into training) and nothing in the checkpoint could tell; a change of model
// or optimiser is refused by the checkpoint itself.
bool fixed_on_resume(const std::string& key) {
    return key == "seed" || key.rfind("data.", 0) == 0 || key.rfind("output.", 0) == 0;
}

// The settings fixed on resume (seed, data.*) as config.yaml states them, one
// "key: value" line each: recorded in manifest.txt when the run starts.
std::vector<std::string> fixed_settings(const Config& cfg) {
    std::istringstream in(to_yaml(cfg));
    std::vector<std::string> out;
    bool in_data = false;
    for (std::string line; std::getline(in, line);) {
        if (line.empty()) continue;
        if (line[0] != ' ') {
            in_data = line == "data:";
            if (line.rfind("seed:", 0) == 0) out.push_back(line);
        } else if (in_data) {
            out.push_back("data." + line.substr(line.find_first_not_of(' ')));
        }
    }
    return out;
}

// A resumed run's config.yaml against the fixed settings its manifest
// recorded: an edited data key or seed would redraw the data under the
// checkpoint, silently (a --set of one is refused in prepare()).
void check_fixed_settings(const std::string& dir, const Config& cfg) {
    const std::vector<std::string> was = read_manifest_fixed(dir);  // {} for a run from before they were recorded
    const std::vector<std::string> now = fixed_settings(cfg);
    auto key_of = [](const std::string& line) { return line.substr(0, line.find(':')); };
    for (const auto& w : was) {
        // Files are named by path: data moved, or a run copied to another
        // machine, gives a new path to the same rows (edit it in config.yaml;
        // the checkpoint and metrics.csv still have to fit the rows).
        const std::string key = key_of(w);
        if (key == "data.path" || key == "data.labels" || key == "data.test_path" || key == "data.test_labels") continue;
        const auto it = std::find_if(now.begin(), now.end(), [&](const std::string& n) { return key_of(n) == key_of(w); });
        if (it != now.end() && *it == w) continue;
        throw ConfigError(dir + "/config.yaml: " + (it == now.end() ? key_of(w) + " is missing" : "'" + *it + "'") +
                          ", but the run started with '" + w + "' (manifest.txt): the file was edited, and " +
                          key_of(w) + " cannot change when resuming (it would redraw the data and their train/test "
                          "split); restore the line, or start a new run with --config");
    }
}

// The history a resumed run continues: metrics.csv's rows for epochs 0 ..
// `epoch`, in order, the last at the checkpoint's `step`. Otherwise the
// checkpoint is not this history's (another run's file) or metrics.csv was
// damaged, and the continued file would mix or skip epochs.
void check_history(const std::string& dir, long epoch, long step) {
    const std::string path = dir + "/metrics.csv";
    if (!file_exists(path))
        throw DataError(path + ": missing; a resumed run continues its history (restore it from a copy, or start "
                               "a new run)");
    std::istringstream in(read_file(path));
    std::string line;
    std::getline(in, line);
    if (line.rfind("epoch,step,", 0) != 0)
        throw DataError(path + ": line 1 is not the header of a run's metrics (epoch,step,...): the file was changed");
    const auto fields = std::count(line.begin(), line.end(), ',');
    long expect = 0, last_step = -1;
    for (long number = 2; std::getline(in, line); ++number) {
        if (line.empty()) continue;
        char* end = nullptr;
        const long e = std::strtol(line.c_str(), &end, 10);
        const long st = *end == ',' ? std::strtol(end + 1, &end, 10) : -1;
        if (line[0] == '-' || line[0] == '+' || line[0] == ' ' || *end != ',' || st < 0 ||
            std::count(line.begin(), line.end(), ',') != fields)
            throw DataError(path + ": line " + std::to_string(number) + " is not a row of metrics (epoch,step,...): the "
                                   "file was changed");
        if (e > epoch) break;  // written after the checkpoint (train.checkpoint_every): replaced as the run continues
        if (e != expect)
            throw DataError(path + ": line " + std::to_string(number) + " is epoch " + std::to_string(e) +
                            " where epoch " + std::to_string(expect) + " was due: the file was changed");
        last_step = st;
        ++expect;
    }
    if (expect != epoch + 1 || last_step != step)
        throw DataError(dir + "/checkpoint.bin: at epoch " + std::to_string(epoch) + " (step " + std::to_string(step) +
                        "), but metrics.csv " +
                        (expect != epoch + 1 ? "ends at epoch " + std::to_string(expect - 1)
                                             : "says step " + std::to_string(last_step) + " for that epoch") +
                        ": the checkpoint is another run's, or a file was changed; restore them together");
}

// A data file named relative to the working directory, made absolute, so that
// a --resume from elsewhere reads the same file.
std::string absolute_path(const std::string& p) {
    if (p.empty() || fs::path(p).is_absolute()) return p;
    std::error_code ec;
    const fs::path abs = fs::absolute(p, ec);
    return ec ? p : abs.lexically_normal().string();
}

// A new run (without --force) never replaces a finished or resumable one.
void refuse_if_holds_a_run(const std::string& dir) {
    const bool resumable = file_exists(dir + "/checkpoint.bin");
    for (const char* f : {"checkpoint.bin", "summary.json", "metrics.csv"})
        if (file_exists(dir + "/" + f))
            throw ConfigError(dir + ": already holds a run; " +
                              (resumable ? "continue it with --resume " + dir + ", " : std::string()) +
                              "overwrite it with --force, or choose --out DIR");
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
        if (opt.force)
            throw ConfigError("--force: a resumed run continues its own files; --force replaces an old run with a "
                              "new one (--config ... --out DIR --force)");
        if (!opt.out_dir.empty())
            throw ConfigError("--out " + opt.out_dir + ": a resumed run stays in its directory (" + s.dir +
                              "); copy the directory first to continue it elsewhere");
        for (const auto& o : opt.overrides) {
            const std::string key = o.substr(0, o.find('='));
            if (fixed_on_resume(key))
                throw ConfigError("--set " + o + ": " + key + " cannot change when resuming (it would redraw the "
                                  "data and their train/test split); start a new run with --config");
        }
        s.cfg = load_config(s.dir + "/config.yaml", opt.overrides);
        check_fixed_settings(s.dir, s.cfg);
        return s;
    }
    if (!opt.config_path.empty()) {
        s.cfg = load_config(opt.config_path, opt.overrides);
    } else {  // every key has a default: --set alone describes a run
        for (const auto& o : opt.overrides) apply_override(s.cfg, o);
        validate(s.cfg);
    }
    // A file path given to the default source (mnist, a directory) names its format.
    if (s.cfg.data.source == "mnist" && !s.cfg.data.path.empty() && !is_directory(s.cfg.data.path))
        s.cfg.data.source = file_format(s.cfg.data.path);
    s.cfg.data.path = absolute_path(s.cfg.data.path);
    s.cfg.data.labels = absolute_path(s.cfg.data.labels);
    s.cfg.data.test_path = absolute_path(s.cfg.data.test_path);
    s.cfg.data.test_labels = absolute_path(s.cfg.data.test_labels);
    if (!opt.out_dir.empty()) s.dir = opt.out_dir;
    else if (!s.cfg.output.dir.empty()) s.dir = s.cfg.output.dir;
    else if (const std::string stem = fs::path(opt.config_path).stem().string();
             !opt.config_path.empty() && !stem.empty() && stem != "." && stem != "..")
        s.dir = "runs/" + stem;  // (a config named ..yaml or ...yaml would name runs/ itself or its parent)
    else s.dir = "runs/" + s.cfg.model.type;
    s.cfg.output.dir = s.dir;
    if (!opt.force) refuse_if_holds_a_run(s.dir);
    // (A new run's rule: an older run's config.yaml with the combination resumes as it was.)
    if (!s.cfg.data.test_labels.empty() && s.cfg.data.test_path.empty())
        throw ConfigError("data.test_labels: given without data.test_path (the test rows they label); set both, or "
                          "neither (data.test_fraction holds out labelled rows of data.path)");
    return s;
}

void print_table(const Table& rows) {
    std::printf("\n");
    for (const auto& [k, v] : rows) std::printf("  %-28s %s\n", k.c_str(), v.c_str());
    std::printf("\n");
}

}  // namespace

// Data no model can learn from, said before training: values whose squares
// overflow double are refused (every loss would be Inf or NaN, whatever the
// learning rate); all-zero, constant or underflowing data get a warning
// (returned, for the log once it has its file).
template <class T>
std::vector<std::string> check_data_values(const Dataset<T>& data) {
    std::vector<std::string> warnings;
    // Under several processes: over every rank's rows (a collective call).
    const auto X = data.train();
    double biggest = 0;
    for (std::size_t i = 0; i < X.rows * X.cols; ++i) biggest = std::max(biggest, std::abs(static_cast<double>(X.data[i])));
    bool overflow = false;
    for (std::size_t i = 0; i < X.rows; ++i) overflow |= !std::isfinite(X.sqnorms[i]);
    double flags[2] = {biggest, overflow ? 1.0 : 0.0};
    world().max(flags, 2);
    biggest = flags[0];
    overflow = flags[1] != 0;
    if (overflow || biggest > 1e150)
        throw DataError(data.description + ": values up to " + format_g(biggest, 3) +
                        " overflow double precision in the loss (their squares); rescale them (data.scale)");
    if (biggest == 0) {
        warnings.push_back(data.description + ": every value is 0: there is nothing to learn (the loss is 0 from "
                                              "the start)");
        return warnings;
    }
    if (biggest < 1e-150)
        warnings.push_back(data.description + ": values are at most " + format_g(biggest, 3) +
                           ": their products underflow; rescale them (data.scale)");
    // Every row equal to the first (rank 0's first row, on several processes).
    std::vector<T> first(X.row(0), X.row(0) + X.cols);
    world().broadcast(first.data(), first.size() * sizeof(T));
    bool constant = true;
    for (std::size_t i = 0; i < X.rows && constant; ++i)
        constant = std::equal(X.row(i), X.row(i) + X.cols, first.begin());
    double differs = constant ? 0.0 : 1.0;
    world().max(&differs, 1);
    if (differs == 0 && data.train_all() > 1)
        warnings.push_back(data.description + ": all " + std::to_string(data.train_all()) +
                           " training rows are the same: there is no structure to learn");
    return warnings;
}
template std::vector<std::string> check_data_values(const Dataset<float>&);
template std::vector<std::string> check_data_values(const Dataset<double>&);

namespace {

// What runs on several processes (core/communicator.hpp) and what does not:
// said before any data are read.
void check_distributable(const Config& cfg) {
    const int K = world().size();
    if (K == 1) return;
    const std::string on = " on " + std::to_string(K) + " processes";
    if (cfg.model.type == "bayesian_gplvm" && cfg.model.inference == "stochastic")
        throw ConfigError("model.inference stochastic" + on +
                          ": not supported (its minibatches update rows' q(x) in place); use model.inference "
                          "collapsed, whose statistics are summed over the processes");
}

// A model whose latents are spread over the processes resumes on as many as
// wrote its checkpoint (one file per rank).
template <class T>
void check_checkpoint_ranks(const std::string& dir, const Model<T>& model) {
    if (!model.has_per_row_blocks()) return;  // every rank resumes from checkpoint.bin
    int written = 1;
    while (file_exists(dir + "/" + checkpoint_name(written))) ++written;
    if (written != world().size())
        throw ConfigError(dir + ": its checkpoint was written by " + std::to_string(written) + " process" +
                          (written == 1 ? "" : "es") + " (the " + model.name() +
                          "'s latents are spread over them); resume it with " +
                          (written == 1 ? std::string("one process (without mpirun)")
                                        : "mpirun -np " + std::to_string(written)));
}

// Stops the run at the next step once SIGINT or SIGTERM arrived
// (interrupt.hpp), and keeps the parameters of the last complete epoch.
// Under several processes the ranks decide together at the end of an epoch
// (a signal reaches them at different steps).
template <class T>
class StopOnSignal : public Callback<T> {
public:
    void on_run_begin(const TrainContext<T>& ctx) override { last_ = ctx.model.params(); }
    bool on_step(const TrainContext<T>&, std::size_t, double) override {
        return world().size() == 1 && interrupt_signal() != 0;
    }
    bool on_epoch_end(const TrainContext<T>& ctx, const EpochRecord&) override {
        last_ = ctx.model.params();
        if (world().size() == 1) return interrupt_signal() != 0;
        double s = interrupt_signal();
        world().max(&s, 1);
        if (s != 0 && interrupt_signal() == 0) set_interrupt_signal(static_cast<int>(s));
        return s != 0;
    }
    const xt::xtensor<T, 1>& last_complete() const { return last_; }

private:
    xt::xtensor<T, 1> last_;
};

// --gradcheck: the model at its initial parameters, on the first rows of the
// training data (all rows for a full-batch model), float through a double twin.
template <class T>
int gradient_check(const Config& cfg, const Dataset<T>& data, Model<T>& model) {
    if (cfg.model.type == "bayesian_gplvm" && cfg.model.inference == "stochastic")
        throw ConfigError("--gradcheck: with model.inference stochastic the gradient step also updates the drawn "
                          "rows' q(x); check the same bound with model.inference collapsed (tests check the "
                          "stochastic gradient's global blocks)");
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
    if (!r.pass())
        std::fprintf(stderr, "error: gradient check failed: the analytic gradient of %s disagrees with central "
                             "differences (the table above names the blocks)\n", model.name().c_str());
    return r.pass() ? 0 : 3;
}

template <class T>
int run_typed(const RunSetup& setup, const RunOptions& opt, std::shared_ptr<spdlog::logger> log) {
    const Config& cfg = setup.cfg;
    const auto t0 = Clock::now();
    // More threads than cores only adds contention (and OpenBLAS's per-thread
    // buffers can exhaust an address-space limit): use at most the cores.
    // Ranks on one machine share its cores.
    const int cores = std::max(1, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) /
                                      world().local_size());
    if (cfg.train.threads > cores)
        log->warn("train.threads {} is more than the {} cores{} here: using {}", cfg.train.threads, cores,
                  world().local_size() > 1 ? " per rank" : "", cores);
    const bool shared_cores = world().local_size() > 1;  // 0 = all cores: this rank's share of them
    blas::set_threads(static_cast<int>(cfg.train.threads == 0 && shared_cores ? cores
                                                                              : std::min<long>(cfg.train.threads, cores)));
    const int threads = blas::threads();
    together([&] {
        if (cfg.model.is_gplvm() && cfg.data.test_fraction > 0)
            throw ConfigError("data.test_fraction must be 0 for model.type " + cfg.model.type +
                              " (it models every point it is given)");
        if (cfg.model.is_gplvm() && !cfg.data.test_path.empty())
            throw ConfigError("data.test_path: the " + cfg.model.type + " has no test rows (it models every point it "
                              "is given); place new points with  train apply RUN --data FILE");
    });

    // 1. Data and model: errors here leave the run directory untouched. (The
    //    console says what is being prepared: on large data it takes a while.)
    //    Under several processes each step that may fail on some ranks only
    //    ends with every rank agreeing (core/communicator.hpp: together), so
    //    that a failure is one line from rank 0, never a hang.
    log->info("loading the data ({}{}){}", cfg.data.source, cfg.data.path.empty() ? "" : ": " + cfg.data.path,
              world().size() > 1 ? ", each of " + std::to_string(world().size()) + " ranks its share of the rows"
                                 : std::string());
    Dataset<T> data;
    together([&] { data = load_data<T>(cfg.data, static_cast<std::uint64_t>(cfg.seed)); });
    std::unique_ptr<Model<T>> model;
    std::unique_ptr<Optimizer<T>> optimizer;
    std::unique_ptr<ModelReport<T>> report;
    together([&] {
        check_distributable(cfg);
        model = make_model<T>(cfg.model, data.dim(), data.n_train);
        optimizer = make_optimizer<T>(cfg.optim, model->num_params());
        report = make_report<T>(cfg);
    });
    const bool full_batch = optimizer->line_search();  // iterations, not epochs
    model->on_warning = [log](const std::string& msg) { log->warn("{}", msg); };
    if (opt.gradcheck) return gradient_check<T>(cfg, data, *model);
    std::vector<std::string> data_warnings;
    together([&] { data_warnings = check_data_values(data); });

    // 2. Everything that can refuse the command, before anything is written:
    //    the model-specific checks and references, the checkpoint, the files
    //    in the way, the lock.
    log->info("preparing: references from the data (e.g. PCA), the initial state{}",
              setup.resume ? " from the checkpoint" : "");
    together([&] { report->check(cfg, data, *model); });
    StartPoint start;
    double init_seconds = 0;
    std::exception_ptr refused;  // agreed on below, after the checks of rank 0's files
    if (setup.resume) try {
        check_checkpoint_ranks(setup.dir, *model);
        start = load_checkpoint<T>(setup.dir + "/" + checkpoint_name(writes_own_checkpoint(*model) ? world().rank() : 0),
                                   *model, *optimizer);
        check_history(setup.dir, start.epoch, start.step);
        // The rows the data draw now against those the run trained on (rows.npy):
        // a changed seed or data key redraws them, whatever manifest.txt says.
        if (world().size() == 1 && file_exists(setup.dir + "/rows.npy")) {
            const RawTensor was = read_npy(setup.dir + "/rows.npy");
            bool same = was.size() == data.rows.size();
            for (std::size_t i = 0; same && i < was.size(); ++i)
                same = was.at(i) == static_cast<double>(data.rows[i]);
            if (!same)
                throw ConfigError(setup.dir + "/config.yaml: its seed and data keys draw other rows than the run "
                                              "trained on (rows.npy): the file was edited; restore it, or start a "
                                              "new run with --config");
        }
        if (opt.stop_after > 0 && opt.stop_after <= start.epoch)
            throw ConfigError("--stop-after " + std::to_string(opt.stop_after) + ": " + setup.dir + " has already done " +
                              std::to_string(start.epoch) + (full_batch ? " iterations" : " epochs") +
                              "; give a later one, or leave it out to run to the end");
        if (start.epoch >= run_length(cfg))
            throw ConfigError(setup.dir + ": already " + std::to_string(start.epoch) + " of " +
                              std::to_string(run_length(cfg)) + (full_batch ? " iterations" : " epochs") +
                              " done; to continue, raise " + (full_batch ? "optim.max_iterations" : "train.epochs") +
                              " (--set " + (full_batch ? "optim.max_iterations=" : "train.epochs=") +
                              std::to_string(start.epoch + 10) + ")");
        if (full_batch && cfg.optim.max_evaluations > 0 && optimizer->evaluations() >= cfg.optim.max_evaluations)
            throw ConfigError(setup.dir + ": already " + std::to_string(optimizer->evaluations()) + " of " +
                              std::to_string(cfg.optim.max_evaluations) +
                              " evaluations done; to continue, raise optim.max_evaluations (--set "
                              "optim.max_evaluations=" +
                              std::to_string(optimizer->evaluations() + 100) + ")");
    } catch (...) {
        refused = std::current_exception();
    }
    else together([&] {
        const auto t_init = Clock::now();
        std::mt19937_64 rng(static_cast<std::uint64_t>(cfg.seed));
        model->init_from_data(data.train(), rng);  // e.g. the GPLVM's PCA start, the C-mode's warm start
        init_seconds = std::chrono::duration<double>(Clock::now() - t_init).count();
    });
    if (setup.resume && world().size() > 1) {
        // Every rank's checkpoint of the same iteration: a job stopped while
        // the ranks wrote theirs holds two (each file is whole; the set is not).
        double at[3] = {static_cast<double>(start.epoch), static_cast<double>(start.step),
                        static_cast<double>(optimizer->evaluations())};
        double hi[3] = {at[0], at[1], at[2]}, lo[3] = {-at[0], -at[1], -at[2]};
        world().max(hi, 3);
        world().max(lo, 3);
        if (!refused && (hi[0] != -lo[0] || hi[1] != -lo[1] || hi[2] != -lo[2]))
            refused = std::make_exception_ptr(DataError(
                setup.dir + ": the ranks' checkpoints are of different epochs (" + format_g(-lo[0]) + " and " +
                format_g(hi[0]) + "): the job stopped while they were being written; the run cannot continue "
                "from them, start it again"));
    }
    std::set<std::string> planned = {"config.yaml", "train.log", "metrics.csv", "checkpoint.bin", "summary.json",
                                     "manifest.txt", "rows.npy"};
    if (model->has_per_row_blocks())  // one checkpoint per rank (train/checkpoint.hpp)
        for (int r = 1; r < world().size(); ++r) planned.insert(checkpoint_name(r));
    if (!data.mean.empty()) planned.insert("mean.npy");
    for (const auto& b : model->blocks()) planned.insert(b.name + ".npy");
    for (const auto& f : report->outputs()) planned.insert(f);
    const bool existed = file_exists(setup.dir);
    const bool writer = world().rank() == 0;  // under several processes rank 0 writes the run directory
    RunLock lock;
    std::set<std::string> owned;
    if (existed && writer && !refused) try {
        if (!is_directory(setup.dir)) throw DataError(setup.dir + ": exists and is not a directory (--out names a run directory)");
        lock = RunLock(setup.dir);
        // Again under the lock: another run may have finished here meanwhile.
        if (!setup.resume && !opt.force) refuse_if_holds_a_run(setup.dir);
        owned = read_manifest(setup.dir);
        // A run from before manifests: the files a run of this config writes
        // are its own, and so are the fixed names any run wrote.
        // (A LatentLab checkpoint says so; a file merely named checkpoint.bin or
        // summary.json does not make the directory a run whose files --force may replace.)
        if (owned.empty() && looks_like_checkpoint(setup.dir + "/checkpoint.bin")) {
            owned = planned;
            owned.erase("manifest.txt");
        }
        check_outputs(setup.dir, planned, owned);
        // A directory of other things (not a run's, not empty) is not a run
        // directory: a run's files would mix with them (--out / or ~ wrote
        // ten files among the user's).
        if (std::error_code ec; owned.empty() && !fs::is_empty(setup.dir, ec) && !ec)
            throw ConfigError(setup.dir + ": holds other files and no LatentLab run; a run writes into a new or "
                                          "empty directory (choose another --out)");
    } catch (...) {
        refused = std::current_exception();
    }
    agree(refused);

    // Ctrl-C while the data loaded: nothing written (under several processes
    // the ranks decide together at the end of an epoch instead).
    if (const int sig = world().size() == 1 ? interrupt_signal() : 0)
        throw Interrupted(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") +
                          " before training started: nothing was written");

    // 3. The run directory: from here on the command has been accepted. (Under
    //    several processes rank 0 writes; the others wait for its outcome.)
    together([&] {
        if (!writer) return;
        make_directories(setup.dir);
        if (!existed) lock = RunLock(setup.dir);
        remove_stale_temporaries(setup.dir, owned);
        if (!setup.resume && opt.force)
            for (const auto& f : owned) fs::remove(setup.dir + "/" + f);  // the previous run's files only
        for (const auto& f : owned) planned.insert(f);  // a resumed run keeps what it wrote before
        write_manifest(setup.dir, planned, fixed_settings(cfg));
        write_file_atomic(setup.dir + "/config.yaml", to_yaml(cfg));
        // Provenance: which input row each train (then test) row is, and the mean
        // subtracted, so that every output maps back to the input file.
        write_npy(setup.dir + "/rows.npy", make_raw<std::int64_t>(data.rows.data(), {data.rows.size()}));
        if (!data.mean.empty())
            write_npy(setup.dir + "/mean.npy", make_raw<double>(data.mean.data(), {data.mean.size()}));
        add_file_sink(*log, setup.dir + "/train.log");
    });
    log->info("LatentLab {} run in {} (OpenBLAS kernels: {}; {})", setup.resume ? "resumed" : "new", setup.dir,
              blas::kernels(), world().describe());
    log->info("data: {} | {} train + {} test samples of dimension {}{}{}", data.description, data.train_all(),
              data.test_all(), data.dim(), cfg.data.center ? ", centred" : "", data.has_labels() ? ", labelled" : "");
    if (full_batch)
        log->info("model: {} latent_dim={} ({} parameters, {}) | optimiser lbfgs, at most {} iterations{} | seed {} | "
                  "{} BLAS threads",
                  model->name(), cfg.model.latent_dim, model->num_params(), cfg.model.dtype,
                  cfg.optim.max_iterations,
                  cfg.optim.max_evaluations > 0
                      ? " and " + std::to_string(cfg.optim.max_evaluations) + " evaluations"
                      : std::string(),
                  cfg.seed, threads);
    else
        log->info("model: {} latent_dim={} ({} parameters, {}) | optimiser {} lr {} ({}) | batch {} | {} epochs | "
                  "seed {} | {} BLAS threads",
                  model->name(), cfg.model.latent_dim, model->num_params(), cfg.model.dtype, cfg.optim.type,
                  cfg.optim.lr, cfg.optim.schedule, cfg.train.batch_size, cfg.train.epochs, cfg.seed, threads);
    if (!model->separable() && !full_batch)
        log->info("{} is a full-batch model: every {} step uses all {} samples", model->name(), cfg.optim.type,
                  data.train_all());
    for (const auto& w : data_warnings) log->warn("{}", w);
    if (cfg.model.type == "gplvm" &&
        (cfg.model.method == "dense" || (cfg.model.method == "auto" && cfg.model.kernel_name() != "linear")) &&
        data.train_all() >= 5000) {
        // The exact GPLVM's evaluation is O(N³): said before the first one, with what scales instead.
        const double n = static_cast<double>(data.train_all());
        log->warn("the exact GPLVM (model.method dense) costs {} TFLOP per evaluation on {} rows (N³ + 3N²D, "
                  "growing as N³; Ctrl-C is acted on between evaluations); model.type bayesian_gplvm is linear in N",
                  format_g((n * n * n + 3.0 * n * n * static_cast<double>(data.dim())) / 1e12, 2), data.train_all());
    }

    // 4. Model-specific references written (e.g. the PCA optimum of the linear AE).
    together([&] {
        if (writer) report->prepare(cfg, data, *model, setup.dir, *log);
    });
    if (setup.resume) log->info("resuming after epoch {} (step {})", start.epoch, start.step);

    TrainerOptions topt;
    topt.schedule = make_schedule(cfg.optim);
    topt.epochs = run_length(cfg);
    topt.batch_size = static_cast<std::size_t>(cfg.train.batch_size);
    topt.seed = static_cast<std::uint64_t>(cfg.seed);
    topt.auto_step_threads = cfg.train.step_threads == "auto";
    Trainer<T> trainer(*model, *optimizer, data, topt);
    trainer.on_info = [&log](const std::string& s) { log->info("{}", s); };
    EvaluationsMetric<T> evaluations;
    if (full_batch) trainer.add_callback(&evaluations);  // first: the metrics fill the records
    for (auto* m : report->metrics()) trainer.add_callback(m);
    ProgressCallback<T> progress(log, cfg.train.log_every, report->optimum());
    MetricsCsvCallback<T> metrics(setup.dir + "/metrics.csv", start.epoch);
    CheckpointCallback<T> checkpoint(setup.dir, cfg.train.checkpoint,
                                     WriteCadence{cfg.train.checkpoint_every, cfg.train.write_share}, &metrics);
    trainer.add_callback(&progress);
    trainer.add_callback(&metrics);
    trainer.add_callback(&checkpoint);
    StopAfterEpoch<T> stop_after(opt.stop_after);
    if (opt.stop_after > 0) trainer.add_callback(&stop_after);
    StopOnSignal<T> on_signal;
    trainer.add_callback(&on_signal);

    JsonObject summary;
    summary.set("model", model->name()).set("dtype", cfg.model.dtype).set("optimizer", cfg.optim.type);
    summary.set("n_train", data.train_all()).set("n_test", data.test_all()).set("dim", data.dim());
    summary.set("data_scale", data.scale);  // what train apply scales new rows by (also in a diverged run's summary)
    summary.set("seed", cfg.seed).set("threads", threads).set("blas_kernels", blas::kernels());
    summary.set("processes", world().size());
    if (!setup.resume) summary.set("init_seconds", init_seconds);  // the initial state's (training times exclude it)

    TrainResult result;
    try {
        result = trainer.run(start);
    } catch (const NumericalError& e) {
        // Keep what is good: the last good parameters and a summary saying why.
        std::string msg = e.what();
        if (msg.find("initial loss is") != std::string::npos)  // before any step: the start, not the step size
            msg += "; the initial state overflows: the data's values (data.scale " + format_g(data.scale) +
                   ") or the initial weights (model.init_scale " + format_g(cfg.model.init_scale) + ") are too large";
        else if (!full_batch) msg += "; optim.lr " + format_g(cfg.optim.lr) + " may be too large";
        checkpoint.flush();  // the last complete epoch, if not on disk yet
        save_params_npy(setup.dir, *model);
        summary.set("status", "diverged").set("error", msg);
        if (writer) write_file_atomic(setup.dir + "/summary.json", summary.dump());
        log->error("{}", msg);
        agree(std::make_exception_ptr(NumericalError(msg)));  // every rank found it: one line, from rank 0
        throw NumericalError(msg);
    }
    // Interrupted within an epoch: back to the last complete one, which the
    // files on disk describe.
    if (result.partial_epoch) model->params() = on_signal.last_complete();
    save_params_npy(setup.dir, *model);

    // A signal counts when it stopped the run (not one after the last epoch).
    const int signal = result.stopped_by_callback || result.partial_epoch ? interrupt_signal() : 0;
    const EpochRecord last = result.history.empty() ? EpochRecord{} : result.history.back();
    summary.set("status", signal                         ? "interrupted"
                          : result.stopped_by_callback ? "stopped"
                          : result.converged           ? "converged"
                                                       : "finished");
    // Why the run ended, in words, and whether an optimum was reached.
    std::string stop_reason = result.stop_reason;
    if (signal) stop_reason = std::string("interrupted by ") + (signal == SIGINT ? "SIGINT" : "SIGTERM");
    else if (result.stopped_by_callback) stop_reason = "--stop-after " + std::to_string(opt.stop_after);
    else if (!result.converged && stop_reason.empty())
        stop_reason = full_batch ? "iteration limit reached (optim.max_iterations " +
                                       std::to_string(cfg.optim.max_iterations) + ")"
                                 : "all epochs done (train.epochs " + std::to_string(cfg.train.epochs) + ")";
    summary.set("stop_reason", stop_reason).set("converged", result.converged);
    if (result.step_threads > 0) summary.set("step_threads", static_cast<long>(result.step_threads));
    if (full_batch && !result.converged && !signal && !result.stopped_by_callback)
        log->warn("not converged: |grad| {} after {} iterations and {} evaluations ({}); the result is not an "
                  "optimum: raise optim.max_iterations / optim.max_evaluations or loosen optim.grad_tol / "
                  "optim.rel_tol",
                  format_g(last.grad_norm, 4), result.epochs_done, optimizer->evaluations(),
                  result.stop_reason.empty() ? "optim.max_iterations" : "optim.max_evaluations");
    summary.set("epochs", result.epochs_done).set("steps", result.steps);
    if (full_batch) summary.set("evaluations", optimizer->evaluations());
    summary.set("seconds", result.seconds);
    summary.set("train_seconds_per_epoch", median(result.epoch_seconds));
    summary.set("final_test_loss", last.test_loss);
    Table table;
    together([&] { report->finish(cfg, data, *model, result, setup.dir, *log, summary, table); });
    if (!summary.has("final_loss")) {
        summary.set("final_loss", last.train_loss);
        table.insert(table.begin(), {"final loss", format_g(last.train_loss, 8)});
    }
    if (!std::isnan(last.test_loss)) table.push_back({"test loss", format_g(last.test_loss, 8)});
    table.push_back({full_batch ? "iterations" : "epochs", std::to_string(result.epochs_done)});
    table.push_back({"seconds (whole run)", format_fixed(result.seconds, 2)});
    table.push_back({full_batch ? "seconds per iteration" : "seconds per epoch (steps)",
                     format_fixed(median(result.epoch_seconds), 3)});
    summary.set("state_writes", checkpoint.writes()).set("state_write_seconds", checkpoint.write_seconds());
    summary.set("wall_seconds_this_session", std::chrono::duration<double>(Clock::now() - t0).count());
    if (writer) write_file_atomic(setup.dir + "/summary.json", summary.dump());
    if (signal) {
        log->warn("interrupted by {}: stopped after {} {}; continue with  train --resume {}",
                  signal == SIGINT ? "SIGINT" : "SIGTERM", full_batch ? "iteration" : "epoch", result.epochs_done,
                  setup.dir);
        return 128 + signal;
    }
    if (result.stopped_by_callback)
        log->info("stopped after epoch {}: continue with  train --resume {}", result.epochs_done, setup.dir);
    table.push_back({"stopped because", stop_reason});
    log->info("summary in {}/summary.json; stopped because: {}", setup.dir, stop_reason);
    if (!opt.quiet && writer) print_table(table);
    return 0;
}

}  // namespace

int run(const RunOptions& opt) {
    if (!opt.gradcheck) install_interrupt_handlers();
    auto log = make_logger(opt.quiet);
    RunSetup setup;
    together([&] { setup = prepare(opt); });
    const std::string file = setup.resume ? setup.dir + "/config.yaml" : opt.config_path;
    try {
        if (setup.cfg.model.dtype == "float64") return run_typed<double>(setup, opt, log);
        return run_typed<float>(setup, opt, log);
    } catch (const ConfigError& e) {
        // A value that only the data could judge (e.g. latent_dim vs the data's
        // dimension): name where it came from, the --set that gave it (the last
        // one wins) or the config file.
        const std::string msg = e.what();
        std::string origin = file.empty() ? "defaults" : file;
        for (const auto& o : opt.overrides) {
            const std::string key = o.substr(0, o.find('='));
            if (msg.rfind(key + " ", 0) == 0 || msg.rfind(key + ":", 0) == 0) origin = "--set " + o;
        }
        if (msg.rfind(origin, 0) == 0 || (!file.empty() && msg.rfind(file, 0) == 0)) throw;
        if (msg.rfind("--", 0) == 0) throw;  // about a command-line option, which it names
        if (msg.rfind(setup.dir, 0) == 0) throw;  // about a file of the run directory, which it names
        throw ConfigError(origin + ": " + msg);
    }
}

}  // namespace latentlab::cli
