// Leave-one-out 1-nearest-neighbour classification error in a latent space:
// the fraction of points whose nearest other point has another label. The
// N×N distances are formed in row blocks by GEMM (‖a‖² + ‖b‖² − 2 aᵀb), so
// memory stays O(block · N).
#pragma once
#include <cstdint>
#include <vector>

namespace latentlab {

double loo_1nn_error(const double* Z, std::size_t N, std::size_t q, const std::int32_t* labels);

}  // namespace latentlab
