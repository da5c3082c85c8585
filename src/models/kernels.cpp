#include "latentlab/models/kernels.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/core/error.hpp"

namespace latentlab {

using blas::Op;

KernelType parse_kernel(const std::string& name) {
    if (name == "linear") return KernelType::linear;
    if (name == "rbf") return KernelType::rbf;
    if (name == "rbf_ard") return KernelType::rbf_ard;
    throw OptionError("kernel", ": unknown kernel '" + name + "' (linear, rbf, rbf_ard)");
}

const char* kernel_name(KernelType k) {
    switch (k) {
        case KernelType::linear: return "linear";
        case KernelType::rbf: return "rbf";
        case KernelType::rbf_ard: return "rbf_ard";
    }
    return "?";
}

namespace {
// f(i0, i1) for blocks of 64 rows [i0, i1) of N, spread over the BLAS
// threads (blas::parallel_for): the N² element-wise passes would otherwise
// run on one core while OpenBLAS's other threads spin. Each row is one
// thread's.
template <class F>
void for_row_blocks(std::size_t N, F&& f) {
    constexpr std::size_t kRows = 64;
    blas::parallel_for((N + kRows - 1) / kRows, [&](std::size_t b) { f(b * kRows, std::min(N, (b + 1) * kRows)); });
}

double inv_len2(const KernelParams& p, std::size_t d) {
    const double l = p.lengthscales.size() == 1 ? p.lengthscales[0] : p.lengthscales[d];
    return 1.0 / (l * l);
}
}  // namespace

void kernel_matrix(const KernelParams& p, const double* X, std::size_t N, std::size_t q, double* Kf) {
    if (p.type == KernelType::linear) {
        blas::gemm<double>(Op::N, Op::T, N, N, q, p.variance, X, q, X, q, 0.0, Kf, N);
        return;
    }
    // Scaled latents x_d/ℓ_d, then r² = ‖x̃_i‖² + ‖x̃_j‖² − 2 x̃_iᵀx̃_j by one GEMM.
    std::vector<double> Xs(N * q), sq(N);
    for (std::size_t i = 0; i < N; ++i) {
        double s = 0;
        for (std::size_t d = 0; d < q; ++d) {
            const double v = X[i * q + d] * std::sqrt(inv_len2(p, d));
            Xs[i * q + d] = v;
            s += v * v;
        }
        sq[i] = s;
    }
    blas::gemm<double>(Op::N, Op::T, N, N, q, -2.0, Xs.data(), q, Xs.data(), q, 0.0, Kf, N);
    // The upper triangle (half the exponentials), then the lower from it.
    for_row_blocks(N, [&](std::size_t i0, std::size_t i1) {
        for (std::size_t i = i0; i < i1; ++i) {
            double* row = Kf + i * N;
            for (std::size_t j = i + 1; j < N; ++j) {
                double r2 = row[j] + sq[i] + sq[j];
                if (r2 < 0) r2 = 0;  // rounding; unlike std::max, keeps a NaN a NaN
                row[j] = p.variance * std::exp(-0.5 * r2);
            }
            row[i] = p.variance;  // exact on the diagonal
        }
    });
    blas::mirror_upper(N, Kf);
}

void kernel_backward(const KernelParams& p, const double* X, std::size_t N, std::size_t q,
                     const double* G, const double* Kf, double* A, double* dX, double* dlog_variance,
                     double* dlog_lengthscales) {
    if (p.type == KernelType::linear) {
        // ∂NLL/∂X = 2 α G X, before A (which may alias G) is formed.
        blas::gemm<double>(Op::N, Op::N, N, q, N, 2.0 * p.variance, G, N, X, q, 0.0, dX, q);
    }
    // A = G ∘ K_f and its row sums; Σ A_ij as the sum of the row sums, in order.
    std::vector<double> a1(N);
    for_row_blocks(N, [&](std::size_t i0, std::size_t i1) {
        for (std::size_t i = i0; i < i1; ++i) {
            double s = 0;
            for (std::size_t j = 0; j < N; ++j) {
                A[i * N + j] = G[i * N + j] * Kf[i * N + j];
                s += A[i * N + j];
            }
            a1[i] = s;
        }
    });
    double sumA = 0.0;
    for (std::size_t i = 0; i < N; ++i) sumA += a1[i];
    *dlog_variance = sumA;
    if (p.type == KernelType::linear) return;
    // AX (N×q).
    std::vector<double> AX(N * q);
    blas::gemm<double>(Op::N, Op::N, N, q, N, 1.0, A, N, X, q, 0.0, AX.data(), q);
    for (std::size_t l = 0; l < p.num_lengthscales(); ++l) dlog_lengthscales[l] = 0.0;
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t d = 0; d < q; ++d) {
            const double w = inv_len2(p, d), x = X[i * q + d], ax = AX[i * q + d];
            dX[i * q + d] = -2.0 * w * (a1[i] * x - ax);
            // Σ_ij A_ij (x_id − x_jd)² = 2 (Σ_i a1_i x_id² − Σ_i x_id (AX)_id)
            const double contrib = 2.0 * w * (a1[i] * x * x - x * ax);
            dlog_lengthscales[p.num_lengthscales() == 1 ? 0 : d] += contrib;
        }
}

}  // namespace latentlab
