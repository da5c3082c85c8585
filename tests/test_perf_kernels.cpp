// Tests of the performance work (README, Benchmarks): every fast path gives
// the same numbers as the plain one.
//  - Adam and SGD: the AVX-512 paths are bit-identical to the scalar loops
//    they replace (written out here as the reference), at every length
//    (tails included).
//  - Batcher: the gather split over several workers hands out exactly the
//    batches of the plain gather, in any access order.
//  - blas::gemm_chunked equals one GEMM; the linear autoencoder on shapes
//    where its products are cut into chunks (with remainders) matches the
//    naive batch form to 1e-12.
//  - blas::dot is a fixed-order sum (independent of SIMD path and threads);
//    parallel_for runs every part once; the autoencoder split over 2 or 3
//    threads gives the same bits as 1 thread (on any OpenBLAS kernel set).
//  - OpenBLAS runs kernels the CPU supports (not the SSE3 fallback).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/data/batcher.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/core/thread_pool.hpp"
#include "latentlab/models/linear_autoencoder.hpp"
#include "latentlab/optim/adam.hpp"
#include "latentlab/optim/sgd.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;

extern "C" int openblas_get_num_threads(void);
static int openblas_threads_now() { return openblas_get_num_threads(); }

namespace {

// The scalar Adam update as it was before the SIMD paths (adam.hpp's formula).
template <class T>
void adam_reference(xt::xtensor<T, 1>& x, const xt::xtensor<T, 1>& g, xt::xtensor<T, 1>& m,
                    xt::xtensor<T, 1>& v, long t, double lr, const AdamOptions& o) {
    const double bc1 = 1.0 - std::pow(o.beta1, static_cast<double>(t));
    const double bc2 = 1.0 - std::pow(o.beta2, static_cast<double>(t));
    const T b1 = static_cast<T>(o.beta1), b2 = static_cast<T>(o.beta2);
    const T step = static_cast<T>(lr / bc1), inv_sqrt_bc2 = static_cast<T>(1.0 / std::sqrt(bc2));
    const T eps = static_cast<T>(o.eps), decay = static_cast<T>(lr * o.weight_decay);
    for (std::size_t i = 0; i < x.size(); ++i) {
        m[i] = b1 * m[i] + (T(1) - b1) * g[i];
        v[i] = b2 * v[i] + (T(1) - b2) * g[i] * g[i];
        x[i] -= step * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps) + decay * x[i];
    }
}

template <class T>
void check_adam_bit_exact() {
    for (std::size_t n : {1u, 7u, 8u, 15u, 16u, 17u, 33u, 100u, 1031u}) {
        for (double wd : {0.0, 0.01}) {
            AdamOptions o;
            o.weight_decay = wd;
            Adam<T> adam(o, n);
            xt::xtensor<T, 1> x = randn_tensor<T>(n, 1.0, n), xr = x;
            xt::xtensor<T, 1> mr = xt::zeros<T>({n}), vr = xt::zeros<T>({n});
            for (long t = 1; t <= 5; ++t) {
                // Gradients over many scales, zeros included.
                xt::xtensor<T, 1> g = randn_tensor<T>(n, std::pow(10.0, -3.0 + t), 100 * n + t);
                g[0] = T(0);
                adam.update(x, g, 1e-3 * t);
                adam_reference(xr, g, mr, vr, t, 1e-3 * t, o);
            }
            for (std::size_t i = 0; i < n; ++i) {
                ASSERT_EQ(x[i], xr[i]) << "n=" << n << " wd=" << wd << " i=" << i;
                ASSERT_EQ(adam.state().m[i], mr[i]) << "n=" << n << " i=" << i;
                ASSERT_EQ(adam.state().v[i], vr[i]) << "n=" << n << " i=" << i;
            }
        }
    }
}

// The scalar SGD update as it was (sgd.hpp's formula).
template <class T>
void sgd_reference(xt::xtensor<T, 1>& x, const xt::xtensor<T, 1>& g, xt::xtensor<T, 1>& v, double lr,
                   const SgdOptions& o) {
    const T eta = static_cast<T>(lr), mu = static_cast<T>(o.momentum), wd = static_cast<T>(o.weight_decay);
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (o.momentum == 0.0) {
            x[i] -= eta * (g[i] + wd * x[i]);
            continue;
        }
        const T gi = g[i] + wd * x[i];
        v[i] = mu * v[i] + gi;
        x[i] -= eta * (o.nesterov ? gi + mu * v[i] : v[i]);
    }
}

template <class T>
void check_sgd_bit_exact() {
    for (std::size_t n : {1u, 15u, 16u, 17u, 100u, 1031u}) {
        for (int variant = 0; variant < 3; ++variant) {
            SgdOptions o;
            o.weight_decay = 0.003;
            o.momentum = variant == 0 ? 0.0 : 0.9;
            o.nesterov = variant == 2;
            Sgd<T> sgd(o, n);
            xt::xtensor<T, 1> x = randn_tensor<T>(n, 1.0, n), xr = x, vr = xt::zeros<T>({n});
            for (int t = 1; t <= 4; ++t) {
                const xt::xtensor<T, 1> g = randn_tensor<T>(n, 0.5, 10 * n + t);
                sgd.update(x, g, 0.01 * t);
                sgd_reference(xr, g, vr, 0.01 * t, o);
            }
            for (std::size_t i = 0; i < n; ++i)
                ASSERT_EQ(x[i], xr[i]) << "n=" << n << " variant=" << variant << " i=" << i;
        }
    }
}

}  // namespace

TEST(PerfKernels, AdamFloatIsBitIdenticalToTheScalarLoop) { check_adam_bit_exact<float>(); }
TEST(PerfKernels, AdamDoubleIsBitIdenticalToTheScalarLoop) { check_adam_bit_exact<double>(); }
TEST(PerfKernels, SgdFloatIsBitIdenticalToTheScalarLoop) { check_sgd_bit_exact<float>(); }
TEST(PerfKernels, SgdDoubleIsBitIdenticalToTheScalarLoop) { check_sgd_bit_exact<double>(); }

// ---------------------------------------------------------------------------
// Batcher
// ---------------------------------------------------------------------------

namespace {

Dataset<float> small_dataset(std::size_t rows, std::size_t dim) {
    Dataset<float> d;
    d.X = xt::xtensor<float, 2>::from_shape({rows, dim});
    for (std::size_t i = 0; i < rows * dim; ++i) d.X.data()[i] = static_cast<float>(i % 9973) * 0.5f;
    d.sqnorms.resize(rows);
    d.labels.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) {
        d.sqnorms[i] = blas::sqnorm<float>(dim, d.X.data() + i * dim);
        d.labels[i] = static_cast<std::int32_t>(i % 10);
    }
    d.n_train = rows - 3;  // the last rows are a "test split" a batch must never touch
    d.n_test = 3;
    return d;
}

struct BatchCopy {
    std::vector<float> X;
    std::vector<double> sq;
    std::vector<std::int32_t> labels;
    bool operator==(const BatchCopy& o) const { return X == o.X && sq == o.sq && labels == o.labels; }
};

BatchCopy copy_of(const MatrixView<float>& v) {
    BatchCopy c;
    c.X.assign(v.data, v.data + v.rows * v.cols);
    c.sq.assign(v.sqnorms, v.sqnorms + v.rows);
    c.labels.assign(v.labels, v.labels + v.rows);
    return c;
}

}  // namespace

TEST(PerfKernels, ParallelBatcherHandsOutTheSameBatches) {
    // Batches of 70 rows: three gather blocks of 32, 32 and 6 rows, copied by
    // up to three workers. 1000 training rows: 14 full batches + 20.
    const std::size_t rows = 1003, dim = 7, B = 70;
    const Dataset<float> d = small_dataset(rows, dim);
    Batcher<float> plain(d, B, 42), overlapped(d, B, 42, 3);
    EXPECT_EQ(plain.workers(), 1u);
    EXPECT_EQ(overlapped.workers(), 3u);
    ASSERT_EQ(plain.num_batches(), 15u);
    for (long epoch : {1L, 2L, 7L}) {
        plain.start_epoch(epoch);
        overlapped.start_epoch(epoch);
        std::vector<int> seen(d.n_train, 0);
        for (std::size_t b = 0; b < plain.num_batches(); ++b) {
            const auto p = plain.batch(b);
            const auto o = overlapped.batch(b);
            ASSERT_EQ(p.rows, b + 1 < plain.num_batches() ? B : 20u);
            ASSERT_EQ(o.rows, p.rows);
            EXPECT_TRUE(copy_of(p) == copy_of(o)) << "epoch " << epoch << " batch " << b;
            // Each training row exactly once per epoch (identified by its first value).
            for (std::size_t r = 0; r < p.rows; ++r) {
                const auto idx = static_cast<std::size_t>(std::lround(p.data[r * dim] * 2.0f)) / dim;
                ASSERT_LT(idx, d.n_train);
                ++seen[idx];
            }
        }
        for (std::size_t i = 0; i < d.n_train; ++i) EXPECT_EQ(seen[i], 1) << "row " << i;
    }
    // Out of order, repeated, and a new epoch in the middle of one: still the same.
    plain.start_epoch(3);
    overlapped.start_epoch(3);
    for (std::size_t b : {5u, 5u, 0u, 14u, 1u, 2u}) {
        const BatchCopy p = copy_of(plain.batch(b));
        EXPECT_TRUE(p == copy_of(overlapped.batch(b))) << "batch " << b;
    }
    plain.start_epoch(4);
    overlapped.start_epoch(4);
    for (std::size_t b = 0; b < 3; ++b) {
        const BatchCopy p = copy_of(plain.batch(b));
        EXPECT_TRUE(p == copy_of(overlapped.batch(b))) << "batch " << b;
    }
}

// ---------------------------------------------------------------------------
// Chunked GEMM and the model on chunked shapes
// ---------------------------------------------------------------------------

TEST(PerfKernels, ChunkedGemmEqualsOneGemm) {
    using blas::Op;
    const std::size_t M = 37, N = 29, K = 101;
    for (Op oa : {Op::N, Op::T})
        for (Op ob : {Op::N, Op::T}) {
            // Stored shapes: op(A) is M×K, op(B) is K×N.
            const std::size_t lda = oa == Op::N ? K : M, ldb = ob == Op::N ? N : K;
            const auto A = randn_tensor<double>(M * K, 1.0, 1), B = randn_tensor<double>(K * N, 1.0, 2);
            auto C0 = randn_tensor<double>(M * N, 1.0, 3);
            auto C1 = C0;
            blas::gemm<double>(oa, ob, M, N, K, 0.5, A.data(), lda, B.data(), ldb, 2.0, C0.data(), N);
            blas::gemm_chunked<double>(oa, ob, M, N, K, 0.5, A.data(), lda, B.data(), ldb, 2.0, C1.data(), N,
                                       8, 13);
            for (std::size_t i = 0; i < M * N; ++i)
                ASSERT_NEAR(C1[i], C0[i], 1e-12 * (1.0 + std::abs(C0[i]))) << int(oa) << int(ob) << " " << i;
        }
    std::vector<float> W(6), Wt(6);
    for (int i = 0; i < 6; ++i) W[i] = static_cast<float>(i);
    blas::transpose<float>(2, 3, W.data(), 3, Wt.data(), 2);  // [[0 1 2] [3 4 5]]ᵀ
    EXPECT_EQ(Wt, (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(PerfKernels, AutoencoderOnChunkedShapesMatchesNaiveForm) {
    // B, m, n large enough that every product is cut into row and K chunks
    // with remainders (when OpenBLAS has small-matrix kernels).
    for (auto [B, m, n] : {std::tuple<std::size_t, std::size_t, std::size_t>{1000, 64, 300},
                           {300, 32, 784}, {257, 16, 500}}) {
        SCOPED_TRACE(::testing::Message() << "B=" << B << " m=" << m << " n=" << n);
        const auto X = randn(B * n, 1.0, B + n);
        const auto W = randn(m * n, 1.0 / std::sqrt(static_cast<double>(n)), m);
        const NaiveLinearAe ref = naive_linear_ae(W, X, B, m, n);
        LinearAutoencoder<double> model(n, m);
        std::copy(W.begin(), W.end(), model.params().begin());
        MatrixView<double> v{X.data(), B, n, nullptr, nullptr};
        xt::xtensor<double, 1> g;
        EXPECT_LT(rel(model.loss_and_grad(v, g), ref.loss), 1e-12);
        EXPECT_LT(rel_err(to_mat(g), ref.grad), 1e-12);
    }
}

TEST(PerfKernels, ParallelForRunsEveryPartOnce) {
    // The pool (run_parts): every part exactly once, on at most `workers`
    // distinct threads, for part counts above and below the worker count.
    for (std::size_t workers : {1u, 2u, 4u, 3u, 1u}) {
        for (std::size_t parts : {1u, 2u, 3u, 7u, 2u}) {
            for (int rep = 0; rep < 100; ++rep) {
                std::vector<int> hits(parts, 0);
                std::vector<std::thread::id> who(parts);
                run_parts(parts, workers, [&](std::size_t p) {
                    ++hits[p];
                    who[p] = std::this_thread::get_id();
                });
                for (std::size_t p = 0; p < parts; ++p) ASSERT_EQ(hits[p], 1) << parts << " " << p;
                std::sort(who.begin(), who.end());
                const auto distinct = std::unique(who.begin(), who.end()) - who.begin();
                ASSERT_LE(static_cast<std::size_t>(distinct), workers) << parts << " parts";
            }
        }
    }
    // More parts than the pool's 16-bit claim counter holds: each still runs once.
    {
        const std::size_t parts = 70000;
        std::vector<int> hits(parts, 0);
        run_parts(parts, 2, [&](std::size_t p) { ++hits[p]; });
        EXPECT_EQ(std::count(hits.begin(), hits.end(), 1), static_cast<std::ptrdiff_t>(parts));
    }
    // blas::parallel_for: OpenBLAS single-threaded inside, its count restored after.
    const int before = blas::threads();
    blas::set_threads(2);
    int inside = 0;
    blas::parallel_for(1, [&](std::size_t) { inside = openblas_threads_now(); });
    EXPECT_EQ(inside, 1);
    EXPECT_EQ(openblas_threads_now(), 2);
    EXPECT_EQ(blas::threads(), 2);
    // Nested: a parallel_for inside a part runs its parts on that thread, in
    // order (it used to wait for the outer call's lock forever).
    for (std::size_t outer : {1, 5}) {
        std::vector<std::vector<std::size_t>> order(outer);
        blas::parallel_for(outer, [&](std::size_t p) {
            blas::parallel_for(4, [&](std::size_t k) {
                EXPECT_EQ(openblas_threads_now(), 1);
                order[p].push_back(k);
            });
        });
        for (const auto& o : order) EXPECT_EQ(o, (std::vector<std::size_t>{0, 1, 2, 3}));
    }
    EXPECT_EQ(openblas_threads_now(), 2);
    blas::set_threads(before);
}

// The tiled mirrors on sizes around the tile (64): each fills exactly the
// other triangle from its own, the diagonal and its own triangle untouched.
TEST(PerfKernels, MirrorsFillTheOtherTriangle) {
    for (std::size_t N : {1, 63, 64, 65, 130, 200}) {
        std::vector<double> up(N * N), low(N * N);
        for (std::size_t i = 0; i < N * N; ++i) up[i] = low[i] = static_cast<double>(i);
        blas::mirror_upper(N, up.data());
        blas::mirror_lower(N, low.data());
        for (std::size_t i = 0; i < N; ++i)
            for (std::size_t j = 0; j < N; ++j) {
                const double a = static_cast<double>(i * N + j), b = static_cast<double>(j * N + i);
                ASSERT_EQ(up[i * N + j], j >= i ? a : b) << N << " " << i << " " << j;
                ASSERT_EQ(low[i * N + j], j <= i ? a : b) << N << " " << i << " " << j;
            }
    }
}

template <class T>
void check_same_bits_at_any_thread_count() {
    // Shapes with several row parts and several column parts (blocks of 128,
    // linear_autoencoder.cpp), remainders included, and shapes of one part.
    // scripts/test also runs this under OPENBLAS_CORETYPE=Prescott and Haswell.
    const int before = blas::threads();
    for (auto [B, m, n] : {std::tuple<std::size_t, std::size_t, std::size_t>{256, 32, 784},
                           {1000, 64, 300}, {100, 16, 500}, {77, 8, 50}, {2000, 48, 1000}}) {
        SCOPED_TRACE(::testing::Message() << "B=" << B << " m=" << m << " n=" << n);
        const auto X = randn_tensor<T>(B * n, 1.0, B + n);
        LinearAutoencoder<T> model(n, m);
        std::mt19937_64 rng(5);
        model.init(rng);
        MatrixView<T> v{X.data(), B, n, nullptr, nullptr};
        xt::xtensor<T, 1> g1, g;
        blas::set_threads(1);
        const double L1 = model.loss_and_grad(v, g1);
        const double l1 = model.loss(v);
        EXPECT_EQ(l1, L1);
        for (int t : {2, 3}) {
            blas::set_threads(t);
            const double L = model.loss_and_grad(v, g);
            EXPECT_EQ(L1, L) << t << " threads";
            EXPECT_EQ(model.loss(v), l1) << t << " threads";
            ASSERT_EQ(g1.size(), g.size());
            for (std::size_t k = 0; k < g1.size(); ++k) ASSERT_EQ(g1[k], g[k]) << k << ", " << t << " threads";
        }
    }
    blas::set_threads(before);
}

TEST(PerfKernels, AutoencoderFloatGivesTheSameBitsAtAnyThreadCount) {
    check_same_bits_at_any_thread_count<float>();
}
TEST(PerfKernels, AutoencoderDoubleGivesTheSameBitsAtAnyThreadCount) {
    check_same_bits_at_any_thread_count<double>();
}

TEST(PerfKernels, DotIsTheFixedOrderSumAtAnyLength) {
    // blas::dot sums into 32 interleaved partial sums added in order at the
    // end (blas.cpp): the same bits on every SIMD path and thread count.
    for (std::size_t n : {0u, 1u, 31u, 32u, 33u, 100u, 25088u}) {
        const auto xd = randn_tensor<double>(n, 1.0, n + 1), yd = randn_tensor<double>(n, 1.0, n + 2);
        const auto xf = randn_tensor<float>(n, 1.0, n + 3), yf = randn_tensor<float>(n, 1.0, n + 4);
        double ad[32] = {}, af[32] = {};
        for (std::size_t i = 0; i < n; ++i) {
            ad[i % 32] += xd[i] * yd[i];
            af[i % 32] += static_cast<double>(xf[i]) * static_cast<double>(yf[i]);
        }
        double sd = 0.0, sf = 0.0;
        for (int j = 0; j < 32; ++j) {
            sd += ad[j];
            sf += af[j];
        }
        EXPECT_EQ(blas::dot<double>(n, xd.data(), yd.data()), sd) << n;
        EXPECT_EQ(blas::dot<float>(n, xf.data(), yf.data()), sf) << n;
    }
}

TEST(PerfKernels, OpenBlasRunsKernelsTheCpuSupports) {
    const std::string k = blas::kernels();
    EXPECT_FALSE(k.empty());
    __builtin_cpu_init();
    if (!std::getenv("OPENBLAS_CORETYPE") && __builtin_cpu_supports("avx2")) {
        EXPECT_NE(k.rfind("Prescott", 0), 0u) << k;
    }
}
