#include "latentlab/models/gplvm.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <cstdio>
#include <type_traits>

#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/linalg/lapack.hpp"
#include "latentlab/linalg/pca.hpp"
#include "latentlab/linalg/stream_gemm.hpp"
#include "latentlab/core/communicator.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/format.hpp"

namespace latentlab {

using blas::Op;

namespace {
constexpr double kLog2Pi = 1.8378770664093454836;

std::string fmt(double v) { return format_g(v, 3); }

// A learned hyperparameter v > 0 from its unconstrained θ, the inverse, and
// dv/dθ divided by v (which turns ∂/∂log v into ∂/∂θ): exp θ (1), or softplus
// θ = log(1 + e^θ) (sigmoid(θ) / v), written to stay finite for any θ.
double positive(double t, bool softplus) {
    if (!softplus) return std::exp(t);
    return t > 0 ? t + std::log1p(std::exp(-t)) : std::log1p(std::exp(t));
}
double unconstrained(double v, bool softplus) {
    if (!softplus) return std::log(v);
    return v > 30 ? v + std::log(-std::expm1(-v)) : std::log(std::expm1(v));
}
double dlog_to_dtheta(double t, bool softplus) {
    if (!softplus) return 1.0;
    return 1.0 / ((1.0 + std::exp(-t)) * positive(t, true));
}

// q×q helpers (row-major, double)
std::vector<double> mul(const std::vector<double>& A, const std::vector<double>& B, std::size_t q) {
    std::vector<double> C(q * q);
    blas::gemm<double>(Op::N, Op::N, q, q, q, 1.0, A.data(), q, B.data(), q, 0.0, C.data(), q);
    return C;
}
double trace_of_product(const std::vector<double>& A, const std::vector<double>& B, std::size_t q) {
    double t = 0;  // tr(A B) = Σ_ij A_ij B_ji
    for (std::size_t i = 0; i < q; ++i)
        for (std::size_t j = 0; j < q; ++j) t += A[i * q + j] * B[j * q + i];
    return t;
}
}  // namespace

template <class T>
Gplvm<T>::Gplvm(std::size_t N, std::size_t D, std::size_t q, GplvmOptions opt)
    : N_(N), D_(D), q_(q), N_all_(sum_all(N)), opt_(opt) {
    if (q_ >= N_all_)
        throw OptionError("latent_dim", " " + std::to_string(q_) + " must be smaller than the number of points N = " +
                          std::to_string(N_all_));
    if (q_ >= D_)
        throw OptionError("latent_dim", " " + std::to_string(q_) + " must be smaller than the data dimension D = " +
                          std::to_string(D_));
    if (!(opt_.noise_variance > 0))
        throw OptionError("noise_variance", " must be > 0 (got " + fmt(opt_.noise_variance) + ")");
    if (opt_.method == GplvmMethod::woodbury && opt_.kernel != KernelType::linear)
        throw OptionError("method", std::string(": woodbury needs the linear kernel, not ") + kernel_name(opt_.kernel));
    if (opt_.method == GplvmMethod::dense && world().size() > 1)
        throw OptionError("method", std::string(" dense (kernel ") + kernel_name(opt_.kernel) + ") on " +
                                        std::to_string(world().size()) +
                                        " processes: the exact GPLVM factorises the N×N kernel matrix of all rows, "
                                        "which does not split over processes; use model.type bayesian_gplvm (sparse, "
                                        "its statistics summed over processes) or the linear kernel (woodbury)");
    if (opt_.method == GplvmMethod::dense) {
        // K, its factor (then G) and K⁻¹Y, Y in double: refused up front when
        // they cannot fit, not after minutes of loading and a bad_alloc.
        const double n = static_cast<double>(N_all_), bytes = 8.0 * (2.0 * n * n + 2.0 * n * static_cast<double>(D_));
        if (bytes > static_cast<double>(memory_budget()))
            throw OptionError("method", " dense (kernel " + std::string(kernel_name(opt_.kernel)) + ") on " +
                                            std::to_string(N_all_) + " rows holds two N×N matrices: " +
                                            fmt(bytes / 1e9) + " GB, more than the memory this process may use allows (" +
                                            fmt(static_cast<double>(memory_budget()) / 1e9) +
                                            " GB); use model.type bayesian_gplvm (sparse: M inducing points) or "
                                            "data.limit");
    }
    const std::size_t n_len = opt_.kernel == KernelType::linear ? 0 : opt_.kernel == KernelType::rbf ? 1 : q_;
    std::vector<ParamBlock> blocks{ParamBlock{"X", {N_, q_}, 0, /*per_row=*/true}};
    if (opt_.learn_hyperparameters) {
        n_hyper_ = 1 + n_len + 1;
        blocks.push_back(ParamBlock{hyper_block(), {n_hyper_}, 0});
    }
    this->allocate(blocks);
    if (opt_.learn_hyperparameters) {
        auto h = this->template param<1>(hyper_block());  // θ of σ_f², ℓ…, σ²
        const bool sp = opt_.softplus;
        h(0) = static_cast<T>(unconstrained(opt_.variance, sp));
        for (std::size_t l = 0; l < n_len; ++l) h(1 + l) = static_cast<T>(unconstrained(opt_.lengthscale, sp));
        h(1 + n_len) = static_cast<T>(unconstrained(opt_.noise_variance, sp));
    }
}

template <class T>
KernelParams Gplvm<T>::kernel_params() const {
    KernelParams p;
    p.type = opt_.kernel;
    const std::size_t n_len = opt_.kernel == KernelType::linear ? 0 : opt_.kernel == KernelType::rbf ? 1 : q_;
    if (opt_.learn_hyperparameters) {
        const auto h = this->template param<1>(hyper_block());
        p.variance = positive(static_cast<double>(h(0)), opt_.softplus);
        for (std::size_t l = 0; l < n_len; ++l)
            p.lengthscales.push_back(positive(static_cast<double>(h(1 + l)), opt_.softplus));
    } else {
        p.variance = opt_.variance;
        p.lengthscales.assign(n_len, opt_.lengthscale);
    }
    return p;
}

template <class T>
double Gplvm<T>::noise_variance() const {
    if (!opt_.learn_hyperparameters) return opt_.noise_variance;
    return positive(static_cast<double>(this->template param<1>(hyper_block())(n_hyper_ - 1)), opt_.softplus);
}

template <class T>
std::vector<std::pair<std::string, double>> Gplvm<T>::diagnostics() const {
    const KernelParams p = kernel_params();
    std::vector<std::pair<std::string, double>> d;
    d.emplace_back(p.type == KernelType::linear ? "alpha" : "signal_variance", p.variance);
    for (std::size_t l = 0; l < p.lengthscales.size(); ++l)
        d.emplace_back(p.lengthscales.size() == 1 ? "lengthscale" : "lengthscale_" + std::to_string(l),
                       p.lengthscales[l]);
    d.emplace_back("noise_variance", noise_variance());
    d.emplace_back("jitter", last_jitter_);
    return d;
}

template <class T>
void Gplvm<T>::init(std::mt19937_64& rng) {
    std::normal_distribution<double> n01(0.0, 1.0);
    // Under several processes this rank's rows of the one draw over all rows.
    for (std::size_t i = offset_of(N_) * q_; i > 0; --i) n01(rng);
    T* X = this->theta_.data();
    for (std::size_t i = 0; i < N_ * q_; ++i) X[i] = static_cast<T>(opt_.init_scale * n01(rng));
}

template <class T>
void Gplvm<T>::init_from_data(const MatrixView<T>& Y, std::mt19937_64& rng) {
    check_shape(Y);
    if (opt_.init != "pca") {
        init(rng);
        return;
    }
    // Scores on the top-q principal components of YᵀY (linalg/pca.hpp),
    // standardised to zero mean and unit variance per dimension.
    const xt::xtensor<double, 2> S = standardised_pca_scores(Y, q_);
    auto X = this->template param<2>("X");
    for (std::size_t i = 0; i < N_; ++i)
        for (std::size_t d = 0; d < q_; ++d) X(i, d) = static_cast<T>(S(i, d));
}

template <class T>
void Gplvm<T>::check_shape(const MatrixView<T>& Y) const {
    if (Y.rows != N_ || Y.cols != D_)
        throw Error("gplvm: the model was built for " + std::to_string(N_) + "×" + std::to_string(D_) +
                    " data, got " + std::to_string(Y.rows) + "×" + std::to_string(Y.cols) +
                    " (GPLVM is full-batch: train.batch_size is ignored)");
}

template <class T>
const double* Gplvm<T>::y_as_double(const MatrixView<T>& Y) {
    if constexpr (std::is_same_v<T, double>) {
        return Y.data;
    } else {
        if (Ycopy_src_ != Y.data || Ycopy_.size() != N_ * D_) {
            Ycopy_.assign(Y.data, Y.data + N_ * D_);
            Ycopy_src_ = Y.data;
        }
        return Ycopy_.data();
    }
}

template <class T>
double Gplvm<T>::loss(const MatrixView<T>& Y) {
    return evaluate(Y, nullptr);
}

template <class T>
double Gplvm<T>::loss_and_grad(const MatrixView<T>& Y, xt::xtensor<T, 1>& g) {
    if (g.size() != this->theta_.size()) g = xt::zeros<T>({this->theta_.size()});
    return evaluate(Y, g.data());
}

template <class T>
double Gplvm<T>::evaluate(const MatrixView<T>& Y, T* grad) {
    check_shape(Y);
    return opt_.method == GplvmMethod::woodbury ? woodbury(Y, grad) : dense(Y, grad);
}

template <class T>
double Gplvm<T>::dense(const MatrixView<T>& Y, T* grad) {
    const std::size_t N = N_, D = D_, q = q_;
    const double* Yd = y_as_double(Y);
    const KernelParams kp = kernel_params();
    const double s2 = noise_variance();
    std::vector<double> X(this->theta_.data(), this->theta_.data() + N * q);

    // Kept between evaluations: fresh N×N buffers would page-fault on every
    // first touch (~20 ms per evaluation at N = 2,000).
    std::vector<double>& Kf = dense_Kf_;
    std::vector<double>& L = dense_L_;
    std::vector<double>& Z = dense_Z_;
    Kf.resize(N * N);
    L.resize(N * N);
    Z.resize(N * D);
    kernel_matrix(kp, X.data(), N, q, Kf.data());
    for (std::size_t i = 0; i < N * N; ++i)
        if (!std::isfinite(Kf[i]))
            throw NumericalError("gplvm: the kernel matrix K has non-finite entries (latents or "
                                 "hyperparameters are not finite)");
    double mean_diag = 0;
    for (std::size_t i = 0; i < N; ++i) mean_diag += Kf[i * N + i] + s2;
    mean_diag /= static_cast<double>(N);

    // Cholesky of K = K_f + σ² I, with growing jitter if it fails.
    double jitter = 0.0;
    for (int attempt = 0;; ++attempt) {
        L = Kf;
        for (std::size_t i = 0; i < N; ++i) L[i * N + i] += s2 + jitter;
        if (lapack::potrf_lower(N, L.data()) == 0) break;
        if (attempt == 5)
            throw NumericalError("gplvm: the kernel matrix K (" + std::to_string(N) + "x" + std::to_string(N) +
                                 ") is not positive definite even with jitter " + fmt(jitter) + " (" +
                                 fmt(jitter / mean_diag) +
                                 " of its mean diagonal); raise the noise variance or remove duplicated points");
        const double level = attempt == 0 ? 1e-6 : 10.0 * jitter / mean_diag;
        jitter = level * mean_diag;
        // Once per level (1e-6, 1e-5, ... of the mean diagonal), not once per evaluation.
        if (this->on_warning && level != warned_level_) {
            this->on_warning("gplvm: K is not positive definite; adding jitter " + fmt(jitter) + " (" + fmt(level) +
                       " of its mean diagonal; reported once per level)");
            warned_level_ = level;
        }
    }
    last_jitter_ = jitter;
    const double logdet = lapack::cholesky_logdet(N, L.data());
    const double nll_const = 0.5 * static_cast<double>(N * D) * kLog2Pi + 0.5 * static_cast<double>(D) * logdet;
    if (!grad) {
        // Yᵀ K⁻¹ Y = ‖L⁻¹ Y‖²: one triangular solve. (With the gradient it
        // comes from K⁻¹ below: the two values agree to ~ε·cond(K) relative,
        // 1e-12 on well-conditioned K; an optimiser uses one of them only.)
        std::copy(Yd, Yd + N * D, Z.begin());
        lapack::triangular_solve(N, D, L.data(), Z.data());
        double quad = 0;
        for (std::size_t i = 0; i < N * D; ++i) quad += Z[i] * Z[i];
        return nll_const + 0.5 * quad;
    }
    // The gradient needs K⁻¹ itself (G below), so Z = K⁻¹ Y is one GEMM with
    // it: at the GEMM's rate, where the two triangular solves of L run at
    // ~60% of it (N ≤ a few thousand, D = 784).
    if (lapack::cholesky_inverse(N, L.data()) != 0) throw NumericalError("gplvm: LAPACK dpotri failed");
    blas::gemm<double>(Op::N, Op::N, N, D, N, 1.0, L.data(), N, Yd, D, 0.0, Z.data(), D);
    double quad = 0;
    for (std::size_t i = 0; i < N * D; ++i) quad += Yd[i] * Z[i];
    const double nll = nll_const + 0.5 * quad;

    // G = ∂NLL/∂K = ½ (D K⁻¹ − Z Zᵀ), built in L's buffer.
    double* G = L.data();
    // Z Zᵀ is symmetric: SYRK (half the flops of the GEMM) on the upper triangle, mirrored.
    blas::syrk_rows_upper<double>(N, D, -0.5, Z.data(), 0.5 * static_cast<double>(D), G);
    blas::mirror_upper(N, G);
    double trG = 0;
    for (std::size_t i = 0; i < N; ++i) trG += G[i * N + i];

    std::vector<double> dX(N * q), dlen(kp.num_lengthscales() + 1);
    double dlogvar = 0;
    kernel_backward(kp, X.data(), N, q, G, Kf.data(), /*A=*/G, dX.data(), &dlogvar, dlen.data());
    for (std::size_t i = 0; i < N * q; ++i) grad[i] = static_cast<T>(dX[i]);
    if (opt_.learn_hyperparameters) {
        // ∂/∂log v, turned into ∂/∂θ; ∂NLL/∂log σ² = σ² tr(G)
        T* h = grad + N * q;
        const auto th = this->template param<1>(hyper_block());
        auto to_theta = [&](std::size_t k, double d_log) {
            h[k] = static_cast<T>(d_log * dlog_to_dtheta(static_cast<double>(th(k)), opt_.softplus));
        };
        to_theta(0, dlogvar);
        for (std::size_t l = 0; l < kp.num_lengthscales(); ++l) to_theta(1 + l, dlen[l]);
        to_theta(n_hyper_ - 1, s2 * trG);
    }
    return nll;
}

// Every rank's flag true (a collective: the ranks must take the same branch).
static bool on_every_rank(bool mine) {
    if (world().size() == 1) return mine;
    double v = mine ? 1.0 : 0.0;
    world().sum(&v, 1);
    return v == static_cast<double>(world().size());
}

template <class T>
bool Gplvm<T>::on_line(const T* x, const double* d) {
    if (x && !d) {  // the line search accepted x: was its value a fresh evaluation's?
        const bool was_line = line_;
        line_ = false;
        if (!was_line) return false;
        const bool fresh = last_fresh_ && last_theta_.size() == this->theta_.size() &&
                           std::memcmp(last_theta_.data(), x, last_theta_.size() * sizeof(T)) == 0;
        return !on_every_rank(fresh);
    }
    line_ = x != nullptr && opt_.method == GplvmMethod::woodbury;
    base_is_fresh_ = false;
    base_ = Products{};
    first_ = Products{};
    a_first_ = 0;
    if (!line_) {
        X0_ = {};
        D_line_ = {};
        return false;
    }
    X0_.assign(x, x + N_ * q_);  // the X block leads the parameters
    D_line_.assign(d, d + N_ * q_);
    // The last point evaluated by passes is usually where the line starts:
    // its products become X0's when the line's first point is evaluated.
    base_is_fresh_ = on_every_rank(fresh_.y != nullptr && fresh_.X == X0_ && !fresh_.R.empty());
    return false;
}

template <class T>
double Gplvm<T>::step_on_line(const std::vector<double>& X) const {
    // a = ⟨X − X0, D⟩ / ⟨D, D⟩ over every rank's rows; then the residual
    // X − X0 − a·D must be within the rounding of forming X0 + a·d and of
    // this check itself (a few roundings of ε relative to the terms):
    // ‖·‖² ≤ (8ε)² (‖X0‖² + ‖aD‖² + ‖X‖²).
    const std::size_t n = N_ * q_;
    double s[2] = {0, 0};
    for (std::size_t i = 0; i < n; ++i) {
        s[0] += (X[i] - X0_[i]) * D_line_[i];
        s[1] += D_line_[i] * D_line_[i];
    }
    if (world().size() > 1) world().sum(s, 2);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (!(s[1] > 0)) return nan;
    const double a = s[0] / s[1];
    double r[2] = {0, 0};
    for (std::size_t i = 0; i < n; ++i) {
        const double ad = a * D_line_[i];
        const double e = X[i] - X0_[i] - ad;
        r[0] += e * e;
        r[1] += X0_[i] * X0_[i] + ad * ad + X[i] * X[i];
    }
    if (world().size() > 1) world().sum(r, 2);
    constexpr double eps = std::numeric_limits<double>::epsilon();
    return r[0] <= 64.0 * eps * eps * r[1] ? a : nan;
}

template <class T>
void Gplvm<T>::products(const MatrixView<T>& Y, const double* X, bool with_R, Products& out) {
    const std::size_t N = N_, D = D_, q = q_;
    out.y = Y.data;
    out.X.assign(X, X + N * q);
    out.P.assign(q * D, 0.0);
    out.R.clear();
    if constexpr (std::is_same_v<T, double>) {
        // 8-bit data pass over their bytes (the same bits, an eighth of the traffic)
        if (Y.levels)
            stream::xty_levels(X, Y.levels, Y.level_scale, Y.level_offset, N, D, q, out.P.data(), blas::threads());
        else
            stream::xty(X, Y.data, N, D, q, out.P.data(), blas::threads());
        ++passes_;
        if (world().size() > 1) world().sum(out.P.data(), out.P.size());
        if (with_R) {
            out.R.resize(N * q);
            if (Y.levels)
                stream::ypt_levels(Y.levels, Y.level_scale, Y.level_offset, out.P.data(), N, D, q, out.R.data(),
                                   blas::threads());
            else
                stream::ypt(Y.data, out.P.data(), N, D, q, out.R.data(), blas::threads());
            ++passes_;
        }
    }
}

template <class T>
double Gplvm<T>::woodbury(const MatrixView<T>& Y, T* grad) {
    const std::size_t N = N_, D = D_, q = q_;
    const double alpha = kernel_params().variance, s2 = noise_variance(), beta = 1.0 / s2;
    const T* Xt = this->theta_.data();
    std::vector<double> X(Xt, Xt + N * q);

    // The thin products over the N rows (XᵀX here, the gradient's X B1 + R B2
    // below) in fixed blocks of rows with single-threaded BLAS
    // (blas::parallel_for): threaded, OpenBLAS would wake its own threads for
    // these small products, which then spin beside the passes over Y (a
    // quarter of an iteration's time at two threads).
    constexpr std::size_t kThin = 8192;
    const std::size_t thin_blocks = (N + kThin - 1) / kThin;
    std::vector<double> XtX(q * q, 0.0);
    {
        std::vector<double> grams(thin_blocks * q * q);
        blas::parallel_for(thin_blocks, [&](std::size_t b) {
            const std::size_t r0 = b * kThin, k = std::min(kThin, N - r0);
            blas::gram<double>(k, q, 1.0, X.data() + r0 * q, 0.0, grams.data() + b * q * q);
        });
        for (std::size_t b = 0; b < thin_blocks; ++b)
            for (std::size_t i = 0; i < q * q; ++i) XtX[i] += grams[b * q * q + i];
    }
    // P = Xᵀ Y (q×D) by a pass over Y, and below, for the gradient,
    // R = Y Pᵀ (N×q) by another. Double data streams through stream::xty/ypt
    // (faster than GEMM on these shapes); float data through GEMM.
    //
    // Along a line search's line X(a) = X0 + a·D both are linear in a, so a
    // point after the line's first is combined from the products at X0 and at
    // the first point, P(a) = P0 + (a/a1)(P1 − P0), and likewise R — no pass
    // over Y. The products at X0 come from the last point evaluated by passes
    // when that is X0 (an L-BFGS iteration that accepts its first trial point
    // ends there), else by passes. So an iteration costs two passes over Y,
    // not two per evaluation. Every combined value is a function of the
    // products at X0 and at the first point, themselves computed by passes,
    // so a resumed run repeats the same bits; they differ from passes at the
    // point itself only by roundings of order ε‖X‖‖Y‖ (the point must lie on
    // the line to 2ε‖X‖: step_on_line).
    std::vector<T> PT(q * D);
    std::vector<double> P(q * D), PPt(q * q), R;
    const bool spread = world().size() > 1;
    if constexpr (std::is_same_v<T, double>) {
        bool combined = false;
        if (line_ && first_.y == Y.data && a_first_ != 0 && (!grad || !first_.R.empty())) {
            const double a = step_on_line(X);
            if (a == a) {
                if (base_.y != Y.data) {  // X0's products by passes
                    products(Y, X0_.data(), true, base_);
                    base_.X.clear();
                }
                const double t = a / a_first_;
                for (std::size_t i = 0; i < q * D; ++i) P[i] = base_.P[i] + t * (first_.P[i] - base_.P[i]);
                if (grad) {
                    R.resize(N * q);
                    for (std::size_t i = 0; i < N * q; ++i) R[i] = base_.R[i] + t * (first_.R[i] - base_.R[i]);
                }
                combined = true;
            }
        }
        if (!combined) {
            if (line_ && base_is_fresh_) {  // keep X0's products before they are replaced
                base_.y = fresh_.y;
                base_.P = std::move(fresh_.P);
                base_.R = std::move(fresh_.R);
                base_is_fresh_ = false;
            }
            products(Y, X.data(), grad != nullptr, fresh_);
            P = fresh_.P;
            if (grad) R = fresh_.R;
            if (line_ && first_.y == nullptr) {  // the line's first point
                const double a = step_on_line(X);
                if (a == a && a != 0) {
                    first_.y = fresh_.y;
                    first_.P = fresh_.P;
                    first_.R = fresh_.R;
                    a_first_ = a;
                }
            }
        }
        PT = P;
        last_fresh_ = !combined;
        last_theta_.assign(this->theta_.begin(), this->theta_.end());
    } else {
        blas::gemm<T>(Op::T, Op::N, q, D, N, T(1), Xt, q, Y.data, D, T(0), PT.data(), D);
        std::copy(PT.begin(), PT.end(), P.begin());
        ++passes_;
    }
    double sumY2 = 0;
    if (Y.sqnorms) {
        for (std::size_t i = 0; i < N; ++i) sumY2 += Y.sqnorms[i];
    } else {
        sumY2 = blas::sqnorm<T>(N * D, Y.data);
    }
    if (spread) {  // XᵀX, ‖Y‖² (and for float data XᵀY) of every rank's rows: one reduction
        std::vector<double> sums(XtX);
        sums.push_back(sumY2);
        if constexpr (!std::is_same_v<T, double>) sums.insert(sums.end(), P.begin(), P.end());
        world().sum(sums.data(), sums.size());
        std::copy_n(sums.begin(), q * q, XtX.begin());
        sumY2 = sums[q * q];
        if constexpr (!std::is_same_v<T, double>) {
            std::copy(sums.begin() + static_cast<std::ptrdiff_t>(q * q + 1), sums.end(), P.begin());
            std::copy(P.begin(), P.end(), PT.begin());
        }
    }
    blas::gemm<double>(Op::N, Op::T, q, q, D, 1.0, P.data(), D, P.data(), D, 0.0, PPt.data(), q);

    // M = I + αβ XᵀX, its Cholesky, log|M| and M⁻¹
    std::vector<double> Minv(q * q);
    for (std::size_t i = 0; i < q * q; ++i) Minv[i] = alpha * beta * XtX[i];
    for (std::size_t i = 0; i < q; ++i) Minv[i * q + i] += 1.0;
    if (lapack::potrf_lower(q, Minv.data()) != 0)
        throw NumericalError("gplvm: M = I + αβ XᵀX is not positive definite (non-finite latents?)");
    const double logdetM = lapack::cholesky_logdet(q, Minv.data());
    lapack::cholesky_inverse(q, Minv.data());

    const double Nd = static_cast<double>(N_all_), Dd = static_cast<double>(D);
    const double trMPP = trace_of_product(Minv, PPt, q);
    const double logdetK = Nd * std::log(s2) + logdetM;
    const double quad = beta * sumY2 - alpha * beta * beta * trMPP;
    const double nll = 0.5 * Nd * Dd * kLog2Pi + 0.5 * Dd * logdetK + 0.5 * quad;
    if (!grad) return nll;

    // Pass 2 over Y: R = Y Pᵀ (N×q) (double data: formed above)
    if constexpr (!std::is_same_v<T, double>) {
        R.resize(N * q);
        std::vector<T> RT(N * q);
        blas::gemm<T>(Op::N, Op::T, N, q, D, T(1), Y.data, D, PT.data(), D, T(0), RT.data(), q);
        std::copy(RT.begin(), RT.end(), R.begin());
        ++passes_;
    }
    const std::vector<double> MPPM = mul(mul(Minv, PPt, q), Minv, q);  // M⁻¹PPᵀM⁻¹
    std::vector<double> B1(q * q), B2(q * q), dX(N * q);
    for (std::size_t i = 0; i < q * q; ++i) {
        B1[i] = alpha * beta * Dd * Minv[i] + alpha * alpha * beta * beta * beta * MPPM[i];
        B2[i] = -alpha * beta * beta * Minv[i];
    }
    // ∂NLL/∂X = X B1 − αβ² R M⁻¹
    blas::parallel_for(thin_blocks, [&](std::size_t b) {
        const std::size_t r0 = b * kThin, k = std::min(kThin, N - r0);
        blas::gemm<double>(Op::N, Op::N, k, q, q, 1.0, X.data() + r0 * q, q, B1.data(), q, 0.0, dX.data() + r0 * q, q);
        blas::gemm<double>(Op::N, Op::N, k, q, q, 1.0, R.data() + r0 * q, q, B2.data(), q, 1.0, dX.data() + r0 * q, q);
    });
    for (std::size_t i = 0; i < N * q; ++i) grad[i] = static_cast<T>(dX[i]);
    if (opt_.learn_hyperparameters) {
        // ∂NLL/∂α = ½ (D tr(XᵀK⁻¹X) − ‖YᵀK⁻¹X‖²),  XᵀK⁻¹X = β XᵀX M⁻¹,  YᵀK⁻¹X = β Pᵀ M⁻¹
        double trMPPM = 0;
        for (std::size_t i = 0; i < q; ++i) trMPPM += MPPM[i * q + i];
        const double trXtXM = trace_of_product(XtX, Minv, q);
        const double d_alpha = 0.5 * (Dd * beta * trXtXM - beta * beta * trMPPM);
        // ∂NLL/∂σ² = ½ (D tr(K⁻¹) − ‖K⁻¹Y‖²)
        const double trKinv = Nd * beta - alpha * beta * beta * trXtXM;
        const double trMXtXMPP = trace_of_product(mul(mul(Minv, XtX, q), Minv, q), PPt, q);
        const double KinvY2 = beta * beta * sumY2 - 2.0 * alpha * beta * beta * beta * trMPP +
                              alpha * alpha * beta * beta * beta * beta * trMXtXMPP;
        const double d_s2 = 0.5 * (Dd * trKinv - KinvY2);
        T* h = grad + N * q;
        const auto th = this->template param<1>(hyper_block());
        h[0] = static_cast<T>(alpha * d_alpha * dlog_to_dtheta(static_cast<double>(th(0)), opt_.softplus));
        h[n_hyper_ - 1] =
            static_cast<T>(s2 * d_s2 * dlog_to_dtheta(static_cast<double>(th(n_hyper_ - 1)), opt_.softplus));
    }
    return nll;
}

template class Gplvm<float>;
template class Gplvm<double>;

}  // namespace latentlab
