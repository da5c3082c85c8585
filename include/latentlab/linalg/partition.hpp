// How a product is cut into BLAS calls and into parts of a parallel region,
// from the shapes alone (never from timings or the thread count), so that the
// results are reproducible run to run and at any thread count. Used by the
// linear autoencoder's step (models/linear_autoencoder.cpp).
#pragma once
#include <algorithm>
#include <cstddef>

#include "latentlab/linalg/openblas.hpp"

namespace latentlab::blas {

// How the products are cut into calls. OpenBLAS runs a GEMM with M·N·K up to
// small_gemm_limit() on unpacked kernels that, on these thin shapes (m ≪ n),
// beat one packed call by ~1.5× (bench/bench_autoencoder.cpp, bench/results.md).
// Chunk sizes depend only on the shapes (never on timings), so results are
// reproducible run to run.
struct Chunks {
    std::size_t rows, k;
};

// For C (M×N) = op(A) op(B) with inner dimension K: the largest K-chunk from a
// short list (n = 784 splits evenly by 196, 112, 98) such that M'·N·K' stays
// within the limit, with M' rows at a time (at most max_rows).
inline Chunks small_gemm_chunks(std::size_t M, std::size_t N, std::size_t K, std::size_t max_rows) {
    const double limit = blas::small_gemm_limit();
    if (limit <= 0) return {M, K};  // no small kernels: one call
    const std::size_t rows = std::max<std::size_t>(1, std::min(M, max_rows));
    for (std::size_t k : {K, std::size_t{196}, std::size_t{112}, std::size_t{98}, std::size_t{64},
                          std::size_t{32}, std::size_t{16}})
        if (k <= K && static_cast<double>(rows) * N * k <= limit) return {rows, k};
    return {M, K};  // too wide even at K' = 16: one packed call is as good
}

// A product is split into parts fixed by the shapes alone: rows of
// A = X Wᵀ in blocks of at least 128 (and at most 1024 parts), columns of
// the gradient in blocks of at least 128 (smaller blocks cost ~5% at one
// thread on packed kernels: bench/bench_autoencoder.cpp). blas::parallel_for
// runs the parts on train.threads workers with single-threaded BLAS inside,
// so every element is computed by the same calls whatever the thread count
// and whatever OpenBLAS's kernels (tests/test_perf_kernels.cpp; scripts/test
// runs the suite under several kernel sets). Blocks are multiples of 16.
inline std::size_t block_for(std::size_t total) {
    const std::size_t per_part = (total + 1023) / 1024;
    return std::max<std::size_t>(128, (per_part + 15) / 16 * 16);
}
inline std::size_t parts_of(std::size_t total, std::size_t block) { return (total + block - 1) / block; }

}  // namespace latentlab::blas
