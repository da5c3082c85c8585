// The variational Bayesian GPLVM (Titsias & Lawrence 2010): every gradient
// block against central differences (RBF-ARD, isotropic RBF, linear-ARD,
// several row blocks), and the closed forms of the bound: with S → 0 its
// data term is Titsias' sparse bound on log p(Y | X), never above the dense
// model's exact value and equal to it when the inducing inputs are the
// latent means (M = N); the same bits at any thread count and the same value
// for any block size.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "latentlab/analysis/gradcheck.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/models/bayesian_gplvm.hpp"
#include "latentlab/models/gplvm.hpp"
#include "latentlab/models/stochastic_bayesian_gplvm.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;

namespace {

using Mat = xt::xtensor<double, 2>;

// A model with every parameter set away from special values: means ~ N(0, 1),
// variances in [0.2, 0.7], Z ~ N(0, 1), distinct hyperparameters.
BayesianGplvm<double> random_model(std::size_t N, std::size_t D, std::size_t q, std::size_t M, KernelType k,
                                   std::size_t block_rows, std::uint64_t seed, double jitter = 1e-6) {
    BayesianGplvmOptions o;
    o.jitter = jitter;
    o.kernel = k;
    o.inducing = M;
    o.block_rows = block_rows;
    BayesianGplvm<double> m(N, D, q, o);
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> n01;
    std::uniform_real_distribution<double> u(0.2, 0.7);
    for (auto& v : m.param<2>("X_mean")) v = n01(rng);
    for (auto& v : m.param<2>("X_log_var")) v = std::log(u(rng));
    for (auto& v : m.param<2>("Z")) v = n01(rng);
    auto h = m.param<1>("log_hyper");
    for (std::size_t i = 0; i < h.size(); ++i) h(i) = 0.3 * n01(rng);
    h(h.size() - 1) = std::log(0.3);
    return m;
}

}  // namespace

class BayesianGplvmGradient : public ::testing::TestWithParam<std::tuple<KernelType, std::size_t>> {};

TEST_P(BayesianGplvmGradient, EveryBlockMatchesFiniteDifferences) {
    const auto [kernel, block_rows] = GetParam();
    const std::size_t N = 11, D = 4, q = 3, M = 5;
    const Mat Y = randn_matrix(N, D, 1.0, 3);
    BayesianGplvm<double> m = random_model(N, D, q, M, kernel, block_rows, 4, kernel == KernelType::linear ? 0.05 : 1e-6);
    const GradCheckReport r = gradcheck(m, view_of(Y), every_entry(2e-6, 1e-5));
    expect_gradient_matches(r);
    EXPECT_EQ(r.rows.size(), 4u);  // X_mean, X_log_var, Z, log_hyper
}

INSTANTIATE_TEST_SUITE_P(Kernels, BayesianGplvmGradient,
                         ::testing::Values(std::make_tuple(KernelType::rbf_ard, std::size_t{0}),
                                           std::make_tuple(KernelType::rbf_ard, std::size_t{3}),
                                           std::make_tuple(KernelType::rbf, std::size_t{4}),
                                           std::make_tuple(KernelType::linear, std::size_t{0}),
                                           std::make_tuple(KernelType::linear, std::size_t{2})));

namespace {
// The dense model's exact log p(Y | X) at the BGPLVM's means and hyperparameters.
double exact_loglik(BayesianGplvm<double>& b, const Mat& Y) {
    const std::size_t N = Y.shape()[0], D = Y.shape()[1], q = b.latent_dim();
    GplvmOptions o;
    const PsiKernel k = b.kernel();
    o.kernel = KernelType::rbf_ard;
    o.method = GplvmMethod::dense;
    o.learn_hyperparameters = true;
    o.noise_variance = b.noise_variance();
    Gplvm<double> g(N, D, q, o);
    const auto mu = b.param<2>("X_mean");
    std::copy(mu.begin(), mu.end(), g.param<2>("X").begin());
    auto h = g.param<1>("log_hyper");
    h(0) = std::log(k.variance);
    for (std::size_t j = 0; j < q; ++j) h(1 + j) = std::log(k.scales[j]);
    h(1 + q) = std::log(b.noise_variance());
    return -g.loss(view_of(Y));
}
}  // namespace

TEST(BayesianGplvm, BoundWithPointLatentsIsTitsiasBoundAndExactWhenZIsX) {
    const std::size_t N = 12, D = 5, q = 2;
    const Mat Y = randn_matrix(N, D, 1.0, 8);
    // S → 0 and Z = the first M latent means: Titsias' bound on log p(Y | X),
    // which never decreases as inducing inputs are added and is exact at
    // M = N (Qnn = Knn). A tiny jitter, so that M = N is exact to rounding.
    double previous = -1e300, exact = 0;
    for (std::size_t M = 1; M <= N; ++M) {
        BayesianGplvm<double> b = random_model(N, D, q, M, KernelType::rbf_ard, 0, 9, 1e-11);
        for (auto& v : b.param<2>("X_log_var")) v = -40.0;  // S ≈ 4e-18
        const auto mu = b.param<2>("X_mean");
        std::copy(mu.begin(), mu.begin() + static_cast<std::ptrdiff_t>(M * q), b.param<2>("Z").begin());
        const double h[] = {0.2, 0.1, -0.3, std::log(0.3)};  // log σ_f², log ℓ_1, log ℓ_2, log σ²
        std::copy(std::begin(h), std::end(h), b.param<1>("log_hyper").begin());
        b.loss(view_of(Y));
        if (M == 1) exact = exact_loglik(b, Y);
        const double F = b.last_bound().data_term;
        EXPECT_GE(F, previous - 1e-9 * std::abs(exact)) << "M = " << M;
        if (M < N) EXPECT_LT(F, exact) << "M = " << M;
        else EXPECT_LT(std::abs(F - exact), 1e-8 * std::abs(exact)) << F << " vs exact " << exact;
        previous = F;
    }
}

TEST(BayesianGplvm, SameBitsAtAnyThreadCountAndSameValueForAnyBlockSize) {
    const std::size_t N = 50, D = 6, q = 3, M = 7;
    const Mat Y = randn_matrix(N, D, 1.0, 12);
    BayesianGplvm<double> a = random_model(N, D, q, M, KernelType::rbf_ard, 4, 13);
    BayesianGplvm<double> b = random_model(N, D, q, M, KernelType::rbf_ard, 0, 13);
    xt::xtensor<double, 1> g1, g2, g3;
    const int threads = blas::threads();
    blas::set_threads(1);
    const double l1 = a.loss_and_grad(view_of(Y), g1);
    blas::set_threads(2);
    const double l2 = a.loss_and_grad(view_of(Y), g2);
    blas::set_threads(threads);
    EXPECT_EQ(l1, l2);
    for (const auto& blk : a.blocks())
        for (std::size_t i = blk.offset; i < blk.offset + blk.size(); ++i)
            ASSERT_EQ(g1(i), g2(i)) << blk.name << " entry " << i - blk.offset;
    const double l3 = b.loss_and_grad(view_of(Y), g3);
    EXPECT_LT(std::abs(l3 - l1), 1e-12 * std::abs(l1));
    EXPECT_LT(rel_err(to_mat(g3), to_mat(g1)), 1e-11);
}

// The posterior's per-row bound (the uncollapsed bound at the optimal q(u))
// has, at every row, the collapsed bound's gradient (the envelope theorem):
// so a new row's q(x*) is found with the very gradient training used. And a
// projection of the training rows of a converged model returns their q(x).
TEST(BayesianGplvm, PosteriorRowBoundHasTheCollapsedGradient) {
    const std::size_t N = 14, D = 5, q = 2, M = 6;
    const Mat Y = randn_matrix(N, D, 1.0, 21);
    for (KernelType k : {KernelType::rbf_ard, KernelType::linear}) {
        BayesianGplvm<double> m = random_model(N, D, q, M, k, 0, 22, k == KernelType::linear ? 0.05 : 1e-6);
        xt::xtensor<double, 1> g;
        m.loss_and_grad(view_of(Y), g);
        const auto post = m.posterior(view_of(Y));
        PsiStatistics ps(post.kernel, post.Z.data(), M, q);
        PsiSums total = ps.zero_sums();
        std::vector<double> P1(N * M);
        const auto mu = m.param<2>("X_mean");
        const xt::xtensor<double, 2> S = xt::exp(m.param<2>("X_log_var"));
        const std::vector<double> muv(mu.begin(), mu.end()), Sv(S.begin(), S.end());
        ps.forward(muv.data(), Sv.data(), N, P1.data(), total);
        ps.prepare(post.G2.data(), total);
        std::vector<double> G1(N * M, 0.0), dmu(N * q), dS(N * q);
        for (std::size_t n = 0; n < N; ++n)
            for (std::size_t c = 0; c < M; ++c)
                for (std::size_t d = 0; d < D; ++d) G1[n * M + c] += Y(n, d) * post.beta2H[c * D + d];
        PsiGradSums unused = ps.zero_grad_sums();
        ps.backward(muv.data(), Sv.data(), N, post.g0, G1.data(), dmu.data(), dS.data(), unused);
        const auto gmu = m.view<2>(g, "X_mean");
        const auto glv = m.view<2>(g, "X_log_var");
        for (std::size_t n = 0; n < N; ++n)
            for (std::size_t j = 0; j < q; ++j) {
                const double want_mu = -(dmu[n * q + j] - muv[n * q + j]);
                const double s = Sv[n * q + j], want_lv = -(s * dS[n * q + j] - 0.5 * (s - 1.0));
                EXPECT_NEAR(gmu(n, j), want_mu, 1e-9 * (1 + std::abs(want_mu))) << n << "," << j;
                EXPECT_NEAR(glv(n, j), want_lv, 1e-9 * (1 + std::abs(want_lv))) << n << "," << j;
            }
    }
}

// ---------------------------------------------------------------------------
// Stochastic training on mini-batches (Hensman, Fusi & Lawrence 2013)
// ---------------------------------------------------------------------------

namespace {
RowSolver no_row_updates() {
    return [](std::size_t, double*, const std::function<double(const double*, double*)>&) {};
}

}  // namespace

class StochasticGradient : public ::testing::TestWithParam<KernelType> {};

// With the rows' q(x) held (no row updates), the gradient of a batch's loss
// for every global block against central differences, on a batch of shuffled
// rows (row ids from the view's index).
TEST_P(StochasticGradient, GlobalBlocksMatchFiniteDifferences) {
    const KernelType kernel = GetParam();
    const std::size_t N = 10, D = 4, q = 2, M = 4;
    const Mat Y = randn_matrix(N, D, 1.0, 31);
    BayesianGplvmOptions o;
    o.kernel = kernel;
    o.inducing = M;
    o.jitter = kernel == KernelType::linear ? 0.05 : 1e-6;
    StochasticBayesianGplvm<double> m(N, D, q, o);
    m.row_solver = no_row_updates();
    std::mt19937_64 rng(32);
    std::normal_distribution<double> n01;
    std::uniform_real_distribution<double> u(0.2, 0.7);
    for (auto& v : m.params()) v = 0.3 * n01(rng);
    for (auto& v : m.param<2>("X_log_var")) v = std::log(u(rng));
    for (auto& v : m.param<2>("Z")) v = n01(rng);
    auto L = m.param<2>("q_u_chol");
    for (std::size_t i = 0; i < M; ++i) L(i, i) = 0.5 + u(rng);
    // a batch of rows 7, 2, 5, 9 (gathered, as the batcher does)
    const std::vector<std::size_t> ids{7, 2, 5, 9};
    Mat Yb = xt::zeros<double>({ids.size(), D});
    for (std::size_t r = 0; r < ids.size(); ++r)
        for (std::size_t j = 0; j < D; ++j) Yb(r, j) = Y(ids[r], j);
    MatrixView<double> batch = view_of(Yb);
    batch.index = ids.data();
    xt::xtensor<double, 1> g;
    m.loss_and_grad(batch, g);
    for (const char* name : {"Z", "log_hyper", "q_u_mean", "q_u_chol"}) {
        const ParamBlock& b = m.block(name);
        double worst = 0, scale = 0;
        for (std::size_t i = b.offset; i < b.offset + b.size(); ++i) {
            if (std::string(name) == "q_u_chol" && (i - b.offset) % M > (i - b.offset) / M) continue;  // upper
            const double x0 = m.params()(i), h = 1e-5 * std::max(1.0, std::abs(x0));
            m.params()(i) = x0 + h;
            const double fp = m.loss(batch);
            m.params()(i) = x0 - h;
            const double fm = m.loss(batch);
            m.params()(i) = x0;
            const double fd = (fp - fm) / (2 * h);
            worst = std::max(worst, std::abs(fd - g(i)));
            scale = std::max(scale, std::abs(fd));
        }
        EXPECT_LT(worst, 1e-6 * std::max(scale, 1e-3)) << name << ": max |g − fd| " << worst << ", max |fd| " << scale;
    }
    for (const char* name : {"X_mean", "X_log_var"}) {
        const auto gl = m.view<2>(g, name);
        EXPECT_EQ(xt::amax(xt::abs(gl))(), 0.0) << name << " is not the optimiser's";
    }
}

INSTANTIATE_TEST_SUITE_P(Kernels, StochasticGradient, ::testing::Values(KernelType::rbf_ard, KernelType::linear));
