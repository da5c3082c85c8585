// The exact optimum L* on the real data sets against reference values computed
// independently with numpy (all rows, pixels as fed, float64):
// L* = ½ Σ_{j>m} λ_j(XᵀX) / N. scripts/setup provides both data sets.
#include <gtest/gtest.h>

#include "latentlab/analysis/pca.hpp"
#include "latentlab/data/sources.hpp"
#include "latentlab/core/error.hpp"

using namespace latentlab;

namespace {

struct Reference {
    std::size_t m;
    double uncentred, centred;
};

void check(const std::string& source, const std::vector<Reference>& refs, std::size_t expected_n) {
    for (bool center : {false, true}) {
        DataOptions cfg;
        cfg.source = source;
        cfg.center = center;
        Dataset<double> d;
        try {
            d = load_dataset<double>(cfg, 0);
        } catch (const DataError& e) {
            FAIL() << "run scripts/setup first: " << e.what();
        }
        ASSERT_EQ(d.n_train, expected_n);
        const auto pca = pca_from_second_moment(second_moment(d.train()));
        for (const auto& r : refs) {
            const double want = center ? r.centred : r.uncentred;
            // The references are rounded to 8 decimals.
            EXPECT_NEAR(optimal_ae_loss(pca, r.m, d.n_train), want, 6e-9)
                << source << " m=" << r.m << (center ? " centred" : " uncentred");
        }
    }
}

}  // namespace

TEST(ReferenceValues, MnistDigitsOptimumMatchesNumpy) {
    check("mnist", {{16, 10.53902124, 10.51104722}, {32, 6.63822324, 6.63098824}, {64, 3.55797298, 3.55565408}},
          10000);
}

TEST(ReferenceValues, FashionMnistOptimumMatchesNumpy) {
    check("fashion-mnist",
          {{16, 8.03226410, 8.00854558}, {32, 5.93644323, 5.92983161}, {64, 4.05204124, 4.04998446}}, 60000);
}
