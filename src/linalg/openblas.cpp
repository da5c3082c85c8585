// The OpenBLAS runtime: which kernel set runs (and its reselection on CPUs
// OpenBLAS does not know), the thread count, and the owned parallel regions.
// Includes <cblas.h> (for openblas_* calls), so it stays out of the
// precompiled header (xtensor-blas declares the CBLAS prototypes differently).
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/core/thread_pool.hpp"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

extern "C" {
// OpenBLAS DYNAMIC_ARCH kernel selection (exported by such builds only: weak,
// so a non-dynamic OpenBLAS still links and the reselection is skipped).
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));
}

namespace latentlab::blas {

namespace {
// OpenBLAS (DYNAMIC_ARCH) picks its kernels from the CPU model number, and a
// model it does not know falls back to the SSE3 "Prescott" kernels whatever
// the CPU can do. OpenBLAS 0.3.21 (Debian bookworm) does not know Sapphire/
// Emerald Rapids (family 6, models 143 and 207): sgemm on the autoencoder's
// shapes then runs at ~28 instead of ~110 GFLOP/s, dgemm likewise (bench/).
// When the user has not chosen (OPENBLAS_CORETYPE) and OpenBLAS fell back to
// Prescott on a CPU with AVX-512 (or AVX2 + FMA), select the newest kernels
// the CPU runs, through OpenBLAS's own OPENBLAS_CORETYPE path. This runs at
// static initialisation, after OpenBLAS's constructor and before any BLAS call.
std::string select_kernels() {
    if (!gotoblas_dynamic_init || !gotoblas_dynamic_quit) return "";
    if (const char* set = std::getenv("OPENBLAS_CORETYPE"); set && *set) return "";
    const char* core = openblas_get_corename();
    if (!core || std::strcmp(core, "Prescott") != 0) return "";
    __builtin_cpu_init();
    const char* want = nullptr;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        want = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        want = "Haswell";
    if (!want) return "";
    setenv("OPENBLAS_CORETYPE", want, 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    unsetenv("OPENBLAS_CORETYPE");  // children choose for themselves
    return std::string(core) + " -> " + openblas_get_corename();
}
const std::string kernel_reselection = select_kernels();
}  // namespace

std::string kernels() {
    const char* core = openblas_get_corename();
    std::string s = core ? core : "unknown";
    if (!kernel_reselection.empty()) s += " (reselected from Prescott, the fallback for an unknown CPU)";
    return s;
}

double small_gemm_limit() {
    // OpenBLAS's SkylakeX kernels (and the Cooperlake/Sapphire Rapids sets that
    // build on them) permit the small-matrix path for M·N·K ≤ 100³.
    static const double limit = [] {
        std::string core = openblas_get_corename() ? openblas_get_corename() : "";
        for (auto& c : core) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return (core == "skylakex" || core == "cooperlake" || core == "sapphirerapids") ? 1e6 : 0.0;
    }();
    return limit;
}

namespace {
// train.threads as configured (set_threads), or 0 before any call: then
// OpenBLAS's own count (OPENBLAS_NUM_THREADS) is the answer.
std::atomic<int> configured_threads{0};
std::mutex blas_threads_mu;
}  // namespace

void set_threads(int n) {
    if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::lock_guard<std::mutex> lock(blas_threads_mu);
    configured_threads.store(n);
    openblas_set_num_threads(n);
}
int threads() {
    const int n = configured_threads.load();
    return n > 0 ? n : openblas_get_num_threads();
}

void parallel_for(std::size_t parts, const std::function<void(std::size_t)>& f) {
    if (parts == 0) return;
    if (inside_run_parts()) {  // nested: OpenBLAS is single-threaded already; the parts run here, in order
        for (std::size_t p = 0; p < parts; ++p) f(p);
        return;
    }
    // OpenBLAS single-threaded for the duration, whatever its kernel set: a
    // part is then one fixed sequence of single-threaded BLAS calls, and its
    // result cannot depend on how many threads OpenBLAS would have used (its
    // own partition of a product changes the order of the sums with the
    // thread count on kernels without a small-matrix path).
    std::lock_guard<std::mutex> lock(blas_threads_mu);
    const int before = openblas_get_num_threads(), configured = configured_threads.load();
    const int workers = std::max(1, configured > 0 ? configured : before);
    struct Restore {
        int n;
        ~Restore() {
            if (n != 1) openblas_set_num_threads(n);
        }
    } restore{before};
    if (before != 1) openblas_set_num_threads(1);
    run_parts(parts, static_cast<std::size_t>(workers), f);
}

}  // namespace latentlab::blas
