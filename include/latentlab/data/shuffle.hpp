// The project's shuffle, the same on every C++ standard library: std::shuffle
// and std::uniform_int_distribution are not specified by the standard (their
// output differs between libstdc++ and libc++), std::mt19937_64 and
// std::seed_seq are. So the permutation of a seed is:
//
//   Fisher–Yates (Durstenfeld): for i = n−1 down to 1, swap v[i] with v[j],
//   j = uniform_below(i + 1);
//   uniform_below(m): draw x from mt19937_64 until x < m·floor(2⁶⁴/m) (2⁶⁴
//   when m divides it), return x mod m — unbiased rejection sampling.
//
// numpy can replay it (README, Data): it is the split of the data
// (rows.npy in a run directory) and every epoch's batch order.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace latentlab {

// A uniform integer in [0, m), m ≥ 1.
std::uint64_t uniform_below(std::uint64_t m, std::mt19937_64& rng);

// Shuffles `v` in place as above.
template <class I>
void shuffle(std::vector<I>& v, std::mt19937_64& rng) {
    for (std::size_t i = v.size(); i > 1; --i) {
        const std::size_t j = static_cast<std::size_t>(uniform_below(i, rng));
        std::swap(v[i - 1], v[j]);
    }
}

}  // namespace latentlab
