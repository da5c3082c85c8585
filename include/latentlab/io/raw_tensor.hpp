// A tensor as it was read from a file: shape, element type and the bytes in
// native byte order. Readers produce it; Dataset converts it to T with a
// scale, without an intermediate double copy (to keep peak memory down).
#pragma once
#include <cstddef>
#include <cstdint>
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

    std::size_t size() const;                   // number of elements
    std::size_t rows() const { return shape.empty() ? 0 : shape[0]; }
    std::size_t row_size() const;               // prod(shape[1:]) (1 for rank 1)
    double at(std::size_t i) const;             // element i as double (slow; tests, labels)
};

}  // namespace latentlab
