#include "latentlab/data/shuffle.hpp"

#include <limits>

namespace latentlab {

std::uint64_t uniform_below(std::uint64_t m, std::mt19937_64& rng) {
    // Accept x < m·floor(2⁶⁴/m): the largest multiple of m the generator
    // reaches (all of [0, 2⁶⁴) when m is a power of two), so x mod m is uniform.
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t rest = (max - m + 1) % m;  // 2⁶⁴ mod m
    const std::uint64_t limit = max - rest;        // accept x ≤ limit
    std::uint64_t x;
    do {
        x = rng();
    } while (x > limit);
    return x % m;
}

}  // namespace latentlab
