// Tests of the analysis layer that scores training against Baldi & Hornik 1989
// (README, Reproducing the homework: Problem 1): second moments, PCA on
// matrices with a known eigendecomposition, the exact optimum L*, the O(m n²)
// full-data evaluation against the model itself, principal angles (including
// the small-angle precision that a cosine-only method loses), orthonormality
// error and variance captured.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/analysis/pca.hpp"
#include "latentlab/analysis/principal_angles.hpp"
#include "latentlab/core/matrix_view.hpp"
#include "latentlab/linalg/lapack.hpp"
#include "latentlab/linalg/openblas.hpp"
#include "latentlab/models/linear_autoencoder.hpp"
#include "latentlab/core/error.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;

namespace {

using Mat2 = xt::xtensor<double, 2>;

constexpr double kPi = 3.14159265358979323846;

// Random n×n orthogonal matrix: modified Gram–Schmidt (twice) on the columns
// of a Gaussian matrix, written here independently of the library.
Mat2 random_orthogonal(std::size_t n, std::uint64_t seed) {
    Mat2 U = randn_matrix(n, n, 1.0, seed);
    for (std::size_t j = 0; j < n; ++j) {
        for (int pass = 0; pass < 2; ++pass)
            for (std::size_t k = 0; k < j; ++k) {
                double d = 0.0;
                for (std::size_t i = 0; i < n; ++i) d += U(i, j) * U(i, k);
                for (std::size_t i = 0; i < n; ++i) U(i, j) -= d * U(i, k);
            }
        double s = 0.0;
        for (std::size_t i = 0; i < n; ++i) s += U(i, j) * U(i, j);
        s = std::sqrt(s);
        for (std::size_t i = 0; i < n; ++i) U(i, j) /= s;
    }
    return U;
}

// U diag(λ) Uᵀ
Mat2 spectral(const Mat2& U, const std::vector<double>& lambda) {
    const std::size_t n = U.shape()[0];
    Mat2 C = xt::zeros<double>({n, n});
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double s = 0.0;
            for (std::size_t k = 0; k < n; ++k) s += U(i, k) * lambda[k] * U(j, k);
            C(i, j) = s;
        }
    return C;
}

// The first m columns of U, as the rows of an m×n matrix.
Mat2 top_columns_as_rows(const Mat2& U, std::size_t m) {
    const std::size_t n = U.shape()[0];
    Mat2 W = Mat2::from_shape({m, n});
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) W(i, j) = U(j, i);
    return W;
}

Mat2 first_rows(const Mat2& A, std::size_t m) {
    const std::size_t n = A.shape()[1];
    Mat2 W = Mat2::from_shape({m, n});
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) W(i, j) = A(i, j);
    return W;
}

Mat2 unit_rows(std::size_t n, std::initializer_list<std::vector<std::pair<std::size_t, double>>> rows) {
    Mat2 A = xt::zeros<double>({rows.size(), n});
    std::size_t i = 0;
    for (const auto& r : rows) {
        for (const auto& [j, v] : r) A(i, j) = v;
        ++i;
    }
    return A;
}

double rad2deg(double r) { return r * 180.0 / kPi; }

const std::vector<double> kLambda = {10.0, 7.0, 5.0, 3.5, 2.0, 1.0, 0.5, 0.1};

}  // namespace

// ---------------------------------------------------------------------------
// second_moment
// ---------------------------------------------------------------------------

template <class T>
void check_second_moment(std::size_t N, std::size_t n, std::uint64_t seed) {
    const Mat2 Xd = randn_matrix(N, n, 1.0, seed);
    xt::xtensor<T, 2> X = xt::xtensor<T, 2>::from_shape({N, n});
    for (std::size_t k = 0; k < X.size(); ++k) X.data()[k] = static_cast<T>(Xd.data()[k]);
    const Mat2 C = second_moment(view_of(X));
    ASSERT_EQ(C.shape()[0], n);
    ASSERT_EQ(C.shape()[1], n);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double s = 0.0;  // naive, in double, of the values as stored
            for (std::size_t r = 0; r < N; ++r)
                s += static_cast<double>(X(r, i)) * static_cast<double>(X(r, j));
            EXPECT_NEAR(C(i, j), s, 1e-12 * static_cast<double>(N)) << i << "," << j;
            // symmetric to rounding (GEMM need not order both triangles' sums alike)
            EXPECT_NEAR(C(i, j), C(j, i), 1e-14 * (std::abs(C(i, i)) + std::abs(C(j, j))));
        }
}

TEST(AnalysisSecondMoment, EqualsNaiveXtXDouble) { check_second_moment<double>(300, 7, 1); }

TEST(AnalysisSecondMoment, EqualsNaiveXtXFloatAcrossChunks) {
    // More rows than the float path's chunk (2048), and a ragged last chunk.
    check_second_moment<float>(5000, 6, 2);
    check_second_moment<float>(17, 9, 3);
}

// Pixel rows (every value k/255, k an integer 0..255, as 8-bit images are
// scaled): C is formed from the integers exactly, Σ k kᵀ / 255². Checked against
// that sum in 64-bit integers, for float and double rows, with 2,000 rows of
// full-scale values (the exact single-precision sums must be flushed before
// 2²⁴) and a chunk of non-pixel rows in the middle (added in double).
template <class T>
void check_pixel_second_moment(std::size_t N = 2000) {
    const std::size_t n = 5;
    std::mt19937_64 rng(9);
    std::vector<int> k(N * n);
    for (auto& v : k) v = static_cast<int>(rng() % 256);
    for (std::size_t j = 0; j < n; ++j) k[7 * n + j] = 255;  // the largest products
    xt::xtensor<T, 2> X = xt::xtensor<T, 2>::from_shape({N, n});
    for (std::size_t i = 0; i < N * n; ++i) X.data()[i] = static_cast<T>(k[i] * (1.0 / 255.0));
    const std::size_t odd_row = 700;  // its chunk (rows 512..767) is not pixels
    X(odd_row, 2) = static_cast<T>(0.3);
    const Mat2 C = second_moment(view_of(X));
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            std::int64_t exact = 0;  // pixel chunks: integers
            double other = 0;        // the non-pixel chunk, in double
            for (std::size_t r = 0; r < N; ++r) {
                if (r / 256 == odd_row / 256) {
                    other += static_cast<double>(X(r, i)) * static_cast<double>(X(r, j));
                } else {
                    exact += static_cast<std::int64_t>(k[r * n + i]) * k[r * n + j];
                }
            }
            const double want = static_cast<double>(exact) / (255.0 * 255.0) + other;
            EXPECT_NEAR(C(i, j), want, 1e-13 * want) << i << "," << j;
            EXPECT_EQ(C(i, j), C(j, i));
        }
}

TEST(AnalysisSecondMoment, PixelRowsAreSummedExactlyAsIntegers) {
    check_pixel_second_moment<float>();
    check_pixel_second_moment<double>();
}

// With several threads the pixel blocks are split into one range per thread
// (each its own exact sum): 6,400 rows are 25 blocks, split in 1, 2 or 3;
// non-pixel blocks in two of the ranges. Exact as above, and the same bits.
TEST(AnalysisSecondMoment, PixelRowsGiveTheSameBitsAtAnyThreadCount) {
    const int before = blas::threads();
    const std::size_t N = 6400, n = 9;
    std::mt19937_64 rng(3);
    xt::xtensor<float, 2> X = xt::xtensor<float, 2>::from_shape({N, n});
    for (auto& v : X) v = static_cast<float>(static_cast<double>(rng() % 256) * (1.0 / 255.0));
    X(300, 1) = 0.3f;   // block 1
    X(5000, 4) = 0.7f;  // block 19
    std::vector<Mat2> C;
    for (int t : {1, 2, 3}) {
        blas::set_threads(t);
        C.push_back(second_moment(view_of(X)));
    }
    blas::set_threads(before);
    for (std::size_t i = 0; i < n * n; ++i) {
        EXPECT_EQ(C[0].data()[i], C[1].data()[i]) << i;
        EXPECT_EQ(C[0].data()[i], C[2].data()[i]) << i;
    }
    check_pixel_second_moment<float>(N);
    blas::set_threads(3);
    check_pixel_second_moment<double>(N);
    blas::set_threads(before);
}

// The pixel sums shift each column by an integer offset taken from the first
// block of rows: data whose later rows sit far from it (a dark first block,
// then full-scale rows; or the reverse), or constant columns (shifted to
// zero: the SYRKs then run by row count), still give Σ k kᵀ exactly, and rows
// handed over as their bytes (MatrixView::levels, as a dataset read from
// 8-bit input gives them) the same bits as the values.
TEST(AnalysisSecondMoment, PixelSumsAreExactWhateverTheFirstBlockAndFromBytes) {
    const std::size_t N = 3000, n = 6;
    for (int pattern : {0, 1, 2, 3}) {
        SCOPED_TRACE(::testing::Message() << "pattern " << pattern);
        std::mt19937_64 rng(11 + pattern);
        std::vector<std::uint8_t> k(N * n);
        for (std::size_t r = 0; r < N; ++r)
            for (std::size_t j = 0; j < n; ++j) {
                const bool first = r < 256;
                unsigned v = static_cast<unsigned>(rng() % 256);
                if (pattern == 0) v = first ? 0 : 255 - v % 3;  // dark start, then bright
                if (pattern == 1) v = first ? 255 : v % 3;      // bright start, then dark
                if (pattern == 3) v = 77;                       // constant: shifted to 0, flushed by count
                k[r * n + j] = static_cast<std::uint8_t>(v);
            }
        xt::xtensor<float, 2> X = xt::xtensor<float, 2>::from_shape({N, n});
        for (std::size_t i = 0; i < N * n; ++i) X.data()[i] = static_cast<float>(k[i] * (1.0 / 255.0));
        const Mat2 C = second_moment(view_of(X));
        MatrixView<float> with_bytes = view_of(X);
        with_bytes.levels = k.data();
        with_bytes.level_scale = 1.0 / 255.0;
        const Mat2 Cb = second_moment(with_bytes);
        // The bytes are what is read: a view whose bytes say otherwise (a
        // broken contract, for this test only) gives their sum.
        std::vector<std::uint8_t> other(k);
        other[0] = static_cast<std::uint8_t>(other[0] ^ 1);
        MatrixView<float> with_other = with_bytes;
        with_other.levels = other.data();
        const Mat2 Co = second_moment(with_other);
        EXPECT_NE(Co(0, 0), C(0, 0));
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                std::int64_t exact = 0;
                for (std::size_t r = 0; r < N; ++r) exact += std::int64_t{k[r * n + i]} * k[r * n + j];
                EXPECT_EQ(C(i, j), static_cast<double>(exact) * (1.0 / (255.0 * 255.0))) << i << "," << j;
                EXPECT_EQ(Cb(i, j), C(i, j)) << i << "," << j;
            }
    }
}

// ---------------------------------------------------------------------------
// PCA
// ---------------------------------------------------------------------------

TEST(AnalysisPca, RecoversAKnownEigendecomposition) {
    const std::size_t n = kLambda.size();
    const Mat2 U = random_orthogonal(n, 5);
    const Pca p = pca_from_second_moment(spectral(U, kLambda));
    ASSERT_EQ(p.eigenvalues.size(), n);
    ASSERT_EQ(p.components.shape()[0], n);
    ASSERT_EQ(p.components.shape()[1], n);
    for (std::size_t j = 0; j < n; ++j) {
        EXPECT_NEAR(p.eigenvalues(j), kLambda[j], 1e-10) << j;
        // row j = ±(column j of U)
        double dp = 0.0, dm = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            dp = std::max(dp, std::abs(p.components(j, i) - U(i, j)));
            dm = std::max(dm, std::abs(p.components(j, i) + U(i, j)));
        }
        EXPECT_LT(std::min(dp, dm), 1e-10) << "component " << j;
    }
}

// The top k components alone (lapack::syev_top: dsytrd, dsterf, dstemr,
// dormtr): every eigenvalue as dsyevd gives it, the k components ±U's columns.
TEST(AnalysisPca, TopComponentsAloneMatchTheFullDecomposition) {
    const std::size_t n = kLambda.size();
    const Mat2 U = random_orthogonal(n, 5);
    const Mat2 C = spectral(U, kLambda);
    const Pca full = pca_from_second_moment(C);
    for (std::size_t k : {std::size_t{1}, std::size_t{3}, n - 1}) {
        SCOPED_TRACE(::testing::Message() << "k " << k);
        const Pca p = pca_from_second_moment(C, k);
        ASSERT_EQ(p.eigenvalues.size(), n);
        ASSERT_EQ(p.components.shape()[0], k);
        for (std::size_t j = 0; j < n; ++j) EXPECT_NEAR(p.eigenvalues(j), full.eigenvalues(j), 1e-12 * kLambda[0]) << j;
        for (std::size_t j = 0; j < k; ++j) {
            double dp = 0.0, dm = 0.0;
            for (std::size_t i = 0; i < n; ++i) {
                dp = std::max(dp, std::abs(p.components(j, i) - U(i, j)));
                dm = std::max(dm, std::abs(p.components(j, i) + U(i, j)));
            }
            EXPECT_LT(std::min(dp, dm), 1e-10) << "component " << j;
        }
    }
    // syev_top itself succeeds (pca_from_second_moment would hide a failure
    // behind dsyevd): every eigenvalue ascending, the top vectors first.
    Mat2 A = C;
    std::vector<double> w(n), V(2 * n);
    ASSERT_EQ(lapack::syev_top(n, A.data(), w.data(), 2, V.data()), 0);
    for (std::size_t j = 0; j < n; ++j) EXPECT_NEAR(w[j], kLambda[n - 1 - j], 1e-12 * kLambda[0]) << j;
    for (std::size_t j = 0; j < 2; ++j) {
        double d = 0;
        for (std::size_t i = 0; i < n; ++i) d += V[j * n + i] * U(i, j);
        EXPECT_NEAR(std::abs(d), 1.0, 1e-12) << j;
    }
    // Scores need as many components as they use.
    const Mat2 Y = randn_matrix(4, n, 1.0, 3);
    EXPECT_THROW(pca_scores(view_of(Y), pca_from_second_moment(C, 2), 3), Error);
}

TEST(AnalysisPca, OptimalAeLossIsHalfTheTailOverN) {
    const Mat2 U = random_orthogonal(kLambda.size(), 6);
    const Pca p = pca_from_second_moment(spectral(U, kLambda));
    // m = 3, N = 100: ½ (3.5 + 2 + 1 + 0.5 + 0.1)/100 = ½ · 7.1/100 = 0.0355
    EXPECT_NEAR(optimal_ae_loss(p, 3, 100), 0.0355, 1e-13);
    // m = 0: everything; m = n: nothing left.
    EXPECT_NEAR(optimal_ae_loss(p, 0, 1), 0.5 * 29.1, 1e-12);
    EXPECT_NEAR(optimal_ae_loss(p, kLambda.size(), 1), 0.0, 1e-12);
}

// ---------------------------------------------------------------------------
// ae_full_eval
// ---------------------------------------------------------------------------

TEST(AnalysisAeFullEval, EqualsTheModelOverTheFullBatch) {
    const std::size_t N = 500, n = 12, m = 4;
    const Mat2 X = randn_matrix(N, n, 1.0, 7);
    const Mat2 C = second_moment(view_of(X));
    for (double scale : {0.01, 0.3, 1.0}) {
        SCOPED_TRACE(::testing::Message() << "W scale " << scale);
        const Mat2 W = randn_matrix(m, n, scale, 8);
        LinearAutoencoder<double> model(n, m);
        std::copy(W.begin(), W.end(), model.params().begin());
        xt::xtensor<double, 1> g;
        const double L = model.loss_and_grad(view_of(X), g);
        double gn = 0.0;
        for (double v : g) gn += v * v;
        gn = std::sqrt(gn);

        const AeFullEval e = ae_full_eval(W.data(), m, n, C, N);
        EXPECT_LT(std::abs(e.loss - L) / L, 1e-10) << e.loss << " vs " << L;
        EXPECT_LT(std::abs(e.grad_norm - gn) / gn, 1e-10) << e.grad_norm << " vs " << gn;

        // The float overload reads float W (converted exactly to double).
        std::vector<float> Wf(W.begin(), W.end());
        std::copy(Wf.begin(), Wf.end(), model.params().begin());
        const double Lf = model.loss_and_grad(view_of(X), g);
        const AeFullEval ef = ae_full_eval(Wf.data(), m, n, C, N);
        EXPECT_LT(std::abs(ef.loss - Lf) / Lf, 1e-10);
    }
}

TEST(AnalysisAeFullEval, AtTheTopEigenvectorsItIsTheOptimum) {
    const std::size_t n = kLambda.size(), N = 250;
    const Mat2 U = random_orthogonal(n, 9);
    const Mat2 C = spectral(U, kLambda);
    const Pca p = pca_from_second_moment(C);
    for (std::size_t m : {1u, 3u, 5u}) {
        SCOPED_TRACE(::testing::Message() << "m=" << m);
        const Mat2 W = first_rows(p.components, m);
        const double Lstar = optimal_ae_loss(p, m, N);
        const AeFullEval e = ae_full_eval(W.data(), m, n, C, N);
        EXPECT_LT(std::abs(e.loss - Lstar) / Lstar, 1e-12) << e.loss << " vs " << Lstar;
        // ∇L scale: λ_max / N
        EXPECT_LT(e.grad_norm, 1e-10 * kLambda[0] / static_cast<double>(N));

        // Any other orthonormal W is worse, and has a non-zero gradient.
        const Mat2 Wbad = first_rows(random_orthogonal(n, 10), m);
        const AeFullEval eb = ae_full_eval(Wbad.data(), m, n, C, N);
        EXPECT_GT(eb.loss, Lstar * (1.0 + 1e-3));
        EXPECT_GT(eb.grad_norm, 1e-3 / static_cast<double>(N));
    }
}

// ---------------------------------------------------------------------------
// principal angles
// ---------------------------------------------------------------------------

TEST(AnalysisPrincipalAngles, SubspaceWithItselfAndARotatedBasis) {
    const Mat2 A = randn_matrix(3, 8, 1.0, 11);
    // B = R A with R a random (invertible, not orthogonal) 3×3 matrix.
    const Mat2 R = randn_matrix(3, 3, 1.0, 12);
    Mat2 B = xt::zeros<double>({3, 8});
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 8; ++j)
            for (std::size_t k = 0; k < 3; ++k) B(i, j) += R(i, k) * A(k, j);
    for (const Mat2* other : {&A, static_cast<const Mat2*>(&B)}) {
        const auto ang = principal_angles_deg(A, *other);
        ASSERT_EQ(ang.size(), 3u);
        for (double a : ang) EXPECT_LT(std::abs(a), 1e-6);
    }
}

TEST(AnalysisPrincipalAngles, KnownAnglesIncludingTinyOnes) {
    // span(e1, e2) vs span(cos t e1 + sin t e3, e2): angles {0, t}.
    const std::size_t n = 5;
    for (double t : {30.0 * kPi / 180.0, 60.0 * kPi / 180.0, 1e-6, 1e-9, kPi / 2 - 1e-6}) {
        SCOPED_TRACE(::testing::Message() << "t = " << t << " rad");
        const Mat2 A = unit_rows(n, {{{0, 1.0}}, {{1, 1.0}}});
        const Mat2 B = unit_rows(n, {{{0, std::cos(t)}, {2, std::sin(t)}}, {{1, 1.0}}});
        const auto ang = principal_angles_deg(A, B);
        ASSERT_EQ(ang.size(), 2u);
        EXPECT_LT(std::abs(ang[0]), 1e-9);
        EXPECT_NEAR(ang[1], rad2deg(t), 1e-3 * rad2deg(t));
        EXPECT_NEAR(ang[1], rad2deg(t), 1e-10);
        // symmetric in its arguments
        const auto back = principal_angles_deg(B, A);
        ASSERT_EQ(back.size(), 2u);
        EXPECT_NEAR(back[1], rad2deg(t), 1e-3 * rad2deg(t));
    }
}

TEST(AnalysisPrincipalAngles, TinyAngleUnderAGenericRotation) {
    // The same 1e-6 rad configuration expressed in a random orthonormal basis
    // of R^7 and with non-orthonormal bases on both sides: still resolved.
    const std::size_t n = 7;
    const Mat2 Q = random_orthogonal(n, 13);  // columns q_k
    const double t = 1e-6;
    Mat2 A = Mat2::from_shape({2, n}), B = Mat2::from_shape({2, n});
    for (std::size_t j = 0; j < n; ++j) {
        A(0, j) = Q(j, 0) + 0.5 * Q(j, 1);
        A(1, j) = Q(j, 1);
        B(0, j) = std::cos(t) * Q(j, 0) + std::sin(t) * Q(j, 2);
        B(1, j) = 2.0 * Q(j, 1);
    }
    const auto ang = principal_angles_deg(A, B);
    ASSERT_EQ(ang.size(), 2u);
    EXPECT_LT(ang[0], 1e-3 * rad2deg(t));
    EXPECT_NEAR(ang[1], rad2deg(t), 1e-3 * rad2deg(t));
}

TEST(AnalysisPrincipalAngles, DifferentDimensions) {
    // span(e1, e2, e3) vs span(cos t e1 + sin t e4): one angle, t.
    const std::size_t n = 6;
    for (double t : {1e-6, 0.4, 1.3}) {
        const Mat2 A = unit_rows(n, {{{0, 1.0}}, {{1, 1.0}}, {{2, 1.0}}});
        const Mat2 B = unit_rows(n, {{{0, std::cos(t)}, {3, std::sin(t)}}});
        for (const auto& ang : {principal_angles_deg(A, B), principal_angles_deg(B, A)}) {
            ASSERT_EQ(ang.size(), 1u);
            EXPECT_NEAR(ang[0], rad2deg(t), 1e-3 * rad2deg(t)) << "t = " << t;
        }
    }
}

TEST(AnalysisPrincipalAngles, OrthogonalSubspacesAre90Degrees) {
    const std::size_t n = 6;
    const Mat2 A = unit_rows(n, {{{0, 1.0}}, {{1, 1.0}}});
    const Mat2 B = unit_rows(n, {{{2, 1.0}}, {{3, 2.0}, {4, 1.0}}});
    const auto ang = principal_angles_deg(A, B);
    ASSERT_EQ(ang.size(), 2u);
    EXPECT_NEAR(ang[0], 90.0, 1e-10);
    EXPECT_NEAR(ang[1], 90.0, 1e-10);
    // Mixed: one shared direction, one orthogonal one.
    const Mat2 C = unit_rows(n, {{{1, 3.0}}, {{5, 1.0}}});
    const auto mixed = principal_angles_deg(A, C);
    ASSERT_EQ(mixed.size(), 2u);
    EXPECT_NEAR(mixed[0], 0.0, 1e-10);
    EXPECT_NEAR(mixed[1], 90.0, 1e-10);
}

TEST(AnalysisPrincipalAngles, RankDeficientInputThrows) {
    Mat2 A = randn_matrix(3, 6, 1.0, 14);
    for (std::size_t j = 0; j < 6; ++j) A(2, j) = A(0, j) - 2.0 * A(1, j);
    const Mat2 B = randn_matrix(2, 6, 1.0, 15);
    EXPECT_THROW(principal_angles_deg(A, B), Error);
    EXPECT_THROW(orthonormal_rows(A), Error);
}

TEST(AnalysisPrincipalAngles, OrthonormalRowsSpanTheSameSpace) {
    const Mat2 A = randn_matrix(4, 9, 1.0, 16);
    const Mat2 Q = orthonormal_rows(A);
    EXPECT_LT(orthonormality_error(Q), 1e-13);
    const auto ang = principal_angles_deg(A, Q);
    for (double a : ang) EXPECT_LT(a, 1e-6);
}

// ---------------------------------------------------------------------------
// orthonormality_error, variance_captured
// ---------------------------------------------------------------------------

TEST(AnalysisOrthonormality, ZeroForOrthonormalAndKnownForScaled) {
    const std::size_t n = 9;
    const Mat2 U = random_orthogonal(n, 17);
    for (std::size_t m : {1u, 3u, 5u}) {
        const Mat2 W = top_columns_as_rows(U, m);
        EXPECT_LT(orthonormality_error(W), 1e-13);
        // (2W)(2W)ᵀ − I = 3 I  →  ‖·‖_F = 3 √m
        const Mat2 W2 = 2.0 * W;
        EXPECT_NEAR(orthonormality_error(W2), 3.0 * std::sqrt(static_cast<double>(m)), 1e-12);
    }
}

TEST(AnalysisVarianceCaptured, TopEigenvectorsCaptureTheTopEigenvalues) {
    const std::size_t n = kLambda.size();
    const Mat2 U = random_orthogonal(n, 18);
    const Mat2 C = spectral(U, kLambda);
    const double total = std::accumulate(kLambda.begin(), kLambda.end(), 0.0);  // 29.1
    double top = 0.0;
    for (std::size_t m = 1; m <= n; ++m) {
        top += kLambda[m - 1];
        const Mat2 W = top_columns_as_rows(U, m);
        EXPECT_NEAR(variance_captured(W, C), top / total, 1e-12) << "m=" << m;
        // Invariant to the basis of the same row space (non-orthonormal).
        const Mat2 R = randn_matrix(m, m, 1.0, 100 + m);
        Mat2 W2 = xt::zeros<double>({m, n});
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j)
                for (std::size_t k = 0; k < m; ++k) W2(i, j) += R(i, k) * W(k, j);
        EXPECT_NEAR(variance_captured(W2, C), top / total, 1e-10) << "m=" << m;
    }
    // m = 3 explicitly: (10 + 7 + 5)/29.1
    EXPECT_NEAR(variance_captured(top_columns_as_rows(U, 3), C), 22.0 / 29.1, 1e-12);
}
