// Tests of the IDX, .npy and CSV readers and of RawTensor: round-trips with
// exact values, files written byte by byte (big-endian, gzip, numpy's own
// header layout), and every malformed input a user can hand us: each must
// throw DataError with a message that names the file and says what is wrong.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "latentlab/io/csv.hpp"
#include "latentlab/io/idx.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/io/raw_tensor.hpp"
#include "latentlab/core/error.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;

namespace {

std::string tmp_dir() {
#ifdef LATENTLAB_TEST_TMP
    std::string dir = LATENTLAB_TEST_TMP;
#else
    std::string dir = "/tmp/latentlab_readers_" + std::to_string(::getpid());
#endif
    std::filesystem::create_directories(dir);
    return dir;
}

// A file name unique to the running test (ctest runs tests as parallel processes).
std::string tmp_path(const std::string& name) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return tmp_dir() + "/readers_" + info->test_suite_name() + "_" + info->name() + "_" + name;
}

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

// Runs f, which must throw DataError; returns its message ("" and a failure otherwise).
std::string data_error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const DataError& e) {
        return e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "expected DataError, got another exception: " << e.what();
        return "";
    }
    ADD_FAILURE() << "expected DataError, nothing was thrown";
    return "";
}

// Asserts that `call` throws DataError with a one-line message that starts
// with the first string (the file name, or "FILE:LINE: ...") and contains the others.
#define EXPECT_DATA_ERROR(call, ...)                                                              \
    do {                                                                                          \
        const std::vector<std::string> parts_{__VA_ARGS__};                                       \
        const std::string msg_ = data_error_of([&] { (void)(call); });                             \
        EXPECT_EQ(msg_.rfind(parts_[0], 0), 0u) << "message does not start with '" << parts_[0]  \
                                                << "': " << msg_;                                 \
        for (std::size_t k_ = 1; k_ < parts_.size(); ++k_)                                        \
            EXPECT_TRUE(contains(msg_, parts_[k_])) << "missing '" << parts_[k_] << "' in: " << msg_; \
        EXPECT_EQ(msg_.find('\n'), std::string::npos) << "message is not one line: " << msg_;     \
    } while (0)

// A tensor of `shape` holding values[i % values.size()] as T.
template <class T>
RawTensor tensor_of(DType dtype, std::vector<std::size_t> shape, const std::vector<T>& values) {
    RawTensor t;
    t.dtype = dtype;
    t.shape = std::move(shape);
    const std::size_t n = t.size();
    t.bytes.resize(n * sizeof(T));
    for (std::size_t i = 0; i < n; ++i) std::memcpy(t.bytes.data() + i * sizeof(T), &values[i % values.size()], sizeof(T));
    return t;
}

template <class T>
void expect_values(const RawTensor& t, const std::vector<T>& values) {
    for (std::size_t i = 0; i < t.size(); ++i) {
        T v;
        std::memcpy(&v, t.bytes.data() + i * sizeof(T), sizeof(T));
        ASSERT_EQ(v, values[i % values.size()]) << "element " << i;
        ASSERT_EQ(t.at(i), static_cast<double>(values[i % values.size()])) << "element " << i;
    }
}

const std::vector<std::vector<std::size_t>> kShapes = {{7}, {3, 5}, {2, 3, 4}};

template <class T>
void idx_round_trip(DType dtype, const std::vector<T>& values, const std::string& name) {
    for (const auto& shape : kShapes) {
        const RawTensor t = tensor_of<T>(dtype, shape, values);
        const std::string path = tmp_path(name + "_r" + std::to_string(shape.size()) + ".idx");
        write_idx(path, t);
        const RawTensor r = read_idx(path);
        EXPECT_EQ(r.dtype, dtype);
        EXPECT_EQ(r.shape, shape);
        ASSERT_EQ(r.bytes.size(), t.size() * sizeof(T));
        expect_values<T>(r, values);
    }
}

}  // namespace

// ---- RawTensor ----------------------------------------------------------------

TEST(RawTensor, DtypeTraits) {
    EXPECT_EQ(dtype_size(DType::u8), 1u);
    EXPECT_EQ(dtype_size(DType::i8), 1u);
    EXPECT_EQ(dtype_size(DType::i16), 2u);
    EXPECT_EQ(dtype_size(DType::i32), 4u);
    EXPECT_EQ(dtype_size(DType::i64), 8u);
    EXPECT_EQ(dtype_size(DType::f32), 4u);
    EXPECT_EQ(dtype_size(DType::f64), 8u);
    EXPECT_STREQ(dtype_name(DType::u8), "u8");
    EXPECT_STREQ(dtype_name(DType::i16), "i16");
    EXPECT_STREQ(dtype_name(DType::f64), "f64");
    EXPECT_TRUE(dtype_is_integer(DType::u8));
    EXPECT_TRUE(dtype_is_integer(DType::i64));
    EXPECT_FALSE(dtype_is_integer(DType::f32));
    EXPECT_FALSE(dtype_is_integer(DType::f64));
}

TEST(RawTensor, SizeRowSizeAndAt) {
    const RawTensor t = tensor_of<std::int16_t>(DType::i16, {2, 3, 4}, {-3, 7, 300});
    EXPECT_EQ(t.size(), 24u);
    EXPECT_EQ(t.rows(), 2u);
    EXPECT_EQ(t.row_size(), 12u);
    EXPECT_EQ(t.at(0), -3.0);
    EXPECT_EQ(t.at(2), 300.0);
    EXPECT_EQ(t.at(23), 300.0);
    EXPECT_THROW(t.at(24), std::out_of_range);

    const RawTensor v = tensor_of<float>(DType::f32, {5}, {1.5f});
    EXPECT_EQ(v.row_size(), 1u);
    EXPECT_EQ(v.rows(), 5u);

    const RawTensor empty;
    EXPECT_EQ(empty.size(), 0u);
    EXPECT_EQ(empty.rows(), 0u);
    EXPECT_EQ(empty.row_size(), 0u);
}

TEST(RawTensor, MakeRaw) {
    const double d[6] = {1, 2, 3, 4, 5, -6.5};
    const RawTensor t = make_raw(d, {2, 3});
    EXPECT_EQ(t.dtype, DType::f64);
    EXPECT_EQ(t.shape, (std::vector<std::size_t>{2, 3}));
    EXPECT_EQ(t.at(5), -6.5);
    const float f[2] = {0.25f, -1.0f};
    const RawTensor u = make_raw(f, {2});
    EXPECT_EQ(u.dtype, DType::f32);
    EXPECT_EQ(u.bytes.size(), 8u);
    EXPECT_EQ(u.at(0), 0.25);
    EXPECT_EQ(u.at(1), -1.0);
}

// ---- IDX ----------------------------------------------------------------------

TEST(Idx, RoundTripEveryTypeRanks1To3) {
    idx_round_trip<std::uint8_t>(DType::u8, {0, 1, 127, 128, 200, 255}, "u8");
    idx_round_trip<std::int8_t>(DType::i8, {0, -1, 127, -128, 42}, "i8");
    idx_round_trip<std::int16_t>(DType::i16, {0, -1, 32767, -32768, 258, -300}, "i16");
    idx_round_trip<std::int32_t>(DType::i32, {0, -1, std::numeric_limits<std::int32_t>::max(),
                                              std::numeric_limits<std::int32_t>::min(), 16909060},
                                 "i32");
    idx_round_trip<float>(DType::f32, {0.0f, -1.5f, 3.25e-30f, 1e30f, -0.0f, 0.1f}, "f32");
    idx_round_trip<double>(DType::f64, {0.0, -1.5, 1e-300, 1e300, 0.1, -123456.789}, "f64");
}

TEST(Idx, FileIsBigEndianOnDisk) {
    // Written by hand: 2 x 2 i16 {1, -2, 258, -32768}.
    const std::string path = tmp_path("i16.idx");
    const std::string content = idx_header(0x0B, {2, 2}) + std::string("\x00\x01\xFF\xFE\x01\x02\x80\x00", 8);
    write_file(path, content);
    const RawTensor t = read_idx(path);
    EXPECT_EQ(t.dtype, DType::i16);
    EXPECT_EQ(t.shape, (std::vector<std::size_t>{2, 2}));
    EXPECT_EQ(t.at(0), 1.0);
    EXPECT_EQ(t.at(1), -2.0);
    EXPECT_EQ(t.at(2), 258.0);
    EXPECT_EQ(t.at(3), -32768.0);
    // write_idx produces exactly these bytes.
    const std::string again = tmp_path("i16_again.idx");
    write_idx(again, t);
    EXPECT_EQ(slurp(again), content);

    // f32 1.0 and -2.5 big-endian, f64 1.0.
    const std::string pf = tmp_path("f32.idx");
    write_file(pf, idx_header(0x0D, {2}) + std::string("\x3F\x80\x00\x00\xC0\x20\x00\x00", 8));
    const RawTensor f = read_idx(pf);
    EXPECT_EQ(f.dtype, DType::f32);
    EXPECT_EQ(f.at(0), 1.0);
    EXPECT_EQ(f.at(1), -2.5);
    const std::string pd = tmp_path("f64.idx");
    write_file(pd, idx_header(0x0E, {1}) + std::string("\x3F\xF0\x00\x00\x00\x00\x00\x00", 8));
    EXPECT_EQ(read_idx(pd).at(0), 1.0);
}

TEST(Idx, GzipReadsIdenticallyDetectedByContent) {
    std::vector<std::int32_t> values;
    for (int i = 0; i < 1000; ++i) values.push_back(i * 7919 - 3000000);
    const RawTensor t = tensor_of<std::int32_t>(DType::i32, {10, 10, 10}, values);
    const std::string plain = tmp_path("plain.idx");
    write_idx(plain, t);
    const std::string gz = tmp_path("x.idx.gz");
    gzip_file(gz, slurp(plain));
    const std::string gz_no_suffix = tmp_path("gz_named.idx");  // gzip detected by magic, not name
    gzip_file(gz_no_suffix, slurp(plain), "wb9");

    const RawTensor a = read_idx(plain);
    for (const std::string& p : {gz, gz_no_suffix}) {
        const RawTensor b = read_idx(p);
        EXPECT_EQ(b.dtype, DType::i32);
        EXPECT_EQ(b.shape, a.shape);
        EXPECT_EQ(b.bytes, a.bytes);
        expect_values<std::int32_t>(b, values);
    }
}

TEST(Idx, WrongMagic) {
    const std::string path = tmp_path("magic.idx");
    write_file(path, std::string("\x12\x34\x56\x78", 4) + be32(1) + "x");
    EXPECT_DATA_ERROR(read_idx(path), path, "wrong magic 0x12345678", "expected 0x0000TTRR");
}

TEST(Idx, BadTypeRankAndZeroDimension) {
    const std::string p1 = tmp_path("type.idx");
    write_file(p1, idx_header(0x0A, {1}) + "x");
    EXPECT_DATA_ERROR(read_idx(p1), p1, "element type 0x0A");
    const std::string p2 = tmp_path("rank0.idx");
    write_file(p2, idx_header(0x08, {}) + "x");
    EXPECT_DATA_ERROR(read_idx(p2), p2, "rank 0");
    const std::string p3 = tmp_path("zero.idx");
    write_file(p3, idx_header(0x08, {3, 0}));
    EXPECT_DATA_ERROR(read_idx(p3), p3, "dimension 1 is zero");
}

TEST(Idx, TruncatedPlainFile) {
    const std::string path = tmp_path("trunc.idx");
    write_file(path, idx_header(0x08, {3, 4}) + std::string(7, '\x05'));
    EXPECT_DATA_ERROR(read_idx(path), path, "truncated: header says 12 bytes of data", "file holds 7");
    // Header claiming more data than the file, with f32 elements.
    write_file(path, idx_header(0x0D, {100, 10}) + std::string(400, '\0'));
    EXPECT_DATA_ERROR(read_idx(path), path, "truncated: header says 4000 bytes of data", "file holds 400");
    // The file ends inside the header itself.
    write_file(path, idx_header(0x08, {3, 4, 5}).substr(0, 10));
    EXPECT_DATA_ERROR(read_idx(path), path, "truncated", "file ends inside the IDX header");
    write_file(path, std::string("\x00\x00", 2));
    EXPECT_DATA_ERROR(read_idx(path), path, "truncated");
}

TEST(Idx, TrailingBytes) {
    const std::string path = tmp_path("trail.idx");
    write_file(path, idx_header(0x08, {3, 4}) + std::string(15, '\x01'));
    EXPECT_DATA_ERROR(read_idx(path), path, "trailing bytes", "header says 12 bytes of data", "file holds 15");
}

TEST(Idx, AbsurdHeaderIsRefusedWithoutAllocating) {
    const auto start = std::chrono::steady_clock::now();
    // 2^31 x 2^31 u8: 2^62 bytes claimed by a 28-byte file.
    const std::string path = tmp_path("absurd.idx");
    write_file(path, idx_header(0x08, {0x80000000u, 0x80000000u}) + std::string(16, '\0'));
    EXPECT_DATA_ERROR(read_idx(path), path, "truncated: header says 4611686018427387904 bytes of data", "file holds 16");
    // 2^31 x 2^31 x 2^31 f64 overflows 64 bits.
    const std::string ovf = tmp_path("overflow.idx");
    write_file(ovf, idx_header(0x0E, {0x80000000u, 0x80000000u, 0x80000000u}) + std::string(16, '\0'));
    EXPECT_DATA_ERROR(read_idx(ovf), ovf, "overflow");
    // The same headers gzip'd: refused by the size limits before any allocation.
    const std::string gz = tmp_path("absurd.idx.gz");
    gzip_file(gz, idx_header(0x08, {0x80000000u, 0x80000000u}) + std::string(16, '\0'));
    EXPECT_DATA_ERROR(read_idx(gz), gz, "16 GiB");
    gzip_file(gz, idx_header(0x0E, {0x80000000u, 0x80000000u, 0x80000000u}));
    EXPECT_DATA_ERROR(read_idx(gz), gz, "overflow");
    // 1 GiB claimed by a ~40-byte gzip file: more than deflate can expand to.
    gzip_file(gz, idx_header(0x08, {32768, 32768}) + std::string(16, '\0'));
    EXPECT_DATA_ERROR(read_idx(gz), gz, "header says 1073741824 bytes of data", "more than a gzip file of");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 2.0);
}

TEST(Idx, GzipHeaderClaimingMoreThanTheStreamHolds) {
    const std::string gz = tmp_path("short.idx.gz");
    gzip_file(gz, idx_header(0x08, {100}) + std::string(50, '\x07'));
    EXPECT_DATA_ERROR(read_idx(gz), gz, "truncated: header says 100 bytes of data (100 u8), the gzip stream holds 50");
    // And trailing bytes inside the stream.
    gzip_file(gz, idx_header(0x08, {10}) + std::string(13, '\x07'));
    EXPECT_DATA_ERROR(read_idx(gz), gz, "trailing bytes after the 10 bytes of data the header declares");
}

TEST(Idx, TruncatedGzip) {
    // Incompressible data, so that cutting the file cuts the deflate stream.
    std::string data = idx_header(0x08, {4000});
    std::uint32_t x = 12345;
    for (int i = 0; i < 4000; ++i) {
        x = x * 1664525u + 1013904223u;
        data.push_back(static_cast<char>(x >> 24));
    }
    const std::string whole = tmp_path("whole.idx.gz");
    gzip_file(whole, data);
    const std::string compressed = slurp(whole);
    ASSERT_GT(compressed.size(), 4000u);
    EXPECT_EQ(read_idx(whole).at(3999), static_cast<double>(static_cast<unsigned char>(data.back())));

    const std::string path = tmp_path("cut.idx.gz");
    for (std::size_t keep : {compressed.size() / 2, compressed.size() - 4, compressed.size() - 1, std::size_t{30}}) {
        write_file(path, compressed.substr(0, keep));
        EXPECT_DATA_ERROR(read_idx(path), path);
    }
    write_file(path, compressed.substr(0, 15));
    EXPECT_DATA_ERROR(read_idx(path), path, "truncated gzip file (15 bytes)");
}

TEST(Idx, CorruptGzip) {
    // A valid gzip member header followed by garbage (0xff: reserved block type).
    const std::string path = tmp_path("corrupt.idx.gz");
    write_file(path, std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) + std::string(64, '\xff'));
    EXPECT_DATA_ERROR(read_idx(path), path, "corrupt gzip data", "zlib:");
    EXPECT_FALSE(contains(data_error_of([&] { read_idx(path); }), "<fd:"));  // no zlib stream names

    // A valid stream whose CRC is wrong: only seen when the stream's end is read.
    const std::string good = tmp_path("good.idx.gz");
    gzip_file(good, idx_header(0x08, {300}) + std::string(300, '\x09'));
    std::string bytes = slurp(good);
    bytes[bytes.size() - 8] = static_cast<char>(bytes[bytes.size() - 8] ^ 0x55);
    write_file(path, bytes);
    EXPECT_DATA_ERROR(read_idx(path), path, "corrupt gzip data", "zlib:");
}

TEST(Idx, MissingFileDirectoryEmptyFile) {
    const std::string missing = tmp_path("does_not_exist.idx");
    EXPECT_DATA_ERROR(read_idx(missing), missing, "cannot open", "No such file");
    const std::string dir = tmp_path("dir.idx");
    std::filesystem::create_directories(dir);
    EXPECT_DATA_ERROR(read_idx(dir), dir, "is a directory");
    const std::string empty = tmp_path("empty.idx");
    write_file(empty, "");
    EXPECT_DATA_ERROR(read_idx(empty), empty, "empty file");
}

TEST(Idx, WriteRefusesWhatIdxCannotHold) {
    const std::string path = tmp_path("i64.idx");
    EXPECT_DATA_ERROR(write_idx(path, tensor_of<std::int64_t>(DType::i64, {2}, {1})), path, "i64");
    RawTensor bad = tensor_of<std::uint8_t>(DType::u8, {2, 3}, {1});
    bad.bytes.pop_back();
    EXPECT_DATA_ERROR(write_idx(path, bad), path, "holds 5 bytes");
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Idx, MnistSizedGzipLoadsQuickly) {
    // 60000 x 784 u8 like MNIST: mostly zeros, some strokes.
    const std::size_t rows = 60000, cols = 784;
    std::string content = idx_header(0x08, {60000, 28, 28});
    const std::size_t header = content.size();
    content.resize(header + rows * cols, '\0');
    for (std::size_t i = 0; i < rows * cols; ++i)
        if ((i % cols) % 28 > 8 && (i % cols) % 28 < 14) content[header + i] = static_cast<char>((i * 31) % 256);
    const std::string gz = tmp_path("mnist.idx.gz");
    gzip_file(gz, content, "wb1");

    const auto start = std::chrono::steady_clock::now();
    const RawTensor t = read_idx(gz);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(t.shape, (std::vector<std::size_t>{60000, 28, 28}));
    EXPECT_EQ(t.row_size(), cols);
    ASSERT_EQ(t.bytes.size(), rows * cols);
    for (std::size_t i : {std::size_t{0}, std::size_t{10}, std::size_t{12345679}, rows * cols - 18})
        EXPECT_EQ(t.at(i), static_cast<double>(static_cast<unsigned char>(content[header + i]))) << i;
    EXPECT_EQ(std::memcmp(t.bytes.data(), content.data() + header, t.bytes.size()), 0);
    std::cout << "[ info ] 60000x784 u8 gzip IDX read in " << seconds << " s\n";
    EXPECT_LT(seconds, 3.0);  // well under 1 s on an idle machine; slack for sanitizers and load
}

TEST(Idx, FashionMnistFromTheDebianPackageIfInstalled) {
    const std::string dir = "/usr/share/datasets/fashion-mnist/";
    if (!std::filesystem::exists(dir + "train-images-idx3-ubyte.gz")) GTEST_SKIP() << "dataset-fashion-mnist not installed";
    const auto start = std::chrono::steady_clock::now();
    const RawTensor images = read_idx(dir + "train-images-idx3-ubyte.gz");
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(images.dtype, DType::u8);
    EXPECT_EQ(images.shape, (std::vector<std::size_t>{60000, 28, 28}));
    EXPECT_LT(seconds, 3.0);
    const RawTensor labels = read_idx(dir + "train-labels-idx1-ubyte.gz");
    EXPECT_EQ(labels.shape, (std::vector<std::size_t>{60000}));
    std::vector<int> count(10, 0);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const double l = labels.at(i);
        ASSERT_TRUE(l >= 0 && l <= 9) << l;
        ++count[static_cast<int>(l)];
    }
    for (int c : count) EXPECT_EQ(c, 6000);  // Fashion-MNIST's training set is balanced
}

// ---- npy ----------------------------------------------------------------------

namespace {
template <class T>
void npy_round_trip(DType dtype, const std::vector<T>& values, const std::string& name) {
    for (const auto& shape : kShapes) {
        const RawTensor t = tensor_of<T>(dtype, shape, values);
        const std::string path = tmp_path(name + "_r" + std::to_string(shape.size()) + ".npy");
        write_npy(path, t);
        const std::string bytes = slurp(path);
        ASSERT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
        const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
        EXPECT_EQ((10 + header_len) % 64, 0u);
        EXPECT_EQ(bytes[10 + header_len - 1], '\n');
        EXPECT_EQ(bytes.size(), 10 + header_len + t.bytes.size());
        EXPECT_EQ(bytes, npy_bytes(t));

        const RawTensor r = read_npy(path);
        EXPECT_EQ(r.dtype, dtype);
        EXPECT_EQ(r.shape, shape);
        ASSERT_EQ(r.bytes.size(), t.size() * sizeof(T));
        expect_values<T>(r, values);
    }
}

}  // namespace

TEST(Npy, RoundTripF32F64U8I64AndOthers) {
    npy_round_trip<float>(DType::f32, {0.0f, -1.5f, 3.25e-30f, 1e30f, 0.1f}, "f32");
    npy_round_trip<double>(DType::f64, {0.0, -1.5, 1e-300, 1e300, 0.1, -123456.789}, "f64");
    npy_round_trip<std::uint8_t>(DType::u8, {0, 1, 128, 255}, "u8");
    npy_round_trip<std::int64_t>(DType::i64, {0, -1, std::numeric_limits<std::int64_t>::max(),
                                              std::numeric_limits<std::int64_t>::min(), 1234567890123}, "i64");
    npy_round_trip<std::int8_t>(DType::i8, {0, -128, 127}, "i8");
    npy_round_trip<std::int16_t>(DType::i16, {0, -32768, 32767, 258}, "i16");
    npy_round_trip<std::int32_t>(DType::i32, {0, -7, 16909060}, "i32");
}

TEST(Npy, BytesAreExactlyWhatNumpySaveWrites) {
    // numpy 1.24: np.save(f, np.arange(6, dtype='<f8').reshape(2, 3)) is this
    // 128-byte header (with the 21-digit growth room numpy leaves) and the data.
    const double d[6] = {0, 1, 2, 3, 4, 5};
    const std::string bytes = npy_bytes(make_raw(d, {2, 3}));
    std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    std::string expected = std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict + std::string(127 - 10 - dict.size(), ' ') + "\n";
    expected.append(reinterpret_cast<const char*>(d), sizeof d);
    EXPECT_EQ(bytes, expected);

    // np.save(f, np.arange(3, dtype=np.uint8)): 131 bytes.
    const RawTensor u = tensor_of<std::uint8_t>(DType::u8, {3}, {0, 1, 2});
    dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }";
    expected = std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict + std::string(127 - 10 - dict.size(), ' ') + "\n" +
               std::string("\x00\x01\x02", 3);
    EXPECT_EQ(npy_bytes(u), expected);
}

TEST(Npy, BigEndianWrittenByHand) {
    const std::string path = tmp_path("be.npy");
    // 1.5, -2.25, 1e300 as big-endian doubles.
    std::string data;
    for (double v : {1.5, -2.25, 1e300}) {
        std::uint64_t bits;
        std::memcpy(&bits, &v, 8);
        for (int k = 7; k >= 0; --k) data += static_cast<char>((bits >> (8 * k)) & 0xFF);
    }
    write_file(path, npy_by_hand("{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }", data));
    const RawTensor t = read_npy(path);
    EXPECT_EQ(t.dtype, DType::f64);
    EXPECT_EQ(t.shape, (std::vector<std::size_t>{3}));
    EXPECT_EQ(t.at(0), 1.5);
    EXPECT_EQ(t.at(1), -2.25);
    EXPECT_EQ(t.at(2), 1e300);

    // '>i4' in a version 2.0 file, '>i2' in 3.0, key order and quotes as another writer might use.
    write_file(path, npy_by_hand("{\"shape\": (1, 2), \"fortran_order\": False, \"descr\": \">i4\"}",
                                 std::string("\x00\x00\x01\x02\xFF\xFF\xFF\xFE", 8), 2));
    const RawTensor i = read_npy(path);
    EXPECT_EQ(i.dtype, DType::i32);
    EXPECT_EQ(i.shape, (std::vector<std::size_t>{1, 2}));
    EXPECT_EQ(i.at(0), 258.0);
    EXPECT_EQ(i.at(1), -2.0);
    write_file(path, npy_by_hand("{'descr': '>i2', 'fortran_order': False, 'shape': (2,)}",
                                 std::string("\x80\x00\x00\x05", 4), 3));
    const RawTensor s = read_npy(path);
    EXPECT_EQ(s.dtype, DType::i16);
    EXPECT_EQ(s.at(0), -32768.0);
    EXPECT_EQ(s.at(1), 5.0);
}

TEST(Npy, FortranOrderRejected) {
    const std::string path = tmp_path("fortran.npy");
    write_file(path, npy_by_hand("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", std::string(32, '\0')));
    EXPECT_DATA_ERROR(read_npy(path), path, "fortran_order True");
}

TEST(Npy, BadMagic) {
    const std::string path = tmp_path("magic.npy");
    write_file(path, "PK\x03\x04 this is a zip, not an npy file");
    EXPECT_DATA_ERROR(read_npy(path), path, "bad magic");
    write_file(path, npy_by_hand("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0'))
                         .replace(6, 1, "\x04"));
    EXPECT_DATA_ERROR(read_npy(path), path, "unsupported .npy format version 4.0");
}

TEST(Npy, TruncatedAndTrailing) {
    const std::string path = tmp_path("trunc.npy");
    const double d[6] = {1, 2, 3, 4, 5, 6};
    const std::string whole = npy_bytes(make_raw(d, {2, 3}));
    write_file(path, whole.substr(0, whole.size() - 5));
    EXPECT_DATA_ERROR(read_npy(path), path, "truncated", "needs 48 bytes of data, file holds 43");
    write_file(path, whole + "xyz");
    EXPECT_DATA_ERROR(read_npy(path), path, "trailing bytes", "file holds 51");
    write_file(path, whole.substr(0, 60));
    EXPECT_DATA_ERROR(read_npy(path), path, "truncated", "header length is 118");
    write_file(path, whole.substr(0, 8));
    EXPECT_DATA_ERROR(read_npy(path), path, "truncated");
    // A header claiming an absurd shape is refused before allocating.
    write_file(path, npy_by_hand("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", ""));
    EXPECT_DATA_ERROR(read_npy(path), path, "overflow");
    write_file(path, npy_by_hand("{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }", "12345678"));
    EXPECT_DATA_ERROR(read_npy(path), path, "truncated", "needs 80000000000 bytes of data, file holds 8");
}

TEST(Npy, UnsupportedDtypesRejected) {
    const std::string path = tmp_path("dtype.npy");
    write_file(path, npy_by_hand("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", std::string(16, '\0')));
    EXPECT_DATA_ERROR(read_npy(path), path, "object arrays are not supported");
    write_file(path, npy_by_hand("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", std::string(16, '\0')));
    EXPECT_DATA_ERROR(read_npy(path), path, "unsupported dtype '<c16'");
    write_file(path, npy_by_hand("{'descr': '<u2', 'fortran_order': False, 'shape': (1,), }", std::string(2, '\0')));
    EXPECT_DATA_ERROR(read_npy(path), path, "unsupported dtype '<u2'");
    write_file(path, npy_by_hand("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
                                 std::string(4, '\0')));
    EXPECT_DATA_ERROR(read_npy(path), path, "structured");
}

TEST(Npy, MalformedHeadersRejected) {
    const std::string path = tmp_path("malformed.npy");
    const std::vector<std::string> dicts = {
        "{'descr': '<f8', 'shape': (1,), }",                                       // missing key
        "{'descr': '<f8', 'fortran_order': false, 'shape': (1,), }",               // not a Python bool
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1), }",                // not a tuple
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1, }",  // unknown key
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), ",                // no closing brace
        "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }",              // negative
        "{'descr': '<f8' 'fortran_order': False, 'shape': (1,), }",                // missing comma
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), } junk",          // trailing text
        "garbage",
    };
    for (const std::string& dict : dicts) {
        write_file(path, npy_by_hand(dict, std::string(8, '\0')));
        SCOPED_TRACE(dict);
        EXPECT_DATA_ERROR(read_npy(path), path, "malformed .npy header");
    }
    write_file(path, npy_by_hand("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", std::string(8, '\0')));
    EXPECT_DATA_ERROR(read_npy(path), path, "scalar");
}

TEST(Npy, MissingFileAndDirectory) {
    const std::string missing = tmp_path("nope.npy");
    EXPECT_DATA_ERROR(read_npy(missing), missing, "cannot open");
    const std::string dir = tmp_path("dir.npy");
    std::filesystem::create_directories(dir);
    EXPECT_DATA_ERROR(read_npy(dir), dir, "is a directory");
}

TEST(Npy, WriteRefusesInconsistentTensorAndLeavesNoFile) {
    const std::string path = tmp_path("bad.npy");
    RawTensor t = tensor_of<double>(DType::f64, {2, 2}, {1.0});
    t.bytes.resize(24);
    EXPECT_DATA_ERROR(write_npy(path, t), path, "needs 32");
    EXPECT_FALSE(std::filesystem::exists(path));
    const std::string no_dir = tmp_path("no_such_dir") + "/x.npy";
    EXPECT_DATA_ERROR(write_npy(no_dir, tensor_of<double>(DType::f64, {1}, {1.0})), no_dir, "cannot write");
}

// ---- CSV ----------------------------------------------------------------------

TEST(Csv, HeaderCommentsCrlfBlankLines) {
    const std::string path = tmp_path("data.csv");
    write_file(path,
               "# produced by a test\r\n"
               "x, y ,z\r\n"
               "1,2,3\r\n"
               "\r\n"
               "   # an indented comment\r\n"
               "4.5, -6e-1 ,\t7\r\n"
               "  \r\n");
    const RawTensor t = read_csv(path);
    EXPECT_EQ(t.dtype, DType::f64);
    EXPECT_EQ(t.shape, (std::vector<std::size_t>{2, 3}));
    const std::vector<double> expected = {1, 2, 3, 4.5, -0.6, 7};
    for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(t.at(i), expected[i]) << i;
}

TEST(Csv, NoHeaderNoTrailingNewlineBomAndSpecialValues) {
    const std::string path = tmp_path("plain.csv");
    write_file(path, "\xEF\xBB\xBF" "1,2\n3e2,-4\nnan,inf\n-inf,16");
    const RawTensor t = read_csv(path);
    EXPECT_EQ(t.shape, (std::vector<std::size_t>{4, 2}));
    EXPECT_EQ(t.at(0), 1.0);
    EXPECT_EQ(t.at(2), 300.0);
    EXPECT_EQ(t.at(3), -4.0);
    EXPECT_TRUE(std::isnan(t.at(4)));
    EXPECT_EQ(t.at(5), std::numeric_limits<double>::infinity());
    EXPECT_EQ(t.at(6), -std::numeric_limits<double>::infinity());
    EXPECT_EQ(t.at(7), 16.0);

    // Decimal numbers only, within double's range (as numpy.loadtxt reads them):
    // strtod would take 0x10 as 16 and 1e400 as inf.
    for (const auto& [text, error] : std::vector<std::pair<std::string, std::string>>{
             {"1,2\n3,0x10\n", ":2: column 2: '0x10' is not a number"},
             {"1,2\n1e400,4\n", ":2: column 1: '1e400' is not a number"},
             {"1,2\n3\n", ":2: row has 1 cell, expected 2"}}) {
        write_file(path, text);
        EXPECT_DATA_ERROR(read_csv(path), path + error);
    }
    write_file(path, "0.5\n");
    const RawTensor one = read_csv(path);
    EXPECT_EQ(one.shape, (std::vector<std::size_t>{1, 1}));
    EXPECT_EQ(one.at(0), 0.5);
}

TEST(Csv, RaggedRowNamesTheLine) {
    const std::string path = tmp_path("ragged.csv");
    write_file(path, "a,b,c\n1,2,3\n# comment\n\n4,5\n");
    EXPECT_DATA_ERROR(read_csv(path), path + ":5: row has 2 cells, expected 3");
    write_file(path, "1,2\r\n3,4,5\r\n");
    EXPECT_DATA_ERROR(read_csv(path), path + ":2: row has 3 cells, expected 2");
    write_file(path, "1,2,\n");  // a trailing comma is an empty cell
    EXPECT_DATA_ERROR(read_csv(path), path + ":1: column 3: '' is not a number");
}

// A header has no number at all; a first data row with one typo is an error
// naming the cell, not a "header" silently dropped.
TEST(Readers, CsvFirstRowWithATypoIsNotAHeader) {
    const std::string path = scratch("readers_csv_typo") + "/d.csv";
    write_file(path, "1.5,2x,3\n4,5,6\n");
    EXPECT_DATA_ERROR(read_csv(path), path + ":1: column 2: '2x' is not a number");
    write_file(path, "a,b,c\n4,5,6\n");
    const RawTensor t = read_csv(path);
    EXPECT_EQ(t.shape, (std::vector<std::size_t>{1, 3}));
    write_file(path, "x1,2,x3\n4,5,6\n");  // a number among the names: a data row with typos
    EXPECT_DATA_ERROR(read_csv(path), path + ":1: column 1: 'x1' is not a number");
}

TEST(Csv, NonNumericCellNamesLineAndColumn) {
    const std::string path = tmp_path("text.csv");
    write_file(path, "h1,h2\n1,2\n3, abc \n");
    EXPECT_DATA_ERROR(read_csv(path), path + ":3: column 2: 'abc' is not a number");
    // A header is only allowed as the first non-comment line.
    write_file(path, "# c\n1,2\nx,y\n");
    EXPECT_DATA_ERROR(read_csv(path), path + ":3: column 1: 'x' is not a number");
    write_file(path, "1,2\n3,4.5.6\n");
    EXPECT_DATA_ERROR(read_csv(path), path + ":2: column 2: '4.5.6' is not a number");
    write_file(path, "1,2\n3,1 2\n");
    EXPECT_DATA_ERROR(read_csv(path), path + ":2: column 2: '1 2' is not a number");
}

TEST(Csv, NoDataRows) {
    const std::string path = tmp_path("empty.csv");
    write_file(path, "");
    EXPECT_DATA_ERROR(read_csv(path), path + ": no data rows");
    write_file(path, "a,b,c\n");
    EXPECT_DATA_ERROR(read_csv(path), path + ": no data rows", "header");
    write_file(path, "# only\n\n# comments\n");
    EXPECT_DATA_ERROR(read_csv(path), path + ": no data rows");
}

TEST(Csv, DirectoryAndMissingFile) {
    const std::string dir = tmp_path("dir.csv");
    std::filesystem::create_directories(dir);
    EXPECT_DATA_ERROR(read_csv(dir), dir, "directory");
    const std::string missing = tmp_path("missing.csv");
    EXPECT_DATA_ERROR(read_csv(missing), missing, "cannot open");
}
