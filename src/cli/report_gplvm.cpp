// The GPLVM's report: the analytic maximum of the linear kernel (α, β fixed),
// PCA to q dimensions for comparison, and leave-one-out 1-NN errors.
#include <algorithm>

#include "latentlab/analysis/gplvm_optimum.hpp"
#include "latentlab/analysis/knn.hpp"
#include "latentlab/core/communicator.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/core/format.hpp"
#include "latentlab/train/metrics.hpp"
#include "report.hpp"

namespace latentlab::cli {

namespace {

template <class T>
class GplvmReport : public ModelReport<T> {
public:
    void check(const Config& cfg, const Dataset<T>& data, Model<T>&) override {
        q_ = static_cast<std::size_t>(cfg.model.latent_dim);
        // Under several processes: the second moment of every rank's rows, the
        // scores and labels gathered on rank 0 (which writes and scores them).
        const auto Y = data.train();
        pca_ = pca_from_second_moment(second_moment_all(Y));
        const xt::xtensor<double, 2> mine = pca_scores(Y, pca_, q_);
        all_pca_latent_ = gather_all(mine.data(), mine.size());
        if (data.has_labels()) labels_ = gather_all(Y.labels, Y.rows);
        if (data.has_labels() && world().rank() == 0)
            pca_knn_ = loo_1nn_error(all_pca_latent_.data(), labels_.size(), q_, labels_.data());
        if (cfg.model.kernel_name() == "linear" && !cfg.model.learn_hyperparameters) {
            const auto opt = linear_gplvm_optimum(Y, pca_, q_, cfg.model.variance, cfg.model.noise_variance);
            analytic_ = opt.log_likelihood;
            has_analytic_ = true;
        }
    }

    std::vector<std::string> outputs() const override { return {"pca_latent.npy", "labels.npy"}; }

    void prepare(const Config& cfg, const Dataset<T>& data, Model<T>&, const std::string& dir,
                 spdlog::logger& log) override {
        if (!cfg.data.center)
            log.warn("gplvm on uncentred data (data.center: false): the model has no mean function");
        const std::size_t N = data.train_all();
        write_npy(dir + "/pca_latent.npy", make_raw<double>(all_pca_latent_.data(), {N, q_}));
        if (data.has_labels()) {
            std::vector<double> lab(labels_.begin(), labels_.end());
            write_npy(dir + "/labels.npy", make_raw<double>(lab.data(), {N}));
        }
        if (has_analytic_)
            log.info("analytic maximum (alpha, beta fixed: probabilistic PCA): log-likelihood {:.10g}", analytic_);
    }

    std::vector<Callback<T>*> metrics() override { return {&log_likelihood_}; }

    void finish(const Config& cfg, const Dataset<T>& data, Model<T>& model, const TrainResult& result,
                const std::string&, spdlog::logger&, JsonObject& summary, Table& table) override {
        const auto Y = data.train();
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
            const xt::xtensor<double, 2> mine = model.template param<2>("X");  // in double
            const std::vector<double> X = gather_all(mine.data(), mine.size());
            const double knn = world().rank() == 0 ? loo_1nn_error(X.data(), labels_.size(), q_, labels_.data()) : 0;
            summary.set("knn_error", knn).set("pca_knn_error", pca_knn_);
            table.push_back({"1-NN error (GPLVM / PCA)", format_fixed(knn, 4) + " / " + format_fixed(pca_knn_, 4)});
        }
        summary.set("kernel", cfg.model.kernel_name());
        summary.set("method", cfg.model.method != "auto" ? cfg.model.method
                              : cfg.model.kernel_name() == "linear" ? "woodbury" : "dense");
        summary.set("iterations", result.epochs_done);

    }

private:
    std::size_t q_ = 0;
    Pca pca_;
    std::vector<double> all_pca_latent_;  // every rank's rows (rank 0)
    std::vector<std::int32_t> labels_;     // every rank's rows' labels (rank 0)
    double pca_knn_ = 0, analytic_ = 0;
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
