// Samples as rows, in the model's precision, ready for training: loaded from
// any supported source, scaled, checked for NaN/Inf, optionally centred,
// split into train and test, with seeded minibatches gathered into one
// reused contiguous buffer.
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/config/config.hpp"
#include "latentlab/data/matrix_view.hpp"
#include "latentlab/data/raw_tensor.hpp"

namespace latentlab {

template <class T>
struct Dataset {
    xt::xtensor<T, 2> X;                 // train rows first, then test rows
    std::vector<double> sqnorms;         // ‖x_i‖² per row, in double
    std::vector<std::int32_t> labels;    // one per row, or empty
    std::size_t n_train = 0;
    std::size_t n_test = 0;
    std::vector<double> mean;            // training mean subtracted (empty if not centred)
    std::string description;             // e.g. "mnist digits (datasets/mnist/...)"

    std::size_t dim() const { return X.shape()[1]; }
    bool has_labels() const { return !labels.empty(); }
    MatrixView<T> all() const;
    MatrixView<T> train() const { return all().slice(0, n_train); }
    MatrixView<T> test() const { return all().slice(n_train, n_train + n_test); }
};

// Where the images/labels of a config come from, after defaults are applied.
struct DataFiles {
    std::string images;
    std::string labels;  // "" if none
};
DataFiles resolve_data_files(const DataConfig& cfg);

// Loads the data described by `cfg`. The samples are shuffled once with
// `seed` (files such as the npm digits are sorted by class), the first
// `limit` kept, and the last `test_fraction` of them held out.
// Throws DataError naming the file for anything malformed (including NaN/Inf,
// with row and column, and a label count that differs from the sample count).
template <class T>
Dataset<T> load_dataset(const DataConfig& cfg, std::uint64_t seed);

// The same from tensors already in memory (tests, synthetic data).
// `origin` names the data in messages.
template <class T>
Dataset<T> make_dataset(const RawTensor& images, const RawTensor* labels, const DataConfig& cfg,
                        std::uint64_t seed, const std::string& origin);

// Seeded minibatches over the training rows. The order of epoch e depends
// only on (seed, e), so a resumed run draws exactly the batches an
// uninterrupted one would.
//
// Each batch is gathered (its rows copied in the epoch's order) into a reused
// contiguous buffer, which is what BLAS needs. The gather reads B·n values
// from scattered rows at ~10 GB/s; with `workers` > 1 it is split into
// blocks of rows run on that many threads (util/thread_pool.hpp), so the
// copy takes less of a step and the rows are in cache when the step reads
// them. The batches are the same at any worker count.
template <class T>
class Batcher {
public:
    Batcher(const Dataset<T>& data, std::size_t batch_size, std::uint64_t seed, std::size_t workers = 1);
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;

    void start_epoch(long epoch);                 // draws that epoch's permutation
    std::size_t num_batches() const;
    // Batch i of the epoch; the view stays valid until the next batch() or
    // start_epoch() call. Any order of i is allowed.
    MatrixView<T> batch(std::size_t i);
    std::size_t workers() const { return workers_; }

private:
    void gather(std::size_t begin, std::size_t end, std::size_t first);

    const Dataset<T>& data_;
    std::size_t batch_size_;
    std::uint64_t seed_;
    std::size_t workers_;
    std::vector<std::size_t> order_;
    xt::xtensor<T, 2> buffer_;
    std::vector<double> sq_buffer_;
    std::vector<std::int32_t> label_buffer_;
};

}  // namespace latentlab
