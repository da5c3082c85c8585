// IDX reader/writer. The header is validated against what the file can hold
// before the data buffer is allocated: for a plain file against its length,
// for a gzip file against the deflate expansion limit and a hard cap; for
// both against the memory this machine has. A plain file is then read with
// one bulk read. A gzip file is inflated into a buffer that is reserved, not
// filled, ahead of the data, so that a header claiming more than the stream
// holds costs only what the stream holds; and it is inflated to one byte past
// the header's size and no further, so that a gzip bomb behind a true header
// costs nothing either.
// Concatenated gzip members (`cat a.gz b.gz`) are read as the concatenation,
// as gunzip does; so the ISIZE trailer, which is the last member's alone,
// says nothing about the whole and is not used. The elements are then
// byte-swapped in place.
#include "latentlab/io/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "latentlab/core/error.hpp"
#include "latentlab/core/format.hpp"
#include "latentlab/core/files.hpp"

namespace latentlab {

namespace {

constexpr bool kHostLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
constexpr unsigned kMaxRank = 4;
// A gzip'd IDX whose header claims more than this is refused outright.
constexpr std::uint64_t kMaxGzipTotalBytes = std::uint64_t{16} << 30;
// Deflate cannot expand by more than 1032:1 (RFC 1951: 258-byte matches
// coded in 2 bits); a header claiming more than that is not what the file holds.
constexpr std::uint64_t kMaxDeflateRatio = 1032;
// A gzip'd IDX is inflated this much at a time: the buffer's memory is
// touched only as far as the stream has delivered data.
constexpr std::size_t kInflateChunk = std::size_t{64} << 20;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw DataError(path + ": " + what);
}

std::string hex(std::uint32_t v, int digits) { return format_hex(v, digits); }

std::uint32_t load_be32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
           (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

void store_be32(unsigned char* p, std::uint32_t v) {
    p[0] = static_cast<unsigned char>(v >> 24);
    p[1] = static_cast<unsigned char>(v >> 16);
    p[2] = static_cast<unsigned char>(v >> 8);
    p[3] = static_cast<unsigned char>(v);
}


bool idx_type_to_dtype(unsigned char code, DType& out) {
    switch (code) {
        case 0x08: out = DType::u8; return true;
        case 0x09: out = DType::i8; return true;
        case 0x0B: out = DType::i16; return true;
        case 0x0C: out = DType::i32; return true;
        case 0x0D: out = DType::f32; return true;
        case 0x0E: out = DType::f64; return true;
        default: return false;
    }
}

bool dtype_to_idx_type(DType t, unsigned char& out) {
    switch (t) {
        case DType::u8: out = 0x08; return true;
        case DType::i8: out = 0x09; return true;
        case DType::i16: out = 0x0B; return true;
        case DType::i32: out = 0x0C; return true;
        case DType::f32: out = 0x0D; return true;
        case DType::f64: out = 0x0E; return true;
        case DType::i64: return false;
    }
    return false;
}

std::string shape_string(const std::vector<std::size_t>& shape, DType t) {
    std::string s;
    for (std::size_t k = 0; k < shape.size(); ++k) {
        if (k) s += " x ";
        s += std::to_string(shape[k]);
    }
    return s + " " + dtype_name(t);
}

// What the 4 magic bytes say.
struct Magic {
    DType dtype;
    unsigned rank;
};

Magic parse_magic(const unsigned char m[4], const std::string& path) {
    if (m[0] != 0 || m[1] != 0) {
        std::string msg = "wrong magic " + hex(load_be32(m), 8) + " (expected 0x0000TTRR IDX header)";
        if (m[0] == 0x93 && m[1] == 'N' && m[2] == 'U' && m[3] == 'M') msg += "; this looks like a .npy file";
        fail(path, msg);
    }
    Magic r{};
    if (!idx_type_to_dtype(m[2], r.dtype))
        fail(path, "unknown IDX element type " + hex(m[2], 2) +
                       " (expected 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32 or 0x0E f64)");
    r.rank = m[3];
    if (r.rank == 0 || r.rank > kMaxRank)
        fail(path, "IDX rank " + std::to_string(r.rank) + " not supported (expected 1 to " +
                       std::to_string(kMaxRank) + ")");
    return r;
}

// Shape from the big-endian dimensions; data size in bytes, refusing zero
// dimensions and overflow of the product.
std::uint64_t parse_dims(const unsigned char* p, const Magic& m, const std::string& path,
                         std::vector<std::size_t>& shape) {
    shape.resize(m.rank);
    std::uint64_t bytes = dtype_size(m.dtype);
    bool overflow = false;
    for (unsigned k = 0; k < m.rank; ++k) {
        const std::uint32_t d = load_be32(p + 4 * k);
        if (d == 0) fail(path, "dimension " + std::to_string(k) + " is zero in the IDX header");
        shape[k] = d;
        if (bytes > UINT64_MAX / d) overflow = true;
        else bytes *= d;
    }
    if (overflow || bytes > SIZE_MAX - 64)
        fail(path, "IDX header dimensions " + shape_string(shape, m.dtype) + " overflow the addressable size");
    return bytes;
}


std::size_t pread_up_to(int fd, unsigned char* buf, std::size_t n, off_t offset, const std::string& path) {
    std::size_t got = 0;
    while (got < n) {
        const ssize_t r = ::pread(fd, buf + got, n - got, offset + static_cast<off_t>(got));
        if (r < 0) {
            if (errno == EINTR) continue;
            fail(path, std::string("read error: ") + std::strerror(errno));
        }
        if (r == 0) break;
        got += static_cast<std::size_t>(r);
    }
    return got;
}

void to_native_from_big_endian(RawTensor& t) {
    if (kHostLittleEndian) byteswap_elements(t.bytes.data(), t.bytes.size() / dtype_size(t.dtype), dtype_size(t.dtype));
}

RawTensor read_plain(int fd, std::uint64_t file_size, const std::string& path, const RowSelect& select) {
    unsigned char magic[4];
    if (file_size < 4 || read_up_to(fd, magic, 4, path) < 4)
        fail(path, "truncated: file holds " + std::to_string(file_size) + " bytes, an IDX header needs at least 8");
    const Magic m = parse_magic(magic, path);
    const std::uint64_t header_bytes = 4 + 4 * std::uint64_t{m.rank};
    unsigned char dims[4 * kMaxRank];
    if (file_size < header_bytes || read_up_to(fd, dims, 4 * m.rank, path) < 4 * m.rank)
        fail(path, "truncated: file ends inside the IDX header (rank " + std::to_string(m.rank) + " needs " +
                       std::to_string(header_bytes) + " bytes, file holds " + std::to_string(file_size) + ")");

    RawTensor t;
    t.dtype = m.dtype;
    const std::uint64_t data_bytes = parse_dims(dims, m, path, t.shape);
    const std::uint64_t held = file_size - header_bytes;
    if (data_bytes > held)
        fail(path, "truncated: header says " + std::to_string(data_bytes) + " bytes of data (" +
                       shape_string(t.shape, t.dtype) + "), file holds " + std::to_string(held));
    if (data_bytes < held)
        fail(path, "trailing bytes: header says " + std::to_string(data_bytes) + " bytes of data (" +
                       shape_string(t.shape, t.dtype) + "), file holds " + std::to_string(held));
    if (select) {  // only the selected rows, at their offsets
        read_selected_rows(fd, header_bytes, static_cast<std::size_t>(data_bytes / t.shape[0]), select, t, path);
        to_native_from_big_endian(t);
        return t;
    }
    check_fits_in_memory(path, data_bytes,
                         "header says " + std::to_string(data_bytes) + " bytes of data (" +
                             shape_string(t.shape, t.dtype) + ")");

    t.bytes.resize(static_cast<std::size_t>(data_bytes));
    const std::size_t got = read_up_to(fd, t.bytes.data(), t.bytes.size(), path);
    if (got < t.bytes.size())  // the file shrank while we read it
        fail(path, "truncated: header says " + std::to_string(data_bytes) + " bytes of data, file holds " +
                       std::to_string(got));
    unsigned char extra;
    if (read_up_to(fd, &extra, 1, path) != 0)  // the file grew while we read it
        fail(path, "trailing bytes after the " + std::to_string(data_bytes) + " bytes of data the header declares");
    to_native_from_big_endian(t);
    return t;
}

struct GzCloser {
    gzFile gz = nullptr;
    ~GzCloser() {
        if (gz) gzclose_r(gz);
    }
};

[[noreturn]] void fail_zlib(gzFile gz, const std::string& path) {
    int errnum = Z_OK;
    const char* raw = gzerror(gz, &errnum);
    std::string msg = raw ? raw : "";
    // zlib prefixes the stream's name, "<fd:N>" for a gzdopen'd descriptor; we name the file ourselves.
    if (msg.rfind("<fd:", 0) == 0 && msg.find(": ") != std::string::npos) msg = msg.substr(msg.find(": ") + 2);
    std::string what = errnum == Z_BUF_ERROR ? "truncated gzip data" : "corrupt gzip data";
    if (errnum == Z_ERRNO) what = std::string("read error: ") + std::strerror(errno);
    else what += " (zlib: " + (msg.empty() ? std::string("unknown error") : msg) + ")";
    fail(path, what);
}

// Reads up to n uncompressed bytes; returns fewer only at a clean end of the
// stream, fails on corrupt or truncated compressed data.
std::size_t gz_read_up_to(gzFile gz, unsigned char* buf, std::size_t n, const std::string& path) {
    std::size_t got = 0;
    while (got < n) {
        const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, std::size_t{1} << 30));
        const int r = gzread(gz, buf + got, chunk);
        if (r < 0) fail_zlib(gz, path);
        if (r == 0) break;
        got += static_cast<std::size_t>(r);
    }
    if (got < n) {
        int errnum = Z_OK;
        gzerror(gz, &errnum);
        if (errnum != Z_OK) fail_zlib(gz, path);
    }
    return got;
}

RawTensor read_gzip(int fd, std::uint64_t file_size, const std::string& path, FileDescriptor& owner,
                    const RowSelect& select) {
    // Smallest gzip stream: 10-byte header, 2-byte empty deflate block, 8-byte trailer.
    if (file_size < 20) fail(path, "truncated gzip file (" + std::to_string(file_size) + " bytes)");

    GzCloser g;
    g.gz = gzdopen(fd, "rb");
    if (!g.gz) fail(path, "cannot open gzip stream");
    owner.fd = -1;  // gzclose closes it now
    gzbuffer(g.gz, 256 * 1024);

    unsigned char magic[4];
    if (gz_read_up_to(g.gz, magic, 4, path) < 4) fail(path, "truncated: gzip data ends inside the IDX header");
    const Magic m = parse_magic(magic, path);
    unsigned char dims[4 * kMaxRank];
    if (gz_read_up_to(g.gz, dims, 4 * m.rank, path) < 4 * m.rank)
        fail(path, "truncated: gzip data ends inside the IDX header");

    RawTensor t;
    t.dtype = m.dtype;
    const std::uint64_t data_bytes = parse_dims(dims, m, path, t.shape);
    const std::uint64_t total = 4 + 4 * std::uint64_t{m.rank} + data_bytes;
    const std::string claim = "header says " + std::to_string(data_bytes) + " bytes of data (" +
                              shape_string(t.shape, t.dtype) + ")";
    if (total > kMaxGzipTotalBytes) fail(path, claim + ", more than the 16 GiB limit for a gzip'd IDX file");
    if (total > file_size * kMaxDeflateRatio + 1024)
        fail(path, "truncated or corrupt: " + claim + ", more than a gzip file of " + std::to_string(file_size) +
                       " bytes can hold");
    if (select) {
        // Inflated a chunk of rows at a time; only the selected rows are kept.
        const std::size_t row_bytes = static_cast<std::size_t>(data_bytes / t.shape[0]);
        t.file_rows = t.shape[0];
        t.row_ids = select_rows(select, t.file_rows, path);
        t.shape[0] = t.row_ids.size();
        t.bytes.resize(t.row_ids.size() * row_bytes);
        const std::size_t chunk_rows = std::max<std::size_t>(1, (std::size_t{4} << 20) / row_bytes);
        std::vector<unsigned char> chunk;
        std::size_t next = 0;  // the next selected row to keep
        for (std::size_t r0 = 0; r0 < t.file_rows; r0 += chunk_rows) {
            const std::size_t rows = std::min(chunk_rows, t.file_rows - r0);
            chunk.resize(rows * row_bytes);
            const std::size_t got = gz_read_up_to(g.gz, chunk.data(), chunk.size(), path);
            if (got < chunk.size())
                fail(path, "truncated: " + claim + ", the gzip stream holds " + std::to_string(r0 * row_bytes + got));
            for (; next < t.row_ids.size() && t.row_ids[next] < r0 + rows; ++next)
                std::memcpy(t.bytes.data() + next * row_bytes, chunk.data() + (t.row_ids[next] - r0) * row_bytes,
                            row_bytes);
        }
    } else {
    check_fits_in_memory(path, data_bytes, claim);

    // Reserved address space, not memory: pages are touched chunk by chunk below.
    try {
        t.bytes.reserve(static_cast<std::size_t>(data_bytes));
    } catch (const std::bad_alloc&) {
        fail(path, claim + ", more than can be allocated");
    }
    while (t.bytes.size() < data_bytes) {
        const std::size_t at = t.bytes.size();
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kInflateChunk, data_bytes - at));
        t.bytes.resize(at + want);
        const std::size_t got = gz_read_up_to(g.gz, t.bytes.data() + at, want, path);
        if (got < want)
            fail(path, "truncated: " + claim + ", the gzip stream holds " + std::to_string(at + got));
    }
    }
    // Reading past the data also makes zlib check the (last) member's CRC and length.
    unsigned char extra;
    if (gz_read_up_to(g.gz, &extra, 1, path) != 0)
        fail(path, "trailing bytes after the " + std::to_string(data_bytes) + " bytes of data the header declares");
    const int rc = gzclose_r(g.gz);
    g.gz = nullptr;
    if (rc != Z_OK) fail(path, "corrupt gzip data (zlib error " + std::to_string(rc) + " at close)");
    to_native_from_big_endian(t);
    return t;
}

}  // namespace

RawTensor read_idx(const std::string& path, const RowSelect& select) {
    FileDescriptor f;
    const std::uint64_t file_size = open_regular_file(path, f);
    if (file_size == 0) fail(path, "empty file, expected an IDX header");

    unsigned char probe[2] = {0, 0};
    const std::size_t n = pread_up_to(f.fd, probe, 2, 0, path);
    if (n == 2 && probe[0] == 0x1f && probe[1] == 0x8b) return read_gzip(f.fd, file_size, path, f, select);
    return read_plain(f.fd, file_size, path, select);
}

void write_idx(const std::string& path, const RawTensor& t) {
    unsigned char code = 0;
    if (!dtype_to_idx_type(t.dtype, code))
        fail(path, std::string("cannot write IDX: no IDX element type for ") + dtype_name(t.dtype) + " (use .npy)");
    if (t.shape.empty() || t.shape.size() > kMaxRank)
        fail(path, "cannot write IDX: rank " + std::to_string(t.shape.size()) + " (IDX here supports 1 to " +
                       std::to_string(kMaxRank) + ")");
    for (std::size_t d : t.shape)
        if (d == 0 || d > UINT32_MAX)
            fail(path, "cannot write IDX: dimension " + std::to_string(d) + " is not in 1..2^32-1");
    if (t.bytes.size() != t.size() * dtype_size(t.dtype))
        fail(path, "cannot write IDX: tensor holds " + std::to_string(t.bytes.size()) + " bytes, its shape " +
                       shape_string(t.shape, t.dtype) + " needs " + std::to_string(t.size() * dtype_size(t.dtype)));

    const std::size_t header_bytes = 4 + 4 * t.shape.size();
    std::string content(header_bytes + t.bytes.size(), '\0');
    auto* out = reinterpret_cast<unsigned char*>(&content[0]);
    out[2] = code;
    out[3] = static_cast<unsigned char>(t.shape.size());
    for (std::size_t k = 0; k < t.shape.size(); ++k) store_be32(out + 4 + 4 * k, static_cast<std::uint32_t>(t.shape[k]));
    if (!t.bytes.empty()) std::memcpy(out + header_bytes, t.bytes.data(), t.bytes.size());
    if (kHostLittleEndian) byteswap_elements(out + header_bytes, t.size(), dtype_size(t.dtype));
    write_file_atomic(path, content);
}

}  // namespace latentlab
