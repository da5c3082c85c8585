// Builds the model named by `model.type` for `n_samples` training rows of
// dimension `input_dim`, checking the shape rules that need the data
// (latent_dim < input_dim; for the GPLVM also latent_dim < N).
#pragma once
#include <memory>

#include "latentlab/config/config.hpp"
#include "latentlab/models/model.hpp"

namespace latentlab {

template <class T>
std::unique_ptr<Model<T>> make_model(const ModelConfig& cfg, std::size_t input_dim, std::size_t n_samples);

}  // namespace latentlab
