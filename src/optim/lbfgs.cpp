#include "latentlab/optim/lbfgs.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "latentlab/core/binary_io.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/core/error.hpp"

namespace latentlab {

namespace {
template <class A, class B>
double dotv(const A& a, const B& b, std::size_t n) {
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
    return s;
}

}  // namespace

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
void Lbfgs<T>::forget() {
    state_.s.clear();
    state_.y.clear();
    state_.rho.clear();
}

// Keeps the pair (s, y) = (x − x0, g − g0) when sᵀy > 0 (relative to |s||y|),
// so that the implied inverse Hessian stays positive definite.
template <class T>
void Lbfgs<T>::update_history(const xt::xtensor<T, 1>& x0, const xt::xtensor<T, 1>& g0) {
    const std::size_t n = x0.size();
    std::vector<double> s(n), y(n);
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<double>(x_[i]) - static_cast<double>(x0[i]);
        y[i] = static_cast<double>(g_[i]) - static_cast<double>(g0[i]);
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
}

// "" while none of the stopping rules holds.
template <class T>
std::string Lbfgs<T>::stopping_rule(double f0) const {
    double gmax = 0;
    for (std::size_t i = 0; i < g_.size(); ++i) gmax = std::max(gmax, std::abs(static_cast<double>(g_[i])));
    if (gmax <= opt_.grad_tol) return "largest |gradient| entry below grad_tol";
    if (f0 - f_ <= opt_.rel_tol * std::max({std::abs(f0), std::abs(f_), 1.0}))
        return "relative decrease below rel_tol";
    return "";
}

template <class T>
StepResult Lbfgs<T>::step(xt::xtensor<T, 1>& x, const Objective<T>& fn, double /*lr*/) {
    const std::size_t n = x.size();
    // f and ∇f at x: from the last step when it ended here, else evaluated.
    if (x_.size() != n || std::memcmp(x_.data(), x.data(), n * sizeof(T)) != 0) {
        g_ = xt::zeros<T>({n});
        f_ = fn(g_);
    }
    const xt::xtensor<T, 1> x0 = x, g0 = g_;
    const double f0 = f_;
    StepResult r;
    r.loss = f0;

    std::vector<double> d = direction(g0);
    double d0 = dotv(g0, d, n);
    if (!(d0 < 0)) {  // not a descent direction: restart from steepest descent
        forget();
        d = direction(g0);
        d0 = dotv(g0, d, n);
    }
    const auto ls = strong_wolfe_search<T>(x, g_, x0, f0, g0, d, d0, fn, opt_.line_search);
    state_.evaluations += ls.evaluations;
    f_ = ls.f;
    x_ = x;
    r.end_loss = f_;
    r.end_grad_norm = std::sqrt(blas::sqnorm<T>(n, g_.data()));
    if (ls.step <= 0) {
        r.converged = true;
        r.stop_reason = "line search found no decrease (at a minimum to working precision)";
        return r;
    }
    ++state_.iterations;
    state_.last_step = ls.step;
    update_history(x0, g0);
    r.stop_reason = stopping_rule(f0);
    r.converged = !r.stop_reason.empty();
    return r;
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
    x_ = xt::xtensor<T, 1>();  // evaluate afresh at the restored parameters
    state_.iterations = bin::get<std::int64_t>(in);
    state_.evaluations = bin::get<std::int64_t>(in);
    state_.last_step = bin::get<double>(in);
    const auto k = bin::get<std::uint64_t>(in);
    if (k > 10000) throw Error("checkpoint is corrupt");
    for (std::size_t i = 0; i < k; ++i) {
        const auto n = bin::get<std::uint64_t>(in);
        if (n > (std::uint64_t{1} << 34)) throw Error("checkpoint is corrupt");
        bin::check_available(in, 2 * n * sizeof(double));  // before allocating s and y
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
