#include "latentlab/optim/lbfgs.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "latentlab/util/binary_io.hpp"
#include "latentlab/util/error.hpp"

namespace latentlab {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

template <class A, class B>
double dotv(const A& a, const B& b, std::size_t n) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    return s;
}

// Minimiser of the cubic through (a, fa, da) and (b, fb, db), or NaN.
double cubic_min(double a, double fa, double da, double b, double fb, double db) {
    const double d1 = da + db - 3.0 * (fa - fb) / (a - b);
    const double disc = d1 * d1 - da * db;
    if (!(disc >= 0)) return std::nan("");
    const double d2 = std::copysign(std::sqrt(disc), b - a);
    return b - (b - a) * (db + d2 - d1) / (db - da + 2.0 * d2);
}
}  // namespace

template <class T>
void Lbfgs<T>::step(xt::xtensor<T, 1>&, const xt::xtensor<T, 1>&, double) {
    throw ConfigError("optim.type lbfgs is a full-batch optimiser and has no minibatch step");
}

template <class T>
std::vector<double> Lbfgs<T>::direction(const xt::xtensor<T, 1>& g) const {
    const std::size_t n = g.size(), k = state_.s.size();
    std::vector<double> q(g.begin(), g.end()), a(k);
    for (std::size_t i = k; i-- > 0;) {
        a[i] = state_.rho[i] * dotv(state_.s[i], q, n);
        for (std::size_t j = 0; j < n; ++j) q[j] -= a[i] * state_.y[i][j];
    }
    double gamma;
    if (k > 0) {
        gamma = dotv(state_.s[k - 1], state_.y[k - 1], n) / dotv(state_.y[k - 1], state_.y[k - 1], n);
    } else {  // first iteration: a step of length at most 1 along −g
        const double gn = std::sqrt(dotv(g, g, n));
        gamma = gn > 1.0 ? 1.0 / gn : 1.0;
    }
    for (auto& v : q) v *= gamma;
    for (std::size_t i = 0; i < k; ++i) {
        const double b = state_.rho[i] * dotv(state_.y[i], q, n);
        for (std::size_t j = 0; j < n; ++j) q[j] += state_.s[i][j] * (a[i] - b);
    }
    for (auto& v : q) v = -v;
    return q;
}

template <class T>
bool Lbfgs<T>::iterate(xt::xtensor<T, 1>& x, double& f, xt::xtensor<T, 1>& g, const Objective<T>& fn) {
    const std::size_t n = x.size();
    const xt::xtensor<T, 1> x0 = x, g0 = g;
    const double f0 = f;
    std::vector<double> d = direction(g0);
    double d0 = dotv(g0, d, n);
    if (!(d0 < 0)) {  // not a descent direction: restart from steepest descent
        state_.s.clear();
        state_.y.clear();
        state_.rho.clear();
        d = direction(g0);
        d0 = dotv(g0, d, n);
    }

    // φ(a) = f(x0 + a d); evaluates into x, g; +∞ where the objective fails.
    xt::xtensor<T, 1> gt = g0;
    double last_a = -1, last_f = kInf;  // the point x, gt hold
    auto phi = [&](double a, double& fa, double& da) {
        last_a = a;
        for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<T>(static_cast<double>(x0[i]) + a * d[i]);
        ++state_.evaluations;
        try {
            fa = fn(gt);
        } catch (const NumericalError&) {
            fa = kInf;
        }
        if (!std::isfinite(fa)) {
            fa = last_f = kInf;
            da = kInf;
            return;
        }
        last_f = fa;
        da = dotv(gt, d, n);
    };

    // Best point satisfying sufficient decrease so far (fallback).
    double best_a = 0, best_f = f0;
    xt::xtensor<T, 1> best_g = g0;
    auto remember = [&](double a, double fa) {
        if (fa < best_f && fa <= f0 + opt_.c1 * a * d0) {
            best_a = a;
            best_f = fa;
            best_g = gt;
        }
    };

    double a_prev = 0, f_prev = f0, d_prev = d0, a = 1.0, accepted = -1;
    int evals = 0;
    auto zoom = [&](double lo, double flo, double dlo, double hi, double fhi, double dhi) {
        while (evals < opt_.max_evaluations) {
            double a_j = std::isfinite(fhi) && std::isfinite(dhi) ? cubic_min(lo, flo, dlo, hi, fhi, dhi) : std::nan("");
            const double left = std::min(lo, hi), right = std::max(lo, hi), w = right - left;
            if (!(a_j > left + 0.1 * w && a_j < right - 0.1 * w)) a_j = 0.5 * (lo + hi);
            double fj, dj;
            phi(a_j, fj, dj);
            ++evals;
            remember(a_j, fj);
            if (fj > f0 + opt_.c1 * a_j * d0 || fj >= flo) {
                hi = a_j;
                fhi = fj;
                dhi = dj;
            } else {
                if (std::abs(dj) <= -opt_.c2 * d0) return a_j;
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
    };

    for (int i = 1; evals < opt_.max_evaluations; ++i) {
        double fa, da;
        phi(a, fa, da);
        ++evals;
        remember(a, fa);
        if (fa > f0 + opt_.c1 * a * d0 || (i > 1 && fa >= f_prev)) {
            accepted = zoom(a_prev, f_prev, d_prev, a, fa, da);
            break;
        }
        if (std::abs(da) <= -opt_.c2 * d0) {
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
    if (accepted < 0) accepted = best_a;
    if (accepted <= 0) {
        x = x0;
        g = g0;
        f = f0;
        reason_ = "line search found no decrease (at a minimum to working precision)";
        return true;
    }
    if (accepted == last_a) {  // x and gt hold it already
        f = last_f;
        g = gt;
    } else if (accepted == best_a) {
        for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<T>(static_cast<double>(x0[i]) + accepted * d[i]);
        f = best_f;
        g = best_g;
    } else {
        double da;
        phi(accepted, f, da);  // re-evaluate so that x, f, g agree
        g = gt;
    }
    ++state_.iterations;
    state_.last_step = accepted;

    // Curvature pair.
    std::vector<double> s(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<double>(x[i]) - static_cast<double>(x0[i]);
        y[i] = static_cast<double>(g[i]) - static_cast<double>(g0[i]);
    }
    const double sy = dotv(s, y, n);
    if (sy > 1e-12 * std::sqrt(dotv(s, s, n) * dotv(y, y, n))) {
        if (state_.s.size() == opt_.history) {
            state_.s.erase(state_.s.begin());
            state_.y.erase(state_.y.begin());
            state_.rho.erase(state_.rho.begin());
        }
        state_.s.push_back(std::move(s));
        state_.y.push_back(std::move(y));
        state_.rho.push_back(1.0 / sy);
    }

    double gmax = 0;
    for (std::size_t i = 0; i < n; ++i) gmax = std::max(gmax, std::abs(static_cast<double>(g[i])));
    if (gmax <= opt_.grad_tol) {
        reason_ = "gradient norm below optim.grad_tol";
        return true;
    }
    if (f0 - f <= opt_.rel_tol * std::max({std::abs(f0), std::abs(f), 1.0})) {
        reason_ = "relative change below optim.rel_tol";
        return true;
    }
    return false;
}

template <class T>
void Lbfgs<T>::save_state(std::ostream& out) const {
    bin::put<std::int64_t>(out, state_.iterations);
    bin::put<std::int64_t>(out, state_.evaluations);
    bin::put<double>(out, state_.last_step);
    bin::put<std::uint64_t>(out, state_.s.size());
    for (std::size_t k = 0; k < state_.s.size(); ++k) {
        bin::put<std::uint64_t>(out, state_.s[k].size());
        out.write(reinterpret_cast<const char*>(state_.s[k].data()), static_cast<std::streamsize>(state_.s[k].size() * sizeof(double)));
        out.write(reinterpret_cast<const char*>(state_.y[k].data()), static_cast<std::streamsize>(state_.y[k].size() * sizeof(double)));
        bin::put<double>(out, state_.rho[k]);
    }
}

template <class T>
void Lbfgs<T>::load_state(std::istream& in) {
    state_ = {};
    state_.iterations = bin::get<std::int64_t>(in);
    state_.evaluations = bin::get<std::int64_t>(in);
    state_.last_step = bin::get<double>(in);
    const auto k = bin::get<std::uint64_t>(in);
    if (k > 10000) throw Error("checkpoint is corrupt");
    for (std::size_t i = 0; i < k; ++i) {
        const auto n = bin::get<std::uint64_t>(in);
        if (n > (std::uint64_t{1} << 34)) throw Error("checkpoint is corrupt");
        std::vector<double> s(n), y(n);
        if (!in.read(reinterpret_cast<char*>(s.data()), static_cast<std::streamsize>(n * sizeof(double))) ||
            !in.read(reinterpret_cast<char*>(y.data()), static_cast<std::streamsize>(n * sizeof(double))))
            throw Error("checkpoint is truncated");
        state_.s.push_back(std::move(s));
        state_.y.push_back(std::move(y));
        state_.rho.push_back(bin::get<double>(in));
    }
}

template class Lbfgs<float>;
template class Lbfgs<double>;

}  // namespace latentlab
