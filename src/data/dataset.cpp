#include "latentlab/data/dataset.hpp"

#include <algorithm>
#include <cstring>
#include <cmath>
#include <numeric>
#include <random>
#include <type_traits>

#include "latentlab/core/communicator.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/files.hpp"
#include "latentlab/core/format.hpp"
#include "latentlab/data/shuffle.hpp"
#include "latentlab/linalg/blas.hpp"

namespace latentlab {

namespace {

template <class S, class T>
void convert_row(const unsigned char* src_bytes, std::size_t src_row, std::size_t dim, T* dst,
                 double scale, const std::string& origin, std::size_t input_row) {
    const S* src = reinterpret_cast<const S*>(src_bytes) + src_row * dim;
    for (std::size_t j = 0; j < dim; ++j) {
        const double v = static_cast<double>(src[j]) * scale;
        if constexpr (std::is_floating_point_v<S>) {
            if (!std::isfinite(v))
                throw DataError(origin + ": " + (std::isnan(v) ? "NaN" : "Inf") + " in data at sample " +
                                std::to_string(input_row) + ", column " + std::to_string(j) +
                                " (0-based, as numpy indexes)");
        }
        dst[j] = static_cast<T>(v);
    }
}

template <class T>
void convert_row_any(const unsigned char* b, DType dtype, std::size_t src_row, std::size_t dim, T* dst,
                     double scale, const std::string& origin, std::size_t input_row) {
    switch (dtype) {
        case DType::u8: return convert_row<std::uint8_t>(b, src_row, dim, dst, scale, origin, input_row);
        case DType::i8: return convert_row<std::int8_t>(b, src_row, dim, dst, scale, origin, input_row);
        case DType::i16: return convert_row<std::int16_t>(b, src_row, dim, dst, scale, origin, input_row);
        case DType::i32: return convert_row<std::int32_t>(b, src_row, dim, dst, scale, origin, input_row);
        case DType::i64: return convert_row<std::int64_t>(b, src_row, dim, dst, scale, origin, input_row);
        case DType::f32: return convert_row<float>(b, src_row, dim, dst, scale, origin, input_row);
        case DType::f64: return convert_row<double>(b, src_row, dim, dst, scale, origin, input_row);
    }
}

std::vector<std::int32_t> read_labels(const RawTensor& raw, std::size_t expected,
                                      const std::string& origin) {
    if (raw.shape.size() > 2 || (raw.shape.size() == 2 && raw.shape[1] != 1))
        throw DataError(origin + ": labels must be one value per sample (rank 1), got rank " +
                        std::to_string(raw.shape.size()));
    if (raw.rows() != expected)
        throw DataError(origin + ": " + std::to_string(raw.rows()) + " labels for " +
                        std::to_string(expected) + " samples");
    std::vector<std::int32_t> out(expected);
    for (std::size_t i = 0; i < expected; ++i) {
        const double v = raw.at(i);
        const bool integer = std::isfinite(v) && v == std::floor(v) && v >= 0;
        if (!integer || v > 1e9)
            throw DataError(origin + ": label at row " + std::to_string(i) + " is " + format_shortest(v) +
                            (integer ? ", larger than 10^9 (labels are class numbers)" : ", not a non-negative integer") +
                            " (rows 0-based, as numpy indexes)");
        out[i] = static_cast<std::int32_t>(v);
    }
    return out;
}

}  // namespace

template <class T>
MatrixView<T> Dataset<T>::all() const {
    MatrixView<T> v;
    v.data = X.data();
    v.rows = X.shape()[0];
    v.cols = X.shape()[1];
    v.sqnorms = sqnorms.data();
    v.labels = labels.empty() ? nullptr : labels.data();
    if (!levels.empty()) {
        v.levels = levels.data();
        v.level_scale = scale;
        v.level_offset = mean.empty() ? nullptr : mean.data();
    }
    return v;
}

namespace {
template <class T>
Dataset<T> make_dataset_impl(const void* images, DType dtype, const std::vector<std::size_t>& shape,
                             const std::vector<std::size_t>* row_ids, std::size_t file_rows, const RawTensor* labels,
                             const DataOptions& cfg, std::uint64_t seed, const std::string& origin);
}  // namespace

template <class T>
Dataset<T> make_dataset(const RawTensor& images, const RawTensor* labels, const DataOptions& cfg,
                        std::uint64_t seed, const std::string& origin) {
    const bool selected = !images.row_ids.empty() || images.file_rows > 0;
    return make_dataset_impl<T>(images.bytes.data(), images.dtype, images.shape, selected ? &images.row_ids : nullptr,
                                images.file_rows, labels, cfg, seed, origin);
}

RowPlan plan_rows(std::size_t total, const DataOptions& cfg, std::uint64_t seed, const std::string& origin) {
    RowPlan p;
    // One seeded shuffle of the whole set, then limit, then split.
    p.perm.resize(total);
    std::iota(p.perm.begin(), p.perm.end(), std::size_t{0});
    std::mt19937_64 rng(seed ^ 0xDA7A5E7ULL);
    if (cfg.shuffle) shuffle(p.perm, rng);  // data/shuffle.hpp: the same on every standard library
    p.n = total;
    if (cfg.limit > 0 && static_cast<std::size_t>(cfg.limit) < total) p.n = static_cast<std::size_t>(cfg.limit);
    p.n_test = static_cast<std::size_t>(std::llround(cfg.test_fraction * static_cast<double>(p.n)));
    if (p.n_test >= p.n)
        throw OptionError("test_fraction", " " + std::to_string(cfg.test_fraction) +
                                              " leaves no training samples out of " + std::to_string(p.n));
    // This rank's share of the training rows and of the test rows (all of
    // them on one process).
    const Communicator& w = world();
    const std::size_t train_total = p.n - p.n_test;
    if (train_total < static_cast<std::size_t>(w.size()))
        throw DataError(origin + ": " + std::to_string(train_total) + " training samples for " +
                        std::to_string(w.size()) + " processes: each needs at least one (fewer ranks, or more data)");
    p.train = shard(train_total, w.rank(), w.size());
    p.test = shard(p.n_test, w.rank(), w.size());
    p.mine.reserve(p.train.count + p.test.count);
    for (std::size_t i = 0; i < p.train.count; ++i) p.mine.push_back(p.train.first + i);
    for (std::size_t i = 0; i < p.test.count; ++i) p.mine.push_back(train_total + p.test.first + i);
    return p;
}

std::vector<std::size_t> held_input_rows(std::size_t total, const DataOptions& cfg, std::uint64_t seed,
                                         const std::string& origin) {
    const RowPlan p = plan_rows(total, cfg, seed, origin);
    std::vector<std::size_t> rows;
    rows.reserve(p.mine.size());
    for (std::size_t i : p.mine) rows.push_back(p.perm[i]);
    std::sort(rows.begin(), rows.end());
    return rows;
}

namespace {
template <class T>
Dataset<T> make_dataset_impl(const void* images, DType dtype, const std::vector<std::size_t>& shape,
                             const std::vector<std::size_t>* row_ids, std::size_t file_rows, const RawTensor* labels,
                             const DataOptions& cfg, std::uint64_t seed, const std::string& origin) {
    if (shape.size() < 2)
        throw DataError(origin + ": expected one sample per row (rank >= 2), got rank " +
                        std::to_string(shape.size()));
    std::size_t dim = 1;
    for (std::size_t k = 1; k < shape.size(); ++k) dim *= shape[k];
    const std::size_t total = row_ids ? file_rows : shape[0];
    if (total == 0) throw DataError(origin + ": no samples");
    if (dim == 0) throw DataError(origin + ": " + std::to_string(total) + " samples of 0 values each (no columns)");
    const double scale = cfg.scale > 0 ? cfg.scale : (dtype == DType::u8 ? 1.0 / 255.0 : 1.0);
    const auto* bytes = static_cast<const unsigned char*>(images);

    std::vector<std::int32_t> all_labels;
    if (labels) all_labels = read_labels(*labels, total, origin + " (labels)");

    const RowPlan plan = plan_rows(total, cfg, seed, origin);
    const std::vector<std::size_t>& perm = plan.perm;
    const std::size_t n = plan.n, n_test = plan.n_test, train_total = n - n_test;
    const Shard tr = plan.train, te = plan.test;
    const std::vector<std::size_t>& mine = plan.mine;
    // The rows as T next to the file's bytes, still held: a u8 file within
    // the readers' limit can take 4× (float) or 8× (double) its size here.
    check_fits_in_memory(origin,
                         static_cast<std::uint64_t>(mine.size()) * dim * (sizeof(T) + dtype_size(dtype)),
                         std::to_string(mine.size()) + " rows of " + std::to_string(dim) + " values as " +
                             (sizeof(T) == 4 ? "float32" : "float64") + " beside the file's bytes (data.limit "
                             "reads fewer rows; model.dtype float32 halves a float64 copy)");
    const Communicator& w = world();
    // Where input row r is in `images`: r itself, or its place among the rows read.
    auto at = [&](std::size_t r) -> std::size_t {
        if (!row_ids) return r;
        const auto it = std::lower_bound(row_ids->begin(), row_ids->end(), r);
        if (it == row_ids->end() || *it != r)
            throw DataError(origin + ": internal: input row " + std::to_string(r) + " was not read");
        return static_cast<std::size_t>(it - row_ids->begin());
    };

    Dataset<T> d;
    d.n_train = tr.count;
    d.n_test = te.count;
    d.train_total = train_total;
    d.test_total = n_test;
    d.train_first = tr.first;
    d.test_first = te.first;
    d.scale = scale;
    d.rows.assign(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(n));
    const std::size_t local = mine.size();
    d.X = xt::xtensor<T, 2>::from_shape({local, dim});
    std::exception_ptr failed;  // a NaN may sit in one rank's rows only: every rank hears of it
    try {
        for (std::size_t i = 0; i < local; ++i)
            convert_row_any<T>(bytes, dtype, at(perm[mine[i]]), dim, d.X.data() + i * dim, scale, origin,
                               perm[mine[i]]);
    } catch (...) {
        failed = std::current_exception();
    }
    agree(failed);
    if (dtype == DType::u8) {  // the bytes themselves (MatrixView::levels)
        d.levels.resize(local * dim);
        for (std::size_t i = 0; i < local; ++i)
            std::memcpy(d.levels.data() + i * dim, bytes + at(perm[mine[i]]) * dim, dim);
    }
    if (!all_labels.empty()) {
        d.labels.resize(local);
        for (std::size_t i = 0; i < local; ++i) d.labels[i] = all_labels[perm[mine[i]]];
    }
    if (cfg.center) {
        d.mean.assign(dim, 0.0);
        for (std::size_t i = 0; i < d.n_train; ++i) {
            const T* r = d.X.data() + i * dim;
            for (std::size_t j = 0; j < dim; ++j) d.mean[j] += r[j];
        }
        w.sum(d.mean.data(), dim);
        for (auto& m : d.mean) m /= static_cast<double>(train_total);
        for (std::size_t i = 0; i < local; ++i) {
            T* r = d.X.data() + i * dim;
            for (std::size_t j = 0; j < dim; ++j) r[j] = static_cast<T>(r[j] - d.mean[j]);
        }
    }
    d.sqnorms.resize(local);
    for (std::size_t i = 0; i < local; ++i) d.sqnorms[i] = blas::sqnorm<T>(dim, d.X.data() + i * dim);
    d.description = origin;
    return d;
}

}  // namespace

template <class T>
Dataset<T> make_dataset(const void* images, DType dtype, const std::vector<std::size_t>& shape,
                        const RawTensor* labels, const DataOptions& cfg, std::uint64_t seed,
                        const std::string& origin) {
    return make_dataset_impl<T>(images, dtype, shape, nullptr, 0, labels, cfg, seed, origin);
}

template struct Dataset<float>;
template struct Dataset<double>;
template Dataset<float> make_dataset<float>(const RawTensor&, const RawTensor*, const DataOptions&,
                                            std::uint64_t, const std::string&);
template Dataset<double> make_dataset<double>(const RawTensor&, const RawTensor*, const DataOptions&,
                                              std::uint64_t, const std::string&);
template Dataset<float> make_dataset<float>(const void*, DType, const std::vector<std::size_t>&, const RawTensor*,
                                            const DataOptions&, std::uint64_t, const std::string&);
template Dataset<double> make_dataset<double>(const void*, DType, const std::vector<std::size_t>&, const RawTensor*,
                                              const DataOptions&, std::uint64_t, const std::string&);

}  // namespace latentlab
