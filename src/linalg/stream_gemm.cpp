#include "latentlab/linalg/stream_gemm.hpp"
#include "latentlab/linalg/simd.hpp"
#include "latentlab/core/thread_pool.hpp"

#include <algorithm>
#include <vector>

namespace latentlab::stream {

namespace {

// Eight doubles (linalg/simd.hpp); unaligned loads and stores through
// `may_alias` pointers (no helper functions: a 512-bit vector crossing a call
// outside the AVX-512 clone would change the ABI).
using simd::v8d;
using simd::v8u;
#define LOAD(p) (*reinterpret_cast<const v8u*>(p))
#define STORE(p, v) (*reinterpret_cast<v8u*>(p) = (v))

constexpr std::size_t kRows = 16;  // rows of Y per block (pass 1)
constexpr std::size_t kGroup = 12; // latent columns held in registers at once

// P[k][d] += Σ_{i in [r0, r1)} X[i][k] Y[i][d]
LATENTLAB_CLONES
void xty_rows(const double* X, const double* Y, std::size_t r0, std::size_t r1, std::size_t D, std::size_t q,
              double* P) {
    const std::size_t Dv = D / 8 * 8;
    for (std::size_t b = r0; b < r1; b += kRows) {
        const std::size_t be = std::min(b + kRows, r1);
        for (std::size_t k0 = 0; k0 < q; k0 += kGroup) {
            const std::size_t kn = std::min(kGroup, q - k0);
            for (std::size_t d = 0; d < Dv; d += 8) {
                v8d acc[kGroup];
                for (std::size_t k = 0; k < kn; ++k) acc[k] = LOAD(P + (k0 + k) * D + d);
                for (std::size_t i = b; i < be; ++i) {
                    const v8d y = LOAD(Y + i * D + d);
                    const double* x = X + i * q + k0;
                    for (std::size_t k = 0; k < kn; ++k) acc[k] += x[k] * y;
                }
                for (std::size_t k = 0; k < kn; ++k) STORE(P + (k0 + k) * D + d, acc[k]);
            }
            for (std::size_t d = Dv; d < D; ++d)  // the tail of a row
                for (std::size_t i = b; i < be; ++i)
                    for (std::size_t k = 0; k < kn; ++k) P[(k0 + k) * D + d] += X[i * q + k0 + k] * Y[i * D + d];
        }
    }
}

// R[i][k] = Σ_d Y[i][d] P[k][d] for rows [r0, r1)
LATENTLAB_CLONES
void ypt_rows(const double* Y, const double* P, std::size_t r0, std::size_t r1, std::size_t D, std::size_t q,
              double* R) {
    const std::size_t Dv = D / 8 * 8;
    constexpr std::size_t kG = 8;  // 2 rows × 8 columns = 16 accumulators
    std::size_t i = r0;
    for (; i + 2 <= r1; i += 2) {
        const double* y0 = Y + i * D;
        const double* y1 = y0 + D;
        for (std::size_t k0 = 0; k0 < q; k0 += kG) {
            const std::size_t kn = std::min(kG, q - k0);
            v8d a0[kG], a1[kG];
            for (std::size_t k = 0; k < kn; ++k) a0[k] = a1[k] = v8d{};
            for (std::size_t d = 0; d < Dv; d += 8) {
                const v8d u = LOAD(y0 + d), v = LOAD(y1 + d);
                for (std::size_t k = 0; k < kn; ++k) {
                    const v8d p = LOAD(P + (k0 + k) * D + d);
                    a0[k] += u * p;
                    a1[k] += v * p;
                }
            }
            for (std::size_t k = 0; k < kn; ++k) {
                double s0 = 0, s1 = 0;
                for (int l = 0; l < 8; ++l) {
                    s0 += a0[k][l];
                    s1 += a1[k][l];
                }
                for (std::size_t d = Dv; d < D; ++d) {
                    s0 += y0[d] * P[(k0 + k) * D + d];
                    s1 += y1[d] * P[(k0 + k) * D + d];
                }
                R[i * q + k0 + k] = s0;
                R[(i + 1) * q + k0 + k] = s1;
            }
        }
    }
    for (; i < r1; ++i)
        for (std::size_t k = 0; k < q; ++k) {
            double s = 0;
            for (std::size_t d = 0; d < D; ++d) s += Y[i * D + d] * P[k * D + d];
            R[i * q + k] = s;
        }
}

// Threads only pay off on large products.
int use_threads(int threads, std::size_t N, std::size_t D) {
    if (threads <= 1 || N * D < (std::size_t{1} << 20)) return 1;
    return std::min<int>(threads, static_cast<int>(std::max<std::size_t>(1, N / 1024)));
}

}  // namespace

void xty(const double* X, const double* Y, std::size_t N, std::size_t D, std::size_t q, double* P, int threads) {
    const int t = use_threads(threads, N, D);
    std::fill(P, P + q * D, 0.0);
    if (t == 1) {
        xty_rows(X, Y, 0, N, D, q, P);
        return;
    }
    // Part w sums its own rows (part 0 into P); the partial products are added
    // in order, so the bits depend on the thread count only.
    const auto parts = static_cast<std::size_t>(t);
    std::vector<std::vector<double>> part(parts - 1, std::vector<double>(q * D, 0.0));
    const std::size_t chunk = (N + parts - 1) / parts;
    run_parts(parts, parts, [&](std::size_t w) {
        const std::size_t r0 = std::min(N, w * chunk), r1 = std::min(N, r0 + chunk);
        xty_rows(X, Y, r0, r1, D, q, w == 0 ? P : part[w - 1].data());
    });
    for (const auto& p : part)
        for (std::size_t j = 0; j < q * D; ++j) P[j] += p[j];
}

void ypt(const double* Y, const double* P, std::size_t N, std::size_t D, std::size_t q, double* R, int threads) {
    const int t = use_threads(threads, N, D);
    if (t == 1) {
        ypt_rows(Y, P, 0, N, D, q, R);
        return;
    }
    const auto parts = static_cast<std::size_t>(t);
    const std::size_t chunk = (N + parts - 1) / parts;
    run_parts(parts, parts, [&](std::size_t w) {
        const std::size_t r0 = std::min(N, w * chunk), r1 = std::min(N, r0 + chunk);
        ypt_rows(Y, P, r0, r1, D, q, R);
    });
}

}  // namespace latentlab::stream
