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
static_assert(kRows % 2 == 0, "ypt_levels keeps ypt_rows's pairs of rows only for even blocks");

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

// Rows of Y rebuilt from their bytes: out = (L·s) − off, two roundings (no
// FMA contraction), as data/dataset.cpp forms them.
LATENTLAB_CLONES LATENTLAB_NO_CONTRACT
void decode_rows(const std::uint8_t* L, std::size_t n, double s, const double* off, std::size_t D, double* out) {
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* l = L + i * D;
        double* o = out + i * D;
        if (off) {
            for (std::size_t d = 0; d < D; ++d) {
                const double v = static_cast<double>(l[d]) * s;
                o[d] = v - off[d];
            }
        } else {
            for (std::size_t d = 0; d < D; ++d) o[d] = static_cast<double>(l[d]) * s;
        }
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

void xty_levels(const double* X, const std::uint8_t* L, double s, const double* off, std::size_t N, std::size_t D,
                std::size_t q, double* P, int threads) {
    const int t = use_threads(threads, N, D);
    std::fill(P, P + q * D, 0.0);
    const auto parts = static_cast<std::size_t>(t);
    std::vector<std::vector<double>> part(parts - 1, std::vector<double>(q * D, 0.0));
    const std::size_t chunk = (N + parts - 1) / parts;
    run_parts(parts, parts, [&](std::size_t w) {
        // xty_rows's blocks of kRows from the part's first row, each rebuilt first
        const std::size_t r0 = std::min(N, w * chunk), r1 = std::min(N, r0 + chunk);
        std::vector<double> buf(kRows * D);
        double* out = w == 0 ? P : part[w - 1].data();
        for (std::size_t b = r0; b < r1; b += kRows) {
            const std::size_t n = std::min(kRows, r1 - b);
            decode_rows(L + b * D, n, s, off, D, buf.data());
            xty_rows(X + b * q, buf.data(), 0, n, D, q, out);
        }
    });
    for (const auto& p : part)
        for (std::size_t j = 0; j < q * D; ++j) P[j] += p[j];
}

void ypt_levels(const std::uint8_t* L, double s, const double* off, const double* P, std::size_t N, std::size_t D,
                std::size_t q, double* R, int threads) {
    const int t = use_threads(threads, N, D);
    const auto parts = static_cast<std::size_t>(t);
    const std::size_t chunk = (N + parts - 1) / parts;
    run_parts(parts, parts, [&](std::size_t w) {
        // ypt_rows takes rows in pairs from the part's first row: blocks of an
        // even kRows keep the pairs (and the odd last row) where they were
        const std::size_t r0 = std::min(N, w * chunk), r1 = std::min(N, r0 + chunk);
        std::vector<double> buf(kRows * D);
        for (std::size_t b = r0; b < r1; b += kRows) {
            const std::size_t n = std::min(kRows, r1 - b);
            decode_rows(L + b * D, n, s, off, D, buf.data());
            ypt_rows(buf.data(), P, 0, n, D, q, R + b * q);
        }
    });
}

}  // namespace latentlab::stream
