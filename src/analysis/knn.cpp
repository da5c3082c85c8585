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

}  // namespace latentlab
