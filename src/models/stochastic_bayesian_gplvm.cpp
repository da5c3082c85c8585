#include "latentlab/models/stochastic_bayesian_gplvm.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <type_traits>

#include "latentlab/core/error.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/lapack.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/models/variational_row.hpp"

namespace latentlab {

using blas::Op;

namespace {
constexpr double kLog2Pi = 1.8378770664093454836;

std::vector<double> matmul(const std::vector<double>& A, const std::vector<double>& B, std::size_t n, std::size_t k,
                           std::size_t m, bool transB = false) {
    std::vector<double> C(n * m);
    blas::gemm<double>(Op::N, transB ? Op::T : Op::N, n, m, k, 1.0, A.data(), k, B.data(), transB ? k : m, 0.0,
                       C.data(), m);
    return C;
}
double frobenius(const std::vector<double>& A, const std::vector<double>& B) {
    double s = 0;
    for (std::size_t i = 0; i < A.size(); ++i) s += A[i] * B[i];
    return s;
}
}  // namespace

template <class T>
struct StochasticBayesianGplvm<T>::Globals {
    PsiKernel kern;
    std::vector<double> Z;
    std::unique_ptr<PsiStatistics> ps;
    double beta = 0, jitter = 0, g0 = 0, logdetK = 0, logdetS = 0;
    std::vector<double> K, Kinv, m, Ls, S, Km, KCK, G2, G1coef;
};

template <class T>
StochasticBayesianGplvm<T>::StochasticBayesianGplvm(std::size_t N, std::size_t D, std::size_t q,
                                                    BayesianGplvmOptions opt)
    : BayesianGplvm<T>(N, D, q, opt,
                       {ParamBlock{"q_u_mean", {opt.inducing, D}, 0},
                        ParamBlock{"q_u_chol", {opt.inducing, opt.inducing}, 0}}) {
    auto L = this->template param<2>("q_u_chol");
    for (std::size_t i = 0; i < opt.inducing; ++i) L(i, i) = T(1);
}

template <class T>
typename StochasticBayesianGplvm<T>::Globals StochasticBayesianGplvm<T>::globals() {
    const std::size_t M = this->M_, D = this->D_, q = this->q_;
    Globals G;
    G.kern = this->kernel();
    const auto Zv = this->template param<2>("Z");
    G.Z.assign(Zv.begin(), Zv.end());
    G.ps = std::make_unique<PsiStatistics>(G.kern, G.Z.data(), M, q);
    G.beta = 1.0 / this->noise_variance();
    std::vector<double> L;
    G.jitter = this->factor_kmm(*G.ps, G.K, L);
    G.logdetK = lapack::cholesky_logdet(M, L.data());
    G.Kinv = L;
    lapack::cholesky_inverse(M, G.Kinv.data());
    const auto mv = this->template param<2>("q_u_mean");
    G.m.assign(mv.begin(), mv.end());
    const auto lv = this->template param<2>("q_u_chol");
    G.Ls.assign(M * M, 0.0);
    G.logdetS = 0;
    for (std::size_t i = 0; i < M; ++i) {
        for (std::size_t j = 0; j <= i; ++j) G.Ls[i * M + j] = static_cast<double>(lv(i, j));
        G.logdetS += 2.0 * std::log(std::abs(G.Ls[i * M + i]));
    }
    G.S = matmul(G.Ls, G.Ls, M, M, M, true);
    G.Km = matmul(G.Kinv, G.m, M, M, D);
    // K⁻¹ C K⁻¹ with C = m mᵀ + D S
    std::vector<double> C = matmul(G.m, G.m, M, D, M, true);
    for (std::size_t i = 0; i < M * M; ++i) C[i] += static_cast<double>(D) * G.S[i];
    G.KCK = matmul(matmul(G.Kinv, C, M, M, M), G.Kinv, M, M, M);
    G.G2.resize(M * M);
    for (std::size_t i = 0; i < M * M; ++i)
        G.G2[i] = -0.5 * G.beta * G.KCK[i] + 0.5 * G.beta * static_cast<double>(D) * G.Kinv[i];
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = i + 1; j < M; ++j) G.G2[i * M + j] = G.G2[j * M + i] = 0.5 * (G.G2[i * M + j] + G.G2[j * M + i]);
    G.g0 = -0.5 * G.beta * static_cast<double>(D);
    G.G1coef = G.Km;
    for (double& v : G.G1coef) v *= G.beta;
    G.ps->prepare(G.G2.data(), G.ps->zero_sums());
    return G;
}

template <class T>
void StochasticBayesianGplvm<T>::init_from_data(const MatrixView<T>& Y, std::mt19937_64& rng) {
    BayesianGplvm<T>::init_from_data(Y, rng);
    // q(u) at the collapsed bound's optimum for the initial q(X):
    // A⁻¹ = K⁻¹ − variance_reduction, m = βK A⁻¹Φ = K (β²H)/β, S = K A⁻¹ K.
    const std::size_t M = this->M_, D = this->D_;
    const auto post = BayesianGplvm<T>::posterior(Y);
    PsiStatistics ps(post.kernel, post.Z.data(), M, this->q_);
    std::vector<double> K, L;
    this->factor_kmm(ps, K, L);
    std::vector<double> Kinv = L;
    lapack::cholesky_inverse(M, Kinv.data());
    const double beta = post.beta;
    std::vector<double> Ainv = BayesianGplvm<T>::variance_reduction(post);
    for (std::size_t i = 0; i < M * M; ++i) Ainv[i] = Kinv[i] - Ainv[i];
    std::vector<double> m = matmul(K, post.beta2H, M, M, D);
    for (double& v : m) v /= beta;
    std::vector<double> S = matmul(matmul(K, Ainv, M, M, M), K, M, M, M);
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = i + 1; j < M; ++j) S[i * M + j] = S[j * M + i] = 0.5 * (S[i * M + j] + S[j * M + i]);
    if (lapack::potrf_lower(M, S.data()) != 0)
        throw NumericalError("bayesian_gplvm: the initial q(u) covariance is not positive definite");
    auto mv = this->template param<2>("q_u_mean");
    for (std::size_t i = 0; i < M * D; ++i) mv.data()[i] = static_cast<T>(m[i]);
    auto lv = this->template param<2>("q_u_chol");
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = 0; j < M; ++j) lv(i, j) = static_cast<T>(j <= i ? S[i * M + j] : 0.0);
}

template <class T>
std::vector<std::pair<std::string, double>> StochasticBayesianGplvm<T>::diagnostics() const {
    std::vector<std::pair<std::string, double>> d;
    for (auto& kv : BayesianGplvm<T>::diagnostics())
        if (kv.first != "kl" && kv.first != "jitter") d.push_back(kv);
    return d;
}

template <class T>
void StochasticBayesianGplvm<T>::update_rows(const MatrixView<T>& batch, const Globals& G) {
    if (!row_solver) throw Error("bayesian_gplvm: stochastic training needs a row solver");
    const std::size_t B = batch.rows, D = this->D_, q = this->q_, M = this->M_;
    std::vector<double> Yb(batch.data, batch.data + B * D), G1(B * M);
    blas::parallel_for(1, [&](std::size_t) {
        blas::gemm<double>(Op::N, Op::T, B, M, D, 1.0, Yb.data(), D, G.G1coef.data(), D, 0.0, G1.data(), M);
    });
    T* theta = this->theta_.data();
    T* mu = theta + this->block("X_mean").offset;
    T* lv = theta + this->block("X_log_var").offset;
    const std::size_t parts = std::min<std::size_t>(B, 16);
    blas::parallel_for(parts, [&](std::size_t part) {
        std::vector<double> x(2 * q);
        for (std::size_t r = part * B / parts; r < (part + 1) * B / parts; ++r) {
            const std::size_t id = batch.row_id(r);
            for (std::size_t j = 0; j < q; ++j) {
                x[j] = static_cast<double>(mu[id * q + j]);
                x[q + j] = static_cast<double>(lv[id * q + j]);
            }
            const double* g1 = G1.data() + r * M;
            row_solver(2 * q, x.data(), [&](const double* xx, double* g) {
                return negative_row_bound(*G.ps, G.G2.data(), G.g0, g1, xx, g);
            });
            for (std::size_t j = 0; j < q; ++j) {
                mu[id * q + j] = static_cast<T>(x[j]);
                lv[id * q + j] = static_cast<T>(x[q + j]);
            }
        }
    });
}

template <class T>
double StochasticBayesianGplvm<T>::loss(const MatrixView<T>& batch) {
    return evaluate(batch, nullptr, false);
}

template <class T>
double StochasticBayesianGplvm<T>::loss_and_grad(const MatrixView<T>& batch, xt::xtensor<T, 1>& g) {
    if (g.size() != this->theta_.size()) g = xt::zeros<T>({this->theta_.size()});
    return evaluate(batch, g.data(), true);
}

template <class T>
double StochasticBayesianGplvm<T>::loss_and_global_grad(const MatrixView<T>& Y, xt::xtensor<T, 1>& g) {
    if (g.size() != this->theta_.size()) g = xt::zeros<T>({this->theta_.size()});
    return evaluate(Y, g.data(), false);
}

template <class T>
double StochasticBayesianGplvm<T>::elbo(const MatrixView<T>& Y) {
    return -evaluate(Y, nullptr, false) * static_cast<double>(this->N_);
}

template <class T>
double StochasticBayesianGplvm<T>::evaluate(const MatrixView<T>& batch, T* grad, bool update) {
    const std::size_t B = batch.rows, D = this->D_, q = this->q_, M = this->M_, N = this->N_;
    if (batch.cols != D)
        throw Error("bayesian_gplvm: the model was built for " + std::to_string(D) + " columns, got " +
                    std::to_string(batch.cols));
    const double Bd = static_cast<double>(B), Dd = static_cast<double>(D), Nd = static_cast<double>(N);
    const Globals G = globals();
    if (update) update_rows(batch, G);

    const T* theta = this->theta_.data();
    const T* mu_t = theta + this->block("X_mean").offset;
    const T* lv_t = theta + this->block("X_log_var").offset;
    const PsiStatistics& ps = *G.ps;
    const std::size_t block = this->block_rows(), blocks = (B + block - 1) / block;

    // The batch's sums, one block after another (single-threaded BLAS: the
    // same bits at any thread count; the rows' updates above are threaded).
    PsiSums sums = ps.zero_sums();
    PsiGradSums gsums = ps.zero_grad_sums();
    std::vector<double> Phi(M * D, 0.0);
    double trYY = 0, KLx = 0;
    auto load = [&](std::size_t r0, std::size_t rows, std::vector<double>& mu, std::vector<double>& S,
                    std::vector<double>& Yb) {
        mu.resize(rows * q);
        S.resize(rows * q);
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t id = batch.row_id(r0 + r);
            for (std::size_t j = 0; j < q; ++j) {
                mu[r * q + j] = static_cast<double>(mu_t[id * q + j]);
                S[r * q + j] = std::exp(static_cast<double>(lv_t[id * q + j]));
            }
        }
        Yb.assign(batch.data + r0 * D, batch.data + (r0 + rows) * D);
    };
    blas::parallel_for(1, [&](std::size_t) {
        std::vector<double> mu, S, Yb, P1;
        for (std::size_t b = 0; b < blocks; ++b) {
            const std::size_t r0 = b * block, rows = std::min(block, B - r0);
            load(r0, rows, mu, S, Yb);
            P1.resize(rows * M);
            ps.forward(mu.data(), S.data(), rows, P1.data(), sums);
            blas::gemm<double>(Op::T, Op::N, M, D, rows, 1.0, P1.data(), M, Yb.data(), D, 1.0, Phi.data(), D);
            trYY += blas::sqnorm<double>(rows * D, Yb.data());
            for (std::size_t i = 0; i < rows * q; ++i) KLx += 0.5 * (mu[i] * mu[i] + S[i] - std::log(S[i]) - 1.0);
        }
    });
    std::vector<double> Psi2(M * M);
    ps.psi2_matrix(sums, Psi2.data());
    double trKPsi2 = 0;
    for (std::size_t i = 0; i < M * M; ++i) trKPsi2 += G.Kinv[i] * Psi2[i];
    const double KmPhi = frobenius(G.Km, Phi);
    const double data = -0.5 * Bd * Dd * (kLog2Pi - std::log(G.beta)) - 0.5 * G.beta * trYY + G.g0 * sums.psi0 +
                        G.beta * KmPhi + frobenius(G.G2, Psi2) - KLx;
    double trKS = 0, mKm = 0;
    for (std::size_t i = 0; i < M * M; ++i) trKS += G.Kinv[i] * G.S[i];
    mKm = frobenius(G.m, G.Km);
    const double KLu = 0.5 * (Dd * trKS + mKm - Dd * static_cast<double>(M) + Dd * G.logdetK - Dd * G.logdetS);
    const double loss = -data / Bd + KLu / Nd;
    if (!std::isfinite(loss)) throw NumericalError("bayesian_gplvm: the bound is not finite");
    if (!grad) return loss;

    // Gradients of the estimate s·data − KL(q(u)), s = N/B.
    const double s = Nd / Bd, beta = G.beta;
    const std::vector<double> KP = matmul(G.Kinv, Psi2, M, M, M);
    const std::vector<double> KPK = matmul(KP, G.Kinv, M, M, M);
    const std::vector<double> KPhi = matmul(G.Kinv, Phi, M, M, D);
    std::vector<double> dm(M * D), dS(M * M), GK(M * M);
    const std::vector<double> KPKm = matmul(KPK, G.m, M, M, D);
    for (std::size_t i = 0; i < M * D; ++i) dm[i] = s * beta * (KPhi[i] - KPKm[i]) - G.Km[i];
    const std::vector<double> Sinv = [&] {
        std::vector<double> Si = G.Ls;
        lapack::cholesky_inverse(M, Si.data());
        return Si;
    }();
    for (std::size_t i = 0; i < M * M; ++i)
        dS[i] = -s * 0.5 * beta * Dd * KPK[i] - 0.5 * Dd * G.Kinv[i] + 0.5 * Dd * Sinv[i];
    const std::vector<double> dL = matmul(dS, G.Ls, M, M, M);  // ∂/∂L = 2 dS L (dS symmetric)
    // ∂/∂K
    const std::vector<double> KmKPhiT = matmul(G.Km, KPhi, M, D, M, true);  // K⁻¹m (K⁻¹Φ)ᵀ
    const std::vector<double> KCKKP = matmul(G.KCK, KP, M, M, M, true);     // K⁻¹CK⁻¹ Ψ2K⁻¹ = KCK (K⁻¹Ψ2)ᵀ
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = 0; j < M; ++j) {
            const std::size_t ij = i * M + j, ji = j * M + i;
            // (its transpose is K⁻¹Ψ2K⁻¹CK⁻¹)
            const double a = -beta * 0.5 * (KmKPhiT[ij] + KmKPhiT[ji]);
            const double b = 0.5 * beta * (KCKKP[ij] + KCKKP[ji]);
            GK[ij] = s * (a + b - 0.5 * beta * Dd * KPK[ij]) + 0.5 * (G.KCK[ij] - Dd * G.Kinv[ij]);
        }
    double trKCKPsi2 = frobenius(G.KCK, Psi2);
    const double dbeta =
        s * (0.5 * Bd * Dd / beta - 0.5 * trYY + KmPhi - 0.5 * trKCKPsi2 - 0.5 * Dd * sums.psi0 + 0.5 * Dd * trKPsi2);

    // Z and the kernel through the Ψ-statistics (scaled by s), then Kmm.
    std::vector<double> dZ(M * q, 0.0), dh(G.kern.num_hyper(), 0.0);
    blas::parallel_for(1, [&](std::size_t) {
        std::vector<double> mu, S, Yb, G1, dmu, dSx;
        for (std::size_t b = 0; b < blocks; ++b) {
            const std::size_t r0 = b * block, rows = std::min(block, B - r0);
            load(r0, rows, mu, S, Yb);
            G1.resize(rows * M);
            dmu.resize(rows * q);
            dSx.resize(rows * q);
            blas::gemm<double>(Op::N, Op::T, rows, M, D, 1.0, Yb.data(), D, G.G1coef.data(), D, 0.0, G1.data(), M);
            ps.backward(mu.data(), S.data(), rows, G.g0, G1.data(), dmu.data(), dSx.data(), gsums);
        }
        std::vector<double> dZp(M * q, 0.0), dhp(dh.size(), 0.0);
        G.ps->prepare(G.G2.data(), sums);  // the linear kernel's Z terms need the batch's C
        ps.finish(gsums, dZp.data(), dhp.data());
        for (std::size_t i = 0; i < dZ.size(); ++i) dZ[i] = s * dZp[i];
        for (std::size_t i = 0; i < dh.size(); ++i) dh[i] = s * dhp[i];
        ps.kmm_backward(GK.data(), dZ.data(), dh.data());
        if (G.kern.type == PsiKernelType::rbf_ard) {
            double trGK = 0;
            for (std::size_t m = 0; m < M; ++m) trGK += GK[m * M + m];
            dh[0] += G.jitter * trGK;
        }
    });

    // The loss is −(estimate)/N; local blocks get no gradient (updated above).
    std::fill(grad, grad + this->theta_.size(), T(0));
    const double k = -1.0 / Nd;
    T* gZ = grad + this->block("Z").offset;
    for (std::size_t i = 0; i < M * q; ++i) gZ[i] = static_cast<T>(k * dZ[i]);
    T* gh = grad + this->block("log_hyper").offset;
    const std::size_t nk = this->block("log_hyper").size() - 1;
    if (this->options().kernel == KernelType::rbf) {
        gh[0] = static_cast<T>(k * dh[0]);
        double sum = 0;
        for (std::size_t j = 0; j < q; ++j) sum += dh[1 + j];
        gh[1] = static_cast<T>(k * sum);
    } else {
        for (std::size_t h = 0; h < nk; ++h) gh[h] = static_cast<T>(k * dh[h]);
    }
    gh[nk] = static_cast<T>(-k * beta * dbeta);  // ∂/∂log σ² = −β ∂/∂β
    T* gm = grad + this->block("q_u_mean").offset;
    for (std::size_t i = 0; i < M * D; ++i) gm[i] = static_cast<T>(k * dm[i]);
    T* gL = grad + this->block("q_u_chol").offset;
    for (std::size_t i = 0; i < M; ++i)
        for (std::size_t j = 0; j <= i; ++j) gL[i * M + j] = static_cast<T>(k * 2.0 * dL[i * M + j]);
    return loss;
}

template <class T>
typename BayesianGplvm<T>::Posterior StochasticBayesianGplvm<T>::posterior(const MatrixView<T>&) {
    const Globals G = globals();
    typename BayesianGplvm<T>::Posterior p;
    p.kernel = G.kern;
    p.Z = G.Z;
    p.beta2H = G.G1coef;
    p.G2 = G.G2;
    p.g0 = G.g0;
    p.beta = G.beta;
    return p;
}

template class StochasticBayesianGplvm<float>;
template class StochasticBayesianGplvm<double>;

}  // namespace latentlab
