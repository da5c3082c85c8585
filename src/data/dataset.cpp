#include "latentlab/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "latentlab/data/csv.hpp"
#include "latentlab/data/idx.hpp"
#include "latentlab/data/npy.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/util/error.hpp"
#include "latentlab/util/files.hpp"
#include "latentlab/util/thread_pool.hpp"

namespace latentlab {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void check_is_file(const std::string& path) {
    if (!file_exists(path)) throw DataError(path + ": no such file");
    if (is_directory(path)) throw DataError(path + ": is a directory, expected a file");
}

RawTensor read_any(const std::string& path, const std::string& format) {
    check_is_file(path);
    if (format == "npy" || (format.empty() && ends_with(path, ".npy"))) return read_npy(path);
    if (format == "csv" || (format.empty() && ends_with(path, ".csv"))) return read_csv(path);
    return read_idx(path);
}

template <class S, class T>
void convert_row(const unsigned char* src_bytes, std::size_t src_row, std::size_t dim, T* dst,
                 double scale, const std::string& origin) {
    const S* src = reinterpret_cast<const S*>(src_bytes) + src_row * dim;
    for (std::size_t j = 0; j < dim; ++j) {
        const double v = static_cast<double>(src[j]) * scale;
        if constexpr (std::is_floating_point_v<S>) {
            if (!std::isfinite(v))
                throw DataError(origin + ": " + (std::isnan(v) ? "NaN" : "Inf") + " in data at sample " +
                                std::to_string(src_row) + ", column " + std::to_string(j) +
                                " (0-based, as numpy indexes)");
        }
        dst[j] = static_cast<T>(v);
    }
}

template <class T>
void convert_row_any(const RawTensor& raw, std::size_t src_row, std::size_t dim, T* dst,
                     double scale, const std::string& origin) {
    const unsigned char* b = raw.bytes.data();
    switch (raw.dtype) {
        case DType::u8: return convert_row<std::uint8_t>(b, src_row, dim, dst, scale, origin);
        case DType::i8: return convert_row<std::int8_t>(b, src_row, dim, dst, scale, origin);
        case DType::i16: return convert_row<std::int16_t>(b, src_row, dim, dst, scale, origin);
        case DType::i32: return convert_row<std::int32_t>(b, src_row, dim, dst, scale, origin);
        case DType::i64: return convert_row<std::int64_t>(b, src_row, dim, dst, scale, origin);
        case DType::f32: return convert_row<float>(b, src_row, dim, dst, scale, origin);
        case DType::f64: return convert_row<double>(b, src_row, dim, dst, scale, origin);
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
        if (!std::isfinite(v) || v != std::floor(v) || v < 0 || v > 1e9)
            throw DataError(origin + ": label " + std::to_string(i) +
                            " is not a non-negative integer");
        out[i] = static_cast<std::int32_t>(v);
    }
    return out;
}

// A CSV's NaN/Inf named by its line and (1-based) column, as the CSV
// reader names its other errors; Dataset would only know the row.
void check_csv_finite(const RawTensor& t, const std::vector<std::size_t>& row_lines, const std::string& path) {
    const std::size_t cols = t.row_size();
    for (std::size_t i = 0; i < t.rows(); ++i)
        for (std::size_t j = 0; j < cols; ++j) {
            double v;
            std::memcpy(&v, t.bytes.data() + (i * cols + j) * sizeof v, sizeof v);
            if (!std::isfinite(v))
                throw DataError(path + ":" + std::to_string(row_lines[i]) + ": column " + std::to_string(j + 1) +
                                ": " + (std::isnan(v) ? "NaN" : "Inf") + " in data");
        }
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
    return v;
}

DataFiles resolve_data_files(const DataConfig& cfg) {
    DataFiles f;
    if (cfg.source == "mnist") {
        const std::string dir =
            cfg.path.empty() ? std::string(LATENTLAB_SOURCE_DIR) + "/datasets/mnist" : cfg.path;
        f.images = dir + "/digits-images-idx3-f64";
        f.labels = cfg.labels.empty() ? dir + "/digits-labels-idx1-ubyte" : cfg.labels;
        if (!file_exists(f.images))
            throw DataError(f.images + ": not found: run datasets/fetch_mnist (scripts/setup does) "
                            "to obtain the MNIST digits");
    } else if (cfg.source == "fashion-mnist") {
        const std::string dir = cfg.path.empty() ? "/usr/share/datasets/fashion-mnist" : cfg.path;
        f.images = dir + "/train-images-idx3-ubyte.gz";
        f.labels = cfg.labels.empty() ? dir + "/train-labels-idx1-ubyte.gz" : cfg.labels;
        if (!file_exists(f.images))
            throw DataError(f.images + ": not found: install the Debian package "
                            "dataset-fashion-mnist (scripts/setup does)");
    } else {
        if (cfg.path.empty())
            throw ConfigError("data.path: required for data.source " + cfg.source);
        f.images = cfg.path;
        f.labels = cfg.labels;
    }
    return f;
}

template <class T>
Dataset<T> make_dataset(const RawTensor& images, const RawTensor* labels, const DataConfig& cfg,
                        std::uint64_t seed, const std::string& origin) {
    if (images.shape.size() < 2)
        throw DataError(origin + ": expected one sample per row (rank >= 2), got rank " +
                        std::to_string(images.shape.size()));
    const std::size_t total = images.rows(), dim = images.row_size();
    if (total == 0 || dim == 0) throw DataError(origin + ": no samples");
    const double scale = cfg.scale > 0 ? cfg.scale : (images.dtype == DType::u8 ? 1.0 / 255.0 : 1.0);

    std::vector<std::int32_t> all_labels;
    if (labels) all_labels = read_labels(*labels, total, origin + " (labels)");

    // One seeded shuffle of the whole set, then limit, then split.
    std::vector<std::size_t> perm(total);
    std::iota(perm.begin(), perm.end(), std::size_t{0});
    std::mt19937_64 rng(seed ^ 0xDA7A5E7ULL);
    std::shuffle(perm.begin(), perm.end(), rng);
    std::size_t n = total;
    if (cfg.limit > 0 && static_cast<std::size_t>(cfg.limit) < total) n = static_cast<std::size_t>(cfg.limit);
    const auto n_test = static_cast<std::size_t>(std::llround(cfg.test_fraction * static_cast<double>(n)));
    if (n_test >= n)
        throw ConfigError("data.test_fraction " + std::to_string(cfg.test_fraction) +
                          " leaves no training samples out of " + std::to_string(n));

    Dataset<T> d;
    d.n_train = n - n_test;
    d.n_test = n_test;
    d.X = xt::xtensor<T, 2>::from_shape({n, dim});
    for (std::size_t i = 0; i < n; ++i)
        convert_row_any<T>(images, perm[i], dim, d.X.data() + i * dim, scale, origin);
    if (!all_labels.empty()) {
        d.labels.resize(n);
        for (std::size_t i = 0; i < n; ++i) d.labels[i] = all_labels[perm[i]];
    }
    if (cfg.center) {
        d.mean.assign(dim, 0.0);
        for (std::size_t i = 0; i < d.n_train; ++i) {
            const T* r = d.X.data() + i * dim;
            for (std::size_t j = 0; j < dim; ++j) d.mean[j] += r[j];
        }
        for (auto& m : d.mean) m /= static_cast<double>(d.n_train);
        for (std::size_t i = 0; i < n; ++i) {
            T* r = d.X.data() + i * dim;
            for (std::size_t j = 0; j < dim; ++j) r[j] = static_cast<T>(r[j] - d.mean[j]);
        }
    }
    d.sqnorms.resize(n);
    for (std::size_t i = 0; i < n; ++i) d.sqnorms[i] = blas::sqnorm<T>(dim, d.X.data() + i * dim);
    d.description = origin;
    return d;
}

template <class T>
Dataset<T> load_dataset(const DataConfig& cfg, std::uint64_t seed) {
    const DataFiles files = resolve_data_files(cfg);
    const std::string fmt = (cfg.source == "npy" || cfg.source == "csv") ? cfg.source : "idx";
    RawTensor images;
    if (fmt == "csv") {
        check_is_file(files.images);
        std::vector<std::size_t> row_lines;
        images = read_csv(files.images, &row_lines);
        check_csv_finite(images, row_lines, files.images);
    } else {
        images = read_any(files.images, fmt);
    }
    if (files.labels.empty()) return make_dataset<T>(images, nullptr, cfg, seed, files.images);
    RawTensor labels = read_any(files.labels, "");
    try {
        return make_dataset<T>(images, &labels, cfg, seed, files.images);
    } catch (const DataError& e) {
        // Name the labels file when the count or the values are at fault.
        std::string msg = e.what();
        const std::string tag = files.images + " (labels)";
        if (msg.rfind(tag, 0) == 0) throw DataError(files.labels + msg.substr(tag.size()));
        throw;
    }
}

template <class T>
Batcher<T>::Batcher(const Dataset<T>& data, std::size_t batch_size, std::uint64_t seed, std::size_t workers)
    : data_(data), batch_size_(std::max<std::size_t>(1, std::min(batch_size, data.n_train))), seed_(seed),
      workers_(std::max<std::size_t>(1, workers)) {
    buffer_ = xt::xtensor<T, 2>::from_shape({batch_size_, data.dim()});
    sq_buffer_.resize(batch_size_);
    if (data.has_labels()) label_buffer_.resize(batch_size_);
    order_.resize(data.n_train);
    std::iota(order_.begin(), order_.end(), std::size_t{0});
}

template <class T>
void Batcher<T>::start_epoch(long epoch) {
    std::iota(order_.begin(), order_.end(), std::size_t{0});
    std::seed_seq seq{static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32),
                      static_cast<std::uint32_t>(epoch), 0xBA7Cu};
    std::mt19937_64 rng(seq);
    std::shuffle(order_.begin(), order_.end(), rng);
}

template <class T>
std::size_t Batcher<T>::num_batches() const {
    return (data_.n_train + batch_size_ - 1) / batch_size_;
}

// Rows [begin, end) of the epoch's order into buffer rows from `first`.
template <class T>
void Batcher<T>::gather(std::size_t begin, std::size_t end, std::size_t first) {
    const std::size_t dim = data_.dim();
    const T* src = data_.X.data();
    T* dst = buffer_.data();
    const bool labels = !label_buffer_.empty();
    for (std::size_t r = begin; r < end; ++r) {
        // Rows are scattered over the data set: ask for the row after next
        // while copying this one (~10% faster than the copy alone).
        if (r + 2 < end) {
            const char* p = reinterpret_cast<const char*>(src + order_[r + 2] * dim);
            for (std::size_t c = 0; c < dim * sizeof(T); c += 64) __builtin_prefetch(p + c, 0, 1);
        }
        const std::size_t s = order_[r], b = first + (r - begin);
        std::memcpy(dst + b * dim, src + s * dim, dim * sizeof(T));
        sq_buffer_[b] = data_.sqnorms[s];
        if (labels) label_buffer_[b] = data_.labels[s];
    }
}

template <class T>
MatrixView<T> Batcher<T>::batch(std::size_t i) {
    const std::size_t begin = i * batch_size_;
    const std::size_t rows = std::min(begin + batch_size_, data_.n_train) - begin;
    // Blocks of 32 rows (fixed; any worker may copy any block).
    constexpr std::size_t kBlock = 32;
    run_parts((rows + kBlock - 1) / kBlock, workers_, [&](std::size_t p) {
        const std::size_t r0 = p * kBlock, r1 = std::min(rows, r0 + kBlock);
        gather(begin + r0, begin + r1, r0);
    });
    MatrixView<T> v;
    v.data = buffer_.data();
    v.rows = rows;
    v.cols = data_.dim();
    v.sqnorms = sq_buffer_.data();
    v.labels = label_buffer_.empty() ? nullptr : label_buffer_.data();
    return v;
}

template struct Dataset<float>;
template struct Dataset<double>;
template class Batcher<float>;
template class Batcher<double>;
template Dataset<float> load_dataset<float>(const DataConfig&, std::uint64_t);
template Dataset<double> load_dataset<double>(const DataConfig&, std::uint64_t);
template Dataset<float> make_dataset<float>(const RawTensor&, const RawTensor*, const DataConfig&,
                                            std::uint64_t, const std::string&);
template Dataset<double> make_dataset<double>(const RawTensor&, const RawTensor*, const DataConfig&,
                                              std::uint64_t, const std::string&);

}  // namespace latentlab
