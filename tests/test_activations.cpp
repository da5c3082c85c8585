// Tests of the activation pairs (models/activations.hpp): each derivative
// against central differences of its value, the array loops and the runtime
// dispatch against the scalar pairs, the from-h forms used by backprop, the
// homework's two forms of swish', extreme inputs, float against double, and
// the name lookup used by the configuration.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "latentlab/models/activations.hpp"
#include "latentlab/core/error.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;

namespace {

const Activation kAll[] = {Activation::identity, Activation::sigmoid, Activation::tanh,
                           Activation::relu, Activation::swish};

// Generic points: spread over [−6, 6], none within 1e-3 of relu's kink.
std::vector<double> points(std::size_t count, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> U(-6.0, 6.0);
    std::vector<double> z;
    while (z.size() < count) {
        const double v = U(rng);
        if (std::abs(v) > 1e-3) z.push_back(v);
    }
    return z;
}

}  // namespace

TEST(Activations, DerivativeMatchesCentralDifferences) {
    const double h = 1e-6;
    for (Activation a : kAll) {
        SCOPED_TRACE(activation_name(a));
        double worst = 0.0;
        for (double z : points(200, 1)) {
            const double fd = central_difference([a](double x) { return activation_value(a, x); }, z, h);
            worst = std::max(worst, std::abs(fd - activation_derivative(a, z)));
        }
        EXPECT_LT(worst, 1e-8);
    }
}

TEST(Activations, KnownValues) {
    EXPECT_DOUBLE_EQ(act::sigmoid(0.0), 0.5);
    EXPECT_DOUBLE_EQ(act::sigmoid_grad(0.0), 0.25);
    EXPECT_DOUBLE_EQ(act::swish(0.0), 0.0);
    EXPECT_DOUBLE_EQ(act::swish_grad(0.0), 0.5);  // σ(0) + 0
    EXPECT_DOUBLE_EQ(act::tanh_grad(0.0), 1.0);
    EXPECT_DOUBLE_EQ(act::relu(-2.0), 0.0);
    EXPECT_DOUBLE_EQ(act::relu(3.0), 3.0);
    EXPECT_DOUBLE_EQ(act::relu_grad(-2.0), 0.0);
    EXPECT_DOUBLE_EQ(act::relu_grad(3.0), 1.0);
    EXPECT_DOUBLE_EQ(act::relu_grad(0.0), 0.0);  // the kink: 0 by convention
    EXPECT_NEAR(act::swish(2.0), 2.0 / (1.0 + std::exp(-2.0)), 1e-15);
}

TEST(Activations, SwishDerivativeHomeworkForms) {
    // swish' = σ + zσ(1 − σ) = swish + σ(1 − swish) = σ(1 + z − zσ)
    for (double z : points(100, 2)) {
        const double s = act::sigmoid(z);
        const double f1 = s + z * s * (1 - s);
        const double f3 = s * (1 + z - z * s);
        EXPECT_NEAR(act::swish_grad(z), f1, 1e-15 * std::max(1.0, std::abs(f1)));
        EXPECT_NEAR(act::swish_grad(z), f3, 1e-15 * std::max(1.0, std::abs(f3)));
        // and it is not swish itself (the listed wrong variant swish'(z) = z σ(z))
        if (std::abs(z) > 0.1) {
            EXPECT_GT(std::abs(act::swish_grad(z) - act::swish(z)), 1e-3);
        }
    }
}

TEST(Activations, ArraysAndDispatchMatchScalars) {
    const std::vector<double> z = points(37, 3);  // odd length: vector loop tails
    const std::size_t n = z.size();
    for (Activation a : kAll) {
        SCOPED_TRACE(activation_name(a));
        std::vector<double> h(n), d(n), d_from_h(n), up(n), dz(n), inplace = z;
        activate<double>(a, z.data(), h.data(), n);
        activation_derivative<double>(a, z.data(), d.data(), n);
        activation_derivative<double>(a, z.data(), h.data(), d_from_h.data(), n);
        for (std::size_t i = 0; i < n; ++i) up[i] = 0.5 + 0.1 * static_cast<double>(i);
        activation_backward<double>(a, z.data(), h.data(), up.data(), dz.data(), n);
        activate<double>(a, inplace.data(), inplace.data(), n);  // out == in
        for (std::size_t i = 0; i < n; ++i) {
            EXPECT_EQ(h[i], activation_value(a, z[i])) << i;
            EXPECT_EQ(inplace[i], h[i]) << i;
            EXPECT_EQ(d[i], activation_derivative(a, z[i])) << i;
            // from h: σ' = h(1 − h), tanh' = 1 − h², swish' = h + σ(1 − h): same numbers
            EXPECT_NEAR(d_from_h[i], d[i], 1e-15) << i;
            EXPECT_NEAR(dz[i], d[i] * up[i], 1e-14) << i;
        }
        // dz may alias dh
        std::vector<double> alias = up;
        activation_backward<double>(a, z.data(), h.data(), alias.data(), alias.data(), n);
        for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(alias[i], dz[i]) << i;
    }
}

TEST(Activations, NamedArrayPairs) {
    const std::vector<double> z = points(16, 4);
    std::vector<double> out(z.size());
    act::swish(z.data(), out.data(), z.size());
    for (std::size_t i = 0; i < z.size(); ++i) EXPECT_EQ(out[i], act::swish(z[i]));
    act::swish_grad(z.data(), out.data(), z.size());
    for (std::size_t i = 0; i < z.size(); ++i) EXPECT_EQ(out[i], act::swish_grad(z[i]));
    act::sigmoid_grad(z.data(), out.data(), z.size());
    for (std::size_t i = 0; i < z.size(); ++i) EXPECT_EQ(out[i], act::sigmoid_grad(z[i]));
}

TEST(Activations, ExtremeInputsStayFinite) {
    for (double z : {-1e4, -745.0, -80.0, 80.0, 745.0, 1e4}) {
        SCOPED_TRACE(z);
        for (Activation a : kAll) {
            EXPECT_TRUE(std::isfinite(activation_value(a, z))) << activation_name(a);
            EXPECT_TRUE(std::isfinite(activation_derivative(a, z))) << activation_name(a);
        }
        const float zf = static_cast<float>(z);
        EXPECT_TRUE(std::isfinite(act::sigmoid(zf)));
        EXPECT_TRUE(std::isfinite(act::swish(zf)));
        EXPECT_TRUE(std::isfinite(act::swish_grad(zf)));
    }
    EXPECT_EQ(act::sigmoid(-1e4), 0.0);
    EXPECT_EQ(act::sigmoid(1e4), 1.0);
    EXPECT_EQ(act::swish_grad(-1e4), 0.0);
    EXPECT_EQ(act::swish_grad(1e4), 1.0);
    EXPECT_EQ(act::swish_grad(-200.0f), 0.0f);
}

TEST(Activations, FloatAgreesWithDouble) {
    const std::vector<double> zd = points(64, 5);
    std::vector<float> zf(zd.begin(), zd.end());
    for (Activation a : kAll) {
        SCOPED_TRACE(activation_name(a));
        std::vector<float> hf(zf.size()), df(zf.size());
        activate<float>(a, zf.data(), hf.data(), zf.size());
        activation_derivative<float>(a, zf.data(), df.data(), zf.size());
        for (std::size_t i = 0; i < zf.size(); ++i) {
            const double z = zf[i];  // the same (rounded) input
            EXPECT_NEAR(hf[i], activation_value(a, z), 2e-6 * std::max(1.0, std::abs(z)));
            EXPECT_NEAR(df[i], activation_derivative(a, z), 2e-6);
        }
    }
}

TEST(Activations, NameLookup) {
    for (Activation a : kAll) EXPECT_EQ(activation_from_name(activation_name(a)), a);
    EXPECT_EQ(activation_names(),
              (std::vector<std::string>{"identity", "sigmoid", "tanh", "relu", "swish"}));
    try {
        activation_from_name("softplus");
        FAIL() << "no exception";
    } catch (const OptionError& e) {
        const std::string msg = e.what();
        EXPECT_EQ(e.option, "activation");
        EXPECT_NE(msg.find("softplus"), std::string::npos) << msg;
        EXPECT_NE(msg.find("sigmoid | tanh | relu | swish"), std::string::npos) << msg;
    }
    EXPECT_THROW(activation_from_name("Swish"), OptionError);  // case matters
}
