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
#include <cstdint>

namespace latentlab::stream {

// P (q×D) = Xᵀ Y, accumulated in double.
void xty(const double* X, const double* Y, std::size_t N, std::size_t D, std::size_t q, double* P, int threads);

// R (N×q) = Y Pᵀ.
void ypt(const double* Y, const double* P, std::size_t N, std::size_t D, std::size_t q, double* R, int threads);

// The same two products with Y given by the bytes it was made from
// (core/matrix_view.hpp, MatrixView::levels): Y[i][d] = (L[i][d]·s) − off[d]
// (off null: no offset), each product of the two roundings, as the dataset
// formed Y. Blocks of rows are rebuilt in a small buffer and go through the
// same loops in the same order, so the results are the bits of xty/ypt on Y,
// from an eighth of the memory traffic.
void xty_levels(const double* X, const std::uint8_t* L, double s, const double* off, std::size_t N, std::size_t D,
                std::size_t q, double* P, int threads);
void ypt_levels(const std::uint8_t* L, double s, const double* off, const double* P, std::size_t N, std::size_t D,
                std::size_t q, double* R, int threads);

}  // namespace latentlab::stream
