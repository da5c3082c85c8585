#include "latentlab/models/activations.hpp"

#include <iterator>

#include "latentlab/core/error.hpp"

namespace latentlab {

namespace {
const char* const kNames[] = {"identity", "sigmoid", "tanh", "relu", "swish"};
const Activation kValues[] = {Activation::identity, Activation::sigmoid, Activation::tanh,
                              Activation::relu, Activation::swish};
}  // namespace

Activation activation_from_name(const std::string& name) {
    for (std::size_t i = 0; i < 5; ++i)
        if (name == kNames[i]) return kValues[i];
    std::string list;
    for (const char* n : kNames) list += (list.empty() ? "" : " | ") + std::string(n);
    throw OptionError("activation", ": unknown activation '" + name + "' (expected " + list + ")");
}

std::string activation_name(Activation a) {
    for (std::size_t i = 0; i < 5; ++i)
        if (a == kValues[i]) return kNames[i];
    return "?";
}

std::vector<std::string> activation_names() { return {std::begin(kNames), std::end(kNames)}; }

double activation_value(Activation a, double z) {
    switch (a) {
        case Activation::identity: return act::identity(z);
        case Activation::sigmoid: return act::sigmoid(z);
        case Activation::tanh: return act::tanh(z);
        case Activation::relu: return act::relu(z);
        case Activation::swish: return act::swish(z);
    }
    return z;
}

double activation_derivative(Activation a, double z) {
    switch (a) {
        case Activation::identity: return act::identity_grad(z);
        case Activation::sigmoid: return act::sigmoid_grad(z);
        case Activation::tanh: return act::tanh_grad(z);
        case Activation::relu: return act::relu_grad(z);
        case Activation::swish: return act::swish_grad(z);
    }
    return 1.0;
}

namespace act {

// One plain loop per function: the scalar inline applied elementwise.
#define LATENTLAB_ACT_LOOP(fn)                                        \
    template <class T>                                                \
    void fn(const T* z, T* out, std::size_t n) {                      \
        for (std::size_t i = 0; i < n; ++i) out[i] = fn<T>(z[i]);     \
    }                                                                 \
    template void fn<float>(const float*, float*, std::size_t);       \
    template void fn<double>(const double*, double*, std::size_t);

LATENTLAB_ACT_LOOP(sigmoid)
LATENTLAB_ACT_LOOP(sigmoid_grad)
LATENTLAB_ACT_LOOP(tanh)
LATENTLAB_ACT_LOOP(tanh_grad)
LATENTLAB_ACT_LOOP(relu)
LATENTLAB_ACT_LOOP(relu_grad)
LATENTLAB_ACT_LOOP(swish)
LATENTLAB_ACT_LOOP(swish_grad)
#undef LATENTLAB_ACT_LOOP

}  // namespace act

template <class T>
void activate(Activation a, const T* z, T* h, std::size_t n) {
    switch (a) {
        case Activation::identity:
            if (h != z)
                for (std::size_t i = 0; i < n; ++i) h[i] = z[i];
            return;
        case Activation::sigmoid: return act::sigmoid(z, h, n);
        case Activation::tanh: return act::tanh(z, h, n);
        case Activation::relu: return act::relu(z, h, n);
        case Activation::swish: return act::swish(z, h, n);
    }
}

template <class T>
void activation_derivative(Activation a, const T* z, T* d, std::size_t n) {
    switch (a) {
        case Activation::identity:
            for (std::size_t i = 0; i < n; ++i) d[i] = T(1);
            return;
        case Activation::sigmoid: return act::sigmoid_grad(z, d, n);
        case Activation::tanh: return act::tanh_grad(z, d, n);
        case Activation::relu: return act::relu_grad(z, d, n);
        case Activation::swish: return act::swish_grad(z, d, n);
    }
}

template <class T>
void activation_derivative(Activation a, const T* z, const T* h, T* d, std::size_t n) {
    switch (a) {
        case Activation::identity:
            for (std::size_t i = 0; i < n; ++i) d[i] = T(1);
            return;
        case Activation::sigmoid:
            for (std::size_t i = 0; i < n; ++i) d[i] = h[i] * (T(1) - h[i]);
            return;
        case Activation::tanh:
            for (std::size_t i = 0; i < n; ++i) d[i] = T(1) - h[i] * h[i];
            return;
        case Activation::relu:
            for (std::size_t i = 0; i < n; ++i) d[i] = z[i] > T(0) ? T(1) : T(0);
            return;
        case Activation::swish:
            for (std::size_t i = 0; i < n; ++i) {
                const T s = act::sigmoid(z[i]);
                d[i] = h[i] + s * (T(1) - h[i]);
            }
            return;
    }
}

template <class T>
void activation_backward(Activation a, const T* z, const T* h, const T* dh, T* dz, std::size_t n) {
    switch (a) {
        case Activation::identity:
            if (dz != dh)
                for (std::size_t i = 0; i < n; ++i) dz[i] = dh[i];
            return;
        case Activation::sigmoid:  // σ' = σ(1 − σ)
            for (std::size_t i = 0; i < n; ++i) dz[i] = h[i] * (T(1) - h[i]) * dh[i];
            return;
        case Activation::tanh:  // tanh' = 1 − tanh²
            for (std::size_t i = 0; i < n; ++i) dz[i] = (T(1) - h[i] * h[i]) * dh[i];
            return;
        case Activation::relu:
            for (std::size_t i = 0; i < n; ++i) dz[i] = z[i] > T(0) ? dh[i] : T(0);
            return;
        case Activation::swish:  // swish' = swish + σ(1 − swish)
            for (std::size_t i = 0; i < n; ++i) {
                const T s = act::sigmoid(z[i]);
                dz[i] = (h[i] + s * (T(1) - h[i])) * dh[i];
            }
            return;
    }
}

template void activate<float>(Activation, const float*, float*, std::size_t);
template void activate<double>(Activation, const double*, double*, std::size_t);
template void activation_derivative<float>(Activation, const float*, float*, std::size_t);
template void activation_derivative<double>(Activation, const double*, double*, std::size_t);
template void activation_derivative<float>(Activation, const float*, const float*, float*,
                                           std::size_t);
template void activation_derivative<double>(Activation, const double*, const double*, double*,
                                            std::size_t);
template void activation_backward<float>(Activation, const float*, const float*, const float*,
                                         float*, std::size_t);
template void activation_backward<double>(Activation, const double*, const double*,
                                          const double*, double*, std::size_t);

}  // namespace latentlab
