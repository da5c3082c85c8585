#include "latentlab/optim/line_search.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "latentlab/core/error.hpp"

namespace latentlab {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();


// Minimiser of the cubic through (a, fa, da) and (b, fb, db), or NaN.
double cubic_min(double a, double fa, double da, double b, double fb, double db) {
    const double d1 = da + db - 3.0 * (fa - fb) / (a - b);
    const double disc = d1 * d1 - da * db;
    if (!(disc >= 0)) return std::nan("");
    const double d2 = std::copysign(std::sqrt(disc), b - a);
    return b - (b - a) * (db + d2 - d1) / (db - da + 2.0 * d2);
}

// The search's state: φ(a) = f(x0 + a d) evaluated into x and gt.
template <class T>
class Search {
public:
    Search(xt::xtensor<T, 1>& x, const xt::xtensor<T, 1>& x0, double f0, const xt::xtensor<T, 1>& g0,
           const std::vector<double>& d, double d0, const Objective<T>& fn, const LineSearchOptions& opt,
           const VectorOps& ops)
        : x_(x), x0_(x0), d_(d), fn_(fn), opt_(opt), ops_(ops), n_(x.size()), f0_(f0), d0_(d0), gt_(g0), best_f_(f0),
          best_g_(g0) {}

    // Algorithm 3.5: expand the bracket by doubling until it holds a Wolfe
    // point, then zoom in. Returns the accepted step (or 0).
    double run() {
        double a_prev = 0, f_prev = f0_, d_prev = d0_, a = 1.0, accepted = -1;
        for (int i = 1; evals_ < opt_.max_evaluations; ++i) {
            double fa, da;
            phi(a, fa, da);
            ++evals_;
            remember(a, fa);
            if (fa > f0_ + opt_.c1 * a * d0_ || (i > 1 && fa >= f_prev)) {
                accepted = zoom(a_prev, f_prev, d_prev, a, fa, da);
                break;
            }
            if (std::abs(da) <= -opt_.c2 * d0_) {
                accepted = a;
                break;
            }
            if (da >= 0) {
                accepted = zoom(a, fa, da, a_prev, f_prev, d_prev);
                break;
            }
            a_prev = a;
            f_prev = fa;
            d_prev = da;
            a *= 2.0;
        }
        // The Wolfe point, or the best point with sufficient decrease.
        return accepted < 0 ? best_a_ : accepted;
    }

    // Leaves x, g, f at the accepted step a > 0.
    double settle(double a, xt::xtensor<T, 1>& g) {
        double f;
        if (a == last_a_) {  // x and gt hold it already
            f = last_f_;
            g = gt_;
        } else if (a == best_a_) {
            for (std::size_t i = 0; i < n_; ++i) x_[i] = static_cast<T>(static_cast<double>(x0_[i]) + a * d_[i]);
            f = best_f_;
            g = best_g_;
        } else {
            double da;
            phi(a, f, da);  // re-evaluate so that x, f, g agree
            g = gt_;
        }
        return f;
    }

    long evaluations() const { return evaluations_; }

private:
    // φ(a) and φ'(a); +∞ where the objective fails.
    void phi(double a, double& fa, double& da) {
        last_a_ = a;
        for (std::size_t i = 0; i < n_; ++i) x_[i] = static_cast<T>(static_cast<double>(x0_[i]) + a * d_[i]);
        ++evaluations_;
        try {
            fa = fn_(gt_);
        } catch (const NumericalError&) {
            fa = kInf;
        }
        if (!std::isfinite(fa)) {
            fa = last_f_ = kInf;
            da = kInf;
            return;
        }
        last_f_ = fa;
        da = ops_.dot(gt_, d_, n_);
    }

    // Keeps the best point satisfying sufficient decrease (the fallback).
    void remember(double a, double fa) {
        if (fa < best_f_ && fa <= f0_ + opt_.c1 * a * d0_) {
            best_a_ = a;
            best_f_ = fa;
            best_g_ = gt_;
        }
    }

    // Algorithm 3.6: shrink the bracket [lo, hi] to a Wolfe point.
    double zoom(double lo, double flo, double dlo, double hi, double fhi, double dhi) {
        while (evals_ < opt_.max_evaluations) {
            double a_j = std::isfinite(fhi) && std::isfinite(dhi) ? cubic_min(lo, flo, dlo, hi, fhi, dhi) : std::nan("");
            const double left = std::min(lo, hi), right = std::max(lo, hi), w = right - left;
            if (!(a_j > left + 0.1 * w && a_j < right - 0.1 * w)) a_j = 0.5 * (lo + hi);
            double fj, dj;
            phi(a_j, fj, dj);
            ++evals_;
            remember(a_j, fj);
            if (fj > f0_ + opt_.c1 * a_j * d0_ || fj >= flo) {
                hi = a_j;
                fhi = fj;
                dhi = dj;
            } else {
                if (std::abs(dj) <= -opt_.c2 * d0_) return a_j;
                if (dj * (hi - lo) >= 0) {
                    hi = lo;
                    fhi = flo;
                    dhi = dlo;
                }
                lo = a_j;
                flo = fj;
                dlo = dj;
            }
            if (std::abs(hi - lo) < 1e-16 * std::max(1.0, std::abs(lo))) break;
        }
        return -1.0;
    }

    xt::xtensor<T, 1>& x_;
    const xt::xtensor<T, 1>& x0_;
    const std::vector<double>& d_;
    const Objective<T>& fn_;
    const LineSearchOptions& opt_;
    VectorOps ops_;
    std::size_t n_;
    double f0_, d0_;
    xt::xtensor<T, 1> gt_;
    double last_a_ = -1, last_f_ = kInf;  // the point x, gt_ hold
    double best_a_ = 0, best_f_;
    xt::xtensor<T, 1> best_g_;
    int evals_ = 0;        // trial points of this search (the budget)
    long evaluations_ = 0; // objective evaluations, re-evaluation included
};
}  // namespace

template <class T>
LineSearchResult<T> strong_wolfe_search(xt::xtensor<T, 1>& x, xt::xtensor<T, 1>& g, const xt::xtensor<T, 1>& x0,
                                        double f0, const xt::xtensor<T, 1>& g0, const std::vector<double>& d,
                                        double d0, const Objective<T>& fn, const LineSearchOptions& opt,
                                        const VectorOps& ops) {
    Search<T> s(x, x0, f0, g0, d, d0, fn, opt, ops);
    LineSearchResult<T> r;
    r.step = s.run();
    if (r.step <= 0) {
        x = x0;
        g = g0;
        r.step = 0;
        r.f = f0;
    } else {
        r.f = s.settle(r.step, g);
    }
    r.evaluations = s.evaluations();
    return r;
}

template LineSearchResult<float> strong_wolfe_search<float>(xt::xtensor<float, 1>&, xt::xtensor<float, 1>&,
                                                            const xt::xtensor<float, 1>&, double,
                                                            const xt::xtensor<float, 1>&, const std::vector<double>&,
                                                            double, const Objective<float>&, const LineSearchOptions&,
                                                            const VectorOps&);
template LineSearchResult<double> strong_wolfe_search<double>(xt::xtensor<double, 1>&, xt::xtensor<double, 1>&,
                                                              const xt::xtensor<double, 1>&, double,
                                                              const xt::xtensor<double, 1>&, const std::vector<double>&,
                                                              double, const Objective<double>&,
                                                              const LineSearchOptions&, const VectorOps&);

}  // namespace latentlab
