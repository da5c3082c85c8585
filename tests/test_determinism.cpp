// Determinism (reliability): two runs of `train` with the same seed and
// one BLAS thread write byte-identical W.npy, PCA files and metrics.csv
// (but for its wall-time columns, seconds and epoch_seconds); a different
// seed gives a different W.npy. For both precisions, both first-order
// optimisers and every data format (npy, CSV, gzip'd IDX with labels).
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "latentlab/io/idx.hpp"
#include "latentlab/io/npy.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;

namespace {

constexpr std::size_t kN = 500, kDim = 16;

std::vector<double> samples(std::uint64_t seed) {
    return randn_columns_scaled(kN, kDim, seed, [](std::size_t j) { return j < 3 ? 2.0 - 0.5 * j : 0.2; });
}

// The data in `format` in DIR; returns the data: section of the config.
std::string write_data(const std::string& dir, const std::string& format) {
    const auto X = samples(99);
    if (format == "npy") {
        write_npy(dir + "/data.npy", make_raw<double>(X.data(), {kN, kDim}));
        return "data:\n  source: npy\n  path: " + dir + "/data.npy\n  test_fraction: 0.2\n  center: true\n";
    }
    if (format == "csv") {
        std::ostringstream csv;
        csv.precision(17);
        for (std::size_t i = 0; i < kN; ++i)
            for (std::size_t j = 0; j < kDim; ++j) csv << X[i * kDim + j] << (j + 1 < kDim ? "," : "\n");
        spit(dir + "/data.csv", csv.str());
        return "data:\n  source: csv\n  path: " + dir + "/data.csv\n  limit: 400\n";
    }
    // u8 images 500 x 4 x 4 and their labels, gzip'd IDX (scale: auto 1/255)
    RawTensor img, lab;
    img.dtype = lab.dtype = DType::u8;
    img.shape = {kN, 4, 4};
    lab.shape = {kN};
    for (double x : X) img.bytes.push_back(static_cast<unsigned char>(std::min(255.0, std::abs(x) * 60)));
    for (std::size_t i = 0; i < kN; ++i) lab.bytes.push_back(static_cast<unsigned char>(i % 10));
    for (const auto& [name, t] : {std::pair<std::string, RawTensor*>{"img", &img}, {"lab", &lab}}) {
        write_idx(dir + "/" + name + ".idx", *t);
        const std::string raw = slurp(dir + "/" + name + ".idx");
        gzip_file(dir + "/" + name + ".idx.gz", raw);
    }
    return "data:\n  source: idx\n  path: " + dir + "/img.idx.gz\n  labels: " + dir + "/lab.idx.gz\n"
           "  test_fraction: 0.1\n";
}

struct RunSetup {
    std::string name, format, dtype, optim;
};
std::ostream& operator<<(std::ostream& os, const RunSetup& s) { return os << s.name; }

std::string config(const std::string& data, const RunSetup& s, long seed) {
    std::string optim = s.optim == "adam" ? "optim:\n  type: adam\n  lr: 0.01\n  schedule: cosine\n"
                                          : "optim:\n  type: sgd\n  lr: 0.02\n  momentum: 0.9\n  nesterov: true\n"
                                            "  schedule: step\n  step_epochs: 2\n  gamma: 0.5\n";
    return "seed: " + std::to_string(seed) + "\n" + data + "model:\n  latent_dim: 3\n  dtype: " + s.dtype + "\n" + optim +
           "train:\n  epochs: 5\n  batch_size: 32\n  threads: 1\n";
}

// metrics.csv without its wall-time columns (seconds, epoch_seconds), by name.
std::string without_times(const std::string& csv) {
    std::istringstream in(csv);
    std::string line, out;
    std::vector<bool> keep;
    bool header = true;
    while (std::getline(in, line)) {
        std::vector<std::string> cells;
        std::stringstream ss(line);
        for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
        if (header) {
            for (const auto& c : cells) keep.push_back(c != "seconds" && c != "epoch_seconds");
            EXPECT_EQ(std::count(keep.begin(), keep.end(), false), 2) << line;
            header = false;
        }
        for (std::size_t k = 0; k < cells.size(); ++k)
            if (k >= keep.size() || keep[k]) out += cells[k] + ",";
        out += "\n";
    }
    return out;
}

class Determinism : public ::testing::TestWithParam<RunSetup> {};

TEST_P(Determinism, SameSeedSameBytesOtherSeedOtherW) {
    const RunSetup& s = GetParam();
    const std::string dir = scratch("determinism_" + s.name);
    const std::string data = write_data(dir, s.format);
    spit(dir + "/a.yaml", config(data, s, 5));
    spit(dir + "/c.yaml", config(data, s, 6));
    for (const char* run : {"a1", "a2"}) {
        const auto r = run_train("--config " + dir + "/a.yaml --out " + dir + "/" + run + " --quiet", dir);
        ASSERT_EQ(r.code, 0) << r.err;
    }
    const auto r = run_train("--config " + dir + "/c.yaml --out " + dir + "/c --quiet", dir);
    ASSERT_EQ(r.code, 0) << r.err;

    const std::string a1 = dir + "/a1/", a2 = dir + "/a2/";
    ASSERT_FALSE(slurp(a1 + "W.npy").empty());
    EXPECT_TRUE(slurp(a1 + "W.npy") == slurp(a2 + "W.npy")) << "W.npy differs between two runs with the same seed";
    for (const char* f : {"pca_components.npy", "pca_eigenvalues.npy"}) EXPECT_TRUE(slurp(a1 + f) == slurp(a2 + f)) << f;
    const std::string m1 = slurp(a1 + "metrics.csv"), m2 = slurp(a2 + "metrics.csv");
    EXPECT_EQ(count_lines(m1), 7);  // header + epochs 0..5
    EXPECT_EQ(without_times(m1), without_times(m2));
    // A different seed: another initialisation and batch order.
    EXPECT_FALSE(slurp(a1 + "W.npy") == slurp(dir + "/c/W.npy")) << "the seed made no difference";
}

INSTANTIATE_TEST_SUITE_P(Train, Determinism,
                         ::testing::Values(RunSetup{"npy_float64_adam", "npy", "float64", "adam"},
                                           RunSetup{"npy_float32_sgd", "npy", "float32", "sgd"},
                                           RunSetup{"csv_float32_adam", "csv", "float32", "adam"},
                                           RunSetup{"idx_gz_float64_sgd", "idx", "float64", "sgd"}),
                         [](const ::testing::TestParamInfo<RunSetup>& info) { return info.param.name; });

}  // namespace

namespace {

// The linear autoencoder's training trajectory does not depend on
// train.threads, on any OpenBLAS kernel set (scripts/test runs this under
// OPENBLAS_CORETYPE=Prescott and Haswell too): batches of 300 rows × 272
// columns are split into several row and column parts (linear_autoencoder.cpp),
// and the parts run on 1, 2 or 3 workers with single-threaded BLAS inside.
TEST(DeterminismThreads, LinearAutoencoderWritesTheSameWAtAnyThreadCount) {
    const std::string dir = scratch("determinism_threads");
    constexpr std::size_t N = 700, D = 272;
    const auto X = randn_columns_scaled(N, D, 3, [](std::size_t j) { return j < 10 ? 1.0 : 0.1; });
    write_npy(dir + "/data.npy", make_raw<double>(X.data(), {N, D}));
    for (const char* dtype : {"float32", "float64"}) {
        std::string first;
        for (const char* threads : {"1", "2", "3"}) {
            const std::string out = dir + "/" + dtype + "_" + threads;
            spit(dir + "/c.yaml", std::string("seed: 4\ndata:\n  source: npy\n  path: ") + dir +
                                      "/data.npy\nmodel:\n  latent_dim: 12\n  dtype: " + dtype +
                                      "\noptim:\n  type: adam\n  lr: 0.01\ntrain:\n  epochs: 3\n  batch_size: 300\n"
                                      "  threads: " + threads + "\n");
            const auto r = run_train("--config " + dir + "/c.yaml --out " + out + " --quiet", dir);
            ASSERT_EQ(r.code, 0) << r.err;
            const std::string W = slurp(out + "/W.npy");
            ASSERT_FALSE(W.empty());
            if (first.empty()) first = W;
            EXPECT_TRUE(W == first) << dtype << ": W.npy at " << threads << " threads differs from 1 thread";
        }
    }
}

}  // namespace
