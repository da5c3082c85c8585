// Micro-benchmarks of the linear autoencoder's training step, so that
// regressions show. Shapes are Fashion-MNIST's (n = 784).
//
//   LossAndGrad<T>/B/m   the model's fused loss and gradient on a gathered batch
//   Gemm<T>/B/m          "peak": the two batch GEMMs alone, A = X Wᵀ and P = Aᵀ X,
//                        the same 4·B·m·n flops into preallocated buffers
//   Step<T>/B/m          a whole training step as the trainer runs it: gather the
//                        batch from a shuffled 60000-row set, loss_and_grad,
//                        ‖g‖², Adam
//   Gather<T>/B          the Batcher's gather alone, on one thread (its full cost)
//   Adam<T>/m            the Adam update of the m×n parameters alone
//
// GFLOP counters count 4·B·m·n per call (models/linear_autoencoder.hpp), the flops
// of the two GEMMs over the batch; the m×m and m²·n terms are overhead.
// Threads: BLAS threads from LATENTLAB_BENCH_THREADS (default 1).
// `bench_autoencoder --kernels` prints the OpenBLAS kernel set and exits.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "latentlab/config/config.hpp"
#include "latentlab/data/batcher.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/models/linear_autoencoder.hpp"
#include "latentlab/optim/adam.hpp"

using namespace latentlab;

namespace {

constexpr std::size_t kDim = 784;
constexpr std::size_t kRows = 60000;

// Pixel-like data: uniform in [0, 1).
template <class T>
std::vector<T> uniform(std::size_t count, std::uint64_t seed, double scale = 1.0) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> U(0.0, 1.0);
    std::vector<T> v(count);
    for (auto& x : v) x = static_cast<T>(scale * U(rng));
    return v;
}

template <class T>
std::vector<double> row_sqnorms(const std::vector<T>& X, std::size_t rows, std::size_t n) {
    std::vector<double> s(rows);
    for (std::size_t i = 0; i < rows; ++i) s[i] = blas::sqnorm<T>(n, X.data() + i * n);
    return s;
}

void set_flops(benchmark::State& st, std::size_t B, std::size_t m) {
    st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * B));
    st.counters["GFLOP"] = benchmark::Counter(4.0 * B * m * kDim * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

template <class T>
void LossAndGrad(benchmark::State& st) {
    const auto B = static_cast<std::size_t>(st.range(0)), m = static_cast<std::size_t>(st.range(1));
    const auto X = uniform<T>(B * kDim, 1);
    const auto sq = row_sqnorms(X, B, kDim);
    MatrixView<T> Xv{X.data(), B, kDim, sq.data(), nullptr};
    LinearAutoencoder<T> model(kDim, m);
    std::mt19937_64 rng(2);
    model.init(rng);
    xt::xtensor<T, 1> g = xt::zeros<T>({model.num_params()});
    for (auto _ : st) {
        double L = model.loss_and_grad(Xv, g);
        benchmark::DoNotOptimize(L);
        benchmark::ClobberMemory();
    }
    set_flops(st, B, m);
}

template <class T>
void Gemm(benchmark::State& st) {
    const auto B = static_cast<std::size_t>(st.range(0)), m = static_cast<std::size_t>(st.range(1));
    const auto X = uniform<T>(B * kDim, 1);
    const auto W = uniform<T>(m * kDim, 2, 0.01);
    std::vector<T> A(B * m), P(m * kDim);
    using blas::Op;
    for (auto _ : st) {
        blas::gemm<T>(Op::N, Op::T, B, m, kDim, T(1), X.data(), kDim, W.data(), kDim, T(0), A.data(), m);
        blas::gemm<T>(Op::T, Op::N, m, kDim, B, T(1), A.data(), m, X.data(), kDim, T(0), P.data(), kDim);
        benchmark::DoNotOptimize(P.data());
        benchmark::ClobberMemory();
    }
    set_flops(st, B, m);
}

// A shuffled 60000×784 training set, shared by the benchmarks that gather.
template <class T>
const Dataset<T>& big_dataset() {
    static const std::unique_ptr<Dataset<T>> d = [] {
        auto p = std::make_unique<Dataset<T>>();
        p->X = xt::xtensor<T, 2>::from_shape({kRows, kDim});
        const auto v = uniform<T>(kRows * kDim, 3);
        std::copy(v.begin(), v.end(), p->X.data());
        p->sqnorms.resize(kRows);
        for (std::size_t i = 0; i < kRows; ++i) p->sqnorms[i] = blas::sqnorm<T>(kDim, p->X.data() + i * kDim);
        p->n_train = kRows;
        return p;
    }();
    return *d;
}

template <class T>
void Gather(benchmark::State& st) {
    const auto B = static_cast<std::size_t>(st.range(0));
    Batcher<T> batcher(big_dataset<T>(), B, 7, /*workers=*/1);  // the copy itself, on this thread
    long epoch = 1;
    batcher.start_epoch(epoch);
    std::size_t b = 0;
    for (auto _ : st) {
        if (b == batcher.num_batches()) {
            st.PauseTiming();
            batcher.start_epoch(++epoch);
            b = 0;
            st.ResumeTiming();
        }
        const auto v = batcher.batch(b++);
        benchmark::DoNotOptimize(v.data);
        benchmark::ClobberMemory();
    }
    st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * B));
    st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * B * kDim * sizeof(T)));
}

template <class T>
void AdamStep(benchmark::State& st) {
    const auto m = static_cast<std::size_t>(st.range(0));
    xt::xtensor<T, 1> x = xt::zeros<T>({m * kDim}), g = xt::zeros<T>({m * kDim});
    const auto gv = uniform<T>(m * kDim, 4, 1e-3);
    std::copy(gv.begin(), gv.end(), g.data());
    Adam<T> adam(AdamOptions{}, m * kDim);
    for (auto _ : st) {
        adam.update(x, g, 1e-3);
        benchmark::ClobberMemory();
    }
    st.SetItemsProcessed(static_cast<std::int64_t>(st.iterations() * m * kDim));
}

template <class T>
void Step(benchmark::State& st) {
    const auto B = static_cast<std::size_t>(st.range(0)), m = static_cast<std::size_t>(st.range(1));
    Batcher<T> batcher(big_dataset<T>(), B, 7, static_cast<std::size_t>(blas::threads()));
    LinearAutoencoder<T> model(kDim, m);
    std::mt19937_64 rng(2);
    model.init(rng);
    Adam<T> adam(AdamOptions{}, model.num_params());
    xt::xtensor<T, 1> g = xt::zeros<T>({model.num_params()});
    long epoch = 1;
    batcher.start_epoch(epoch);
    std::size_t b = 0;
    for (auto _ : st) {
        if (b == batcher.num_batches()) {
            batcher.start_epoch(++epoch);  // once per epoch, as in training
            b = 0;
        }
        const auto batch = batcher.batch(b++);
        const double L = model.loss_and_grad(batch, g);
        const double gn2 = blas::sqnorm<T>(g.size(), g.data());
        benchmark::DoNotOptimize(L + gn2);
        adam.update(model.params(), g, 1e-3);
    }
    set_flops(st, B, m);
}

void BatchByLatent(benchmark::internal::Benchmark* b) {
    b->ArgNames({"B", "m"});
    for (long B : {64, 256, 1024})
        for (long m : {16, 32, 64}) b->Args({B, m});
}

}  // namespace

// Wall time throughout: with more than one thread, the caller's CPU time
// would leave out the helpers' work.
BENCHMARK_TEMPLATE(LossAndGrad, float)->Apply(BatchByLatent)->UseRealTime();
BENCHMARK_TEMPLATE(LossAndGrad, double)->Apply(BatchByLatent)->UseRealTime();
BENCHMARK_TEMPLATE(Gemm, float)->Apply(BatchByLatent)->UseRealTime();
BENCHMARK_TEMPLATE(Gemm, double)->Apply(BatchByLatent)->UseRealTime();
BENCHMARK_TEMPLATE(Step, float)->ArgNames({"B", "m"})->Args({256, 32})->Args({128, 32})->UseRealTime();
BENCHMARK_TEMPLATE(Step, double)->ArgNames({"B", "m"})->Args({256, 32})->UseRealTime();
BENCHMARK_TEMPLATE(Gather, float)->ArgName("B")->Arg(256)->UseRealTime();
BENCHMARK_TEMPLATE(Gather, double)->ArgName("B")->Arg(256)->UseRealTime();
BENCHMARK_TEMPLATE(AdamStep, float)->ArgName("m")->Arg(32)->UseRealTime();
BENCHMARK_TEMPLATE(AdamStep, double)->ArgName("m")->Arg(32)->UseRealTime();

int main(int argc, char** argv) {
    if (argc == 2 && std::string(argv[1]) == "--kernels") {  // for scripts/bench
        std::printf("%s\n", blas::kernels().c_str());
        return 0;
    }
    const char* t = std::getenv("LATENTLAB_BENCH_THREADS");
    blas::set_threads(t ? std::atoi(t) : 1);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::AddCustomContext("blas_threads", std::to_string(blas::threads()));
    benchmark::AddCustomContext("openblas_kernels", blas::kernels());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
