// End-to-end: training the tied linear autoencoder through the real pipeline
// (make_raw → make_dataset → make_optimizer → Trainer) on synthetic data with
// a known spectrum and a clear gap must reach the Baldi–Hornik optimum:
// L / L* → 1 and row-space(W) → span of the top-m principal components.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/analysis/pca.hpp"
#include "latentlab/config/build.hpp"
#include "latentlab/analysis/principal_angles.hpp"
#include "latentlab/data/dataset.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/models/linear_autoencoder.hpp"
#include "latentlab/optim/optimizer.hpp"
#include "latentlab/train/trainer.hpp"

using namespace latentlab;

namespace {

constexpr std::size_t kN = 2000, kDim = 20, kLatent = 4;

// X = Z diag(s) Vᵀ, Z ~ N(0,1) (N×n), V random orthogonal (n×n),
// s = (5, 4.5, 4, 3.5, 1, 0.94, 0.88, ..., 0.1): C = XᵀX ≈ N V diag(s²) Vᵀ,
// so the top 4 eigenvalues (≈ N·{25, 20, 16, 12}) sit far above the rest (≈ N·≤1).
std::vector<double> synthetic_data(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> N01(0.0, 1.0);
    std::vector<double> s(kDim);
    const double top[4] = {5.0, 4.5, 4.0, 3.5};
    for (std::size_t k = 0; k < kDim; ++k) s[k] = k < 4 ? top[k] : 1.0 - 0.06 * static_cast<double>(k - 4);
    // V: Gram–Schmidt (twice) on the columns of a Gaussian matrix.
    std::vector<double> V(kDim * kDim);
    for (auto& v : V) v = N01(rng);
    for (std::size_t j = 0; j < kDim; ++j) {
        for (int pass = 0; pass < 2; ++pass)
            for (std::size_t k = 0; k < j; ++k) {
                double d = 0.0;
                for (std::size_t i = 0; i < kDim; ++i) d += V[i * kDim + j] * V[i * kDim + k];
                for (std::size_t i = 0; i < kDim; ++i) V[i * kDim + j] -= d * V[i * kDim + k];
            }
        double nn = 0.0;
        for (std::size_t i = 0; i < kDim; ++i) nn += V[i * kDim + j] * V[i * kDim + j];
        nn = std::sqrt(nn);
        for (std::size_t i = 0; i < kDim; ++i) V[i * kDim + j] /= nn;
    }
    std::vector<double> X(kN * kDim, 0.0), z(kDim);
    for (std::size_t r = 0; r < kN; ++r) {
        for (auto& zk : z) zk = N01(rng);
        // x_r = Σ_k z_k s_k v_k   (v_k = column k of V)
        for (std::size_t j = 0; j < kDim; ++j) {
            double acc = 0.0;
            for (std::size_t k = 0; k < kDim; ++k) acc += z[k] * s[k] * V[j * kDim + k];
            X[r * kDim + j] = acc;
        }
    }
    return X;
}

struct Outcome {
    double loss_ratio = 0;
    double max_angle_deg = 0;
    double final_train_loss = 0;   // as the trainer recorded it (chunked model evaluation)
    double exact_loss = 0;         // ae_full_eval
    double final_grad_norm = 0;    // as the trainer recorded it
    double exact_grad_norm = 0;    // ae_full_eval
    double grad_scale = 0;         // λ_max / N: the size of the gradient's terms
    double gap = 0;                // λ_4 / λ_5
    double seconds = 0;
};

Outcome train_and_score(const OptimConfig& optim, long epochs) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<double> raw_X = synthetic_data(2024);
    const RawTensor raw = make_raw(raw_X.data(), {kN, kDim});
    DataConfig dcfg;
    dcfg.source = "npy";
    dcfg.test_fraction = 0.0;
    const Dataset<double> data = make_dataset<double>(raw, nullptr, dcfg, 3, "synthetic");
    EXPECT_EQ(data.n_train, kN);
    EXPECT_EQ(data.n_test, 0u);

    LinearAutoencoder<double> model(kDim, kLatent, 0.01);
    std::mt19937_64 rng(17);
    model.init(rng);
    auto opt = make_optimizer<double>(optim, model.num_params());

    TrainerOptions topt;
    topt.schedule = make_schedule(optim);
    topt.epochs = epochs;
    topt.batch_size = 100;
    topt.seed = 5;
    Trainer<double> trainer(model, *opt, data, topt);
    const TrainResult res = trainer.run();
    EXPECT_EQ(res.epochs_done, epochs);
    EXPECT_EQ(res.steps, epochs * static_cast<long>(kN / 100));

    const auto C = second_moment(data.train());
    const Pca pca = pca_from_second_moment(C);
    const double Lstar = optimal_ae_loss(pca, kLatent, data.n_train);
    const AeFullEval e = ae_full_eval(model.W(), kLatent, kDim, C, data.n_train);

    xt::xtensor<double, 2> W = xt::xtensor<double, 2>::from_shape({kLatent, kDim});
    std::copy(model.W(), model.W() + kLatent * kDim, W.begin());
    xt::xtensor<double, 2> top = xt::xtensor<double, 2>::from_shape({kLatent, kDim});
    for (std::size_t i = 0; i < kLatent; ++i)
        for (std::size_t j = 0; j < kDim; ++j) top(i, j) = pca.components(i, j);
    const auto angles = principal_angles_deg(W, top);

    Outcome o;
    o.loss_ratio = e.loss / Lstar;
    for (double a : angles) o.max_angle_deg = std::max(o.max_angle_deg, a);
    o.final_train_loss = res.history.empty() ? NAN : res.history.back().train_loss;
    o.exact_loss = e.loss;
    o.final_grad_norm = res.history.empty() ? NAN : res.history.back().grad_norm;
    o.exact_grad_norm = e.grad_norm;
    o.grad_scale = pca.eigenvalues(0) / static_cast<double>(data.n_train);
    o.gap = pca.eigenvalues(kLatent - 1) / pca.eigenvalues(kLatent);
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // Initial loss for orientation: ½ tr C / N (W0 ≈ 0), far above L*.
    EXPECT_GT(res.history.front().train_loss, 5.0 * Lstar);
    return o;
}

void check(const Outcome& o, const char* what) {
    SCOPED_TRACE(what);
    EXPECT_GT(o.gap, 5.0) << "the synthetic spectrum should have a clear gap";
    EXPECT_LT(o.loss_ratio, 1.001) << "L/L* = " << o.loss_ratio;
    EXPECT_GE(o.loss_ratio, 1.0 - 1e-12) << "below the optimum: L* or the evaluation is wrong";
    EXPECT_LT(o.max_angle_deg, 1.0);
    // The trainer's own (chunked) evaluation agrees with the exact one.
    EXPECT_NEAR(o.final_train_loss, o.exact_loss, 1e-10 * o.exact_loss);
    EXPECT_NEAR(o.final_grad_norm, o.exact_grad_norm, 1e-10 * o.grad_scale);
    // Near the optimum the gradient is small against its terms.
    EXPECT_LT(o.exact_grad_norm, 1e-2 * o.grad_scale);
    EXPECT_LT(o.seconds, 5.0);
    std::printf("[ %s ] L/L* = %.7f, max angle = %.4g deg, gap = %.2f, |grad| = %.3g (trainer %.3g, "
                "scale %.3g), %.3f s\n",
                what, o.loss_ratio, o.max_angle_deg, o.gap, o.exact_grad_norm, o.final_grad_norm,
                o.grad_scale, o.seconds);
}

}  // namespace

TEST(ConvergenceLinearAE, AdamCosineReachesThePcaOptimum) {
    OptimConfig optim;
    optim.type = "adam";
    optim.lr = 0.01;
    optim.schedule = "cosine";
    optim.min_lr = 0.0;
    check(train_and_score(optim, 40), "adam");
}

TEST(ConvergenceLinearAE, SgdMomentumReachesThePcaOptimum) {
    OptimConfig optim;
    optim.type = "sgd";
    optim.lr = 0.005;
    optim.momentum = 0.9;
    optim.schedule = "cosine";
    optim.min_lr = 0.0;
    check(train_and_score(optim, 40), "sgd+momentum");
}
