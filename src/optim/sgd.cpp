#include "latentlab/optim/sgd.hpp"

#include "latentlab/util/binary_io.hpp"

namespace latentlab {

template <class T>
Sgd<T>::Sgd(SgdOptions opt, std::size_t n) : opt_(opt) {
    state_.velocity = xt::zeros<T>({n});
}

template <class T>
void Sgd<T>::step(xt::xtensor<T, 1>& x, const xt::xtensor<T, 1>& g, double lr) {
    const std::size_t n = x.size();
    T* xp = x.data();
    const T* gp = g.data();
    T* v = state_.velocity.data();
    const T eta = static_cast<T>(lr), mu = static_cast<T>(opt_.momentum),
            wd = static_cast<T>(opt_.weight_decay);
    if (opt_.momentum == 0.0) {
        for (std::size_t i = 0; i < n; ++i) xp[i] -= eta * (gp[i] + wd * xp[i]);
        return;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const T gi = gp[i] + wd * xp[i];
        v[i] = mu * v[i] + gi;
        xp[i] -= eta * (opt_.nesterov ? gi + mu * v[i] : v[i]);
    }
}

template <class T>
void Sgd<T>::save_state(std::ostream& out) const {
    bin::put_vec(out, state_.velocity);
}
template <class T>
void Sgd<T>::load_state(std::istream& in) {
    bin::get_vec(in, state_.velocity);
}

template class Sgd<float>;
template class Sgd<double>;

}  // namespace latentlab
