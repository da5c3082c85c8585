// Named data sources (mnist, fashion-mnist) and files (idx, npy, csv): where
// the samples of DataOptions come from, read into a Dataset.
#pragma once
#include <cstdint>
#include <string>

#include "latentlab/data/dataset.hpp"
#include "latentlab/data/options.hpp"

namespace latentlab {

// Where the images/labels of DataOptions come from, after defaults are applied.
struct DataFiles {
    std::string images;
    std::string labels;  // "" if none
};
DataFiles resolve_data_files(const DataOptions& opt);

// The format of a data file by its name: "npy" (.npy), "csv" (.csv), else
// "idx" (plain or .gz; the reader checks its magic number).
std::string file_format(const std::string& path);

// Loads the data described by `opt` (make_dataset: the samples are shuffled once with
// `seed` (files such as the npm digits are sorted by class), the first
// `limit` kept, and the last `test_fraction` of them held out).
// Throws DataError naming the file for anything malformed (including NaN/Inf,
// with row and column, and a label count that differs from the sample count).
template <class T>
Dataset<T> load_dataset(const DataOptions& opt, std::uint64_t seed);

}  // namespace latentlab
