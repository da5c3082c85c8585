// A non-owning view of consecutive samples (rows) of a row-major matrix:
// what a model's loss/grad receive as a batch.
#pragma once
#include <cstddef>
#include <cstdint>

namespace latentlab {

template <class T>
struct MatrixView {
    const T* data = nullptr;
    std::size_t rows = 0;
    std::size_t cols = 0;
    const double* sqnorms = nullptr;  // optional ‖x_i‖² per row (exact, in double)
    const std::int32_t* labels = nullptr;  // optional class label per row
    // Where each row sits in the training set: index[i] when given (a
    // shuffled minibatch), else first + i (a slice of the rows in order).
    // Models with per-row parameters (the stochastic variational GPLVM) use it.
    const std::size_t* index = nullptr;
    std::size_t first = 0;
    // Optional: rows read from 8-bit input, as their bytes (rows × cols):
    // data[i][j] is T(T(levels[i][j]·level_scale) − level_offset[j]) (no
    // offset: T(levels·level_scale)) — data/dataset.cpp's formula, so a pass
    // over the bytes can rebuild the same values from an eighth of the memory.
    const std::uint8_t* levels = nullptr;
    double level_scale = 0;
    const double* level_offset = nullptr;

    const T* row(std::size_t i) const { return data + i * cols; }
    std::size_t row_id(std::size_t i) const { return index ? index[i] : first + i; }

    // Rows [begin, end) as a view (no copy).
    MatrixView slice(std::size_t begin, std::size_t end) const {
        MatrixView v = *this;
        v.data = data + begin * cols;
        v.rows = end - begin;
        v.sqnorms = sqnorms ? sqnorms + begin : nullptr;
        v.labels = labels ? labels + begin : nullptr;
        v.index = index ? index + begin : nullptr;
        v.first = index ? 0 : first + begin;
        v.levels = levels ? levels + begin * cols : nullptr;
        return v;
    }
};

}  // namespace latentlab
