// What data a run uses and how they are prepared (data/sources.hpp reads them,
// data/dataset.hpp prepares them). The config's `data:` keys are these fields.
#pragma once
#include <string>

namespace latentlab {

struct DataOptions {
    std::string source = "mnist";   // mnist | fashion-mnist | idx | npy | csv
    std::string path;               // file (idx/npy/csv) or directory (mnist, fashion-mnist); "" = default
    std::string labels;             // labels file (idx/npy/csv); "" = the set's own labels, if any
    long limit = 0;                 // use `limit` samples: a seeded random subset (0 = all)
    double test_fraction = 0.0;     // held-out fraction (0 disables the test split)
    std::string test_path;          // a separate test file (idx/npy/csv) instead of a held-out fraction
    std::string test_labels;        // its labels file
    bool center = false;            // subtract the training mean
    double scale = 0.0;             // multiply values by this; 0 = auto (1/255 for u8 IDX, else 1)
    bool shuffle = true;            // false: keep the input order (train apply); not a config key
};

}  // namespace latentlab
