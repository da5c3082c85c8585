#include "latentlab/config/build.hpp"

#include "latentlab/core/error.hpp"
#include "latentlab/data/sources.hpp"
#include "latentlab/models/bayesian_gplvm.hpp"
#include "latentlab/models/gplvm.hpp"
#include "latentlab/models/stochastic_bayesian_gplvm.hpp"
#include "latentlab/models/linear_autoencoder.hpp"
#include "latentlab/models/mlp.hpp"
#include "latentlab/models/nonlinear_autoencoder.hpp"
#include "latentlab/models/second_moment_autoencoder.hpp"
#include "latentlab/optim/adam.hpp"
#include "latentlab/optim/lbfgs.hpp"
#include "latentlab/optim/sgd.hpp"

namespace latentlab {

namespace {
// Runs `build`, naming the key `section.option` in an OptionError's message.
template <class F>
auto keyed(const char* section, F&& build) -> decltype(build()) {
    try {
        return build();
    } catch (const OptionError& e) {
        throw ConfigError(e.renamed(std::string(section) + "." + e.option));
    }
}

// A drawn row's q(x) in stochastic training: L-BFGS from its current value,
// at most 30 iterations (each row is revisited every epoch).
RowSolver lbfgs_row_solver() {
    return [](std::size_t dim, double* x, const std::function<double(const double*, double*)>& f) {
        LbfgsOptions lo;
        lo.grad_tol = 1e-6;
        lo.rel_tol = 1e-12;
        Lbfgs<double> opt(lo);
        xt::xtensor<double, 1> v = xt::adapt(x, dim, xt::no_ownership(), std::array<std::size_t, 1>{dim});
        const Objective<double> obj = [&](xt::xtensor<double, 1>& g) {
            if (g.size() != dim) g = xt::zeros<double>({dim});
            return f(v.data(), g.data());
        };
        for (int it = 0; it < 30; ++it)
            if (opt.step(v, obj, 0.0).converged) break;
        std::copy(v.begin(), v.end(), x);
    };
}

void check_latent_dim(const ModelConfig& cfg, std::size_t input_dim) {
    if (static_cast<std::size_t>(cfg.latent_dim) >= input_dim)
        throw ConfigError("model.latent_dim " + std::to_string(cfg.latent_dim) +
                          " must be smaller than the data dimension " + std::to_string(input_dim));
}
}  // namespace

template <class T>
Dataset<T> load_data(const DataConfig& cfg, std::uint64_t seed) {
    return keyed("data", [&] { return load_dataset<T>(cfg, seed); });
}

template <class T>
std::unique_ptr<Model<T>> make_model(const ModelConfig& cfg, std::size_t input_dim, std::size_t n_samples) {
    return keyed("model", [&]() -> std::unique_ptr<Model<T>> {
        if (cfg.type == "gplvm") {
            GplvmOptions o;
            o.kernel = parse_kernel(cfg.kernel_name());
            if (cfg.method == "auto")
                o.method = o.kernel == KernelType::linear ? GplvmMethod::woodbury : GplvmMethod::dense;
            else
                o.method = cfg.method == "dense" ? GplvmMethod::dense : GplvmMethod::woodbury;
            o.learn_hyperparameters = cfg.learn_hyperparameters;
            o.variance = cfg.variance;
            o.lengthscale = cfg.lengthscale;
            o.noise_variance = cfg.noise_variance;
            o.init = cfg.init;
            o.init_scale = cfg.init_scale;
            o.softplus = cfg.hyper_transform == "softplus";
            return std::make_unique<Gplvm<T>>(n_samples, input_dim, static_cast<std::size_t>(cfg.latent_dim), o);
        }
        if (cfg.type == "bayesian_gplvm") {
            BayesianGplvmOptions o;
            o.kernel = parse_kernel(cfg.kernel_name());
            o.inducing = static_cast<std::size_t>(cfg.inducing);
            o.variance = cfg.variance;
            o.alpha = cfg.variance;
            o.lengthscale = cfg.lengthscale;
            o.noise_variance = cfg.noise_variance;
            o.init = cfg.init;
            o.init_scale = cfg.init_scale;
            const auto q = static_cast<std::size_t>(cfg.latent_dim);
            if (cfg.inference == "collapsed") return std::make_unique<BayesianGplvm<T>>(n_samples, input_dim, q, o);
            auto m = std::make_unique<StochasticBayesianGplvm<T>>(n_samples, input_dim, q, o);
            m->row_solver = lbfgs_row_solver();
            return m;
        }
        if (cfg.type == "mlp") {
            const Activation f = activation_from_name(cfg.activation == "auto" ? "swish" : cfg.activation);
            return std::make_unique<Mlp<T>>(input_dim, static_cast<std::size_t>(cfg.hidden),
                                            static_cast<std::size_t>(cfg.classes), f);
        }
        if (cfg.type == "nonlinear_autoencoder") {
            check_latent_dim(cfg, input_dim);
            const Activation f = activation_from_name(cfg.activation == "auto" ? "sigmoid" : cfg.activation);
            return std::make_unique<NonlinearAutoencoder<T>>(input_dim, static_cast<std::size_t>(cfg.latent_dim), f,
                                                             cfg.init_scale);
        }
        if (cfg.type == "linear_autoencoder") {
            check_latent_dim(cfg, input_dim);
            if (cfg.objective == "second_moment")
                return std::make_unique<SecondMomentAutoencoder<T>>(
                    input_dim, static_cast<std::size_t>(cfg.latent_dim), cfg.init_scale, n_samples,
                    static_cast<int>(cfg.warm_start));
            return std::make_unique<LinearAutoencoder<T>>(input_dim, static_cast<std::size_t>(cfg.latent_dim),
                                                          cfg.init_scale);
        }
        throw ConfigError("model.type: unknown model '" + cfg.type + "'");
    });
}

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimConfig& cfg, std::size_t n) {
    if (cfg.type == "sgd") return std::make_unique<Sgd<T>>(SgdOptions{cfg.momentum, cfg.nesterov, cfg.weight_decay}, n);
    if (cfg.type == "adam")
        return std::make_unique<Adam<T>>(AdamOptions{cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay}, n);
    if (cfg.type == "lbfgs") {
        LbfgsOptions o;
        o.history = static_cast<std::size_t>(cfg.history);
        o.grad_tol = cfg.grad_tol;
        o.rel_tol = cfg.rel_tol;
        o.max_evaluations = cfg.max_evaluations;
        return std::make_unique<Lbfgs<T>>(o);
    }
    throw ConfigError("optim.type: unknown optimiser '" + cfg.type + "'");
}

Schedule make_schedule(const OptimConfig& cfg) {
    Schedule s;
    s.kind = cfg.schedule == "step"     ? Schedule::Kind::step
             : cfg.schedule == "cosine" ? Schedule::Kind::cosine
                                        : Schedule::Kind::constant;
    s.lr = cfg.lr;
    s.step_epochs = cfg.step_epochs;
    s.gamma = cfg.gamma;
    s.min_lr = cfg.min_lr;
    return s;
}

long run_length(const Config& cfg) {
    return cfg.optim.type == "lbfgs" ? cfg.optim.max_iterations : cfg.train.epochs;
}

template Dataset<float> load_data<float>(const DataConfig&, std::uint64_t);
template Dataset<double> load_data<double>(const DataConfig&, std::uint64_t);
template std::unique_ptr<Model<float>> make_model<float>(const ModelConfig&, std::size_t, std::size_t);
template std::unique_ptr<Model<double>> make_model<double>(const ModelConfig&, std::size_t, std::size_t);
template std::unique_ptr<Optimizer<float>> make_optimizer<float>(const OptimConfig&, std::size_t);
template std::unique_ptr<Optimizer<double>> make_optimizer<double>(const OptimConfig&, std::size_t);

}  // namespace latentlab
