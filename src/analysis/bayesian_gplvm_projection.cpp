#include "latentlab/analysis/bayesian_gplvm_projection.hpp"

#include <algorithm>
#include <cmath>

#include "latentlab/analysis/knn.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/models/variational_row.hpp"
#include "latentlab/optim/lbfgs.hpp"

namespace latentlab {

using blas::Op;

namespace {
constexpr double kLog2Pi = 1.8378770664093454836;

template <class T>
std::vector<double> as_double(const MatrixView<T>& V) {
    return std::vector<double>(V.data, V.data + V.rows * V.cols);
}
}  // namespace

template <class T>
BayesianGplvmProjection project(BayesianGplvm<T>& model, const MatrixView<T>& train, const MatrixView<T>& rows) {
    const std::size_t N = train.rows, D = train.cols, q = model.latent_dim(), M = model.inducing(), R = rows.rows;
    if (rows.cols != D)
        throw DataError("bayesian_gplvm: the data have " + std::to_string(rows.cols) +
                        " columns but the model was trained on " + std::to_string(D));
    typename BayesianGplvm<T>::Posterior post = model.posterior(train);
    PsiStatistics ps(post.kernel, post.Z.data(), M, q);
    ps.prepare(post.G2.data(), ps.zero_sums());
    const std::vector<double> Ynew = as_double(rows);

    // G1 = β² Y* Hᵀ for every new row at once (R×M).
    std::vector<double> G1(R * M);
    blas::gemm<double>(Op::N, Op::T, R, M, D, 1.0, Ynew.data(), D, post.beta2H.data(), D, 0.0, G1.data(), M);
    // Start: q(x) of the nearest training row.
    const std::vector<double> Ytrain = as_double(train);
    const std::vector<std::size_t> nearest = nearest_rows(Ytrain.data(), N, Ynew.data(), R, D);
    const auto mu_train = model.template param<2>("X_mean");
    const auto lv_train = model.template param<2>("X_log_var");

    BayesianGplvmProjection out;
    out.mean = xt::zeros<double>({R, q});
    out.variance = xt::zeros<double>({R, q});
    out.elbo.assign(R, 0.0);
    out.iterations.assign(R, 0);
    const double beta = post.beta, Dd = static_cast<double>(D);
    LbfgsOptions lo;
    lo.grad_tol = 1e-8;
    lo.rel_tol = 1e-14;
    // Rows in a fixed number of parts: each row's optimisation is the same
    // sequence of operations whichever thread runs it.
    const std::size_t parts = std::min<std::size_t>(R, 64);
    blas::parallel_for(parts, [&](std::size_t part) {
        for (std::size_t r = part * R / parts; r < (part + 1) * R / parts; ++r) {
            const double* y = Ynew.data() + r * D;
            const double constant = -0.5 * Dd * (kLog2Pi - std::log(beta)) - 0.5 * beta * blas::sqnorm<double>(D, y);
            xt::xtensor<double, 1> x = xt::zeros<double>({2 * q});
            for (std::size_t j = 0; j < q; ++j) {
                x(j) = static_cast<double>(mu_train(nearest[r], j));
                x(q + j) = static_cast<double>(lv_train(nearest[r], j));
            }
            Lbfgs<double> opt(lo);
            const Objective<double> f = [&](xt::xtensor<double, 1>& g) {
                if (g.size() != 2 * q) g = xt::zeros<double>({2 * q});
                return negative_row_bound(ps, post.G2.data(), post.g0, G1.data() + r * M, x.data(), g.data());
            };
            StepResult s;
            long it = 0;
            do {
                s = opt.step(x, f, 0.0);
            } while (!s.converged && ++it < 500);
            for (std::size_t j = 0; j < q; ++j) {
                out.mean(r, j) = x(j);
                out.variance(r, j) = std::exp(x(q + j));
            }
            out.elbo[r] = constant - s.end_loss;
            out.iterations[r] = it + (s.converged ? 1 : 0);
        }
    });
    return out;
}

template BayesianGplvmProjection project<float>(BayesianGplvm<float>&, const MatrixView<float>&,
                                                const MatrixView<float>&);
template BayesianGplvmProjection project<double>(BayesianGplvm<double>&, const MatrixView<double>&,
                                                 const MatrixView<double>&);

}  // namespace latentlab
