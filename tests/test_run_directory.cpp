// The run directory as a hostile or careless user meets it (the `train`
// binary, end to end): a refused command changes nothing on disk (every file
// hashed before and after), one process owns a directory at a time, a run
// replaces or deletes only files it wrote (manifest.txt), signals stop a run
// cleanly, and every failure is one printable line with a documented exit code.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "latentlab/io/npy.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kRows = 120, kDim = 8;

// Every file under `dir` (recursively), by relative path, with its bytes.
std::map<std::string, std::string> snapshot(const std::string& dir) {
    std::map<std::string, std::string> files;
    std::error_code ec;
    if (!fs::exists(dir)) return files;
    for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
        const std::string rel = fs::relative(e.path(), dir).string();
        files[rel] = e.is_regular_file() ? slurp(e.path().string()) : std::string("<dir>");
    }
    return files;
}

std::string setup_data(const std::string& d, double scale = 1.0) {
    fs::create_directories(d);
    auto X = randn(kRows * kDim, scale, 5);
    write_npy(d + "/data.npy", make_raw<double>(X.data(), {kRows, kDim}));
    return d + "/data.npy";
}

std::string config(const std::string& data_path, const std::string& extra = "") {
    return "seed: 1\n"
           "data:\n  source: npy\n  path: " + data_path + "\n  test_fraction: 0.2\n"
           "model:\n  latent_dim: 3\n  dtype: float64\n"
           "optim:\n  type: adam\n  lr: 0.01\n"
           "train:\n  epochs: 3\n  batch_size: 20\n  threads: 1\n" + extra;
}

// A finished run in d/run from d/c.yaml.
void make_run(const std::string& d, const std::string& yaml) {
    spit(d + "/c.yaml", yaml);
    const auto r = run_train("--config " + d + "/c.yaml --out " + d + "/run", d);
    ASSERT_EQ(r.code, 0) << r.err;
}

void expect_one_line(const Outcome& r) {
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
}

// Starts `train ARGS` in the background; returns its pid.
long start_background(const std::string& args, const std::string& d) {
    const std::string cmd = std::string("OPENBLAS_NUM_THREADS=1 ") + LATENTLAB_TRAIN_EXE + " " + args + " >" + d +
                            "/.bg_out 2>" + d + "/.bg_err & echo $! >" + d + "/.bg_pid";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return std::stol(slurp(d + "/.bg_pid"));
}

bool wait_for(const std::function<bool()>& ok, double seconds) {
    const auto t0 = std::chrono::steady_clock::now();
    while (!ok()) {
        if (std::chrono::steady_clock::now() - t0 > std::chrono::duration<double>(seconds)) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

bool alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0; }

// Kills a background run when the test leaves early (a failed ASSERT), so
// that no endless run outlives it.
struct Reaper {
    long pid;
    ~Reaper() {
        if (pid > 0 && alive(pid)) ::kill(static_cast<pid_t>(pid), SIGKILL);
    }
};

// Exit status of a background process, from the shell that waits for it.
int wait_exit(long pid) {
    EXPECT_TRUE(wait_for([&] { return !alive(pid); }, 30)) << "pid " << pid << " still running";
    return 0;
}

}  // namespace

// Class 1: a refused --resume (wrong model, dtype, seed, data, --out) leaves
// every file as it was, and a plain --resume still works afterwards.
// The last epoch metrics.csv of `run` records (its last line's first field).
static long last_epoch(const std::string& run) {
    const std::string text = slurp(run + "/metrics.csv");
    const auto end = text.find_last_not_of('\n');
    const auto begin = text.rfind('\n', end);
    return std::strtol(text.c_str() + (begin == std::string::npos ? 0 : begin + 1), nullptr, 10);
}

TEST(RunDirectory, RefusedResumeChangesNothing) {
    const std::string d = scratch("rundir_refused_resume");
    make_run(d, config(setup_data(d)));
    const auto before = snapshot(d + "/run");
    const struct {
        std::string args;
        int code;
        std::string says;
    } cases[] = {
        {"--set model.latent_dim=4", 1, "checkpoint.bin"},
        {"--set model.dtype=float32", 1, "checkpoint.bin"},
        {"--set model.type=nonlinear_autoencoder", 1, "checkpoint.bin"},
        {"--set optim.type=sgd", 1, "checkpoint.bin"},
        {"--set seed=9", 2, "seed cannot change when resuming"},
        {"--set data.limit=50", 2, "data.limit cannot change when resuming"},
        {"--set data.test_fraction=0.5", 2, "cannot change when resuming"},
        {"--out " + d + "/elsewhere", 2, "a resumed run stays in its directory"},
    };
    for (const auto& c : cases) {
        const auto r = run_train("--resume " + d + "/run --set train.epochs=5 " + c.args, d);
        EXPECT_EQ(r.code, c.code) << c.args << ": " << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << ": " << r.err;
        expect_one_line(r);
        EXPECT_EQ(snapshot(d + "/run"), before) << c.args << " changed the run directory";
        EXPECT_FALSE(fs::exists(d + "/elsewhere"));
    }
    // A finished run has nothing to resume: refused, not a summary rewritten with nothing in it.
    const auto done = run_train("--resume " + d + "/run", d);
    EXPECT_EQ(done.code, 2) << done.err;
    EXPECT_NE(done.err.find("already 3 of 3 epochs done"), std::string::npos) << done.err;
    EXPECT_EQ(snapshot(d + "/run"), before);
    const auto ok = run_train("--resume " + d + "/run --set train.epochs=4", d);
    EXPECT_EQ(ok.code, 0) << ok.err;
}

// Class 2: a second process on the same directory is refused while the first
// runs; a killed owner leaves no stale lock.
TEST(RunDirectory, OneOwnerAtATimeAndNoStaleLock) {
    const std::string d = scratch("rundir_lock");
    spit(d + "/c.yaml", config(setup_data(d)));
    const long pid = start_background("--config " + d + "/c.yaml --out " + d + "/run -q --set train.epochs=100000000", d);
    const Reaper reaper{pid};
    ASSERT_TRUE(wait_for([&] { return fs::exists(d + "/run/checkpoint.bin"); }, 20)) << slurp(d + "/.bg_err");
    const auto second = run_train("--resume " + d + "/run --set train.epochs=100000001", d);
    EXPECT_EQ(second.code, 1) << second.err;
    EXPECT_NE(second.err.find("in use by another train process"), std::string::npos) << second.err;
    expect_one_line(second);
    const auto forced = run_train("--config " + d + "/c.yaml --out " + d + "/run --force", d);
    EXPECT_EQ(forced.code, 1) << forced.err;
    EXPECT_NE(forced.err.find("in use by another train process"), std::string::npos) << forced.err;
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    wait_exit(pid);
    const auto after = run_train("--resume " + d + "/run --set train.epochs=100000000 --stop-after " +
                                     std::to_string(last_epoch(d + "/run") + 1), d);
    EXPECT_EQ(after.code, 0) << after.err;  // the kernel dropped the dead owner's lock
}

// Classes 3 and 4: files in --out that no run wrote are never overwritten or
// deleted; --force replaces exactly the previous run's files (no stale blocks
// of another model left behind); look-alike temporaries of the user stay.
TEST(RunDirectory, OnlyTheRunsOwnFilesAreReplaced) {
    const std::string d = scratch("rundir_manifest");
    const std::string data = setup_data(d);
    // A user's directory with a W.npy of their own: refused, even with --force.
    fs::create_directories(d + "/mine");
    spit(d + "/mine/W.npy", "my data");
    spit(d + "/c.yaml", config(data));
    for (const char* force : {"", " --force"}) {
        const auto before = snapshot(d + "/mine");
        const auto r = run_train("--config " + d + "/c.yaml --out " + d + "/mine" + force, d);
        EXPECT_EQ(r.code, 2) << r.err;
        EXPECT_NE(r.err.find("W.npy: exists and was not written by a LatentLab run"), std::string::npos) << r.err;
        expect_one_line(r);
        EXPECT_EQ(snapshot(d + "/mine"), before);
    }
    // A GPLVM run, then --force with an autoencoder: X.npy and pca_latent.npy
    // go, the user's notes and look-alike temporaries stay.
    make_run(d, config(data, "") + "");
    std::string gp = config(data);
    gp = gp.replace(gp.find("  test_fraction: 0.2\n"), 20, "  center: true\n");
    gp = gp.replace(gp.find("model:\n"), 7, "model:\n  type: gplvm\n");
    gp = gp.replace(gp.find("  type: adam\n  lr: 0.01\n"), 24, "  type: lbfgs\n  max_iterations: 3\n");
    spit(d + "/gp.yaml", gp);
    auto r = run_train("--config " + d + "/gp.yaml --out " + d + "/run --force", d);
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_TRUE(fs::exists(d + "/run/X.npy"));
    spit(d + "/run/notes.txt", "keep me");
    spit(d + "/run/notes.tmp.99999999", "keep me too");  // not a temporary of a run's file
    spit(d + "/run/summary.json.tmp.99999999", "a dead run's temporary");
    r = run_train("--config " + d + "/c.yaml --out " + d + "/run --force", d);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_FALSE(fs::exists(d + "/run/X.npy"));
    EXPECT_FALSE(fs::exists(d + "/run/pca_latent.npy"));
    EXPECT_TRUE(fs::exists(d + "/run/W.npy"));
    EXPECT_EQ(slurp(d + "/run/notes.txt"), "keep me");
    EXPECT_EQ(slurp(d + "/run/notes.tmp.99999999"), "keep me too");
    r = run_train("--resume " + d + "/run --set train.epochs=4", d);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(slurp(d + "/run/notes.tmp.99999999"), "keep me too");
    EXPECT_FALSE(fs::exists(d + "/run/summary.json.tmp.99999999"));  // the run's own stale temporary
    const std::string manifest = slurp(d + "/run/manifest.txt");
    EXPECT_NE(manifest.find("W.npy\n"), std::string::npos) << manifest;
    EXPECT_EQ(manifest.find("notes.txt"), std::string::npos) << manifest;
}

// Class 11: a directory where the run writes a file is refused up front
// (exit 2, nothing changed), not an internal error after the checkpoint is gone.
TEST(RunDirectory, DirectoryInPlaceOfARunFileIsRefused) {
    const std::string d = scratch("rundir_dir_in_place");
    make_run(d, config(setup_data(d)));
    for (const char* name : {"train.log", "summary.json"}) {
        fs::create_directories(d + "/run/" + std::string(name) + "_x");
        fs::rename(d + "/run/" + std::string(name), d + "/run/moved");
        fs::create_directories(d + "/run/" + std::string(name));
        const auto before = snapshot(d + "/run");
        for (const std::string& args : {"--resume " + d + "/run --set train.epochs=5",
                                       "--config " + d + "/c.yaml --out " + d + "/run --force"}) {
            const auto r = run_train(args, d);
            EXPECT_EQ(r.code, 2) << args << ": " << r.err;
            EXPECT_NE(r.err.find(std::string(name) + ": is a directory"), std::string::npos) << r.err;
            expect_one_line(r);
            EXPECT_EQ(snapshot(d + "/run"), before) << args;
        }
        fs::remove(d + "/run/" + std::string(name));
        fs::remove(d + "/run/" + std::string(name) + "_x");
        fs::rename(d + "/run/moved", d + "/run/" + std::string(name));
    }
}

// Class 7: a relative data.path is stored resolved, so --resume from another
// working directory reads the same file.
TEST(RunDirectory, RelativeDataPathIsStoredResolved) {
    const std::string d = scratch("rundir_relative");
    setup_data(d);
    spit(d + "/c.yaml", config("data.npy"));
    const std::string cmd = "cd " + d + " && OPENBLAS_NUM_THREADS=1 " + LATENTLAB_TRAIN_EXE +
                            " --config c.yaml --out run -q >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    const std::string yaml = slurp(d + "/run/config.yaml");
    EXPECT_NE(yaml.find("path: \"" + fs::canonical(d).string() + "/data.npy\""), std::string::npos) << yaml;
    fs::create_directories(d + "/other");
    spit(d + "/other/data.npy", "not the data");  // what the relative path would find from there
    const std::string resume = "cd " + d + "/other && OPENBLAS_NUM_THREADS=1 " + LATENTLAB_TRAIN_EXE +
                               " --resume ../run --set train.epochs=4 -q >/dev/null 2>&1";
    EXPECT_EQ(std::system(resume.c_str()), 0);
}

// Class 14 and SIGINT/SIGTERM: a closed stdout does not kill the run; a
// signal stops it at the next step with complete files, status "interrupted",
// a message, and a run that resumes.
TEST(RunDirectory, ClosedPipeAndSignalsStopCleanly) {
    const std::string d = scratch("rundir_signals");
    spit(d + "/c.yaml", config(setup_data(d)));
    const std::string piped = std::string("OPENBLAS_NUM_THREADS=1 ") + LATENTLAB_TRAIN_EXE + " --config " + d +
                              "/c.yaml --out " + d + "/piped --set train.epochs=30 2>/dev/null | head -1 >/dev/null";
    std::system(piped.c_str());
    ASSERT_TRUE(fs::exists(d + "/piped/summary.json"));
    EXPECT_NE(slurp(d + "/piped/summary.json").find("\"status\": \"finished\""), std::string::npos);

    for (const int sig : {SIGINT, SIGTERM}) {
        const std::string run = d + "/run" + std::to_string(sig);
        const long pid = start_background("--config " + d + "/c.yaml --out " + run + " --set train.epochs=100000000", d);
        const Reaper reaper{pid};
        // Two epochs done at least: --stop-after 1 below is then one already passed.
        ASSERT_TRUE(wait_for([&] { return fs::exists(run + "/checkpoint.bin") && last_epoch(run) >= 2; }, 20))
            << slurp(d + "/.bg_err");
        ::kill(static_cast<pid_t>(pid), sig);
        wait_exit(pid);
        const std::string summary = slurp(run + "/summary.json");
        EXPECT_NE(summary.find("\"status\": \"interrupted\""), std::string::npos) << summary;
        EXPECT_NE(slurp(d + "/.bg_out").find(sig == SIGINT ? "interrupted by SIGINT" : "interrupted by SIGTERM"),
                  std::string::npos)
            << slurp(d + "/.bg_out");
        // metrics.csv, W.npy and the checkpoint describe the same last complete epoch.
        // --stop-after names an epoch of the whole run: one already done is refused, nothing changed.
        const std::string before = slurp(run + "/metrics.csv");
        const long done = last_epoch(run);
        const auto early = run_train("--resume " + run + " --set train.epochs=100000000 --stop-after 1", d);
        EXPECT_EQ(early.code, 2) << early.err;
        EXPECT_NE(early.err.find("--stop-after 1: " + run + " has already done " + std::to_string(done) + " epochs"),
                  std::string::npos) << early.err;
        EXPECT_EQ(slurp(run + "/metrics.csv"), before);
        const auto r = run_train("--resume " + run + " --set train.epochs=100000000 --stop-after " +
                                 std::to_string(done + 1), d);
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(last_epoch(run), done + 1);
    }
}

// Classes 10, 12, 15: bounded thread count, one printable line for paths with
// control characters and for huge values, a plain message for --stop-after 0.
TEST(RunDirectory, ErrorsAreOnePrintableLine) {
    const std::string d = scratch("rundir_lines");
    spit(d + "/c.yaml", config(setup_data(d)));
    auto r = run_train("--config " + d + "/c.yaml --out " + d + "/run --set train.threads=100000", d);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("train.threads must be in [0, 256]"), std::string::npos) << r.err;
    expect_one_line(r);

    r = run_train("--config '" + d + "/a\nb\x1b[31mc.yaml'", d);
    EXPECT_EQ(r.code, 2) << r.err;
    expect_one_line(r);
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("a\\nb\\x1b[31mc.yaml"), std::string::npos) << r.err;

    spit(d + "/big.yaml", "optim:\n  lr: " + std::string(10 << 20, 'x') + "\n");
    r = run_train("--config " + d + "/big.yaml --out " + d + "/run", d);
    EXPECT_EQ(r.code, 2);
    expect_one_line(r);
    EXPECT_LT(r.err.size(), 5000u);

    r = run_train("--config " + d + "/c.yaml --out " + d + "/run --stop-after 0", d);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_NE(r.err.find("must be an epoch number >= 1"), std::string::npos) << r.err;
    EXPECT_LT(r.err.size(), 300u) << r.err;
    EXPECT_FALSE(fs::exists(d + "/run"));
}

// Degenerate data: overflowing values are refused before anything is
// written (not blamed on a learning rate later); all-zero and constant data
// train with a warning.
TEST(RunDirectory, DegenerateDataIsNamed) {
    const std::string d = scratch("rundir_degenerate");
    spit(d + "/c.yaml", config(setup_data(d, 1e200)));
    auto r = run_train("--config " + d + "/c.yaml --out " + d + "/run", d);
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find("overflow"), std::string::npos) << r.err;
    expect_one_line(r);
    EXPECT_FALSE(fs::exists(d + "/run"));

    std::vector<double> zeros(kRows * kDim, 0.0), same(kRows * kDim);
    for (std::size_t i = 0; i < same.size(); ++i) same[i] = 0.1 * static_cast<double>(i % kDim + 1);
    for (const auto& [name, X, says] : {std::tuple{"zeros", zeros, "every value is 0"},
                                        std::tuple{"same", same, "training rows are the same"}}) {
        write_npy(d + "/" + name + ".npy", make_raw<double>(X.data(), {kRows, kDim}));
        spit(d + "/" + name + ".yaml", config(d + "/" + name + ".npy"));
        r = run_train(std::string("--config ") + d + "/" + name + ".yaml --out " + d + "/" + name, d);
        EXPECT_EQ(r.code, 0) << r.err;
        EXPECT_NE(slurp(d + "/" + name + "/train.log").find(says), std::string::npos) << name;
    }
}

// Issue "write cadence": a cheap run writes its state far less often than
// every iteration, yet ends with every metrics row and the final state on
// disk; write_share 1 writes every epoch.
TEST(RunDirectory, WriteCadenceKeepsTheFinalStateComplete) {
    const std::string d = scratch("rundir_cadence");
    const std::string data = setup_data(d);
    const std::string yaml = "data:\n  source: npy\n  path: " + data + "\n  center: true\n"
                             "model:\n  type: gplvm\n  latent_dim: 2\n  dtype: float64\n  init: random\n"
                             "optim:\n  type: lbfgs\n  max_iterations: 300\n  grad_tol: 0\n  rel_tol: 0\n";
    spit(d + "/c.yaml", yaml);
    auto count = [](const std::string& summary, const std::string& key) {
        const auto at = summary.find("\"" + key + "\": ");
        return at == std::string::npos ? -1L : std::stol(summary.substr(at + key.size() + 4));
    };
    for (const char* share : {"0.05", "1"}) {
        const std::string run = d + "/run" + share;
        const auto r = run_train("--config " + d + "/c.yaml --out " + run + " -q --set train.write_share=" + share, d);
        ASSERT_EQ(r.code, 0) << r.err;
        const std::string summary = slurp(run + "/summary.json");
        const long epochs = count(summary, "epochs"), writes = count(summary, "state_writes");
        ASSERT_GT(epochs, 20) << summary;
        if (std::string(share) == "1") EXPECT_EQ(writes, epochs + 1) << summary;
        else EXPECT_LT(writes, epochs / 2) << summary;
        EXPECT_EQ(count_lines(slurp(run + "/metrics.csv")), epochs + 2);  // header, epoch 0..epochs
        // The checkpoint holds the final state: resuming for one more iteration starts after the last one.
        const auto more = run_train("--resume " + run + " --set optim.max_iterations=" + std::to_string(epochs + 1), d);
        EXPECT_EQ(more.code, 0) << more.err;
        EXPECT_NE(more.out.find("resuming after epoch " + std::to_string(epochs)), std::string::npos) << more.out;
    }
}

// A run written before manifests existed (no manifest.txt) is still the
// run's own: --force replaces it and --resume continues it.
TEST(RunDirectory, RunWithoutAManifestIsStillItsOwn) {
    const std::string d = scratch("rundir_legacy");
    make_run(d, config(setup_data(d)));
    fs::remove(d + "/run/manifest.txt");
    auto r = run_train("--resume " + d + "/run --set train.epochs=4", d);
    EXPECT_EQ(r.code, 0) << r.err;
    fs::remove(d + "/run/manifest.txt");
    r = run_train("--config " + d + "/c.yaml --out " + d + "/run --force", d);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(fs::exists(d + "/run/manifest.txt"));
}

// A resume continues the run it finds, or is refused before anything changes:
// an edited data key or seed in config.yaml (manifest.txt recorded them as
// the run started), a checkpoint whose epoch metrics.csv does not reach
// (another run's file), --force with --resume, a --stop-after already passed.
TEST(RunDirectory, ResumeRefusesAnEditedConfigOrAnotherRunsCheckpoint) {
    const std::string d = scratch("rundir_bound");
    const std::string data = setup_data(d);
    spit(d + "/c.yaml", config(data));
    ASSERT_EQ(run_train("--config " + d + "/c.yaml --out " + d + "/run --set train.epochs=4 --stop-after 2", d).code, 0);
    ASSERT_EQ(run_train("--config " + d + "/c.yaml --out " + d + "/ahead --set train.epochs=4 --stop-after 3", d).code, 0);
    EXPECT_NE(slurp(d + "/run/manifest.txt").find("# fixed data.test_fraction: 0.2\n"), std::string::npos);
    const auto before = snapshot(d + "/run");
    const std::string yaml = slurp(d + "/run/config.yaml");
    struct Case {
        std::function<void()> change;
        std::string args;
        int code;
        std::string says;
    };
    auto edit = [&](const std::string& from, const std::string& to) {
        return [&, from, to] {
            std::string y = yaml;
            ASSERT_NE(y.find(from), std::string::npos) << y;
            y.replace(y.find(from), from.size(), to);
            spit(d + "/run/config.yaml", y);
        };
    };
    const std::vector<Case> cases = {
        {edit("test_fraction: 0.2", "test_fraction: 0.5"), "", 2,
         "'data.test_fraction: 0.5', but the run started with 'data.test_fraction: 0.2' (manifest.txt)"},
        {edit("seed: 1", "seed: 9"), "", 2, "'seed: 9', but the run started with 'seed: 1'"},
        {[&] { fs::copy_file(d + "/ahead/checkpoint.bin", d + "/run/checkpoint.bin", fs::copy_options::overwrite_existing); },
         "", 1, "checkpoint.bin: at epoch 3 (step"},
        // Without the manifest's record, rows.npy still tells a redrawn data set.
        {[&] { fs::remove(d + "/run/manifest.txt"); edit("seed: 1", "seed: 9")(); }, "", 2,
         "its seed and data keys draw other rows than the run trained on (rows.npy)"},
        // A last row cut short (3 of its fields left).
        {[&] {
             const std::string m = slurp(d + "/run/metrics.csv");
             const auto last = m.rfind('\n', m.size() - 2);
             spit(d + "/run/metrics.csv", m.substr(0, m.find(',', m.find(',', m.find(',', last + 1) + 1) + 1)));
         }, "", 1, "metrics.csv: line 4 is not a row of metrics"},
        {[] {}, " --force", 2, "--force: a resumed run continues its own files"},
        {[] {}, " --stop-after 2", 2, "--stop-after 2: " + d + "/run has already done 2 epochs"},
    };
    for (const Case& c : cases) {
        c.change();
        const auto changed = snapshot(d + "/run");
        const auto r = run_train("--resume " + d + "/run" + c.args, d);
        EXPECT_EQ(r.code, c.code) << c.says << ": " << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
        expect_one_line(r);
        EXPECT_EQ(snapshot(d + "/run"), changed);  // nothing written
        for (const auto& [name, bytes] : before) spit(d + "/run/" + name, bytes);  // restored
    }
    // Restored, it continues.
    const auto r = run_train("--resume " + d + "/run", d);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(last_epoch(d + "/run"), 4);
}

// Only a LatentLab checkpoint makes a directory without a manifest a run
// whose files --force may replace: a user's summary.json or checkpoint.bin
// named so by chance does not.
TEST(RunDirectory, ForceLeavesFilesThatOnlyShareARunsNames) {
    const std::string d = scratch("rundir_names");
    spit(d + "/c.yaml", config(setup_data(d)));
    for (const char* name : {"summary.json", "checkpoint.bin", "LLCKPT01"}) {
        fs::remove_all(d + "/out");
        fs::create_directories(d + "/out");
        // (LLCKPT01: a checkpoint's magic bytes alone, no checksum to match)
        if (std::string(name) == "LLCKPT01") name = "checkpoint.bin", spit(d + "/out/checkpoint.bin", "LLCKPT01");
        else spit(d + "/out/" + std::string(name), "precious\n");
        spit(d + "/out/W.npy", "precious\n");
        const auto r = run_train("--config " + d + "/c.yaml --out " + d + "/out --force", d);
        EXPECT_EQ(r.code, 2) << name << ": " << r.err;
        EXPECT_NE(r.err.find("W.npy: exists and was not written by a LatentLab run"), std::string::npos) << r.err;
        EXPECT_EQ(slurp(d + "/out/W.npy"), "precious\n");
        EXPECT_EQ(slurp(d + "/out/" + std::string(name)), std::string(name) == "checkpoint.bin" &&
                                                             slurp(d + "/out/checkpoint.bin") == "LLCKPT01"
                                                             ? "LLCKPT01" : "precious\n");
    }
    // A directory of other things (no file in a run's way) is not a run
    // directory either: refused, with or without --force, nothing added.
    fs::remove_all(d + "/out");
    fs::create_directories(d + "/out");
    spit(d + "/out/notes.txt", "mine\n");
    for (const char* force : {"", " --force"}) {
        const auto r = run_train("--config " + d + "/c.yaml --out " + d + "/out" + force, d);
        EXPECT_EQ(r.code, 2) << r.err;
        EXPECT_NE(r.err.find("holds other files and no LatentLab run"), std::string::npos) << r.err;
        EXPECT_EQ(snapshot(d + "/out"), (std::map<std::string, std::string>{{"notes.txt", "mine\n"}}));
    }
}

// Model sizes beyond memory (or beyond size_t, wrapped) are refused by the
// key, before the run directory exists: never a crash.
TEST(RunDirectory, AbsurdModelSizesAreRefusedUpFront) {
    const std::string d = scratch("rundir_sizes");
    spit(d + "/c.yaml", config(setup_data(d)));
    for (const std::string set : {"model.latent_dim=4611686018427387904", "model.type=mlp --set model.hidden=4611686018427387904",
                                  "model.type=mlp --set model.classes=9223372036854775807"}) {
        const auto r = run_train("--config " + d + "/c.yaml --out " + d + "/x --set " + set, d, 60);
        EXPECT_EQ(r.code, 2) << set << ": " << r.err;
        expect_one_line(r);
        EXPECT_NE(r.err.find(set.rfind("model.type=mlp", 0) == 0 ? "more than the memory this process may use allows"
                                                                  : "model.latent_dim"),
                  std::string::npos) << r.err;
        EXPECT_FALSE(fs::exists(d + "/x")) << set;
    }
}
