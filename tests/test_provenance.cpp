// Every output row maps back to its input row (rows.npy), the split is the
// same on every standard library (data/shuffle.hpp), and a run that stops at
// its limit says so (summary.json stop_reason, converged).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <set>
#include <vector>

#include "latentlab/data/shuffle.hpp"
#include "latentlab/io/npy.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;
namespace fs = std::filesystem;

// The generator is the standard's (26.6.4.2: the 10000th output of a
// default-constructed mt19937_64 is 9981545732273789042), and the shuffle on
// top of it is ours, so this permutation is the same with any library.
TEST(Shuffle, SamePermutationOnEveryStandardLibrary) {
    std::mt19937_64 standard;
    std::uint64_t x = 0;
    for (int i = 0; i < 10000; ++i) x = standard();
    EXPECT_EQ(x, 9981545732273789042ULL);

    std::mt19937_64 rng(7);
    std::vector<int> v(10);
    for (int i = 0; i < 10; ++i) v[static_cast<std::size_t>(i)] = i;
    shuffle(v, rng);
    // Fisher–Yates with rejection-sampled draws, replayed by hand from the
    // generator's outputs (below): the permutation of seed 7.
    std::mt19937_64 replay(7);
    std::vector<int> w(10);
    for (int i = 0; i < 10; ++i) w[static_cast<std::size_t>(i)] = i;
    for (std::uint64_t i = 10; i > 1; --i) {
        const std::uint64_t limit = UINT64_MAX - (UINT64_MAX - i + 1) % i;
        std::uint64_t r;
        do r = replay();
        while (r > limit);
        std::swap(w[i - 1], w[r % i]);
    }
    EXPECT_EQ(v, w);
    EXPECT_EQ(v, (std::vector<int>{0, 7, 4, 9, 3, 1, 2, 8, 6, 5}));
}

TEST(Shuffle, UniformBelowIsUnbiased) {
    std::mt19937_64 rng(11);
    for (const std::uint64_t m : {1ULL, 2ULL, 3ULL, 7ULL, 1000ULL}) {
        std::vector<double> counts(m, 0.0);
        const int draws = 70000;
        for (int i = 0; i < draws; ++i) {
            const auto u = uniform_below(m, rng);
            ASSERT_LT(u, m);
            counts[u] += 1;
        }
        // Chi-square against uniform: mean m − 1, sd sqrt(2(m − 1)); 6 sd is never reached by chance.
        double chi2 = 0;
        const double e = static_cast<double>(draws) / static_cast<double>(m);
        for (double c : counts) chi2 += (c - e) * (c - e) / e;
        const double dof = static_cast<double>(m) - 1;
        EXPECT_LT(chi2, dof + 6 * std::sqrt(2 * dof) + 1e-9) << "m " << m;
    }
}

namespace {
constexpr std::size_t kRows = 150, kDim = 6;

// Σ ½‖Wᵀ W x − x‖² of the tied AE with W (2×kDim) on row x (minus `mean`, if given).
double ae_row_loss(const RawTensor& W, const double* row, const RawTensor* mean = nullptr) {
    std::vector<double> x(row, row + kDim);
    if (mean)
        for (std::size_t j = 0; j < kDim; ++j) x[j] -= mean->at(j);
    double a[2] = {0, 0}, loss = 0;
    for (std::size_t k = 0; k < 2; ++k)
        for (std::size_t j = 0; j < kDim; ++j) a[k] += W.at(k * kDim + j) * x[j];
    for (std::size_t j = 0; j < kDim; ++j) {
        const double rj = W.at(j) * a[0] + W.at(kDim + j) * a[1] - x[j];
        loss += 0.5 * rj * rj;
    }
    return loss;
}

// Data whose row i is recognisable: column 0 holds i.
std::vector<double> numbered_rows() {
    auto X = randn(kRows * kDim, 1.0, 3);
    for (std::size_t i = 0; i < kRows; ++i) X[i * kDim] = static_cast<double>(i);
    return X;
}
}  // namespace

// Shuffle, limit, split: rows.npy names the input row of every train and then
// test row; the test loss the run reports is the loss on exactly those input
// rows, recomputed here from W.npy.
TEST(Provenance, RowsMapOutputsBackToTheInput) {
    const std::string d = scratch("provenance_rows");
    const auto X = numbered_rows();
    write_npy(d + "/data.npy", make_raw<double>(X.data(), {kRows, kDim}));
    spit(d + "/c.yaml", "seed: 4\ndata:\n  source: npy\n  path: " + d +
                            "/data.npy\n  limit: 100\n  test_fraction: 0.3\n"
                            "model:\n  latent_dim: 2\n  dtype: float64\noptim:\n  lr: 0.01\n"
                            "train:\n  epochs: 2\n  batch_size: 10\n  threads: 1\n");
    const auto r = run_train("--config " + d + "/c.yaml --out " + d + "/run -q", d);
    ASSERT_EQ(r.code, 0) << r.err;
    const RawTensor rows = read_npy(d + "/run/rows.npy");
    ASSERT_EQ(rows.dtype, DType::i64);
    ASSERT_EQ(rows.rows(), 100u);
    std::set<long> seen;
    for (std::size_t i = 0; i < 100; ++i) {
        const auto row = static_cast<long>(rows.at(i));
        ASSERT_GE(row, 0);
        ASSERT_LT(row, static_cast<long>(kRows));
        seen.insert(row);
    }
    EXPECT_EQ(seen.size(), 100u);  // distinct input rows
    // The test loss of the final W over input rows rows[70..99].
    const RawTensor W = read_npy(d + "/run/W.npy");
    ASSERT_EQ(W.shape, (std::vector<std::size_t>{2, kDim}));
    double total = 0;
    for (std::size_t t = 70; t < 100; ++t) total += ae_row_loss(W, X.data() + static_cast<std::size_t>(rows.at(t)) * kDim);
    const std::string summary = slurp(d + "/run/summary.json");
    const auto at = summary.find("\"final_test_loss\": ");
    ASSERT_NE(at, std::string::npos) << summary;
    const double reported = std::stod(summary.substr(at + 19));
    EXPECT_NEAR(total / 30.0, reported, 1e-12 * reported);
}

// A GPLVM stopped by its iteration limit says so; one that converges says why.
TEST(Provenance, IterationLimitIsReported) {
    const std::string d = scratch("provenance_limit");
    const auto X = numbered_rows();
    write_npy(d + "/data.npy", make_raw<double>(X.data(), {kRows, kDim}));
    const std::string base = "data:\n  source: npy\n  path: " + d +
                             "/data.npy\n  center: true\nmodel:\n  type: gplvm\n  latent_dim: 2\n  dtype: float64\n"
                             "  init: random\noptim:\n  type: lbfgs\n";
    spit(d + "/limit.yaml", base + "  max_iterations: 3\n");
    auto r = run_train("--config " + d + "/limit.yaml --out " + d + "/limit", d);
    ASSERT_EQ(r.code, 0) << r.err;
    std::string s = slurp(d + "/limit/summary.json");
    EXPECT_NE(s.find("\"stop_reason\": \"iteration limit reached (optim.max_iterations 3)\""), std::string::npos) << s;
    EXPECT_NE(s.find("\"converged\": false"), std::string::npos) << s;
    EXPECT_NE(slurp(d + "/limit/train.log").find("not converged"), std::string::npos);

    spit(d + "/done.yaml", base + "  max_iterations: 5000\n");
    r = run_train("--config " + d + "/done.yaml --out " + d + "/done", d);
    ASSERT_EQ(r.code, 0) << r.err;
    s = slurp(d + "/done/summary.json");
    EXPECT_NE(s.find("\"converged\": true"), std::string::npos) << s;
    EXPECT_EQ(s.find("iteration limit"), std::string::npos) << s;
    EXPECT_EQ(slurp(d + "/done/train.log").find("not converged"), std::string::npos);
}

// Smaller frictions: every key has a default, so --set alone describes a run;
// a .npy path given to the default source names its format; an error caused
// by a --set value names the --set, not a config file.
TEST(Provenance, SetAloneRunsAndErrorsNameTheirOrigin) {
    const std::string d = scratch("provenance_set_only");
    const auto X = numbered_rows();
    write_npy(d + "/data.npy", make_raw<double>(X.data(), {kRows, kDim}));
    auto r = run_train("--set data.path=" + d + "/data.npy --set model.latent_dim=2 --set train.epochs=1 --out " + d +
                           "/run -q",
                       d);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(slurp(d + "/run/config.yaml").find("source: npy"), std::string::npos);
    spit(d + "/c.yaml", "data:\n  path: " + d + "/data.npy\n");
    r = run_train("--config " + d + "/c.yaml --set model.latent_dim=6 --out " + d + "/run2", d);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.err, "error: --set model.latent_dim=6: model.latent_dim 6 must be smaller than the data dimension 6\n");
    EXPECT_FALSE(fs::exists(d + "/run2"));
}

// A separate test file: its rows follow the training rows (rows.npy indexes
// it from 0, in its order), centred by the training mean; the reported test
// loss is the loss on exactly those rows.
TEST(Provenance, SeparateTestFile) {
    const std::string d = scratch("provenance_test_file");
    const auto X = numbered_rows();
    write_npy(d + "/train.npy", make_raw<double>(X.data(), {100, kDim}));
    write_npy(d + "/test.npy", make_raw<double>(X.data() + 100 * kDim, {kRows - 100, kDim}));
    spit(d + "/c.yaml", "data:\n  source: npy\n  path: " + d + "/train.npy\n  test_path: " + d +
                            "/test.npy\n  center: true\nmodel:\n  latent_dim: 2\n  dtype: float64\n"
                            "train:\n  epochs: 2\n  batch_size: 10\n  threads: 1\n");
    const auto r = run_train("--config " + d + "/c.yaml --out " + d + "/run -q", d);
    ASSERT_EQ(r.code, 0) << r.err;
    const RawTensor rows = read_npy(d + "/run/rows.npy"), W = read_npy(d + "/run/W.npy"),
                    mean = read_npy(d + "/run/mean.npy");
    ASSERT_EQ(rows.rows(), kRows);
    double total = 0;
    for (std::size_t t = 0; t < kRows - 100; ++t) {
        EXPECT_EQ(rows.at(100 + t), static_cast<double>(t));
        total += ae_row_loss(W, X.data() + (100 + t) * kDim, &mean);
    }
    const std::string summary = slurp(d + "/run/summary.json");
    EXPECT_NE(summary.find("\"n_test\": 50"), std::string::npos) << summary;
    const double reported = std::stod(summary.substr(summary.find("\"final_test_loss\": ") + 19));
    EXPECT_NEAR(total / 50.0, reported, 1e-12 * reported);
}
