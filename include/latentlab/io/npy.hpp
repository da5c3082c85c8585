// NumPy .npy files, format versions 1.0-3.0, C order (fortran_order False),
// little- or big-endian numeric dtypes among RawTensor's. Readable and written
// so that `numpy.load` reads our outputs directly.
#pragma once
#include <string>
#include <vector>
#include "latentlab/io/raw_tensor.hpp"

namespace latentlab {

// Throws DataError naming the file: bad magic, unsupported dtype or
// fortran order, header/shape that does not match the file length.
// With `select`, only the rows it names are kept (raw_tensor.hpp: RowSelect).
RawTensor read_npy(const std::string& path, const RowSelect& select = {});

// Writes a .npy (version 1.0, little-endian). Not atomic by itself: callers
// that must not leave half-written files use write_file_atomic (util/files.hpp).
void write_npy(const std::string& path, const RawTensor& t);
std::string npy_bytes(const RawTensor& t);  // the whole file's content

// Convenience: a row-major matrix of doubles/floats.
template <class T>
RawTensor make_raw(const T* data, std::vector<std::size_t> shape);

}  // namespace latentlab
