// The `train` binary end to end on small synthetic data: config errors,
// overrides, outputs, resume and divergence.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "latentlab/io/npy.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;

namespace {

// 600×20 data with a clear spectrum, as .npy; returns its path.
std::string write_data(const std::string& dir) {
    const std::size_t N = 600, n = 20;
    const auto X = randn_columns_scaled(N, n, 7, [](std::size_t j) { return j < 4 ? 3.0 - 0.5 * j : 0.3; });
    const std::string path = dir + "/data.npy";
    write_npy(path, make_raw<double>(X.data(), {N, n}));
    return path;
}

std::string config_text(const std::string& data, const std::string& extra = "") {
    return "seed: 3\n"
           "data:\n  source: npy\n  path: " + data + "\n  test_fraction: 0.1\n"
           "model:\n  latent_dim: 4\n  dtype: float64\n"
           "optim:\n  type: adam\n  lr: 0.01\n  schedule: cosine\n"
           "train:\n  epochs: 6\n  batch_size: 50\n  threads: 1\n" + extra;
}

}  // namespace

TEST(Cli, TrainsAndWritesTheRunDirectory) {
    const auto dir = scratch("cli_ok");
    spit(dir + "/c.yaml", config_text(write_data(dir)));
    const auto r = run_train("--config " + dir + "/c.yaml --out " + dir + "/run", dir);
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* f : {"config.yaml", "train.log", "metrics.csv", "W.npy", "checkpoint.bin",
                          "summary.json", "pca_components.npy"})
        EXPECT_TRUE(std::filesystem::exists(dir + "/run/" + f)) << f;
    const auto W = read_npy(dir + "/run/W.npy");
    EXPECT_EQ(W.shape, (std::vector<std::size_t>{4, 20}));
    const auto summary = slurp(dir + "/run/summary.json");
    for (const char* k : {"\"final_loss\"", "\"optimal_loss\"", "\"loss_ratio\"", "\"principal_angles_deg\"",
                          "\"max_principal_angle_deg\"", "\"mean_principal_angle_deg\"",
                          "\"orthonormality_error\"", "\"seconds\"", "\"epochs\": 6"})
        EXPECT_NE(summary.find(k), std::string::npos) << k;
    // metrics.csv: header + epochs 0..6
    EXPECT_EQ(count_lines(slurp(dir + "/run/metrics.csv")), 8);
    EXPECT_NE(r.out.find("loss ratio L/L*"), std::string::npos);
}

TEST(Cli, SetOverridesReachTheResolvedConfig) {
    const auto dir = scratch("cli_set");
    spit(dir + "/c.yaml", config_text(write_data(dir)));
    const auto r = run_train("--config " + dir + "/c.yaml --out " + dir + "/run --set optim.lr=0.02 "
                             "--set train.epochs=2 --set data.center=true",
                             dir);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto resolved = slurp(dir + "/run/config.yaml");
    EXPECT_NE(resolved.find("lr: 0.02"), std::string::npos) << resolved;
    EXPECT_NE(resolved.find("epochs: 2"), std::string::npos) << resolved;
    EXPECT_NE(resolved.find("center: true"), std::string::npos) << resolved;
    EXPECT_NE(slurp(dir + "/run/summary.json").find("\"epochs\": 2"), std::string::npos);
}

TEST(Cli, ConfigErrorsAreOneLineWithFileLineAndKey) {
    const auto dir = scratch("cli_bad");
    const auto data = write_data(dir);
    struct Case {
        std::string extra_or_set, expect1, expect2;
        bool is_set;
    };
    const std::vector<Case> cases = {
        {"  lrr: 0.1\n", "unknown key 'train.lrr'", "", false},
        {"optm:\n  lr: 0.1\n", "optm", "did you mean 'optim'", false},
        {"--set optim.lr=-1", "optim.lr must be > 0", "--set optim.lr=-1", true},
        {"--set train.batch_size=abc", "train.batch_size", "abc", true},
        {"--set model.latent_dim=20", "model.latent_dim 20 must be smaller than the data dimension 20", "", true},
        {"--set optim.lr", "expected key.path=value", "", true},
    };
    for (const auto& c : cases) {
        std::string args = "--config " + dir + "/c.yaml --out " + dir + "/run";
        if (c.is_set) {
            spit(dir + "/c.yaml", config_text(data));
            args += " " + c.extra_or_set;
        } else {
            spit(dir + "/c.yaml", config_text(data, c.extra_or_set));
        }
        const auto r = run_train(args, dir);
        EXPECT_EQ(r.code, 2) << c.extra_or_set << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find(c.expect1), std::string::npos) << r.err;
        EXPECT_NE(r.err.find(c.expect2), std::string::npos) << r.err;
        if (!c.is_set) {
            EXPECT_NE(r.err.find(dir + "/c.yaml:"), std::string::npos) << r.err;
        }
        EXPECT_FALSE(std::filesystem::exists(dir + "/run/summary.json"));
    }
}

TEST(Cli, MissingDataFileIsNamed) {
    const auto dir = scratch("cli_missing");
    spit(dir + "/c.yaml", config_text(dir + "/nope.npy"));
    const auto r = run_train("--config " + dir + "/c.yaml --out " + dir + "/run", dir);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(dir + "/nope.npy"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir + "/run"));  // nothing created before data loaded
}

TEST(Cli, RefusesToOverwriteARunWithoutForce) {
    const auto dir = scratch("cli_force");
    spit(dir + "/c.yaml", config_text(write_data(dir), ""));
    ASSERT_EQ(run_train("--config " + dir + "/c.yaml --out " + dir + "/run --set train.epochs=1", dir).code, 0);
    const auto before = slurp(dir + "/run/W.npy");
    const auto r = run_train("--config " + dir + "/c.yaml --out " + dir + "/run --set train.epochs=1", dir);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
    EXPECT_EQ(slurp(dir + "/run/W.npy"), before);
    EXPECT_EQ(run_train("--config " + dir + "/c.yaml --out " + dir + "/run --force --set train.epochs=1", dir).code, 0);
}

TEST(Cli, ResumeOfANonRunDirectoryFails) {
    const auto dir = scratch("cli_resume_bad");
    const auto r = run_train("--resume " + dir, dir);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("not a run directory"), std::string::npos) << r.err;
}

// A run stopped after epoch 3 and resumed ends with exactly the W of an
// uninterrupted run (one BLAS thread): the batch order is a function of
// (seed, epoch), and the checkpoint holds the optimiser state.
TEST(Cli, ResumeIsBitExact) {
    for (const char* opt : {"adam", "sgd"}) {
        const auto dir = scratch(std::string("cli_resume_") + opt);
        spit(dir + "/c.yaml", config_text(write_data(dir)) );
        const std::string set = std::string(" --set optim.type=") + opt + " --set optim.momentum=0.9" +
                                (std::string(opt) == "sgd" ? " --set optim.lr=0.001" : "");
        ASSERT_EQ(run_train("--config " + dir + "/c.yaml --out " + dir + "/full" + set, dir).code, 0);
        ASSERT_EQ(run_train("--config " + dir + "/c.yaml --out " + dir + "/part --stop-after 3" + set, dir).code, 0);
        EXPECT_NE(slurp(dir + "/part/W.npy"), slurp(dir + "/full/W.npy"));  // really stopped early
        EXPECT_NE(slurp(dir + "/part/summary.json").find("\"epochs\": 3"), std::string::npos);
        const auto r = run_train("--resume " + dir + "/part", dir);
        ASSERT_EQ(r.code, 0) << r.err;
        EXPECT_EQ(slurp(dir + "/part/W.npy"), slurp(dir + "/full/W.npy")) << opt;
        EXPECT_NE(slurp(dir + "/part/summary.json").find("\"epochs\": 6"), std::string::npos);
        // metrics.csv: epochs 0..6 once each, the losses identical to the full run's
        auto losses = [](const std::string& csv) {
            std::istringstream in(csv);
            std::string line, out;
            std::getline(in, line);
            while (std::getline(in, line)) out += line.substr(0, line.find(',', line.find(',', line.find(',') + 1) + 1)) + "\n";
            return out;
        };
        EXPECT_EQ(losses(slurp(dir + "/part/metrics.csv")), losses(slurp(dir + "/full/metrics.csv")));
    }
}

TEST(Cli, DivergingRunStopsKeepsLastGoodParametersAndExitsNonZero) {
    const auto dir = scratch("cli_diverge");
    spit(dir + "/c.yaml", config_text(write_data(dir)));
    const auto r = run_train("--config " + dir + "/c.yaml --out " + dir + "/run --set optim.type=sgd "
                             "--set optim.lr=50 --set optim.schedule=constant",
                             dir);
    EXPECT_EQ(r.code, 3) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("diverged"), std::string::npos) << r.err;
    const auto W = read_npy(dir + "/run/W.npy");
    for (std::size_t i = 0; i < W.size(); ++i) ASSERT_TRUE(std::isfinite(W.at(i)));
    EXPECT_NE(slurp(dir + "/run/summary.json").find("\"status\": \"diverged\""), std::string::npos);
}

namespace {

// 150 labelled points in 12 dimensions from 3 clusters, as .npy (+ labels).
std::string write_labelled_data(const std::string& dir) {
    const std::size_t N = 150, D = 12;
    std::mt19937_64 rng(11);
    std::normal_distribution<double> g(0, 1);
    std::vector<double> Y(N * D), lab(N);
    for (std::size_t i = 0; i < N; ++i) {
        lab[i] = static_cast<double>(i % 3);
        for (std::size_t j = 0; j < D; ++j) Y[i * D + j] = g(rng) * 0.5 + (j % 3 == i % 3 ? 2.0 : 0.0);
    }
    write_npy(dir + "/labels.npy", make_raw<double>(lab.data(), {N}));
    write_npy(dir + "/y.npy", make_raw<double>(Y.data(), {N, D}));
    return dir + "/y.npy";
}

std::string gplvm_config(const std::string& data, const std::string& labels) {
    return "seed: 1\n"
           "data:\n  source: npy\n  path: " + data + "\n  labels: " + labels + "\n  center: true\n"
           "model:\n  type: gplvm\n  kernel: linear\n  latent_dim: 2\n  dtype: float64\n"
           "  init: random\n  noise_variance: 0.5\n"
           "optim:\n  type: lbfgs\n  max_iterations: 300\n  grad_tol: 1.0e-8\n  rel_tol: 0.0\n"
           "train:\n  threads: 1\n";
}

}  // namespace

TEST(CliGplvm, LinearRunReachesTheAnalyticMaximumAndWritesLatents) {
    const auto dir = scratch("cli_gplvm");
    spit(dir + "/g.yaml", gplvm_config(write_labelled_data(dir), dir + "/labels.npy"));
    const auto r = run_train("--config " + dir + "/g.yaml --out " + dir + "/run", dir);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto X = read_npy(dir + "/run/X.npy");
    EXPECT_EQ(X.shape, (std::vector<std::size_t>{150, 2}));
    EXPECT_EQ(read_npy(dir + "/run/labels.npy").shape, (std::vector<std::size_t>{150}));
    EXPECT_EQ(read_npy(dir + "/run/pca_latent.npy").shape, (std::vector<std::size_t>{150, 2}));
    const auto metrics = slurp(dir + "/run/metrics.csv");
    EXPECT_NE(metrics.find("log_likelihood"), std::string::npos);
    EXPECT_NE(metrics.find("noise_variance"), std::string::npos);
    const auto summary = slurp(dir + "/run/summary.json");
    for (const char* k : {"\"log_likelihood\"", "\"analytic_log_likelihood\"", "\"likelihood_gap\"", "\"knn_error\"",
                          "\"pca_knn_error\""})
        EXPECT_NE(summary.find(k), std::string::npos) << k;
    // the relative gap, as written
    const auto pos = summary.find("\"likelihood_gap_relative\": ");
    ASSERT_NE(pos, std::string::npos);
    const double gap = std::strtod(summary.c_str() + pos + 27, nullptr);
    EXPECT_LT(std::abs(gap), 1e-6) << summary;
}

TEST(CliGplvm, BadConfigsAreOneLineErrors) {
    const auto dir = scratch("cli_gplvm_bad");
    const auto data = write_labelled_data(dir);
    spit(dir + "/g.yaml", gplvm_config(data, dir + "/labels.npy"));
    struct Case {
        std::string set, expect;
    };
    for (const Case& c : std::vector<Case>{
             {"--set data.limit=3 --set model.latent_dim=3", "must be smaller than the number of points N = 3"},
             {"--set model.latent_dim=12", "must be smaller than the data dimension D = 12"},
             {"--set model.noise_variance=-1", "model.noise_variance must be > 0"},
             {"--set model.kernel=matern", "model.kernel must be one of auto, linear, rbf, rbf_ard"},
             {"--set model.kernel=rbf --set model.method=woodbury", "woodbury needs the linear kernel"},
             {"--set data.test_fraction=0.2", "data.test_fraction must be 0 for model.type gplvm"},
             {"--set optim.type=adam --set train.batch_size=0", "train.batch_size must be >= 1"},
         }) {
        const auto r = run_train("--config " + dir + "/g.yaml --out " + dir + "/run " + c.set, dir);
        EXPECT_EQ(r.code, 2) << c.set << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.set << ": " << r.err;
        EXPECT_FALSE(std::filesystem::exists(dir + "/run"));
    }
}

TEST(CliGplvm, LbfgsResumeIsBitExact) {
    const auto dir = scratch("cli_gplvm_resume");
    spit(dir + "/g.yaml", gplvm_config(write_labelled_data(dir), dir + "/labels.npy"));
    const std::string set = " --set optim.max_iterations=12 --set optim.grad_tol=0";
    ASSERT_EQ(run_train("--config " + dir + "/g.yaml --out " + dir + "/full" + set, dir).code, 0);
    ASSERT_EQ(run_train("--config " + dir + "/g.yaml --out " + dir + "/part --stop-after 5" + set, dir).code, 0);
    EXPECT_NE(slurp(dir + "/part/X.npy"), slurp(dir + "/full/X.npy"));
    const auto r = run_train("--resume " + dir + "/part", dir);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(slurp(dir + "/part/X.npy"), slurp(dir + "/full/X.npy"));
}

namespace {
std::string bgplvm_config(const std::string& data, const std::string& labels) {
    return "seed: 1\n"
           "data:\n  source: npy\n  path: " + data + "\n  labels: " + labels + "\n  center: true\n"
           "model:\n  type: bayesian_gplvm\n  latent_dim: 3\n  inducing: 10\n  dtype: float64\n"
           "optim:\n  type: lbfgs\n  max_iterations: 60\n"
           "train:\n  threads: 1\n";
}
double summary_number(const std::string& summary, const std::string& key) {
    const auto pos = summary.find("\"" + key + "\": ");
    return pos == std::string::npos ? NAN : std::strtod(summary.c_str() + pos + key.size() + 4, nullptr);
}
}  // namespace

TEST(CliBayesianGplvm, RunWritesTheVariationalPosteriorAndBeatsPca) {
    const auto dir = scratch("cli_bgplvm");
    spit(dir + "/b.yaml", bgplvm_config(write_labelled_data(dir), dir + "/labels.npy"));
    const auto r = run_train("--config " + dir + "/b.yaml --out " + dir + "/run", dir);
    ASSERT_EQ(r.code, 0) << r.err;
    using Shape = std::vector<std::size_t>;
    EXPECT_EQ(read_npy(dir + "/run/X_mean.npy").shape, (Shape{150, 3}));
    EXPECT_EQ(read_npy(dir + "/run/X_var.npy").shape, (Shape{150, 3}));
    EXPECT_EQ(read_npy(dir + "/run/Z.npy").shape, (Shape{10, 3}));
    EXPECT_EQ(read_npy(dir + "/run/variance_grid.npy").shape, (Shape{60, 60}));
    const auto summary = slurp(dir + "/run/summary.json");
    for (const char* k : {"\"relevance\"", "\"active_dims\"", "\"plot_dims\"", "\"lengthscale_2\""})
        EXPECT_NE(summary.find(k), std::string::npos) << k;
    // The ELBO rises from the PCA start, the KL is positive, and the means
    // separate the three clusters at least as well as PCA does.
    const auto metrics = slurp(dir + "/run/metrics.csv");
    ASSERT_NE(metrics.find(",elbo,"), std::string::npos) << metrics;
    const double elbo = summary_number(summary, "elbo"), kl = summary_number(summary, "kl");
    EXPECT_GT(kl, 0);
    EXPECT_LT(std::abs(elbo - (summary_number(summary, "data_term") - kl)), 1e-9 * std::abs(elbo));
    EXPECT_LE(summary_number(summary, "knn_error"), summary_number(summary, "pca_knn_error")) << summary;
    // variances stay in (0, 1]: the prior's, shrunk by the data
    const auto var = read_npy(dir + "/run/X_var.npy");
    for (std::size_t i = 0; i < var.size(); ++i) ASSERT_TRUE(var.at(i) > 0 && var.at(i) <= 1.0 + 1e-9) << var.at(i);
}

TEST(CliBayesianGplvm, BadConfigsAreOneLineErrors) {
    const auto dir = scratch("cli_bgplvm_bad");
    spit(dir + "/b.yaml", bgplvm_config(write_labelled_data(dir), dir + "/labels.npy"));
    struct Case {
        std::string set, expect;
    };
    for (const Case& c : std::vector<Case>{
             {"--set model.inducing=151", "model.inducing 151 must be between 1 and the number of points N = 150"},
             {"--set model.inducing=0", "model.inducing must be >= 1"},
             {"--set data.test_fraction=0.2", "data.test_fraction must be 0 for model.type bayesian_gplvm"},
             {"--set model.latent_dim=12", "must be smaller than the data dimension D = 12"},
         }) {
        const auto r = run_train("--config " + dir + "/b.yaml --out " + dir + "/run " + c.set, dir);
        EXPECT_EQ(r.code, 2) << c.set << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.set << ": " << r.err;
        EXPECT_FALSE(std::filesystem::exists(dir + "/run"));
    }
}

TEST(CliBayesianGplvm, LbfgsResumeIsBitExact) {
    const auto dir = scratch("cli_bgplvm_resume");
    spit(dir + "/b.yaml", bgplvm_config(write_labelled_data(dir), dir + "/labels.npy"));
    const std::string set = " --set optim.max_iterations=12 --set optim.grad_tol=0";
    ASSERT_EQ(run_train("--config " + dir + "/b.yaml --out " + dir + "/full" + set, dir).code, 0);
    ASSERT_EQ(run_train("--config " + dir + "/b.yaml --out " + dir + "/part --stop-after 5" + set, dir).code, 0);
    EXPECT_NE(slurp(dir + "/part/X_mean.npy"), slurp(dir + "/full/X_mean.npy"));
    const auto r = run_train("--resume " + dir + "/part", dir);
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* f : {"X_mean.npy", "X_log_var.npy", "Z.npy", "log_hyper.npy", "X_var.npy"})
        EXPECT_EQ(slurp(dir + "/part/" + f), slurp(dir + "/full/" + f)) << f;
}

// Stochastic training (mini-batches, explicit q(u), Adam with a cosine
// schedule) against the collapsed bound on a curved 2-d sheet in 10-d: its
// uncollapsed ELBO ends within 1% of the collapsed bound at the same q(X), Z
// and kernel (q(u) has converged to its optimum), and it reaches the ELBO of
// the collapsed fit by L-BFGS to within 1% (here it finds a better optimum).
TEST(CliBayesianGplvm, StochasticTrainingReachesTheCollapsedBound) {
    const auto dir = scratch("cli_bgplvm_svi");
    const std::size_t N = 300, D = 10;
    const auto Z = randn(N * 2, 1.0, 41), A = randn(2 * D, 1.0, 42), E = randn(N * D, 0.05, 43);
    std::vector<double> Y(N * D);
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = 0; j < D; ++j)
            Y[i * D + j] = std::sin(Z[2 * i] * A[j] + Z[2 * i + 1] * A[D + j]) + E[i * D + j];
    write_npy(dir + "/y.npy", make_raw<double>(Y.data(), {N, D}));
    spit(dir + "/b.yaml", "seed: 1\ndata:\n  source: npy\n  path: " + dir + "/y.npy\n  center: true\n"
                          "model:\n  type: bayesian_gplvm\n  latent_dim: 2\n  inducing: 12\n  dtype: float64\n"
                          "optim:\n  type: lbfgs\n  max_iterations: 2000\ntrain:\n  threads: 1\n");
    const auto c = run_train("--config " + dir + "/b.yaml --out " + dir + "/collapsed", dir);
    ASSERT_EQ(c.code, 0) << c.err;
    const auto s = run_train("--config " + dir + "/b.yaml --out " + dir + "/stochastic --set model.inference=stochastic"
                             " --set optim.type=adam --set optim.lr=0.02 --set optim.schedule=cosine"
                             " --set optim.min_lr=0.0005 --set train.epochs=100 --set train.batch_size=50", dir);
    ASSERT_EQ(s.code, 0) << s.err;
    const auto cs = slurp(dir + "/collapsed/summary.json"), ss = slurp(dir + "/stochastic/summary.json");
    const double lbfgs = summary_number(cs, "elbo"), sto = summary_number(ss, "elbo"),
                 same = summary_number(ss, "collapsed_elbo");
    EXPECT_GE(sto, same - 0.01 * std::abs(same)) << ss;
    EXPECT_LE(sto, same + 1e-6 * std::abs(same)) << "the uncollapsed bound cannot exceed the collapsed one";
    EXPECT_GE(sto, lbfgs - 0.01 * std::abs(lbfgs)) << "stochastic " << sto << " vs L-BFGS on the collapsed bound " << lbfgs;
    // every epoch's ELBO is a full-data evaluation, and the run resumes bit-exactly
    const auto metrics = slurp(dir + "/stochastic/metrics.csv");
    EXPECT_NE(metrics.find(",elbo"), std::string::npos);
}

TEST(CliBayesianGplvm, StochasticResumeIsBitExact) {
    const auto dir = scratch("cli_bgplvm_svi_resume");
    spit(dir + "/b.yaml", bgplvm_config(write_labelled_data(dir), dir + "/labels.npy"));
    const std::string set = " --set model.inference=stochastic --set optim.type=adam --set optim.lr=0.01"
                            " --set train.epochs=6 --set train.batch_size=32";
    ASSERT_EQ(run_train("--config " + dir + "/b.yaml --out " + dir + "/full" + set, dir).code, 0);
    ASSERT_EQ(run_train("--config " + dir + "/b.yaml --out " + dir + "/part --stop-after 2" + set, dir).code, 0);
    const auto r = run_train("--resume " + dir + "/part", dir);
    ASSERT_EQ(r.code, 0) << r.err;
    for (const char* f : {"X_mean.npy", "X_log_var.npy", "Z.npy", "log_hyper.npy", "q_u_mean.npy", "q_u_chol.npy"})
        EXPECT_EQ(slurp(dir + "/part/" + f), slurp(dir + "/full/" + f)) << f;
    const auto bad = run_train("--config " + dir + "/b.yaml --out " + dir + "/bad --set model.inference=stochastic", dir);
    EXPECT_EQ(bad.code, 2);
    EXPECT_NE(bad.err.find("model.inference stochastic trains on mini-batches: set optim.type to adam"),
              std::string::npos) << bad.err;
}

TEST(CliModels, MlpReportsAccuracyPerEpochAndOnTheHeldOutRows) {
    const auto dir = scratch("cli_mlp");
    const auto data = write_labelled_data(dir);
    spit(dir + "/m.yaml", "seed: 2\ndata:\n  source: npy\n  path: " + data + "\n  labels: " + dir +
                              "/labels.npy\n  test_fraction: 0.2\nmodel:\n  type: mlp\n  hidden: 16\n  classes: 3\n"
                              "optim:\n  lr: 0.01\ntrain:\n  epochs: 15\n  batch_size: 16\n  threads: 1\n");
    const auto r = run_train("--config " + dir + "/m.yaml --out " + dir + "/run", dir);
    ASSERT_EQ(r.code, 0) << r.err;
    const auto metrics = slurp(dir + "/run/metrics.csv");
    EXPECT_NE(metrics.find("train_accuracy,test_accuracy"), std::string::npos) << metrics;
    const auto summary = slurp(dir + "/run/summary.json");
    const auto pos = summary.find("\"test_accuracy\": ");
    ASSERT_NE(pos, std::string::npos) << summary;
    EXPECT_GT(std::strtod(summary.c_str() + pos + 17, nullptr), 0.9) << summary;
    for (const char* f : {"W1.npy", "b1.npy", "W2.npy", "b2.npy"}) EXPECT_TRUE(std::filesystem::exists(dir + "/run/" + f));
    // without labels: a config error before anything is written
    spit(dir + "/nolab.yaml", "data:\n  source: npy\n  path: " + data + "\nmodel:\n  type: mlp\n  classes: 3\n");
    const auto bad = run_train("--config " + dir + "/nolab.yaml --out " + dir + "/run2", dir);
    EXPECT_EQ(bad.code, 2) << bad.err;
    EXPECT_NE(bad.err.find("needs class labels"), std::string::npos) << bad.err;
}

TEST(CliModels, GradcheckPassesForEveryModelTypeAndWritesNothing) {
    const auto dir = scratch("cli_gradcheck");
    const auto data = write_labelled_data(dir);
    const std::string base = "data:\n  source: npy\n  path: " + data + "\n  labels: " + dir + "/labels.npy\n";
    for (const std::string model : {"type: linear_autoencoder\n  latent_dim: 3",
                                    "type: nonlinear_autoencoder\n  latent_dim: 3\n  activation: tanh",
                                    "type: mlp\n  hidden: 8\n  classes: 3\n  dtype: float64",
                                    "type: gplvm\n  latent_dim: 2\n  kernel: rbf\n  learn_hyperparameters: true"}) {
        spit(dir + "/g.yaml", base + "model:\n  " + model + "\n");
        const auto r = run_train("--config " + dir + "/g.yaml --out " + dir + "/run --gradcheck", dir);
        EXPECT_EQ(r.code, 0) << model << "\n" << r.out << r.err;
        EXPECT_NE(r.out.find("gradient check passed"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("max rel err"), std::string::npos) << r.out;
        EXPECT_FALSE(std::filesystem::exists(dir + "/run"));
    }
}
