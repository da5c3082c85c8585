#pragma once
#include <cstdint>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/data/dataset.hpp"

namespace latentlab {

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
//
// Pixel data (every training value k/255, k = 0..255: 8-bit images as the
// dataset scales them) are gathered from their levels, one byte per value —
// the dataset's own bytes when it read 8-bit input uncentred, else a copy
// made here (N·n bytes) — and turned back into the same bits
// (linalg/pixels.hpp): a quarter of the bytes read for float rows, an eighth
// for double (the gather is memory-bound).
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
    // Under several processes, this rank's rows of the epoch's batch i (its
    // index: their local row numbers); batch_rows(i) counts all ranks' rows.
    MatrixView<T> batch(std::size_t i);
    std::size_t batch_rows(std::size_t i) const;
    std::size_t workers() const { return workers_; }
    bool gathers_levels() const { return levels_ != nullptr; }  // pixel rows, gathered as bytes

private:
    void gather(const std::size_t* order, std::size_t begin, std::size_t end, std::size_t first);

    const Dataset<T>& data_;
    std::size_t batch_size_;
    std::uint64_t seed_;
    std::size_t workers_;
    bool sharded_;
    std::vector<std::size_t> order_;
    std::vector<std::size_t> picked_;
    xt::xtensor<T, 2> buffer_;
    std::vector<double> sq_buffer_;
    std::vector<std::int32_t> label_buffer_;
    const std::uint8_t* levels_ = nullptr;  // the training rows' pixel levels (the dataset's or own_levels_), or null
    std::vector<std::uint8_t> own_levels_;
};

}  // namespace latentlab
