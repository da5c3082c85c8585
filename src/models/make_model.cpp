#include "latentlab/models/make_model.hpp"

#include "latentlab/models/gplvm.hpp"
#include "latentlab/models/linear_autoencoder.hpp"
#include "latentlab/models/mlp.hpp"
#include "latentlab/models/nonlinear_autoencoder.hpp"
#include "latentlab/util/error.hpp"

namespace latentlab {

template <class T>
std::unique_ptr<Model<T>> make_model(const ModelConfig& cfg, std::size_t input_dim, std::size_t n_samples) {
    if (cfg.type == "gplvm") {
        GplvmOptions o;
        o.kernel = parse_kernel(cfg.kernel);
        if (cfg.method == "auto") o.method = o.kernel == KernelType::linear ? GplvmMethod::woodbury : GplvmMethod::dense;
        else o.method = cfg.method == "dense" ? GplvmMethod::dense : GplvmMethod::woodbury;
        o.learn_hyperparameters = cfg.learn_hyperparameters;
        o.variance = cfg.variance;
        o.lengthscale = cfg.lengthscale;
        o.noise_variance = cfg.noise_variance;
        o.init = cfg.init;
        o.init_scale = cfg.init_scale;
        return std::make_unique<Gplvm<T>>(n_samples, input_dim, static_cast<std::size_t>(cfg.latent_dim), o);
    }
    if (cfg.type == "mlp") {
        const Activation f = activation_from_name(cfg.activation == "auto" ? "swish" : cfg.activation);
        return std::make_unique<Mlp<T>>(input_dim, static_cast<std::size_t>(cfg.hidden),
                                        static_cast<std::size_t>(cfg.classes), f);
    }
    if (cfg.type == "nonlinear_autoencoder") {
        if (static_cast<std::size_t>(cfg.latent_dim) >= input_dim)
            throw ConfigError("model.latent_dim " + std::to_string(cfg.latent_dim) +
                              " must be smaller than the data dimension " + std::to_string(input_dim));
        const Activation f = activation_from_name(cfg.activation == "auto" ? "sigmoid" : cfg.activation);
        return std::make_unique<NonlinearAutoencoder<T>>(input_dim, static_cast<std::size_t>(cfg.latent_dim), f,
                                                         cfg.init_scale);
    }
    if (cfg.type == "linear_autoencoder") {
        if (static_cast<std::size_t>(cfg.latent_dim) >= input_dim)
            throw ConfigError("model.latent_dim " + std::to_string(cfg.latent_dim) +
                              " must be smaller than the data dimension " + std::to_string(input_dim));
        return std::make_unique<LinearAutoencoder<T>>(input_dim, static_cast<std::size_t>(cfg.latent_dim),
                                                      cfg.init_scale);
    }
    throw ConfigError("model.type: unknown model '" + cfg.type + "'");
}

template std::unique_ptr<Model<float>> make_model<float>(const ModelConfig&, std::size_t, std::size_t);
template std::unique_ptr<Model<double>> make_model<double>(const ModelConfig&, std::size_t, std::size_t);

}  // namespace latentlab
