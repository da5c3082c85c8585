// Principal angles between the row spaces of two matrices (Björck & Golub
// 1973), computed from both cosines and sines so that small angles keep
// their precision (Knyazev & Argentati 2002): with orthonormal bases Qa, Qb
// (rows), cos θ = σ(Qa Qbᵀ) and sin θ = σ(Qa − Qa Qbᵀ Qb).
#pragma once
#include <vector>

#include <xtensor/xtensor.hpp>

namespace latentlab {

// Orthonormal basis of row-space(A) as rows (Gram-Schmidt, twice). Throws
// Error if A is numerically rank-deficient.
xt::xtensor<double, 2> orthonormal_rows(const xt::xtensor<double, 2>& A);

// Angles in degrees, ascending, between row-space(A) (p×n) and row-space(B)
// (q×n); min(p, q) angles.
std::vector<double> principal_angles_deg(const xt::xtensor<double, 2>& A,
                                         const xt::xtensor<double, 2>& B);

// ‖W Wᵀ − I‖_F
double orthonormality_error(const xt::xtensor<double, 2>& W);

}  // namespace latentlab
