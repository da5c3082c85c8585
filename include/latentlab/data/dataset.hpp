// Samples as rows, in the model's precision, ready for training: scaled,
// checked for NaN/Inf, optionally centred, split into train and test.
// Reading them from a named source or file: data/sources.hpp; minibatches:
// data/batcher.hpp.
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/core/communicator.hpp"
#include "latentlab/core/matrix_view.hpp"
#include "latentlab/data/options.hpp"
#include "latentlab/io/raw_tensor.hpp"

namespace latentlab {

// Under several processes (core/communicator.hpp) each rank holds a
// contiguous share of the training rows and one of the test rows, in the
// order one process would hold them all: X, sqnorms, labels, n_train and
// n_test are this rank's; the *_total and *_first fields place them.
template <class T>
struct Dataset {
    xt::xtensor<T, 2> X;                 // train rows first, then test rows
    std::vector<double> sqnorms;         // ‖x_i‖² per row, in double
    std::vector<std::int32_t> labels;    // one per row, or empty
    std::size_t n_train = 0;
    std::size_t n_test = 0;
    std::size_t train_total = 0;         // training rows of every rank (= n_train on one process)
    std::size_t test_total = 0;
    std::size_t train_first = 0;         // this rank's first training row among all (0 on one process)
    std::size_t test_first = 0;
    std::vector<double> mean;            // training mean subtracted (empty if not centred)
    // 8-bit input: each row's bytes, X[i][j] = T(T(levels[i][j]·scale) − mean[j])
    // (MatrixView::levels); empty otherwise.
    std::vector<std::uint8_t> levels;
    // Row i of all ranks' training rows, then of their test rows, came from
    // row rows[i] of the input (0-based); every rank holds all of it.
    std::vector<std::int64_t> rows;
    double scale = 1.0;                  // the input's values were multiplied by this
    std::string description;             // e.g. "mnist digits (datasets/mnist/...)"

    std::size_t dim() const { return X.shape()[1]; }
    // Rows of every rank (a Dataset built by hand, totals unset, is one process's).
    std::size_t train_all() const { return train_total ? train_total : n_train; }
    std::size_t test_all() const { return test_total ? test_total : n_test; }
    bool has_labels() const { return !labels.empty(); }
    MatrixView<T> all() const;
    MatrixView<T> train() const { return all().slice(0, n_train); }
    MatrixView<T> test() const { return all().slice(n_train, n_train + n_test); }
};

// Which rows of an input of `total` rows a Dataset keeps and where: the
// seeded shuffle (perm), the first n kept, the last n_test of them held out,
// and this process's shares (core/communicator.hpp) of the training and test
// positions; `mine` lists its positions in perm's order (training first).
// Throws OptionError/DataError as make_dataset does.
struct RowPlan {
    std::vector<std::size_t> perm;
    std::size_t n = 0, n_test = 0;
    Shard train, test;
    std::vector<std::size_t> mine;
};
RowPlan plan_rows(std::size_t total, const DataOptions& opt, std::uint64_t seed, const std::string& origin);
// The input rows this process keeps, ascending (a reader's RowSelect: each
// MPI rank reads only its own rows).
std::vector<std::size_t> held_input_rows(std::size_t total, const DataOptions& opt, std::uint64_t seed,
                                         const std::string& origin);

// A Dataset from tensors already in memory (data/sources.hpp reads them from
// files; `images` may hold only the rows held_input_rows names, read with a
// RowSelect). The samples are shuffled once with `seed` (data/shuffle.hpp; files
// such as the npm digits are sorted by class), the first `opt.limit` kept, and the last
// `opt.test_fraction` of them held out; values scaled and checked for NaN/Inf
// (row and column named), optionally centred. `origin` names the data in
// messages (DataError); a bad option throws OptionError.
template <class T>
Dataset<T> make_dataset(const RawTensor& images, const RawTensor* labels, const DataOptions& opt,
                        std::uint64_t seed, const std::string& origin);

// The same from a row-major buffer the caller owns (e.g. a numpy array),
// read in place: the Dataset's X is the only copy.
template <class T>
Dataset<T> make_dataset(const void* images, DType dtype, const std::vector<std::size_t>& shape,
                        const RawTensor* labels, const DataOptions& opt, std::uint64_t seed,
                        const std::string& origin);

}  // namespace latentlab
