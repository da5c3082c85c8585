// The IDX format of MNIST and Fashion-MNIST (yann.lecun.com/exdb/mnist):
// magic 0x00 0x00 <type> <rank>, rank big-endian u32 dimensions, then the
// elements big-endian. Types: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32,
// 0x0E f64. Files may be gzip-compressed (detected by content, not name),
// also as concatenated members (`cat a.gz b.gz`), read as gunzip reads them.
#pragma once
#include <string>
#include "latentlab/io/raw_tensor.hpp"

namespace latentlab {

// Reads a whole IDX file (plain or .gz). Validates the magic, the type, the
// rank, that no dimension is zero, that the header's element count matches
// the bytes the file holds and fits in memory (before allocating: an absurd
// header is refused without trying to allocate it), and that nothing trails
// the data (a gzip stream is inflated no further than one byte past it).
// Throws DataError naming the file and what is wrong.
// With `select`, only the rows it names are kept (raw_tensor.hpp: RowSelect).
RawTensor read_idx(const std::string& path, const RowSelect& select = {});

// Writes an IDX file (uncompressed; used by tests and converters).
void write_idx(const std::string& path, const RawTensor& t);

}  // namespace latentlab
