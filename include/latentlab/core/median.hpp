#pragma once
// The median of a sample (the mean of the middle two for an even count; NaN
// for none): what the CLI reports of the epochs' seconds and what
// train.step_threads auto compares.

#include <algorithm>
#include <cmath>
#include <vector>

namespace latentlab {

inline double median(std::vector<double> v) {
    if (v.empty()) return std::nan("");
    std::sort(v.begin(), v.end());
    const std::size_t k = v.size() / 2;
    return v.size() % 2 ? v[k] : 0.5 * (v[k - 1] + v[k]);
}

}  // namespace latentlab
