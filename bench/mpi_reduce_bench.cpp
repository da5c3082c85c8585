// The cost of one sum over the ranks (core/communicator.hpp: reduce to rank 0
// in a fixed order, then broadcast), by message size, for scripts/bench_mpi's
// cost model. Run under mpirun; rank 0 prints one JSON line per size:
//   {"ranks": K, "bytes": b, "seconds": median over reps}
//   mpirun -np 2 build/mpi_reduce_bench [--reps 200]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "latentlab/core/communicator.hpp"
#include "mpi_world.hpp"

int main(int argc, char** argv) {
    using namespace latentlab;
    if (!cli::launched_by_mpi()) {
        std::fprintf(stderr, "mpi_reduce_bench: start it with mpirun -np K\n");
        return 2;
    }
    set_world(cli::make_mpi_world(&argc, &argv));
    int reps = 200;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::strcmp(argv[i], "--reps") == 0) reps = std::max(5, std::atoi(argv[i + 1]));
    const Communicator& w = world();
    for (std::size_t n : {1ul, 16ul, 128ul, 1024ul, 8192ul, 25088ul, 65536ul, 262144ul, 1048576ul}) {
        std::vector<double> v(n, 1.0);
        std::vector<double> t;
        const int r = n >= 262144 ? std::max(5, reps / 10) : reps;
        for (int k = 0; k < r + 3; ++k) {
            w.sum(v.data(), 1);  // line the ranks up
            const auto t0 = std::chrono::steady_clock::now();
            w.sum(v.data(), n);
            const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (k >= 3) t.push_back(s);
            std::fill(v.begin(), v.end(), 1.0);
        }
        double m = 0;
        // The slowest rank's time is the step's: max over ranks of each rank's median.
        std::nth_element(t.begin(), t.begin() + static_cast<long>(t.size() / 2), t.end());
        m = t[t.size() / 2];
        w.max(&m, 1);
        if (w.rank() == 0)
            std::printf("{\"ranks\": %d, \"bytes\": %zu, \"seconds\": %.9f}\n", w.size(), n * sizeof(double), m);
    }
    std::fflush(stdout);
    set_world(nullptr);
    return 0;
}
