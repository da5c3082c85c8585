// Leave-one-out 1-nearest-neighbour classification error in a latent space:
// the fraction of points whose nearest other point has another label. The
// N×N distances are formed in row blocks by GEMM (‖a‖² + ‖b‖² − 2 aᵀb), so
// memory stays O(block · N).
#pragma once
#include <cstdint>
#include <vector>

namespace latentlab {

double loo_1nn_error(const double* Z, std::size_t N, std::size_t q, const std::int32_t* labels);

// For each of the M rows of Q (M×D), the index of the nearest of the N rows
// of Y (N×D), by the same blocked GEMM (where a GPLVM projection starts).
std::vector<std::size_t> nearest_rows(const double* Y, std::size_t N, const double* Q, std::size_t M, std::size_t D);

}  // namespace latentlab
