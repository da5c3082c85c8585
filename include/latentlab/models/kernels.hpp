// Covariance functions of the GPLVM (Lawrence 2005) on latents X (N×q),
// without the noise term, and the chain rule from G = ∂NLL/∂K to the latents
// and to the log-hyperparameters. All double, row-major.
//
//   linear:  k(x, x') = α xᵀx'
//   rbf:     k(x, x') = σ_f² exp(−‖x − x'‖² / (2ℓ²))
//   rbf_ard: k(x, x') = σ_f² exp(−Σ_d (x_d − x'_d)² / (2ℓ_d²))
//
// Because K is symmetric and x_i enters row i and column i, the path sum
// gives a factor 2 (the path through Xᵀ; dropping it halves ∂NLL/∂X):
//   linear:  ∂NLL/∂X = 2α G X
//   rbf:     ∂NLL/∂x_id = −(2/ℓ_d²) Σ_j A_ij (x_id − x_jd),  A = G ⊙ K_f
//   ∂NLL/∂log σ_f² (or log α) = Σ A
//   ∂NLL/∂log ℓ_d = Σ_ij A_ij (x_id − x_jd)² / ℓ_d²
#pragma once
#include <string>
#include <vector>

namespace latentlab {

enum class KernelType { linear, rbf, rbf_ard };

KernelType parse_kernel(const std::string& name);  // throws OptionError
const char* kernel_name(KernelType k);

struct KernelParams {
    KernelType type = KernelType::linear;
    double variance = 1.0;             // α (linear) or σ_f² (rbf)
    std::vector<double> lengthscales;  // rbf: 1, rbf_ard: q, linear: none
    std::size_t num_lengthscales() const { return lengthscales.size(); }
};

// K_f (N×N) from X (N×q).
void kernel_matrix(const KernelParams& p, const double* X, std::size_t N, std::size_t q, double* Kf);

// Given symmetric G = ∂NLL/∂K and K_f: writes ∂NLL/∂X into dX (N×q), and
// ∂NLL/∂log variance and ∂NLL/∂log ℓ_d (one per lengthscale) into dlog.
// `A` is N×N scratch and may alias G (G is then overwritten).
void kernel_backward(const KernelParams& p, const double* X, std::size_t N, std::size_t q,
                     const double* G, const double* Kf, double* A, double* dX, double* dlog_variance,
                     double* dlog_lengthscales);

}  // namespace latentlab
