// Pixel levels (linalg/pixels.hpp): values k/255 as 8-bit images are scaled,
// kept as their levels k and turned back into the same bits; and the batcher,
// which gathers pixel rows from their levels, hands out exactly the rows a
// plain copy would.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "latentlab/data/batcher.hpp"
#include "latentlab/data/dataset.hpp"
#include "latentlab/io/raw_tensor.hpp"
#include "latentlab/linalg/blas.hpp"
#include "latentlab/linalg/pixels.hpp"

using namespace latentlab;

namespace {

template <class T>
bool same_bits(T a, T b) {
    return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <class T>
void check_round_trip() {
    // Every level, in a length that leaves a tail after any vector width.
    std::vector<std::uint8_t> k(256 * 3 + 5);
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>((i * 7) % 256);
    std::vector<T> x(k.size());
    pixels::decode<T>(k.data(), k.size(), x.data());
    for (std::size_t i = 0; i < k.size(); ++i) {
        // The dataset's formula, written out: double(k) · (1/255), rounded to T.
        const T expect = static_cast<T>(static_cast<double>(k[i]) * (1.0 / 255.0));
        ASSERT_TRUE(same_bits(x[i], expect)) << "level " << int(k[i]);
    }
    std::vector<std::uint8_t> back(k.size(), 0);
    ASSERT_TRUE(pixels::encode<T>(x.data(), x.size(), back.data()));
    EXPECT_EQ(back, k);
}

template <class T>
void check_rejects() {
    std::vector<T> x(100);
    std::vector<std::uint8_t> k(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = pixels::value<T>(static_cast<unsigned>(i * 2));
    ASSERT_TRUE(pixels::encode<T>(x.data(), x.size(), k.data()));
    const T inf = std::numeric_limits<T>::infinity();
    const T bad[] = {std::numeric_limits<T>::quiet_NaN(), -std::numeric_limits<T>::quiet_NaN(), inf, -inf,
                     T(-0.0), T(-1) / T(255), T(0.5), T(2), T(256), T(-1e30), T(1e30),
                     std::nextafter(pixels::value<T>(77), T(1)), std::nextafter(pixels::value<T>(255), T(2)),
                     std::nextafter(T(0), T(1))};
    for (T v : bad)
        for (std::size_t at : {0u, 37u, 99u}) {  // first, middle, last (the vector tail)
            std::vector<T> y = x;
            y[at] = v;
            EXPECT_FALSE(pixels::encode<T>(y.data(), y.size(), k.data())) << "value " << v << " at " << at;
        }
}

}  // namespace

TEST(Pixels, FloatLevelsDecodeToTheDatasetsBits) { check_round_trip<float>(); }
TEST(Pixels, DoubleLevelsDecodeToTheDatasetsBits) { check_round_trip<double>(); }
TEST(Pixels, FloatNonLevelsAreRefused) { check_rejects<float>(); }
TEST(Pixels, DoubleNonLevelsAreRefused) { check_rejects<double>(); }

TEST(Pixels, FloatLevelsOfDoublePrecisionAreNotLevels) {
    // k/255 rounded to float, read as double, is not the double level (but 0, 1).
    std::vector<double> x(256);
    for (unsigned k = 0; k < 256; ++k) x[k] = static_cast<double>(pixels::value<float>(k));
    std::vector<std::uint8_t> lv(1);
    int levels = 0;
    for (unsigned k = 0; k < 256; ++k) levels += pixels::encode<double>(&x[k], 1, lv.data());
    EXPECT_LT(levels, 20);
}

namespace {

// `rows` pixel rows of dimension `dim` (values k/255), labels, norms.
template <class T>
Dataset<T> pixel_dataset(std::size_t rows, std::size_t dim, std::size_t n_test, unsigned seed) {
    Dataset<T> d;
    d.X = xt::xtensor<T, 2>::from_shape({rows, dim});
    std::mt19937 rng(seed);
    for (std::size_t i = 0; i < rows * dim; ++i) d.X.data()[i] = pixels::value<T>(rng() % 256);
    d.sqnorms.resize(rows);
    d.labels.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) {
        d.sqnorms[i] = blas::sqnorm<T>(dim, d.X.data() + i * dim);
        d.labels[i] = static_cast<std::int32_t>(i % 10);
    }
    d.n_train = rows - n_test;
    d.n_test = n_test;
    d.train_total = d.n_train;
    d.test_total = n_test;
    return d;
}

template <class T>
void check_batcher_gathers_levels() {
    const std::size_t rows = 1003, dim = 37, B = 64;
    Dataset<T> d = pixel_dataset<T>(rows, dim, 3, 5);
    Batcher<T> levels(d, B, 11, 2);
    ASSERT_TRUE(levels.gathers_levels());
    for (long epoch : {1L, 4L}) {
        levels.start_epoch(epoch);
        for (std::size_t b = 0; b < levels.num_batches(); ++b) {
            const MatrixView<T> v = levels.batch(b);
            for (std::size_t r = 0; r < v.rows; ++r) {
                const std::size_t s = v.index[r];
                ASSERT_LT(s, d.n_train);
                ASSERT_EQ(std::memcmp(v.data + r * dim, d.X.data() + s * dim, dim * sizeof(T)), 0)
                    << "epoch " << epoch << " batch " << b << " row " << r;
                ASSERT_EQ(v.sqnorms[r], d.sqnorms[s]);
                ASSERT_EQ(v.labels[r], d.labels[s]);
            }
        }
    }
    // One value off the levels in a training row: the plain copy, same batches.
    Dataset<T> e = d;
    e.X(500, 3) = std::nextafter(e.X(500, 3), T(2));
    Batcher<T> plain(e, B, 11, 2);
    EXPECT_FALSE(plain.gathers_levels());
    plain.start_epoch(4);
    for (std::size_t b = 0; b < plain.num_batches(); ++b) {
        const MatrixView<T> v = plain.batch(b);
        for (std::size_t r = 0; r < v.rows; ++r)
            ASSERT_EQ(std::memcmp(v.data + r * dim, e.X.data() + v.index[r] * dim, dim * sizeof(T)), 0);
    }
    // A non-level in the test rows does not matter: they are never gathered.
    Dataset<T> f = d;
    f.X(rows - 1, 0) = T(0.5);
    EXPECT_TRUE(Batcher<T>(f, B, 11).gathers_levels());
}

}  // namespace

TEST(Pixels, FloatBatcherGathersPixelRowsFromTheirLevels) { check_batcher_gathers_levels<float>(); }
TEST(Pixels, DoubleBatcherGathersPixelRowsFromTheirLevels) { check_batcher_gathers_levels<double>(); }

// A dataset read from 8-bit input keeps the bytes (MatrixView::levels), and
// every value is the dataset's formula of its byte: T(T(k·scale) − mean[j]),
// training and test rows, centred or not.
template <class T>
void check_dataset_levels(bool centre) {
    const std::size_t N = 300, D = 11;
    std::vector<std::uint8_t> bytes(N * D);
    std::mt19937 rng(6);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng() % 256);
    DataOptions dc;
    dc.center = centre;
    dc.test_fraction = 0.2;
    const Dataset<T> d = make_dataset<T>(bytes.data(), DType::u8, {N, D}, nullptr, dc, 3, "bytes");
    ASSERT_EQ(d.levels.size(), (d.n_train + d.n_test) * D);
    const MatrixView<T> all = d.all(), test = d.test();
    ASSERT_EQ(all.levels, d.levels.data());
    ASSERT_EQ(test.levels, d.levels.data() + d.n_train * D);
    EXPECT_EQ(all.level_offset != nullptr, centre);
    for (std::size_t i = 0; i < d.n_train + d.n_test; ++i)
        for (std::size_t j = 0; j < D; ++j) {
            const T v = static_cast<T>(static_cast<double>(all.levels[i * D + j]) * all.level_scale);
            const T want = centre ? static_cast<T>(v - all.level_offset[j]) : v;
            ASSERT_EQ(all.data[i * D + j], want) << i << "," << j;
        }
    // The batcher gathers from the dataset's bytes where they are the values
    // k/255 (uncentred), the very rows of X.
    Batcher<T> batcher(d, 32, 9);
    EXPECT_EQ(batcher.gathers_levels(), !centre);
    batcher.start_epoch(1);
    for (std::size_t b = 0; b < batcher.num_batches(); ++b) {
        const MatrixView<T> v = batcher.batch(b);
        for (std::size_t r = 0; r < v.rows; ++r)
            ASSERT_EQ(std::memcmp(v.data + r * D, d.X.data() + v.index[r] * D, D * sizeof(T)), 0);
    }
    // The bytes are the input rows the dataset kept (rows.npy's order).
    for (std::size_t i = 0; i < d.n_train + d.n_test; ++i)
        ASSERT_EQ(std::memcmp(all.levels + i * D, bytes.data() + static_cast<std::size_t>(d.rows[i]) * D, D), 0);
}

TEST(Pixels, DatasetsOfBytesKeepThemFloat) {
    check_dataset_levels<float>(false);
    check_dataset_levels<float>(true);
}
TEST(Pixels, DatasetsOfBytesKeepThemDouble) {
    check_dataset_levels<double>(false);
    check_dataset_levels<double>(true);
}
