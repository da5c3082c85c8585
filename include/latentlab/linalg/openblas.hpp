// The OpenBLAS runtime: the kernel set in use, the thread count (train.threads)
// and parallel regions whose results do not depend on it.
#pragma once
#include <cstddef>
#include <functional>
#include <string>

namespace latentlab::blas {

// M·N·K up to which OpenBLAS runs a GEMM on its unpacked small-matrix kernels
// (SkylakeX and newer kernel sets, OpenBLAS ≥ 0.3.16), or 0 when the kernel
// set in use has none.
double small_gemm_limit();

// The number of threads for BLAS work (train.threads): OpenBLAS's own count,
// and the number of workers of parallel_for. n = 0 means all cores.
void set_threads(int n);
int threads();

// Runs f(0), …, f(parts − 1) on up to threads() workers (thread_pool.hpp),
// with OpenBLAS single-threaded for the duration. A caller that fixes the
// parts from the shapes alone (never from the thread count) therefore gets
// the same bits at any thread count, on any OpenBLAS kernel set: each part is
// one fixed sequence of single-threaded BLAS calls, whichever thread runs it.
// A call from inside f runs its parts in order on the calling thread.
void parallel_for(std::size_t parts, const std::function<void(std::size_t)>& f);

// The OpenBLAS kernel set in use (e.g. "SkylakeX"). OpenBLAS falls back to
// SSE3 "Prescott" kernels on CPUs it does not recognise; blas.cpp then selects
// what the CPU supports unless OPENBLAS_CORETYPE says otherwise, and the
// name says so.
std::string kernels();

}  // namespace latentlab::blas
