#include "latentlab/optim/lbfgs.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "latentlab/core/binary_io.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/format.hpp"

namespace latentlab {


template <class T>
std::vector<double> Lbfgs<T>::direction(const xt::xtensor<T, 1>& g) const {
    const std::size_t n = g.size(), k = state_.s.size();
    std::vector<double> q(g.begin(), g.end()), a(k);
    for (std::size_t i = k; i-- > 0;) {
        a[i] = state_.rho[i] * this->ops_.dot(state_.s[i], q, n);
        for (std::size_t j = 0; j < n; ++j) q[j] -= a[i] * state_.y[i][j];
    }
    double gamma;
    if (k > 0) {
        gamma = this->ops_.dot(state_.s[k - 1], state_.y[k - 1], n) / this->ops_.dot(state_.y[k - 1], state_.y[k - 1], n);
    } else {  // first iteration: a step of length at most 1 along −g
        const double gn = std::sqrt(this->ops_.dot(g, g, n));
        gamma = gn > 1.0 ? 1.0 / gn : 1.0;
    }
    for (auto& v : q) v *= gamma;
    for (std::size_t i = 0; i < k; ++i) {
        const double b = state_.rho[i] * this->ops_.dot(state_.y[i], q, n);
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
    const double sy = this->ops_.dot(s, y, n);
    if (sy > 1e-12 * std::sqrt(this->ops_.dot(s, s, n) * this->ops_.dot(y, y, n))) {
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
    const double gmax = this->ops_.max_abs(g_, g_.size());
    if (gmax <= opt_.grad_tol) return "largest |gradient| entry below grad_tol";
    if (f0 - f_ <= opt_.rel_tol * std::max({std::abs(f0), std::abs(f_), 1.0}))
        return "relative decrease below rel_tol";
    return "";
}

template <class T>
long Lbfgs<T>::evaluations_left() const {
    return opt_.max_evaluations > 0 ? std::max(0L, opt_.max_evaluations - state_.evaluations)
                                    : std::numeric_limits<long>::max();
}

template <class T>
StepResult Lbfgs<T>::step(xt::xtensor<T, 1>& x, const Objective<T>& fn, double /*lr*/) {
    const std::size_t n = x.size();
    StepResult r;
    auto spent = [&] {
        r.budget_spent = true;
        r.stop_reason = "evaluation budget used up (optim.max_evaluations " + std::to_string(opt_.max_evaluations) + ")";
        return r;
    };
    // f and ∇f at x: from the last step when it ended here, else evaluated
    // (counted at the start of a run; a resumed run's start was counted).
    if (x_.size() != n || std::memcmp(x_.data(), x.data(), n * sizeof(T)) != 0) {
        g_ = xt::zeros<T>({n});
        f_ = fn(g_);
        if (state_.evaluations == 0) state_.evaluations = 1;
    }
    const xt::xtensor<T, 1> x0 = x, g0 = g_;
    const double f0 = f_;
    r.loss = r.end_loss = f0;
    r.end_grad_norm = std::sqrt(this->ops_.spread ? this->ops_.dot(g_, g_, n) : blas::sqnorm<T>(n, g_.data()));

    // One search along the L-BFGS direction; where it finds no decrease
    // with curvature pairs in use, L-BFGS-B's recovery (Byrd, Lu, Nocedal &
    // Zhu 1995; Zhu et al. 1997, Alg. 778): forget the pairs and search once
    // more along steepest descent. Each search stays within the budget.
    LineSearchResult<T> ls;
    for (int attempt = 0; attempt < 2; ++attempt) {
        std::vector<double> d = direction(g0);
        double d0 = this->ops_.dot(g0, d, n);
        if (!(d0 < 0)) {  // not a descent direction: restart from steepest descent
            forget();
            d = direction(g0);
            d0 = this->ops_.dot(g0, d, n);
        }
        const long left = evaluations_left();
        if (left == 0) return spent();
        LineSearchOptions lso = opt_.line_search;
        if (left < lso.max_evaluations) lso.max_evaluations = static_cast<int>(left);
        if (this->on_line) this->on_line(x0.data(), d.data());
        struct EndLine {  // an exception ends the line too
            const std::function<bool(const T*, const double*)>* hook;
            ~EndLine() {
                if (hook && *hook) (*hook)(nullptr, nullptr);
            }
        } end_line{&this->on_line};
        ls = strong_wolfe_search<T>(x, g_, x0, f0, g0, d, d0, fn, lso, this->ops_);
        end_line.hook = nullptr;
        state_.evaluations += ls.evaluations;
        if (this->on_line && this->on_line(x.data(), nullptr) && ls.step > 0 && evaluations_left() > 0) {
            // The model's value at the accepted point was not a fresh
            // evaluation: take one, so that the next step starts from what a
            // resumed run (which evaluates here afresh) starts from. Within
            // the budget: with none left the run ends here anyway.
            ls.f = fn(g_);
            ++state_.evaluations;
        }
        if (ls.step > 0 || state_.s.empty()) break;
        forget();
    }
    f_ = ls.f;
    x_ = x;
    r.end_loss = f_;
    r.end_grad_norm = std::sqrt(this->ops_.spread ? this->ops_.dot(g_, g_, n) : blas::sqnorm<T>(n, g_.data()));
    if (ls.step <= 0) {
        if (evaluations_left() == 0) return spent();
        r.converged = true;
        r.stop_reason = "line search found no decrease (at a minimum to working precision)";
        return r;
    }
    ++state_.iterations;
    state_.last_step = ls.step;
    update_history(x0, g0);
    r.stop_reason = stopping_rule(f0);
    r.converged = !r.stop_reason.empty();
    if (!r.converged && evaluations_left() == 0) return spent();
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
void Lbfgs<T>::load_state(std::istream& in, std::size_t n) {
    LbfgsState<T> s;
    s.iterations = bin::get<std::int64_t>(in);
    s.evaluations = bin::get<std::int64_t>(in);
    s.last_step = bin::get<double>(in);
    bin::require_count(s.iterations, bin::kMaxExactCount, "L-BFGS iteration count");
    bin::require_count(s.evaluations, bin::kMaxExactCount, "L-BFGS evaluation count");
    if (!(std::isfinite(s.last_step) && s.last_step >= 0))
        throw Error("L-BFGS last step length " + format_g(s.last_step) + " is not a finite number >= 0");
    const auto k = bin::get<std::uint64_t>(in);
    if (k > opt_.history)
        throw Error("L-BFGS history holds " + std::to_string(k) + " curvature pairs, more than the " +
                    std::to_string(opt_.history) + " this optimiser keeps (was its history length lowered?)");
    for (std::uint64_t i = 0; i < k; ++i) {
        const std::string pair = "L-BFGS pair " + std::to_string(i + 1) + " of " + std::to_string(k);
        // direction() reads n entries of every pair: a shorter one would be
        // read past its end, a longer one would not be the model's.
        const auto len = bin::get<std::uint64_t>(in);
        if (len != n)
            throw Error(pair + " has " + std::to_string(len) + " entries, the model has " + std::to_string(n) +
                        " parameters");
        std::vector<double> sv = bin::get_array<double>(in, len, pair + " (s)");
        std::vector<double> yv = bin::get_array<double>(in, len, pair + " (y)");
        const double rho = bin::get<double>(in);
        bin::require_finite(sv, pair + ": s");
        bin::require_finite(yv, pair + ": y");
        // rho = 1/(s'y), and a pair is kept only when s'y > 0.
        if (!(std::isfinite(rho) && rho > 0))
            throw Error(pair + ": rho " + format_g(rho) + " is not a finite positive number");
        s.s.push_back(std::move(sv));
        s.y.push_back(std::move(yv));
        s.rho.push_back(rho);
    }
    bin::require_end(in, "L-BFGS's state");
    state_ = std::move(s);
    x_ = xt::xtensor<T, 1>();  // evaluate afresh at the restored parameters
}

template class Lbfgs<float>;
template class Lbfgs<double>;

}  // namespace latentlab
