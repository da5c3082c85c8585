#include "latentlab/optim/adam.hpp"

#include <cmath>

#include "latentlab/linalg/simd.hpp"
#include "latentlab/core/binary_io.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/format.hpp"

namespace latentlab {

namespace {

// The update's scalars, folded once per step.
template <class T>
struct AdamCoeffs {
    T b1, c1, b2, c2;      // β₁, 1−β₁, β₂, 1−β₂
    T step, inv_sqrt_bc2;  // lr/(1−β₁ᵗ), 1/sqrt(1−β₂ᵗ)
    T eps, decay;          // ε, lr·λ
};

// Elements [i, n): a plain loop, vectorised per instruction set (linalg/simd.hpp).
// Every clone computes each element with the same IEEE operations in the same
// order (no FMA contraction), so all give the same bits:
//   m ← β₁m + (1−β₁)g;  v ← β₂v + ((1−β₂)g)g;  x ← x − (step·m / (sqrt(v)·c + ε) + decay·x)
template <class T>
LATENTLAB_CLONES LATENTLAB_NO_CONTRACT void adam_loop(std::size_t i, std::size_t n, T* __restrict x,
                                                     const T* __restrict g, T* __restrict m, T* __restrict v,
                                                     const AdamCoeffs<T>& k) {
    for (; i < n; ++i) {
        m[i] = k.b1 * m[i] + k.c1 * g[i];
        v[i] = k.b2 * v[i] + k.c2 * g[i] * g[i];
        x[i] -= k.step * m[i] / (std::sqrt(v[i]) * k.inv_sqrt_bc2 + k.eps) + k.decay * x[i];
    }
}


}  // namespace

template <class T>
Adam<T>::Adam(AdamOptions opt, std::size_t n) : opt_(opt) {
    state_.m = xt::zeros<T>({n});
    state_.v = xt::zeros<T>({n});
}

template <class T>
void Adam<T>::update(xt::xtensor<T, 1>& x, const xt::xtensor<T, 1>& g, double lr) {
    state_.t += 1;
    const double bc1 = 1.0 - std::pow(opt_.beta1, static_cast<double>(state_.t));
    const double bc2 = 1.0 - std::pow(opt_.beta2, static_cast<double>(state_.t));
    // x -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps): the bias corrections folded
    // into two scalars, as in the paper's efficient form.
    AdamCoeffs<T> k;
    k.b1 = static_cast<T>(opt_.beta1);
    k.b2 = static_cast<T>(opt_.beta2);
    k.c1 = T(1) - k.b1;
    k.c2 = T(1) - k.b2;
    k.step = static_cast<T>(lr / bc1);
    k.inv_sqrt_bc2 = static_cast<T>(1.0 / std::sqrt(bc2));
    k.eps = static_cast<T>(opt_.eps);
    k.decay = static_cast<T>(lr * opt_.weight_decay);
    const std::size_t n = x.size();
    adam_loop<T>(0, n, x.data(), g.data(), state_.m.data(), state_.v.data(), k);
}

template <class T>
void Adam<T>::save_state(std::ostream& out) const {
    bin::put<std::int64_t>(out, state_.t);
    bin::put_vec(out, state_.m);
    bin::put_vec(out, state_.v);
}
template <class T>
void Adam<T>::load_state(std::istream& in, std::size_t n) {
    AdamState<T> s;
    s.t = bin::get<std::int64_t>(in);
    // t enters the bias corrections as the double exponent of β^t: beyond
    // 2^53 it would not even be a count.
    bin::require_count(s.t, bin::kMaxExactCount, "Adam's step count t");
    s.m = bin::get_vec<T>(in, n, "Adam's m");
    s.v = bin::get_vec<T>(in, n, "Adam's v");
    bin::require_end(in, "Adam's state");
    bin::require_finite(s.m, "Adam's m");
    bin::require_finite(s.v, "Adam's v");
    // v is a running mean of g²: a negative entry is damage, and sqrt(v)
    // would turn it into a NaN at the first step.
    for (std::size_t i = 0; i < n; ++i)
        if (s.v(i) < 0)
            throw Error("Adam's v holds a negative value (" + format_g(static_cast<double>(s.v(i))) + " at entry " +
                        std::to_string(i) + ")");
    state_ = std::move(s);
}

template class Adam<float>;
template class Adam<double>;

}  // namespace latentlab
