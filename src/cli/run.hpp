// The `train` command: from parsed flags to a finished run directory.
#pragma once
#include <string>
#include <vector>

#include "latentlab/data/dataset.hpp"

namespace latentlab::cli {

struct RunOptions {
    std::string config_path;
    std::vector<std::string> overrides;  // "key.path=value"
    std::string out_dir;                 // --out
    std::string resume_dir;              // --resume
    bool force = false;                  // --force: overwrite a run directory
    bool quiet = false;
    bool gradcheck = false;              // --gradcheck: check the gradient, print a table, do not train
    long stop_after = 0;                 // --stop-after N: stop after epoch N (0 = never)
};

// Runs training; returns the process exit code. Throws latentlab::Error
// (ConfigError, DataError, NumericalError) for the CLI to print.
int run(const RunOptions& opt);

// Data no model can learn from: values whose squares overflow double are
// refused (DataError naming the data); all-zero, constant or underflowing
// rows give the warnings returned. A collective call under several processes.
template <class T>
std::vector<std::string> check_data_values(const Dataset<T>& data);

}  // namespace latentlab::cli
