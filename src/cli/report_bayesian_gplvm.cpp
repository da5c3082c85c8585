// The variational Bayesian GPLVM's report: PCA to q dimensions for
// comparison, the bound's parts, the ARD relevance of each latent dimension
// and which are active, leave-one-out 1-NN errors of the means and of PCA,
// X_var.npy, and the predictive variance on a grid over the two most relevant
// dimensions (the background of the latent plot, as GPy's plot_latent).
#include <algorithm>
#include <memory>
#include <cmath>
#include <numeric>

#include <xtensor/xview.hpp>

#include "latentlab/analysis/knn.hpp"
#include "latentlab/core/format.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/pca.hpp"
#include "latentlab/models/bayesian_gplvm.hpp"
#include "latentlab/models/stochastic_bayesian_gplvm.hpp"
#include "latentlab/train/metrics.hpp"
#include "pca_reference.hpp"
#include "report.hpp"

namespace latentlab::cli {

namespace {

constexpr std::size_t kGrid = 60;       // variance_grid.npy is kGrid × kGrid
constexpr double kActiveFraction = 0.05;  // relevance ≥ this × the largest: "active"

template <class T>
class BayesianGplvmReport : public ModelReport<T> {
public:
    void check(const Config& cfg, const Dataset<T>& data, Model<T>& model) override {
        q_ = static_cast<std::size_t>(cfg.model.latent_dim);
        const auto Y = data.train();
        if (auto* s = dynamic_cast<StochasticBayesianGplvm<T>*>(&model)) {
            // Each epoch: the bound on all rows, their q(x) untouched.
            stochastic_ = std::make_unique<FullDataEvaluation<T>>(
                [s, Y](xt::xtensor<T, 1>& g) { return s->loss_and_global_grad(Y, g); }, "elbo",
                static_cast<double>(Y.rows));
        }
        reference_.compute(data, q_);
    }

    std::vector<std::string> outputs() const override {
        return {"pca_latent.npy", "labels.npy", "X_var.npy", "variance_grid.npy"};
    }

    void prepare(const Config& cfg, const Dataset<T>&, Model<T>&, const std::string& dir,
                 spdlog::logger& log) override {
        if (!cfg.data.center)
            log.warn("bayesian_gplvm on uncentred data (data.center: false): the model has no mean function");
        reference_.write(dir);
    }

    std::vector<Callback<T>*> metrics() override {
        if (stochastic_) return {stochastic_.get()};
        return {&elbo_};
    }

    void finish(const Config& cfg, const Dataset<T>& data, Model<T>& model, const TrainResult& result,
                const std::string& dir, spdlog::logger&, JsonObject& summary, Table& table) override {
        auto& bg = dynamic_cast<BayesianGplvm<T>&>(model);
        const auto Y = data.train();
        const std::size_t N = data.train_all(), q = q_;  // every process's rows
        const auto post = bg.posterior(Y);
        if (auto* s = dynamic_cast<StochasticBayesianGplvm<T>*>(&model)) {
            // The uncollapsed bound (explicit q(u)), and the collapsed one at
            // the same q(X), Z and kernel: the gap is q(u)'s distance from its optimum.
            const double elbo = s->elbo(Y);
            BayesianGplvm<T> collapsed(Y.rows, Y.cols, q, bg.options());
            collapsed.params() = xt::view(model.params(), xt::range(0, collapsed.num_params()));
            const double elbo_c = -collapsed.loss(Y);
            summary.set("elbo", elbo).set("collapsed_elbo", elbo_c);
            summary.set("elbo_per_point", elbo / static_cast<double>(N));
            table.push_back({"ELBO (uncollapsed, q(u) explicit)", format_g(elbo, 10)});
            table.push_back({"collapsed ELBO at the same q(X), Z, kernel", format_g(elbo_c, 10)});
        } else {
            const BoundTerms b = bg.last_bound();
            summary.set("elbo", b.elbo).set("data_term", b.data_term).set("kl", b.kl);
            summary.set("elbo_per_point", b.elbo / static_cast<double>(N));
            table.push_back({"ELBO (F - KL)", format_g(b.elbo, 10)});
            table.push_back({"KL(q(X) || p(X))", format_g(b.kl, 6)});
        }
        for (const auto& [k, v] : model.diagnostics()) {
            if (k == "elbo" || k == "kl") continue;
            summary.set(k, v);
            if (k != "jitter") table.push_back({k, format_g(v, 6)});
        }
        // ARD relevance (1/ℓ² or α) and the active dimensions, most relevant first.
        const std::vector<double> rel = bg.relevance();
        std::vector<std::size_t> order(q);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t c) { return rel[a] > rel[c]; });
        const double top = rel[order[0]];
        std::vector<double> active, ranked;
        std::string active_text;
        for (std::size_t j : order) {
            ranked.push_back(static_cast<double>(j));
            if (rel[j] >= kActiveFraction * top) {
                active.push_back(static_cast<double>(j));
                active_text += (active_text.empty() ? "" : " ") + std::to_string(j);
            }
        }
        summary.set("relevance", rel).set("dims_by_relevance", ranked).set("active_dims", active);
        summary.set("active_dim_count", active.size());
        table.push_back({"active latent dims (relevance >= " + format_g(kActiveFraction, 2) + " x max)",
                         active_text + " (" + std::to_string(active.size()) + " of " + std::to_string(q) + ")"});

        summary.set("inducing", bg.inducing());
        summary.set("kernel", cfg.model.kernel_name());
        summary.set("iterations", result.epochs_done);

        // X_var.npy, the 1-NN error of the means (every process's rows, on rank 0)
        const std::vector<double> mu_all = gather_rows(model.template param<2>("X_mean"));
        const xt::xtensor<double, 2> lv = model.template param<2>("X_log_var");
        const std::vector<double> var = gather_rows(xt::eval(xt::exp(lv)));
        if (world().rank() != 0) return;
        write_npy(dir + "/X_var.npy", make_raw<double>(var.data(), {N, q}));
        const auto mu = xt::adapt(mu_all, std::vector<std::size_t>{N, q});
        if (reference_.has_labels()) {
            const double knn = reference_.knn_error_of(mu_all);
            summary.set("knn_error", knn).set("pca_knn_error", reference_.knn_error());
            table.push_back({"1-NN error (means / PCA)",
                             format_fixed(knn, 4) + " / " + format_fixed(reference_.knn_error(), 4)});
        }

        // Predictive variance of f at x* on a grid over the two most relevant
        // dimensions (the others at 0): k(x*, x*) − k*ᵀ (Kmm⁻¹ − A⁻¹) k*
        // (Titsias 2009), A = Kmm + βΨ2.
        if (q >= 2) write_variance_grid(bg, post, order[0], order[1], mu, dir, summary);
    }

private:
    template <class Means>
    void write_variance_grid(BayesianGplvm<T>& bg, const typename BayesianGplvm<T>::Posterior& post, std::size_t a,
                             std::size_t c, const Means& mu, const std::string& dir,
                             JsonObject& summary) {
        const std::size_t q = q_, M = bg.inducing(), G = kGrid;
        const std::vector<double> Q = BayesianGplvm<T>::variance_reduction(post);  // Kmm⁻¹ − A⁻¹
        double lo[2], hi[2];
        const std::size_t dims[2] = {a, c};
        for (int k = 0; k < 2; ++k) {
            lo[k] = 1e300;
            hi[k] = -1e300;
            for (std::size_t n = 0; n < mu.shape()[0]; ++n) {
                lo[k] = std::min(lo[k], mu(n, dims[k]));
                hi[k] = std::max(hi[k], mu(n, dims[k]));
            }
            const double pad = 0.05 * (hi[k] - lo[k] + 1e-12);
            lo[k] -= pad;
            hi[k] += pad;
        }
        // k* for every grid point: Ψ1 with S = 0 is k(x*, Z).
        std::vector<double> X(G * G * q, 0.0), S(G * G * q, 0.0), Ks(G * G * M), KQ(G * G * M);
        for (std::size_t iy = 0; iy < G; ++iy)
            for (std::size_t ix = 0; ix < G; ++ix) {
                const std::size_t g = iy * G + ix;
                X[g * q + a] = lo[0] + (hi[0] - lo[0]) * static_cast<double>(ix) / static_cast<double>(G - 1);
                X[g * q + c] = lo[1] + (hi[1] - lo[1]) * static_cast<double>(iy) / static_cast<double>(G - 1);
            }
        PsiStatistics ps(post.kernel, post.Z.data(), M, q);
        ps.psi1(X.data(), S.data(), G * G, Ks.data());
        blas::gemm<double>(blas::Op::N, blas::Op::N, G * G, M, M, 1.0, Ks.data(), M, Q.data(), M, 0.0, KQ.data(), M);
        std::vector<double> v(G * G);
        for (std::size_t g = 0; g < G * G; ++g) {
            double kqk = 0, kss = 0;
            for (std::size_t m = 0; m < M; ++m) kqk += Ks[g * M + m] * KQ[g * M + m];
            if (post.kernel.type == PsiKernelType::rbf_ard) {
                kss = post.kernel.variance;
            } else {
                for (std::size_t j = 0; j < q; ++j) kss += post.kernel.scales[j] * X[g * q + j] * X[g * q + j];
            }
            v[g] = std::max(0.0, kss - kqk);
        }
        write_npy(dir + "/variance_grid.npy", make_raw<double>(v.data(), {G, G}));
        summary.set("plot_dims", std::vector<double>{static_cast<double>(a), static_cast<double>(c)});
        summary.set("variance_grid_extent", std::vector<double>{lo[0], hi[0], lo[1], hi[1]});
    }

    std::size_t q_ = 0;
    PcaReference reference_;
    LogLikelihoodMetric<T> elbo_{"elbo"};
    std::unique_ptr<FullDataEvaluation<T>> stochastic_;
};

}  // namespace

template <class T>
std::unique_ptr<ModelReport<T>> make_bayesian_gplvm_report() {
    return std::make_unique<BayesianGplvmReport<T>>();
}
template std::unique_ptr<ModelReport<float>> make_bayesian_gplvm_report<float>();
template std::unique_ptr<ModelReport<double>> make_bayesian_gplvm_report<double>();

}  // namespace latentlab::cli
