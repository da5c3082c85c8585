// The Ψ-statistics of the variational Bayesian GPLVM (Titsias & Lawrence
// 2010, section 3.2 and appendix): expectations of the kernel under
// q(X) = Π_n N(x_n | μ_n, diag(S_n)), for inducing inputs Z (M×q),
//
//   ψ0 = Σ_n E[k(x_n, x_n)],  Ψ1[n,m] = E[k(x_n, z_m)],
//   Ψ2 = Σ_n E[k(Z, x_n) k(x_n, Z)]   (M×M, summed over rows, never per row),
//
// and their chain rule: given g0 = ∂F/∂ψ0, G1 = ∂F/∂Ψ1 (per row) and
// G2 = ∂F/∂Ψ2 (symmetric), the gradients for μ, S (per row), Z and the log
// kernel hyperparameters. Both directions work on blocks of rows, so a pass
// over the data streams (and threads, and later distributes) over blocks.
//
// RBF-ARD, k(x, x') = σ_f² exp(−½ Σ_j (x_j − x'_j)² / ℓ_j²), with
// u = 1/(ℓ² + S), w = 1/(ℓ² + 2S) per row and dimension:
//   Ψ1[n,m] = σ_f² Π_j (1 + S_nj/ℓ_j²)^(−½) exp(−½ Σ_j u_nj (μ_nj − z_mj)²)
//   Ψ2[m,m'] = σ_f⁴ exp(−Σ_j (z_mj − z_m'j)² / (4ℓ_j²))
//              · Σ_n Π_j (1 + 2S_nj/ℓ_j²)^(−½) exp(−Σ_j w_nj (μ_nj − z̄_j)²),  z̄ = (z_m + z_m')/2.
// The exponents are expanded into products: Σ_j u(μ − z)² = Σ u μ² − 2 Σ (uμ) z
// + Σ u z², so a block's Ψ1 (rows×M) and its Ψ2 terms (rows × the M(M+1)/2
// pairs m ≤ m') are one matrix product each followed by a vectorised exp, and
// the backward pass is matrix products with the same tables.
//
// Linear-ARD, k(x, x') = Σ_j α_j x_j x'_j:
//   ψ0 = Σ_n Σ_j α_j (μ_nj² + S_nj),  Ψ1 = μ diag(α) Zᵀ,
//   Ψ2 = Z diag(α) C diag(α) Zᵀ with C = Σ_n (μ_n μ_nᵀ + diag S_n)  (q×q).
//
// Hyperparameter gradients are returned per log hyperparameter: RBF
// [log σ_f², log ℓ_1 … log ℓ_q]; linear [log α_1 … log α_q].
#pragma once
#include <cstddef>
#include <vector>

namespace latentlab {

enum class PsiKernelType { rbf_ard, linear_ard };

struct PsiKernel {
    PsiKernelType type = PsiKernelType::rbf_ard;
    double variance = 1.0;       // σ_f² (RBF; unused by the linear kernel)
    std::vector<double> scales;  // ℓ_j (RBF) or α_j (linear), q entries
    std::size_t num_hyper() const { return type == PsiKernelType::rbf_ard ? 1 + scales.size() : scales.size(); }
};

// Sums over rows that the forward pass accumulates (add blocks, then add
// the sums of several ranges in a fixed order).
struct PsiSums {
    double psi0 = 0;
    std::vector<double> psi2;  // RBF: per pair m ≤ m' (packed); linear: C (q×q)
    void add(const PsiSums& o);
};

// Sums over rows that the backward pass accumulates for Z and the kernel.
struct PsiGradSums {
    std::vector<double> z1;     // M×2q: Ψ1 terms for Z
    std::vector<double> pairs;  // RBF: P×2q pair terms for z̄; linear: unused
    std::vector<double> pair_total;  // RBF: P, Σ_n of each pair's term
    std::vector<double> hyper;  // num_hyper
    void add(const PsiGradSums& o);
};

class PsiStatistics {
public:
    // Tables for kernel `k` and inducing inputs Z (M×q, row-major, copied).
    PsiStatistics(PsiKernel k, const double* Z, std::size_t M, std::size_t q);

    std::size_t M() const { return M_; }
    std::size_t q() const { return q_; }
    std::size_t pairs() const { return P_; }
    const PsiKernel& kernel() const { return k_; }

    PsiSums zero_sums() const;
    PsiGradSums zero_grad_sums() const;

    // Kmm = k(Z, Z) (M×M, no jitter).
    void kmm(double* K) const;
    // Adds ∂(Σ GK ⊙ Kmm)/∂Z to dZ (M×q) and /∂log-hyper to dhyper.
    void kmm_backward(const double* GK, double* dZ, double* dhyper) const;

    // Ψ1 of `rows` rows with means mu and variances S (rows×q): Psi1 (rows×M).
    void psi1(const double* mu, const double* S, std::size_t rows, double* Psi1) const;
    // Ψ1 of the rows (written to Psi1) and their ψ0 and Ψ2 added to `sums`.
    // RBF: when `keep` is given (rows × pairs()), the rows' Ψ2 terms are left
    // there for backward(), which then need not compute them again.
    void forward(const double* mu, const double* S, std::size_t rows, double* Psi1, PsiSums& sums,
                 double* keep = nullptr) const;
    // Ψ2 (M×M, full) from the summed statistics.
    void psi2_matrix(const PsiSums& total, double* Psi2) const;

    // Backward pass, in three parts: prepare(G2, total) once per evaluation
    // (the linear kernel needs the total C), backward(...) per block, then
    // finish(...) once with the summed block terms.
    void prepare(const double* G2, const PsiSums& total);
    // For these rows: writes dmu, dS (rows×q) = ∂F/∂μ, ∂F/∂S through ψ0, Ψ1
    // and Ψ2; adds the rows' terms for Z and the hyperparameters to `sums`.
    // G1 (rows×M) holds ∂F/∂Ψ1 and is overwritten (scratch).
    void backward(const double* mu, const double* S, std::size_t rows, double g0, double* G1, double* dmu, double* dS,
                  PsiGradSums& sums, const double* kept = nullptr) const;
    // Adds ∂F/∂Z (M×q) and ∂F/∂log-hyper from the summed block terms.
    void finish(const PsiGradSums& total, double* dZ, double* dhyper) const;

private:
    void rbf_psi2_exponents(const double* mu, const double* S, std::size_t rows, double* E, double* w) const;

    PsiKernel k_;
    std::size_t M_, q_, P_;
    std::vector<double> Z_;
    std::vector<std::size_t> pair_m_, pair_n_;  // pair p = (m, m'), m ≤ m'
    // RBF tables: right1 (M×(2q+1)) = [z, −½z², 1]; zz (M×2q) = [z, z²];
    // right2 (P×(2q+2)) = [2z̄, −z̄², log σ_f⁴K̃, 1]; zbar2 (P×2q) = [z̄, z̄²]
    std::vector<double> right1_, zz_, right2_, zbar2_;
    // per-evaluation backward coefficients
    std::vector<double> g2pair_;  // RBF: g2_p = weight_p · G2_p
    std::vector<double> g2zbar_;  // RBF: P×(2q+1) = [g2, g2 z̄, g2 z̄²]
    std::vector<double> G2_, dC_, C_;  // linear: G2, ZAᵀ G2 ZA, total C
};

}  // namespace latentlab
