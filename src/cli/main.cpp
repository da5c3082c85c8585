// `train`: the command-line entry point. The only place that turns an
// exception into a message and an exit code.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "latentlab/config/config.hpp"
#include "latentlab/core/communicator.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/format.hpp"
#include "apply.hpp"
#include "interrupt.hpp"
#include "mpi_world.hpp"
#include "run.hpp"

namespace {
// Exit codes: 0 success, 1 data/IO error, 2 usage or config error,
// 3 numerical failure (diverged, not positive definite), 4 internal error.
int fail(int code, const std::string& msg) {
    // One clean line whatever the message holds (a path with a newline, an
    // escape sequence, invalid UTF-8, a 10 MB value). Under MPI, rank 0 says it.
    if (latentlab::world().rank() == 0) std::fprintf(stderr, "error: %s\n", latentlab::printable(msg, 2000).c_str());
    return code;
}
// Under several MPI ranks: an error every rank shares (agreed, or found by all
// alike) is printed once, by rank 0, and every rank exits with its code; an
// error of one rank alone is printed by that rank, naming it, and ends the job
// (the others may be waiting for it in a collective: never a hang).
int fail_ranked(int code, const std::string& msg) {
    using namespace latentlab;
    const Communicator& w = world();
    if (w.size() == 1) return fail(code, msg);
    if (error_is_shared()) return w.rank() == 0 ? fail(code, msg) : code;
    std::fprintf(stderr, "error: rank %d of %d: %s (ending every rank)\n", w.rank(), w.size(),
                 printable(msg, 2000).c_str());
    std::fflush(stderr);
    w.abort(code);
    return code;  // not reached (abort ends the job); some compilers do not see through the virtual call
}
// Runs a command; an exception becomes its one line and exit code.
template <class F>
int exit_code(F&& command) {
    using namespace latentlab;
    try {
        return command();
    } catch (const SilentExit& e) {
        return e.code;  // rank 0 said it
    } catch (const cli::Interrupted& e) {
        if (world().rank() == 0) std::fprintf(stderr, "interrupted: %s\n", e.what());
        return 128 + cli::interrupt_signal();
    } catch (const ConfigError& e) {
        return fail_ranked(2, e.what());
    } catch (const OptionError& e) {
        return fail_ranked(2, e.what());
    } catch (const NumericalError& e) {
        return fail_ranked(3, e.what());
    } catch (const Error& e) {
        return fail_ranked(1, e.what());
    } catch (const std::length_error&) {  // a size beyond what a vector can hold: memory, as bad_alloc
        return fail_ranked(1, "out of memory: a size from the config or the data is too large (try data.limit, a "
                              "smaller batch, smaller model sizes or model.dtype float32)");
    } catch (const std::bad_alloc&) {
        return fail_ranked(1, "out of memory (try data.limit, a smaller batch or model.dtype float32)");
    } catch (const std::exception& e) {
        return fail_ranked(4, std::string("internal error: ") + e.what());
    }
}
}  // namespace

int run_main(int argc, char** argv);

int main(int argc, char** argv) {
    using namespace latentlab;
    // Started by mpirun: one rank of a job (README, Several processes: MPI).
    if (cli::launched_by_mpi()) {
        auto mpi = cli::make_mpi_world(&argc, &argv);
        if (!mpi) {
            if (const char* n = std::getenv("OMPI_COMM_WORLD_SIZE"); n && std::string(n) != "1") {
                if (const char* r = std::getenv("OMPI_COMM_WORLD_RANK"); r && std::string(r) != "0") return 2;
                return fail(2, "this train was built without MPI (CMake did not find it: install libopenmpi-dev "
                               "and rebuild), so mpirun would start " + std::string(n) + " separate runs; run it "
                               "without mpirun");
            }
        }
        set_world(std::move(mpi));
    }
    const int code = run_main(argc, argv);
    std::fflush(stdout);
    set_world(nullptr);  // MPI_Finalize, before static destructors
    return code;
}

int run_main(int argc, char** argv) {
    using namespace latentlab;
    CLI::App app{
        "LatentLab train: fit a latent-variable model from a YAML config.\n\n"
        "  train --config configs/ae.yaml                      # run directory runs/ae\n"
        "  train --config configs/ae.yaml --set optim.lr=0.01 --set train.epochs=3 --out runs/try\n"
        "  train --resume runs/ae --set train.epochs=30        # continue a run\n"
        "  train apply runs/ae --data new.npy --out runs/ae/new  # encode/predict/project new rows\n"
        "  mpirun -np 4 train --config configs/ae_fashion.yaml  # 4 processes, each with its share of the rows\n\n"
        "A run directory holds config.yaml (resolved), train.log, metrics.csv, the parameters\n"
        "(W.npy), checkpoint.bin and summary.json. `train --list-keys` lists every config key.\n"
        "Exit codes: 0 ok, 1 data/IO error, 2 usage/config error, 3 numerical failure,\n"
        "130/143 interrupted by SIGINT/SIGTERM (stopped at a step; the last epoch's files are complete).",
        "train"};
    app.get_formatter()->column_width(34);
    cli::RunOptions opt;
    bool list_keys = false;
    auto* config = app.add_option("-c,--config", opt.config_path, "YAML experiment file");
    app.add_option("-s,--set", opt.overrides,
                   "Override a key: --set optim.lr=0.01 (repeatable; see --list-keys)");
    app.add_option("-o,--out", opt.out_dir, "Run directory (default: output.dir, else runs/<config name>)");
    auto* resume = app.add_option("-r,--resume", opt.resume_dir,
                                  "Continue the run in this directory from its last checkpoint");
    app.add_flag("-f,--force", opt.force, "Overwrite a run directory that already holds a run");
    app.add_option("--stop-after", opt.stop_after,
                   "Stop after this epoch (continue later with --resume; same schedule)")
        ->check(CLI::Validator(
            [](const std::string& s) {
                return s.find_first_not_of("0123456789") == std::string::npos && s.size() < 10 &&
                               std::strtol(s.c_str(), nullptr, 10) > 0
                           ? std::string()
                           : "must be an epoch number >= 1, not '" + s + "'";
            },
            "EPOCH"));
    app.add_flag("--gradcheck", opt.gradcheck,
                 "Check the model's analytic gradient against central differences on a small batch of the "
                 "config's data, print a table, and exit (0 if every block passes); trains nothing");
    app.add_flag("-q,--quiet", opt.quiet, "Only warnings and errors on the console");
    app.add_flag("--list-keys", list_keys, "List every config key with its type, default and help");
    config->excludes(resume);

    cli::ApplyOptions apply_opt;
    auto* apply = app.add_subcommand(
        "apply",
        "Apply a trained run to new rows: train apply RUN_DIR --data FILE --out DIR. The rows are scaled and "
        "centred as the run's were and kept in input order. Autoencoders: codes.npy, reconstruction.npy, "
        "reconstruction_loss.npy; mlp: classes.npy, probabilities.npy (and correct.npy, accuracy with --labels); "
        "gplvm: latent.npy, log_likelihood.npy (each row's most likely latent point); bayesian_gplvm: X_mean.npy, "
        "X_var.npy, elbo.npy (each row's q(x*), the model fixed). Also apply.json.");
    apply->add_option("run", apply_opt.run_dir, "Run directory (written by train)")->required();
    apply->add_option("-d,--data", apply_opt.data, "New rows: .npy, .csv or IDX (.gz) file")->required();
    apply->add_option("-l,--labels", apply_opt.labels, "Labels of the new rows (mlp: accuracy)");
    apply->add_option("-o,--out", apply_opt.out_dir, "Output directory (new or empty)")->required();
    apply->add_flag("-q,--quiet", apply_opt.quiet, "Do not print apply.json's summary");

    // A closed stdout (train ... | head -1) must not kill the run: the console
    // lines are lost, train.log and the run directory are complete.
    std::signal(SIGPIPE, SIG_IGN);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (world().rank() != 0) return e.get_exit_code() == 0 ? 0 : 2;
        return e.get_exit_code() == 0 ? app.exit(e) : fail(2, std::string(e.what()) + " (see --help)");
    }
    // OpenBLAS maps a buffer per thread; under a tight address-space limit
    // its workers loop on failed maps and the process can hang at exit.
    if (struct rlimit as {}; ::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY &&
                             as.rlim_cur < (rlim_t{512} << 20))
        return fail(1, "the address-space limit (ulimit -v) is " + std::to_string(as.rlim_cur >> 20) +
                           " MB; train needs at least 512 MB (OpenBLAS maps a buffer per thread)");
    if (list_keys) {
        if (world().rank() == 0) std::fputs(describe_keys().c_str(), stdout);
        return 0;
    }
    if (world().size() > 1 && (*apply || opt.gradcheck))
        return exit_code([&]() -> int {
            agree(std::make_exception_ptr(ConfigError(std::string(*apply ? "train apply" : "--gradcheck") +
                                                      " runs on one process: start it without mpirun")));
            return 0;
        });
    if (*apply) {
        // Training's options have no meaning for apply: said, not ignored.
        for (const char* name : {"--config", "--set", "--out", "--resume", "--force", "--stop-after", "--gradcheck"})
            if (app.count(name) > 0)
                return fail(2, std::string(name) + " is an option of training, not of `train apply` (give "
                                                   "`train apply RUN_DIR --data FILE --out DIR [--labels FILE]`; "
                                                   "see train apply --help)");
        apply_opt.quiet = apply_opt.quiet || opt.quiet;
        return exit_code([&] { return cli::apply(apply_opt); });
    }
    if (opt.config_path.empty() && opt.resume_dir.empty() && opt.overrides.empty())
        return fail(2, "nothing to do: give --config FILE.yaml, --set key=value (every key has a default), or "
                       "--resume RUN_DIR (see --help)");

    return exit_code([&] { return cli::run(opt); });
}
