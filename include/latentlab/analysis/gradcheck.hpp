// Gradient check for any model: the analytic gradient of `loss_and_grad`
// against central differences of `loss` on a small batch, block by block.
//
//   numeric_k = (L(θ + h_k e_k) − L(θ − h_k e_k)) / (2 h_k),   h_k = step · max(1, |θ_k|)
//   abs err_k = |analytic_k − numeric_k|
//   rel err_k = abs err_k / max(|analytic_k|, |numeric_k|, floor_k)
//   floor_k   = max(abs_floor,
//                   floor_fraction · max_j |numeric_j| over the block,
//                   noise_k / tolerance),   noise_k = noise_factor · ε · |L| / h_k
//
// A block passes if its max rel err ≤ tolerance.
//
// Why the floor. The difference quotient carries rounding noise of about
// ε·|L|/h times the error growth of the loss's own sums (measured ≈ 20 for a
// 16×784 batch; noise_factor = 100 allows for that). On coordinates whose true
// gradient is (nearly) zero — weights of always-black pixels, say — that noise
// alone would give large relative errors. The noise term makes noise-sized
// differences count as at most `tolerance`; the block term judges tiny entries
// against the block's scale. Measured on 784-wide models (MNIST-like data,
// B = 16, h = 1e-5): correct gradients give max rel err 1e-7 … 2e-5; a dropped
// path, wrong factor or transpose gives 1e-2 … 1. Hence tolerance 1e-4.
//
// Across a ReLU kink the difference quotient is wrong by construction (the
// risk grows with h): check with a smooth activation, or expect rare failures.
//
// Models in float are checked through a double copy (a twin model of the same
// type and shape built in double, e.g. by make_model<double>): float's 7 digits
// leave no room for a difference quotient that can tell a correct gradient
// from a slightly wrong one. The report adds how far the float gradient is
// from the twin's.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "latentlab/models/model.hpp"

namespace latentlab {

struct GradCheckOptions {
    double step = 1e-5;               // h (relative to max(1, |θ_k|))
    double tolerance = 1e-4;          // pass if max rel err ≤ tolerance
    double abs_floor = 1e-12;         // denominator floor: absolute part
    double floor_fraction = 1e-3;     // … relative to the block's max |numeric|
    double noise_factor = 100.0;      // … rounding allowance of the difference quotient
    std::size_t max_coords = 200;     // per block, a random subset when larger (0 = all)
    std::size_t max_rows = 16;        // the batch is cut to its first rows (0 = all;
                                      // never for models that are not separable())
    std::uint64_t seed = 0;           // for the random subsets
};

struct GradCheckRow {
    std::string block;
    std::vector<std::size_t> shape;
    std::size_t size = 0;         // entries in the block
    std::size_t checked = 0;      // entries compared
    double max_abs_err = 0.0;
    double max_rel_err = 0.0;
    std::size_t worst = 0;        // index within the block of the max rel err
    double analytic_at_worst = 0.0, numeric_at_worst = 0.0;
    double max_abs_grad = 0.0;    // max |numeric| over the checked entries
    double floor = 0.0;           // the denominator floor at the worst entry
    bool pass = false;
};

struct GradCheckReport {
    std::string model;
    std::size_t batch_rows = 0;
    double step = 0.0, tolerance = 0.0;
    double loss = 0.0;            // loss_and_grad's value at θ
    double loss_mismatch = 0.0;   // |loss(θ) − loss_and_grad(θ)| (should be ~0)
    // Float models only: ‖g_float − g_double‖ / ‖g_double‖ of the model and its
    // double twin on the same batch (−1 when not applicable). Not part of pass().
    double float_vs_double = -1.0;
    std::vector<GradCheckRow> rows;
    bool pass() const;
};

// Checks model's gradient on batch (cut to opts.max_rows rows if the model is
// separable()). θ is restored exactly afterwards.
GradCheckReport gradcheck(Model<double>& model, const MatrixView<double>& batch,
                          const GradCheckOptions& opts = {});

// Float models: copies the parameters (and the batch) into `twin` (the same
// model built in double; its block layout must match), checks the twin, and
// reports how far the float model's own gradient is from the twin's.
GradCheckReport gradcheck(Model<float>& model, Model<double>& twin,
                          const MatrixView<float>& batch, const GradCheckOptions& opts = {});

// A plain-text table:
//   gradient check: mlp, 16 rows, central differences h = 1.00e-05, tolerance (max rel err) 1.00e-04
//   parameter  shape    checked     max abs err  max rel err  result
//   W1         128×784  200/100352  4.35e-11     8.80e-07     pass
std::string format_gradcheck(const GradCheckReport& report);

}  // namespace latentlab
