#include "mpi_world.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#ifdef LATENTLAB_WITH_MPI
#include <mpi.h>
#endif

namespace latentlab::cli {

#ifdef LATENTLAB_WITH_MPI
namespace {

// Sums are reduced to rank 0 and broadcast rather than allreduced: MPI does
// not promise that MPI_Allreduce gives every rank the same bits (a recursive
// doubling adds in a different order on each rank), and the ranks of a run
// must agree exactly. MPI_Reduce's order is fixed for a given size and count.
class MpiWorld : public Communicator {
public:
    MpiWorld(int* argc, char*** argv) {
        int provided = 0;
        MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        // A failed call ends the job (MPI's default), never a hang.
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
        MPI_Comm_size(MPI_COMM_WORLD, &size_);
        MPI_Comm node;
        MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
        MPI_Comm_size(node, &local_size_);
        MPI_Comm_free(&node);
    }
    ~MpiWorld() override { MPI_Finalize(); }
    int rank() const override { return rank_; }
    int size() const override { return size_; }
    int local_size() const override { return local_size_; }
    void sum(double* v, std::size_t n) const override { reduce(v, n, MPI_DOUBLE); }
    void sum(float* v, std::size_t n) const override { reduce(v, n, MPI_FLOAT); }
    void sum(std::uint64_t* v, std::size_t n) const override { reduce(v, n, MPI_UINT64_T); }
    void max(double* v, std::size_t n) const override { reduce(v, n, MPI_DOUBLE, MPI_MAX); }
    void broadcast(void* data, std::size_t bytes) const override {
        if (size_ == 1) return;
        for (std::size_t off = 0; off < bytes; off += kChunk)
            MPI_Bcast(static_cast<char*>(data) + off, static_cast<int>(std::min(kChunk, bytes - off)), MPI_BYTE, 0,
                      MPI_COMM_WORLD);
    }
    std::vector<char> gather(const void* data, std::size_t bytes) const override {
        const char* p = static_cast<const char*>(data);
        if (size_ == 1) return std::vector<char>(p, p + bytes);
        // Sizes first, then the bytes in pieces of at most 1 GiB per rank (int counts).
        const auto K = static_cast<std::size_t>(size_);
        std::uint64_t mine = bytes;
        std::vector<std::uint64_t> sizes(K);
        MPI_Gather(&mine, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
        std::uint64_t biggest = 0;
        if (rank_ == 0)
            for (auto s : sizes) biggest = std::max(biggest, s);
        MPI_Bcast(&biggest, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
        std::vector<char> out;
        std::vector<std::size_t> start(K, 0);
        if (rank_ == 0) {
            std::size_t total = 0;
            for (std::size_t r = 0; r < K; ++r) start[r] = total, total += sizes[r];
            out.resize(total);
        }
        for (std::uint64_t off = 0; off < biggest; off += kChunk) {
            const int n = static_cast<int>(off < bytes ? std::min<std::uint64_t>(kChunk, bytes - off) : 0);
            std::vector<int> counts(K), displs(K);
            if (rank_ == 0)
                for (std::size_t r = 0; r < K; ++r) {
                    counts[r] = static_cast<int>(off < sizes[r] ? std::min<std::uint64_t>(kChunk, sizes[r] - off) : 0);
                    displs[r] = 0;
                }
            // Each piece into a scratch buffer, then placed (displacements are ints).
            std::vector<char> piece;
            if (rank_ == 0) {
                int total = 0;
                for (std::size_t r = 0; r < K; ++r) displs[r] = total, total += counts[r];
                piece.resize(static_cast<std::size_t>(total));
            }
            MPI_Gatherv(p + (n ? off : 0), n, MPI_BYTE, piece.data(), counts.data(), displs.data(), MPI_BYTE, 0,
                        MPI_COMM_WORLD);
            if (rank_ == 0)
                for (std::size_t r = 0; r < K; ++r)
                    std::copy_n(piece.data() + displs[r], counts[r], out.data() + start[r] + off);
        }
        return out;
    }
    [[noreturn]] void abort(int code) const override {
        MPI_Abort(MPI_COMM_WORLD, code);
        std::_Exit(code);
    }
    std::string describe() const override {
        char version[MPI_MAX_LIBRARY_VERSION_STRING];
        int len = 0;
        MPI_Get_library_version(version, &len);
        std::string v(version, static_cast<std::size_t>(len));
        v = v.substr(0, v.find_first_of(",\n"));
        return std::to_string(size_) + " MPI rank" + (size_ == 1 ? "" : "s") + " (" + v + ")";
    }

private:
    static constexpr std::size_t kChunk = std::size_t{1} << 28;  // elements or bytes per call (int counts)
    void reduce(void* v, std::size_t n, MPI_Datatype type, MPI_Op op = MPI_SUM) const {
        if (size_ == 1 || n == 0) return;
        int width = 0;
        MPI_Type_size(type, &width);
        char* p = static_cast<char*>(v);
        for (std::size_t off = 0; off < n; off += kChunk) {
            const int k = static_cast<int>(std::min(kChunk, n - off));
            void* at = p + off * static_cast<std::size_t>(width);
            MPI_Reduce(rank_ == 0 ? MPI_IN_PLACE : at, rank_ == 0 ? at : nullptr, k, type, op, 0,
                       MPI_COMM_WORLD);
            MPI_Bcast(at, k, type, 0, MPI_COMM_WORLD);
        }
    }
    int rank_ = 0, size_ = 1, local_size_ = 1;
};

}  // namespace

bool launched_by_mpi() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
        if (std::getenv(v)) return true;
    return false;
}

std::unique_ptr<Communicator> make_mpi_world(int* argc, char*** argv) {
    return std::make_unique<MpiWorld>(argc, argv);
}

#else

bool launched_by_mpi() { return false; }
std::unique_ptr<Communicator> make_mpi_world(int*, char***) { return nullptr; }

#endif

}  // namespace latentlab::cli
