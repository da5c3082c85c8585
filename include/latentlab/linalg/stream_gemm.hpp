// Products with a tall data matrix Y (N×D, row-major, N ≫ D ≫ q) and a thin
// one, streaming Y from memory exactly once per product:
//
//   P = Xᵀ Y      (q×D),  X: N×q      — the GPLVM's first pass
//   R = Y Pᵀ      (N×q),  P: q×D      — its second pass
//
// Why not GEMM: with K = N = 60,000 and a 10-row output, OpenBLAS packs Y into
// a buffer first and runs its kernels far from memory bandwidth (measured:
// bench/gplvm_results.md). These register-tiled loops read each row of Y once
// (P or the row's outputs stay in cache), vectorised for the CPU found at run
// time (AVX-512, AVX2, or baseline), on `threads` threads with a fixed split of
// the rows, so a given thread count always gives the same bits.
#pragma once
#include <cstddef>

namespace latentlab::stream {

// P (q×D) = Xᵀ Y, accumulated in double.
void xty(const double* X, const double* Y, std::size_t N, std::size_t D, std::size_t q, double* P, int threads);

// R (N×q) = Y Pᵀ.
void ypt(const double* Y, const double* P, std::size_t N, std::size_t D, std::size_t q, double* R, int threads);

}  // namespace latentlab::stream
