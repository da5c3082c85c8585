#include "latentlab/analysis/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>

#include "latentlab/core/error.hpp"
#include "latentlab/core/format.hpp"

namespace latentlab {

bool GradCheckReport::pass() const {
    if (rows.empty()) return false;
    for (const auto& r : rows)
        if (!r.pass) return false;
    return true;
}

namespace {

// Up to k distinct indices of [0, n), ascending (all of them if k == 0 or k ≥ n).
std::vector<std::size_t> pick(std::size_t n, std::size_t k, std::mt19937_64& rng) {
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    if (k == 0 || k >= n) return idx;
    for (std::size_t i = 0; i < k; ++i) {  // partial Fisher–Yates
        std::uniform_int_distribution<std::size_t> U(i, n - 1);
        std::swap(idx[i], idx[U(rng)]);
    }
    idx.resize(k);
    std::sort(idx.begin(), idx.end());
    return idx;
}

std::string shape_text(const std::vector<std::size_t>& shape) {
    std::string s;
    for (std::size_t i = 0; i < shape.size(); ++i)
        s += (i ? "×" : "") + std::to_string(shape[i]);
    return s.empty() ? "scalar" : s;
}

// Display width of a UTF-8 string (× counts once).
std::size_t width(const std::string& s) {
    std::size_t w = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++w;
    return w;
}

std::string pad(const std::string& s, std::size_t w) {
    const std::size_t sw = width(s);
    return s + std::string(w > sw ? w - sw : 0, ' ');
}

std::string sci(double v) { return format_sci(v, 2); }

}  // namespace

GradCheckReport gradcheck(Model<double>& model, const MatrixView<double>& batch_in,
                          const GradCheckOptions& opts) {
    if (!(opts.step > 0.0)) throw Error("gradcheck: step must be positive");
    if (!(opts.tolerance > 0.0)) throw Error("gradcheck: tolerance must be positive");
    MatrixView<double> batch = batch_in;
    // A full-batch model (GPLVM: a latent row per data row) needs all its rows.
    if (model.separable() && opts.max_rows > 0 && batch.rows > opts.max_rows)
        batch = batch.slice(0, opts.max_rows);
    if (batch.rows == 0) throw Error("gradcheck: the batch is empty");

    GradCheckReport rep;
    rep.model = model.name();
    rep.batch_rows = batch.rows;
    rep.step = opts.step;
    rep.tolerance = opts.tolerance;

    xt::xtensor<double, 1> g;
    rep.loss = model.loss_and_grad(batch, g);
    rep.loss_mismatch = std::abs(model.loss(batch) - rep.loss);
    if (g.size() != model.num_params())
        throw Error("gradcheck: " + model.name() + " returned a gradient of " +
                    std::to_string(g.size()) + " entries for " +
                    std::to_string(model.num_params()) + " parameters");

    std::mt19937_64 rng(opts.seed);
    double* theta = model.params().data();
    for (const ParamBlock& b : model.blocks()) {
        GradCheckRow row;
        row.block = b.name;
        row.shape = b.shape;
        row.size = b.size();
        const std::vector<std::size_t> idx = pick(row.size, opts.max_coords, rng);
        row.checked = idx.size();
        std::vector<double> num(idx.size()), hs(idx.size());
        for (std::size_t t = 0; t < idx.size(); ++t) {
            double& th = theta[b.offset + idx[t]];
            const double t0 = th;
            const double h = opts.step * std::max(1.0, std::abs(t0));
            th = t0 + h;
            const double lp = model.loss(batch);
            th = t0 - h;
            const double lm = model.loss(batch);
            th = t0;  // restored bit-exactly
            num[t] = (lp - lm) / (2.0 * h);
            hs[t] = h;
            row.max_abs_grad = std::max(row.max_abs_grad, std::abs(num[t]));
        }
        const double block_floor = std::max(opts.abs_floor, opts.floor_fraction * row.max_abs_grad);
        const double eps = std::numeric_limits<double>::epsilon();
        row.max_rel_err = -1.0;
        for (std::size_t t = 0; t < idx.size(); ++t) {
            const double a = g(b.offset + idx[t]), n = num[t];
            const double noise = opts.noise_factor * eps * std::abs(rep.loss) / hs[t];
            const double floor = std::max(block_floor, noise / opts.tolerance);
            const double abs_err = std::abs(a - n);
            const double rel = abs_err / std::max({std::abs(a), std::abs(n), floor});
            row.max_abs_err = std::max(row.max_abs_err, abs_err);
            if (rel > row.max_rel_err || std::isnan(rel)) {
                row.max_rel_err = rel;
                row.worst = idx[t];
                row.analytic_at_worst = a;
                row.numeric_at_worst = n;
                row.floor = floor;
            }
        }
        if (idx.empty()) row.max_rel_err = 0.0;
        row.pass = row.max_rel_err <= opts.tolerance;  // false for NaN
        rep.rows.push_back(std::move(row));
    }
    return rep;
}

GradCheckReport gradcheck(Model<float>& model, Model<double>& twin,
                          const MatrixView<float>& batch, const GradCheckOptions& opts) {
    const auto& bf = model.blocks();
    const auto& bd = twin.blocks();
    bool same = bf.size() == bd.size() && model.num_params() == twin.num_params();
    for (std::size_t i = 0; same && i < bf.size(); ++i)
        same = bf[i].name == bd[i].name && bf[i].shape == bd[i].shape && bf[i].offset == bd[i].offset;
    if (!same)
        throw Error("gradcheck: the double twin of " + model.name() +
                    " does not have the same parameter blocks");
    std::copy(model.params().begin(), model.params().end(), twin.params().begin());

    const std::size_t rows = twin.separable() && opts.max_rows > 0
                                 ? std::min(batch.rows, opts.max_rows)
                                 : batch.rows;
    std::vector<double> X(batch.data, batch.data + rows * batch.cols);
    MatrixView<double> v;
    v.data = X.data();
    v.rows = rows;
    v.cols = batch.cols;
    v.sqnorms = batch.sqnorms;  // exact per-row values, already in double
    v.labels = batch.labels;
    GradCheckReport rep = gradcheck(twin, v, opts);

    xt::xtensor<float, 1> gf;
    xt::xtensor<double, 1> gd;
    model.loss_and_grad(batch.slice(0, rows), gf);
    twin.loss_and_grad(v, gd);
    double diff = 0.0, ref = 0.0;
    for (std::size_t k = 0; k < gd.size() && k < gf.size(); ++k) {
        diff += (static_cast<double>(gf(k)) - gd(k)) * (static_cast<double>(gf(k)) - gd(k));
        ref += gd(k) * gd(k);
    }
    rep.float_vs_double = ref > 0.0 ? std::sqrt(diff / ref) : std::sqrt(diff);
    return rep;
}

std::string format_gradcheck(const GradCheckReport& rep) {
    std::string out = "gradient check: " + rep.model + ", " + std::to_string(rep.batch_rows) +
                      " rows, central differences h = " + sci(rep.step) +
                      ", tolerance (max rel err) " + sci(rep.tolerance) + "\n";
    std::vector<std::vector<std::string>> cells;
    cells.push_back({"parameter", "shape", "checked", "max abs err", "max rel err", "result"});
    for (const auto& r : rep.rows)
        cells.push_back({r.block, shape_text(r.shape),
                         std::to_string(r.checked) + "/" + std::to_string(r.size),
                         sci(r.max_abs_err), sci(r.max_rel_err), r.pass ? "pass" : "FAIL"});
    std::vector<std::size_t> w(cells[0].size(), 0);
    for (const auto& row : cells)
        for (std::size_t j = 0; j < row.size(); ++j) w[j] = std::max(w[j], width(row[j]));
    for (const auto& row : cells) {
        std::string line;
        for (std::size_t j = 0; j < row.size(); ++j)
            line += j + 1 < row.size() ? pad(row[j], w[j] + 2) : row[j];
        out += line + "\n";
    }
    for (const auto& r : rep.rows)
        if (!r.pass)
            out += "  " + r.block + ": worst entry " + std::to_string(r.worst) + ", analytic " +
                   sci(r.analytic_at_worst) + " vs numeric " + sci(r.numeric_at_worst) +
                   " (denominator floor " + sci(r.floor) + ")\n";
    out += "loss " + sci(rep.loss) + " (loss() vs loss_and_grad() differ by " +
           sci(rep.loss_mismatch) + "); " + (rep.pass() ? "PASS" : "FAIL") + "\n";
    if (rep.float_vs_double >= 0.0)
        out += "checked in double; the float model's gradient differs from it by " +
               sci(rep.float_vs_double) + " (relative, 2-norm)\n";
    return out;
}

}  // namespace latentlab
