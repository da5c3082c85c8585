// New rows placed in a trained variational Bayesian GPLVM (Titsias &
// Lawrence 2010, section 4.1; GPy's infer_newX): with every trained
// parameter fixed and q(u) at the optimum of the collapsed bound, each new
// row y* gets its own q(x*) = N(μ*, diag S*) maximising its term of the
// (uncollapsed) bound,
//
//   ELBO(y*) = −(D/2) log 2πσ² − (β/2)‖y*‖² + g0 ψ0(x*) + β² y* Hᵀ Ψ1(x*)ᵀ
//              + Σ G2 ⊙ Ψ2(x*) − KL(q(x*) ‖ N(0, I))
//
// (models/bayesian_gplvm.hpp, Posterior): the rows are independent, each a
// 2q-dimensional L-BFGS problem (optim/lbfgs.hpp) started from the q(x) of
// the nearest training row (in data space), threaded over rows.
#pragma once
#include <cstddef>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/core/matrix_view.hpp"
#include "latentlab/models/bayesian_gplvm.hpp"

namespace latentlab {

struct BayesianGplvmProjection {
    xt::xtensor<double, 2> mean, variance;  // M×q: μ*, S* of each new row
    std::vector<double> elbo;               // each row's ELBO(y*) at its optimum
    std::vector<long> iterations;           // L-BFGS iterations of each
};

// `train`: the rows the model was trained on (in training order); `rows`:
// the new rows, preprocessed the same way.
template <class T>
BayesianGplvmProjection project(BayesianGplvm<T>& model, const MatrixView<T>& train, const MatrixView<T>& rows);

}  // namespace latentlab
