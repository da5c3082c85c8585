// A checkpoint holds everything a run needs to continue bit-exactly: the
// parameters, the optimiser's per-run state and the position (epoch, step,
// time). The minibatch order needs no state: it is a function of (seed,
// epoch). Written atomically (temp file, fsync, rename), with a CRC-32 of its
// whole content (core/checksum.hpp) that is verified before anything is read
// (the format: src/train/checkpoint.cpp).
#pragma once
#include <string>

#include "latentlab/models/model.hpp"
#include "latentlab/optim/optimizer.hpp"
#include "latentlab/train/trainer.hpp"

namespace latentlab {

// The checkpoint's bytes (what save_checkpoint writes).
template <class T>
std::string checkpoint_bytes(const Model<T>& model, const Optimizer<T>& opt, const StartPoint& where);

template <class T>
void save_checkpoint(const std::string& path, const Model<T>& model, const Optimizer<T>& opt,
                     const StartPoint& where);

// Restores model parameters and optimiser state; returns where to resume.
// Throws DataError naming the file, with one line saying why, if it is
// missing, not a checkpoint, of the older format without a checksum,
// truncated, damaged (its checksum does not match), written for another
// model, precision, optimiser or parameter count, or holds values no run
// writes (negative or absurd counts, NaN or Inf in the parameters or the
// optimiser's state, L-BFGS pairs of the wrong length). On error the model
// and the optimiser are unchanged.
template <class T>
StartPoint load_checkpoint(const std::string& path, Model<T>& model, Optimizer<T>& opt);

// Writes each parameter block as DIR/<name>.npy (atomically).
template <class T>
void save_params_npy(const std::string& dir, const Model<T>& model);

}  // namespace latentlab
