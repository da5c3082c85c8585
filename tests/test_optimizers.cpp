// Tests of the optimisers and learning-rate schedules against trajectories
// worked out by hand (the arithmetic is in the comments; every expected value
// is a literal, not recomputed with the formula under test), the bit-exact
// resume through save_state/load_state, and make_optimizer's dispatch.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <sstream>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/config/build.hpp"
#include "latentlab/optim/adam.hpp"
#include "latentlab/optim/optimizer.hpp"
#include "latentlab/optim/schedule.hpp"
#include "latentlab/optim/sgd.hpp"
#include "latentlab/core/error.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;

namespace {

// One step of `opt` whose objective's gradient is `g` (the loss is not used
// by first-order methods).
template <class T>
void apply_gradient(Optimizer<T>& opt, xt::xtensor<T, 1>& x, const xt::xtensor<T, 1>& g, double lr) {
    opt.step(x, [&](xt::xtensor<T, 1>& out) { out = g; return 0.0; }, lr);
}

xt::xtensor<double, 1> vec2(double a, double b) {
    xt::xtensor<double, 1> v = xt::xtensor<double, 1>::from_shape({2});
    v(0) = a;
    v(1) = b;
    return v;
}

// The gradient sequence shared by the SGD tests.
//   g1 = ( 0.5 , -1.0)
//   g2 = ( 0.25,  0.5)
//   g3 = (-1.0 ,  2.0)
// x0 = (1.0, -2.0), lr = 0.1.
std::vector<xt::xtensor<double, 1>> sgd_grads() {
    return {vec2(0.5, -1.0), vec2(0.25, 0.5), vec2(-1.0, 2.0)};
}

// Runs the three SGD steps, returning x after each.
std::vector<std::pair<double, double>> run_sgd(SgdOptions opt) {
    Sgd<double> sgd(opt, 2);
    xt::xtensor<double, 1> x = vec2(1.0, -2.0);
    std::vector<std::pair<double, double>> out;
    for (const auto& g : sgd_grads()) {
        sgd.update(x, g, 0.1);
        out.emplace_back(x(0), x(1));
    }
    return out;
}

void expect_traj(const std::vector<std::pair<double, double>>& got,
                 const std::vector<std::pair<double, double>>& want, double tol) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t k = 0; k < got.size(); ++k) {
        EXPECT_NEAR(got[k].first, want[k].first, tol) << "step " << k + 1 << ", x[0]";
        EXPECT_NEAR(got[k].second, want[k].second, tol) << "step " << k + 1 << ", x[1]";
    }
}

}  // namespace

// ---------------------------------------------------------------------------
// SGD
// ---------------------------------------------------------------------------

TEST(OptimizersSgd, PlainThreeStepsByHand) {
    // x ← x − 0.1 g
    //   x1 = (1 − 0.05,  −2 + 0.1)  = (0.95 , −1.9 )
    //   x2 = (0.95 − 0.025, −1.9 − 0.05) = (0.925, −1.95)
    //   x3 = (0.925 + 0.1, −1.95 − 0.2)  = (1.025, −2.15)
    expect_traj(run_sgd(SgdOptions{0.0, false, 0.0}),
                {{0.95, -1.9}, {0.925, -1.95}, {1.025, -2.15}}, 1e-12);
}

TEST(OptimizersSgd, MomentumThreeStepsByHand) {
    // PyTorch convention: v ← 0.9 v + g;  x ← x − 0.1 v   (v0 = 0)
    //   v1 = (0.5, −1.0)                               x1 = (0.95, −1.9)
    //   v2 = (0.45 + 0.25, −0.9 + 0.5) = (0.7, −0.4)   x2 = (0.95 − 0.07, −1.9 + 0.04) = (0.88, −1.86)
    //   v3 = (0.63 − 1, −0.36 + 2) = (−0.37, 1.64)     x3 = (0.88 + 0.037, −1.86 − 0.164) = (0.917, −2.024)
    expect_traj(run_sgd(SgdOptions{0.9, false, 0.0}),
                {{0.95, -1.9}, {0.88, -1.86}, {0.917, -2.024}}, 1e-12);
}

TEST(OptimizersSgd, NesterovThreeStepsByHand) {
    // v ← 0.9 v + g;  x ← x − 0.1 (g + 0.9 v)
    //   v1 = (0.5, −1.0);    g1 + 0.9 v1 = (0.95, −1.9);    x1 = (0.905, −1.81)
    //   v2 = (0.7, −0.4);    g2 + 0.9 v2 = (0.25 + 0.63, 0.5 − 0.36) = (0.88, 0.14)
    //                                                        x2 = (0.905 − 0.088, −1.81 − 0.014) = (0.817, −1.824)
    //   v3 = (−0.37, 1.64);  g3 + 0.9 v3 = (−1 − 0.333, 2 + 1.476) = (−1.333, 3.476)
    //                                                        x3 = (0.817 + 0.1333, −1.824 − 0.3476) = (0.9503, −2.1716)
    expect_traj(run_sgd(SgdOptions{0.9, true, 0.0}),
                {{0.905, -1.81}, {0.817, -1.824}, {0.9503, -2.1716}}, 1e-12);
}

TEST(OptimizersSgd, L2WeightDecayIsAddedToTheGradient) {
    // weight_decay 0.1, lr 0.1, no momentum: g' = g + 0.1 x
    //   g1' = (0.5 + 0.1, −1 − 0.2) = (0.6, −1.2)        x1 = (0.94, −1.88)
    //   g2' = (0.25 + 0.094, 0.5 − 0.188) = (0.344, 0.312) x2 = (0.94 − 0.0344, −1.88 − 0.0312) = (0.9056, −1.9112)
    Sgd<double> sgd(SgdOptions{0.0, false, 0.1}, 2);
    xt::xtensor<double, 1> x = vec2(1.0, -2.0);
    const auto gs = sgd_grads();
    sgd.update(x, gs[0], 0.1);
    EXPECT_NEAR(x(0), 0.94, 1e-12);
    EXPECT_NEAR(x(1), -1.88, 1e-12);
    sgd.update(x, gs[1], 0.1);
    EXPECT_NEAR(x(0), 0.9056, 1e-12);
    EXPECT_NEAR(x(1), -1.9112, 1e-12);

    // With momentum 0.9 the decayed gradient enters the velocity:
    //   v1 = g1' = (0.6, −1.2)        x1 = (0.94, −1.88)
    //   g2' = (0.344, 0.312);  v2 = (0.54 + 0.344, −1.08 + 0.312) = (0.884, −0.768)
    //   x2 = (0.94 − 0.0884, −1.88 + 0.0768) = (0.8516, −1.8032)
    Sgd<double> sgdm(SgdOptions{0.9, false, 0.1}, 2);
    x = vec2(1.0, -2.0);
    sgdm.update(x, gs[0], 0.1);
    sgdm.update(x, gs[1], 0.1);
    EXPECT_NEAR(x(0), 0.8516, 1e-12);
    EXPECT_NEAR(x(1), -1.8032, 1e-12);
}

TEST(OptimizersSgd, FloatMatchesTheHandValues) {
    // Same momentum trajectory as MomentumThreeStepsByHand, in float.
    Sgd<float> sgd(SgdOptions{0.9, false, 0.0}, 2);
    xt::xtensor<float, 1> x = xt::xtensor<float, 1>::from_shape({2});
    x(0) = 1.0f;
    x(1) = -2.0f;
    for (const auto& gd : sgd_grads()) {
        xt::xtensor<float, 1> g = xt::xtensor<float, 1>::from_shape({2});
        g(0) = static_cast<float>(gd(0));
        g(1) = static_cast<float>(gd(1));
        sgd.update(x, g, 0.1);
    }
    EXPECT_NEAR(x(0), 0.917f, 1e-6);
    EXPECT_NEAR(x(1), -2.024f, 1e-6);
}

// ---------------------------------------------------------------------------
// Adam
// ---------------------------------------------------------------------------
//
// x0 = (1, −1), g1 = (0.5, −2), g2 = (1.5, 1), lr 0.1, β1 0.9, β2 0.999, ε 1e-8.
//
// Step 1: m1 = 0.1 g1 = (0.05, −0.2), v1 = 0.001 g1² = (0.00025, 0.004);
//   m̂ = m1/0.1 = g1, v̂ = v1/0.001 = g1², so Δ = lr g/(|g| + ε):
//   Δ[0] = 0.1·0.5/(0.5 + 1e-8) = 0.1/1.00000002  = 0.09999999800000004
//   Δ[1] = −0.1·2/(2 + 1e-8)    = −0.1/1.000000005 = −0.0999999995
//   x1 = (0.900000002, −0.9000000005)            (to 1e-17)
//
// Step 2: m2 = 0.9 m1 + 0.1 g2 = (0.045 + 0.15, −0.18 + 0.1) = (0.195, −0.08)
//   v2 = 0.999 v1 + 0.001 g2² = (0.00024975 + 0.00225, 0.003996 + 0.001)
//      = (0.00249975, 0.004996)
//   bc1 = 1 − 0.81 = 0.19, bc2 = 1 − 0.998001 = 0.001999
//   m̂ = (0.195/0.19, −0.08/0.19)       = (1.0263157894736842, −0.42105263157894737)
//   v̂ = (0.00249975/0.001999, 0.004996/0.001999) = (1.2505002501250625, 2.4992496248124062)
//   √v̂ = (1.1182576850283939, 1.5809015228066567)
//   Δ = 0.1 m̂/(√v̂ + 1e-8) = (0.091778111077306319, −0.026633962702408855)
//   x2 = (0.900000002 − 0.0917781110773063, −0.9000000005 + 0.0266339627024089)
//      = (0.80822189092269368, −0.87336629670243136)
//
// With decoupled weight decay λ = 0.01 (x ← x − Δ − lr λ x, x before the step):
//   x1 = x0 − Δ1 − 0.001 x0 = (0.899000002, −0.8990000005)
//   x2 = x1 − Δ2 − 0.001 x1
//      = (0.899000002 − 0.0917781110773063 − 0.000899000002,
//         −0.8990000005 + 0.0266339627024089 + 0.0008990000005)
//      = (0.80632289092069368, −0.87146729670193136)

namespace {
std::vector<std::pair<double, double>> run_adam(double wd) {
    Adam<double> adam(AdamOptions{0.9, 0.999, 1e-8, wd}, 2);
    xt::xtensor<double, 1> x = vec2(1.0, -1.0);
    std::vector<std::pair<double, double>> out;
    for (const auto& g : {vec2(0.5, -2.0), vec2(1.5, 1.0)}) {
        adam.update(x, g, 0.1);
        out.emplace_back(x(0), x(1));
    }
    return out;
}
}  // namespace

TEST(OptimizersAdam, TwoStepsByHand) {
    expect_traj(run_adam(0.0),
                {{0.900000002, -0.9000000005}, {0.80822189092269368, -0.87336629670243136}}, 1e-12);
}

TEST(OptimizersAdam, FirstStepMovesByLrTimesSign) {
    // Bias correction makes the first step lr·g/(|g| + ε) ≈ lr·sign(g),
    // whatever the gradient's magnitude (here 1e-3 and 1e3).
    Adam<double> adam(AdamOptions{0.9, 0.999, 1e-8, 0.0}, 2);
    xt::xtensor<double, 1> x = vec2(0.0, 0.0);
    adam.update(x, vec2(1e-3, -1e3), 0.1);
    // 0.1·1e-3/(1e-3 + 1e-8) = 0.1/1.00001 = 0.0999990000099999
    EXPECT_NEAR(x(0), -0.0999990000099999, 1e-12);
    // 0.1·1e3/(1e3 + 1e-8) = 0.1/(1 + 1e-11) = 0.099999999999
    EXPECT_NEAR(x(1), 0.099999999999, 1e-12);
    EXPECT_EQ(adam.state().t, 1);
}

TEST(OptimizersAdam, TwoStepsWithDecoupledWeightDecay) {
    expect_traj(run_adam(0.01),
                {{0.899000002, -0.8990000005}, {0.80632289092069368, -0.87146729670193136}}, 1e-12);
}

TEST(OptimizersAdam, FloatMatchesTheHandValues) {
    Adam<float> adam(AdamOptions{0.9, 0.999, 1e-8, 0.0}, 2);
    xt::xtensor<float, 1> x = xt::xtensor<float, 1>::from_shape({2});
    x(0) = 1.0f;
    x(1) = -1.0f;
    xt::xtensor<float, 1> g = xt::xtensor<float, 1>::from_shape({2});
    g(0) = 0.5f;
    g(1) = -2.0f;
    adam.update(x, g, 0.1);
    g(0) = 1.5f;
    g(1) = 1.0f;
    adam.update(x, g, 0.1);
    EXPECT_NEAR(x(0), 0.80822189f, 2e-6);
    EXPECT_NEAR(x(1), -0.87336630f, 2e-6);
}

// ---------------------------------------------------------------------------
// make_optimizer
// ---------------------------------------------------------------------------

TEST(OptimizersFactory, BuildsTheConfiguredOptimiser) {
    OptimConfig cfg;
    cfg.type = "sgd";
    cfg.momentum = 0.9;
    cfg.nesterov = true;
    auto sgd = make_optimizer<double>(cfg, 2);
    ASSERT_TRUE(sgd);
    EXPECT_EQ(sgd->name(), "sgd");
    xt::xtensor<double, 1> x = vec2(1.0, -2.0);
    for (const auto& g : sgd_grads()) apply_gradient(*sgd, x, g, 0.1);
    EXPECT_NEAR(x(0), 0.9503, 1e-12);  // NesterovThreeStepsByHand
    EXPECT_NEAR(x(1), -2.1716, 1e-12);

    cfg = OptimConfig{};
    cfg.type = "adam";
    cfg.weight_decay = 0.01;
    auto adam = make_optimizer<double>(cfg, 2);
    ASSERT_TRUE(adam);
    EXPECT_EQ(adam->name(), "adam");
    x = vec2(1.0, -1.0);
    apply_gradient(*adam, x, vec2(0.5, -2.0), 0.1);
    apply_gradient(*adam, x, vec2(1.5, 1.0), 0.1);
    EXPECT_NEAR(x(0), 0.80632289092069368, 1e-12);  // TwoStepsWithDecoupledWeightDecay
    EXPECT_NEAR(x(1), -0.87146729670193136, 1e-12);

    cfg.type = "rmsprop";
    EXPECT_THROW(make_optimizer<double>(cfg, 2), ConfigError);
}

// ---------------------------------------------------------------------------
// save_state / load_state
// ---------------------------------------------------------------------------

namespace {

xt::xtensor<double, 1> pseudo_grad(std::size_t n, int k) {
    xt::xtensor<double, 1> g = xt::xtensor<double, 1>::from_shape({n});
    for (std::size_t i = 0; i < n; ++i)
        g(i) = std::sin(0.7 * static_cast<double>(i + 1) + 1.3 * k) * (1.0 + 0.1 * k);
    return g;
}

// Runs `a` for 3 steps, saves it, restores a fresh `b`, continues both for 4
// steps from the same parameters: the results must be bit-identical. A third,
// fresh optimiser that is not restored must differ (the check can fail).
void check_resume(const OptimConfig& cfg) {
    const std::size_t n = 7;
    auto a = make_optimizer<double>(cfg, n);
    xt::xtensor<double, 1> xa = xt::xtensor<double, 1>::from_shape({n});
    for (std::size_t i = 0; i < n; ++i) xa(i) = 0.1 * static_cast<double>(i) - 0.3;
    for (int k = 0; k < 3; ++k) apply_gradient(*a, xa, pseudo_grad(n, k), 0.05);

    std::stringstream ss;
    a->save_state(ss);
    auto b = make_optimizer<double>(cfg, n);
    b->load_state(ss, n);
    auto c = make_optimizer<double>(cfg, n);

    xt::xtensor<double, 1> xb = xa, xc = xa;
    for (int k = 3; k < 7; ++k) {
        apply_gradient(*a, xa, pseudo_grad(n, k), 0.05);
        apply_gradient(*b, xb, pseudo_grad(n, k), 0.05);
        apply_gradient(*c, xc, pseudo_grad(n, k), 0.05);
    }
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(xa(i), xb(i)) << cfg.type << " param " << i;
    EXPECT_GT(max_abs_diff(xa, xc), 1e-6) << cfg.type << ": a fresh optimiser should not match a resumed one";

    // A state for a different parameter count is rejected.
    std::stringstream ss2;
    a->save_state(ss2);
    auto wrong = make_optimizer<double>(cfg, n + 1);
    EXPECT_THROW(wrong->load_state(ss2, n + 1), Error) << cfg.type;
}

}  // namespace

TEST(OptimizersState, SgdMomentumResumesBitExactly) {
    OptimConfig cfg;
    cfg.type = "sgd";
    cfg.momentum = 0.9;
    check_resume(cfg);
    cfg.nesterov = true;
    check_resume(cfg);
}

TEST(OptimizersState, AdamResumesBitExactly) {
    OptimConfig cfg;
    cfg.type = "adam";
    check_resume(cfg);
    cfg.weight_decay = 0.01;
    check_resume(cfg);
}

TEST(OptimizersState, AdamStepCountIsRestored) {
    Adam<double> a(AdamOptions{}, 3);
    xt::xtensor<double, 1> x = xt::zeros<double>({3});
    for (int k = 0; k < 5; ++k) a.update(x, pseudo_grad(3, k), 0.01);
    std::stringstream ss;
    a.save_state(ss);
    Adam<double> b(AdamOptions{}, 3);
    b.load_state(ss, 3);
    EXPECT_EQ(b.state().t, 5);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(b.state().m(i), a.state().m(i));
        EXPECT_EQ(b.state().v(i), a.state().v(i));
    }
}

TEST(OptimizersState, TruncatedStateThrows) {
    Adam<double> a(AdamOptions{}, 4);
    std::stringstream ss;
    a.save_state(ss);
    const std::string bytes = ss.str();
    std::stringstream cut(bytes.substr(0, bytes.size() - 5));
    Adam<double> b(AdamOptions{}, 4);
    EXPECT_THROW(b.load_state(cut, 4), Error);
}

// ---------------------------------------------------------------------------
// learning_rate
// ---------------------------------------------------------------------------

TEST(OptimizersSchedule, Constant) {
    OptimConfig cfg;
    cfg.schedule = "constant";
    cfg.lr = 0.03;
    for (double e : {0.0, 0.5, 7.0, 100.0}) EXPECT_EQ(make_schedule(cfg).at(e, 10), 0.03) << e;
}

TEST(OptimizersSchedule, StepHalvesEveryTwoEpochs) {
    OptimConfig cfg;
    cfg.schedule = "step";
    cfg.lr = 0.1;
    cfg.gamma = 0.5;
    cfg.step_epochs = 2;
    EXPECT_NEAR(make_schedule(cfg).at(0.0, 10), 0.1, 1e-15);
    EXPECT_NEAR(make_schedule(cfg).at(1.9, 10), 0.1, 1e-15);
    EXPECT_NEAR(make_schedule(cfg).at(2.0, 10), 0.05, 1e-15);
    EXPECT_NEAR(make_schedule(cfg).at(4.5, 10), 0.025, 1e-15);
    EXPECT_NEAR(make_schedule(cfg).at(6.0, 10), 0.0125, 1e-15);
}

TEST(OptimizersSchedule, CosineFromLrToMin) {
    OptimConfig cfg;
    cfg.schedule = "cosine";
    cfg.lr = 0.1;
    cfg.min_lr = 0.002;
    EXPECT_NEAR(make_schedule(cfg).at(0.0, 40), 0.1, 1e-15);
    EXPECT_NEAR(make_schedule(cfg).at(20.0, 40), 0.051, 1e-15);  // (0.1 + 0.002)/2
    EXPECT_NEAR(make_schedule(cfg).at(40.0, 40), 0.002, 1e-15);
    // a quarter of the way: min + ½(lr − min)(1 + cos(π/4)) = 0.002 + 0.049·1.7071067811865475
    EXPECT_NEAR(make_schedule(cfg).at(10.0, 40), 0.085648232278140833, 1e-15);
    // beyond the end it stays at the minimum
    EXPECT_NEAR(make_schedule(cfg).at(45.0, 40), 0.002, 1e-15);
    cfg.min_lr = 0.0;
    EXPECT_NEAR(make_schedule(cfg).at(20.0, 40), 0.05, 1e-15);
    EXPECT_NEAR(make_schedule(cfg).at(40.0, 40), 0.0, 1e-15);
}
