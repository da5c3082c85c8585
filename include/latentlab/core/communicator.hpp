// The processes of a run and what they exchange (README, Several processes:
// MPI). One process by default; `train` started by mpirun installs Open MPI's
// communicator (src/cli/mpi_world.cpp) before anything else runs, and every
// layer reaches it through world(), as MPI code reaches MPI_COMM_WORLD.
//
// Under K processes ("ranks") each holds a contiguous share of the rows
// (shard()); what a model needs of all rows is summed with sum(). Sums are
// reduced to rank 0 in a fixed order and broadcast, so every rank gets the
// same bits (a line search must take the same branch everywhere) and a run
// on the same K is reproducible bit for bit. Every call is collective: all
// ranks make it, in the same order.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace latentlab {

class Communicator {
public:
    virtual ~Communicator() = default;
    virtual int rank() const { return 0; }
    virtual int size() const { return 1; }
    // Ranks on this machine (they share its cores).
    virtual int local_size() const { return 1; }
    // v ← Σ_ranks v, in place.
    virtual void sum(double* /*v*/, std::size_t /*n*/) const {}
    virtual void sum(float* /*v*/, std::size_t /*n*/) const {}
    virtual void sum(std::uint64_t* /*v*/, std::size_t /*n*/) const {}
    // v ← max_ranks v, in place.
    virtual void max(double* /*v*/, std::size_t /*n*/) const {}
    // Rank 0's `bytes` bytes at `data` copied to every rank.
    virtual void broadcast(void* /*data*/, std::size_t /*bytes*/) const {}
    // Each rank's bytes concatenated in rank order, on rank 0 (empty elsewhere).
    virtual std::vector<char> gather(const void* data, std::size_t bytes) const {
        const char* p = static_cast<const char*>(data);
        return std::vector<char>(p, p + bytes);
    }
    // Ends every process of the job at once (a rank that cannot go on while
    // the others wait in a collective); the single process just exits.
    [[noreturn]] virtual void abort(int code) const;
    // What the job runs on, for the log: "1 process" or "4 MPI ranks (Open MPI …)".
    virtual std::string describe() const { return "1 process"; }
};

// The process-wide communicator (single-process unless set_world was called).
const Communicator& world();
void set_world(std::unique_ptr<Communicator> c);

// The sum of `n` over the ranks before this one (where this rank's rows
// start among all ranks' when each holds n of them).
std::size_t offset_of(std::size_t n);

// Sums of one value.
double sum_all(double v);
std::size_t sum_all(std::size_t v);
// Several vectors and scalars summed over the ranks in one reduction, in place.
void sum_all(std::initializer_list<std::vector<double>*> vectors, std::initializer_list<double*> scalars);

// Every rank's n values concatenated in rank order, on rank 0 (empty
// elsewhere; a copy on one process). With contiguous shards, rows in order.
template <class V>
std::vector<V> gather_all(const V* data, std::size_t n) {
    const std::vector<char> bytes = world().gather(data, n * sizeof(V));
    std::vector<V> out(bytes.size() / sizeof(V));
    if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(V));
    return out;
}

// Rows [first, first + count) of n that rank `rank` of `ranks` holds: n
// split into contiguous blocks, the first n mod ranks one row longer.
struct Shard {
    std::size_t first = 0, count = 0;
};
Shard shard(std::size_t n, int rank, int ranks);

// A collective check after a step that may fail on some ranks only (e.g.
// reading a shard): if any rank's `error` is set, every rank throws. Rank 0
// throws the first failing rank's exception message as the same kind of
// error (Error, DataError, ConfigError, OptionError as ConfigError,
// NumericalError); the others throw SilentExit with its exit code, so that
// the job prints one line. With one process: rethrows `error`, if any.
void agree(std::exception_ptr error);

// Runs f on every rank and agrees on its outcome (agree above).
template <class F>
void together(F&& f) {
    std::exception_ptr e;
    try {
        f();
    } catch (...) {
        e = std::current_exception();
    }
    agree(e);
}

// True once agree() has rethrown an error on rank 0 that every rank shares
// (they all exit with its code; nothing needs aborting).
bool error_is_shared();

// Thrown on ranks other than 0 when rank 0 reports an error the whole job
// shares: the command exits with `code`, printing nothing.
struct SilentExit {
    int code = 1;
};

// The exit code the command-line tool gives an exception of each kind
// (0 none, 1 data/IO, 2 usage/config, 3 numerical, 4 internal; −1 for
// SilentExit, already agreed on).
int exit_code_of(const std::exception_ptr& e);

}  // namespace latentlab
