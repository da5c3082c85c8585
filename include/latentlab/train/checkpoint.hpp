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

// Writes each parameter block as DIR/<name>.npy (atomically). Under several
// processes a collective call: per-row blocks are gathered (in row order) and
// rank 0 writes.
template <class T>
void save_params_npy(const std::string& dir, const Model<T>& model);

// Block `b` of the flat vector `flat` as one .npy file's bytes on rank 0,
// all ranks' rows of a per-row block gathered in order ("" on other ranks).
template <class T>
std::string block_npy_bytes(const Model<T>& model, const T* flat, const ParamBlock& b);

// Under several processes the ranks' checkpoints: rank 0's is checkpoint.bin;
// a model with per-row blocks (each rank holds its rows' share) has one more
// per other rank, checkpoint.rank<r>.bin; otherwise every rank holds the same
// state and rank 0's file is all of it.
std::string checkpoint_name(int rank);
// Whether `path` is a whole LatentLab checkpoint (its checksum verified); a
// missing, unreadable or damaged file is not one.
bool looks_like_checkpoint(const std::string& path);
template <class T>
bool writes_own_checkpoint(const Model<T>& model);

}  // namespace latentlab
