// Tests of the tied nonlinear autoencoder (README, Reproducing the homework:
// Problem 1, nonlinear variant): the model's batched GEMM gradient against
// central differences of its loss for every activation, against the
// homework's single-sample form h δ₂ᵀ + (f'(z₁) ⊙ W δ₂) xᵀ averaged in plain
// loops, against the linear model when f = identity, float against double,
// chunked batches larger than the chunk size, buffer reuse, encode(), shapes
// and init.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/analysis/gradcheck.hpp"
#include "latentlab/core/matrix_view.hpp"
#include "latentlab/models/activations.hpp"
#include "latentlab/models/linear_autoencoder.hpp"
#include "latentlab/models/nonlinear_autoencoder.hpp"
#include "latentlab/core/error.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;

namespace {

using Mat = std::vector<double>;  // row-major

const Activation kAll[] = {Activation::identity, Activation::sigmoid, Activation::tanh,
                           Activation::relu, Activation::swish};

// The homework's single-sample form, averaged over the rows of X:
//   z₁ = W x, h = f(z₁), z₂ = Wᵀ h, r = f(z₂) − x, δ₂ = f'(z₂) ⊙ r
//   L = ½‖r‖²,  ∇_W = h δ₂ᵀ + (f'(z₁) ⊙ W δ₂) xᵀ
struct Ref {
    double loss;
    Mat grad;
};
Ref per_sample(Activation f, const Mat& W, const Mat& X, std::size_t B, std::size_t m,
               std::size_t n) {
    Ref out{0.0, Mat(m * n, 0.0)};
    for (std::size_t b = 0; b < B; ++b) {
        const double* x = &X[b * n];
        Mat z1(m, 0.0), h(m), z2(n, 0.0), d2(n), Wd2(m, 0.0);
        for (std::size_t i = 0; i < m; ++i) {
            for (std::size_t j = 0; j < n; ++j) z1[i] += W[i * n + j] * x[j];
            h[i] = activation_value(f, z1[i]);
        }
        for (std::size_t j = 0; j < n; ++j) {
            for (std::size_t i = 0; i < m; ++i) z2[j] += W[i * n + j] * h[i];
            const double r = activation_value(f, z2[j]) - x[j];
            out.loss += 0.5 * r * r;
            d2[j] = activation_derivative(f, z2[j]) * r;
        }
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j) Wd2[i] += W[i * n + j] * d2[j];
        for (std::size_t i = 0; i < m; ++i) {
            const double d1 = activation_derivative(f, z1[i]) * Wd2[i];
            for (std::size_t j = 0; j < n; ++j) out.grad[i * n + j] += h[i] * d2[j] + d1 * x[j];
        }
    }
    out.loss /= static_cast<double>(B);
    for (auto& g : out.grad) g /= static_cast<double>(B);
    return out;
}

}  // namespace

TEST(NonlinearAutoencoder, GradientMatchesFiniteDifferences) {
    const std::size_t B = 7, m = 3, n = 9;
    for (Activation f : kAll) {
        SCOPED_TRACE(activation_name(f));
        const Mat X = randn(B * n, 1.0, 1), W = randn(m * n, 0.5, 2);
        NonlinearAutoencoder<double> model(n, m, f);
        set_params(model, W);
        const auto Xv = view(X, B, n);
        // every entry, gradcheck's step 1e-5: ‖g − fd‖₂ ≤ 1e-7 ‖fd‖₂
        expect_gradient_matches(gradcheck(model, Xv, every_entry(1e-7)));
    }
}

TEST(NonlinearAutoencoder, MatchesHomeworkSingleSampleForm) {
    for (Activation f : kAll)
        for (std::size_t B : {1u, 6u, 33u}) {
            SCOPED_TRACE(::testing::Message() << activation_name(f) << " B=" << B);
            const std::size_t m = 4, n = 11;
            const Mat X = randn(B * n, 1.0, 10 + B), W = randn(m * n, 0.4, 20 + B);
            NonlinearAutoencoder<double> model(n, m, f);
            set_params(model, W);
            const Ref ref = per_sample(f, W, X, B, m, n);
            xt::xtensor<double, 1> g;
            EXPECT_LT(rel(model.loss_and_grad(view(X, B, n), g), ref.loss), 1e-12);
            EXPECT_LT(rel_err(to_mat(g), ref.grad), 1e-12);
            EXPECT_LT(rel(model.loss(view(X, B, n)), ref.loss), 1e-12);
        }
}

TEST(NonlinearAutoencoder, IdentityIsTheLinearAutoencoder) {
    // f = identity: the two-path gradient is the homework's Aᵀ R + (R Wᵀ)ᵀ X.
    const std::size_t B = 20, m = 4, n = 15;
    const Mat X = randn(B * n, 1.0, 3), W = randn(m * n, 1.0 / std::sqrt(15.0), 4);
    NonlinearAutoencoder<double> nl(n, m, Activation::identity);
    LinearAutoencoder<double> lin(n, m);
    set_params(nl, W);
    set_params(lin, W);
    xt::xtensor<double, 1> g1, g2;
    const double L1 = nl.loss_and_grad(view(X, B, n), g1);
    const double L2 = lin.loss_and_grad(view(X, B, n), g2);
    EXPECT_LT(rel(L1, L2), 1e-12);
    EXPECT_LT(rel_err(to_mat(g1), to_mat(g2)), 1e-12);
}

TEST(NonlinearAutoencoder, FloatAgreesWithDouble) {
    const std::size_t B = 40, m = 5, n = 24;
    for (Activation f : {Activation::sigmoid, Activation::tanh, Activation::swish}) {
        SCOPED_TRACE(activation_name(f));
        Mat Xd = randn(B * n, 1.0, 5), W = randn(m * n, 0.3, 6);
        std::vector<float> Xf(Xd.begin(), Xd.end());
        for (std::size_t k = 0; k < Xd.size(); ++k) Xd[k] = Xf[k];
        for (auto& w : W) w = static_cast<float>(w);
        NonlinearAutoencoder<double> md(n, m, f);
        NonlinearAutoencoder<float> mf(n, m, f);
        set_params(md, W);
        set_params(mf, W);
        xt::xtensor<double, 1> gd;
        xt::xtensor<float, 1> gf;
        const double Ld = md.loss_and_grad(view(Xd, B, n), gd);
        const double Lf = mf.loss_and_grad(view(Xf, B, n), gf);
        EXPECT_LT(rel(Lf, Ld), 1e-5);
        EXPECT_LT(rel_err(to_mat(gf), to_mat(gd)), 1e-5);
    }
}

TEST(NonlinearAutoencoder, BatchesLargerThanOneChunk) {
    // 2·kChunkRows + 37 rows: three chunks, accumulated into one mean.
    const std::size_t m = 2, n = 6, B = 2 * NonlinearAutoencoder<double>::kChunkRows + 37;
    const Mat X = randn(B * n, 1.0, 7), W = randn(m * n, 0.5, 8);
    NonlinearAutoencoder<double> model(n, m, Activation::tanh);
    set_params(model, W);
    const Ref ref = per_sample(Activation::tanh, W, X, B, m, n);
    xt::xtensor<double, 1> g;
    EXPECT_LT(rel(model.loss_and_grad(view(X, B, n), g), ref.loss), 1e-12);
    EXPECT_LT(rel_err(to_mat(g), ref.grad), 1e-11);
    EXPECT_LT(rel(model.loss(view(X, B, n)), ref.loss), 1e-12);
}

TEST(NonlinearAutoencoder, BufferReuseAcrossBatchSizes) {
    const std::size_t m = 3, n = 10, Bbig = 50;
    const Mat X = randn(Bbig * n, 1.0, 9), W = randn(m * n, 0.4, 10);
    NonlinearAutoencoder<double> model(n, m, Activation::swish);
    set_params(model, W);
    const MatrixView<double> all = view(X, Bbig, n);
    xt::xtensor<double, 1> g = xt::zeros<double>({2});  // wrong size: must be resized
    const std::size_t ranges[][2] = {{0, 50}, {5, 9}, {20, 21}, {0, 50}, {13, 44}};
    for (const auto& r : ranges) {
        SCOPED_TRACE(::testing::Message() << "rows [" << r[0] << ", " << r[1] << ")");
        const std::size_t B = r[1] - r[0];
        const Mat Xs(X.begin() + static_cast<std::ptrdiff_t>(r[0] * n),
                     X.begin() + static_cast<std::ptrdiff_t>(r[1] * n));
        const Ref ref = per_sample(Activation::swish, W, Xs, B, m, n);
        EXPECT_LT(rel(model.loss_and_grad(all.slice(r[0], r[1]), g), ref.loss), 1e-12);
        ASSERT_EQ(g.size(), m * n);
        EXPECT_LT(rel_err(to_mat(g), ref.grad), 1e-12);
    }
}

TEST(NonlinearAutoencoder, EncodeIsFOfXWt) {
    const std::size_t B = 6, m = 3, n = 8;
    const Mat X = randn(B * n, 1.0, 11), W = randn(m * n, 0.5, 12);
    NonlinearAutoencoder<double> model(n, m, Activation::sigmoid);
    set_params(model, W);
    std::vector<double> H;
    model.encode(view(X, B, n), H);
    ASSERT_EQ(H.size(), B * m);
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t i = 0; i < m; ++i) {
            double z = 0.0;
            for (std::size_t j = 0; j < n; ++j) z += X[b * n + j] * W[i * n + j];
            EXPECT_NEAR(H[b * m + i], act::sigmoid(z), 1e-15);
        }
}

TEST(NonlinearAutoencoder, ShapeBlocksInitAndErrors) {
    NonlinearAutoencoder<double> model(12, 3, Activation::swish, 0.5);
    EXPECT_EQ(model.name(), "nonlinear_autoencoder");
    EXPECT_EQ(model.activation(), Activation::swish);
    ASSERT_EQ(model.blocks().size(), 1u);
    EXPECT_EQ(model.blocks()[0].name, "W");
    EXPECT_EQ(model.blocks()[0].shape, (std::vector<std::size_t>{3, 12}));
    EXPECT_EQ(model.num_params(), 36u);
    std::mt19937_64 rng(7);
    model.init(rng);
    double s = 0.0;
    for (double w : model.params()) s += w * w;
    EXPECT_GT(std::sqrt(s / 36.0), 0.3);
    EXPECT_LT(std::sqrt(s / 36.0), 0.7);
    const Mat X = randn(4 * 11, 1.0, 1);
    EXPECT_THROW(model.loss(view(X, 4, 11)), DataError);  // 11 columns, model wants 12
}
