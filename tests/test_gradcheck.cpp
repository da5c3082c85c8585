// Tests of the generic gradient check (analysis/gradcheck.hpp): it passes on
// the correct models, catches deliberately wrong gradients (a wrapper that
// perturbs one block, or one entry, of a correct gradient) and names the
// block, samples random subsets deterministically, restores θ exactly,
// respects non-separable models, checks float models through a double twin,
// and formats a readable table.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/analysis/gradcheck.hpp"
#include "latentlab/models/linear_autoencoder.hpp"
#include "latentlab/models/mlp.hpp"
#include "latentlab/models/nonlinear_autoencoder.hpp"
#include "latentlab/core/error.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;

namespace {

// A model whose gradient is the inner model's with one block scaled by
// (1 + rel) and, optionally, one entry shifted by `shift`.
class Perturbed : public Model<double> {
public:
    Perturbed(Model<double>& inner, std::string block, double rel, std::size_t entry = 0,
              double shift = 0.0, bool separable = true)
        : inner_(inner), block_(std::move(block)), rel_(rel), entry_(entry), shift_(shift),
          separable_(separable) {
        allocate(inner.blocks());
        theta_ = inner.params();
    }
    std::string name() const override { return "perturbed " + inner_.name(); }
    void init(std::mt19937_64&) override {}
    bool separable() const override { return separable_; }
    double loss(const MatrixView<double>& X) override {
        inner_.params() = theta_;
        last_rows_ = X.rows;
        return inner_.loss(X);
    }
    double loss_and_grad(const MatrixView<double>& X, xt::xtensor<double, 1>& g) override {
        inner_.params() = theta_;
        const double L = inner_.loss_and_grad(X, g);
        for (const auto& b : blocks())
            if (b.name == block_) {
                for (std::size_t k = 0; k < b.size(); ++k) g(b.offset + k) *= 1.0 + rel_;
                g(b.offset + entry_) += shift_;
            }
        return L;
    }
    std::size_t last_rows_ = 0;

private:
    Model<double>& inner_;
    std::string block_;
    double rel_;
    std::size_t entry_;
    double shift_;
    bool separable_;
};

const GradCheckRow& row(const GradCheckReport& r, const std::string& name) {
    for (const auto& x : r.rows)
        if (x.block == name) return x;
    throw std::runtime_error("no row " + name);
}

struct MlpCase {
    std::vector<double> X;
    std::vector<std::int32_t> y;
    Mlp<double> model{12, 8, 4, Activation::swish};
    MlpCase() {
        X = randn(40 * 12, 1.0, 1);
        std::mt19937_64 rng(2);
        for (std::size_t i = 0; i < 40; ++i) y.push_back(static_cast<std::int32_t>(i % 4));
        model.init(rng);
        // non-zero biases, so that their gradients are generic too
        for (std::size_t k = 0; k < model.num_params(); ++k)
            if (model.params()(k) == 0.0) model.params()(k) = 0.1 * std::sin(double(k));
    }
    MatrixView<double> batch() const { return view(X, 40, 12, &y); }
};

}  // namespace

TEST(GradCheck, PassesOnTheModels) {
    MlpCase mc;
    const GradCheckReport r = gradcheck(mc.model, mc.batch());
    EXPECT_TRUE(r.pass()) << format_gradcheck(r);
    ASSERT_EQ(r.rows.size(), 4u);
    EXPECT_EQ(r.batch_rows, 16u);  // cut to max_rows
    for (const auto& x : r.rows) EXPECT_LT(x.max_rel_err, 1e-6) << x.block;
    EXPECT_EQ(r.loss_mismatch, 0.0);

    const std::vector<double> X = randn(20 * 10, 1.0, 3);
    for (Activation f : {Activation::sigmoid, Activation::tanh, Activation::swish}) {
        NonlinearAutoencoder<double> ae(10, 3, f, 0.5);
        std::mt19937_64 rng(4);
        ae.init(rng);
        const GradCheckReport ra = gradcheck(ae, view(X, 20, 10));
        EXPECT_TRUE(ra.pass()) << format_gradcheck(ra);
    }
    LinearAutoencoder<double> lin(10, 3, 0.5);
    std::mt19937_64 rng(5);
    lin.init(rng);
    const GradCheckReport rl = gradcheck(lin, view(X, 20, 10));
    EXPECT_TRUE(rl.pass()) << format_gradcheck(rl);
}

TEST(GradCheck, CatchesAScaledBlock) {
    // 1% too large in b1 only: b1 fails, the other blocks pass.
    MlpCase mc;
    Perturbed bad(mc.model, "b1", 0.01);
    const GradCheckReport r = gradcheck(bad, mc.batch());
    EXPECT_FALSE(r.pass());
    EXPECT_FALSE(row(r, "b1").pass);
    EXPECT_NEAR(row(r, "b1").max_rel_err, 0.01 / 1.01, 1e-4);
    EXPECT_TRUE(row(r, "W1").pass);
    EXPECT_TRUE(row(r, "W2").pass);
    EXPECT_TRUE(row(r, "b2").pass);
    const std::string text = format_gradcheck(r);
    EXPECT_NE(text.find("FAIL"), std::string::npos) << text;
    EXPECT_NE(text.find("b1: worst entry"), std::string::npos) << text;
}

TEST(GradCheck, CatchesOneWrongEntry) {
    // One entry of W2 off by 1% of the block's largest gradient.
    MlpCase mc;
    xt::xtensor<double, 1> g;
    mc.model.loss_and_grad(mc.batch().slice(0, 16), g);
    const ParamBlock& W2 = mc.model.blocks()[2];
    double gmax = 0.0;
    for (std::size_t k = 0; k < W2.size(); ++k) gmax = std::max(gmax, std::abs(g(W2.offset + k)));
    Perturbed bad(mc.model, "W2", 0.0, 5, 1e-2 * gmax);
    GradCheckOptions opts;
    opts.max_coords = 0;  // all entries, so entry 5 is among them
    const GradCheckReport r = gradcheck(bad, mc.batch(), opts);
    EXPECT_FALSE(row(r, "W2").pass) << format_gradcheck(r);
    EXPECT_EQ(row(r, "W2").worst, 5u);
    EXPECT_TRUE(row(r, "W1").pass);
}

TEST(GradCheck, RandomSubsetsAndExactRestore) {
    MlpCase mc;
    const xt::xtensor<double, 1> before = mc.model.params();
    GradCheckOptions opts;
    opts.max_coords = 10;
    opts.seed = 42;
    const GradCheckReport r1 = gradcheck(mc.model, mc.batch(), opts);
    const GradCheckReport r2 = gradcheck(mc.model, mc.batch(), opts);
    EXPECT_EQ(row(r1, "W1").checked, 10u);  // 96 entries, 10 sampled
    EXPECT_EQ(row(r1, "W1").size, 96u);
    EXPECT_EQ(row(r1, "b2").checked, 4u);   // smaller than the cap: all
    EXPECT_EQ(row(r1, "W1").max_rel_err, row(r2, "W1").max_rel_err);  // same seed, same subset
    EXPECT_EQ(row(r1, "W1").worst, row(r2, "W1").worst);
    for (std::size_t k = 0; k < before.size(); ++k) ASSERT_EQ(mc.model.params()(k), before(k)) << k;
}

TEST(GradCheck, NonSeparableModelsKeepAllRows) {
    MlpCase mc;
    Perturbed full(mc.model, "none", 0.0, 0, 0.0, /*separable=*/false);
    const GradCheckReport r = gradcheck(full, mc.batch());
    EXPECT_EQ(r.batch_rows, 40u);
    EXPECT_EQ(full.last_rows_, 40u);
    EXPECT_TRUE(r.pass());
    Perturbed sep(mc.model, "none", 0.0);
    EXPECT_EQ(gradcheck(sep, mc.batch()).batch_rows, 16u);
}

TEST(GradCheck, FloatModelThroughDoubleTwin) {
    const std::size_t n = 12, h = 8, c = 4;
    MlpCase mc;
    std::vector<float> Xf(mc.X.begin(), mc.X.end());
    Mlp<float> mf(n, h, c);
    for (std::size_t k = 0; k < mf.num_params(); ++k) mf.params()(k) = static_cast<float>(mc.model.params()(k));
    Mlp<double> twin(n, h, c);
    const GradCheckReport r = gradcheck(mf, twin, view(Xf, 40, n, &mc.y));
    EXPECT_TRUE(r.pass()) << format_gradcheck(r);
    EXPECT_GE(r.float_vs_double, 0.0);
    EXPECT_LT(r.float_vs_double, 1e-5);
    EXPECT_NE(format_gradcheck(r).find("float model's gradient"), std::string::npos);
    Mlp<double> wrong_shape(n, h + 1, c);
    EXPECT_THROW(gradcheck(mf, wrong_shape, view(Xf, 40, n, &mc.y)), Error);
}

TEST(GradCheck, TableFormat) {
    MlpCase mc;
    const std::string t = format_gradcheck(gradcheck(mc.model, mc.batch()));
    EXPECT_NE(t.find("gradient check: mlp, 16 rows"), std::string::npos) << t;
    EXPECT_NE(t.find("tolerance (max rel err) 1.00e-04"), std::string::npos) << t;
    EXPECT_NE(t.find("parameter"), std::string::npos);
    EXPECT_NE(t.find("max abs err"), std::string::npos);
    EXPECT_NE(t.find("8×12"), std::string::npos) << t;
    EXPECT_NE(t.find("96/96"), std::string::npos) << t;
    EXPECT_NE(t.find("PASS"), std::string::npos) << t;
    EXPECT_EQ(t.find("FAIL"), std::string::npos) << t;
}

namespace {

// MNIST-like rows: 784 pixels in [0, 1], 80% of them 0, the first 100 always 0.
std::vector<double> mnist_like(std::size_t B, std::uint64_t seed) {
    const std::size_t n = 784;
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> U(0.0, 1.0);
    std::vector<double> X(B * n);
    for (std::size_t i = 0; i < X.size(); ++i) X[i] = (i % n < 100 || U(rng) < 0.8) ? 0.0 : U(rng);
    return X;
}

// The homework's wrong variant at full size: L = ½‖X Wᵀ W − X‖²/B with the
// gradient of the path through Wᵀ only, Aᵀ R / B (the path through W x dropped).
class OnePathLinearAE : public Model<double> {
public:
    OnePathLinearAE(std::size_t n, std::size_t m) : n_(n), m_(m) { allocate({ParamBlock{"W", {m, n}, 0}}); }
    std::string name() const override { return "one-path linear AE"; }
    void init(std::mt19937_64& rng) override {
        std::normal_distribution<double> N(0.0, 0.01);
        for (auto& w : theta_) w = N(rng);
    }
    double loss(const MatrixView<double>& X) override {
        xt::xtensor<double, 1> g;
        return run(X, g, false);
    }
    double loss_and_grad(const MatrixView<double>& X, xt::xtensor<double, 1>& g) override {
        return run(X, g, true);
    }

private:
    double run(const MatrixView<double>& X, xt::xtensor<double, 1>& g, bool grad) {
        const double* W = theta_.data();
        if (grad) g = xt::zeros<double>({m_ * n_});
        double L = 0.0;
        std::vector<double> a(m_), r(n_);
        for (std::size_t b = 0; b < X.rows; ++b) {
            const double* x = X.row(b);
            for (std::size_t i = 0; i < m_; ++i) {
                a[i] = 0.0;
                for (std::size_t j = 0; j < n_; ++j) a[i] += W[i * n_ + j] * x[j];
            }
            for (std::size_t j = 0; j < n_; ++j) {
                r[j] = -x[j];
                for (std::size_t i = 0; i < m_; ++i) r[j] += W[i * n_ + j] * a[i];
                L += 0.5 * r[j] * r[j];
            }
            if (grad)
                for (std::size_t i = 0; i < m_; ++i)
                    for (std::size_t j = 0; j < n_; ++j) g(i * n_ + j) += a[i] * r[j] / double(X.rows);
        }
        return L / double(X.rows);
    }
    std::size_t n_, m_;
};

}  // namespace

TEST(GradCheck, RealisticSizesPassWithMargin) {
    // 784-wide models on MNIST-like rows at their usual initialisation: the
    // noise-aware floor keeps correct gradients ≥ 10× under the tolerance.
    const std::vector<double> X = mnist_like(16, 1);
    std::vector<std::int32_t> y(16);
    for (std::size_t i = 0; i < 16; ++i) y[i] = static_cast<std::int32_t>(i % 10);
    const MatrixView<double> v = view(X, 16, 784, &y);
    std::mt19937_64 rng(2);
    LinearAutoencoder<double> lin(784, 32, 0.01);
    NonlinearAutoencoder<double> sig(784, 32, Activation::sigmoid, 0.01);
    NonlinearAutoencoder<double> sw(784, 32, Activation::swish, 0.05);
    Mlp<double> mlp(784, 128, 10);
    for (Model<double>* m : std::initializer_list<Model<double>*>{&lin, &sig, &sw, &mlp}) {
        m->init(rng);
        const GradCheckReport r = gradcheck(*m, v);
        EXPECT_TRUE(r.pass()) << format_gradcheck(r);
        for (const auto& row : r.rows) EXPECT_LT(row.max_rel_err, 1e-5) << m->name() << " " << row.block;
    }
}

TEST(GradCheck, CatchesTheDroppedPathAtRealisticSize) {
    const std::vector<double> X = mnist_like(16, 3);
    OnePathLinearAE bad(784, 16);
    std::mt19937_64 rng(4);
    bad.init(rng);
    const GradCheckReport r = gradcheck(bad, view(X, 16, 784));
    EXPECT_FALSE(r.pass());
    EXPECT_GT(r.rows[0].max_rel_err, 1e-2) << format_gradcheck(r);
}
