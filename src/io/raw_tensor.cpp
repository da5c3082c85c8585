#include "latentlab/io/raw_tensor.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <unistd.h>

#include "latentlab/core/error.hpp"

namespace latentlab {

std::size_t dtype_size(DType t) {
    switch (t) {
        case DType::u8:
        case DType::i8: return 1;
        case DType::i16: return 2;
        case DType::i32:
        case DType::f32: return 4;
        case DType::i64:
        case DType::f64: return 8;
    }
    throw std::invalid_argument("dtype_size: invalid DType");
}

const char* dtype_name(DType t) {
    switch (t) {
        case DType::u8: return "u8";
        case DType::i8: return "i8";
        case DType::i16: return "i16";
        case DType::i32: return "i32";
        case DType::i64: return "i64";
        case DType::f32: return "f32";
        case DType::f64: return "f64";
    }
    return "invalid";
}

bool dtype_is_integer(DType t) { return t != DType::f32 && t != DType::f64; }

// An empty shape means "no tensor" here (rows() is 0 too), not a rank-0 scalar:
// no reader produces scalars.
std::size_t RawTensor::size() const {
    if (shape.empty()) return 0;
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    return n;
}

std::size_t RawTensor::row_size() const {
    if (shape.empty()) return 0;
    std::size_t n = 1;
    for (std::size_t k = 1; k < shape.size(); ++k) n *= shape[k];
    return n;
}

namespace {
template <class T>
double load_as_double(const unsigned char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return static_cast<double>(v);
}
}  // namespace

double RawTensor::at(std::size_t i) const {
    const std::size_t w = dtype_size(dtype);
    if (i >= size() || (i + 1) * w > bytes.size())
        throw std::out_of_range("RawTensor::at: index " + std::to_string(i) + " out of range (" +
                                std::to_string(size()) + " elements)");
    const unsigned char* p = bytes.data() + i * w;
    switch (dtype) {
        case DType::u8: return load_as_double<std::uint8_t>(p);
        case DType::i8: return load_as_double<std::int8_t>(p);
        case DType::i16: return load_as_double<std::int16_t>(p);
        case DType::i32: return load_as_double<std::int32_t>(p);
        case DType::i64: return load_as_double<std::int64_t>(p);
        case DType::f32: return load_as_double<float>(p);
        case DType::f64: return load_as_double<double>(p);
    }
    throw std::invalid_argument("RawTensor::at: invalid DType");
}

void byteswap_elements(unsigned char* p, std::size_t count, std::size_t width) {
    switch (width) {
        case 2:
            for (std::size_t i = 0; i < count; ++i, p += 2) {
                std::uint16_t v;
                std::memcpy(&v, p, 2);
                v = __builtin_bswap16(v);
                std::memcpy(p, &v, 2);
            }
            break;
        case 4:
            for (std::size_t i = 0; i < count; ++i, p += 4) {
                std::uint32_t v;
                std::memcpy(&v, p, 4);
                v = __builtin_bswap32(v);
                std::memcpy(p, &v, 4);
            }
            break;
        case 8:
            for (std::size_t i = 0; i < count; ++i, p += 8) {
                std::uint64_t v;
                std::memcpy(&v, p, 8);
                v = __builtin_bswap64(v);
                std::memcpy(p, &v, 8);
            }
            break;
        default: break;  // 1-byte elements have no byte order
    }
}

}  // namespace latentlab

namespace latentlab {

namespace {
std::vector<std::size_t> checked_selection(const RowSelect& select, std::size_t file_rows, const std::string& path) {
    std::vector<std::size_t> ids = select(file_rows);
    for (std::size_t i = 0; i < ids.size(); ++i)
        if (ids[i] >= file_rows || (i > 0 && ids[i] <= ids[i - 1]))
            throw DataError(path + ": internal: row selection not ascending within the file's " +
                            std::to_string(file_rows) + " rows");
    return ids;
}
}  // namespace

void read_selected_rows(int fd, std::uint64_t offset, std::size_t row_bytes, const RowSelect& select, RawTensor& t,
                        const std::string& path) {
    t.file_rows = t.shape.at(0);
    t.row_ids = checked_selection(select, t.file_rows, path);
    t.shape[0] = t.row_ids.size();
    t.bytes.resize(t.row_ids.size() * row_bytes);
    for (std::size_t i = 0; i < t.row_ids.size();) {
        std::size_t j = i + 1;  // a run of consecutive rows: one read
        while (j < t.row_ids.size() && t.row_ids[j] == t.row_ids[j - 1] + 1) ++j;
        const std::size_t n = (j - i) * row_bytes;
        const auto at = static_cast<off_t>(offset + t.row_ids[i] * row_bytes);
        std::size_t got = 0;
        while (got < n) {
            const ssize_t r = ::pread(fd, t.bytes.data() + i * row_bytes + got, n - got, at + static_cast<off_t>(got));
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) throw DataError(path + ": read error: " + std::strerror(errno));
            if (r == 0) throw DataError(path + ": truncated: the file shrank while it was read");
            got += static_cast<std::size_t>(r);
        }
        i = j;
    }
}

std::vector<std::size_t> select_rows(const RowSelect& select, std::size_t file_rows, const std::string& path) {
    return checked_selection(select, file_rows, path);
}

}  // namespace latentlab
