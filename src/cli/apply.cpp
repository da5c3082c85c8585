#include "apply.hpp"
#include "interrupt.hpp"
#include "run.hpp"
#include "run_directory.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <system_error>
#include <thread>
#include <type_traits>


#include "latentlab/analysis/bayesian_gplvm_projection.hpp"
#include "latentlab/analysis/gplvm_projection.hpp"
#include "latentlab/config/build.hpp"
#include "latentlab/config/config.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/files.hpp"
#include "latentlab/core/format.hpp"
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
        for (std::size_t i = 0; i < b.size(); ++i) {
            const double v = t.at(i);
            if (!std::isfinite(v))
                throw DataError(path + ": entry " + std::to_string(i) + " is " + format_g(v, 3) +
                                " (a run writes finite parameters only: the file was changed)");
            model.params()(b.offset + i) = static_cast<T>(v);
        }
    }
}

// What apply needs of the run's summary.json (written with every epoch's
// files): the data scale the run applied and the dimension it trained on.
struct RunSummary {
    double data_scale = 1.0;
    std::size_t dim = 0;
};

RunSummary read_run_summary(const std::string& run_dir) {
    const std::string path = run_dir + "/summary.json";
    if (!file_exists(path))
        throw DataError(path + ": missing (a run writes it when it ends, also when stopped or interrupted; apply needs its data_scale)");
    const std::string text = read_file(path, 1u << 24);
    // A top-level number as the run wrote it (core/json.hpp: one key per
    // line, indented by two; nested objects by more): finite, decimal
    // (subnormal allowed: a scale of 1e-310 is one).
    auto number = [&](const std::string& key) {
        const std::string tag = "\n  \"" + key + "\": ";
        const auto at = text.find(tag);
        if (at == std::string::npos) throw DataError(path + ": no " + key + " (the file was changed, or a run from before LatentLab recorded it)");
        const auto from = at + tag.size();
        const std::string value = text.substr(from, std::min(text.find_first_of(",\n}", from), text.size()) - from);
        char* end = nullptr;
        errno = 0;
        const double x = std::strtod(value.c_str(), &end);
        const bool whole = !value.empty() && end == value.c_str() + value.size() &&
                           value.find_first_of("xXnNiI") == std::string::npos;  // no hex, inf or nan
        if (!whole || !std::isfinite(x) || (errno == ERANGE && x == 0))
            throw DataError(path + ": " + key + " is " + printable(value, 40) + ", not a number (the file was changed?)");
        return x;
    };
    RunSummary r;
    r.data_scale = number("data_scale");
    if (!(r.data_scale > 0))
        throw DataError(path + ": data_scale is " + format_g(r.data_scale, 3) + ", not a positive number");
    const double dim = number("dim");
    if (!(dim >= 1 && dim <= 1e15 && dim == std::floor(dim)))
        throw DataError(path + ": dim is " + format_g(dim, 3) + ", not a number of columns");
    r.dim = static_cast<std::size_t>(dim);
    return r;
}

// Every output value finite, or NumericalError naming the output and row
// (overflowing rows or parameters would otherwise give Inf/NaN files).
template <class Output>
void check_outputs_finite(const std::vector<Output>& outputs, const std::string& data) {
    for (const auto& o : outputs) {
        const std::size_t n = o.values.size(), per_row = std::max<std::size_t>(1, o.values.row_size());
        for (std::size_t i = 0; i < n; ++i) {
            const double v = o.values.at(i);
            if (!std::isfinite(v))
                throw NumericalError(data + ": row " + std::to_string(i / per_row) + " gives " + o.name + " " +
                                     format_g(v, 3) + " (values or the run's parameters overflow; rescale the "
                                     "rows); nothing written");
        }
    }
}

// --out as the kernel resolves it: the existing part canonical (symlinks,
// . and ..), then the rest, which may hold no ".." (the kernel would fail on
// it: "new/../x" does not name x when new does not exist). Trailing slashes
// and "." parts are dropped.
fs::path resolve_out(const std::string& out_dir) {
    const fs::path abs = fs::absolute(fs::path(out_dir));
    fs::path existing, rest;
    bool missing = false;
    for (const auto& part : abs) {
        if (part.empty() || part == ".") continue;
        if (!missing) {
            std::error_code ec;
            const fs::path next = existing.empty() ? part : existing / part;
            if (fs::exists(next, ec) && !ec) {
                existing = next;
                continue;
            }
            missing = true;
        }
        if (part == "..")
            throw ConfigError("--out " + out_dir + ": '..' after " + (existing / rest).string() +
                              ", which does not exist");
        rest /= part;
    }
    std::error_code ec;
    const fs::path base = fs::canonical(existing.empty() ? fs::path("/") : existing, ec);
    if (ec) throw DataError(out_dir + ": cannot resolve the path: " + ec.message());
    const fs::path target = rest.empty() ? base : base / rest;
    if (!target.has_filename() || target == target.root_path())
        throw ConfigError("--out " + out_dir + ": names the root directory");
    return target;
}

// Moves `from` to `to` unless `to` exists (then false): renameat2's
// RENAME_NOREPLACE, or link + unlink where the file system lacks it.
bool move_no_replace(const fs::path& from, const fs::path& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
    if (errno == EEXIST) return false;
    if (errno != EINVAL && errno != ENOSYS)
        throw DataError(to.string() + ": cannot write: " + std::strerror(errno));
    if (::link(from.c_str(), to.c_str()) != 0) {
        if (errno == EEXIST) return false;
        throw DataError(to.string() + ": cannot write: " + std::strerror(errno));
    }
    ::unlink(from.c_str());
    return true;
}

// Writes the outputs into `target` (resolve_out) as a whole or not at all.
// They are written into a hidden directory made afresh (never one that
// existed): beside a new `target`, then renamed to it; inside an existing
// empty one (the same file system), then each file moved up without
// replacing anything, so two applies into one directory cannot mix: the
// second finds the first's files and writes nothing. On failure or
// SIGINT/SIGTERM (only recorded meanwhile) the hidden directory, the files
// moved and the parents this call created (each only if still empty, the
// deepest first) are removed: nothing that existed before is touched.
template <class Output>
void write_outputs(const fs::path& target, const std::vector<Output>& outputs, const std::string& summary) {
    std::error_code ec;
    const bool exists = is_directory(target.string());  // empty: checked by apply()
    std::vector<fs::path> created;                        // parents made here, outermost first
    std::vector<fs::path> moved;                          // files moved into an existing target
    fs::path tmp;
    auto clean = [&] {
        std::error_code ignore;
        for (const auto& f : moved) fs::remove(f, ignore);
        if (!tmp.empty()) fs::remove_all(tmp, ignore);  // made by this call, exclusively
        for (auto it = created.rbegin(); it != created.rend(); ++it)
            if (!fs::remove(*it, ignore)) break;  // not empty (another process's files?): kept, and its parents
    };
    auto stop_if_signalled = [&] {
        if (interrupt_signal() != 0) {
            clean();
            throw Interrupted("apply stopped before its outputs were complete; nothing written");
        }
    };
    try {
        std::vector<fs::path> missing;
        for (fs::path p = target.parent_path(); !p.empty() && !fs::exists(p, ec) && !ec; p = p.parent_path())
            missing.push_back(p);
        for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
            if (fs::create_directory(*it, ec)) created.push_back(*it);
            else if (ec) throw DataError(it->string() + ": cannot create directory: " + ec.message());
        }
        const fs::path home = exists ? target : target.parent_path();
        const std::string stem = ".apply-" + std::to_string(::getpid()) + "-";
        for (int k = 0; tmp.empty(); ++k) {
            if (fs::create_directory(home / (stem + std::to_string(k)), ec)) tmp = home / (stem + std::to_string(k));
            else if (ec) throw DataError(home.string() + ": cannot create a directory in it: " + ec.message());
        }
        std::vector<std::string> names;
        for (const auto& o : outputs) {
            stop_if_signalled();
            names.push_back(o.name + ".npy");
            write_npy((tmp / names.back()).string(), o.values);
        }
        names.push_back("apply.json");
        write_file_atomic((tmp / names.back()).string(), summary);
        stop_if_signalled();
        if (!exists) {
            fs::rename(tmp, target, ec);
            if (ec) throw DataError(target.string() + ": cannot create: " + ec.message());
            tmp.clear();
        } else {
            for (const auto& n : names) {
                if (!move_no_replace(tmp / n, target / n))
                    throw DataError(target.string() + ": another process wrote " + n + " into it meanwhile");
                moved.push_back(target / n);
            }
            fs::remove(tmp, ec);
            tmp.clear();
        }
    } catch (const DataError& e) {  // named by the files the user asked for, not the hidden ones
        const std::string hidden = tmp.string();
        clean();
        std::string msg = e.what();
        for (std::size_t at; !hidden.empty() && (at = msg.find(hidden)) != std::string::npos;)
            msg.replace(at, hidden.size(), target.string());
        throw DataError(msg + "; nothing written");
    } catch (const Interrupted&) {
        throw;
    } catch (...) {
        clean();
        throw;
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
    const RunSummary run = read_run_summary(opt.run_dir);
    dc.scale = run.data_scale;
    // The training mean (mean.npy) exactly when the run centred its rows.
    const std::string mean_path = opt.run_dir + "/mean.npy";
    RawTensor mean;
    if (cfg.data.center) {
        if (!file_exists(mean_path))
            throw DataError(mean_path + ": missing; the run centred its rows (data.center true in its config.yaml) "
                                        "and apply subtracts that mean");
        mean = read_npy(mean_path);
        if (mean.size() != run.dim)
            throw DataError(mean_path + ": " + std::to_string(mean.size()) + " values, but the run was trained on " +
                            std::to_string(run.dim) + " columns (another run's file?)");
        for (std::size_t j = 0; j < mean.size(); ++j)
            if (!std::isfinite(mean.at(j)))
                throw DataError(mean_path + ": entry " + std::to_string(j) + " is not finite (the file was changed)");
    } else if (file_exists(mean_path)) {
        throw DataError(mean_path + ": present, but the run did not centre its rows (data.center false in its "
                                    "config.yaml): another run's file?");
    }
    Dataset<T> rows = load_data<T>(dc, 0);
    // The dimension the run was trained on (summary.json "dim").
    if (run.dim != rows.dim())
        throw DataError(opt.data + ": " + std::to_string(rows.dim()) + " columns, but the run was trained on " +
                        std::to_string(run.dim));
    if (cfg.data.center) {
        for (std::size_t i = 0; i < rows.X.shape()[0]; ++i)
            for (std::size_t j = 0; j < rows.dim(); ++j) rows.X(i, j) = static_cast<T>(rows.X(i, j) - mean.at(j));
        for (std::size_t i = 0; i < rows.X.shape()[0]; ++i)
            rows.sqnorms[i] = blas::sqnorm<T>(rows.dim(), rows.X.data() + i * rows.dim());
        rows.levels = {};  // no longer the rows' bytes' values
    }
    check_data_values(rows);  // values whose squares overflow: refused as training refuses them
    // The outputs, doubles per row (and a copy while they are made), before any is computed.
    const std::size_t per_row = cfg.model.type == "mlp"  ? static_cast<std::size_t>(cfg.model.classes) + 2
                                : cfg.model.is_gplvm() ? 2 * static_cast<std::size_t>(cfg.model.latent_dim) + 1
                                                       : static_cast<std::size_t>(cfg.model.latent_dim) + rows.dim() + 1;
    check_fits_in_memory(opt.data, 2 * sizeof(double) * static_cast<std::uint64_t>(rows.n_train) * per_row,
                         "the outputs of its " + std::to_string(rows.n_train) + " rows (" + std::to_string(per_row) +
                             " numbers each, and a copy while they are made)");

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
        try {
            outputs = model->apply(rows.all());
        } catch (const DataError& e) {  // a label out of the run's classes: named by its file
            if (opt.labels.empty() || std::string(e.what()).rfind("mlp: label ", 0) != 0) throw;
            throw DataError(opt.labels + ": " + e.what());
        }
        for (const auto& o : outputs) {
            if (o.name == "reconstruction_loss" || o.name == "correct") {
                double sum = 0;
                for (std::size_t i = 0; i < o.values.size(); ++i) sum += o.values.at(i);
                const double mean = o.values.size() ? sum / static_cast<double>(o.values.size()) : 0.0;
                summary.set(o.name == "correct" ? "accuracy" : "mean_reconstruction_loss", mean);
            }
        }
    }

    // Written only now that everything worked, as a whole: nothing half-done on failure.
    check_outputs_finite(outputs, opt.data);
    // Until here a signal ends the process at once (nothing written yet); from
    // here it stops the writing between files, which then leaves nothing.
    install_interrupt_handlers(/*second_ends=*/false);
    write_outputs(resolve_out(opt.out_dir), outputs, summary.dump());
    restore_default_signals();
    if (!opt.quiet) std::printf("%s\n", summary.dump().c_str());
    return 0;
}

}  // namespace

int apply(const ApplyOptions& opt) {
    if (opt.run_dir.empty()) throw ConfigError("train apply: the run directory is an empty path");
    if (opt.data.empty()) throw ConfigError("--data: an empty path");
    if (opt.out_dir.empty()) throw ConfigError("--out: an empty path");
    if (!file_exists(opt.run_dir)) throw DataError(opt.run_dir + ": no such run directory");
    if (!is_directory(opt.run_dir) || !file_exists(opt.run_dir + "/config.yaml"))
        throw DataError(opt.run_dir + ": not a run directory (no config.yaml)");
    const fs::path out = resolve_out(opt.out_dir);  // as write_outputs will write it
    if (file_exists(out.string())) {
        if (!is_directory(out.string())) throw DataError(opt.out_dir + ": exists and is not a directory");
        std::error_code ec;
        if (!fs::is_empty(out, ec) || ec)
            throw ConfigError(opt.out_dir + ": not empty; apply writes into a new or empty directory");
    }
    // Shared with other readers, never while a run writes its files.
    const RunLock lock(opt.run_dir, /*shared=*/true);
    const Config cfg = load_config(opt.run_dir + "/config.yaml");
    if (!opt.labels.empty() && cfg.model.type != "mlp")
        throw ConfigError("--labels: only an mlp run uses labels (accuracy); this run is a " + cfg.model.type);
    if (cfg.model.dtype == "float64") return apply_typed<double>(opt, cfg);
    return apply_typed<float>(opt, cfg);
}

}  // namespace latentlab::cli
