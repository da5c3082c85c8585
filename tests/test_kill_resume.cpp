// Kill and resume (reliability): a training run killed with SIGKILL in
// the middle of an epoch, then continued with `train --resume`, ends with
// exactly the parameters (bit for bit) and the metrics of an uninterrupted
// run with the same seed (one BLAS thread). After every kill the run
// directory holds only complete files: checkpoint.bin, W.npy, metrics.csv and
// config.yaml are the old or the new version, never half of one (they are
// written to NAME.tmp.PID, fsync'd and renamed); at most a killed process's
// own NAME.tmp.PID can be left behind, never read by anyone.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "latentlab/config/config.hpp"
#include "latentlab/io/npy.hpp"
#include "test_util.hpp"

extern char** environ;

using namespace latentlab;
using namespace latentlab::testing;
namespace fs = std::filesystem;

namespace {

constexpr long kEpochs = 20;

// 6000 x 200 with a clear spectrum; m = 96, batch 8: ~0.1 s an epoch, ~2.2 s a run
// (2 cores, Release, one BLAS thread).
void write_config(const std::string& dir) {
    const std::size_t N = 6000, n = 200;
    const auto X = randn_columns_scaled(N, n, 21, [](std::size_t j) { return j < 6 ? 3.0 - 0.4 * j : 0.3; });
    write_npy(dir + "/data.npy", make_raw<double>(X.data(), {N, n}));
    spit(dir + "/c.yaml", "seed: 11\n"
                          "data:\n  source: npy\n  path: " + dir + "/data.npy\n  test_fraction: 0.1\n"
                          "model:\n  latent_dim: 96\n  dtype: float64\n"
                          "optim:\n  type: adam\n  lr: 0.002\n  schedule: cosine\n"
                          "train:\n  epochs: " + std::to_string(kEpochs) + "\n  batch_size: 8\n  threads: 1\n");
}

// `train ARGS` in the background (one BLAS thread), output to DIR/.bg_*.
pid_t spawn_train(const std::string& args, const std::string& dir) {
    const std::string cmd = std::string("OPENBLAS_NUM_THREADS=1 exec ") + LATENTLAB_TRAIN_EXE + " " + args +
                            " >>" + dir + "/.bg_stdout 2>>" + dir + "/.bg_stderr";
    const char* argv[] = {"sh", "-c", cmd.c_str(), nullptr};
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ);
    EXPECT_EQ(rc, 0) << "posix_spawn";
    return rc == 0 ? pid : -1;
}

// The last epoch in metrics.csv (-1 if none yet).
long last_epoch(const std::string& run) {
    std::istringstream in(slurp(run + "/metrics.csv"));
    std::string line;
    long epoch = -1;
    std::getline(in, line);  // header
    while (std::getline(in, line))
        if (!line.empty()) epoch = std::strtol(line.c_str(), nullptr, 10);
    return epoch;
}

enum class Ended { killed, exited };

// Waits until metrics.csv shows an epoch >= `epoch`, then `delay` more, then
// SIGKILLs the process. Returns whether it was killed or had already exited.
Ended kill_after(pid_t pid, const std::string& run, long epoch, std::chrono::microseconds delay, int& exit_code) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    int status = 0;
    while (last_epoch(run) < epoch) {
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            return Ended::exited;
        }
        if (std::chrono::steady_clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return Ended::killed;
    exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return Ended::exited;
}

// metrics.csv without the wall-time columns (seconds, epoch_seconds: the last two).
std::string metrics_without_times(const std::string& csv) {
    std::istringstream in(csv);
    std::string line, out;
    while (std::getline(in, line)) {
        std::size_t cut = line.size();
        for (int k = 0; k < 2 && cut != std::string::npos; ++k) cut = line.rfind(',', cut - 1);
        out += line.substr(0, cut) + "\n";
    }
    return out;
}

// What SIGKILLs may leave: the files are complete; temporaries only of the
// killed processes (nothing removes a killed process's NAME.tmp.PID; no one
// reads it either).
void expect_complete_after_kill(const std::string& run, const std::set<pid_t>& killed, long min_epoch) {
    SCOPED_TRACE(run);
    for (const auto& e : fs::directory_iterator(run)) {
        const std::string name = e.path().filename().string();
        const auto tmp = name.find(".tmp.");
        if (tmp != std::string::npos) {
            const long pid = std::strtol(name.c_str() + tmp + 5, nullptr, 10);
            EXPECT_TRUE(killed.count(static_cast<pid_t>(pid))) << name << ": a temporary of a process not killed";
            std::printf("note: %s left by killed process %ld\n", name.c_str(), pid);
        }
    }
    const std::string ck = slurp(run + "/checkpoint.bin");
    ASSERT_GE(ck.size(), 12u);
    EXPECT_EQ(ck.substr(0, 8), "LLCKPT01");
    EXPECT_EQ(ck.substr(ck.size() - 4), "END!") << "checkpoint.bin is half-written";
    RawTensor W;
    ASSERT_NO_THROW(W = read_npy(run + "/W.npy"));
    EXPECT_EQ(W.shape, (std::vector<std::size_t>{96, 200}));
    for (std::size_t i = 0; i < W.size(); ++i) ASSERT_TRUE(std::isfinite(W.at(i)));
    const std::string metrics = slurp(run + "/metrics.csv");
    ASSERT_FALSE(metrics.empty());
    EXPECT_EQ(metrics.back(), '\n');
    EXPECT_GE(last_epoch(run), min_epoch);
    EXPECT_NO_THROW(parse_config(slurp(run + "/config.yaml"), run + "/config.yaml"));
}

void expect_same_as_reference(const std::string& run, const std::string& ref) {
    const std::string W = slurp(run + "/W.npy"), W_ref = slurp(ref + "/W.npy");
    ASSERT_FALSE(W_ref.empty());
    EXPECT_TRUE(W == W_ref) << "W.npy differs from the uninterrupted run's";
    EXPECT_EQ(metrics_without_times(slurp(run + "/metrics.csv")), metrics_without_times(slurp(ref + "/metrics.csv")));
    EXPECT_NE(slurp(run + "/summary.json").find("\"epochs\": " + std::to_string(kEpochs)), std::string::npos);
}

// The uninterrupted reference run, in DIR/ref.
void reference_run(const std::string& dir) {
    const auto r = run_train("--config " + dir + "/c.yaml --out " + dir + "/ref --quiet", dir);
    ASSERT_EQ(r.code, 0) << r.err;
    ASSERT_EQ(last_epoch(dir + "/ref"), kEpochs);
}

}  // namespace

TEST(KillResume, SigkillMidEpochThenResumeIsBitExact) {
    const std::string dir = scratch("kill_resume_once");
    write_config(dir);
    reference_run(dir);
    if (HasFatalFailure()) return;

    const std::string run = dir + "/run";
    const pid_t pid = spawn_train("--config " + dir + "/c.yaml --out " + run + " --quiet", dir);
    ASSERT_GT(pid, 0);
    int code = -1;
    // Epoch 2 is written; 30 ms later the process is inside epoch 3.
    ASSERT_EQ(kill_after(pid, run, 2, std::chrono::milliseconds(30), code), Ended::killed)
        << "the run ended (exit " << code << ") before it could be killed: " << slurp(dir + "/.bg_stderr");
    const long at_kill = last_epoch(run);
    EXPECT_LT(at_kill, kEpochs);
    expect_complete_after_kill(run, {pid}, 2);

    const auto r = run_train("--resume " + run + " --quiet", dir);
    ASSERT_EQ(r.code, 0) << r.err;
    expect_same_as_reference(run, dir + "/ref");
}

TEST(KillResume, FiveKillsAtRandomTimesStillBitExact) {
    const std::string dir = scratch("kill_resume_five");
    write_config(dir);
    reference_run(dir);
    if (HasFatalFailure()) return;

    const std::string run = dir + "/run";
    // Random delays, printed so that a failure can be replayed.
    const auto seed = static_cast<std::uint32_t>(std::random_device{}());
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> delay_us(0, 150000);  // up to about an epoch and a half
    RecordProperty("kill_seed", std::to_string(seed));
    SCOPED_TRACE("kill delays from seed " + std::to_string(seed));

    int kills = 0;
    long seen = 0;
    std::set<pid_t> killed;
    for (int attempt = 0; attempt < 5; ++attempt) {
        const std::string args = attempt == 0 ? "--config " + dir + "/c.yaml --out " + run : "--resume " + run;
        const pid_t pid = spawn_train(args + " --quiet", dir);
        ASSERT_GT(pid, 0);
        int code = -1;
        // Each session must get past one more epoch before it is killed: the run progresses.
        const auto delay = std::chrono::microseconds(delay_us(rng));
        if (kill_after(pid, run, seen + 1, delay, code) == Ended::exited) {
            ASSERT_EQ(code, 0) << slurp(dir + "/.bg_stderr");
            break;  // finished before the kill
        }
        ++kills;
        killed.insert(pid);
        expect_complete_after_kill(run, killed, seen + 1);
        if (HasFatalFailure()) return;
        seen = last_epoch(run);
    }
    EXPECT_GE(kills, 3) << "the run finished too soon to be killed five times";
    const auto r = run_train("--resume " + run + " --quiet", dir);
    ASSERT_EQ(r.code, 0) << r.err;
    expect_same_as_reference(run, dir + "/ref");
}
