// The tied autoencoders against PCA (README, Reproducing the homework: Problem 1;
// Baldi & Hornik 1989): L*, principal angles, orthonormality. For the linear
// model L* is its exact optimum and the per-epoch loss is computed exactly from
// the second moment; for the nonlinear f(Wᵀ f(W x)) the same numbers are
// reported for comparison only.
#include <algorithm>
#include <chrono>

#include "latentlab/analysis/pca.hpp"
#include "latentlab/analysis/principal_angles.hpp"
#include "latentlab/core/format.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/train/metrics.hpp"
#include "report.hpp"

namespace latentlab::cli {

namespace {

template <class T>
class AutoencoderReport : public ModelReport<T> {
public:
    explicit AutoencoderReport(bool linear) : linear_(linear) {}

    void check(const Config& cfg, const Dataset<T>& data, Model<T>&) override {
        const auto t0 = std::chrono::steady_clock::now();
        n_ = data.dim();
        m_ = static_cast<std::size_t>(cfg.model.latent_dim);
        samples_ = data.train_all();
        C_ = second_moment_all(data.train());  // every process's rows
        pca_ = pca_from_second_moment(C_, m_);
        optimum_ = optimal_ae_loss(pca_, m_, samples_);
        pca_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        // Exact full-data loss and gradient from C in O(m n²): free each epoch.
        // (The nonlinear model is evaluated by the loop.)
        if (linear_) exact_ = std::make_unique<ExactAutoencoderLoss<T>>(C_, m_, samples_);
    }

    std::vector<std::string> outputs() const override { return {"pca_components.npy", "pca_eigenvalues.npy"}; }

    void prepare(const Config&, const Dataset<T>&, Model<T>&, const std::string& dir, spdlog::logger& log) override {
        log.info("PCA (LAPACK, {}x{} second moment): optimal loss L* = {:.8f} ({:.2f}s)", n_, n_, optimum_,
                 pca_seconds_);
        write_npy(dir + "/pca_components.npy", make_raw<double>(top().data(), {m_, n_}));
        write_npy(dir + "/pca_eigenvalues.npy", make_raw<double>(pca_.eigenvalues.data(), {n_}));
    }

    std::vector<Callback<T>*> metrics() override {
        if (exact_) return {exact_.get()};
        return {};
    }

    double optimum() const override { return optimum_; }

    void finish(const Config&, const Dataset<T>& data, Model<T>& model, const TrainResult&, const std::string&,
                spdlog::logger&, JsonObject& summary, Table& table) override {
        const xt::xtensor<double, 2> W = model.template param<2>("W");  // in double
        Evaluation eval;
        if (linear_) {
            const auto e = ae_full_eval<double>(W.data(), m_, n_, C_, samples_);
            eval = {e.loss, e.grad_norm};
        } else {
            eval = evaluate_model(model, data.train(), true);
        }
        const auto angles = principal_angles_deg(W, top());
        double sum = 0, mx = 0;
        for (double a : angles) {
            sum += a;
            mx = std::max(mx, a);
        }
        double pca_var = 0, total = 0;
        for (std::size_t j = 0; j < n_; ++j) {
            total += pca_.eigenvalues(j);
            if (j < m_) pca_var += pca_.eigenvalues(j);
        }
        const double ratio = eval.loss / optimum_, ortho = orthonormality_error(W);
        const double var = variance_captured(W, C_);
        summary.set("final_loss", eval.loss).set("optimal_loss", optimum_).set("loss_ratio", ratio);
        summary.set("final_grad_norm", eval.grad_norm);
        summary.set("principal_angles_deg", angles);
        summary.set("max_principal_angle_deg", mx).set("mean_principal_angle_deg", sum / angles.size());
        summary.set("orthonormality_error", ortho);
        summary.set("variance_captured", var).set("pca_variance_captured", pca_var / total);
        if (!linear_) summary.set("pca_comparison", "reported only: L* is the optimum of the linear model");
        table = {{"final loss (train mean)", format_g(eval.loss, 8)},
                 {linear_ ? "optimal loss L* (PCA)" : "linear optimum L* (PCA)", format_g(optimum_, 8)},
                 {"loss ratio L/L*", format_fixed(ratio, 6)},
                 {"max principal angle", format_fixed(mx, 4) + " deg"},
                 {"mean principal angle", format_fixed(sum / angles.size(), 4) + " deg"},
                 {"||W W^T - I||_F", format_sci(ortho, 3)},
                 {"variance captured (W / PCA)", format_fixed(var, 6) + " / " + format_fixed(pca_var / total, 6)}};
    }

private:
    xt::xtensor<double, 2> top() const {
        auto t = xt::xtensor<double, 2>::from_shape({m_, n_});
        std::copy_n(pca_.components.data(), m_ * n_, t.data());
        return t;
    }
    bool linear_;
    std::size_t n_ = 0, m_ = 0, samples_ = 0;
    xt::xtensor<double, 2> C_;
    Pca pca_;
    double optimum_ = 0, pca_seconds_ = 0;
    std::unique_ptr<ExactAutoencoderLoss<T>> exact_;
};

}  // namespace

template <class T>
std::unique_ptr<ModelReport<T>> make_autoencoder_report(bool linear) {
    return std::make_unique<AutoencoderReport<T>>(linear);
}
template std::unique_ptr<ModelReport<float>> make_autoencoder_report<float>(bool);
template std::unique_ptr<ModelReport<double>> make_autoencoder_report<double>(bool);

}  // namespace latentlab::cli
