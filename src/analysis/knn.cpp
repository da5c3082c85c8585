#include "latentlab/analysis/knn.hpp"

#include <algorithm>
#include <limits>

#include "latentlab/linalg/blas.hpp"

namespace latentlab {

// Distances are formed a tile at a time: kRows query rows against kCols
// data rows (16 MB of products whatever N), each row's best carried across
// the column tiles in order, so the result is that of one pass over j.
constexpr std::size_t kRows = 256, kCols = 8192;

double loo_1nn_error(const double* Z, std::size_t N, std::size_t q, const std::int32_t* labels) {
    if (N < 2) return 0.0;
    std::vector<double> sq(N);
    for (std::size_t i = 0; i < N; ++i) sq[i] = blas::sqnorm<double>(q, Z + i * q);
    const std::size_t cols = std::min(kCols, N);
    std::vector<double> G(kRows * cols), best(kRows);
    std::vector<std::size_t> arg(kRows);
    std::size_t wrong = 0;
    for (std::size_t b = 0; b < N; b += kRows) {
        const std::size_t rows = std::min(kRows, N - b);
        std::fill(best.begin(), best.end(), std::numeric_limits<double>::infinity());
        for (std::size_t r = 0; r < rows; ++r) arg[r] = b + r;
        for (std::size_t c = 0; c < N; c += cols) {
            const std::size_t nc = std::min(cols, N - c);
            blas::gemm<double>(blas::Op::N, blas::Op::T, rows, nc, q, 1.0, Z + b * q, q, Z + c * q, q, 0.0, G.data(),
                               nc);
            for (std::size_t r = 0; r < rows; ++r) {
                const std::size_t i = b + r;
                const double* g = G.data() + r * nc;
                for (std::size_t j = 0; j < nc; ++j) {
                    if (c + j == i) continue;
                    const double d = sq[c + j] - 2.0 * g[j];  // ‖z_i‖² is the same for all j
                    if (d < best[r]) {
                        best[r] = d;
                        arg[r] = c + j;
                    }
                }
            }
        }
        for (std::size_t r = 0; r < rows; ++r) wrong += labels[arg[r]] != labels[b + r];
    }
    return static_cast<double>(wrong) / static_cast<double>(N);
}

std::vector<std::size_t> nearest_rows(const double* Y, std::size_t N, const double* Q, std::size_t M, std::size_t D) {
    // ‖q − y_i‖² = ‖q‖² − 2 qᵀy_i + ‖y_i‖²: ‖q‖² does not change the argmin.
    std::vector<double> ynorm(N);
    for (std::size_t i = 0; i < N; ++i) ynorm[i] = blas::sqnorm<double>(D, Y + i * D);
    std::vector<std::size_t> nearest(M, 0);
    const std::size_t cols = std::min(kCols, std::max<std::size_t>(N, 1));
    std::vector<double> dots(std::min(kRows, M) * cols), best(kRows);
    for (std::size_t m0 = 0; m0 < M; m0 += kRows) {
        const std::size_t mc = std::min(kRows, M - m0);
        std::fill(best.begin(), best.end(), std::numeric_limits<double>::infinity());
        for (std::size_t c = 0; c < N; c += cols) {
            const std::size_t nc = std::min(cols, N - c);
            blas::gemm<double>(blas::Op::N, blas::Op::T, mc, nc, D, 1.0, Q + m0 * D, D, Y + c * D, D, 0.0, dots.data(),
                               nc);
            for (std::size_t j = 0; j < mc; ++j)
                for (std::size_t i = 0; i < nc; ++i) {
                    const double d2 = ynorm[c + i] - 2.0 * dots[j * nc + i];
                    if (d2 < best[j]) best[j] = d2, nearest[m0 + j] = c + i;
                }
        }
    }
    return nearest;
}

}  // namespace latentlab
