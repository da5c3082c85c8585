// Elementwise activations and their derivatives (README, Reproducing the
// homework: Problems 1 and 3).
//
//   sigmoid  σ(z) = 1 / (1 + e^{−z})          σ'(z) = σ(z)(1 − σ(z))
//   tanh     tanh(z)                          tanh'(z) = 1 − tanh(z)²
//   relu     max(z, 0)                        relu'(z) = [z > 0]   (0 at the kink)
//   swish    swish(z) = z σ(z)                swish'(z) = swish(z) + σ(z)(1 − swish(z))
//   identity z                                1
//
// swish' is written in the homework's second form because it reuses the value
// swish(z) that the forward pass already holds: one exp per element on the way
// back, as for σ. (The first form, σ(z) + z σ(z)(1 − σ(z)), is equal; the
// derivation checker tests both.)
//
// Each activation is a pair of scalar inline functions `act::f(z)` and
// `act::f_grad(z)`, and the array versions below apply them over raw buffers
// in plain, branch-free loops. relu and identity vectorise at -O3; the exp- and
// tanh-based ones call libm per element unless the build allows vector libm
// (glibc libmvec needs -ffast-math), which is cheap next to the GEMMs around them.
#pragma once
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

namespace latentlab {

enum class Activation { identity, sigmoid, tanh, relu, swish };

// "identity" | "sigmoid" | "tanh" | "relu" | "swish"; throws OptionError
// naming the valid choices otherwise.
Activation activation_from_name(const std::string& name);
std::string activation_name(Activation a);
std::vector<std::string> activation_names();

namespace act {

// σ(z) = 1/(1 + e^{−z}) without a branch: for z → −∞, e^{−z} = inf and the
// result is 0 (no NaN); for z → +∞ it is 1.
template <class T>
inline T sigmoid(T z) { return T(1) / (T(1) + std::exp(-z)); }
template <class T>
inline T sigmoid_grad(T z) {
    const T s = sigmoid(z);
    return s * (T(1) - s);
}

template <class T>
inline T tanh(T z) { return std::tanh(z); }
template <class T>
inline T tanh_grad(T z) {
    const T t = std::tanh(z);
    return T(1) - t * t;
}

template <class T>
inline T relu(T z) { return z > T(0) ? z : T(0); }
template <class T>
inline T relu_grad(T z) { return z > T(0) ? T(1) : T(0); }

template <class T>
inline T swish(T z) { return z * sigmoid(z); }
// swish'(z) = swish(z) + σ(z)(1 − swish(z))
template <class T>
inline T swish_grad(T z) {
    const T s = sigmoid(z), w = z * s;
    return w + s * (T(1) - w);
}

template <class T>
inline T identity(T z) { return z; }
template <class T>
inline T identity_grad(T) { return T(1); }

// --- array pairs: out[i] = f(z[i]) and out[i] = f'(z[i]); out may equal z ---
template <class T> void sigmoid(const T* z, T* out, std::size_t n);
template <class T> void sigmoid_grad(const T* z, T* out, std::size_t n);
template <class T> void tanh(const T* z, T* out, std::size_t n);
template <class T> void tanh_grad(const T* z, T* out, std::size_t n);
template <class T> void relu(const T* z, T* out, std::size_t n);
template <class T> void relu_grad(const T* z, T* out, std::size_t n);
template <class T> void swish(const T* z, T* out, std::size_t n);
template <class T> void swish_grad(const T* z, T* out, std::size_t n);

}  // namespace act

// Scalar value and derivative of `a` at z (tests, derivation checks).
double activation_value(Activation a, double z);
double activation_derivative(Activation a, double z);

// --- runtime dispatch over buffers (what the models call) -------------------
// Each switch happens once per call, outside the loop.

// h[i] = f(z[i]); h may equal z.
template <class T>
void activate(Activation a, const T* z, T* h, std::size_t n);

// d[i] = f'(z[i]); d may equal z.
template <class T>
void activation_derivative(Activation a, const T* z, T* d, std::size_t n);

// The same given also h = f(z) from the forward pass, taking f' from h where
// that saves an exp (σ' = h(1 − h), tanh' = 1 − h², swish' = h + σ(z)(1 − h)).
// d may equal z or h (every element is read before it is written).
template <class T>
void activation_derivative(Activation a, const T* z, const T* h, T* d, std::size_t n);

// Backpropagation through h = f(z) given both z and h = f(z) from the forward
// pass: dz[i] = f'(z[i]) · dh[i], with f' from h where that saves an exp
// (σ' = h(1 − h), tanh' = 1 − h², swish' = h + σ(z)(1 − h)). dz may equal dh
// (every element is read before it is written).
template <class T>
void activation_backward(Activation a, const T* z, const T* h, const T* dh, T* dz, std::size_t n);

}  // namespace latentlab
