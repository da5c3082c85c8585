// The streaming skinny products of the GPLVM (linalg/stream_gemm.hpp) against
// plain sums, on shapes that hit every tail: D not a multiple of 8, q beyond
// the register groups, odd N, one and several threads.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "latentlab/linalg/stream_gemm.hpp"

using namespace latentlab;

TEST(StreamGemm, XtyAndYptEqualPlainSums) {
    std::mt19937_64 rng(5);
    std::normal_distribution<double> g(0, 1);
    for (std::size_t N : {1u, 7u, 33u, 2100u})  // 2100 × 784: large enough for two threads
        for (std::size_t D : {1u, 8u, 13u, 784u})
            for (std::size_t q : {1u, 2u, 10u, 13u, 25u})
                for (int threads : {1, 2}) {
                    std::vector<double> X(N * q), Y(N * D), P(q * D), R(N * q);
                    for (auto& v : X) v = g(rng);
                    for (auto& v : Y) v = g(rng);
                    stream::xty(X.data(), Y.data(), N, D, q, P.data(), threads);
                    double worst = 0;
                    for (std::size_t k = 0; k < q; ++k)
                        for (std::size_t d = 0; d < D; ++d) {
                            double s = 0, a = 0;  // the sum, and the sum of |terms| (the error scale)
                            for (std::size_t i = 0; i < N; ++i) {
                                s += X[i * q + k] * Y[i * D + d];
                                a += std::abs(X[i * q + k] * Y[i * D + d]);
                            }
                            worst = std::max(worst, std::abs(P[k * D + d] - s) / (1e-300 + a));
                        }
                    EXPECT_LT(worst, 1e-13) << "xty N=" << N << " D=" << D << " q=" << q << " t=" << threads;
                    stream::ypt(Y.data(), P.data(), N, D, q, R.data(), threads);
                    worst = 0;
                    for (std::size_t i = 0; i < N; ++i)
                        for (std::size_t k = 0; k < q; ++k) {
                            double s = 0, a = 0;
                            for (std::size_t d = 0; d < D; ++d) {
                                s += Y[i * D + d] * P[k * D + d];
                                a += std::abs(Y[i * D + d] * P[k * D + d]);
                            }
                            worst = std::max(worst, std::abs(R[i * q + k] - s) / (1e-300 + a));
                        }
                    EXPECT_LT(worst, 1e-13) << "ypt N=" << N << " D=" << D << " q=" << q << " t=" << threads;
                }
}

TEST(StreamGemm, SameThreadCountSameBits) {
    const std::size_t N = 5000, D = 300, q = 6;
    std::mt19937_64 rng(6);
    std::normal_distribution<double> g(0, 1);
    std::vector<double> X(N * q), Y(N * D), P1(q * D), P2(q * D);
    for (auto& v : X) v = g(rng);
    for (auto& v : Y) v = g(rng);
    stream::xty(X.data(), Y.data(), N, D, q, P1.data(), 2);
    stream::xty(X.data(), Y.data(), N, D, q, P2.data(), 2);
    EXPECT_EQ(P1, P2);
}

// Y given by its bytes (8-bit data, MatrixView::levels): the products are the
// bits of xty/ypt on Y as the dataset forms it, (k·s) − off[d] with two
// roundings, with and without the offset, at one to three threads, on N that
// leaves partial blocks of rows and an odd last row.
TEST(StreamGemm, LevelProductsAreTheBitsOfTheProductsOnY) {
    std::mt19937_64 rng(8);
    std::normal_distribution<double> g(0, 1);
    const double s = 1.0 / 255.0;
    for (std::size_t N : {1u, 17u, 35u, 3001u})  // 3001 × 784: threads split it
        for (std::size_t D : {13u, 784u})
            for (std::size_t q : {2u, 10u})
                for (bool centred : {false, true})
                    for (int threads : {1, 2, 3}) {
                        std::vector<std::uint8_t> L(N * D);
                        for (auto& v : L) v = static_cast<std::uint8_t>(rng() % 256);
                        std::vector<double> off(D), X(N * q), Y(N * D);
                        for (auto& v : off) v = 0.5 * std::abs(g(rng));
                        for (auto& v : X) v = g(rng);
                        for (std::size_t i = 0; i < N; ++i)
                            for (std::size_t d = 0; d < D; ++d) {
                                volatile double v = static_cast<double>(L[i * D + d]) * s;  // rounded, as stored
                                Y[i * D + d] = centred ? v - off[d] : v;
                            }
                        const double* o = centred ? off.data() : nullptr;
                        std::vector<double> P(q * D), Pl(q * D), R(N * q), Rl(N * q);
                        stream::xty(X.data(), Y.data(), N, D, q, P.data(), threads);
                        stream::xty_levels(X.data(), L.data(), s, o, N, D, q, Pl.data(), threads);
                        EXPECT_EQ(P, Pl) << "xty N=" << N << " D=" << D << " q=" << q << " t=" << threads;
                        stream::ypt(Y.data(), P.data(), N, D, q, R.data(), threads);
                        stream::ypt_levels(L.data(), s, o, P.data(), N, D, q, Rl.data(), threads);
                        EXPECT_EQ(R, Rl) << "ypt N=" << N << " D=" << D << " q=" << q << " t=" << threads;
                    }
}
