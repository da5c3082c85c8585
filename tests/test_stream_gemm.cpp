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
