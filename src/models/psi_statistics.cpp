#include "latentlab/models/psi_statistics.hpp"

#include <cmath>

#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/vector_math.hpp"
#include "latentlab/models/kernels.hpp"

namespace latentlab {

using blas::Op;

namespace {
// Per-thread scratch that keeps its capacity between blocks (a block's Ψ2
// terms are megabytes: a fresh vector would zero and page-fault them each
// time). `slot` picks one of a few independent buffers.
double* scratch(int slot, std::size_t n) {
    thread_local std::vector<double> buffers[4];
    std::vector<double>& v = buffers[slot];
    if (v.size() < n) v.resize(n);
    return v.data();
}
}  // namespace

void PsiSums::add(const PsiSums& o) {
    psi0 += o.psi0;
    for (std::size_t i = 0; i < psi2.size(); ++i) psi2[i] += o.psi2[i];
}

void PsiGradSums::add(const PsiGradSums& o) {
    auto acc = [](std::vector<double>& a, const std::vector<double>& b) {
        for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
    };
    acc(z1, o.z1);
    acc(pairs, o.pairs);
    acc(pair_total, o.pair_total);
    acc(hyper, o.hyper);
}

PsiStatistics::PsiStatistics(PsiKernel k, const double* Z, std::size_t M, std::size_t q)
    : k_(std::move(k)), M_(M), q_(q), P_(M * (M + 1) / 2), Z_(Z, Z + M * q) {
    if (k_.type == PsiKernelType::linear_ard) return;
    const double log_var2 = 2.0 * std::log(k_.variance);
    right1_.assign(M * (2 * q + 1), 0.0);
    zz_.assign(M * 2 * q, 0.0);
    for (std::size_t m = 0; m < M; ++m) {
        for (std::size_t j = 0; j < q; ++j) {
            const double z = Z_[m * q + j];
            right1_[m * (2 * q + 1) + j] = z;
            right1_[m * (2 * q + 1) + q + j] = -0.5 * z * z;
            zz_[m * 2 * q + j] = z;
            zz_[m * 2 * q + q + j] = z * z;
        }
        right1_[m * (2 * q + 1) + 2 * q] = 1.0;
    }
    pair_m_.reserve(P_);
    pair_n_.reserve(P_);
    right2_.assign(P_ * (2 * q + 2), 0.0);
    zbar2_.assign(P_ * 2 * q, 0.0);
    std::size_t p = 0;
    for (std::size_t m = 0; m < M; ++m)
        for (std::size_t n = m; n < M; ++n, ++p) {
            pair_m_.push_back(m);
            pair_n_.push_back(n);
            double logK = 0;  // log K̃ = −Σ_j (z_m − z_m')² / (4ℓ²)
            for (std::size_t j = 0; j < q; ++j) {
                const double zb = 0.5 * (Z_[m * q + j] + Z_[n * q + j]);
                const double dz = Z_[m * q + j] - Z_[n * q + j];
                const double l2 = k_.scales[j] * k_.scales[j];
                logK -= dz * dz / (4.0 * l2);
                right2_[p * (2 * q + 2) + j] = 2.0 * zb;
                right2_[p * (2 * q + 2) + q + j] = -zb * zb;
                zbar2_[p * 2 * q + j] = zb;
                zbar2_[p * 2 * q + q + j] = zb * zb;
            }
            right2_[p * (2 * q + 2) + 2 * q] = 1.0;
            right2_[p * (2 * q + 2) + 2 * q + 1] = log_var2 + logK;
        }
}

PsiSums PsiStatistics::zero_sums() const {
    PsiSums s;
    s.psi2.assign(k_.type == PsiKernelType::rbf_ard ? P_ : q_ * q_, 0.0);
    return s;
}

PsiGradSums PsiStatistics::zero_grad_sums() const {
    PsiGradSums s;
    s.z1.assign(M_ * 2 * q_, 0.0);
    if (k_.type == PsiKernelType::rbf_ard) {
        s.pairs.assign(P_ * 2 * q_, 0.0);
        s.pair_total.assign(P_, 0.0);
    }
    s.hyper.assign(k_.num_hyper(), 0.0);
    return s;
}

void PsiStatistics::kmm(double* K) const {
    if (k_.type == PsiKernelType::linear_ard) {
        std::vector<double> ZA(Z_);
        for (std::size_t m = 0; m < M_; ++m)
            for (std::size_t j = 0; j < q_; ++j) ZA[m * q_ + j] *= k_.scales[j];
        blas::gemm<double>(Op::N, Op::T, M_, M_, q_, 1.0, ZA.data(), q_, Z_.data(), q_, 0.0, K, M_);
        return;
    }
    KernelParams p{KernelType::rbf_ard, k_.variance, k_.scales};
    kernel_matrix(p, Z_.data(), M_, q_, K);
}

void PsiStatistics::kmm_backward(const double* GK, double* dZ, double* dhyper) const {
    const std::size_t M = M_, q = q_;
    if (k_.type == PsiKernelType::linear_ard) {
        // K = Z diag(α) Zᵀ: ∂/∂Z = 2 GK Z diag(α), ∂/∂log α_j = α_j Σ_m (GK Z)_mj z_mj
        std::vector<double> GZ(M * q);
        blas::gemm<double>(Op::N, Op::N, M, q, M, 1.0, GK, M, Z_.data(), q, 0.0, GZ.data(), q);
        for (std::size_t m = 0; m < M; ++m)
            for (std::size_t j = 0; j < q; ++j) {
                dZ[m * q + j] += 2.0 * GZ[m * q + j] * k_.scales[j];
                dhyper[j] += k_.scales[j] * GZ[m * q + j] * Z_[m * q + j];
            }
        return;
    }
    KernelParams p{KernelType::rbf_ard, k_.variance, k_.scales};
    std::vector<double> Kf(M * M), A(M * M), dz(M * q), dlen(q);
    kernel_matrix(p, Z_.data(), M, q, Kf.data());
    double dvar = 0;
    kernel_backward(p, Z_.data(), M, q, GK, Kf.data(), A.data(), dz.data(), &dvar, dlen.data());
    for (std::size_t i = 0; i < M * q; ++i) dZ[i] += dz[i];
    dhyper[0] += dvar;
    for (std::size_t j = 0; j < q; ++j) dhyper[1 + j] += dlen[j];
}

void PsiStatistics::psi1(const double* mu, const double* S, std::size_t rows, double* Psi1) const {
    const std::size_t q = q_, M = M_;
    if (k_.type == PsiKernelType::linear_ard) {
        std::vector<double> ZA(Z_);
        for (std::size_t m = 0; m < M; ++m)
            for (std::size_t j = 0; j < q; ++j) ZA[m * q + j] *= k_.scales[j];
        blas::gemm<double>(Op::N, Op::T, rows, M, q, 1.0, mu, q, ZA.data(), q, 0.0, Psi1, M);
        return;
    }
    // log Ψ1[n,m] = log σ_f² + Σ_j [−½ log(1 + S/ℓ²) − ½ u μ² + (uμ) z − ½ u z²]
    const std::size_t K = 2 * q + 1;
    double* left = scratch(0, rows * K);
    const double log_var = std::log(k_.variance);
    for (std::size_t n = 0; n < rows; ++n) {
        double c = log_var;
        for (std::size_t j = 0; j < q; ++j) {
            const double l2 = k_.scales[j] * k_.scales[j], s = S[n * q + j], m = mu[n * q + j];
            const double u = 1.0 / (l2 + s);
            left[n * K + j] = u * m;
            left[n * K + q + j] = u;
            c += -0.5 * std::log1p(s / l2) - 0.5 * u * m * m;
        }
        left[n * K + 2 * q] = c;
    }
    blas::gemm<double>(Op::N, Op::T, rows, M, K, 1.0, left, K, right1_.data(), K, 0.0, Psi1, M);
    vmath::exp_inplace(Psi1, rows * M);
}

// E (rows×P) ← Σ_n's terms of Ψ2 per pair (σ_f⁴ included); w (rows×q) ← 1/(ℓ² + 2S).
void PsiStatistics::rbf_psi2_exponents(const double* mu, const double* S, std::size_t rows, double* E,
                                       double* w) const {
    const std::size_t q = q_, K = 2 * q + 2;
    double* left = scratch(0, rows * K);
    for (std::size_t n = 0; n < rows; ++n) {
        double c = 0;
        for (std::size_t j = 0; j < q; ++j) {
            const double l2 = k_.scales[j] * k_.scales[j], s = S[n * q + j], m = mu[n * q + j];
            const double wj = 1.0 / (l2 + 2.0 * s);
            w[n * q + j] = wj;
            left[n * K + j] = wj * m;
            left[n * K + q + j] = wj;
            c += -0.5 * std::log1p(2.0 * s / l2) - wj * m * m;
        }
        left[n * K + 2 * q] = c;
        left[n * K + 2 * q + 1] = 1.0;
    }
    blas::gemm<double>(Op::N, Op::T, rows, P_, K, 1.0, left, K, right2_.data(), K, 0.0, E, P_);
    vmath::exp_inplace(E, rows * P_);
}

void PsiStatistics::forward(const double* mu, const double* S, std::size_t rows, double* Psi1, PsiSums& sums,
                            double* keep) const {
    const std::size_t q = q_;
    psi1(mu, S, rows, Psi1);
    if (k_.type == PsiKernelType::linear_ard) {
        for (std::size_t n = 0; n < rows; ++n)
            for (std::size_t j = 0; j < q; ++j) {
                const double m = mu[n * q + j], s = S[n * q + j];
                sums.psi0 += k_.scales[j] * (m * m + s);
                sums.psi2[j * q + j] += s;
            }
        blas::gemm<double>(Op::T, Op::N, q, q, rows, 1.0, mu, q, mu, q, 1.0, sums.psi2.data(), q);
        return;
    }
    sums.psi0 += static_cast<double>(rows) * k_.variance;
    double* E = keep ? keep : scratch(1, rows * P_);
    double* w = scratch(2, rows * q);
    std::vector<double> ones(rows, 1.0);
    rbf_psi2_exponents(mu, S, rows, E, w);
    blas::gemm<double>(Op::N, Op::N, 1, P_, rows, 1.0, ones.data(), rows, E, P_, 1.0, sums.psi2.data(), P_);
}

void PsiStatistics::psi2_matrix(const PsiSums& total, double* Psi2) const {
    const std::size_t M = M_, q = q_;
    if (k_.type == PsiKernelType::linear_ard) {
        std::vector<double> ZA(Z_), T(M * q);
        for (std::size_t m = 0; m < M; ++m)
            for (std::size_t j = 0; j < q; ++j) ZA[m * q + j] *= k_.scales[j];
        blas::gemm<double>(Op::N, Op::N, M, q, q, 1.0, ZA.data(), q, total.psi2.data(), q, 0.0, T.data(), q);
        blas::gemm<double>(Op::N, Op::T, M, M, q, 1.0, T.data(), q, ZA.data(), q, 0.0, Psi2, M);
        return;
    }
    for (std::size_t p = 0; p < P_; ++p) {
        Psi2[pair_m_[p] * M + pair_n_[p]] = total.psi2[p];
        Psi2[pair_n_[p] * M + pair_m_[p]] = total.psi2[p];
    }
}

void PsiStatistics::prepare(const double* G2, const PsiSums& total) {
    const std::size_t M = M_, q = q_;
    if (k_.type == PsiKernelType::rbf_ard) {
        const std::size_t K2 = 2 * q + 1;
        g2pair_.resize(P_);
        g2zbar_.resize(P_ * K2);
        for (std::size_t p = 0; p < P_; ++p) {
            const double g = (pair_m_[p] == pair_n_[p] ? 1.0 : 2.0) * G2[pair_m_[p] * M + pair_n_[p]];
            g2pair_[p] = g;
            g2zbar_[p * K2] = g;
            for (std::size_t c = 0; c < 2 * q; ++c) g2zbar_[p * K2 + 1 + c] = g * zbar2_[p * 2 * q + c];
        }
        return;
    }
    G2_.assign(G2, G2 + M * M);
    C_ = total.psi2;
    std::vector<double> ZA(Z_), T(M * q);
    for (std::size_t m = 0; m < M; ++m)
        for (std::size_t j = 0; j < q; ++j) ZA[m * q + j] *= k_.scales[j];
    dC_.assign(q * q, 0.0);  // ∂F/∂C = ZAᵀ G2 ZA
    blas::gemm<double>(Op::N, Op::N, M, q, M, 1.0, G2, M, ZA.data(), q, 0.0, T.data(), q);
    blas::gemm<double>(Op::T, Op::N, q, q, M, 1.0, ZA.data(), q, T.data(), q, 0.0, dC_.data(), q);
}

void PsiStatistics::backward(const double* mu, const double* S, std::size_t rows, double g0, double* G1,
                             double* dmu, double* dS, PsiGradSums& sums, const double* kept) const {
    const std::size_t q = q_, M = M_;
    if (k_.type == PsiKernelType::linear_ard) {
        std::vector<double> GZ(rows * q);
        blas::gemm<double>(Op::N, Op::N, rows, q, M, 1.0, G1, M, Z_.data(), q, 0.0, GZ.data(), q);
        // Z terms: G1ᵀ μ into the first q columns of z1 (M×2q)
        blas::gemm<double>(Op::T, Op::N, M, q, rows, 1.0, G1, M, mu, q, 1.0, sums.z1.data(), 2 * q);
        // Ψ2 through C: ∂F/∂μ_n = 2 dC μ_n, ∂F/∂S_nj = dC_jj
        blas::gemm<double>(Op::N, Op::N, rows, q, q, 2.0, mu, q, dC_.data(), q, 0.0, dmu, q);
        for (std::size_t n = 0; n < rows; ++n)
            for (std::size_t j = 0; j < q; ++j) {
                const double a = k_.scales[j], m = mu[n * q + j], s = S[n * q + j], gz = GZ[n * q + j];
                dmu[n * q + j] += a * gz + 2.0 * g0 * a * m;
                dS[n * q + j] = dC_[j * q + j] + g0 * a;
                sums.hyper[j] += a * m * gz + g0 * a * (m * m + s);
            }
        return;
    }
    // Ψ1: R = G1 ⊙ Ψ1
    double* P1 = scratch(3, rows * M);
    psi1(mu, S, rows, P1);
    std::vector<double> rowR(rows, 0.0), RZ(rows * 2 * q), left(rows * 2 * q);
    double sumR = 0;
    for (std::size_t n = 0; n < rows; ++n) {
        double r = 0;
        for (std::size_t m = 0; m < M; ++m) {
            G1[n * M + m] *= P1[n * M + m];
            r += G1[n * M + m];
        }
        rowR[n] = r;
        sumR += r;
    }
    blas::gemm<double>(Op::N, Op::N, rows, 2 * q, M, 1.0, G1, M, zz_.data(), 2 * q, 0.0, RZ.data(), 2 * q);
    for (std::size_t n = 0; n < rows; ++n)
        for (std::size_t j = 0; j < q; ++j) {
            const double l2 = k_.scales[j] * k_.scales[j], s = S[n * q + j], m = mu[n * q + j];
            const double u = 1.0 / (l2 + s), r = rowR[n], rz = RZ[n * 2 * q + j], rz2 = RZ[n * 2 * q + q + j];
            const double Q = m * m * r - 2.0 * m * rz + rz2;  // Σ_m R (μ − z)²
            dmu[n * q + j] = -u * (m * r - rz);
            dS[n * q + j] = -0.5 * u * r + 0.5 * u * u * Q;
            sums.hyper[1 + j] += s * u * r + l2 * u * u * Q;
            left[n * 2 * q + j] = u * m;
            left[n * 2 * q + q + j] = u;
        }
    sums.hyper[0] += sumR + g0 * k_.variance * static_cast<double>(rows);
    blas::gemm<double>(Op::T, Op::N, M, 2 * q, rows, 1.0, G1, M, left.data(), 2 * q, 1.0, sums.z1.data(), 2 * q);

    // Ψ2: with E[n,p] the rows' terms of Ψ2 and T = E diag(g2) (g2_p =
    // weight_p G2_p), [Σ_p T | T z̄ | T z̄²] = E [g2 | g2 z̄ | g2 z̄²] and
    // Tᵀ[wμ | w | 1] = diag(g2) Eᵀ[wμ | w | 1]: T is never formed.
    const std::size_t K2 = 2 * q + 1;
    double* w = scratch(2, rows * q);
    const double* E = kept;
    if (kept) {
        for (std::size_t n = 0; n < rows; ++n)
            for (std::size_t j = 0; j < q; ++j) {
                const double l2 = k_.scales[j] * k_.scales[j];
                w[n * q + j] = 1.0 / (l2 + 2.0 * S[n * q + j]);
            }
    } else {
        double* fresh = scratch(1, rows * P_);
        rbf_psi2_exponents(mu, S, rows, fresh, w);
        E = fresh;
    }
    std::vector<double> TZ(rows * K2), left2(rows * K2), EtL(P_ * K2);
    blas::gemm<double>(Op::N, Op::N, rows, K2, P_, 1.0, E, P_, g2zbar_.data(), K2, 0.0, TZ.data(), K2);
    for (std::size_t n = 0; n < rows; ++n) {
        const double r = TZ[n * K2];
        for (std::size_t j = 0; j < q; ++j) {
            const double l2 = k_.scales[j] * k_.scales[j], s = S[n * q + j], m = mu[n * q + j];
            const double wj = w[n * q + j], tz = TZ[n * K2 + 1 + j], tz2 = TZ[n * K2 + 1 + q + j];
            const double Q = m * m * r - 2.0 * m * tz + tz2;  // Σ_p T (μ − z̄)²
            dmu[n * q + j] += -2.0 * wj * (m * r - tz);
            dS[n * q + j] += -wj * r + 2.0 * wj * wj * Q;
            sums.hyper[1 + j] += 2.0 * s * wj * r + 2.0 * l2 * wj * wj * Q;
            left2[n * K2 + j] = wj * m;
            left2[n * K2 + q + j] = wj;
        }
        left2[n * K2 + 2 * q] = 1.0;
    }
    blas::gemm<double>(Op::T, Op::N, P_, K2, rows, 1.0, E, P_, left2.data(), K2, 0.0, EtL.data(), K2);
    for (std::size_t p = 0; p < P_; ++p) {
        const double g = g2pair_[p];
        for (std::size_t c = 0; c < 2 * q; ++c) sums.pairs[p * 2 * q + c] += g * EtL[p * K2 + c];
        sums.pair_total[p] += g * EtL[p * K2 + 2 * q];
    }
}

void PsiStatistics::finish(const PsiGradSums& total, double* dZ, double* dhyper) const {
    const std::size_t q = q_, M = M_;
    for (std::size_t h = 0; h < total.hyper.size(); ++h) dhyper[h] += total.hyper[h];
    if (k_.type == PsiKernelType::linear_ard) {
        // Ψ1: ∂/∂Z = (G1ᵀμ) diag(α). Ψ2 = ZA C ZAᵀ: ∂/∂ZA = 2 G2 ZA C.
        std::vector<double> ZA(Z_), T(M * q), dZA(M * q);
        for (std::size_t m = 0; m < M; ++m)
            for (std::size_t j = 0; j < q; ++j) ZA[m * q + j] *= k_.scales[j];
        blas::gemm<double>(Op::N, Op::N, M, q, M, 1.0, G2_.data(), M, ZA.data(), q, 0.0, T.data(), q);
        blas::gemm<double>(Op::N, Op::N, M, q, q, 2.0, T.data(), q, C_.data(), q, 0.0, dZA.data(), q);
        for (std::size_t m = 0; m < M; ++m)
            for (std::size_t j = 0; j < q; ++j) {
                const double a = k_.scales[j];
                dZ[m * q + j] += a * (total.z1[m * 2 * q + j] + dZA[m * q + j]);
                dhyper[j] += a * dZA[m * q + j] * Z_[m * q + j];
            }
        return;
    }
    for (std::size_t m = 0; m < M; ++m)
        for (std::size_t j = 0; j < q; ++j)
            dZ[m * q + j] += total.z1[m * 2 * q + j] - Z_[m * q + j] * total.z1[m * 2 * q + q + j];
    double sum_pairs = 0;
    for (std::size_t p = 0; p < P_; ++p) {
        const std::size_t m = pair_m_[p], n = pair_n_[p];
        const double tp = total.pair_total[p];
        sum_pairs += tp;
        for (std::size_t j = 0; j < q; ++j) {
            const double zb = zbar2_[p * 2 * q + j];
            const double dzb = 2.0 * (total.pairs[p * 2 * q + j] - zb * total.pairs[p * 2 * q + q + j]);
            if (m == n) {
                dZ[m * q + j] += dzb;
                continue;
            }
            const double l2 = k_.scales[j] * k_.scales[j], dz = Z_[m * q + j] - Z_[n * q + j];
            dZ[m * q + j] += 0.5 * dzb - tp * dz / (2.0 * l2);
            dZ[n * q + j] += 0.5 * dzb + tp * dz / (2.0 * l2);
            dhyper[1 + j] += tp * dz * dz / (2.0 * l2);
        }
    }
    dhyper[0] += 2.0 * sum_pairs;
}

}  // namespace latentlab
