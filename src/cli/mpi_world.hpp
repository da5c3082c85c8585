// Open MPI as the run's communicator (core/communicator.hpp), when LatentLab
// is built with MPI (CMake finds it; README, Several processes: MPI).
#pragma once
#include <memory>

#include "latentlab/core/communicator.hpp"

namespace latentlab::cli {

// True if this build has MPI and the process was started by mpirun/mpiexec
// (its environment says so): only then is MPI initialised, so that a plain
// `train` never pays MPI's start-up.
bool launched_by_mpi();

// Initialises MPI and returns its world communicator (finalised when
// destroyed); nullptr in a build without MPI.
std::unique_ptr<Communicator> make_mpi_world(int* argc, char*** argv);

}  // namespace latentlab::cli
