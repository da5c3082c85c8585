// Typed settings of one experiment, read from YAML, overridden by
// `--set key.path=value`, validated, and written back resolved.
//
// Every key is registered once (src/config/config.cpp) with its type, its
// default (the member initialisers below), its allowed values and one line of
// help; parsing, validation, `--set`, the resolved config.yaml and
// `train --list-keys` all come from that one table.
#pragma once
#include <string>
#include <vector>

#include "latentlab/data/options.hpp"

namespace latentlab {

// data: the data layer's own options (data/options.hpp).
using DataConfig = DataOptions;

struct ModelConfig {
    std::string type = "linear_autoencoder";
    long latent_dim = 32;           // m (rows of W)
    std::string dtype = "float32";  // float32 | float64
    double init_scale = 0.01;       // W0 ~ N(0, init_scale^2); gplvm random init: X0 ~ N(0, init_scale^2)
    std::string objective = "rows";  // linear_autoencoder: rows (per batch) | second_moment (exact, from C = X^T X)
    long warm_start = 0;             // second_moment: steps of subspace iteration on C before L-BFGS
    // nonlinear_autoencoder, mlp
    std::string activation = "auto";  // auto | identity | sigmoid | tanh | relu | swish (auto: sigmoid AE, swish MLP)
    long hidden = 128;              // mlp: hidden units
    long classes = 10;              // mlp: output classes
    // gplvm
    std::string kernel = "auto";    // auto | linear | rbf | rbf_ard (auto: see kernel_name())
    long inducing = 50;             // bayesian_gplvm: inducing points M
    std::string inference = "collapsed";  // bayesian_gplvm: collapsed (full batch) | stochastic (mini-batches)
    std::string method = "auto";    // auto | dense | woodbury (auto: woodbury for the linear kernel)
    std::string init = "pca";       // pca | random
    bool learn_hyperparameters = false;
    double variance = 1.0;          // alpha (linear) or signal variance (rbf)
    double lengthscale = 1.0;       // rbf: initial lengthscale(s)
    double noise_variance = 0.1;    // sigma^2 = 1/beta
    std::string hyper_transform = "log";  // log | softplus: learned hyperparameters as exp(theta) or log(1 + exp(theta))

    // The kernel in use: model.kernel, or for "auto" linear (gplvm) or
    // rbf_ard (bayesian_gplvm).
    std::string kernel_name() const {
        if (kernel != "auto") return kernel;
        return type == "bayesian_gplvm" ? "rbf_ard" : "linear";
    }
    bool is_gplvm() const { return type == "gplvm" || type == "bayesian_gplvm"; }
};

struct OptimConfig {
    std::string type = "adam";      // sgd | adam
    double lr = 1e-3;
    double momentum = 0.0;          // sgd
    bool nesterov = false;          // sgd
    double beta1 = 0.9;             // adam
    double beta2 = 0.999;           // adam
    double eps = 1e-8;              // adam
    double weight_decay = 0.0;      // decoupled (AdamW-style for adam; L2 for sgd)
    std::string schedule = "constant";  // constant | step | cosine
    long step_epochs = 10;          // step: multiply lr by gamma every step_epochs epochs
    double gamma = 0.1;             // step
    double min_lr = 0.0;            // cosine: final lr
    // lbfgs (full batch; one iteration per metrics row)
    long max_iterations = 500;
    long max_evaluations = 0;       // objective evaluations in all (0 = no limit)
    double grad_tol = 1e-5;         // stop when max |grad| <= grad_tol
    double rel_tol = 1e-12;         // stop when an iteration's decrease <= rel_tol * max(|f|, 1)
    long history = 10;              // curvature pairs kept
};

struct TrainConfig {
    long epochs = 10;
    long batch_size = 256;
    long threads = 0;               // BLAS threads; 0 = all cores (at most 256)
    std::string step_threads = "auto";  // auto | all: minibatch steps on the faster of all threads and one
    double log_every = 2.0;         // seconds between progress lines when not on a terminal
    bool checkpoint = true;         // write checkpoint.bin (with the parameters and metrics.csv)
    long checkpoint_every = 0;      // write the run's state every this many epochs (0: by write_share only)
    double write_share = 0.05;      // ... and whenever that keeps writing below this share of the time (1: every epoch)
};

struct OutputConfig {
    std::string dir;                // run directory; "" = runs/<config name>
};

struct Config {
    long seed = 0;
    DataConfig data;
    ModelConfig model;
    OptimConfig optim;
    TrainConfig train;
    OutputConfig output;
};

// Reads `path` (YAML), then applies each "key.path=value" of `overrides` in
// order. Throws ConfigError with a one-line message naming the file and line
// (or the --set argument) and the key: YAML syntax errors, unknown keys (with
// the closest valid key), duplicate keys, wrong types, out-of-range values.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Parses YAML text; `origin` names it in messages (a file name).
Config parse_config(const std::string& yaml_text, const std::string& origin);

// Applies one "key.path=value" override (value parsed as a YAML scalar).
void apply_override(Config& cfg, const std::string& assignment);

// Re-checks every value and the cross-key rules; throws ConfigError.
void validate(const Config& cfg);

// The resolved configuration as YAML (every key, grouped), which
// parse_config reads back to an equal Config.
std::string to_yaml(const Config& cfg);

// One line per key: name, type, default, allowed values, help (for --help).
std::string describe_keys();

// All valid keys ("data.path", ...), in table order.
std::vector<std::string> config_keys();

}  // namespace latentlab
