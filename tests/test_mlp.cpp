// Tests of the 2-layer Swish network (README, Reproducing the homework:
// Problem 3): the batched GEMM gradient against central differences for every
// activation, against the homework's single-sample results
// (∂L/∂W₂ = (∂L/∂z₂) h₁ᵀ, …) averaged in plain loops, float against double,
// chunked batches, the stable log-softmax at huge logits, label errors,
// accuracy/predict, and training with Adam to ≥ 95% accuracy on a separable
// synthetic problem.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/analysis/gradcheck.hpp"
#include "latentlab/core/matrix_view.hpp"
#include "latentlab/models/activations.hpp"
#include "latentlab/models/mlp.hpp"
#include "latentlab/optim/adam.hpp"
#include "latentlab/core/error.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;

namespace {

using Mat = std::vector<double>;

Labels random_labels(std::size_t B, std::size_t c, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::int32_t> U(0, static_cast<std::int32_t>(c) - 1);
    Labels y(B);
    for (auto& v : y) v = U(rng);
    return y;
}

// Parameters at a scale where every activation is in its curved region and
// the softmax is not saturated.
Mat random_params(std::size_t n, std::size_t h, std::size_t c, std::uint64_t seed) {
    const Mat W1 = randn(h * n, 0.6, seed), b1 = randn(h, 0.3, seed + 1);
    const Mat W2 = randn(c * h, 0.6, seed + 2), b2 = randn(c, 0.3, seed + 3);
    Mat p;
    for (const Mat* m : {&W1, &b1, &W2, &b2}) p.insert(p.end(), m->begin(), m->end());
    return p;
}

// The homework's single-sample results, averaged over rows:
//   z₁ = W₁x + b₁, h₁ = f(z₁), z₂ = W₂h₁ + b₂, ℓ = −log softmax(z₂)_y
//   ∂ℓ/∂z₂ = softmax(z₂) − onehot(y); ∂W₂ = (∂ℓ/∂z₂) h₁ᵀ; ∂b₂ = ∂ℓ/∂z₂;
//   ∂h₁ = W₂ᵀ ∂ℓ/∂z₂; ∂z₁ = f'(z₁) ⊙ ∂h₁; ∂W₁ = ∂z₁ xᵀ; ∂b₁ = ∂z₁
struct Ref {
    double loss;
    Mat grad;
};
Ref per_sample(Activation f, const Mat& p, const Mat& X, const Labels& y, std::size_t n,
               std::size_t h, std::size_t c) {
    const double* W1 = p.data();
    const double* b1 = W1 + h * n;
    const double* W2 = b1 + h;
    const double* b2 = W2 + c * h;
    Ref out{0.0, Mat(p.size(), 0.0)};
    double* gW1 = out.grad.data();
    double* gb1 = gW1 + h * n;
    double* gW2 = gb1 + h;
    double* gb2 = gW2 + c * h;
    const std::size_t B = y.size();
    for (std::size_t b = 0; b < B; ++b) {
        const double* x = &X[b * n];
        Mat z1(h), h1(h), z2(c), dz2(c), dh1(h, 0.0);
        for (std::size_t i = 0; i < h; ++i) {
            z1[i] = b1[i];
            for (std::size_t j = 0; j < n; ++j) z1[i] += W1[i * n + j] * x[j];
            h1[i] = activation_value(f, z1[i]);
        }
        double zmax = -INFINITY;
        for (std::size_t k = 0; k < c; ++k) {
            z2[k] = b2[k];
            for (std::size_t i = 0; i < h; ++i) z2[k] += W2[k * h + i] * h1[i];
            zmax = std::max(zmax, z2[k]);
        }
        double s = 0.0;
        for (std::size_t k = 0; k < c; ++k) s += std::exp(z2[k] - zmax);
        const double lse = zmax + std::log(s);
        out.loss += lse - z2[static_cast<std::size_t>(y[b])];
        for (std::size_t k = 0; k < c; ++k)
            dz2[k] = std::exp(z2[k] - lse) - (static_cast<std::int32_t>(k) == y[b] ? 1.0 : 0.0);
        for (std::size_t k = 0; k < c; ++k) {
            gb2[k] += dz2[k];
            for (std::size_t i = 0; i < h; ++i) {
                gW2[k * h + i] += dz2[k] * h1[i];
                dh1[i] += W2[k * h + i] * dz2[k];
            }
        }
        for (std::size_t i = 0; i < h; ++i) {
            const double dz1 = activation_derivative(f, z1[i]) * dh1[i];
            gb1[i] += dz1;
            for (std::size_t j = 0; j < n; ++j) gW1[i * n + j] += dz1 * x[j];
        }
    }
    out.loss /= static_cast<double>(B);
    for (auto& g : out.grad) g /= static_cast<double>(B);
    return out;
}

// k Gaussian blobs in d dimensions, means ~4 apart, unit noise: nearly
// separable (Bayes error well under 1%).
struct Blobs {
    Mat X;
    Labels y;
};
Blobs blobs(std::size_t per_class, std::size_t k, std::size_t d, std::uint64_t seed,
            const Mat& means) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> N01(0.0, 1.0);
    Blobs out;
    for (std::size_t i = 0; i < per_class * k; ++i) {
        const std::size_t cls = i % k;
        for (std::size_t j = 0; j < d; ++j) out.X.push_back(means[cls * d + j] + N01(rng));
        out.y.push_back(static_cast<std::int32_t>(cls));
    }
    return out;
}

}  // namespace

TEST(Mlp, GradientMatchesFiniteDifferences) {
    const std::size_t B = 9, n = 6, h = 5, c = 4;
    for (Activation f : {Activation::swish, Activation::sigmoid, Activation::tanh,
                         Activation::relu, Activation::identity}) {
        SCOPED_TRACE(activation_name(f));
        const Mat X = randn(B * n, 1.0, 1), p = random_params(n, h, c, 2);
        const Labels y = random_labels(B, c, 3);
        Mlp<double> model(n, h, c, f);
        set_params(model, p);
        const auto Xv = view(X, B, n, &y);
        // every entry, gradcheck's step 1e-5: ‖g − fd‖₂ ≤ 1e-7 ‖fd‖₂ block by block
        expect_gradient_matches(gradcheck(model, Xv, every_entry(1e-7)));
    }
}

TEST(Mlp, MatchesHomeworkSingleSampleResults) {
    const std::size_t n = 7, h = 6, c = 3;
    for (Activation f : {Activation::swish, Activation::tanh, Activation::relu})
        for (std::size_t B : {1u, 8u, 65u}) {
            SCOPED_TRACE(::testing::Message() << activation_name(f) << " B=" << B);
            const Mat X = randn(B * n, 1.0, 10 + B), p = random_params(n, h, c, 20 + B);
            const Labels y = random_labels(B, c, 30 + B);
            Mlp<double> model(n, h, c, f);
            set_params(model, p);
            const Ref ref = per_sample(f, p, X, y, n, h, c);
            xt::xtensor<double, 1> g;
            EXPECT_LT(rel(model.loss_and_grad(view(X, B, n, &y), g), ref.loss), 1e-12);
            EXPECT_LT(rel_err(to_mat(g), ref.grad), 1e-12);
            EXPECT_LT(rel(model.loss(view(X, B, n, &y)), ref.loss), 1e-12);
        }
}

TEST(Mlp, BatchesLargerThanOneChunk) {
    const std::size_t n = 4, h = 3, c = 3, B = Mlp<double>::kChunkRows + 123;
    const Mat X = randn(B * n, 1.0, 4), p = random_params(n, h, c, 5);
    const Labels y = random_labels(B, c, 6);
    Mlp<double> model(n, h, c);
    set_params(model, p);
    const Ref ref = per_sample(Activation::swish, p, X, y, n, h, c);
    xt::xtensor<double, 1> g;
    EXPECT_LT(rel(model.loss_and_grad(view(X, B, n, &y), g), ref.loss), 1e-12);
    EXPECT_LT(rel_err(to_mat(g), ref.grad), 1e-11);
    // and buffer reuse: a small batch after the big one
    const Labels y5(y.begin(), y.begin() + 5);
    const Ref ref5 = per_sample(Activation::swish, p, X, y5, n, h, c);
    EXPECT_LT(rel(model.loss_and_grad(view(X, 5, n, &y5), g), ref5.loss), 1e-12);
    EXPECT_LT(rel_err(to_mat(g), ref5.grad), 1e-12);
}

TEST(Mlp, FloatAgreesWithDouble) {
    const std::size_t B = 50, n = 20, h = 16, c = 5;
    Mat Xd = randn(B * n, 1.0, 7), p = random_params(n, h, c, 8);
    std::vector<float> Xf(Xd.begin(), Xd.end());
    for (std::size_t k = 0; k < Xd.size(); ++k) Xd[k] = Xf[k];
    for (auto& v : p) v = static_cast<float>(v);
    const Labels y = random_labels(B, c, 9);
    Mlp<double> md(n, h, c);
    Mlp<float> mf(n, h, c);
    set_params(md, p);
    set_params(mf, p);
    xt::xtensor<double, 1> gd;
    xt::xtensor<float, 1> gf;
    const double Ld = md.loss_and_grad(view(Xd, B, n, &y), gd);
    const double Lf = mf.loss_and_grad(view(Xf, B, n, &y), gf);
    EXPECT_LT(rel(Lf, Ld), 1e-5);
    EXPECT_LT(rel_err(to_mat(gf), to_mat(gd)), 1e-5);
    EXPECT_EQ(md.accuracy(view(Xd, B, n, &y)), mf.accuracy(view(Xf, B, n, &y)));
}

TEST(Mlp, StableLogSoftmaxAtHugeLogits) {
    // z₂ = b₂ = (1000, 0, −1000) whatever x (W₂ = 0): a naive exp overflows.
    const std::size_t n = 3, h = 2, c = 3;
    for (bool as_float : {false, true}) {
        SCOPED_TRACE(as_float ? "float" : "double");
        Mat p(h * n + h + c * h + c, 0.0);
        const std::size_t b2 = h * n + h + c * h;
        p[b2] = 1000.0;
        p[b2 + 2] = -1000.0;
        const Mat X = randn(2 * n, 1.0, 1);
        const Labels y0 = {0, 0}, y1 = {1, 1};
        auto run = [&](const Labels& y, double& L, Mat& g) {
            if (as_float) {
                Mlp<float> m(n, h, c);
                set_params(m, p);
                std::vector<float> Xf(X.begin(), X.end());
                xt::xtensor<float, 1> gf;
                L = m.loss_and_grad(view(Xf, 2, n, &y), gf);
                g = to_mat(gf);
            } else {
                Mlp<double> m(n, h, c);
                set_params(m, p);
                xt::xtensor<double, 1> gd;
                L = m.loss_and_grad(view(X, 2, n, &y), gd);
                g = to_mat(gd);
            }
        };
        double L;
        Mat g;
        run(y0, L, g);
        EXPECT_NEAR(L, 0.0, 1e-12);  // log(1 + e⁻¹⁰⁰⁰ + e⁻²⁰⁰⁰)
        for (double v : g) EXPECT_TRUE(std::isfinite(v));
        run(y1, L, g);
        EXPECT_NEAR(L, 1000.0, 1e-9 * 1000.0 * (as_float ? 1e3 : 1.0));
        for (double v : g) EXPECT_TRUE(std::isfinite(v));
        EXPECT_NEAR(g[b2], 1.0, 1e-6);   // softmax(z₂) − onehot(1) = (1, −1, 0)
        EXPECT_NEAR(g[b2 + 1], -1.0, 1e-6);
        EXPECT_NEAR(g[b2 + 2], 0.0, 1e-6);
    }
}

TEST(Mlp, LabelErrors) {
    const std::size_t n = 3, h = 2, c = 4;
    Mlp<double> model(n, h, c);
    const Mat X = randn(3 * n, 1.0, 1);
    xt::xtensor<double, 1> g;
    try {
        model.loss(view(X, 3, n, nullptr));
        FAIL() << "no exception";
    } catch (const DataError& e) {
        EXPECT_NE(std::string(e.what()).find("labels"), std::string::npos) << e.what();
    }
    EXPECT_THROW(model.loss_and_grad(view(X, 3, n, nullptr), g), DataError);
    EXPECT_THROW(model.accuracy(view(X, 3, n, nullptr)), DataError);
    const Labels too_big = {0, 4, 1}, negative = {0, 1, -1};
    try {
        model.loss_and_grad(view(X, 3, n, &too_big), g);
        FAIL() << "no exception";
    } catch (const DataError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("label 4 of row 1"), std::string::npos) << msg;
        EXPECT_NE(msg.find("[0, 4)"), std::string::npos) << msg;
    }
    EXPECT_THROW(model.loss(view(X, 3, n, &negative)), DataError);
    // predict needs no labels
    std::vector<std::int32_t> pred(3);
    EXPECT_NO_THROW(model.predict(view(X, 3, n, nullptr), pred.data()));
    // wrong width
    EXPECT_THROW(model.loss(view(X, 1, 2 * n, &too_big)), DataError);
    EXPECT_THROW(Mlp<double>(3, 2, 1), OptionError);  // the config names the key (test_cli)
}

TEST(Mlp, BlocksAndInit) {
    const std::size_t n = 400, h = 50, c = 10;
    Mlp<double> model(n, h, c);
    EXPECT_EQ(model.name(), "mlp");
    EXPECT_EQ(model.activation(), Activation::swish);
    const auto& bl = model.blocks();
    ASSERT_EQ(bl.size(), 4u);
    EXPECT_EQ(bl[0].name, "W1");
    EXPECT_EQ(bl[0].shape, (std::vector<std::size_t>{h, n}));
    EXPECT_EQ(bl[1].name, "b1");
    EXPECT_EQ(bl[1].shape, (std::vector<std::size_t>{h}));
    EXPECT_EQ(bl[2].name, "W2");
    EXPECT_EQ(bl[2].shape, (std::vector<std::size_t>{c, h}));
    EXPECT_EQ(bl[3].name, "b2");
    EXPECT_EQ(bl[3].shape, (std::vector<std::size_t>{c}));
    EXPECT_EQ(model.num_params(), h * n + h + c * h + c);
    EXPECT_EQ(model.b2(), model.params().data() + bl[3].offset);
    std::mt19937_64 rng(1);
    model.init(rng);
    auto rms = [&](const ParamBlock& b) {
        double s = 0.0;
        for (std::size_t k = 0; k < b.size(); ++k) s += model.params()(b.offset + k) * model.params()(b.offset + k);
        return std::sqrt(s / static_cast<double>(b.size()));
    };
    EXPECT_NEAR(rms(bl[0]), std::sqrt(2.0 / n), 0.05 * std::sqrt(2.0 / n));        // He
    EXPECT_EQ(rms(bl[1]), 0.0);
    EXPECT_NEAR(rms(bl[2]), std::sqrt(2.0 / (h + c)), 0.1 * std::sqrt(2.0 / (h + c)));  // Glorot
    EXPECT_EQ(rms(bl[3]), 0.0);
    Mlp<double> tanh_model(n, h, c, Activation::tanh);
    std::mt19937_64 rng2(1);
    tanh_model.init(rng2);
    double s = 0.0;
    for (std::size_t k = 0; k < h * n; ++k) s += tanh_model.params()(k) * tanh_model.params()(k);
    EXPECT_NEAR(std::sqrt(s / (h * n)), std::sqrt(2.0 / (n + h)), 0.05 * std::sqrt(2.0 / (n + h)));
}

TEST(Mlp, AccuracyAndPredictAgree) {
    const std::size_t B = 30, n = 5, h = 4, c = 3;
    const Mat X = randn(B * n, 1.0, 3), p = random_params(n, h, c, 4);
    const Labels y = random_labels(B, c, 5);
    Mlp<double> model(n, h, c);
    set_params(model, p);
    std::vector<std::int32_t> pred(B);
    model.predict(view(X, B, n, nullptr), pred.data());
    std::size_t correct = 0;
    for (std::size_t i = 0; i < B; ++i) correct += pred[i] == y[i];
    EXPECT_DOUBLE_EQ(model.accuracy(view(X, B, n, &y)), static_cast<double>(correct) / B);
    // predicting the labels themselves gives accuracy 1
    EXPECT_DOUBLE_EQ(model.accuracy(view(X, B, n, &pred)), 1.0);
}

template <class T>
void train_on_blobs(double& train_acc, double& test_acc, double& first_loss, double& last_loss) {
    const std::size_t k = 4, d = 10, hidden = 16;
    const Mat means = randn(k * d, 1.3, 99);  // ‖μᵢ − μⱼ‖ ≈ 1.3·√20 ≈ 5.8
    const Blobs train = blobs(200, k, d, 1, means), test = blobs(100, k, d, 2, means);
    const std::vector<T> Xtr(train.X.begin(), train.X.end()), Xte(test.X.begin(), test.X.end());
    const std::size_t N = train.y.size();

    Mlp<T> model(d, hidden, k);
    std::mt19937_64 rng(3);
    model.init(rng);
    Adam<T> adam(AdamOptions{}, model.num_params());
    xt::xtensor<T, 1> g;
    const MatrixView<T> all = view(Xtr, N, d, &train.y);
    first_loss = model.loss(all);
    const std::size_t batch = 32;
    for (std::size_t step = 0; step < 300; ++step) {
        const std::size_t b = (step * batch) % N;  // rows are interleaved by class
        model.loss_and_grad(all.slice(b, std::min(N, b + batch)), g);
        adam.update(model.params(), g, 1e-2);
    }
    last_loss = model.loss(all);
    train_acc = model.accuracy(all);
    test_acc = model.accuracy(view(Xte, test.y.size(), d, &test.y));
}

TEST(Mlp, AdamReaches95PercentOnSeparableBlobs) {
    double tr, te, L0, L1;
    train_on_blobs<double>(tr, te, L0, L1);
    EXPECT_GE(tr, 0.95);
    EXPECT_GE(te, 0.95);
    EXPECT_LT(L1, 0.25 * L0) << L0 << " → " << L1;
    double trf, tef, L0f, L1f;
    train_on_blobs<float>(trf, tef, L0f, L1f);
    EXPECT_GE(trf, 0.95);
    EXPECT_GE(tef, 0.95);
    EXPECT_NEAR(L0f, L0, 1e-5 * L0);  // same start in float and double
}
