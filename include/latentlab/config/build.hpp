// From typed settings to the pieces of a run: the data, the model, the
// optimiser and its learning-rate schedule. The only place (with the
// registration table in config.cpp) that knows both the config keys and the
// modules' own option structs: an OptionError a module throws comes back as a
// ConfigError naming the key ("model.latent_dim 40 must be smaller than ...").
#pragma once
#include <cstdint>
#include <memory>

#include "latentlab/config/config.hpp"
#include "latentlab/data/dataset.hpp"
#include "latentlab/models/model.hpp"
#include "latentlab/optim/optimizer.hpp"
#include "latentlab/optim/schedule.hpp"

namespace latentlab {

// data.* → the samples (data/sources.hpp), shuffled with `seed`.
template <class T>
Dataset<T> load_data(const DataConfig& cfg, std::uint64_t seed);

// model.* → the model for `n_samples` training rows of dimension
// `input_dim`, checking the shape rules that need the data (latent_dim <
// input_dim; for the GPLVM also latent_dim < N).
template <class T>
std::unique_ptr<Model<T>> make_model(const ModelConfig& cfg, std::size_t input_dim, std::size_t n_samples);

// optim.* → the optimiser ("sgd" | "adam" | "lbfgs") for n parameters.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimConfig& cfg, std::size_t n);

// optim.lr, optim.schedule, ... → the learning-rate schedule.
Schedule make_schedule(const OptimConfig& cfg);

// The number of epochs of a run: train.epochs, or optim.max_iterations for a
// line-search optimiser (one iteration per epoch).
long run_length(const Config& cfg);

}  // namespace latentlab
