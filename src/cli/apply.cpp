#include "apply.hpp"
#include "run_directory.hpp"

#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <thread>
#include <type_traits>

#include "latentlab/analysis/bayesian_gplvm_projection.hpp"
#include "latentlab/analysis/gplvm_projection.hpp"
#include "latentlab/config/build.hpp"
#include "latentlab/config/config.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/files.hpp"
#include "latentlab/core/json.hpp"
#include "latentlab/data/sources.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/models/bayesian_gplvm.hpp"
#include "latentlab/models/gplvm.hpp"

namespace latentlab::cli {

namespace fs = std::filesystem;

namespace {

// The trained parameters from the run's <block>.npy files.
template <class T>
void load_parameters(const std::string& dir, Model<T>& model) {
    for (const auto& b : model.blocks()) {
        const std::string path = dir + "/" + b.name + ".npy";
        if (!file_exists(path)) throw DataError(path + ": missing (the run wrote no parameters; did it finish an epoch?)");
        const RawTensor t = read_npy(path);
        if (t.shape != b.shape)
            throw DataError(path + ": shape does not match the run's config (another run's file?)");
        for (std::size_t i = 0; i < b.size(); ++i) model.params()(b.offset + i) = static_cast<T>(t.at(i));
    }
}

template <class T>
int apply_typed(const ApplyOptions& opt, const Config& cfg) {
    const long cores = static_cast<long>(std::max(1u, std::thread::hardware_concurrency()));
    blas::set_threads(static_cast<int>(std::min(cfg.train.threads, cores)));
    // The new rows, prepared as the training rows were, in input order.
    DataConfig dc = cfg.data;
    dc.path = opt.data;
    dc.labels = opt.labels;
    dc.source = file_format(opt.data);
    dc.limit = 0;
    dc.test_fraction = 0;
    dc.center = false;
    dc.shuffle = false;
    // The run's scale as applied (summary.json data_scale), not one guessed
    // again from the new file's type (u8 IDX scales by 1/255, a float .npy not).
    const std::string run_summary = file_exists(opt.run_dir + "/summary.json") ? read_file(opt.run_dir + "/summary.json") : "";
    if (const auto at = run_summary.find("\"data_scale\": "); at != std::string::npos)
        dc.scale = std::stod(run_summary.substr(at + 14));
    Dataset<T> rows = load_data<T>(dc, 0);
    const std::string mean_path = opt.run_dir + "/mean.npy";
    if (file_exists(mean_path)) {
        const RawTensor mean = read_npy(mean_path);
        if (mean.size() != rows.dim())
            throw DataError(opt.data + ": " + std::to_string(rows.dim()) + " columns, the run was trained on " +
                            std::to_string(mean.size()));
        for (std::size_t i = 0; i < rows.X.shape()[0]; ++i)
            for (std::size_t j = 0; j < rows.dim(); ++j) rows.X(i, j) = static_cast<T>(rows.X(i, j) - mean.at(j));
        for (std::size_t i = 0; i < rows.X.shape()[0]; ++i)
            rows.sqnorms[i] = blas::sqnorm<T>(rows.dim(), rows.X.data() + i * rows.dim());
        rows.levels = {};  // no longer the rows' bytes' values
    }

    // The dimension the run was trained on (summary.json "dim").
    const auto at = run_summary.find("\"dim\": ");
    if (at != std::string::npos) {
        const std::size_t dim = std::stoul(run_summary.substr(at + 7));
        if (dim != rows.dim())
            throw DataError(opt.data + ": " + std::to_string(rows.dim()) + " columns, but the run was trained on " +
                            std::to_string(dim));
    }

    JsonObject summary;
    summary.set("run", opt.run_dir).set("data", opt.data).set("rows", rows.n_train).set("model", cfg.model.type);
    std::vector<typename Model<T>::Output> outputs;
    // A GPLVM's projection needs the training rows, in training order: the
    // run's config draws them again.
    auto trained_on_rows = [&](std::unique_ptr<Model<T>>& model) {
        Dataset<T> train = load_data<T>(cfg.data, static_cast<std::uint64_t>(cfg.seed));
        model = make_model<T>(cfg.model, train.dim(), train.n_train);
        load_parameters(opt.run_dir, *model);
        if (rows.dim() != train.dim())
            throw DataError(opt.data + ": " + std::to_string(rows.dim()) + " columns, the run was trained on " +
                            std::to_string(train.dim()));
        return train;
    };
    if (cfg.model.type == "gplvm") {
        std::unique_ptr<Model<T>> model;
        const Dataset<T> train = trained_on_rows(model);
        auto& gp = dynamic_cast<Gplvm<T>&>(*model);
        if (gp.kernel_params().type != KernelType::linear) gp.loss(train.train());  // the jitter training needed
        const GplvmProjection p = project(gp, train.train(), rows.all());
        outputs.push_back({"latent", make_raw<double>(p.latent.data(), {p.latent.shape()[0], p.latent.shape()[1]})});
        outputs.push_back({"log_likelihood", make_raw<double>(p.log_likelihood.data(), {p.log_likelihood.size()})});
        double sum = 0;
        for (double v : p.log_likelihood) sum += v;
        summary.set("mean_log_likelihood", p.log_likelihood.empty() ? 0.0 : sum / static_cast<double>(p.log_likelihood.size()));
    } else if (cfg.model.type == "bayesian_gplvm") {
        std::unique_ptr<Model<T>> model;
        const Dataset<T> train = trained_on_rows(model);
        auto& gp = dynamic_cast<BayesianGplvm<T>&>(*model);
        const BayesianGplvmProjection p = project(gp, train.train(), rows.all());
        const std::size_t R = p.mean.shape()[0], q = p.mean.shape()[1];
        outputs.push_back({"X_mean", make_raw<double>(p.mean.data(), {R, q})});
        outputs.push_back({"X_var", make_raw<double>(p.variance.data(), {R, q})});
        outputs.push_back({"elbo", make_raw<double>(p.elbo.data(), {R})});
        double sum = 0;
        for (double v : p.elbo) sum += v;
        summary.set("mean_elbo", R ? sum / static_cast<double>(R) : 0.0);
    } else {
        auto model = make_model<T>(cfg.model, rows.dim(), rows.n_train);
        load_parameters(opt.run_dir, *model);
        outputs = model->apply(rows.all());
        for (const auto& o : outputs) {
            if (o.name == "reconstruction_loss" || o.name == "correct") {
                double sum = 0;
                for (std::size_t i = 0; i < o.values.size(); ++i) sum += o.values.at(i);
                const double mean = o.values.size() ? sum / static_cast<double>(o.values.size()) : 0.0;
                summary.set(o.name == "correct" ? "accuracy" : "mean_reconstruction_loss", mean);
            }
        }
    }

    // Written only now that everything worked: nothing half-done on failure.
    make_directories(opt.out_dir);
    for (const auto& o : outputs) write_npy(opt.out_dir + "/" + o.name + ".npy", o.values);
    write_file_atomic(opt.out_dir + "/apply.json", summary.dump());
    std::printf("%s\n", summary.dump().c_str());
    return 0;
}

}  // namespace

int apply(const ApplyOptions& opt) {
    if (!is_directory(opt.run_dir) || !file_exists(opt.run_dir + "/config.yaml"))
        throw DataError(opt.run_dir + ": not a run directory (no config.yaml)");
    if (file_exists(opt.out_dir)) {
        if (!is_directory(opt.out_dir)) throw DataError(opt.out_dir + ": exists and is not a directory");
        if (!fs::is_empty(opt.out_dir))
            throw ConfigError(opt.out_dir + ": not empty; apply writes into a new or empty directory");
    }
    // Shared with other readers, never while a run writes its files.
    const RunLock lock(opt.run_dir, /*shared=*/true);
    const Config cfg = load_config(opt.run_dir + "/config.yaml");
    if (cfg.model.dtype == "float64") return apply_typed<double>(opt, cfg);
    return apply_typed<float>(opt, cfg);
}

}  // namespace latentlab::cli
