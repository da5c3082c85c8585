// What the CLI knows about each model type beyond the generic loop: exact
// references computed before training (e.g. the PCA optimum of the linear
// AE) and written to the run directory, the metrics each epoch's record
// carries (train/metrics.hpp), and the summary.json keys and the printed
// table after training.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/logger.h>

#include "latentlab/config/config.hpp"
#include "latentlab/core/json.hpp"
#include "latentlab/data/dataset.hpp"
#include "latentlab/models/model.hpp"
#include "latentlab/train/trainer.hpp"

namespace latentlab::cli {

using Table = std::vector<std::pair<std::string, std::string>>;

template <class T>
class ModelReport {
public:
    virtual ~ModelReport() = default;
    // Before anything is written: checks that may refuse the run (throw) and
    // the references computed from the data. Writes nothing, logs nothing.
    virtual void check(const Config&, const Dataset<T>&, Model<T>&) {}
    // The files prepare() and finish() write into the run directory.
    virtual std::vector<std::string> outputs() const { return {}; }
    // Once the run directory exists: the references' files and log lines.
    virtual void prepare(const Config&, const Dataset<T>&, Model<T>&, const std::string& /*dir*/,
                         spdlog::logger&) {}
    // The exact optimum of the training loss, if known (progress shows L/L*).
    virtual double optimum() const { return 0.0; }
    // The metric callbacks of this model type (owned by the report).
    virtual std::vector<Callback<T>*> metrics() { return {}; }
    // After training: summary keys and table rows.
    virtual void finish(const Config&, const Dataset<T>&, Model<T>&, const TrainResult&,
                        const std::string& /*dir*/, spdlog::logger&, JsonObject&, Table&) {}
};

template <class T>
std::unique_ptr<ModelReport<T>> make_autoencoder_report(bool linear);
template <class T>
std::unique_ptr<ModelReport<T>> make_gplvm_report();
template <class T>
std::unique_ptr<ModelReport<T>> make_classifier_report();
template <class T>
std::unique_ptr<ModelReport<T>> make_bayesian_gplvm_report();

template <class T>
std::unique_ptr<ModelReport<T>> make_report(const Config& cfg) {
    if (cfg.model.type == "linear_autoencoder") return make_autoencoder_report<T>(true);
    if (cfg.model.type == "nonlinear_autoencoder") return make_autoencoder_report<T>(false);
    if (cfg.model.type == "mlp") return make_classifier_report<T>();
    if (cfg.model.type == "gplvm") return make_gplvm_report<T>();
    if (cfg.model.type == "bayesian_gplvm") return make_bayesian_gplvm_report<T>();
    return std::make_unique<ModelReport<T>>();
}

}  // namespace latentlab::cli
