// The contract every model meets (ensmallen-style): parameters in
// one contiguous buffer carved into named blocks, `loss(batch)`,
// `grad(batch, g)` and the fused `loss_and_grad(batch, g)`. Losses are means
// over the batch's rows and are returned in double.
#pragma once
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <array>
#include <stdexcept>

#include <xtensor/xadapt.hpp>
#include <xtensor/xtensor.hpp>

#include "latentlab/core/error.hpp"
#include "latentlab/core/files.hpp"
#include "latentlab/core/format.hpp"
#include "latentlab/core/matrix_view.hpp"
#include "latentlab/io/raw_tensor.hpp"

namespace latentlab {

// A named block of the flat parameter vector (e.g. "W", m×n, at offset 0).
struct ParamBlock {
    std::string name;
    std::vector<std::size_t> shape;
    std::size_t offset = 0;
    // One row per training row (e.g. a GPLVM's latents): under several
    // processes each rank holds its own rows' share (core/communicator.hpp).
    // Such blocks come first in the flat vector.
    bool per_row = false;
    std::size_t size() const {
        std::size_t s = 1;
        for (auto d : shape) s *= d;
        return s;
    }
};

template <class T>
class Model {
public:
    virtual ~Model() = default;

    virtual std::string name() const = 0;

    // Draws initial parameters from `rng`.
    virtual void init(std::mt19937_64& rng) = 0;
    // Initialisation that may look at the training data (e.g. GPLVM's PCA
    // start); by default the data-free init().
    virtual void init_from_data(const MatrixView<T>& /*train*/, std::mt19937_64& rng) { init(rng); }

    virtual double loss(const MatrixView<T>& batch) = 0;
    virtual double loss_and_grad(const MatrixView<T>& batch, xt::xtensor<T, 1>& g) = 0;
    virtual void grad(const MatrixView<T>& batch, xt::xtensor<T, 1>& g) { loss_and_grad(batch, g); }

    // A line search is about to evaluate the loss at x0 + a·d for one or more
    // a: (x0, d), both in parameter order; it ended at x: (x, nullptr), and
    // the model answers true if its loss and gradient at x were not computed
    // as a fresh evaluation would compute them (the optimiser then evaluates
    // once more); (nullptr, nullptr): the search was abandoned. A model whose
    // costly products are linear in the parameters may reuse them along the
    // line (the Woodbury GPLVM does). By default ignored.
    virtual bool on_line(const T* /*x*/, const double* /*d*/) { return false; }

    // True when loss and gradient have the same bits at any BLAS thread count
    // (fixed parts, blas::parallel_for): the trainer may then time its
    // minibatch steps on one thread and on all, and keep the faster
    // (train.step_threads), without changing the run.
    virtual bool same_bits_at_any_thread_count() const { return false; }

    // True when the loss is a mean over rows, so that it may be evaluated in
    // chunks and trained on minibatches; false for full-batch models (GPLVM).
    virtual bool separable() const { return true; }

    // Where a model reports trouble it recovered from (e.g. jitter added to a
    // kernel matrix); the run logs it. Unset: silent.
    std::function<void(const std::string&)> on_warning;

    // The trained model applied to new rows X (`train apply`): named arrays
    // with one row per row of X, in X's order (e.g. "codes", N×m;
    // "reconstruction_loss", N). Models that cannot be applied throw Error.
    struct Output {
        std::string name;
        RawTensor values;
    };
    virtual std::vector<Output> apply(const MatrixView<T>& /*X*/) {
        throw Error(name() + " cannot be applied to new data");
    }

    // Named scalars worth logging per epoch (e.g. kernel hyperparameters).
    virtual std::vector<std::pair<std::string, double>> diagnostics() const { return {}; }

    xt::xtensor<T, 1>& params() { return theta_; }
    const xt::xtensor<T, 1>& params() const { return theta_; }
    std::size_t num_params() const { return theta_.size(); }
    const std::vector<ParamBlock>& blocks() const { return blocks_; }

    // True if some block is per-row (spread over the processes of a run).
    bool has_per_row_blocks() const {
        for (const auto& b : blocks_)
            if (b.per_row) return true;
        return false;
    }

    // The block named `name`; throws std::out_of_range if there is none.
    const ParamBlock& block(const std::string& name) const {
        for (const auto& b : blocks_)
            if (b.name == name) return b;
        throw std::out_of_range(this->name() + " has no parameter block '" + name + "'");
    }
    // Block `name` of a flat vector laid out like params() (the parameters
    // or a gradient) as an N-d xtensor adaptor of the block's shape: a view,
    // no copy (llm.c's named parameter tensors). param<2>("W")(i, j) reads
    // W_ij of the model; view<2>(g, "W") the same entry of a gradient g.
    template <std::size_t N, class V>
    auto view(V& flat, const std::string& name) const {
        const ParamBlock& b = block(name);
        if (b.shape.size() != N) throw std::out_of_range("parameter block '" + name + "' is not " + std::to_string(N) + "-d");
        std::array<std::size_t, N> shape;
        std::copy_n(b.shape.begin(), N, shape.begin());
        return xt::adapt(flat.data() + b.offset, b.size(), xt::no_ownership(), shape);
    }
    template <std::size_t N>
    auto param(const std::string& name) { return view<N>(theta_, name); }
    template <std::size_t N>
    auto param(const std::string& name) const { return view<N>(theta_, name); }

protected:
    // Allocates the flat buffer for `blocks` laid out one after another.
    void allocate(std::vector<ParamBlock> blocks) {
        // Sizes from the config can be absurd (model.hidden = 2⁶²): refused
        // here, in exact arithmetic, when the parameters with their gradient
        // and an optimiser's two moments would not fit in memory (ConfigError:
        // before the run directory is touched), never wrapped around.
        long double total = 0;
        std::string shapes;
        for (const auto& b : blocks) {
            long double n = 1;
            std::string dims;
            for (auto d : b.shape) {
                n *= static_cast<long double>(d);
                dims += (dims.empty() ? "" : "x") + std::to_string(d);
            }
            total += n;
            shapes += (shapes.empty() ? "" : ", ") + b.name + " " + dims;
        }
        const long double bytes = 4.0L * total * sizeof(T);
        if (bytes > static_cast<long double>(memory_budget()))
            throw ConfigError("model: the " + name() + "'s parameters (" + shapes + ") with their gradient and the "
                              "optimiser's state need " + format_g(static_cast<double>(bytes / 1e9), 3) +
                              " GB, more than the memory this process may use allows (" +
                              format_g(static_cast<double>(memory_budget()) / 1e9, 3) +
                              " GB); lower the model's sizes (model.hidden, model.classes, model.latent_dim, "
                              "model.inducing) or, for per-row latents, the rows (data.limit)");
        std::size_t off = 0;
        for (auto& b : blocks) {
            b.offset = off;
            off += b.size();
        }
        blocks_ = std::move(blocks);
        theta_ = xt::zeros<T>({off});
    }

    xt::xtensor<T, 1> theta_;
    std::vector<ParamBlock> blocks_;
};

}  // namespace latentlab
