#include "latentlab/analysis/gplvm_projection.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "latentlab/analysis/knn.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/lapack.hpp"
#include "latentlab/optim/lbfgs.hpp"

namespace latentlab {

using blas::Op;

namespace {
constexpr double kLog2Pi = 1.8378770664093454836;

// −log p(y | x) and its gradient for one new row; `pre` holds what does not
// depend on x.
struct Predictive {
    KernelParams kp;
    double noise = 0;  // σ² (+ the jitter the model needed)
    std::size_t N = 0, q = 0, D = 0;
    const double* X = nullptr;  // N×q
    // linear kernel
    std::vector<double> W, M;  // D×q, q×q
    // rbf kernels
    std::vector<double> Kinv, A;  // N×N, N×D (K⁻¹ Y)
    mutable std::vector<double> k, b, mu, r, Ar, w;

    double operator()(const double* y, const double* x, double* g) const {
        if (kp.type == KernelType::linear) {
            // μ = W x, s² = xᵀ M x + σ²
            mu.assign(D, 0.0);
            blas::gemm<double>(Op::N, Op::N, D, 1, q, 1.0, W.data(), q, x, 1, 0.0, mu.data(), 1);
            std::vector<double> Mx(q, 0.0);
            for (std::size_t a = 0; a < q; ++a)
                for (std::size_t c = 0; c < q; ++c) Mx[a] += M[a * q + c] * x[c];
            double s2 = noise;
            for (std::size_t a = 0; a < q; ++a) s2 += x[a] * Mx[a];
            r.resize(D);
            double rr = 0;
            for (std::size_t d = 0; d < D; ++d) rr += (r[d] = y[d] - mu[d]) * r[d];
            const double c = 0.5 * static_cast<double>(D) / s2 - 0.5 * rr / (s2 * s2);
            // ∇ = c · 2 M x − Wᵀ r / s²
            for (std::size_t a = 0; a < q; ++a) g[a] = 2.0 * c * Mx[a];
            for (std::size_t d = 0; d < D; ++d)
                for (std::size_t a = 0; a < q; ++a) g[a] -= W[d * q + a] * r[d] / s2;
            return 0.5 * static_cast<double>(D) * (kLog2Pi + std::log(s2)) + 0.5 * rr / s2;
        }
        // k*_i = σ_f² exp(−½ Σ_l (x_l − X_il)² / ℓ_l²)
        k.resize(N);
        const double sf2 = kp.variance;
        auto ell = [&](std::size_t l) { return kp.lengthscales.size() == 1 ? kp.lengthscales[0] : kp.lengthscales[l]; };
        for (std::size_t i = 0; i < N; ++i) {
            double s = 0;
            for (std::size_t l = 0; l < q; ++l) {
                const double t = (x[l] - X[i * q + l]) / ell(l);
                s += t * t;
            }
            k[i] = sf2 * std::exp(-0.5 * s);
        }
        mu.assign(D, 0.0);
        blas::gemm<double>(Op::T, Op::N, D, 1, N, 1.0, A.data(), D, k.data(), 1, 0.0, mu.data(), 1);
        b.assign(N, 0.0);
        blas::gemm<double>(Op::N, Op::N, N, 1, N, 1.0, Kinv.data(), N, k.data(), 1, 0.0, b.data(), 1);
        double kb = 0;
        for (std::size_t i = 0; i < N; ++i) kb += k[i] * b[i];
        const double s2 = std::max(sf2 - kb, 0.0) + noise;
        r.resize(D);
        double rr = 0;
        for (std::size_t d = 0; d < D; ++d) rr += (r[d] = y[d] - mu[d]) * r[d];
        Ar.assign(N, 0.0);
        blas::gemm<double>(Op::N, Op::N, N, 1, D, 1.0, A.data(), D, r.data(), 1, 0.0, Ar.data(), 1);
        const double c = 0.5 * static_cast<double>(D) / s2 - 0.5 * rr / (s2 * s2);
        // k(x*, x*) = σ_f² does not depend on x*; ∂k*_i/∂x_l = −k*_i (x_l − X_il)/ℓ_l²
        for (std::size_t l = 0; l < q; ++l) g[l] = 0;
        for (std::size_t i = 0; i < N; ++i) {
            const double wi = -2.0 * c * b[i] - Ar[i] / s2;
            for (std::size_t l = 0; l < q; ++l) g[l] -= wi * k[i] * (x[l] - X[i * q + l]) / (ell(l) * ell(l));
        }
        return 0.5 * static_cast<double>(D) * (kLog2Pi + std::log(s2)) + 0.5 * rr / s2;
    }
};

template <class T>
std::vector<double> as_double(const MatrixView<T>& V) {
    return std::vector<double>(V.data, V.data + V.rows * V.cols);
}
}  // namespace

template <class T>
GplvmProjection project(const Gplvm<T>& model, const MatrixView<T>& train, const MatrixView<T>& rows) {
    const std::size_t N = train.rows, D = train.cols, q = model.latent_dim(), M = rows.rows;
    if (rows.cols != D)
        throw DataError("gplvm: the data have " + std::to_string(rows.cols) + " columns but the model was trained on " +
                        std::to_string(D));
    const std::vector<double> Y = as_double(train), Ynew = as_double(rows);
    const auto Xv = model.template param<2>("X");
    const std::vector<double> X(Xv.begin(), Xv.end());

    Predictive p;
    p.kp = model.kernel_params();
    p.noise = model.noise_variance();
    for (const auto& [name, v] : model.diagnostics())
        if (name == "jitter") p.noise += v;
    p.N = N, p.q = q, p.D = D, p.X = X.data();
    if (p.kp.type == KernelType::linear) {
        // G = XᵀX, P = (σ²/α I + G)⁻¹: XᵀK⁻¹X = (G − G P G)/σ², YᵀK⁻¹X = (YᵀX − YᵀX P G)/σ².
        const double alpha = p.kp.variance, s2 = model.noise_variance();
        std::vector<double> G(q * q), P(q * q), YtX(D * q), PG(q * q), tmp(D * q);
        blas::gemm<double>(Op::T, Op::N, q, q, N, 1.0, X.data(), q, X.data(), q, 0.0, G.data(), q);
        P = G;
        for (std::size_t a = 0; a < q; ++a) P[a * q + a] += s2 / alpha;
        if (lapack::potrf_lower(q, P.data()) != 0 || lapack::cholesky_inverse(q, P.data()) != 0)
            throw NumericalError("gplvm projection: σ²/α I + XᵀX is not positive definite");
        blas::gemm<double>(Op::N, Op::N, q, q, q, 1.0, P.data(), q, G.data(), q, 0.0, PG.data(), q);
        blas::gemm<double>(Op::T, Op::N, D, q, N, 1.0, Y.data(), D, X.data(), q, 0.0, YtX.data(), q);
        std::vector<double> XKX = G;
        blas::gemm<double>(Op::N, Op::N, q, q, q, -1.0, G.data(), q, PG.data(), q, 1.0, XKX.data(), q);
        tmp = YtX;
        blas::gemm<double>(Op::N, Op::N, D, q, q, -1.0, YtX.data(), q, PG.data(), q, 1.0, tmp.data(), q);
        p.W.resize(D * q);
        for (std::size_t i = 0; i < D * q; ++i) p.W[i] = alpha * tmp[i] / s2;
        p.M.resize(q * q);
        for (std::size_t i = 0; i < q * q; ++i) p.M[i] = -alpha * alpha * XKX[i] / s2;
        for (std::size_t a = 0; a < q; ++a) p.M[a * q + a] += alpha;
    } else {
        p.Kinv.resize(N * N);
        kernel_matrix(p.kp, X.data(), N, q, p.Kinv.data());
        for (std::size_t i = 0; i < N; ++i) p.Kinv[i * N + i] += p.noise;
        if (lapack::potrf_lower(N, p.Kinv.data()) != 0 || lapack::cholesky_inverse(N, p.Kinv.data()) != 0)
            throw NumericalError("gplvm projection: the kernel matrix is not positive definite");
        p.A.resize(N * D);
        blas::gemm<double>(Op::N, Op::N, N, D, N, 1.0, p.Kinv.data(), N, Y.data(), D, 0.0, p.A.data(), D);
    }

    // Start: the latent of the nearest training row (in data space).
    const std::vector<std::size_t> nearest = nearest_rows(Y.data(), N, Ynew.data(), M, D);

    GplvmProjection out;
    out.latent = xt::zeros<double>({M, q});
    out.log_likelihood.resize(M);
    out.iterations.resize(M);
    LbfgsOptions lo;
    lo.grad_tol = 1e-8;
    lo.rel_tol = 1e-14;
    for (std::size_t m = 0; m < M; ++m) {
        const double* y = Ynew.data() + m * D;
        xt::xtensor<double, 1> x = xt::zeros<double>({q});
        std::copy_n(X.data() + nearest[m] * q, q, x.data());
        Lbfgs<double> opt(lo);
        const Objective<double> f = [&](xt::xtensor<double, 1>& g) {
            if (g.size() != q) g = xt::zeros<double>({q});
            return p(y, x.data(), g.data());
        };
        StepResult s;
        long it = 0;
        do {
            s = opt.step(x, f, 0.0);
        } while (!s.converged && ++it < 500);
        std::copy_n(x.data(), q, out.latent.data() + m * q);
        out.log_likelihood[m] = -s.end_loss;
        out.iterations[m] = it + (s.converged ? 1 : 0);
    }
    return out;
}

template GplvmProjection project<float>(const Gplvm<float>&, const MatrixView<float>&, const MatrixView<float>&);
template GplvmProjection project<double>(const Gplvm<double>&, const MatrixView<double>&, const MatrixView<double>&);

}  // namespace latentlab
