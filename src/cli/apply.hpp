// `train apply RUN --data FILE --out DIR`: a trained run applied to new rows.
// The rows are prepared as the run's were (scale, the training mean from
// mean.npy) but kept in input order; the outputs are .npy files with one row
// per input row, and apply.json with their summary:
//   autoencoders  codes.npy (N×m), reconstruction.npy (N×n), reconstruction_loss.npy (N)
//   mlp           classes.npy (N, int32), probabilities.npy (N×c); with --labels correct.npy, accuracy
//   gplvm         latent.npy (N×q): each row's most likely latent point under the trained model,
//                 log_likelihood.npy (N) (analysis/gplvm_projection.hpp)
#pragma once
#include <string>

namespace latentlab::cli {

struct ApplyOptions {
    std::string run_dir;
    std::string data;    // npy, csv or IDX (.gz) file
    std::string labels;  // optional labels file
    std::string out_dir;
    bool quiet = false;  // -q: apply.json is not printed
};

// Returns the exit code; throws latentlab::Error for the CLI to print.
int apply(const ApplyOptions& opt);

}  // namespace latentlab::cli
