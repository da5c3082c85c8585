// One GPLVM loss+gradient evaluation, timed: the C++ side of
// scripts/bench_gplvm (the numpy side is bench/gplvm_numpy.py, on the same
// Y and X, which this program writes with --dump).
//
//   gplvm_bench --N 4000 --q 2 --kernel linear --method woodbury --dtype float64 --reps 5 [--dump DIR]
// prints one JSON line: {"seconds": median, "nll": value, ...}
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include <CLI/CLI.hpp>

#include "latentlab/data/sources.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/models/bayesian_gplvm.hpp"
#include "latentlab/models/gplvm.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/files.hpp"

using namespace latentlab;

template <class T>
int run(std::size_t N, std::size_t q, const std::string& kernel, const std::string& method, int reps,
        const std::string& dump, std::size_t inducing) {
    DataOptions dc;
    dc.source = "fashion-mnist";
    dc.limit = static_cast<long>(N);
    dc.center = true;
    const Dataset<T> data = load_dataset<T>(dc, 0);
    const auto Y = data.train();
    std::unique_ptr<Model<T>> model;
    if (method == "variational") {
        // The variational model from its PCA start (Z a seeded subset of the means).
        BayesianGplvmOptions b;
        b.kernel = parse_kernel(kernel);
        b.inducing = inducing;
        model = std::make_unique<BayesianGplvm<T>>(Y.rows, Y.cols, q, b);
        std::mt19937_64 rng(1);
        model->init_from_data(Y, rng);
    } else {
    GplvmOptions o;
    o.kernel = parse_kernel(kernel);
    o.method = method == "dense" ? GplvmMethod::dense : GplvmMethod::woodbury;
    o.variance = 1.0;
    o.lengthscale = 1.0;
    o.noise_variance = 0.5;
    model = std::make_unique<Gplvm<T>>(Y.rows, Y.cols, q, o);
    std::mt19937_64 rng(1);
    std::normal_distribution<double> n01(0, 1);
    for (std::size_t i = 0; i < Y.rows * q; ++i) model->params()(i) = static_cast<T>(n01(rng));
    }
    if (!dump.empty()) {
        make_directories(dump);
        std::vector<double> Yd(Y.data, Y.data + Y.rows * Y.cols), Xd(model->params().begin(), model->params().begin() + static_cast<std::ptrdiff_t>(Y.rows * q));
        write_npy(dump + "/Y.npy", make_raw<double>(Yd.data(), {Y.rows, Y.cols}));
        write_npy(dump + "/X.npy", make_raw<double>(Xd.data(), {Y.rows, q}));
        if (data.has_labels()) {
            std::vector<double> lab(data.labels.begin(), data.labels.begin() + static_cast<long>(Y.rows));
            write_npy(dump + "/labels.npy", make_raw<double>(lab.data(), {Y.rows}));
        }
    }
    xt::xtensor<T, 1> g;
    double nll = model->loss_and_grad(Y, g);  // warm-up (allocations, page faults)
    std::vector<double> times;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        nll = model->loss_and_grad(Y, g);
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    double gnorm = 0;
    for (auto v : g) gnorm += static_cast<double>(v) * static_cast<double>(v);
    std::printf("{\"seconds\": %.6g, \"nll\": %.17g, \"grad_norm\": %.17g, \"N\": %zu, \"D\": %zu, \"q\": %zu, "
                "\"kernels\": \"%s\"}\n",
                times[times.size() / 2], nll, std::sqrt(gnorm), Y.rows, Y.cols, q, blas::kernels().c_str());
    return 0;
}

int main(int argc, char** argv) {
    CLI::App app{"One GPLVM loss+gradient evaluation on Fashion-MNIST rows, timed (median of --reps)"};
    std::size_t N = 1000, q = 2;
    std::string kernel = "linear", method = "woodbury", dtype = "float64", dump;
    std::size_t inducing = 50;
    int reps = 5, threads = 0;
    app.add_option("--N", N, "points (Fashion-MNIST train rows, seeded subset, centred)");
    app.add_option("--q", q, "latent dimension");
    app.add_option("--kernel", kernel, "linear | rbf");
    app.add_option("--method", method, "woodbury | dense | variational (the Bayesian GPLVM's collapsed bound)");
    app.add_option("--inducing", inducing, "variational: inducing points M");
    app.add_option("--dtype", dtype, "float32 | float64");
    app.add_option("--reps", reps, "timed evaluations");
    app.add_option("--threads", threads, "BLAS threads (0 = all)");
    app.add_option("--dump", dump, "write Y.npy and X.npy here for the numpy side");
    CLI11_PARSE(app, argc, argv);
    try {
        blas::set_threads(threads);
        return dtype == "float32" ? run<float>(N, q, kernel, method, reps, dump, inducing)
                                  : run<double>(N, q, kernel, method, reps, dump, inducing);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
