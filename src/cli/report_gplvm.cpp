// The GPLVM's report: the analytic maximum of the linear kernel (α, β fixed),
// PCA to q dimensions for comparison, and leave-one-out 1-NN errors.
#include <algorithm>

#include "latentlab/analysis/gplvm_optimum.hpp"
#include "latentlab/analysis/knn.hpp"
#include "latentlab/core/communicator.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/models/gplvm.hpp"
#include "latentlab/core/format.hpp"
#include "latentlab/train/metrics.hpp"
#include "pca_reference.hpp"
#include "report.hpp"

namespace latentlab::cli {

namespace {

template <class T>
class GplvmReport : public ModelReport<T> {
public:
    void check(const Config& cfg, const Dataset<T>& data, Model<T>&) override {
        q_ = static_cast<std::size_t>(cfg.model.latent_dim);
        const auto Y = data.train();
        pca_ = reference_.compute(data, q_);
        if (cfg.model.kernel_name() == "linear" && !cfg.model.learn_hyperparameters) {
            const auto opt = linear_gplvm_optimum(Y, pca_, q_, cfg.model.variance, cfg.model.noise_variance);
            analytic_ = opt.log_likelihood;
            has_analytic_ = true;
        }
    }

    std::vector<std::string> outputs() const override { return {"pca_latent.npy", "labels.npy"}; }

    void prepare(const Config& cfg, const Dataset<T>&, Model<T>&, const std::string& dir,
                 spdlog::logger& log) override {
        if (!cfg.data.center)
            log.warn("gplvm on uncentred data (data.center: false): the model has no mean function");
        reference_.write(dir);
        if (has_analytic_)
            log.info("analytic maximum (alpha, beta fixed: probabilistic PCA): log-likelihood {:.10g}", analytic_);
    }

    std::vector<Callback<T>*> metrics() override { return {&log_likelihood_}; }

    void finish(const Config& cfg, const Dataset<T>& data, Model<T>& model, const TrainResult& result,
                const std::string&, spdlog::logger&, JsonObject& summary, Table& table) override {
        const auto Y = data.train();
        // Passes over Y by the training (the Woodbury products; the final loss below adds one)
        if (const auto* g = dynamic_cast<const Gplvm<T>*>(&model)) summary.set("passes_over_y", g->passes_over_y());
        const double ll = -model.loss(Y);
        summary.set("log_likelihood", ll);
        table.push_back({"log-likelihood", format_g(ll, 10)});
        if (has_analytic_) {
            summary.set("analytic_log_likelihood", analytic_).set("likelihood_gap", analytic_ - ll);
            summary.set("likelihood_gap_relative", (analytic_ - ll) / std::abs(analytic_));
            table.push_back({"analytic maximum (PPCA)", format_g(analytic_, 10)});
            table.push_back({"gap (analytic - achieved)", format_g(analytic_ - ll, 4)});
        }
        for (const auto& [k, v] : model.diagnostics()) {
            summary.set(k, v);
            if (k != "jitter" || v > 0) table.push_back({k, format_g(v, 6)});
        }
        if (data.has_labels()) {
            const std::vector<double> X = gather_rows(model.template param<2>("X"));
            const double knn = world().rank() == 0 ? reference_.knn_error_of(X) : 0;
            summary.set("knn_error", knn).set("pca_knn_error", reference_.knn_error());
            table.push_back({"1-NN error (GPLVM / PCA)",
                             format_fixed(knn, 4) + " / " + format_fixed(reference_.knn_error(), 4)});
        }
        summary.set("kernel", cfg.model.kernel_name());
        summary.set("method", cfg.model.method != "auto" ? cfg.model.method
                              : cfg.model.kernel_name() == "linear" ? "woodbury" : "dense");
        summary.set("iterations", result.epochs_done);

    }

private:
    std::size_t q_ = 0;
    Pca pca_;
    PcaReference reference_;
    double analytic_ = 0;
    bool has_analytic_ = false;
    LogLikelihoodMetric<T> log_likelihood_;
};

}  // namespace

template <class T>
std::unique_ptr<ModelReport<T>> make_gplvm_report() {
    return std::make_unique<GplvmReport<T>>();
}
template std::unique_ptr<ModelReport<float>> make_gplvm_report<float>();
template std::unique_ptr<ModelReport<double>> make_gplvm_report<double>();

}  // namespace latentlab::cli
