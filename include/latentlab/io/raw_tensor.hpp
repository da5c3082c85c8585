// A tensor as it was read from a file: shape, element type and the bytes in
// native byte order. Readers produce it; Dataset converts it to T with a
// scale, without an intermediate double copy (to keep peak memory down).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace latentlab {

enum class DType { u8, i8, i16, i32, i64, f32, f64 };

std::size_t dtype_size(DType t);
const char* dtype_name(DType t);
bool dtype_is_integer(DType t);

// Reverses the bytes of each of `count` elements of `width` bytes (2, 4 or 8;
// 1-byte elements have no byte order): big-endian files on this host.
void byteswap_elements(unsigned char* p, std::size_t count, std::size_t width);

struct RawTensor {
    std::vector<std::size_t> shape;   // row-major; shape[0] = number of samples
    DType dtype = DType::f64;
    std::vector<unsigned char> bytes; // native byte order, size = prod(shape)*dtype_size
    // When only some rows of the file were read (RowSelect): their numbers in
    // the file, ascending, one per row held, and the file's row count.
    std::vector<std::size_t> row_ids;
    std::size_t file_rows = 0;
    // The file's number of rows: file_rows when a selection was read, else shape[0].
    std::size_t all_rows() const { return row_ids.empty() && file_rows == 0 ? rows() : file_rows; }

    std::size_t size() const;                   // number of elements
    std::size_t rows() const { return shape.empty() ? 0 : shape[0]; }
    std::size_t row_size() const;               // prod(shape[1:]) (1 for rank 1)
    double at(std::size_t i) const;             // element i as double (slow; tests, labels)
};

// Which rows of a file to read, given how many it has: the row numbers,
// ascending, distinct, each < the count (e.g. one MPI rank's share of the
// rows; core/communicator.hpp). Readers that support it (IDX, plain or
// gzip'd, and .npy) validate the whole file's header and size as usual but
// keep only those rows: a plain file is read at their offsets, a gzip'd one
// inflated in chunks with only those rows kept. Empty function: every row.
using RowSelect = std::function<std::vector<std::size_t>(std::size_t file_rows)>;

// The rows `select` names, read from the open file descriptor `fd` whose data
// start at `offset`, rows of `row_bytes` bytes (pread, consecutive rows in one
// call) into t.bytes; sets t.row_ids, t.file_rows and t.shape[0].
// The selection for a file of `file_rows` rows, checked (ascending, in range).
std::vector<std::size_t> select_rows(const RowSelect& select, std::size_t file_rows, const std::string& path);

void read_selected_rows(int fd, std::uint64_t offset, std::size_t row_bytes, const RowSelect& select, RawTensor& t,
                        const std::string& path);

}  // namespace latentlab
