#include "latentlab/optim/sgd.hpp"

#include "latentlab/linalg/simd.hpp"
#include "latentlab/core/binary_io.hpp"

namespace latentlab {

namespace {

// Plain loops that the compiler vectorises, one clone per instruction set,
// without FMA contraction, so every clone gives the same bits (linalg/simd.hpp).

template <class T>
LATENTLAB_CLONES LATENTLAB_NO_CONTRACT void sgd_plain(std::size_t n, T* __restrict x,
                                                          const T* __restrict g, T eta, T wd) {
    for (std::size_t i = 0; i < n; ++i) x[i] -= eta * (g[i] + wd * x[i]);
}

template <class T>
LATENTLAB_CLONES LATENTLAB_NO_CONTRACT void sgd_momentum(std::size_t n, T* __restrict x,
                                                             const T* __restrict g, T* __restrict v,
                                                             T eta, T mu, T wd, bool nesterov) {
    if (nesterov) {
        for (std::size_t i = 0; i < n; ++i) {
            const T gi = g[i] + wd * x[i];
            v[i] = mu * v[i] + gi;
            x[i] -= eta * (gi + mu * v[i]);
        }
    } else {
        for (std::size_t i = 0; i < n; ++i) {
            const T gi = g[i] + wd * x[i];
            v[i] = mu * v[i] + gi;
            x[i] -= eta * v[i];
        }
    }
}

}  // namespace

template <class T>
Sgd<T>::Sgd(SgdOptions opt, std::size_t n) : opt_(opt) {
    state_.velocity = xt::zeros<T>({n});
}

template <class T>
void Sgd<T>::update(xt::xtensor<T, 1>& x, const xt::xtensor<T, 1>& g, double lr) {
    const T eta = static_cast<T>(lr), mu = static_cast<T>(opt_.momentum),
            wd = static_cast<T>(opt_.weight_decay);
    if (opt_.momentum == 0.0) return sgd_plain<T>(x.size(), x.data(), g.data(), eta, wd);
    sgd_momentum<T>(x.size(), x.data(), g.data(), state_.velocity.data(), eta, mu, wd, opt_.nesterov);
}

template <class T>
void Sgd<T>::save_state(std::ostream& out) const {
    bin::put_vec(out, state_.velocity);
}
template <class T>
void Sgd<T>::load_state(std::istream& in, std::size_t n) {
    SgdState<T> s;
    s.velocity = bin::get_vec<T>(in, n, "SGD's velocity");
    bin::require_end(in, "SGD's state");
    bin::require_finite(s.velocity, "SGD's velocity");
    state_ = std::move(s);
}

template class Sgd<float>;
template class Sgd<double>;

}  // namespace latentlab
