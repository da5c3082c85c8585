// One row's term of the variational GPLVM bound for a fixed q(u) (Hensman,
// Fusi & Lawrence 2013; Titsias & Lawrence 2010), as a function of the row's
// q(x) = N(μ, diag S), x = (μ, log S) (2q values):
//
//   f(x) = g0 ψ0(x) + G1 · Ψ1(x) + Σ G2 ⊙ Ψ2(x) − KL(q(x) ‖ N(0, I))
//
// with g0, G1 (the row's 1×M coefficient) and G2 (M×M) from q(u) and the
// kernel; the row's constant −(D/2) log 2πσ² − (β/2)‖y‖² is left out. Used
// to place new rows (analysis/bayesian_gplvm_projection) and to update a
// drawn row's q(x) in stochastic training (models/stochastic_bayesian_gplvm).
#pragma once
#include <cstddef>

#include "latentlab/models/psi_statistics.hpp"

namespace latentlab {

// Returns −f(x) and writes −∇f into g (2q; may be null). `ps` must have been
// prepare()d with G2.
double negative_row_bound(const PsiStatistics& ps, const double* G2, double g0, const double* G1_row, const double* x,
                          double* g);

}  // namespace latentlab
