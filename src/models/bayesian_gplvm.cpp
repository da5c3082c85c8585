#include "latentlab/models/bayesian_gplvm.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "latentlab/core/communicator.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/format.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/lapack.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/linalg/pca.hpp"

namespace latentlab {

using blas::Op;

namespace {
constexpr double kLog2Pi = 1.8378770664093454836;

std::string fmt(double v) { return format_g(v, 3); }

// A ← Aᵀ (n×n, in place)
void transpose_square(std::size_t n, double* A) {
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i + 1; j < n; ++j) std::swap(A[i * n + j], A[j * n + i]);
}

// The rows [begin, end) of the model's row partition for part g of G.
struct RowPartition {
    std::size_t N, block, blocks, parts;
    RowPartition(std::size_t n, std::size_t b) : N(n), block(b) {
        blocks = (N + block - 1) / block;
        parts = std::min<std::size_t>(blocks, 32);
    }
    std::size_t first_block(std::size_t g) const { return g * blocks / parts; }
    std::size_t end_block(std::size_t g) const { return (g + 1) * blocks / parts; }
};
}  // namespace

template <class T>
BayesianGplvm<T>::BayesianGplvm(std::size_t N, std::size_t D, std::size_t q, BayesianGplvmOptions opt)
    : BayesianGplvm(N, D, q, opt, {}) {}

template <class T>
BayesianGplvm<T>::BayesianGplvm(std::size_t N, std::size_t D, std::size_t q, BayesianGplvmOptions opt,
                                std::vector<ParamBlock> extra_blocks)
    : N_(N), D_(D), q_(q), M_(opt.inducing), N_all_(sum_all(N)), opt_(opt) {
    if (q_ >= D_)
        throw OptionError("latent_dim", " " + std::to_string(q_) + " must be smaller than the data dimension D = " +
                                            std::to_string(D_));
    if (M_ < 1 || M_ > N_all_)
        throw OptionError("inducing", " " + std::to_string(M_) + " must be between 1 and the number of points N = " +
                                          std::to_string(N_all_));
    if (!(opt_.noise_variance > 0))
        throw OptionError("noise_variance", " must be > 0 (got " + fmt(opt_.noise_variance) + ")");
    if (opt_.kernel == KernelType::linear)
        n_kernel_ = q_;
    else
        n_kernel_ = 1 + (opt_.kernel == KernelType::rbf ? 1 : q_);
    std::vector<ParamBlock> blocks{ParamBlock{"X_mean", {N_, q_}, 0, /*per_row=*/true},
                                   ParamBlock{"X_log_var", {N_, q_}, 0, /*per_row=*/true},
                                   ParamBlock{"Z", {M_, q_}, 0}, ParamBlock{"log_hyper", {n_kernel_ + 1}, 0}};
    for (auto& b : extra_blocks) blocks.push_back(std::move(b));
    this->allocate(blocks);
    auto h = this->template param<1>("log_hyper");
    if (opt_.kernel == KernelType::linear) {
        for (std::size_t j = 0; j < q_; ++j) h(j) = static_cast<T>(std::log(opt_.alpha));
    } else {
        h(0) = static_cast<T>(std::log(opt_.variance));
        for (std::size_t j = 1; j < n_kernel_; ++j) h(j) = static_cast<T>(std::log(opt_.lengthscale));
    }
    h(n_kernel_) = static_cast<T>(std::log(opt_.noise_variance));
    auto lv = this->template param<2>("X_log_var");
    std::fill(lv.begin(), lv.end(), static_cast<T>(std::log(opt_.init_variance)));
}

template <class T>
PsiKernel BayesianGplvm<T>::kernel() const {
    const auto h = this->template param<1>("log_hyper");
    PsiKernel k;
    if (opt_.kernel == KernelType::linear) {
        k.type = PsiKernelType::linear_ard;
        for (std::size_t j = 0; j < q_; ++j) k.scales.push_back(std::exp(static_cast<double>(h(j))));
        return k;
    }
    k.type = PsiKernelType::rbf_ard;
    k.variance = std::exp(static_cast<double>(h(0)));
    for (std::size_t j = 0; j < q_; ++j)
        k.scales.push_back(std::exp(static_cast<double>(h(opt_.kernel == KernelType::rbf ? 1 : 1 + j))));
    return k;
}

template <class T>
double BayesianGplvm<T>::noise_variance() const {
    return std::exp(static_cast<double>(this->template param<1>("log_hyper")(n_kernel_)));
}

template <class T>
std::vector<double> BayesianGplvm<T>::relevance() const {
    const PsiKernel k = kernel();
    std::vector<double> r;
    for (double s : k.scales) r.push_back(k.type == PsiKernelType::linear_ard ? s : 1.0 / (s * s));
    return r;
}

template <class T>
std::vector<std::pair<std::string, double>> BayesianGplvm<T>::diagnostics() const {
    const PsiKernel k = kernel();
    std::vector<std::pair<std::string, double>> d;
    if (k.type == PsiKernelType::rbf_ard) {
        d.emplace_back("signal_variance", k.variance);
        if (opt_.kernel == KernelType::rbf)
            d.emplace_back("lengthscale", k.scales[0]);
        else
            for (std::size_t j = 0; j < q_; ++j) d.emplace_back("lengthscale_" + std::to_string(j), k.scales[j]);
    } else {
        for (std::size_t j = 0; j < q_; ++j) d.emplace_back("alpha_" + std::to_string(j), k.scales[j]);
    }
    d.emplace_back("noise_variance", noise_variance());
    d.emplace_back("kl", last_.kl);
    d.emplace_back("jitter", last_.jitter);
    return d;
}

template <class T>
void BayesianGplvm<T>::init(std::mt19937_64& rng) {
    std::normal_distribution<double> n01(0.0, 1.0);
    // Under several processes this rank's rows of the one draw over all rows.
    const std::size_t before = offset_of(N_);
    for (std::size_t i = before * q_; i > 0; --i) n01(rng);
    auto mu = this->template param<2>("X_mean");
    for (auto& v : mu) v = static_cast<T>(opt_.init_scale * n01(rng));
    for (std::size_t i = (N_all_ - before - N_) * q_; i > 0; --i) n01(rng);
    auto Z = this->template param<2>("Z");
    for (auto& v : Z) v = static_cast<T>(n01(rng));
}

template <class T>
void BayesianGplvm<T>::init_from_data(const MatrixView<T>& Y, std::mt19937_64& rng) {
    check_shape(Y);
    if (opt_.init != "pca") {
        init(rng);
        return;
    }
    const xt::xtensor<double, 2> S = standardised_pca_scores(Y, q_);
    auto mu = this->template param<2>("X_mean");
    for (std::size_t i = 0; i < N_; ++i)
        for (std::size_t d = 0; d < q_; ++d) mu(i, d) = static_cast<T>(S(i, d));
    // Z: M distinct rows of μ, the first M of a seeded partial Fisher–Yates
    // over all rows (under several processes each rank fills the rows it
    // holds and the sum over ranks, of one value and zeros, is exact).
    const std::size_t before = offset_of(N_);
    std::vector<std::size_t> idx(N_all_);
    std::iota(idx.begin(), idx.end(), 0);
    std::vector<double> Zd(M_ * q_, 0.0);
    for (std::size_t m = 0; m < M_; ++m) {
        const std::size_t r = m + static_cast<std::size_t>(rng() % (N_all_ - m));
        std::swap(idx[m], idx[r]);
        if (idx[m] >= before && idx[m] < before + N_)
            for (std::size_t j = 0; j < q_; ++j) Zd[m * q_ + j] = static_cast<double>(mu(idx[m] - before, j));
    }
    sum_all({&Zd}, {});
    auto Z = this->template param<2>("Z");
    for (std::size_t i = 0; i < M_ * q_; ++i) Z.data()[i] = static_cast<T>(Zd[i]);
}

template <class T>
void BayesianGplvm<T>::check_shape(const MatrixView<T>& Y) const {
    if (Y.rows != N_ || Y.cols != D_)
        throw Error("bayesian_gplvm: the model was built for " + std::to_string(N_) + "×" + std::to_string(D_) +
                    " data, got " + std::to_string(Y.rows) + "×" + std::to_string(Y.cols));
}

template <class T>
std::size_t BayesianGplvm<T>::block_rows() const {
    if (opt_.block_rows > 0) return opt_.block_rows;
    const std::size_t P = M_ * (M_ + 1) / 2;
    return std::clamp<std::size_t>((std::size_t{1} << 19) / std::max<std::size_t>(P, 1), 16, 512);
}

template <class T>
std::vector<double> BayesianGplvm<T>::variance_reduction(const Posterior& p) {
    const std::size_t M = p.Z.size() / p.kernel.scales.size(), D = p.beta2H.size() / M;
    std::vector<double> Q(p.G2);
    blas::gemm<double>(Op::N, Op::T, M, M, D, 0.5 / p.beta, p.beta2H.data(), D, p.beta2H.data(), D, 1.0, Q.data(), M);
    for (double& v : Q) v *= 2.0 / (p.beta * static_cast<double>(D));
    return Q;
}

template <class T>
double BayesianGplvm<T>::factor_kmm(const PsiStatistics& ps, std::vector<double>& Kmm, std::vector<double>& L) {
    const std::size_t M = M_;
    Kmm.assign(M * M, 0.0);
    ps.kmm(Kmm.data());
    double mean_diag = 0;
    for (std::size_t m = 0; m < M; ++m) mean_diag += Kmm[m * M + m];
    mean_diag /= static_cast<double>(M);
    // The model's jitter is relative to the signal variance (RBF): Kmm =
    // σ_f² (K̂ + ε I), so its conditioning does not degrade as σ_f² grows,
    // and ∂/∂log σ_f² includes it. Linear: ε absolute.
    const double jitter = ps.kernel().type == PsiKernelType::rbf_ard ? opt_.jitter * ps.kernel().variance : opt_.jitter;
    double extra = 0;
    for (int attempt = 0;; ++attempt) {
        L = Kmm;
        for (std::size_t m = 0; m < M; ++m) L[m * M + m] += jitter + extra;
        if (lapack::potrf_lower(M, L.data()) == 0) break;
        if (attempt == 5)
            throw NumericalError("bayesian_gplvm: Kmm (" + std::to_string(M) + "x" + std::to_string(M) +
                                 ") is not positive definite even with jitter " + fmt(jitter + extra) +
                                 "; inducing inputs may coincide: use fewer (model.inducing)");
        const double level = attempt == 0 ? 1e-6 : 10.0 * extra / mean_diag;
        extra = level * mean_diag;
        if (this->on_warning && level != warned_level_) {
            this->on_warning("bayesian_gplvm: Kmm is not positive definite with jitter " + fmt(jitter) + "; adding " +
                             fmt(extra) + " (" + fmt(level) +
                             " of its mean diagonal) for this evaluation; reported once per level");
            warned_level_ = level;
        }
    }
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = i + 1; j < M; ++j) L[i * M + j] = 0.0;
    for (std::size_t m = 0; m < M; ++m) Kmm[m * M + m] += jitter + extra;
    return jitter;
}

template <class T>
double BayesianGplvm<T>::loss(const MatrixView<T>& Y) {
    return evaluate(Y, nullptr);
}

template <class T>
double BayesianGplvm<T>::loss_and_grad(const MatrixView<T>& Y, xt::xtensor<T, 1>& g) {
    if (g.size() != this->theta_.size()) g = xt::zeros<T>({this->theta_.size()});
    return evaluate(Y, g.data());
}

template <class T>
typename BayesianGplvm<T>::Posterior BayesianGplvm<T>::posterior(const MatrixView<T>& Y) {
    Posterior p;
    evaluate(Y, nullptr, &p);
    return p;
}

template <class T>
double BayesianGplvm<T>::evaluate(const MatrixView<T>& Y, T* grad, Posterior* post) {
    check_shape(Y);
    const std::size_t N = N_, D = D_, q = q_, M = M_;
    const double Nd = static_cast<double>(N_all_), Dd = static_cast<double>(D);
    const T* theta = this->theta_.data();
    const T* mu_t = theta + this->block("X_mean").offset;
    const T* lv_t = theta + this->block("X_log_var").offset;
    const T* Z_t = theta + this->block("Z").offset;
    std::vector<double> Z(Z_t, Z_t + M * q);
    for (double z : Z)
        if (!std::isfinite(z)) throw NumericalError("bayesian_gplvm: the inducing inputs Z are not finite");
    const PsiKernel kern = kernel();
    const double s2 = noise_variance(), beta = 1.0 / s2;
    PsiStatistics ps(kern, Z.data(), M, q);
    const RowPartition part(N, block_rows());

    // The block's μ, S in double (S = exp(log S)), and Y's rows in double.
    auto load_block = [&](std::size_t r0, std::size_t rows, std::vector<double>& mu, std::vector<double>& S,
                          std::vector<double>& Yb) -> const double* {
        mu.assign(mu_t + r0 * q, mu_t + (r0 + rows) * q);
        S.resize(rows * q);
        for (std::size_t i = 0; i < rows * q; ++i) S[i] = std::exp(static_cast<double>(lv_t[r0 * q + i]));
        if constexpr (std::is_same_v<T, double>) {
            (void)Yb;
            return Y.data + r0 * D;
        } else {
            Yb.assign(Y.data + r0 * D, Y.data + (r0 + rows) * D);
            return Yb.data();
        }
    };

    // The rows' Ψ2 terms (N × M(M+1)/2) are kept from pass 1 for pass 2 when
    // they fit in kKeepBytes (N = 5,000, M = 50: 51 MB), else computed twice.
    constexpr std::size_t kKeepBytes = std::size_t{256} << 20;
    const std::size_t P = ps.pairs();
    const bool keep = grad && kern.type == PsiKernelType::rbf_ard && N * P * sizeof(double) <= kKeepBytes;
    if (keep) kept_.resize(N * P);
    else std::vector<double>().swap(kept_);

    // Pass 1: ψ0, Ψ2, Φ = Ψ1ᵀY and the KL, summed per part, then over parts in order.
    std::vector<PsiSums> sums(part.parts, ps.zero_sums());
    std::vector<std::vector<double>> Phis(part.parts);
    std::vector<double> kls(part.parts, 0.0);
    blas::parallel_for(part.parts, [&](std::size_t g) {
        std::vector<double> mu, S, Yb, P1;
        Phis[g].assign(M * D, 0.0);
        for (std::size_t b = part.first_block(g); b < part.end_block(g); ++b) {
            const std::size_t r0 = b * part.block, rows = std::min(part.block, N - r0);
            const double* y = load_block(r0, rows, mu, S, Yb);
            P1.resize(rows * M);
            ps.forward(mu.data(), S.data(), rows, P1.data(), sums[g], keep ? kept_.data() + r0 * P : nullptr);
            blas::gemm<double>(Op::T, Op::N, M, D, rows, 1.0, P1.data(), M, y, D, 1.0, Phis[g].data(), D);
            double kl = 0;
            for (std::size_t i = 0; i < rows * q; ++i)
                kl += mu[i] * mu[i] + S[i] - std::log(S[i]) - 1.0;
            kls[g] += 0.5 * kl;
        }
    });
    PsiSums total = ps.zero_sums();
    std::vector<double> Phi(M * D, 0.0);
    double KL = 0;
    for (std::size_t g = 0; g < part.parts; ++g) {
        total.add(sums[g]);
        for (std::size_t i = 0; i < M * D; ++i) Phi[i] += Phis[g][i];
        KL += kls[g];
    }
    Phis.clear();
    double trYY = 0;
    if (Y.sqnorms) {
        for (std::size_t i = 0; i < N; ++i) trYY += Y.sqnorms[i];
    } else {
        trYY = blas::sqnorm<T>(N * D, Y.data);
    }
    // Under several processes: every rank's sums, as GPy's SparseGP_MPI does
    // (ψ0, Ψ2, Ψ1ᵀY, tr YᵀY and the KL in one reduction); then the M×M
    // algebra is the same on every rank.
    sum_all({&total.psi2, &Phi}, {&total.psi0, &KL, &trYY});
    if (!std::isfinite(total.psi0) || !std::isfinite(KL))
        throw NumericalError("bayesian_gplvm: the Ψ-statistics are not finite (latent means or variances diverged)");

    // The M×M algebra, with OpenBLAS single-threaded (parallel_for with one
    // part), so that its bits do not depend on the thread count either.
    double elbo = 0, dbeta = 0, g0 = 0, kmm_jitter = 0;
    std::vector<double> H, G2, GK;
    blas::parallel_for(1, [&](std::size_t) {
        std::vector<double> Kmm, L;
        const double jitter = factor_kmm(ps, Kmm, L);

        // W = L⁻¹ Ψ2 L⁻ᵀ, B = I + βW = L_B L_Bᵀ, Φ̃ = L_B⁻¹ L⁻¹ Φ
        std::vector<double> Psi2(M * M), W(M * M);
        ps.psi2_matrix(total, Psi2.data());
        W = Psi2;
        lapack::triangular_solve(M, M, L.data(), W.data());
        transpose_square(M, W.data());
        lapack::triangular_solve(M, M, L.data(), W.data());
        double trW = 0;
        for (std::size_t m = 0; m < M; ++m) trW += W[m * M + m];
        std::vector<double> LB(M * M);
        for (std::size_t i = 0; i < M * M; ++i) LB[i] = beta * 0.5 * (W[i] + W[(i % M) * M + i / M]);
        for (std::size_t m = 0; m < M; ++m) LB[m * M + m] += 1.0;
        if (lapack::potrf_lower(M, LB.data()) != 0)
            throw NumericalError("bayesian_gplvm: I + β L⁻¹Ψ2L⁻ᵀ is not positive definite (non-finite statistics?)");
        for (std::size_t i = 0; i < M; ++i)
            for (std::size_t j = i + 1; j < M; ++j) LB[i * M + j] = 0.0;
        const double logdetB = lapack::cholesky_logdet(M, LB.data());
        std::vector<double> Phit = Phi;
        lapack::triangular_solve(M, D, L.data(), Phit.data());
        lapack::triangular_solve(M, D, LB.data(), Phit.data());
        const double quad = blas::sqnorm<double>(M * D, Phit.data());

        const double F = -0.5 * Nd * Dd * kLog2Pi + 0.5 * Nd * Dd * std::log(beta) - 0.5 * beta * trYY -
                         0.5 * Dd * logdetB + 0.5 * beta * beta * quad - 0.5 * beta * Dd * total.psi0 +
                         0.5 * beta * Dd * trW;
        elbo = F - KL;
        last_ = BoundTerms{elbo, F, KL, jitter};
        kmm_jitter = jitter;
        if (!std::isfinite(elbo)) throw NumericalError("bayesian_gplvm: the bound is not finite");
        if (!grad && !post) return;

        // Kmm⁻¹, A⁻¹ = L⁻ᵀ B⁻¹ L⁻¹, H = A⁻¹Φ = L⁻ᵀ L_B⁻ᵀ Φ̃
        std::vector<double> Kinv = L;
        lapack::cholesky_inverse(M, Kinv.data());
        std::vector<double> Ainv = LB;
        lapack::cholesky_inverse(M, Ainv.data());
        lapack::triangular_solve(M, M, L.data(), Ainv.data(), true);
        transpose_square(M, Ainv.data());
        lapack::triangular_solve(M, M, L.data(), Ainv.data(), true);
        for (std::size_t i = 0; i < M; ++i)
            for (std::size_t j = i + 1; j < M; ++j) Ainv[i * M + j] = Ainv[j * M + i] = 0.5 * (Ainv[i * M + j] + Ainv[j * M + i]);
        H = Phit;
        lapack::triangular_solve(M, D, LB.data(), H.data(), true);
        lapack::triangular_solve(M, D, L.data(), H.data(), true);

        // ∂F/∂A, ∂F/∂Ψ2, ∂F/∂Kmm, ∂F/∂β
        std::vector<double> dA(M * M), KP(M * M), KPK(M * M);
        G2.resize(M * M);
        GK.resize(M * M);
        for (std::size_t i = 0; i < M * M; ++i) dA[i] = -0.5 * Dd * Ainv[i];
        blas::gemm<double>(Op::N, Op::T, M, M, D, -0.5 * beta * beta, H.data(), D, H.data(), D, 1.0, dA.data(), M);
        blas::gemm<double>(Op::N, Op::N, M, M, M, 1.0, Kinv.data(), M, Psi2.data(), M, 0.0, KP.data(), M);
        blas::gemm<double>(Op::N, Op::N, M, M, M, 1.0, KP.data(), M, Kinv.data(), M, 0.0, KPK.data(), M);
        double tr_dA_Psi2 = 0;
        for (std::size_t i = 0; i < M * M; ++i) {
            G2[i] = beta * dA[i] + 0.5 * beta * Dd * Kinv[i];
            GK[i] = 0.5 * Dd * Kinv[i] + dA[i] - 0.5 * beta * Dd * KPK[i];
            tr_dA_Psi2 += dA[i] * Psi2[i];
        }
        for (std::size_t i = 0; i < M; ++i)  // symmetrise against rounding
            for (std::size_t j = i + 1; j < M; ++j) {
                G2[i * M + j] = G2[j * M + i] = 0.5 * (G2[i * M + j] + G2[j * M + i]);
                GK[i * M + j] = GK[j * M + i] = 0.5 * (GK[i * M + j] + GK[j * M + i]);
            }
        dbeta = 0.5 * Nd * Dd / beta - 0.5 * trYY + beta * quad + tr_dA_Psi2 - 0.5 * Dd * total.psi0 +
                             0.5 * Dd * trW;
        g0 = -0.5 * beta * Dd;
        for (std::size_t i = 0; i < M * D; ++i) H[i] *= beta * beta;  // ∂F/∂Ψ1 = Y (β²H)ᵀ
        if (post) {
            post->kernel = kern;
            post->Z = Z;
            post->beta2H = H;
            post->G2 = G2;
            post->g0 = g0;
            post->beta = beta;
        }
    });
    if (!grad) return -elbo;

    // Pass 2: per-row gradients, and the rows' terms for Z and the kernel.
    ps.prepare(G2.data(), total);
    std::vector<PsiGradSums> gsums(part.parts, ps.zero_grad_sums());
    T* g_mu = grad + this->block("X_mean").offset;
    T* g_lv = grad + this->block("X_log_var").offset;
    blas::parallel_for(part.parts, [&](std::size_t g) {
        std::vector<double> mu, S, Yb, G1, dmu, dS;
        for (std::size_t b = part.first_block(g); b < part.end_block(g); ++b) {
            const std::size_t r0 = b * part.block, rows = std::min(part.block, N - r0);
            const double* y = load_block(r0, rows, mu, S, Yb);
            G1.resize(rows * M);
            dmu.resize(rows * q);
            dS.resize(rows * q);
            blas::gemm<double>(Op::N, Op::T, rows, M, D, 1.0, y, D, H.data(), D, 0.0, G1.data(), M);
            ps.backward(mu.data(), S.data(), rows, g0, G1.data(), dmu.data(), dS.data(), gsums[g],
                        keep ? kept_.data() + r0 * P : nullptr);
            // loss = −ELBO: minus (∂F/∂μ − μ) and minus (S ∂F/∂S − ½(S − 1)) for log S
            for (std::size_t i = 0; i < rows * q; ++i) {
                g_mu[r0 * q + i] = static_cast<T>(-(dmu[i] - mu[i]));
                g_lv[r0 * q + i] = static_cast<T>(-(S[i] * dS[i] - 0.5 * (S[i] - 1.0)));
            }
        }
    });
    PsiGradSums gtotal = ps.zero_grad_sums();
    for (const auto& s : gsums) gtotal.add(s);
    sum_all({&gtotal.z1, &gtotal.pairs, &gtotal.pair_total, &gtotal.hyper}, {});  // every rank's rows
    std::vector<double> dZ(M * q, 0.0), dh(kern.num_hyper(), 0.0);
    blas::parallel_for(1, [&](std::size_t) {
        ps.finish(gtotal, dZ.data(), dh.data());
        ps.kmm_backward(GK.data(), dZ.data(), dh.data());
        if (kern.type == PsiKernelType::rbf_ard) {  // the jitter ε σ_f² I
            double trGK = 0;
            for (std::size_t m = 0; m < M; ++m) trGK += GK[m * M + m];
            dh[0] += kmm_jitter * trGK;
        }
    });
    T* g_Z = grad + this->block("Z").offset;
    for (std::size_t i = 0; i < M * q; ++i) g_Z[i] = static_cast<T>(-dZ[i]);
    T* g_h = grad + this->block("log_hyper").offset;
    if (opt_.kernel == KernelType::rbf) {
        g_h[0] = static_cast<T>(-dh[0]);
        double s = 0;
        for (std::size_t j = 0; j < q; ++j) s += dh[1 + j];
        g_h[1] = static_cast<T>(-s);
    } else {
        for (std::size_t h = 0; h < n_kernel_; ++h) g_h[h] = static_cast<T>(-dh[h]);
    }
    g_h[n_kernel_] = static_cast<T>(beta * dbeta);  // ∂(−F)/∂log σ² = β ∂F/∂β
    return -elbo;
}

template class BayesianGplvm<float>;
template class BayesianGplvm<double>;

}  // namespace latentlab
