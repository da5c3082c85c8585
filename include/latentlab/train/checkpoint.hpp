// A checkpoint holds everything a run needs to continue bit-exactly: the
// parameters, the optimiser's per-run state and the position (epoch, step,
// time). The minibatch order needs no state: it is a function of (seed,
// epoch). Written atomically (temp file, fsync, rename).
#pragma once
#include <string>

#include "latentlab/models/model.hpp"
#include "latentlab/optim/optimizer.hpp"
#include "latentlab/train/trainer.hpp"

namespace latentlab {

template <class T>
void save_checkpoint(const std::string& path, const Model<T>& model, const Optimizer<T>& opt,
                     const StartPoint& where);

// Restores model parameters and optimiser state; returns where to resume.
// Throws DataError naming the file if it is missing, truncated, or was
// written for another model, precision or optimiser.
template <class T>
StartPoint load_checkpoint(const std::string& path, Model<T>& model, Optimizer<T>& opt);

// Writes each parameter block as DIR/<name>.npy (atomically).
template <class T>
void save_params_npy(const std::string& dir, const Model<T>& model);

}  // namespace latentlab
