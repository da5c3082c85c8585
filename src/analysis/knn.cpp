#include "latentlab/analysis/knn.hpp"

#include <algorithm>
#include <limits>

#include "latentlab/linalg/blas.hpp"

namespace latentlab {

double loo_1nn_error(const double* Z, std::size_t N, std::size_t q, const std::int32_t* labels) {
    if (N < 2) return 0.0;
    std::vector<double> sq(N);
    for (std::size_t i = 0; i < N; ++i) sq[i] = blas::sqnorm<double>(q, Z + i * q);
    const std::size_t block = 256;
    std::vector<double> G(block * N);
    std::size_t wrong = 0;
    for (std::size_t b = 0; b < N; b += block) {
        const std::size_t rows = std::min(block, N - b);
        blas::gemm<double>(blas::Op::N, blas::Op::T, rows, N, q, 1.0, Z + b * q, q, Z, q, 0.0, G.data(), N);
        for (std::size_t r = 0; r < rows; ++r) {
            const std::size_t i = b + r;
            double best = std::numeric_limits<double>::infinity();
            std::size_t arg = i;
            const double* g = G.data() + r * N;
            for (std::size_t j = 0; j < N; ++j) {
                if (j == i) continue;
                const double d = sq[j] - 2.0 * g[j];  // ‖z_i‖² is the same for all j
                if (d < best) {
                    best = d;
                    arg = j;
                }
            }
            wrong += labels[arg] != labels[i];
        }
    }
    return static_cast<double>(wrong) / static_cast<double>(N);
}

std::vector<std::size_t> nearest_rows(const double* Y, std::size_t N, const double* Q, std::size_t M, std::size_t D) {
    // ‖q − y_i‖² = ‖q‖² − 2 qᵀy_i + ‖y_i‖²: ‖q‖² does not change the argmin.
    std::vector<double> ynorm(N);
    for (std::size_t i = 0; i < N; ++i) ynorm[i] = blas::sqnorm<double>(D, Y + i * D);
    std::vector<std::size_t> nearest(M, 0);
    const std::size_t chunk = 256;
    std::vector<double> dots(std::min(chunk, M) * N);
    for (std::size_t m0 = 0; m0 < M; m0 += chunk) {
        const std::size_t mc = std::min(chunk, M - m0);
        blas::gemm<double>(blas::Op::N, blas::Op::T, mc, N, D, 1.0, Q + m0 * D, D, Y, D, 0.0, dots.data(), N);
        for (std::size_t j = 0; j < mc; ++j) {
            double best = std::numeric_limits<double>::infinity();
            for (std::size_t i = 0; i < N; ++i) {
                const double d2 = ynorm[i] - 2.0 * dots[j * N + i];
                if (d2 < best) best = d2, nearest[m0 + j] = i;
            }
        }
    }
    return nearest;
}

}  // namespace latentlab
