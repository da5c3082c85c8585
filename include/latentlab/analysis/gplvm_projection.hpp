// New rows placed in a trained GPLVM's latent space (Lawrence 2005; GPy's
// infer_newX): with the training latents X, data Y and hyperparameters fixed,
// each new row y* gets
//
//   x* = argmax log p(y* | x*, X, Y),   p = N(y* | μ(x*), s²(x*) I_D),
//   μ(x*) = Yᵀ K⁻¹ k*,   s²(x*) = k(x*, x*) − k*ᵀ K⁻¹ k* + σ²,
//   K = K_f(X, X) + σ² I,   k* = k_f(X, x*),
//
// the GP's predictive density, maximised by L-BFGS (optim/lbfgs.hpp) from the
// latent of the nearest training row (in data space). Gradient, with
// r = y* − μ, c = D/(2s²) − ‖r‖²/(2s⁴), b = K⁻¹k*, w = −2c b − K⁻¹Y r / s²:
//   ∂(−log p)/∂x* = c ∂k(x*,x*)/∂x* + Σ_i w_i ∂k*_i/∂x*.
// The linear kernel (α xᵀx') reduces to q×q quantities by Woodbury
// (μ = W x*, s² = x*ᵀ M x* + σ², W = α YᵀK⁻¹X, M = αI − α² XᵀK⁻¹X), so it
// scales to any N; the RBF kernels use K⁻¹ (N×N), as the dense model does.
#pragma once
#include <cstddef>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/core/matrix_view.hpp"
#include "latentlab/models/gplvm.hpp"

namespace latentlab {

struct GplvmProjection {
    xt::xtensor<double, 2> latent;       // M×q: x* of each new row
    std::vector<double> log_likelihood;  // log p(y* | x*, X, Y) of each
    std::vector<long> iterations;        // L-BFGS iterations of each
};

// `train` are the rows the model was trained on (in training order);
// `rows` the new rows, preprocessed the same way.
template <class T>
GplvmProjection project(const Gplvm<T>& model, const MatrixView<T>& train, const MatrixView<T>& rows);

}  // namespace latentlab
