// Named data sources and file formats: from DataOptions to the raw tensors
// that make_dataset turns into a Dataset.
#include "latentlab/data/sources.hpp"

#include "latentlab/core/communicator.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "latentlab/core/error.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/core/files.hpp"
#include "latentlab/io/csv.hpp"
#include "latentlab/io/idx.hpp"
#include "latentlab/io/npy.hpp"

namespace latentlab {

namespace {

// A missing file in plain words. Every other reason a file cannot be read (a
// directory, a FIFO or device, a symlink loop, permissions) is named by the
// reader, which checks the kind before it opens and never blocks.
void check_not_missing(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) throw DataError(path + ": no such file");
}

RawTensor read_any(const std::string& path, const std::string& format, const RowSelect& select = {}) {
    check_not_missing(path);
    const std::string f = format.empty() ? file_format(path) : format;
    if (f == "npy") return read_npy(path, select);
    if (f == "csv") return read_csv(path);  // whole (text has no row offsets)
    return read_idx(path, select);
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

DataFiles resolve_data_files(const DataOptions& cfg) {
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
            throw OptionError("path", ": required for the source " + cfg.source + " (a file)");
        f.images = cfg.path;
        f.labels = cfg.labels;
    }
    return f;
}

std::string file_format(const std::string& path) {
    auto ends = [&](const char* ext) {
        const std::string e(ext);
        return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
    };
    return ends(".npy") ? "npy" : ends(".csv") ? "csv" : "idx";
}

namespace {
template <class T>
Dataset<T> load_one(const DataOptions& cfg, std::uint64_t seed);

// The training rows of `cfg` followed by every row of its test file, in the
// test file's order, prepared as the training rows are (the same scale rule,
// the training mean subtracted).
template <class T>
Dataset<T> with_test_file(const DataOptions& cfg, std::uint64_t seed) {
    if (cfg.test_fraction > 0)
        throw OptionError("test_fraction", " must be 0 when a separate test file is given (test_path)");
    DataOptions train_opt = cfg;
    train_opt.test_path.clear();
    train_opt.test_labels.clear();
    Dataset<T> d = load_one<T>(train_opt, seed);
    DataOptions test_opt;
    const std::string& p = cfg.test_path;
    test_opt.source = file_format(p);
    test_opt.path = p;
    test_opt.labels = cfg.test_labels;
    test_opt.scale = cfg.scale;
    test_opt.shuffle = false;
    const Dataset<T> t = load_one<T>(test_opt, seed);
    if (t.dim() != d.dim())
        throw DataError(p + ": " + std::to_string(t.dim()) + " columns, the training data have " +
                        std::to_string(d.dim()));
    if (d.has_labels() != t.has_labels())
        throw OptionError("test_labels", d.has_labels() ? ": the training data have labels, the test file none"
                                                        : " given, but the training data have no labels");
    const std::size_t n = d.n_train, m = t.n_train, dim = d.dim();
    Dataset<T> out;
    out.X = xt::xtensor<T, 2>::from_shape({n + m, dim});
    std::copy_n(d.X.data(), n * dim, out.X.data());
    std::copy_n(t.X.data(), m * dim, out.X.data() + n * dim);
    out.sqnorms = d.sqnorms;
    out.sqnorms.resize(n + m);
    for (std::size_t i = 0; i < m; ++i) {
        T* r = out.X.data() + (n + i) * dim;
        if (!d.mean.empty())
            for (std::size_t j = 0; j < dim; ++j) r[j] = static_cast<T>(r[j] - d.mean[j]);
        out.sqnorms[n + i] = blas::sqnorm<T>(dim, r);
    }
    out.labels = d.labels;
    out.labels.insert(out.labels.end(), t.labels.begin(), t.labels.end());
    out.n_train = n;
    out.n_test = m;
    out.train_total = d.train_total;
    out.train_first = d.train_first;
    out.test_total = t.train_total;  // the test file's rows, shared among the ranks as training rows are
    out.test_first = t.train_first;
    out.mean = d.mean;
    out.rows = d.rows;  // then the test file's rows, in its order
    out.rows.insert(out.rows.end(), t.rows.begin(), t.rows.end());
    out.scale = d.scale;
    out.description = d.description + " + test file " + p;
    return out;
}
}  // namespace

template <class T>
Dataset<T> load_dataset(const DataOptions& cfg, std::uint64_t seed) {
    if (!cfg.test_path.empty()) return with_test_file<T>(cfg, seed);
    return load_one<T>(cfg, seed);
}

namespace {
template <class T>
Dataset<T> load_one(const DataOptions& cfg, std::uint64_t seed) {
    const DataFiles files = resolve_data_files(cfg);
    const std::string fmt = (cfg.source == "npy" || cfg.source == "csv") ? cfg.source : "idx";
    RawTensor images;
    if (fmt == "csv") {
        check_not_missing(files.images);
        std::vector<std::size_t> row_lines;
        images = read_csv(files.images, &row_lines);
        check_csv_finite(images, row_lines, files.images);
    } else {
        // Under several processes each rank reads only the rows it keeps.
        RowSelect select;
        if (world().size() > 1)
            select = [&](std::size_t total) { return held_input_rows(total, cfg, seed, files.images); };
        images = read_any(files.images, fmt, select);
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
}  // namespace

template Dataset<float> load_dataset<float>(const DataOptions&, std::uint64_t);
template Dataset<double> load_dataset<double>(const DataOptions&, std::uint64_t);

}  // namespace latentlab
