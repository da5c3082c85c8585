#include "latentlab/optim/adam.hpp"

#include <cmath>

#include "latentlab/util/binary_io.hpp"

namespace latentlab {

template <class T>
Adam<T>::Adam(AdamOptions opt, std::size_t n) : opt_(opt) {
    state_.m = xt::zeros<T>({n});
    state_.v = xt::zeros<T>({n});
}

template <class T>
void Adam<T>::step(xt::xtensor<T, 1>& x, const xt::xtensor<T, 1>& g, double lr) {
    state_.t += 1;
    const double bc1 = 1.0 - std::pow(opt_.beta1, static_cast<double>(state_.t));
    const double bc2 = 1.0 - std::pow(opt_.beta2, static_cast<double>(state_.t));
    // x -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps): the bias corrections folded
    // into two scalars, as in the paper's efficient form.
    const T b1 = static_cast<T>(opt_.beta1), b2 = static_cast<T>(opt_.beta2);
    const T step = static_cast<T>(lr / bc1), inv_sqrt_bc2 = static_cast<T>(1.0 / std::sqrt(bc2));
    const T eps = static_cast<T>(opt_.eps), decay = static_cast<T>(lr * opt_.weight_decay);
    const std::size_t n = x.size();
    T* xp = x.data();
    const T* gp = g.data();
    T* m = state_.m.data();
    T* v = state_.v.data();
    for (std::size_t i = 0; i < n; ++i) {
        m[i] = b1 * m[i] + (T(1) - b1) * gp[i];
        v[i] = b2 * v[i] + (T(1) - b2) * gp[i] * gp[i];
        xp[i] -= step * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps) + decay * xp[i];
    }
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
