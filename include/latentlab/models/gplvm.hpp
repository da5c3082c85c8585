// Gaussian-process latent variable model (Lawrence 2005; README, Reproducing
// the homework: Problem 2). Data Y (N×D, rows are points) is given as the
// batch; the parameters are the latents X (N×q) and, when learned, the kernel
// hyperparameters and the noise variance σ² = β⁻¹, each a positive function
// of an unconstrained θ: exp θ (block log_hyper), or softplus θ = log(1 + e^θ)
// (block softplus_hyper; GPy's default "Logexp" transform, which is close to
// θ itself above 1 and to e^θ below). The loss is the negative
// log-likelihood, constant included:
//
//   NLL = (N D / 2) log 2π + (D/2) log|K| + ½ tr(K⁻¹ Y Yᵀ),   K = K_f(X) + σ² I
//   ∂NLL/∂K = ½ (D K⁻¹ − K⁻¹ Y Yᵀ K⁻¹)          (= −∂L/∂K of the homework)
//
// Two exact implementations:
// - dense (any kernel): Cholesky of K, log|K| = 2 Σ log L_ii, Z = K⁻¹Y with
//   all right-hand sides at once, ∂NLL/∂K = ½(D K⁻¹ − Z Zᵀ); O(N³ + N²D).
//   When the Cholesky fails, jitter 1e-6·mean(diag K) is added and grown ×10
//   up to 5 times (each new level reported once through `on_warning`).
// - woodbury (linear kernel α X Xᵀ): with M = I + αβ XᵀX, P = XᵀY, R = Y Pᵀ,
//     log|K| = N log σ² + log|M|,  tr(K⁻¹YYᵀ) = β‖Y‖² − αβ² tr(M⁻¹PPᵀ),
//     K⁻¹X = β X M⁻¹,
//     ∂NLL/∂X = α (D K⁻¹X − K⁻¹YYᵀK⁻¹X)
//             = X (αβD M⁻¹ + α²β³ M⁻¹PPᵀM⁻¹) − αβ² R M⁻¹,
//   two passes over Y, O(N q D) time, O(N q + q D) memory, no N×N matrix.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "latentlab/models/kernels.hpp"
#include "latentlab/models/model.hpp"

namespace latentlab {

enum class GplvmMethod { dense, woodbury };

struct GplvmOptions {
    KernelType kernel = KernelType::linear;
    GplvmMethod method = GplvmMethod::woodbury;
    bool learn_hyperparameters = false;
    double variance = 1.0;        // α or σ_f²
    double lengthscale = 1.0;     // initial ℓ (every ℓ_d for rbf_ard)
    double noise_variance = 0.1;  // σ² = β⁻¹
    std::string init = "pca";     // pca | random
    double init_scale = 1e-3;     // random: X0 ~ N(0, init_scale²)
    bool softplus = false;        // learned hyperparameters as softplus θ, not exp θ
};

template <class T>
class Gplvm : public Model<T> {
public:
    // N: the rows this process holds. Under several processes (core/
    // communicator.hpp) each rank holds its rows' latents; the Woodbury
    // evaluation sums XᵀX, XᵀY and ‖Y‖² over the ranks, and the dense one,
    // which factorises the N×N kernel matrix, is refused.
    Gplvm(std::size_t N, std::size_t D, std::size_t q, GplvmOptions opt);

    std::string name() const override { return "gplvm"; }
    bool separable() const override { return false; }
    void init(std::mt19937_64& rng) override;  // random init
    // PCA init: X = the top-q principal component scores of Y, each column
    // scaled to unit variance (as GPy does); random init as init().
    void init_from_data(const MatrixView<T>& Y, std::mt19937_64& rng) override;

    double loss(const MatrixView<T>& Y) override;
    double loss_and_grad(const MatrixView<T>& Y, xt::xtensor<T, 1>& g) override;
    std::vector<std::pair<std::string, double>> diagnostics() const override;
    // Woodbury, float64: along a line search's line the products XᵀY and
    // Y(XᵀY)ᵀ are linear in the step, so points after the first are
    // combined from those at the line's start and at its first point instead
    // of passing over Y again (two passes per L-BFGS iteration, not per
    // evaluation; see woodbury()).
    bool on_line(const T* x, const double* d) override;
    // Passes over Y so far (each XᵀY or YPᵀ product counts one).
    long passes_over_y() const { return passes_; }

    // The current kernel hyperparameters and noise variance.
    KernelParams kernel_params() const;
    double noise_variance() const;
    std::size_t latent_dim() const { return q_; }
    const GplvmOptions& options() const { return opt_; }

private:
    double evaluate(const MatrixView<T>& Y, T* grad);  // grad may be null
    double dense(const MatrixView<T>& Y, T* grad);
    double woodbury(const MatrixView<T>& Y, T* grad);
    void check_shape(const MatrixView<T>& Y) const;
    const double* y_as_double(const MatrixView<T>& Y);
    const char* hyper_block() const { return opt_.softplus ? "softplus_hyper" : "log_hyper"; }

    std::size_t N_, D_, q_;
    std::size_t N_all_;  // rows of every rank (N_ on one process)
    GplvmOptions opt_;
    std::size_t n_hyper_ = 0;     // θ of the variance, lengthscale(s), noise
    double last_jitter_ = 0.0;
    double warned_level_ = 0.0;   // the jitter level last reported through on_warning
    std::vector<double> Ycopy_;   // double copy of Y for the dense path (float models)
    const T* Ycopy_src_ = nullptr;
    std::vector<double> dense_Kf_, dense_L_, dense_Z_;  // the dense path's workspace

    // The Woodbury products P = XᵀY (global) and R = Y Pᵀ (this rank's rows)
    // at a point X, formed by passes over the data `y`.
    struct Products {
        const T* y = nullptr;
        std::vector<double> X, P, R;  // R empty when no gradient was asked for
    };
    void products(const MatrixView<T>& Y, const double* X, bool with_R, Products& out);
    // Where X is on the line X0 + a·D (to rounding): a; NaN if it is not.
    double step_on_line(const std::vector<double>& X) const;
    Products fresh_;           // the last point evaluated by passes over Y
    bool line_ = false;        // a line search is on (on_line)
    std::vector<double> X0_, D_line_;
    Products base_, first_;    // at X0 and at the line's first point (passes)
    bool base_is_fresh_ = false;  // X0 is fresh_'s point (on every rank)
    bool last_fresh_ = true;      // the last evaluation was by passes
    std::vector<T> last_theta_;   // its parameters
    double a_first_ = 0;       // the first point's step
    long passes_ = 0;
};

}  // namespace latentlab
