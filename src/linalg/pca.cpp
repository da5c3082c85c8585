#include "latentlab/linalg/pca.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "latentlab/core/communicator.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/lapack.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/linalg/pixels.hpp"
#include "latentlab/linalg/simd.hpp"

namespace latentlab {

namespace {

// The upper triangle of S (n×n) += that of C, in double (exact for integers).
LATENTLAB_CLONES void add_upper(const float* __restrict C, std::size_t n, double* __restrict S) {
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i; j < n; ++j) S[i * n + j] += static_cast<double>(C[i * n + j]);
}

// Σ (k − c)² per column of pixel levels k (bytes, rows × n) shifted by the
// column's integer offset c (exact in float: at most 256 rows of 255²).
LATENTLAB_CLONES void shifted_squares(const std::uint8_t* __restrict k, std::size_t rows, std::size_t n,
                                      const float* __restrict c, float* __restrict colsq) {
    for (std::size_t j = 0; j < n; ++j) colsq[j] = 0.0f;
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < n; ++j) {
            const float x = static_cast<float>(k[r * n + j]) - c[j];
            colsq[j] += x * x;
        }
}
// v = k − c as floats (exact), and the levels summed per column into
// `colsum` (exact in double).
LATENTLAB_CLONES void shifted_levels(const std::uint8_t* __restrict k, std::size_t rows, std::size_t n,
                                     const float* __restrict c, float* __restrict v, double* __restrict colsum) {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < n; ++j) {
            const float k_rj = static_cast<float>(k[r * n + j]);
            v[r * n + j] = k_rj - c[j];
            colsum[j] += static_cast<double>(k_rj);
        }
}

// Rows [r0, r1) of X added to the upper triangle of C in double: one SYRK
// (double rows) or one per 4096 rows converted (float rows).
template <class T>
void add_rows_double(const MatrixView<T>& X, std::size_t r0, std::size_t r1, double* C, std::vector<double>& buf) {
    const std::size_t n = X.cols;
    if (r1 <= r0) return;
    if constexpr (std::is_same_v<T, double>) {
        blas::syrk_upper_add<double>(r1 - r0, n, 1.0, X.row(r0), C);
    } else {
        const std::size_t chunk = 1024;
        buf.resize(std::min(chunk, r1 - r0) * n);
        for (std::size_t r = r0; r < r1; r += chunk) {
            const std::size_t k = std::min(chunk, r1 - r);
            const T* src = X.row(r);
            for (std::size_t i = 0; i < k * n; ++i) buf[i] = src[i];
            blas::syrk_upper_add<double>(k, n, 1.0, buf.data(), C);
        }
    }
}

// The pixel rows' Σ k kᵀ, exactly: the integer levels, shifted per column by
// an integer c (near the column's mean in the first block), are gathered
// block by block and sent to a single-precision SYRK while every entry of the
// sum stays an integer below 2²⁴ — then exact whatever the order of the
// additions. |Σ vᵢ vⱼ| ≤ max over columns of Σ v² (Cauchy–Schwarz, for any
// subset of the rows), so that maximum bounds every partial sum; each SYRK's
// result is added to `sum` in double (exact integers). The shift keeps Σ v²
// small (about 3× more rows per SYRK on Fashion-MNIST than unshifted levels:
// fewer, larger SYRKs); Σ k kᵀ = Σ v vᵀ + c sᵀ + s cᵀ − n c cᵀ with s = Σ k,
// all exact in double.
class PixelMoment {
public:
    static constexpr std::size_t kBlock = 256;  // rows checked at a time: ≤ 256·255² < 2²⁴ per column
    // At most this many rows wait for a SYRK (their buffer grows to at most
    // kMaxPending·n floats): rows near the offsets could otherwise pile up
    // without bound (all of them, for constant columns).
    static constexpr std::size_t kMaxPending = 8 * kBlock;

    explicit PixelMoment(std::size_t n)
        : n_(n), Cint_(n * n), sum_(n * n, 0.0), colsq_(n), pending_sq_(n, 0.0f), offset_(n), colsum_(n, 0.0),
          scratch_(kBlock * n) {}

    // Rows x[0, rows) (rows ≤ kBlock) if they are pixels: true, and they are
    // added (a SYRK runs first when the pending rows with them could reach
    // 2²⁴ in some entry); false (nothing added) otherwise. `bytes`: the rows'
    // levels when the caller has them (then x is not read), else null.
    template <class T>
    bool add(const T* x, const std::uint8_t* bytes, std::size_t rows) {
        if (!bytes) {
            if (!pixels::encode(x, rows * n_, scratch_.data())) return false;
            bytes = scratch_.data();
        }
        if (rows_ == 0) {  // the offsets: the first block's column means, rounded
            for (std::size_t j = 0; j < n_; ++j) {
                double m = 0;
                for (std::size_t r = 0; r < rows; ++r) m += bytes[r * n_ + j];
                offset_[j] = static_cast<float>(std::nearbyint(m / static_cast<double>(rows)));
            }
        }
        // Σ v² of the new block first: when it does not fit with the pending
        // rows, those are summed and the block goes to the front.
        shifted_squares(bytes, rows, n_, offset_.data(), colsq_.data());
        constexpr float kLimit = 16777216.0f;  // 2²⁴
        bool fits = true;
        for (std::size_t j = 0; j < n_; ++j) fits &= pending_sq_[j] + colsq_[j] < kLimit;
        fits &= pending_ + rows <= kMaxPending;
        if (!fits) {
            syrk(pending_);
            pending_ = 0;
            std::fill(pending_sq_.begin(), pending_sq_.end(), 0.0f);
        }
        const std::size_t need = (pending_ + rows) * n_;  // ≤ kMaxPending·n_
        if (levels_.size() < need) levels_.resize(std::min(kMaxPending * n_, std::max(need, 2 * levels_.size())));
        shifted_levels(bytes, rows, n_, offset_.data(), levels_.data() + pending_ * n_, colsum_.data());
        for (std::size_t j = 0; j < n_; ++j) pending_sq_[j] += colsq_[j];
        pending_ += rows;
        rows_ += rows;
        return true;
    }
    // Σ k kᵀ (upper triangle) of every added row.
    const std::vector<double>& total() {
        syrk(pending_);
        pending_ = 0;
        const double n = static_cast<double>(rows_);
        for (std::size_t i = 0; i < n_; ++i) {
            const double ci = offset_[i], si = colsum_[i];
            for (std::size_t j = i; j < n_; ++j) {
                const double cj = offset_[j], sj = colsum_[j];
                sum_[i * n_ + j] += ci * sj + si * cj - n * ci * cj;
            }
        }
        std::fill(colsum_.begin(), colsum_.end(), 0.0);
        rows_ = 0;
        return sum_;
    }
    bool empty() const { return rows_ == 0; }

private:
    void syrk(std::size_t rows) {
        if (rows == 0) return;
        blas::syrk_upper_set<float>(rows, n_, 1.0f, levels_.data(), Cint_.data());
        add_upper(Cint_.data(), n_, sum_.data());
    }
    std::size_t n_, pending_ = 0, rows_ = 0;
    std::vector<float> levels_, Cint_;
    std::vector<double> sum_;
    std::vector<float> colsq_, pending_sq_, offset_;
    std::vector<double> colsum_;
    std::vector<std::uint8_t> scratch_;
};

}  // namespace

template <class T>
xt::xtensor<double, 2> second_moment(const MatrixView<T>& X) {
    // SYRK: half the flops of the GEMM XᵀX (numpy's Gram), in double (float
    // rows converted in chunks). Pixel rows (values k/255, k integer 0..255)
    // go through a single-precision SYRK on the integers k instead, exact
    // (PixelMoment), and their sum is scaled by 1/255² once: the second moment
    // of the values k/255 to within a rounding (float32 rows hold k/255 only to
    // 6e-8), at about twice the speed. Other rows: double SYRKs (below).
    //
    // Threads: the blocks of rows are split into one contiguous range per
    // thread, each with its own PixelMoment and single-threaded BLAS (whole
    // SYRKs scale better than each SYRK split); their integer sums are exact,
    // so the split does not change the result.
    const std::size_t n = X.cols;
    xt::xtensor<double, 2> C = xt::zeros<double>({n, n});
    const std::size_t blocks = (X.rows + PixelMoment::kBlock - 1) / PixelMoment::kBlock;
    const std::size_t parts = std::max<std::size_t>(
        1, std::min<std::size_t>(static_cast<std::size_t>(std::max(1, blas::threads())), blocks / 8));
    // Rows kept as bytes with the dataset's scale 1/255 and no centring are
    // pixel levels by construction: their bytes are summed without a check.
    const std::uint8_t* bytes = X.levels && !X.level_offset && X.level_scale == 1.0 / 255.0 ? X.levels : nullptr;
    std::vector<char> is_pixels(blocks, 0);
    std::vector<std::vector<double>> sums(parts);
    blas::parallel_for(parts, [&](std::size_t p) {
        PixelMoment moment(n);
        for (std::size_t b = blocks * p / parts; b < blocks * (p + 1) / parts; ++b) {
            const std::size_t r = b * PixelMoment::kBlock;
            is_pixels[b] = moment.add(X.row(r), bytes ? bytes + r * n : nullptr, std::min(PixelMoment::kBlock, X.rows - r));
        }
        if (!moment.empty()) sums[p] = moment.total();
    });
    // The other rows, in runs between pixel blocks: in parts of kPartRows
    // rows (fixed by the shapes, not the thread count), each summed by
    // single-threaded SYRKs into its own matrix, the parts added in order —
    // the same bits at any thread count, and none of the large buffers
    // OpenBLAS's threaded SYRK touches. With one part (at most kPartRows
    // rows, or an n×n matrix too large to keep several) OpenBLAS threads the
    // SYRKs itself, and the last bits may depend on the thread count.
    std::vector<std::pair<std::size_t, std::size_t>> runs;  // non-pixel rows [r0, r1), in order
    for (std::size_t b = 0, start = 0; b <= blocks; ++b) {
        if (b == blocks || is_pixels[b]) {
            const std::size_t r0 = start * PixelMoment::kBlock;
            const std::size_t r1 = std::min(X.rows, b * PixelMoment::kBlock);
            if (r1 > r0) runs.emplace_back(r0, r1);
            start = b + 1;
        }
    }
    constexpr std::size_t kPartRows = 8192;
    constexpr double kPartBytes = 64e6;  // at most this much in the parts' matrices
    const std::size_t max_parts = static_cast<std::size_t>(kPartBytes / (8.0 * static_cast<double>(n * n)));
    const std::size_t nparts =
        std::min<std::size_t>({(X.rows + kPartRows - 1) / kPartRows, std::max<std::size_t>(1, max_parts), 16});
    auto add_part = [&](std::size_t p, double* Cp, std::vector<double>& buf) {
        const std::size_t lo = nparts == 1 ? 0 : p * kPartRows, hi = nparts == 1 ? X.rows : std::min(X.rows, lo + kPartRows);
        const std::size_t hi_all = p + 1 == nparts ? X.rows : hi;  // the last part takes the rest
        for (const auto& [r0, r1] : runs)
            add_rows_double(X, std::max(r0, lo), std::min(r1, hi_all), Cp, buf);
    };
    if (!runs.empty()) {
        if (nparts == 1) {
            std::vector<double> buf;
            add_part(0, C.data(), buf);
        } else {
            std::vector<std::vector<double>> parts(nparts);
            blas::parallel_for(nparts, [&](std::size_t p) {
                std::vector<double> buf;
                parts[p].assign(n * n, 0.0);
                add_part(p, parts[p].data(), buf);
            });
            for (const auto& Cp : parts)
                for (std::size_t i = 0; i < n; ++i)
                    for (std::size_t j = i; j < n; ++j) C(i, j) += Cp[i * n + j];
        }
    }
    std::vector<double> P;
    for (auto& s : sums) {
        if (s.empty()) continue;
        if (P.empty()) P = std::move(s);
        else
            for (std::size_t i = 0; i < n * n; ++i) P[i] += s[i];  // exact integers
    }
    if (!P.empty()) {
        constexpr double kScale2 = 1.0 / (255.0 * 255.0);
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = i; j < n; ++j) C(i, j) += P[i * n + j] * kScale2;
    }
    blas::mirror_upper(n, C.data());
    return C;
}

Pca pca_from_second_moment(const xt::xtensor<double, 2>& C, std::size_t vectors) {
    const std::size_t n = C.shape()[0], k = std::min(vectors, n);
    xt::xtensor<double, 2> V = C;
    xt::xtensor<double, 1> w = xt::xtensor<double, 1>::from_shape({n});
    Pca p;
    p.eigenvalues = xt::xtensor<double, 1>::from_shape({n});
    p.components = xt::xtensor<double, 2>::from_shape({k, n});
    int info = 0;
    if (k < n && k > 0) {
        info = lapack::syev_top(n, V.data(), w.data(), k, p.components.data());
        if (info < 0) throw Error("PCA: LAPACK argument " + std::to_string(-info) + " rejected (syev_top)");
        if (info != 0) V = C;  // MRRR did not converge (or missed a vector): the full decomposition below
    }
    if (k == n || k == 0 || info != 0) {
        if (info = lapack::syevd(n, V.data(), w.data()); info != 0)
            throw Error("PCA: LAPACK dsyevd failed (info " + std::to_string(info) + ")");
        for (std::size_t j = 0; j < k; ++j) std::copy_n(V.data() + (n - 1 - j) * n, n, p.components.data() + j * n);
    }
    for (std::size_t j = 0; j < n; ++j) p.eigenvalues(j) = w(n - 1 - j);  // ascending → descending
    return p;
}

template <class T>
xt::xtensor<double, 2> pca_scores(const MatrixView<T>& Y, const Pca& pca, std::size_t q) {
    const std::size_t N = Y.rows, D = Y.cols;
    if (pca.components.shape()[0] < q)
        throw Error("PCA: " + std::to_string(q) + " scores asked of " + std::to_string(pca.components.shape()[0]) +
                    " components");
    xt::xtensor<double, 2> S = xt::zeros<double>({N, q});
    std::vector<double> V(pca.components.data(), pca.components.data() + q * D);
    // S = Y Vᵀ by GEMMs of at most 4096 rows: one GEMM over all N rows made
    // OpenBLAS pack Y into ~180 MB of buffers at two threads (N = 60,000).
    constexpr std::size_t kRows = 4096;
    std::vector<T> VT(V.begin(), V.end()), ST(std::min(N, kRows) * q);
    for (std::size_t r = 0; r < N; r += kRows) {
        const std::size_t k = std::min(kRows, N - r);
        blas::gemm<T>(blas::Op::N, blas::Op::T, k, q, D, T(1), Y.row(r), D, VT.data(), D, T(0), ST.data(), q);
        std::copy(ST.begin(), ST.begin() + static_cast<std::ptrdiff_t>(k * q), S.data() + r * q);
    }
    return S;
}

template <class T>
xt::xtensor<double, 2> second_moment_all(const MatrixView<T>& X) {
    xt::xtensor<double, 2> C = second_moment(X);
    world().sum(C.data(), C.size());
    return C;
}

template <class T>
xt::xtensor<double, 2> standardised_pca_scores(const MatrixView<T>& Y, std::size_t q) {
    // dsyevd (all components): a one-off beside a GPLVM's training, and the
    // start the runs split over processes were calibrated against.
    xt::xtensor<double, 2> S = pca_scores(Y, pca_from_second_moment(second_moment_all(Y)), q);
    const std::size_t N = Y.rows;
    const double N_all = static_cast<double>(sum_all(N));
    std::vector<double> mean(q, 0.0), var(q, 0.0);
    for (std::size_t d = 0; d < q; ++d)
        for (std::size_t i = 0; i < N; ++i) mean[d] += S(i, d);
    world().sum(mean.data(), q);
    for (std::size_t d = 0; d < q; ++d) {
        mean[d] /= N_all;
        for (std::size_t i = 0; i < N; ++i) var[d] += (S(i, d) - mean[d]) * (S(i, d) - mean[d]);
    }
    world().sum(var.data(), q);
    for (std::size_t d = 0; d < q; ++d) {
        const double sd = std::sqrt(var[d] / N_all);
        for (std::size_t i = 0; i < N; ++i) S(i, d) = sd > 0 ? (S(i, d) - mean[d]) / sd : 0.0;
    }
    return S;
}

template xt::xtensor<double, 2> second_moment<float>(const MatrixView<float>&);
template xt::xtensor<double, 2> second_moment<double>(const MatrixView<double>&);
template xt::xtensor<double, 2> second_moment_all<float>(const MatrixView<float>&);
template xt::xtensor<double, 2> second_moment_all<double>(const MatrixView<double>&);
template xt::xtensor<double, 2> pca_scores<float>(const MatrixView<float>&, const Pca&, std::size_t);
template xt::xtensor<double, 2> pca_scores<double>(const MatrixView<double>&, const Pca&, std::size_t);
template xt::xtensor<double, 2> standardised_pca_scores<float>(const MatrixView<float>&, std::size_t);
template xt::xtensor<double, 2> standardised_pca_scores<double>(const MatrixView<double>&, std::size_t);

}  // namespace latentlab
