// CBLAS/LAPACK calls. This TU deliberately does not include xtensor-blas,
// whose own CBLAS declarations clash with <cblas.h> in the same TU.
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/simd.hpp"
#include "latentlab/util/thread_pool.hpp"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdint>
#include <mutex>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

extern "C" {
void dsyevd_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda,
             double* w, double* work, const int* lwork, int* iwork, const int* liwork, int* info);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda,
             double* b, const int* ldb, int* info);
void dgesdd_(const char* jobz, const int* m, const int* n, double* a, const int* lda, double* s,
             double* u, const int* ldu, double* vt, const int* ldvt, double* work,
             const int* lwork, int* iwork, int* info);
// OpenBLAS DYNAMIC_ARCH kernel selection (exported by such builds only: weak,
// so a non-dynamic OpenBLAS still links and the reselection is skipped).
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));
}

namespace latentlab::blas {

namespace {
CBLAS_TRANSPOSE tr(Op op) { return op == Op::N ? CblasNoTrans : CblasTrans; }
int I(std::size_t v) { return static_cast<int>(v); }

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

template <>
void gemm<double>(Op opA, Op opB, std::size_t M, std::size_t N, std::size_t K, double alpha,
                  const double* A, std::size_t lda, const double* B, std::size_t ldb, double beta,
                  double* C, std::size_t ldc) {
    cblas_dgemm(CblasRowMajor, tr(opA), tr(opB), I(M), I(N), I(K), alpha, A, I(lda), B, I(ldb),
                beta, C, I(ldc));
}
template <>
void gemm<float>(Op opA, Op opB, std::size_t M, std::size_t N, std::size_t K, float alpha,
                 const float* A, std::size_t lda, const float* B, std::size_t ldb, float beta,
                 float* C, std::size_t ldc) {
    cblas_sgemm(CblasRowMajor, tr(opA), tr(opB), I(M), I(N), I(K), alpha, A, I(lda), B, I(ldb),
                beta, C, I(ldc));
}

template <class T>
void gemm_chunked(Op opA, Op opB, std::size_t M, std::size_t N, std::size_t K, T alpha, const T* A,
                  std::size_t lda, const T* B, std::size_t ldb, T beta, T* C, std::size_t ldc,
                  std::size_t m_chunk, std::size_t k_chunk) {
    if (K == 0 || M == 0) return gemm<T>(opA, opB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    m_chunk = std::max<std::size_t>(1, std::min(m_chunk, M));
    k_chunk = std::max<std::size_t>(1, std::min(k_chunk, K));
    for (std::size_t r = 0; r < M; r += m_chunk) {
        const std::size_t mr = std::min(m_chunk, M - r);
        const T* Ar = opA == Op::N ? A + r * lda : A + r;
        for (std::size_t k = 0; k < K; k += k_chunk) {
            const std::size_t kk = std::min(k_chunk, K - k);
            const T* Ak = opA == Op::N ? Ar + k : Ar + k * lda;
            const T* Bk = opB == Op::N ? B + k * ldb : B + k;
            gemm<T>(opA, opB, mr, N, kk, alpha, Ak, lda, Bk, ldb, k == 0 ? beta : T(1), C + r * ldc, ldc);
        }
    }
}
template void gemm_chunked<float>(Op, Op, std::size_t, std::size_t, std::size_t, float, const float*,
                                  std::size_t, const float*, std::size_t, float, float*, std::size_t,
                                  std::size_t, std::size_t);
template void gemm_chunked<double>(Op, Op, std::size_t, std::size_t, std::size_t, double, const double*,
                                   std::size_t, const double*, std::size_t, double, double*, std::size_t,
                                   std::size_t, std::size_t);

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

template <>
void transpose<float>(std::size_t rows, std::size_t cols, const float* A, std::size_t lda, float* B,
                      std::size_t ldb) {
    // OpenBLAS's omatcopy: ~4 µs for 32×784, a naive loop ~10–50 µs.
    cblas_somatcopy(CblasRowMajor, CblasTrans, I(rows), I(cols), 1.0f, A, I(lda), B, I(ldb));
}
template <>
void transpose<double>(std::size_t rows, std::size_t cols, const double* A, std::size_t lda, double* B,
                       std::size_t ldb) {
    cblas_domatcopy(CblasRowMajor, CblasTrans, I(rows), I(cols), 1.0, A, I(lda), B, I(ldb));
}

template <class T>
void gram(std::size_t K, std::size_t N, T alpha, const T* A, T beta, T* C) {
    // A plain GEMM: for the small N (latent sizes) we use it on, SYRK's saved
    // half is noise, and GEMM fills both triangles.
    gemm<T>(Op::T, Op::N, N, N, K, alpha, A, N, A, N, beta, C, N);
}
namespace {
void syrk_upper(std::size_t K, std::size_t N, double alpha, const double* A, std::size_t lda, double* C) {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, I(N), I(K), alpha, A, I(lda), 0.0, C, I(N));
}
void syrk_upper(std::size_t K, std::size_t N, float alpha, const float* A, std::size_t lda, float* C) {
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, I(N), I(K), alpha, A, I(lda), 0.0f, C, I(N));
}
}  // namespace

template <class T>
void syrk_full(std::size_t K, std::size_t N, T alpha, const T* A, std::size_t lda, T* C) {
    syrk_upper(K, N, alpha, A, lda, C);
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = 0; j < i; ++j) C[i * N + j] = C[j * N + i];
}
template void syrk_full<float>(std::size_t, std::size_t, float, const float*, std::size_t, float*);
template void syrk_full<double>(std::size_t, std::size_t, double, const double*, std::size_t, double*);

template void gram<float>(std::size_t, std::size_t, float, const float*, float, float*);
template void gram<double>(std::size_t, std::size_t, double, const double*, double, double*);

template <>
void axpy<double>(std::size_t n, double alpha, const double* x, double* y) {
    cblas_daxpy(I(n), alpha, x, 1, y, 1);
}
template <>
void axpy<float>(std::size_t n, float alpha, const float* x, float* y) {
    cblas_saxpy(I(n), alpha, x, 1, y, 1);
}

// Σ x_i y_i in double over 32 interleaved partial sums (sum j takes the
// i ≡ j mod 32), added in a fixed order at the end: the same bits on every
// path and at any thread count. (OpenBLAS's ddot splits the sum over its
// threads for n > 10⁴, so its result depended on train.threads, and waking its
// thread pool at every training step cost more than the sum itself.) Products
// of floats are exact in double; no FMA contraction (linalg/simd.hpp).
namespace {
constexpr std::size_t kDotLanes = 32;

template <class T>
LATENTLAB_NO_CONTRACT void dot_tail(std::size_t i, std::size_t n, const T* x, const T* y, double* acc) {
    for (; i < n; ++i) acc[i % kDotLanes] += static_cast<double>(x[i]) * static_cast<double>(y[i]);
}

template <class T>
LATENTLAB_NO_CONTRACT double dot_scalar(std::size_t n, const T* x, const T* y) {
    double acc[kDotLanes] = {};
    std::size_t i = 0;
    for (; i + kDotLanes <= n; i += kDotLanes)
        for (std::size_t j = 0; j < kDotLanes; ++j)
            acc[j] += static_cast<double>(x[i + j]) * static_cast<double>(y[i + j]);
    dot_tail(i, n, x, y, acc);
    double s = 0.0;
    for (double a : acc) s += a;
    return s;
}

#if LATENTLAB_HAVE_AVX512
LATENTLAB_AVX512 __m512d widen(const double* p) { return _mm512_loadu_pd(p); }
LATENTLAB_AVX512 __m512d widen(const float* p) {
    return _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(p));  // maskz: no GCC 12 -Wmaybe-uninitialized
}

template <class T>
LATENTLAB_AVX512 double dot_avx512(std::size_t n, const T* x, const T* y) {
    __m512d a0 = _mm512_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;  // lanes 0–7, 8–15, ...
    std::size_t i = 0;
    for (; i + kDotLanes <= n; i += kDotLanes) {
        a0 = _mm512_add_pd(a0, _mm512_mul_pd(widen(x + i), widen(y + i)));
        a1 = _mm512_add_pd(a1, _mm512_mul_pd(widen(x + i + 8), widen(y + i + 8)));
        a2 = _mm512_add_pd(a2, _mm512_mul_pd(widen(x + i + 16), widen(y + i + 16)));
        a3 = _mm512_add_pd(a3, _mm512_mul_pd(widen(x + i + 24), widen(y + i + 24)));
    }
    alignas(64) double acc[kDotLanes];
    _mm512_store_pd(acc, a0);
    _mm512_store_pd(acc + 8, a1);
    _mm512_store_pd(acc + 16, a2);
    _mm512_store_pd(acc + 24, a3);
    dot_tail(i, n, x, y, acc);
    double s = 0.0;
    for (double a : acc) s += a;
    return s;
}
#endif

template <class T>
double dot_any(std::size_t n, const T* x, const T* y) {
#if LATENTLAB_HAVE_AVX512
    if (simd::has_avx512()) return dot_avx512(n, x, y);
#endif
    return dot_scalar(n, x, y);
}
}  // namespace

template <>
double dot<double>(std::size_t n, const double* x, const double* y) {
    return dot_any(n, x, y);
}
template <>
double dot<float>(std::size_t n, const float* x, const float* y) {
    return dot_any(n, x, y);
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

int syevd(std::size_t n, double* A, double* w) {
    // Row-major symmetric A is its own column-major transpose; the column-major
    // eigenvector j (contiguous) is row j of the row-major buffer.
    const int N = I(n), lda = I(n);
    int info = 0, lwork = -1, liwork = -1, iwq = 0;
    double wq = 0;
    dsyevd_("V", "U", &N, A, &lda, w, &wq, &lwork, &iwq, &liwork, &info);
    if (info != 0) return info;
    lwork = static_cast<int>(wq) + 1;
    liwork = iwq;
    std::vector<double> work(static_cast<std::size_t>(lwork));
    std::vector<int> iwork(static_cast<std::size_t>(liwork));
    dsyevd_("V", "U", &N, A, &lda, w, work.data(), &lwork, iwork.data(), &liwork, &info);
    return info;
}

int potrf_lower(std::size_t n, double* A) {
    // Row-major lower = column-major upper: potrf('U') on the row-major symmetric
    // matrix yields its row-major lower factor without a copy.
    const int N = I(n);
    int info = 0;
    dpotrf_("U", &N, A, &N, &info);
    return info;
}

int potrs_lower(std::size_t n, std::size_t nrhs, const double* L, double* B) {
    // Column-major potrs wants B as n×nrhs column-major: that is our row-major
    // Bᵀ. Transpose into a scratch buffer, solve all right-hand sides at once.
    const int N = I(n), R = I(nrhs);
    std::vector<double> Bt(n * nrhs);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < nrhs; ++j) Bt[j * n + i] = B[i * nrhs + j];
    int info = 0;
    dpotrs_("U", &N, &R, L, &N, Bt.data(), &N, &info);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < nrhs; ++j) B[i * nrhs + j] = Bt[j * n + i];
    return info;
}

int singular_values(std::size_t M, std::size_t N, double* A, double* s) {
    // Row-major M×N = column-major N×M (Aᵀ): same singular values.
    const int m = I(N), n = I(M), lda = I(N), one = 1;
    int info = 0, lwork = -1;
    double wq = 0, dummy = 0;
    std::vector<int> iwork(8 * std::min(M, N));
    dgesdd_("N", &m, &n, A, &lda, s, &dummy, &one, &dummy, &one, &wq, &lwork, iwork.data(), &info);
    if (info != 0) return info;
    lwork = static_cast<int>(wq) + 1;
    std::vector<double> work(static_cast<std::size_t>(lwork));
    dgesdd_("N", &m, &n, A, &lda, s, &dummy, &one, &dummy, &one, work.data(), &lwork, iwork.data(),
            &info);
    return info;
}

}  // namespace latentlab::blas
