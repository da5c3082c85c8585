#include "latentlab/optim/adam.hpp"

#include <cmath>

#include "latentlab/linalg/simd.hpp"
#include "latentlab/core/binary_io.hpp"

namespace latentlab {

namespace {

// The update's scalars, folded once per step.
template <class T>
struct AdamCoeffs {
    T b1, c1, b2, c2;      // β₁, 1−β₁, β₂, 1−β₂
    T step, inv_sqrt_bc2;  // lr/(1−β₁ᵗ), 1/sqrt(1−β₂ᵗ)
    T eps, decay;          // ε, lr·λ
};

// Elements [i, n) one at a time. Every path computes each element with the
// same IEEE operations in the same order (no FMA contraction: simd.hpp), so
// the SIMD paths below are bit-identical to this one:
//   m ← β₁m + (1−β₁)g;  v ← β₂v + ((1−β₂)g)g;  x ← x − (step·m / (sqrt(v)·c + ε) + decay·x)
template <class T>
LATENTLAB_NO_CONTRACT void adam_scalar(std::size_t i, std::size_t n, T* x, const T* g, T* m, T* v,
                                       const AdamCoeffs<T>& k) {
    for (; i < n; ++i) {
        m[i] = k.b1 * m[i] + k.c1 * g[i];
        v[i] = k.b2 * v[i] + k.c2 * g[i] * g[i];
        x[i] -= k.step * m[i] / (simd::sqrt_ieee(v[i]) * k.inv_sqrt_bc2 + k.eps) + k.decay * x[i];
    }
}

#if LATENTLAB_HAVE_AVX512
// 16 floats or 8 doubles per iteration; the tail goes to adam_scalar.
template <class T>
LATENTLAB_AVX512 void adam_avx512(std::size_t n, T* x, const T* g, T* m, T* v, const AdamCoeffs<T>& k) {
    using S = simd::Avx512<T>;
    const auto b1 = S::set1(k.b1), c1 = S::set1(k.c1), b2 = S::set1(k.b2), c2 = S::set1(k.c2);
    const auto step = S::set1(k.step), isb = S::set1(k.inv_sqrt_bc2), eps = S::set1(k.eps),
               decay = S::set1(k.decay);
    std::size_t i = 0;
    for (; i + S::width <= n; i += S::width) {
        const auto gi = S::load(g + i);
        const auto mi = S::add(S::mul(b1, S::load(m + i)), S::mul(c1, gi));
        const auto vi = S::add(S::mul(b2, S::load(v + i)), S::mul(S::mul(c2, gi), gi));
        const auto xi = S::load(x + i);
        const auto upd = S::add(S::div(S::mul(step, mi), S::add(S::mul(S::sqrt(vi), isb), eps)),
                                S::mul(decay, xi));
        S::store(m + i, mi);
        S::store(v + i, vi);
        S::store(x + i, S::sub(xi, upd));
    }
    adam_scalar(i, n, x, g, m, v, k);
}
#endif

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
#if LATENTLAB_HAVE_AVX512
    if (simd::has_avx512())
        return adam_avx512(n, x.data(), g.data(), state_.m.data(), state_.v.data(), k);
#endif
    adam_scalar<T>(0, n, x.data(), g.data(), state_.m.data(), state_.v.data(), k);
}

template <class T>
void Adam<T>::save_state(std::ostream& out) const {
    bin::put<std::int64_t>(out, state_.t);
    bin::put_vec(out, state_.m);
    bin::put_vec(out, state_.v);
}
template <class T>
void Adam<T>::load_state(std::istream& in) {
    state_.t = bin::get<std::int64_t>(in);
    bin::get_vec(in, state_.m);
    bin::get_vec(in, state_.v);
}

template class Adam<float>;
template class Adam<double>;

}  // namespace latentlab
