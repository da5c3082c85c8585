// Builds the model named by `model.type` for data of dimension `input_dim`,
// checking the shape rules that need the data (e.g. latent_dim < input_dim).
#pragma once
#include <memory>

#include "latentlab/config/config.hpp"
#include "latentlab/models/model.hpp"

namespace latentlab {

template <class T>
std::unique_ptr<Model<T>> make_model(const ModelConfig& cfg, std::size_t input_dim);

}  // namespace latentlab
