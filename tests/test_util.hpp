// Helpers shared by the tests (header-only). One version of each:
//   random data     fill_randn, randn, randn_matrix, randn_tensor, randn_columns_scaled
//   comparisons     rel, rel_err (2-norm), max_abs_diff, rel_err_inf (∞-norm)
//   models, views   view, view_with_sqnorms, view_of, to_mat, set_params, naive_linear_ae
//   derivatives     central_difference (functions that are not models),
//                   every_entry + expect_gradient_matches (models, through gradcheck)
//   files           write_file, slurp, spit, scratch, be32, idx_header,
//                   npy_by_hand, npy_zeros, gzip_file
//   the CLI         run_train, count_lines
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/analysis/gradcheck.hpp"
#include "latentlab/core/matrix_view.hpp"
#include "latentlab/models/model.hpp"

namespace latentlab::testing {

using Labels = std::vector<std::int32_t>;

// ---------------------------------------------------------------------------
// Random data. Every maker draws scale · N(0, 1) from std::mt19937_64(seed) in
// storage (row-major) order, so the same seed gives the same numbers whatever
// the container.
// ---------------------------------------------------------------------------

template <class Range>
void fill_randn(Range& out, double scale, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> N01(0.0, 1.0);
    for (auto& x : out) x = static_cast<std::decay_t<decltype(x)>>(scale * N01(rng));
}

inline std::vector<double> randn(std::size_t count, double scale, std::uint64_t seed) {
    std::vector<double> v(count);
    fill_randn(v, scale, seed);
    return v;
}

inline xt::xtensor<double, 2> randn_matrix(std::size_t rows, std::size_t cols, double scale, std::uint64_t seed) {
    xt::xtensor<double, 2> A = xt::xtensor<double, 2>::from_shape({rows, cols});
    fill_randn(A, scale, seed);
    return A;
}

// Drawn in double, then rounded to T.
template <class T>
xt::xtensor<T, 1> randn_tensor(std::size_t count, double scale, std::uint64_t seed) {
    xt::xtensor<T, 1> v = xt::xtensor<T, 1>::from_shape({count});
    fill_randn(v, scale, seed);
    return v;
}

// rows × cols (row-major), entry (i, j) = N(0, 1) · col_scale(j): data with a
// chosen spectrum for the CLI and training tests.
template <class F>
std::vector<double> randn_columns_scaled(std::size_t rows, std::size_t cols, std::uint64_t seed, F col_scale) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> g(0, 1);
    std::vector<double> X(rows * cols);
    for (std::size_t i = 0; i < rows; ++i)
        for (std::size_t j = 0; j < cols; ++j) X[i * cols + j] = g(rng) * col_scale(j);
    return X;
}

// ---------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------

inline double rel(double got, double want) { return std::abs(got - want) / std::abs(want); }

// ‖got − want‖₂ / ‖want‖₂ (‖got − want‖₂ if want is all zero, e.g. a dead relu layer).
inline double rel_err(const std::vector<double>& got, const std::vector<double>& want) {
    EXPECT_EQ(got.size(), want.size());
    double d = 0.0, w = 0.0;
    for (std::size_t i = 0; i < got.size() && i < want.size(); ++i) {
        d += (got[i] - want[i]) * (got[i] - want[i]);
        w += want[i] * want[i];
    }
    return w > 0.0 ? std::sqrt(d / w) : std::sqrt(d);
}

// max |a − b| over two ranges of the same size (vectors, xtensors, expressions); NaN if any difference is.
template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
    EXPECT_EQ(a.size(), b.size());
    double m = 0.0;
    auto ib = std::begin(b);
    for (auto ia = std::begin(a); ia != std::end(a) && ib != std::end(b); ++ia, ++ib) {
        const double d = std::abs(static_cast<double>(*ia) - static_cast<double>(*ib));
        if (!(d <= m)) m = d;
    }
    return m;
}

// max |got − want| / max(1e-12, max |want|).
template <class A, class B>
double rel_err_inf(const A& got, const B& want) {
    double w = 0.0;
    for (const auto& x : want) w = std::max(w, std::abs(static_cast<double>(x)));
    return max_abs_diff(got, want) / std::max(1e-12, w);
}

// ---------------------------------------------------------------------------
// Models and their batches
// ---------------------------------------------------------------------------

// B rows of n columns of X (row-major), with optional labels.
template <class T>
MatrixView<T> view(const std::vector<T>& X, std::size_t B, std::size_t n, const Labels* y = nullptr) {
    MatrixView<T> v;
    v.data = X.data();
    v.rows = B;
    v.cols = n;
    v.labels = y ? y->data() : nullptr;
    return v;
}

// The same with the rows' ‖x‖² (sq may be null).
template <class T>
MatrixView<T> view_with_sqnorms(const std::vector<T>& X, std::size_t B, std::size_t n, const double* sq) {
    MatrixView<T> v = view(X, B, n);
    v.sqnorms = sq;
    return v;
}

// All rows of a matrix (not `view`: ADL would find xt::view).
template <class T>
MatrixView<T> view_of(const xt::xtensor<T, 2>& X) {
    MatrixView<T> v;
    v.data = X.data();
    v.rows = X.shape()[0];
    v.cols = X.shape()[1];
    return v;
}

template <class T>
std::vector<double> to_mat(const xt::xtensor<T, 1>& g) {
    return std::vector<double>(g.begin(), g.end());
}

// θ = p (rounded to T).
template <class T>
void set_params(Model<T>& model, const std::vector<double>& p) {
    ASSERT_EQ(model.num_params(), p.size());
    for (std::size_t k = 0; k < p.size(); ++k) model.params()(k) = static_cast<T>(p[k]);
}

// The tied linear autoencoder written naively (plain loops, the batch form):
// A = X Wᵀ, R = A W − X, L = ½‖R‖²/B, ∇W = (Aᵀ R + (R Wᵀ)ᵀ X)/B.
struct NaiveLinearAe {
    double loss;
    std::vector<double> grad;
};
inline NaiveLinearAe naive_linear_ae(const std::vector<double>& W, const std::vector<double>& X, std::size_t B,
                                     std::size_t m, std::size_t n) {
    std::vector<double> A(B * m, 0.0), R(B * n, 0.0), RWt(B * m, 0.0);
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) A[b * m + i] += X[b * n + j] * W[i * n + j];
    double L = 0.0;
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t j = 0; j < n; ++j) {
            double r = -X[b * n + j];
            for (std::size_t i = 0; i < m; ++i) r += A[b * m + i] * W[i * n + j];
            R[b * n + j] = r;
            L += r * r;
        }
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) RWt[b * m + i] += R[b * n + j] * W[i * n + j];
    std::vector<double> G(m * n, 0.0);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double s = 0.0;
            for (std::size_t b = 0; b < B; ++b) s += A[b * m + i] * R[b * n + j] + RWt[b * m + i] * X[b * n + j];
            G[i * n + j] = s / static_cast<double>(B);
        }
    return {0.5 * L / static_cast<double>(B), G};
}

// ---------------------------------------------------------------------------
// Derivatives
// ---------------------------------------------------------------------------

// Central differences (f(x + h) − f(x − h)) / 2h of a scalar function that is
// not a model (an activation, a homework formula). Models go through
// gradcheck (below).
template <class F>
double central_difference(F&& f, double x, double h) {
    return (f(x + h) - f(x - h)) / (2.0 * h);
}

// The same over every entry of x (a std::vector or an xtensor; f takes x).
template <class C, class F, class = decltype(std::declval<C&>().data())>
C central_difference(F&& f, C x, double h) {
    C g = x;
    for (std::size_t k = 0; k < x.size(); ++k) {
        const double x0 = x.data()[k];
        x.data()[k] = x0 + h;
        const double fp = f(std::as_const(x));
        x.data()[k] = x0 - h;
        const double fm = f(std::as_const(x));
        x.data()[k] = x0;
        g.data()[k] = (fp - fm) / (2.0 * h);
    }
    return g;
}

// gradcheck's options for the small models of the tests: every entry of every
// block, on the whole batch, at `tolerance`.
inline GradCheckOptions every_entry(double tolerance, double step = GradCheckOptions{}.step) {
    GradCheckOptions o;
    o.tolerance = tolerance;
    o.step = step;
    o.max_coords = 0;
    o.max_rows = 0;
    return o;
}

// A model's gradient g against gradcheck's central differences d, from
// r = gradcheck(model, batch, every_entry(tol)):
//  - every entry was checked and gradcheck passes (each block's max rel err
//    ≤ tol, its own per-entry test, which also fails on NaN), and
//  - for every block, √size · max|g − d| ≤ tol · max|d|. As ‖g_b − d_b‖₂ ≤
//    √size · max|g − d| and max|d| ≤ ‖d_b‖₂, that is ‖g_b − d_b‖₂ ≤ tol ‖d_b‖₂
//    per block, hence ‖g − d‖₂ ≤ tol ‖d‖₂ overall: the 2-norm relative error
//    the tests' former hand-written loops asserted, now block by block.
inline void expect_gradient_matches(const GradCheckReport& r) {
    ASSERT_FALSE(r.rows.empty());
    EXPECT_TRUE(r.pass()) << format_gradcheck(r);
    for (const auto& row : r.rows) {
        EXPECT_EQ(row.checked, row.size) << row.block << ": not every entry was checked";
        EXPECT_LE(std::sqrt(static_cast<double>(row.checked)) * row.max_abs_err, r.tolerance * row.max_abs_grad)
            << row.block << "\n"
            << format_gradcheck(r);
    }
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

// Writes `content` to `path` and asserts it was written.
inline void write_file(const std::filesystem::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    ASSERT_TRUE(out.good()) << path;
}

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Writes `text` to `path`, creating its directory (unchecked; the CLI tests'
// helper, see write_file for the checked one).
inline void spit(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

// A fresh, empty scratch directory for one test.
inline std::string scratch(const std::string& name) {
    const std::string d = std::string(LATENTLAB_TEST_TMP) + "/" + name;
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
}

// v as 4 big-endian bytes.
inline std::string be32(std::uint32_t v) {
    std::string s(4, '\0');
    for (int k = 0; k < 4; ++k) s[k] = static_cast<char>((v >> (24 - 8 * k)) & 0xFF);
    return s;
}

// An IDX header: magic 0 0 type rank, then the dimensions big-endian.
inline std::string idx_header(unsigned char type, const std::vector<std::uint32_t>& dims) {
    std::string h{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
    for (auto d : dims) h += be32(d);
    return h;
}

// A .npy file written by hand: prefix for `version`, dict, padding to 64, data.
inline std::string npy_by_hand(const std::string& dict, const std::string& data, int version = 1) {
    const std::size_t prefix = version == 1 ? 10 : 12;
    std::string header = dict;
    while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(version) + '\0';
    for (std::size_t k = 0; k < prefix - 8; ++k) out += static_cast<char>((header.size() >> (8 * k)) & 0xFF);
    return out + header + data;
}

// A version-1 .npy of any descr and shape text with `data_bytes` zero bytes of data.
inline std::string npy_zeros(const std::string& descr, const std::string& shape, std::size_t data_bytes) {
    return npy_by_hand("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }",
                       std::string(data_bytes, '\0'));
}

// `content` gzip-compressed into `path` (mode as for gzopen: "wb6" = level 6, zlib's default).
inline void gzip_file(const std::string& path, const std::string& content, const char* mode = "wb6") {
    gzFile gz = gzopen(path.c_str(), mode);
    ASSERT_NE(gz, nullptr) << path;
    std::size_t done = 0;
    while (done < content.size()) {
        const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(content.size() - done, 1u << 24));
        ASSERT_EQ(gzwrite(gz, content.data() + done, chunk), static_cast<int>(chunk));
        done += chunk;
    }
    ASSERT_EQ(gzclose(gz), Z_OK);
}

// ---------------------------------------------------------------------------
// The `train` binary
// ---------------------------------------------------------------------------

struct Outcome {
    int code = -1;  // exit code, or 128+signal
    std::string out, err;
};

// Runs `train ARGS` with one BLAS thread; captures stdout and stderr. With
// `timeout_seconds`, a run that would hang (blocked in open() on a FIFO, reading
// /dev/zero) is killed by coreutils' timeout (code 124, or 128+9) instead of
// hanging the test.
inline Outcome run_train(const std::string& args, const std::string& dir, int timeout_seconds = 0) {
    const std::string out = dir + "/.stdout", err = dir + "/.stderr";
    const std::string limit = timeout_seconds > 0 ? "timeout -k 2 " + std::to_string(timeout_seconds) + " " : "";
    const std::string cmd = std::string("OPENBLAS_NUM_THREADS=1 ") + limit + LATENTLAB_TRAIN_EXE + " " + args + " >" +
                            out + " 2>" + err;
    const int status = std::system(cmd.c_str());
    Outcome o;
    if (WIFEXITED(status)) o.code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) o.code = 128 + WTERMSIG(status);
    o.out = slurp(out);
    o.err = slurp(err);
    return o;
}

// The small autoencoder run the bad-input tests start from, on `path`
// (data.source `source`), with `labels` if given. Line numbers matter to the
// expectations of tests/test_bad_inputs.cpp:
//  1 seed   2 data   3 source   4 path   5 model   6 latent_dim   7 dtype
//  8 optim  9 type  10 lr      11 train 12 epochs 13 batch_size  14 threads
inline std::string small_run_yaml(const std::string& source, const std::string& path, const std::string& labels = "") {
    return "seed: 1\n"
           "data:\n"
           "  source: " + source + "\n"
           "  path: " + path + "\n" +
           (labels.empty() ? "" : "  labels: " + labels + "\n") +
           "model:\n"
           "  latent_dim: 3\n"
           "  dtype: float64\n"
           "optim:\n"
           "  type: adam\n"
           "  lr: 0.01\n"
           "train:\n"
           "  epochs: 2\n"
           "  batch_size: 20\n"
           "  threads: 1\n";
}

inline int count_lines(const std::string& s) {
    int n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

}  // namespace latentlab::testing
