// A line search satisfying the strong Wolfe conditions (Nocedal & Wright,
// Numerical Optimization, 2nd ed., Alg. 3.5 with zoom, Alg. 3.6; cubic
// interpolation, bisection as the safeguard):
//   f(x0 + a d) ≤ f0 + c1 a g0ᵀd,   |∇f(x0 + a d)ᵀd| ≤ c2 |g0ᵀd|.
// A trial point where the objective throws NumericalError (e.g. a kernel that
// is not positive definite) or is not finite counts as f = +∞, so the search
// backs off. If no Wolfe point is found within the budget, the best trial
// point with sufficient decrease is taken.
#pragma once
#include <vector>

#include "latentlab/optim/optimizer.hpp"

namespace latentlab {

struct LineSearchOptions {
    double c1 = 1e-4;          // sufficient decrease
    double c2 = 0.9;           // curvature
    int max_evaluations = 25;  // per search
};

template <class T>
struct LineSearchResult {
    double step = 0;      // accepted a; 0 when no point decreased f
    double f = 0;         // f(x0 + a d)
    long evaluations = 0; // objective evaluations made
};

// Searches along d from x0, where f(x0) = f0, ∇f(x0) = g0 and d0 = g0ᵀd < 0.
// On return x = x0 + a d and g = ∇f(x) for the accepted a (x = x0, g = g0
// when a = 0). The objective evaluates at x (the buffer it is handed).
template <class T>
LineSearchResult<T> strong_wolfe_search(xt::xtensor<T, 1>& x, xt::xtensor<T, 1>& g, const xt::xtensor<T, 1>& x0,
                                        double f0, const xt::xtensor<T, 1>& g0, const std::vector<double>& d,
                                        double d0, const Objective<T>& fn, const LineSearchOptions& opt,
                                        const VectorOps& ops = {});  // how ∇fᵀd is summed (L-BFGS passes its own)

}  // namespace latentlab
