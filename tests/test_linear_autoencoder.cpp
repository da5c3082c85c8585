// Tests of the tied linear autoencoder (README, Reproducing the homework:
// Problem 1): the homework's single-sample gradient W r xᵀ + a rᵀ against
// finite differences (and the known-wrong W r xᵀ against them, to show the
// check bites), the model's two-GEMM gradient and loss against the naive
// batched form Aᵀ R + (R Wᵀ)ᵀ X written with plain loops, float against double, and the
// reuse of the model's internal buffers across batch sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include "latentlab/analysis/gradcheck.hpp"
#include "latentlab/analysis/pca.hpp"
#include "latentlab/analysis/principal_angles.hpp"
#include "latentlab/core/matrix_view.hpp"
#include "latentlab/models/linear_autoencoder.hpp"
#include "latentlab/models/second_moment_autoencoder.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;

namespace {

using Mat = std::vector<double>;  // row-major

double norm(const Mat& a) {
    double s = 0.0;
    for (double x : a) s += x * x;
    return std::sqrt(s);
}

// ½‖Wᵀ W x − x‖² for one sample, plain loops.
double sample_loss(const Mat& W, const Mat& x, std::size_t m, std::size_t n) {
    Mat a(m, 0.0);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) a[i] += W[i * n + j] * x[j];
    double L = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
        double r = -x[j];
        for (std::size_t i = 0; i < m; ++i) r += W[i * n + j] * a[i];
        L += r * r;
    }
    return 0.5 * L;
}

// The homework's form, with a = W x and r = Wᵀ a − x:
//   full:  ∇W = W r xᵀ + a rᵀ
//   wrong: ∇W = W r xᵀ           (drops the path through Wᵀ)
//   alt:   ∇W = W (r xᵀ + x rᵀ)  (right, different-looking)
enum class Form { full, wrong, alt };
Mat sample_grad(const Mat& W, const Mat& x, std::size_t m, std::size_t n, Form form) {
    Mat a(m, 0.0), r(n, 0.0), Wr(m, 0.0), G(m * n, 0.0);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) a[i] += W[i * n + j] * x[j];
    for (std::size_t j = 0; j < n; ++j) {
        r[j] = -x[j];
        for (std::size_t i = 0; i < m; ++i) r[j] += W[i * n + j] * a[i];
    }
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) Wr[i] += W[i * n + j] * r[j];
    if (form == Form::alt) {
        // W (r xᵀ + x rᵀ): (i, j) = Σ_k W[i,k] (r_k x_j + x_k r_j)
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                double s = 0.0;
                for (std::size_t k = 0; k < n; ++k) s += W[i * n + k] * (r[k] * x[j] + x[k] * r[j]);
                G[i * n + j] = s;
            }
        return G;
    }
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            G[i * n + j] = Wr[i] * x[j];
            if (form == Form::full) G[i * n + j] += a[i] * r[j];
        }
    return G;
}

Mat row_sqnorms(const Mat& X, std::size_t B, std::size_t n) {
    Mat s(B, 0.0);
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t j = 0; j < n; ++j) s[b] += X[b * n + j] * X[b * n + j];
    return s;
}

}  // namespace

// ---------------------------------------------------------------------------
// The homework's single-sample gradient
// ---------------------------------------------------------------------------

TEST(LinearAutoencoderHomework, SampleGradientMatchesFiniteDifferences) {
    const std::size_t m = 3, n = 7;
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        const Mat W = randn(m * n, 0.6, seed), x = randn(n, 1.0, 100 + seed);
        const Mat fd = central_difference([&](const Mat& w) { return sample_loss(w, x, m, n); }, W, 1e-6);
        ASSERT_GT(norm(fd), 1e-2) << "degenerate test point";
        EXPECT_LT(rel_err(sample_grad(W, x, m, n, Form::full), fd), 1e-7) << "seed " << seed;
        // The right-but-different-looking W (r xᵀ + x rᵀ) is the same gradient.
        EXPECT_LT(rel_err(sample_grad(W, x, m, n, Form::alt), fd), 1e-7) << "seed " << seed;
        EXPECT_LT(rel_err(sample_grad(W, x, m, n, Form::alt), sample_grad(W, x, m, n, Form::full)),
                  1e-13);
    }
}

TEST(LinearAutoencoderHomework, WrongVariantIsRejectedByFiniteDifferences) {
    // W r xᵀ alone drops the path through Wᵀ: the same check must flag it.
    const std::size_t m = 3, n = 7;
    for (std::uint64_t seed : {1u, 2u, 3u}) {
        const Mat W = randn(m * n, 0.6, seed), x = randn(n, 1.0, 100 + seed);
        const Mat fd = central_difference([&](const Mat& w) { return sample_loss(w, x, m, n); }, W, 1e-6);
        EXPECT_GT(rel_err(sample_grad(W, x, m, n, Form::wrong), fd), 1e-2) << "seed " << seed;
    }
}

// ---------------------------------------------------------------------------
// The model against the naive batched form
// ---------------------------------------------------------------------------

TEST(LinearAutoencoderModel, MatchesNaiveBatchFormOverShapes) {
    int cases = 0;
    for (std::size_t B : {1u, 5u, 64u})
        for (std::size_t m : {1u, 4u, 16u})
            for (std::size_t n : {10u, 50u}) {
                const std::uint64_t seed = 1000 * B + 10 * m + n;
                const Mat X = randn(B * n, 1.0, seed);
                // W at the scale where Wᵀ W is O(1): the loss and gradient
                // terms are of similar size, so cancellation is exercised.
                const Mat W = randn(m * n, 1.0 / std::sqrt(static_cast<double>(n)), seed + 7);
                const NaiveLinearAe ref = naive_linear_ae(W, X, B, m, n);
                const Mat sq = row_sqnorms(X, B, n);
                LinearAutoencoder<double> model(n, m);
                set_params(model, W);
                for (const double* sqp : {static_cast<const double*>(nullptr), sq.data()}) {
                    SCOPED_TRACE(::testing::Message() << "B=" << B << " m=" << m << " n=" << n
                                                      << (sqp ? " with sqnorms" : " without sqnorms"));
                    xt::xtensor<double, 1> g;
                    const double L = model.loss_and_grad(view_with_sqnorms(X, B, n, sqp), g);
                    EXPECT_LT(rel(L, ref.loss), 1e-12) << L << " vs " << ref.loss;
                    EXPECT_LT(rel_err(to_mat(g), ref.grad), 1e-12);
                    EXPECT_LT(rel(model.loss(view_with_sqnorms(X, B, n, sqp)), ref.loss), 1e-12);
                    ++cases;
                }
            }
    EXPECT_EQ(cases, 36);
}

TEST(LinearAutoencoderModel, LossUsesTheGivenSqnorms) {
    // The model takes ‖X‖² from the view's sqnorms when given: wrong sqnorms
    // shift the loss by exactly ½ Δ / B (so the test above really covers both paths).
    const std::size_t B = 5, m = 4, n = 10;
    const Mat X = randn(B * n, 1.0, 5), W = randn(m * n, 0.3, 6);
    Mat sq = row_sqnorms(X, B, n);
    LinearAutoencoder<double> model(n, m);
    set_params(model, W);
    const double L0 = model.loss(view_with_sqnorms(X, B, n, sq.data()));
    sq[2] += 1.0;
    const double L1 = model.loss(view_with_sqnorms(X, B, n, sq.data()));
    EXPECT_NEAR(L1 - L0, 0.5 / B, 1e-12);
}

TEST(LinearAutoencoderModel, GradientMatchesFiniteDifferencesOfLoss) {
    const std::size_t B = 8, m = 4, n = 12;
    const Mat X = randn(B * n, 1.0, 42), W = randn(m * n, 0.4, 43);
    LinearAutoencoder<double> model(n, m);
    set_params(model, W);
    const auto Xv = view(X, B, n);
    // every entry, step 1e-5: ‖g − fd‖₂ ≤ 1e-7 ‖fd‖₂
    expect_gradient_matches(gradcheck(model, Xv, every_entry(1e-7, 1e-5)));
}

TEST(LinearAutoencoderModel, FloatAgreesWithDouble) {
    const std::size_t B = 32, m = 4, n = 20;
    Mat Xd = randn(B * n, 1.0, 11), Wd = randn(m * n, 1.0 / std::sqrt(20.0), 12);
    // Round to float first so both models see exactly the same numbers.
    std::vector<float> Xf(Xd.begin(), Xd.end());
    for (std::size_t k = 0; k < Xd.size(); ++k) Xd[k] = Xf[k];
    for (auto& w : Wd) w = static_cast<float>(w);
    const Mat sqd = row_sqnorms(Xd, B, n);

    LinearAutoencoder<double> md(n, m);
    LinearAutoencoder<float> mf(n, m);
    set_params(md, Wd);
    set_params(mf, Wd);
    for (const double* sqp : {static_cast<const double*>(nullptr), sqd.data()}) {
        xt::xtensor<double, 1> gd;
        xt::xtensor<float, 1> gf;
        const double Ld = md.loss_and_grad(view_with_sqnorms(Xd, B, n, sqp), gd);
        const double Lf = mf.loss_and_grad(view_with_sqnorms(Xf, B, n, sqp), gf);
        EXPECT_LT(rel(Lf, Ld), 1e-5) << Lf << " vs " << Ld;
        EXPECT_LT(rel_err(to_mat(gf), to_mat(gd)), 1e-5);
        EXPECT_LT(rel(mf.loss(view_with_sqnorms(Xf, B, n, sqp)), Ld), 1e-5);
    }
}

TEST(LinearAutoencoderModel, FloatAgreesWithDoubleNearTheOptimum) {
    // At W = top-m principal directions the loss is a small part of ½‖X‖²/B
    // and the two-GEMM formula cancels (the model sums it in double): float must
    // still agree to 1e-5 in the regime of real data (L / (½‖X‖²/B) ≈ 0.13 and 0.014).
    const std::size_t B = 256, m = 4, n = 20;
    for (double small : {1.0, 0.3}) {
        SCOPED_TRACE(::testing::Message() << "tail scale " << small);
        Mat X = randn(B * n, 1.0, 51);
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t j = 0; j < n; ++j) X[b * n + j] *= j < m ? 5.0 : small;
        std::vector<float> Xf(X.begin(), X.end());
        for (std::size_t k = 0; k < X.size(); ++k) X[k] = Xf[k];
        const auto Xd = view(X, B, n);
        const Pca p = pca_from_second_moment(second_moment(Xd));
        Mat W(m * n);
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) W[i * n + j] = static_cast<float>(p.components(i, j));
        LinearAutoencoder<double> md(n, m);
        LinearAutoencoder<float> mf(n, m);
        set_params(md, W);
        set_params(mf, W);
        const double Ld = md.loss(Xd);
        EXPECT_LT(rel(Ld, naive_linear_ae(W, X, B, m, n).loss), 1e-12);
        EXPECT_LT(rel(mf.loss(view(Xf, B, n)), Ld), 1e-5);
    }
}

TEST(LinearAutoencoderModel, GradAndLossAndGradAgree) {
    const std::size_t B = 16, m = 4, n = 12;
    const Mat X = randn(B * n, 1.0, 21), W = randn(m * n, 0.3, 22);
    LinearAutoencoder<double> model(n, m);
    set_params(model, W);
    const auto Xv = view(X, B, n);
    xt::xtensor<double, 1> g1, g2, g3;
    const double L = model.loss_and_grad(Xv, g1);
    model.grad(Xv, g2);
    // loss() after loss_and_grad (which modifies internal buffers) and again.
    EXPECT_EQ(model.loss(Xv), L);
    EXPECT_EQ(model.loss_and_grad(Xv, g3), L);
    ASSERT_EQ(g1.size(), m * n);
    ASSERT_EQ(g2.size(), m * n);
    for (std::size_t k = 0; k < m * n; ++k) {
        EXPECT_EQ(g1(k), g2(k)) << k;
        EXPECT_EQ(g1(k), g3(k)) << k;
    }
    const NaiveLinearAe ref = naive_linear_ae(W, X, B, m, n);
    EXPECT_LT(rel_err(to_mat(g2), ref.grad), 1e-12);
}

TEST(LinearAutoencoderModel, BufferReuseAcrossBatchSizes) {
    // Large batch, then smaller ones (slices of a bigger buffer, with offset
    // sqnorms), then large again: each result must be that batch's own.
    const std::size_t m = 5, n = 14, Bbig = 64;
    const Mat X = randn(Bbig * n, 1.0, 31), W = randn(m * n, 0.3, 32);
    const Mat sq = row_sqnorms(X, Bbig, n);
    LinearAutoencoder<double> model(n, m);
    set_params(model, W);
    MatrixView<double> all = view_with_sqnorms(X, Bbig, n, sq.data());

    struct Range {
        std::size_t begin, end;
    };
    xt::xtensor<double, 1> g = xt::zeros<double>({3});  // wrong size on purpose: must be resized
    for (Range r : {Range{0, 64}, Range{3, 8}, Range{10, 11}, Range{20, 52}, Range{0, 64}}) {
        SCOPED_TRACE(::testing::Message() << "rows [" << r.begin << ", " << r.end << ")");
        const std::size_t B = r.end - r.begin;
        const Mat Xs(X.begin() + static_cast<std::ptrdiff_t>(r.begin * n),
                     X.begin() + static_cast<std::ptrdiff_t>(r.end * n));
        const NaiveLinearAe ref = naive_linear_ae(W, Xs, B, m, n);
        const double L = model.loss_and_grad(all.slice(r.begin, r.end), g);
        EXPECT_LT(rel(L, ref.loss), 1e-12);
        ASSERT_EQ(g.size(), m * n);
        EXPECT_LT(rel_err(to_mat(g), ref.grad), 1e-12);
        EXPECT_LT(rel(model.loss(all.slice(r.begin, r.end)), ref.loss), 1e-12);
    }
}

TEST(LinearAutoencoderModel, ShapeBlocksAndInit) {
    LinearAutoencoder<double> model(12, 3, 0.5);
    EXPECT_EQ(model.input_dim(), 12u);
    EXPECT_EQ(model.latent_dim(), 3u);
    EXPECT_EQ(model.num_params(), 36u);
    ASSERT_EQ(model.blocks().size(), 1u);
    EXPECT_EQ(model.blocks()[0].name, "W");
    EXPECT_EQ(model.blocks()[0].shape, (std::vector<std::size_t>{3, 12}));
    EXPECT_EQ(model.W(), model.params().data());
    std::mt19937_64 rng(7);
    model.init(rng);
    double s = 0.0;
    for (double w : model.params()) s += w * w;
    const double rms = std::sqrt(s / 36.0);
    // W0 ~ N(0, 0.5²): the RMS of 36 draws is within ±40% of 0.5 with
    // overwhelming probability (and is fixed for this seed anyway).
    EXPECT_GT(rms, 0.3);
    EXPECT_LT(rms, 0.7);
    // Same seed, same parameters.
    LinearAutoencoder<double> again(12, 3, 0.5);
    std::mt19937_64 rng2(7);
    again.init(rng2);
    for (std::size_t k = 0; k < 36; ++k) EXPECT_EQ(model.params()(k), again.params()(k));
}

// The second-moment objective (model.objective: second_moment): the same
// loss and gradient as the row-wise model on the whole training set, from C
// alone; rows of another size (a test split) are evaluated row by row.
TEST(SecondMomentAutoencoder, EqualsTheRowLossOnTheTrainingSetAndItsGradientIsExact) {
    const std::size_t N = 40, n = 7, m = 3;
    const auto X = randn_matrix(N, n, 1.0, 51);
    LinearAutoencoder<double> rows(n, m, 0.3);
    SecondMomentAutoencoder<double> c(n, m, 0.3, N);
    std::mt19937_64 rng(52);
    rows.init(rng);
    c.params() = rows.params();
    xt::xtensor<double, 1> g1, g2;
    const double l1 = rows.loss_and_grad(view_of(X), g1), l2 = c.loss_and_grad(view_of(X), g2);
    EXPECT_LT(std::abs(l1 - l2), 1e-12 * std::abs(l1));
    EXPECT_LT(rel_err(to_mat(g2), to_mat(g1)), 1e-12);
    expect_gradient_matches(gradcheck(c, view_of(X), every_entry(1e-7)));
    const auto T = randn_matrix(9, n, 1.0, 53);  // a test split: row by row
    EXPECT_EQ(c.loss(view_of(T)), rows.loss(view_of(T)));
}

// model.warm_start: k steps of subspace iteration on C from the random W.
// The rows come out orthonormal and, as k grows, span C's top-m eigenvectors
// (the gap λ_m/λ_{m+1} = 4 here), so the loss falls toward L* from PCA.
TEST(SecondMomentAutoencoder, WarmStartIsSubspaceIterationOnC) {
    const std::size_t N = 400, n = 8, m = 2;
    // Columns scaled 4, 3, 1, 0.5, ...: a clear top-2 subspace.
    auto X = randn_matrix(N, n, 1.0, 61);
    const double scales[n] = {4, 3, 1, 0.5, 0.4, 0.3, 0.2, 0.1};
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = 0; j < n; ++j) X(i, j) *= scales[j];
    const Pca pca = pca_from_second_moment(second_moment(view_of(X)));
    const double Lstar = optimal_ae_loss(pca, m, N);
    double previous = 1e300;
    for (int k : {0, 1, 3, 8}) {
        SecondMomentAutoencoder<double> c(n, m, 0.01, N, k);
        std::mt19937_64 rng(62);
        c.init_from_data(view_of(X), rng);
        const double L = c.loss(view_of(X));
        EXPECT_LT(L, previous) << k;
        previous = L;
        if (k == 0) continue;
        const xt::xtensor<double, 2> W = c.template param<2>("W");
        EXPECT_LT(orthonormality_error(W), 1e-12) << k;
        if (k == 8) {  // (λ3/λ2)^16 ≈ 1e-10 of the way left: L* to ~1e-9
            EXPECT_LT(L / Lstar - 1.0, 1e-8);
            xt::xtensor<double, 2> top = xt::view(pca.components, xt::range(0, m), xt::all());
            for (double a : principal_angles_deg(W, top)) EXPECT_LT(a, 1e-3);
        }
    }
}
