// NumPy .npy reader/writer (format: numpy/lib/format.py, NEP 1).
// File: "\x93NUMPY", major, minor, header length (u16 LE for 1.0, u32 LE for
// 2.0/3.0), then a Python dict literal
//     {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and '\n' so that the data starts at a multiple of 64,
// then the elements in C order. We parse that dict with a small strict
// parser (no eval), check the data length against the shape and the
// machine's memory before allocating, and read the data in one bulk read.
#include "latentlab/io/npy.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <type_traits>
#include <unistd.h>

#include "latentlab/core/error.hpp"
#include "latentlab/core/files.hpp"

namespace latentlab {

namespace {

constexpr bool kHostLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;
constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;
constexpr std::size_t kAlign = 64;             // numpy's ARRAY_ALIGN
constexpr std::size_t kGrowthAxisDigits = 21;  // numpy's GROWTH_AXIS_MAX_DIGITS
constexpr std::uint64_t kMaxHeaderBytes = 1 << 20;
constexpr std::size_t kMaxRank = 64;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw DataError(path + ": " + what);
}



// Bytes from the file, for a one-line message: control characters and
// non-ASCII bytes (which need not be UTF-8) shown as '?'.
std::string printable(const std::string& text) {
    std::string s = text;
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    return s;
}

// Header text for a one-line message, cut at 120.
std::string quote_header(const std::string& h) {
    std::string s = printable(h.substr(0, 120));
    while (!s.empty() && (s.back() == ' ' || s.back() == '?')) s.pop_back();
    return "\"" + s + (h.size() > 120 ? "...\"" : "\"");
}

// ---- the header dict ------------------------------------------------------

struct NpyHeader {
    std::string descr;
    bool fortran_order = false;
    std::vector<std::size_t> shape;
};

// Strict parser for the dict literal numpy writes; anything else is malformed.
class HeaderParser {
public:
    HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

    NpyHeader parse() {
        NpyHeader h;
        bool have_descr = false, have_fortran = false, have_shape = false;
        skip_ws();
        expect('{');
        skip_ws();
        while (peek() != '}') {
            const std::string key = parse_string("a key");
            skip_ws();
            expect(':');
            skip_ws();
            if (key == "descr") {
                if (have_descr) malformed("duplicate key 'descr'");
                have_descr = true;
                if (peek() == '[') fail(path_, "structured dtypes are not supported (.npy descr is a list)");
                h.descr = parse_string("the descr string");
            } else if (key == "fortran_order") {
                if (have_fortran) malformed("duplicate key 'fortran_order'");
                have_fortran = true;
                h.fortran_order = parse_bool();
            } else if (key == "shape") {
                if (have_shape) malformed("duplicate key 'shape'");
                have_shape = true;
                h.shape = parse_shape();
            } else {
                malformed("unexpected key '" + printable(key) + "'");
            }
            skip_ws();
            if (peek() == ',') {
                ++i_;
                skip_ws();
            } else if (peek() != '}') {
                malformed("expected ',' or '}'");
            }
        }
        ++i_;  // '}'
        // numpy pads with spaces and ends with '\n'; nothing else may follow.
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
        if (i_ != s_.size()) malformed("unexpected text after '}'");
        if (!have_descr || !have_fortran || !have_shape)
            malformed(std::string("missing key '") + (!have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape") +
                      "'");
        return h;
    }

private:
    [[noreturn]] void malformed(const std::string& why) const {
        fail(path_, "malformed .npy header (" + why + " at offset " + std::to_string(i_) + "): " + quote_header(s_));
    }
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    void skip_ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }
    void expect(char c) {
        if (peek() != c) malformed(std::string("expected '") + c + "'");
        ++i_;
    }
    std::string parse_string(const char* what) {
        const char q = peek();
        if (q != '\'' && q != '"') malformed(std::string("expected ") + what);
        const std::size_t start = ++i_;
        while (i_ < s_.size() && s_[i_] != q) {
            if (s_[i_] == '\\' || s_[i_] == '\n') malformed("unsupported character in a string");
            ++i_;
        }
        if (i_ >= s_.size()) malformed("unterminated string");
        return s_.substr(start, i_++ - start);
    }
    bool parse_bool() {
        if (s_.compare(i_, 4, "True") == 0) {
            i_ += 4;
            return true;
        }
        if (s_.compare(i_, 5, "False") == 0) {
            i_ += 5;
            return false;
        }
        malformed("expected True or False for 'fortran_order'");
    }
    std::size_t parse_int() {
        if (peek() < '0' || peek() > '9') malformed("expected a non-negative integer in 'shape'");
        std::size_t v = 0;
        while (peek() >= '0' && peek() <= '9') {
            const std::size_t d = static_cast<std::size_t>(peek() - '0');
            if (v > (SIZE_MAX - d) / 10) malformed("dimension too large in 'shape'");
            v = v * 10 + d;
            ++i_;
        }
        if (peek() == 'L') ++i_;  // Python 2 long, as old numpy wrote
        return v;
    }
    // A Python tuple of ints: (), (3,), (2, 3) or (2, 3,).
    std::vector<std::size_t> parse_shape() {
        std::vector<std::size_t> dims;
        expect('(');
        skip_ws();
        bool trailing_comma = false;
        while (peek() != ')') {
            dims.push_back(parse_int());
            if (dims.size() > kMaxRank) malformed("too many dimensions in 'shape'");
            skip_ws();
            trailing_comma = false;
            if (peek() == ',') {
                ++i_;
                skip_ws();
                trailing_comma = true;
            } else if (peek() != ')') {
                malformed("expected ',' or ')' in 'shape'");
            }
        }
        ++i_;
        if (dims.size() == 1 && !trailing_comma) malformed("'shape' (n) is not a tuple; numpy writes (n,)");
        return dims;
    }

    const std::string& s_;
    const std::string& path_;
    std::size_t i_ = 0;
};

// '<f8' etc. -> dtype and whether the file's byte order is big-endian.
void parse_descr(const std::string& descr, const std::string& path, DType& dtype, bool& big_endian) {
    const std::string expected =
        " (expected |u1, |i1, <i2, <i4, <i8, <f4, <f8 or a big-endian '>' form)";
    if (descr.find('O') != std::string::npos) fail(path, "object arrays are not supported (descr '" + printable(descr) + "')");
    if (descr.size() != 3) fail(path, "unsupported dtype '" + printable(descr) + "'" + expected);
    const char order = descr[0];
    const std::string kind = descr.substr(1);
    if (kind == "u1") dtype = DType::u8;
    else if (kind == "i1") dtype = DType::i8;
    else if (kind == "i2") dtype = DType::i16;
    else if (kind == "i4") dtype = DType::i32;
    else if (kind == "i8") dtype = DType::i64;
    else if (kind == "f4") dtype = DType::f32;
    else if (kind == "f8") dtype = DType::f64;
    else fail(path, "unsupported dtype '" + printable(descr) + "'" + expected);
    // '|' (not applicable) and '=' (native) appear for 1-byte types; accept them
    // as native order as numpy does.
    if (order == '<') big_endian = false;
    else if (order == '>') big_endian = true;
    else if (order == '|' || order == '=') big_endian = !kHostLittleEndian;
    else fail(path, "unsupported dtype '" + printable(descr) + "'" + expected);
}

std::string shape_repr(const std::vector<std::size_t>& shape) {
    std::string s = "(";
    for (std::size_t k = 0; k < shape.size(); ++k) {
        if (k) s += ", ";
        s += std::to_string(shape[k]);
    }
    if (shape.size() == 1) s += ",";
    return s + ")";
}

const char* descr_of(DType t) {
    switch (t) {
        case DType::u8: return "|u1";
        case DType::i8: return "|i1";
        case DType::i16: return "<i2";
        case DType::i32: return "<i4";
        case DType::i64: return "<i8";
        case DType::f32: return "<f4";
        case DType::f64: return "<f8";
    }
    return "?";
}

// The whole file, as numpy.save writes it (format_version chosen like
// numpy's _wrap_header_guess_version: 1.0 unless the header does not fit).
std::string build_npy(const RawTensor& t, const std::string& label) {
    if (t.shape.empty()) fail(label, "cannot write .npy: tensor has no shape");
    std::size_t n = 1;
    for (std::size_t d : t.shape) {
        if (d != 0 && n > SIZE_MAX / d) fail(label, "cannot write .npy: shape " + shape_repr(t.shape) + " overflows");
        n *= d;
    }
    const std::size_t w = dtype_size(t.dtype);
    if (n > SIZE_MAX / w || t.bytes.size() != n * w)
        fail(label, "cannot write .npy: tensor holds " + std::to_string(t.bytes.size()) + " bytes, shape " +
                        shape_repr(t.shape) + " of " + dtype_name(t.dtype) + " needs " + std::to_string(n * w));

    std::string dict = std::string("{'descr': '") + descr_of(t.dtype) + "', 'fortran_order': False, 'shape': " +
                       shape_repr(t.shape) + ", }";
    // Room to rewrite shape[0] in place when appending, as numpy leaves.
    const std::size_t first_len = std::to_string(t.shape[0]).size();
    if (first_len < kGrowthAxisDigits) dict.append(kGrowthAxisDigits - first_len, ' ');

    const std::size_t hlen = dict.size() + 1;  // + '\n'
    std::size_t prefix = kMagicLen + 2 + 2;    // version 1.0: u16 header length
    unsigned char major = 1;
    std::size_t padlen = kAlign - (prefix + hlen) % kAlign;  // numpy pads 64 when already aligned
    if (hlen + padlen > 0xFFFF) {
        major = 2;
        prefix = kMagicLen + 2 + 4;
        padlen = kAlign - (prefix + hlen) % kAlign;
    }
    const std::size_t header_len = hlen + padlen;

    std::string out;
    out.reserve(prefix + header_len + t.bytes.size());
    out.append(kMagic, kMagicLen);
    out.push_back(static_cast<char>(major));
    out.push_back('\0');
    for (std::size_t k = 0; k < prefix - kMagicLen - 2; ++k) out.push_back(static_cast<char>((header_len >> (8 * k)) & 0xFF));
    out += dict;
    out.append(padlen, ' ');
    out.push_back('\n');
    const std::size_t data_at = out.size();
    out.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
    if (!kHostLittleEndian) byteswap_elements(reinterpret_cast<unsigned char*>(&out[data_at]), n, w);
    return out;
}

}  // namespace

RawTensor read_npy(const std::string& path, const RowSelect& select) {
    FileDescriptor f;
    const std::uint64_t file_size = open_regular_file(path, f);
    if (file_size == 0) fail(path, "empty file, expected a .npy header");

    unsigned char pre[12] = {};
    const std::size_t got_pre = read_up_to(f.fd, pre, std::min<std::uint64_t>(file_size, 10), path);
    if (got_pre < kMagicLen || std::memcmp(pre, kMagic, kMagicLen) != 0) {
        if (got_pre >= 4 && pre[0] == 0 && pre[1] == 0)
            fail(path, "bad magic: not a .npy file (expected \\x93NUMPY; this looks like an IDX file)");
        fail(path, "bad magic: not a .npy file (expected \\x93NUMPY)");
    }
    if (got_pre < 10) fail(path, "truncated: file ends inside the .npy header");
    const unsigned major = pre[6], minor = pre[7];
    if (minor != 0 || major < 1 || major > 3)
        fail(path, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                       " (expected 1.0, 2.0 or 3.0)");
    std::uint64_t header_len = std::uint64_t{pre[8]} | (std::uint64_t{pre[9]} << 8);
    std::uint64_t prefix = 10;
    if (major >= 2) {
        if (read_up_to(f.fd, pre + 10, 2, path) < 2) fail(path, "truncated: file ends inside the .npy header");
        header_len |= (std::uint64_t{pre[10]} << 16) | (std::uint64_t{pre[11]} << 24);
        prefix = 12;
    }
    if (header_len > file_size - prefix)
        fail(path, "truncated: .npy header length is " + std::to_string(header_len) + " bytes, file holds " +
                       std::to_string(file_size - prefix) + " after the prefix");
    if (header_len > kMaxHeaderBytes)
        fail(path, "malformed .npy header: length " + std::to_string(header_len) + " bytes is implausible");

    std::string text(static_cast<std::size_t>(header_len), '\0');
    if (read_up_to(f.fd, reinterpret_cast<unsigned char*>(&text[0]), text.size(), path) < text.size())
        fail(path, "truncated: file ends inside the .npy header");
    const NpyHeader h = HeaderParser(text, path).parse();

    RawTensor t;
    bool big_endian = false;
    parse_descr(h.descr, path, t.dtype, big_endian);
    if (h.fortran_order)
        fail(path, "fortran_order True is not supported (save a C-ordered array, e.g. numpy.ascontiguousarray)");
    if (h.shape.empty()) fail(path, "a scalar (shape ()) is not supported: expected an array of rank >= 1");
    t.shape = h.shape;

    std::uint64_t data_bytes = dtype_size(t.dtype);
    bool overflow = false;
    for (std::size_t d : t.shape) {
        if (d != 0 && data_bytes > UINT64_MAX / d) overflow = true;
        else data_bytes *= d;
    }
    if (overflow || data_bytes > SIZE_MAX)
        fail(path, "shape " + shape_repr(t.shape) + " of " + h.descr + " overflows the addressable size");
    const std::uint64_t held = file_size - prefix - header_len;
    if (data_bytes > held)
        fail(path, "truncated: shape " + shape_repr(t.shape) + " of " + printable(h.descr) + " needs " +
                       std::to_string(data_bytes) + " bytes of data, file holds " + std::to_string(held));
    if (data_bytes < held)
        fail(path, "trailing bytes: shape " + shape_repr(t.shape) + " of " + printable(h.descr) + " needs " +
                       std::to_string(data_bytes) + " bytes of data, file holds " + std::to_string(held));
    if (select && t.shape[0] > 0) {  // only the selected rows, at their offsets
        read_selected_rows(f.fd, prefix + header_len, static_cast<std::size_t>(data_bytes / t.shape[0]), select, t,
                           path);
        if (big_endian == kHostLittleEndian)
            byteswap_elements(t.bytes.data(), t.bytes.size() / dtype_size(t.dtype), dtype_size(t.dtype));
        return t;
    }
    check_fits_in_memory(path, data_bytes,
                         "shape " + shape_repr(t.shape) + " of " + printable(h.descr) + " needs " +
                             std::to_string(data_bytes) + " bytes of data");

    t.bytes.resize(static_cast<std::size_t>(data_bytes));
    const std::size_t got = read_up_to(f.fd, t.bytes.data(), t.bytes.size(), path);
    if (got < t.bytes.size())  // the file shrank while we read it
        fail(path, "truncated: needs " + std::to_string(data_bytes) + " bytes of data, file holds " + std::to_string(got));
    unsigned char extra;
    if (read_up_to(f.fd, &extra, 1, path) != 0)
        fail(path, "trailing bytes after the " + std::to_string(data_bytes) + " bytes of data");
    if (big_endian == kHostLittleEndian)
        byteswap_elements(t.bytes.data(), t.bytes.size() / dtype_size(t.dtype), dtype_size(t.dtype));
    return t;
}

std::string npy_bytes(const RawTensor& t) { return build_npy(t, "npy_bytes"); }

void write_npy(const std::string& path, const RawTensor& t) { write_file_atomic(path, build_npy(t, path)); }

template <class T>
RawTensor make_raw(const T* data, std::vector<std::size_t> shape) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int64_t> ||
                      std::is_same_v<T, std::int32_t>,
                  "make_raw: float, double, int32 or int64");
    RawTensor t;
    t.dtype = std::is_same_v<T, float>          ? DType::f32
              : std::is_same_v<T, double>       ? DType::f64
              : std::is_same_v<T, std::int64_t> ? DType::i64
                                                : DType::i32;
    t.shape = std::move(shape);
    const std::size_t n = t.size();
    if (n > 0 && data == nullptr) throw std::invalid_argument("make_raw: null data for a non-empty shape");
    t.bytes.resize(n * sizeof(T));
    if (n > 0) std::memcpy(t.bytes.data(), data, n * sizeof(T));
    return t;
}

template RawTensor make_raw<float>(const float*, std::vector<std::size_t>);
template RawTensor make_raw<double>(const double*, std::vector<std::size_t>);
template RawTensor make_raw<std::int64_t>(const std::int64_t*, std::vector<std::size_t>);
template RawTensor make_raw<std::int32_t>(const std::int32_t*, std::vector<std::size_t>);

}  // namespace latentlab
