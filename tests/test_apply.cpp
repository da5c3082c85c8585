// `train apply`: a trained run applied to new rows, end to end. The codes of
// an autoencoder are X Wᵀ from the run's files; the MLP's accuracy on its own
// training rows is the run's; projecting a GPLVM's training rows recovers
// their latents; bad input is refused with one line and nothing written.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <vector>

#include "latentlab/io/npy.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kRows = 90, kDim = 6;

// Rows on a 2-d plane in 6-d plus a little noise: latent structure to find.
std::vector<double> planar_rows(std::uint64_t seed) {
    const auto Z = randn(kRows * 2, 1.0, seed);
    const auto B = randn(2 * kDim, 1.0, seed + 1);
    const auto E = randn(kRows * kDim, 0.05, seed + 2);
    std::vector<double> X(kRows * kDim);
    for (std::size_t i = 0; i < kRows; ++i)
        for (std::size_t j = 0; j < kDim; ++j)
            X[i * kDim + j] = Z[i * 2] * B[j] + Z[i * 2 + 1] * B[kDim + j] + E[i * kDim + j];
    return X;
}

std::string train_run(const std::string& d, const std::string& yaml) {
    spit(d + "/c.yaml", yaml);
    const auto r = run_train("--config " + d + "/c.yaml --out " + d + "/run -q", d);
    EXPECT_EQ(r.code, 0) << r.err;
    return d + "/run";
}

double json_number(const std::string& json, const std::string& key) {
    const auto at = json.find("\"" + key + "\": ");
    if (at == std::string::npos) return std::nan("");
    return std::stod(json.substr(at + key.size() + 4));
}

}  // namespace

TEST(Apply, AutoencoderCodesAreXWt) {
    const std::string d = scratch("apply_ae");
    const auto X = planar_rows(1);
    write_npy(d + "/data.npy", make_raw<double>(X.data(), {kRows, kDim}));
    const std::string run = train_run(d, "data:\n  source: npy\n  path: " + d + "/data.npy\n"
                                         "model:\n  latent_dim: 2\n  dtype: float64\n"
                                         "train:\n  epochs: 3\n  batch_size: 10\n  threads: 1\n");
    const auto r = run_train("apply " + run + " --data " + d + "/data.npy --out " + d + "/out", d);
    ASSERT_EQ(r.code, 0) << r.err;
    const RawTensor W = read_npy(run + "/W.npy"), A = read_npy(d + "/out/codes.npy"),
                    R = read_npy(d + "/out/reconstruction.npy"), L = read_npy(d + "/out/reconstruction_loss.npy");
    ASSERT_EQ(A.shape, (std::vector<std::size_t>{kRows, 2}));
    ASSERT_EQ(R.shape, (std::vector<std::size_t>{kRows, kDim}));
    ASSERT_EQ(L.shape, (std::vector<std::size_t>{kRows}));
    double total = 0;
    for (std::size_t i = 0; i < kRows; ++i) {  // rows in input order
        double loss = 0;
        for (std::size_t k = 0; k < 2; ++k) {
            double a = 0;
            for (std::size_t j = 0; j < kDim; ++j) a += W.at(k * kDim + j) * X[i * kDim + j];
            EXPECT_NEAR(A.at(i * 2 + k), a, 1e-12 * (1 + std::abs(a))) << i;
        }
        for (std::size_t j = 0; j < kDim; ++j) {
            const double xr = W.at(j) * A.at(i * 2) + W.at(kDim + j) * A.at(i * 2 + 1);
            EXPECT_NEAR(R.at(i * kDim + j), xr, 1e-12 * (1 + std::abs(xr)));
            loss += 0.5 * (xr - X[i * kDim + j]) * (xr - X[i * kDim + j]);
        }
        EXPECT_NEAR(L.at(i), loss, 1e-12 * (1 + loss));
        total += loss;
    }
    // On its own training rows (all of them, no test split) the mean loss is the run's final loss.
    EXPECT_NEAR(json_number(slurp(d + "/out/apply.json"), "mean_reconstruction_loss"),
                json_number(slurp(run + "/summary.json"), "final_loss"), 1e-9);
    EXPECT_NEAR(total / kRows, json_number(slurp(run + "/summary.json"), "final_loss"), 1e-9);
}

TEST(Apply, MlpPredictsTheRunsAccuracy) {
    const std::string d = scratch("apply_mlp");
    const auto X = planar_rows(2);
    std::vector<double> y(kRows);
    for (std::size_t i = 0; i < kRows; ++i) y[i] = X[i * kDim] > 0 ? 1.0 : 0.0;
    write_npy(d + "/data.npy", make_raw<double>(X.data(), {kRows, kDim}));
    write_npy(d + "/labels.npy", make_raw<double>(y.data(), {kRows}));
    const std::string run = train_run(d, "data:\n  source: npy\n  path: " + d + "/data.npy\n  labels: " + d +
                                             "/labels.npy\nmodel:\n  type: mlp\n  hidden: 8\n  classes: 2\n"
                                             "  dtype: float64\noptim:\n  lr: 0.05\n"
                                             "train:\n  epochs: 5\n  batch_size: 10\n  threads: 1\n");
    const auto r = run_train("apply " + run + " --data " + d + "/data.npy --labels " + d + "/labels.npy --out " + d +
                                 "/out",
                             d);
    ASSERT_EQ(r.code, 0) << r.err;
    const RawTensor P = read_npy(d + "/out/probabilities.npy"), C = read_npy(d + "/out/classes.npy");
    ASSERT_EQ(P.shape, (std::vector<std::size_t>{kRows, 2}));
    for (std::size_t i = 0; i < kRows; ++i) {
        EXPECT_NEAR(P.at(2 * i) + P.at(2 * i + 1), 1.0, 1e-12);
        EXPECT_EQ(C.at(i), P.at(2 * i + 1) > P.at(2 * i) ? 1.0 : 0.0);
    }
    EXPECT_NEAR(json_number(slurp(d + "/out/apply.json"), "accuracy"),
                json_number(slurp(run + "/summary.json"), "train_accuracy"), 1e-12);
}

// Projecting the training rows of a converged GPLVM lands on their latents
// (the GP's predictive density at x_i peaks next to x_i), for the linear
// (Woodbury) and the RBF (dense) kernels; rows.npy maps them back.
TEST(Apply, GplvmProjectionRecoversTrainingLatents) {
    for (const std::string kernel : {"linear", "rbf"}) {
        const std::string d = scratch("apply_gplvm_" + kernel);
        const auto X = planar_rows(3);
        write_npy(d + "/data.npy", make_raw<double>(X.data(), {kRows, kDim}));
        const std::string run =
            train_run(d, "data:\n  source: npy\n  path: " + d + "/data.npy\n  center: true\n"
                         "model:\n  type: gplvm\n  kernel: " + kernel + "\n  latent_dim: 2\n  dtype: float64\n"
                         "  noise_variance: 0.05\n" + (kernel == "rbf" ? "  lengthscale: 2.0\n" : "") +
                         "optim:\n  type: lbfgs\n  max_iterations: 3000\n  grad_tol: 1.0e-7\n");
        const auto r = run_train("apply " + run + " --data " + d + "/data.npy --out " + d + "/out", d);
        ASSERT_EQ(r.code, 0) << r.err;
        const RawTensor Xt = read_npy(run + "/X.npy"), rows = read_npy(run + "/rows.npy"),
                        L = read_npy(d + "/out/latent.npy"), ll = read_npy(d + "/out/log_likelihood.npy");
        ASSERT_EQ(L.shape, (std::vector<std::size_t>{kRows, 2}));
        ASSERT_EQ(ll.shape, (std::vector<std::size_t>{kRows}));
        std::vector<std::size_t> where(kRows);  // input row → training position
        for (std::size_t t = 0; t < kRows; ++t) where[static_cast<std::size_t>(rows.at(t))] = t;
        double spread = 0, worst = 0;
        for (std::size_t t = 0; t < kRows * 2; ++t) spread += Xt.at(t) * Xt.at(t);
        spread = std::sqrt(spread / kRows);
        for (std::size_t i = 0; i < kRows; ++i) {
            const std::size_t t = where[i];
            const double dx = L.at(2 * i) - Xt.at(2 * t), dy = L.at(2 * i + 1) - Xt.at(2 * t + 1);
            worst = std::max(worst, std::sqrt(dx * dx + dy * dy));
            EXPECT_TRUE(std::isfinite(ll.at(i)));
        }
        EXPECT_LT(worst, 0.05 * spread) << kernel << ": worst distance " << worst << ", spread " << spread;
    }
}

// The variational model: at a converged fit each training row's q(x_n) is a
// stationary point of its own term of the bound (the posterior's row bound
// has the collapsed gradient), so projecting the training rows returns their
// means and variances.
TEST(Apply, BayesianGplvmProjectionRecoversTrainingPosteriors) {
    const std::string d = scratch("apply_bgplvm");
    // Rows on a curved 2-d sheet in 6-d (on a plane an RBF kernel's optimum
    // runs off to infinite lengthscales, the linear limit).
    const auto Zc = randn(kRows * 2, 1.0, 5), A = randn(2 * kDim, 1.0, 6), E = randn(kRows * kDim, 0.02, 7);
    std::vector<double> X(kRows * kDim);
    for (std::size_t i = 0; i < kRows; ++i)
        for (std::size_t j = 0; j < kDim; ++j)
            X[i * kDim + j] = std::sin(Zc[2 * i] * A[j] + Zc[2 * i + 1] * A[kDim + j]) + E[i * kDim + j];
    write_npy(d + "/data.npy", make_raw<double>(X.data(), {kRows, kDim}));
    const std::string run = train_run(
        d, "data:\n  source: npy\n  path: " + d + "/data.npy\n  center: true\n"
           "model:\n  type: bayesian_gplvm\n  latent_dim: 2\n  inducing: 8\n  dtype: float64\n"
           "optim:\n  type: lbfgs\n  max_iterations: 3000\n  grad_tol: 1.0e-6\n");
    const auto r = run_train("apply " + run + " --data " + d + "/data.npy --out " + d + "/out", d);
    ASSERT_EQ(r.code, 0) << r.err;
    const RawTensor mu = read_npy(run + "/X_mean.npy"), var = read_npy(run + "/X_var.npy"),
                    rows = read_npy(run + "/rows.npy"), pm = read_npy(d + "/out/X_mean.npy"),
                    pv = read_npy(d + "/out/X_var.npy"), elbo = read_npy(d + "/out/elbo.npy");
    ASSERT_EQ(pm.shape, (std::vector<std::size_t>{kRows, 2}));
    ASSERT_EQ(pv.shape, (std::vector<std::size_t>{kRows, 2}));
    ASSERT_EQ(elbo.shape, (std::vector<std::size_t>{kRows}));
    std::vector<std::size_t> where(kRows);
    for (std::size_t t = 0; t < kRows; ++t) where[static_cast<std::size_t>(rows.at(t))] = t;
    double worst_mu = 0, worst_var = 0;
    for (std::size_t i = 0; i < kRows; ++i) {
        const std::size_t t = where[i];
        for (std::size_t j = 0; j < 2; ++j) {
            worst_mu = std::max(worst_mu, std::abs(pm.at(2 * i + j) - mu.at(2 * t + j)));
            worst_var = std::max(worst_var, std::abs(std::log(pv.at(2 * i + j) / var.at(2 * t + j))));
        }
        EXPECT_TRUE(std::isfinite(elbo.at(i)));
    }
    EXPECT_LT(worst_mu, 1e-3) << "largest |mean change| " << worst_mu;
    EXPECT_LT(worst_var, 1e-2) << "largest |log variance change| " << worst_var;
    EXPECT_TRUE(std::isfinite(json_number(slurp(d + "/out/apply.json"), "mean_elbo")));
}

TEST(Apply, BadInputIsOneLineAndWritesNothing) {
    const std::string d = scratch("apply_bad");
    const auto X = planar_rows(4);
    write_npy(d + "/data.npy", make_raw<double>(X.data(), {kRows, kDim}));
    write_npy(d + "/narrow.npy", make_raw<double>(X.data(), {kRows, kDim - 1}));
    const std::string run = train_run(d, "data:\n  source: npy\n  path: " + d + "/data.npy\n"
                                         "model:\n  latent_dim: 2\n  dtype: float64\n"
                                         "train:\n  epochs: 1\n  threads: 1\n");
    struct Case {
        std::string args;
        int code;
        std::string says;
    };
    for (const Case& c : {Case{"apply " + run + " --data " + d + "/narrow.npy --out " + d + "/o1", 1, "columns"},
                          Case{"apply " + d + " --data " + d + "/data.npy --out " + d + "/o2", 1, "not a run directory"},
                          Case{"apply " + run + " --data " + d + "/missing.npy --out " + d + "/o3", 1, "missing.npy"},
                          Case{"apply " + run + " --data " + d + "/data.npy --out " + run, 2, "not empty"}}) {
        const auto before = slurp(run + "/W.npy");
        const auto r = run_train(c.args, d);
        EXPECT_EQ(r.code, c.code) << c.args << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
        for (const char* o : {"/o1", "/o2", "/o3"}) EXPECT_FALSE(fs::exists(d + o));
        EXPECT_EQ(slurp(run + "/W.npy"), before);
    }
}

// The new rows get the run's scale, not one guessed from their file type: a
// run on u8 IDX pixels (scaled by 1/255) applied to the same pixels as a
// float .npy of 0..255 gives the same codes.
TEST(Apply, NewRowsGetTheRunsScale) {
    const std::string d = scratch("apply_scale");
    std::string pixels;
    std::vector<double> as_float;
    for (std::size_t i = 0; i < kRows * kDim; ++i) {
        const auto v = static_cast<unsigned char>((i * 37 + 11) % 256);
        pixels.push_back(static_cast<char>(v));
        as_float.push_back(v);
    }
    write_file(d + "/data.idx", idx_header(0x08, {static_cast<std::uint32_t>(kRows), static_cast<std::uint32_t>(kDim)}) + pixels);
    write_npy(d + "/same.npy", make_raw<double>(as_float.data(), {kRows, kDim}));
    const std::string run = train_run(d, "data:\n  source: idx\n  path: " + d + "/data.idx\n"
                                         "model:\n  latent_dim: 2\n  dtype: float64\n"
                                         "train:\n  epochs: 1\n  threads: 1\n");
    ASSERT_EQ(run_train("apply " + run + " --data " + d + "/data.idx --out " + d + "/a", d).code, 0);
    const auto r = run_train("apply " + run + " --data " + d + "/same.npy --out " + d + "/b", d);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(slurp(d + "/a/codes.npy"), slurp(d + "/b/codes.npy"));
}

// A run whose files were changed, rows that overflow, options of training:
// each refused with one line naming the file or option, and nothing written
// (no output directory, no hidden temporary beside it).
TEST(Apply, DamagedRunsAndOverflowAreRefusedWritingNothing) {
    const std::string d = scratch("apply_damaged");
    const auto X = planar_rows(5);
    write_npy(d + "/data.npy", make_raw<double>(X.data(), {kRows, kDim}));
    std::vector<double> huge = X;
    huge[7 * kDim + 1] = 1e300;  // finite, but its square overflows
    write_npy(d + "/huge.npy", make_raw<double>(huge.data(), {kRows, kDim}));
    const std::string run = train_run(d, "data:\n  source: npy\n  path: " + d + "/data.npy\n  center: true\n"
                                         "model:\n  latent_dim: 2\n  dtype: float64\n"
                                         "train:\n  epochs: 1\n  threads: 1\n");
    const std::string summary = slurp(run + "/summary.json"), W = slurp(run + "/W.npy");
    // A copy of the run with one file changed by `change`.
    auto damaged = [&](const std::string& name, const std::function<void(const std::string&)>& change) {
        const std::string copy = d + "/" + name;
        fs::copy(run, copy, fs::copy_options::recursive);
        change(copy);
        return copy;
    };
    auto with_scale = [&](const std::string& v) {
        return [&, v](const std::string& dir) {
            std::string s = summary;
            const auto at = s.find("\"data_scale\": ") + 14;
            s.replace(at, s.find_first_of(",\n", at) - at, v);
            spit(dir + "/summary.json", s);
        };
    };
    const RawTensor w = read_npy(run + "/W.npy");
    std::vector<double> wv(w.size());
    for (std::size_t i = 0; i < wv.size(); ++i) wv[i] = w.at(i);
    struct Case {
        std::string args;
        int code;
        std::string says;
    };
    const std::string data = " --data " + d + "/data.npy --out " + d + "/out";
    std::vector<std::string> W_nan_dirs;
    const std::vector<Case> cases = {
        {"apply " + damaged("no_mean", [](const std::string& r) { fs::remove(r + "/mean.npy"); }) + data, 1,
         "mean.npy: missing; the run centred its rows"},
        {"apply " + damaged("no_summary", [](const std::string& r) { fs::remove(r + "/summary.json"); }) + data, 1,
         "summary.json: missing"},
        {"apply " + damaged("text_scale", with_scale("\"0.5\"")) + data, 1, "data_scale is \"0.5\", not a number"},
        {"apply " + damaged("huge_scale", with_scale("1e400")) + data, 1, "data_scale is 1e400, not a number"},
        {"apply " + damaged("neg_scale", with_scale("-1")) + data, 1, "data_scale is -1, not a positive number"},
        {"apply " + damaged("nan_W", [&](const std::string& r) {
             std::vector<double> v = wv;
             v[3] = std::nan("");
             write_npy(r + "/W.npy", make_raw<double>(v.data(), w.shape));
         }) + data, 1, "W.npy: entry 3 is nan"},
        {"apply " + damaged("big_W", [&](const std::string& r) {
             std::vector<double> v = wv;
             for (auto& x : v) x *= 1e200;
             write_npy(r + "/W.npy", make_raw<double>(v.data(), w.shape));
         }) + data, 3, "gives reconstruction"},
        {"apply " + run + " --data " + d + "/huge.npy --out " + d + "/out", 1, "overflow double precision"},
        {"--set data.scale=2 apply " + run + data, 2, "--set is an option of training, not of `train apply`"},
        {"--force apply " + run + data, 2, "--force is an option of training"},
        {"apply " + run + data + " --labels " + d + "/data.npy", 2, "--labels: only an mlp run uses labels"},
        {"apply " + run + " --data " + d + "/data.npy --out ''", 2, "--out: an empty path"},
    };
    for (const Case& c : cases) {
        const auto r = run_train(c.args, d);
        EXPECT_EQ(r.code, c.code) << c.args << ": " << r.err;
        EXPECT_EQ(count_lines(r.err), 1) << r.err;
        EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << ": " << r.err;
        EXPECT_FALSE(fs::exists(d + "/out")) << c.args;
        for (const auto& e : fs::directory_iterator(d))
            EXPECT_EQ(e.path().filename().string().find(".out.apply-"), std::string::npos) << e.path();
        EXPECT_EQ(slurp(run + "/W.npy"), W);
    }
    // The same run, intact, applies; -q keeps apply.json off the console.
    const auto ok = run_train("apply " + run + data + " -q", d);
    EXPECT_EQ(ok.code, 0) << ok.err;
    EXPECT_EQ(ok.out, "");
    EXPECT_TRUE(fs::exists(d + "/out/apply.json"));
}

// Rows that fit in memory as the file's bytes but not as doubles beside them
// are refused by their count before training or apply holds them (here under
// an address-space limit, which the memory budget honours: half of 1.2 GB).
TEST(Apply, RowsBeyondMemoryAsDoublesAreRefused) {
#if defined(__SANITIZE_ADDRESS__)
    GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space: no ulimit -v under it";
#endif
    const std::string d = scratch("apply_memory");
    const std::size_t rows = 128 * 1024, dim = 784;  // 100 MiB of bytes, 0.8 GiB as doubles
    write_file(d + "/big.idx", idx_header(0x08, {static_cast<std::uint32_t>(rows), static_cast<std::uint32_t>(dim)}) +
                                   std::string(rows * dim, '\x07'));
    const std::string cmd = "ulimit -v 1200000; OPENBLAS_NUM_THREADS=1 " + std::string(LATENTLAB_TRAIN_EXE) +
                            " --set data.source=idx --set data.path=" + d + "/big.idx --set model.dtype=float64 --out " +
                            d + "/run -q >" + d + "/.out 2>" + d + "/.err";
    const int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1) << slurp(d + "/.err");
    EXPECT_NE(slurp(d + "/.err").find("131072 rows of 784 values as float64 beside the file's bytes"), std::string::npos)
        << slurp(d + "/.err");
    EXPECT_EQ(count_lines(slurp(d + "/.err")), 1);
    EXPECT_FALSE(fs::exists(d + "/run"));
}

// Where the outputs go: into an existing empty directory (the same directory,
// not a replacement), through a symlink to one, or into new parents; and when
// writing fails (a file-size limit here), nothing is left: no outputs, no
// hidden directory, none of the parents this call made, and nothing that was
// there before (a sibling result inside an existing parent) is touched.
TEST(Apply, OutputsArriveWholeOrLeaveNothing) {
    const std::string d = scratch("apply_where");
    const auto X = planar_rows(6);
    write_npy(d + "/data.npy", make_raw<double>(X.data(), {kRows, kDim}));
    std::vector<double> many;
    for (int k = 0; k < 40; ++k) many.insert(many.end(), X.begin(), X.end());  // 3600 rows
    write_npy(d + "/many.npy", make_raw<double>(many.data(), {40 * kRows, kDim}));
    const std::string run = train_run(d, "data:\n  source: npy\n  path: " + d + "/data.npy\n"
                                         "model:\n  latent_dim: 2\n  dtype: float64\n"
                                         "train:\n  epochs: 1\n  threads: 1\n");
    const std::string data = " --data " + d + "/data.npy -q";
    // An existing empty directory: filled in place.
    fs::create_directories(d + "/empty");
    struct stat before {};
    ASSERT_EQ(::stat((d + "/empty").c_str(), &before), 0);
    ASSERT_EQ(run_train("apply " + run + data + " --out " + d + "/empty", d).code, 0);
    struct stat after {};
    ASSERT_EQ(::stat((d + "/empty").c_str(), &after), 0);
    EXPECT_EQ(before.st_ino, after.st_ino);
    EXPECT_TRUE(fs::exists(d + "/empty/codes.npy"));
    // Through a symlink to an empty directory: into its target.
    fs::create_directories(d + "/real");
    fs::create_directory_symlink(d + "/real", d + "/link");
    const auto viaLink = run_train("apply " + run + data + " --out " + d + "/link", d);
    EXPECT_EQ(viaLink.code, 0) << viaLink.err;
    EXPECT_TRUE(fs::is_symlink(d + "/link"));
    EXPECT_TRUE(fs::exists(d + "/real/apply.json"));
    // New parents; a trailing slash.
    ASSERT_EQ(run_train("apply " + run + data + " --out " + d + "/new/a/b", d).code, 0);
    EXPECT_TRUE(fs::exists(d + "/new/a/b/reconstruction.npy"));
    ASSERT_EQ(run_train("apply " + run + data + " --out " + d + "/slash/", d).code, 0);
    EXPECT_TRUE(fs::exists(d + "/slash/codes.npy"));
    // "missing/../victim" is not victim (the kernel fails on it): refused, victim untouched.
    fs::create_directories(d + "/victim");
    spit(d + "/victim/codes.npy", "mine\n");
    const auto dots = run_train("apply " + run + data + " --out " + d + "/missing/../victim", d);
    EXPECT_EQ(dots.code, 2) << dots.err;
    EXPECT_NE(dots.err.find("'..' after " + d + "/missing, which does not exist"), std::string::npos) << dots.err;
    EXPECT_EQ(slurp(d + "/victim/codes.npy"), "mine\n");
    EXPECT_FALSE(fs::exists(d + "/missing"));

    // A failed write (files capped at 16 KB; the codes of 3600 rows are 56 KB).
    fs::create_directories(d + "/res/mine");
    spit(d + "/res/mine/keep", "kept\n");
    for (const std::string out : {d + "/res/x/y/z", d + "/res/b", d + "/fresh/c"}) {
        const std::string cmd = "(trap '' XFSZ; ulimit -f 16; OPENBLAS_NUM_THREADS=1 " + std::string(LATENTLAB_TRAIN_EXE) +
                                " apply " + run + " --data " + d + "/many.npy --out " + out + " -q) >" + d +
                                "/.out 2>" + d + "/.err";
        const int status = std::system(cmd.c_str());
        ASSERT_TRUE(WIFEXITED(status));
        EXPECT_EQ(WEXITSTATUS(status), 1) << out << ": " << slurp(d + "/.err");
        EXPECT_NE(slurp(d + "/.err").find(out + "/codes.npy: cannot write"), std::string::npos) << slurp(d + "/.err");
        EXPECT_NE(slurp(d + "/.err").find("nothing written"), std::string::npos) << slurp(d + "/.err");
        EXPECT_EQ(count_lines(slurp(d + "/.err")), 1);
    }
    EXPECT_FALSE(fs::exists(d + "/res/x"));
    EXPECT_FALSE(fs::exists(d + "/res/b"));
    EXPECT_FALSE(fs::exists(d + "/fresh"));
    EXPECT_EQ(slurp(d + "/res/mine/keep"), "kept\n");
    std::vector<std::string> in_res;
    for (const auto& e : fs::directory_iterator(d + "/res")) in_res.push_back(e.path().filename().string());
    EXPECT_EQ(in_res, std::vector<std::string>{"mine"});
}
