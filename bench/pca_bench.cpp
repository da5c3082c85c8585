// PCA of a data set as LatentLab computes it for L* and the comparisons
// (linalg/pca.hpp): the second moment C = XᵀX (pixel rows: an exact
// single-precision SYRK on their integer levels), then every eigenvalue and
// the top --components eigenvectors (32, as scikit-learn's PCA(32) in the
// peers; dsytrd + dsterf + dstemr), and the same with every eigenvector
// (dsyevd: the work of numpy's eigh) as "seconds_all_vectors". The C++ side of scripts/bench part e; the peers (numpy's
// Gram + eigh, scikit-learn's PCA) are bench/pca_peers.py on the X.npy this
// program writes with --dump.
//
//   pca_bench --source fashion-mnist --reps 5 --threads 2 [--components 32] [--dump DIR]
// prints one JSON line: {"seconds": median, "second_moment_seconds": ..., "top_eigenvalue": ...}
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "latentlab/core/files.hpp"
#include "latentlab/data/sources.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/linalg/pca.hpp"

using namespace latentlab;

int main(int argc, char** argv) {
    CLI::App app{"PCA (second moment by SYRK + every eigenvalue and the top --components eigenvectors) of a data set, timed (median of --reps)"};
    std::string source = "fashion-mnist", dump;
    int reps = 5, threads = 0;
    std::size_t components = 32;
    app.add_option("--source", source, "data.source (as in the configs)");
    app.add_option("--reps", reps, "timed repetitions");
    app.add_option("--threads", threads, "BLAS threads (0 = all)");
    app.add_option("--components", components, "eigenvectors computed (all eigenvalues always): what an autoencoder "
                                                "of this latent size asks for L* and its angles")->check(CLI::PositiveNumber);
    app.add_option("--dump", dump, "write the float32 rows as X.npy here for the peers");
    CLI11_PARSE(app, argc, argv);
    try {
        blas::set_threads(threads);
        DataOptions dc;
        dc.source = source;
        dc.center = false;
        const Dataset<float> data = load_dataset<float>(dc, 0);
        const auto X = data.train();
        if (!dump.empty()) {
            make_directories(dump);
            write_npy(dump + "/X.npy", make_raw<float>(X.data, {X.rows, X.cols}));
        }
        std::vector<double> total, moment, all;
        double top = 0;
        for (int r = 0; r < reps + 1; ++r) {  // the first is a warm-up
            const auto t0 = std::chrono::steady_clock::now();
            const xt::xtensor<double, 2> C = second_moment(X);
            const auto t1 = std::chrono::steady_clock::now();
            const Pca p = pca_from_second_moment(C, components);
            const auto t2 = std::chrono::steady_clock::now();
            // The same with every eigenvector (dsyevd): numpy's eigh's work.
            const Pca full = pca_from_second_moment(C);
            const auto t3 = std::chrono::steady_clock::now();
            top = p.eigenvalues(0);
            if (r == 0) continue;
            moment.push_back(std::chrono::duration<double>(t1 - t0).count());
            total.push_back(std::chrono::duration<double>(t2 - t0).count());
            all.push_back(std::chrono::duration<double>((t1 - t0) + (t3 - t2)).count());
        }
        std::sort(total.begin(), total.end());
        std::sort(moment.begin(), moment.end());
        std::sort(all.begin(), all.end());
        std::printf("{\"seconds\": %.6g, \"second_moment_seconds\": %.6g, \"seconds_all_vectors\": %.6g, "
                    "\"components\": %zu, \"top_eigenvalue\": %.17g, \"N\": %zu, "
                    "\"D\": %zu, \"kernels\": \"%s\", \"threads\": %d}\n",
                    total[total.size() / 2], moment[moment.size() / 2], all[all.size() / 2], components, top,
                    X.rows, X.cols, blas::kernels().c_str(), blas::threads());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pca_bench: %s\n", e.what());
        return 1;
    }
}
