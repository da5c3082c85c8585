// The variational Bayesian GPLVM (Titsias & Lawrence 2010; README, "The
// variational GPLVM"): q(X) = Π_n N(x_n | μ_n, diag S_n) against the prior
// N(0, I), M inducing inputs Z, an RBF-ARD or linear-ARD kernel and
// Gaussian noise σ² = 1/β. The loss is the negative of the collapsed
// evidence lower bound (Titsias 2009), ELBO = F − KL, in nats:
//
//   F = −(ND/2) log 2π + (ND/2) log β − (β/2) tr(YᵀY) − (D/2) log|B|
//       + (β²/2) ‖L_B⁻¹ L⁻¹ Φ‖² − (βD/2) ψ0 + (βD/2) tr(Kmm⁻¹ Ψ2),
//   Kmm = L Lᵀ,  B = I + β L⁻¹ Ψ2 L⁻ᵀ = L_B L_Bᵀ,  Φ = Ψ1ᵀ Y  (M×D),
//   KL = ½ Σ_nj (μ_nj² + S_nj − log S_nj − 1),
//
// (−(D/2) log|B| is (D/2) log|Kmm| − (D/2) log|Kmm + βΨ2|, written through
// the better-conditioned B.) With A = Kmm + βΨ2 and H = A⁻¹Φ:
//   ∂F/∂Ψ1 = β² Y Hᵀ,   ∂F/∂A = −(D/2) A⁻¹ − (β²/2) H Hᵀ,   ∂F/∂ψ0 = −βD/2,
//   ∂F/∂Ψ2 = β ∂F/∂A + (βD/2) Kmm⁻¹,
//   ∂F/∂Kmm = (D/2) Kmm⁻¹ + ∂F/∂A − (βD/2) Kmm⁻¹ Ψ2 Kmm⁻¹,
//   ∂F/∂β = ND/(2β) − ½ tr(YᵀY) + β ‖L_B⁻¹L⁻¹Φ‖² + tr(∂F/∂A Ψ2) − (D/2) ψ0 + (D/2) tr(Kmm⁻¹Ψ2),
// then the Ψ-statistics' chain rule (models/psi_statistics.hpp) to μ, S, Z
// and the kernel. The data enter through sums over rows only (ψ0, Φ, Ψ2,
// tr YᵀY), so an evaluation is two passes over row blocks — the sums, then
// the per-row gradients — threaded over a fixed partition of the rows (the
// same bits at any thread count); memory O(Nq + MD + block·M²).
//
// Parameters (named blocks): "X_mean" (N×q), "X_log_var" (N×q, log S),
// "Z" (M×q), "log_hyper" ([log σ_f², log ℓ…] for RBF — one ℓ, or q for
// ARD — or [log α_1 … log α_q] for the linear kernel; then log σ²).
// Kmm carries a jitter that is part of the model, so the gradients are
// exact: 1e-6 σ_f² (RBF, relative so that its conditioning holds as σ_f²
// grows) or 1e-6 (linear). When the Cholesky still fails, more is added for
// that evaluation and reported through on_warning once per level.
#pragma once
#include <string>
#include <vector>

#include "latentlab/models/kernels.hpp"
#include "latentlab/models/model.hpp"
#include "latentlab/models/psi_statistics.hpp"

namespace latentlab {

struct BayesianGplvmOptions {
    KernelType kernel = KernelType::rbf_ard;  // rbf | rbf_ard | linear (linear is ARD here)
    std::size_t inducing = 50;                // M
    double variance = 1.0;                    // initial σ_f² (RBF)
    double lengthscale = 1.0;                 // initial ℓ (RBF) — latents start with unit variance
    double alpha = 1.0;                       // initial α_j (linear)
    double noise_variance = 0.1;              // initial σ²
    double init_variance = 0.05;              // initial S_nj (GPy draws U(0, 0.1))
    std::string init = "pca";                 // pca | random
    double init_scale = 1e-3;                 // random: μ ~ N(0, init_scale²)
    double jitter = 1e-6;                     // Kmm += jitter·σ_f² I (RBF) or jitter·I (linear)
    std::size_t block_rows = 0;               // rows per block of a pass (0: from M)
};

// The bound's parts at the current parameters (for reports and tests).
struct BoundTerms {
    double elbo = 0, data_term = 0, kl = 0;  // ELBO = F − KL
    double jitter = 0;                       // Kmm's jitter in the last evaluation
};

template <class T>
class BayesianGplvm : public Model<T> {
public:
    BayesianGplvm(std::size_t N, std::size_t D, std::size_t q, BayesianGplvmOptions opt);

    std::string name() const override { return "bayesian_gplvm"; }
    bool separable() const override { return false; }
    void init(std::mt19937_64& rng) override;
    // μ = standardised PCA scores (as the GPLVM), S = init_variance, Z = M
    // distinct rows of μ drawn with `rng`.
    void init_from_data(const MatrixView<T>& Y, std::mt19937_64& rng) override;

    double loss(const MatrixView<T>& Y) override;
    double loss_and_grad(const MatrixView<T>& Y, xt::xtensor<T, 1>& g) override;
    std::vector<std::pair<std::string, double>> diagnostics() const override;
    // What a new row's bound needs at the current parameters (the optimal
    // q(u) folded in): for a row y with q(x) = N(μ, diag S),
    //   ELBO(y) = c(y) + g0 ψ0(x) + β² y Hᵀ Ψ1(x)ᵀ + Σ G2 ⊙ Ψ2(x) − KL(q(x)),
    //   c(y) = −(D/2) log 2πσ² − (β/2)‖y‖²,
    // the uncollapsed bound (Hensman, Fusi & Lawrence 2013) at the q(u)
    // that maximises the collapsed one; its gradients are the collapsed
    // bound's. Used to project new rows (analysis/bayesian_gplvm_projection).
    struct Posterior {
        PsiKernel kernel;
        std::vector<double> Z;      // M×q
        std::vector<double> beta2H; // β² H (M×D)
        std::vector<double> G2;     // M×M
        double g0 = 0, beta = 0;
    };
    // Kmm⁻¹ − A⁻¹ (M×M) from a posterior: how much the data reduce the prior
    // variance of f, k*ᵀ(Kmm⁻¹ − A⁻¹)k* (Titsias 2009). With G2 =
    // (βD/2)(Kmm⁻¹ − A⁻¹) − (β³/2)HHᵀ and β²H, it is (2/(βD))(G2 + (β²H)(β²H)ᵀ/(2β)).
    static std::vector<double> variance_reduction(const Posterior& p);
    virtual Posterior posterior(const MatrixView<T>& Y);

    std::size_t latent_dim() const { return q_; }
    std::size_t inducing() const { return M_; }
    const BayesianGplvmOptions& options() const { return opt_; }
    PsiKernel kernel() const;
    double noise_variance() const;
    // ARD relevance per latent dimension: 1/ℓ_j² (RBF) or α_j (linear).
    std::vector<double> relevance() const;
    const BoundTerms& last_bound() const { return last_; }
    // The rows of each block of a pass (fixed by M, so by the shapes alone).
    std::size_t block_rows() const;

protected:
    // For models that add parameter blocks after the four of this one
    // (models/stochastic_bayesian_gplvm.hpp).
    BayesianGplvm(std::size_t N, std::size_t D, std::size_t q, BayesianGplvmOptions opt,
                  std::vector<ParamBlock> extra_blocks);
    // Kmm with the model's jitter and its lower Cholesky factor (more jitter,
    // reported once per level, if needed); returns the jitter in use.
    double factor_kmm(const PsiStatistics& ps, std::vector<double>& Kmm, std::vector<double>& L);

    std::size_t N_, D_, q_, M_;
    std::size_t N_all_;  // rows of every process (N_ on one; core/communicator.hpp)

private:
    double evaluate(const MatrixView<T>& Y, T* grad, Posterior* post = nullptr);
    void check_shape(const MatrixView<T>& Y) const;

    BayesianGplvmOptions opt_;
    std::size_t n_kernel_ = 0;  // kernel log-hyperparameters (noise excluded)
    BoundTerms last_;
    double warned_level_ = 0;
    std::vector<double> kept_;  // pass 1's Ψ2 terms for pass 2, when small enough
};

}  // namespace latentlab
