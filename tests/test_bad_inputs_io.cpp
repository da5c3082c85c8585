// Hostile input to the readers, end to end (issue "Reliability II"): special
// files (FIFOs, devices), files too large to read or to hold, gzip bombs and
// multi-member gzip, symlink loops, label values, and headers (or a
// checkpoint's counts) that claim more than the file holds. The rule of
// test_bad_inputs.cpp holds for each case:
//   - exit code 1 (data/IO) or 2 (config), never a signal;
//   - stderr is exactly one line, naming the file;
//   - nothing is written: the run directory does not exist afterwards;
// and here also: never a hang (every run is bounded by a timeout; a reader
// blocked in open() on a FIFO would otherwise hang the suite) and never more
// memory than the data the file really holds.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <new>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "latentlab/core/error.hpp"
#include "latentlab/io/idx.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/optim/lbfgs.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;
namespace fs = std::filesystem;

namespace {

// Every run here ends in well under a second; a run still going after this
// long is hanging (it is killed, and its code is then not the expected one).
constexpr int kTimeoutSeconds = 20;

// ---- files -------------------------------------------------------------------------

std::string config_yaml(const std::string& source, const std::string& path, const std::string& labels = "") {
    return small_run_yaml(source, path, labels);
}

// Writes d/c.yaml and returns the usual arguments: --config d/c.yaml --out d/run.
std::string with_config(const std::string& d, const std::string& yaml) {
    spit(d + "/c.yaml", yaml);
    return "--config " + d + "/c.yaml --out " + d + "/run";
}

void write_data_npy(const std::string& path) {
    const auto X = randn(120 * 8, 1.0, 5);
    write_npy(path, make_raw<double>(X.data(), {120, 8}));
}

// `rows` 4x4 u8 images, a fixed pattern.
RawTensor u8_images(std::size_t rows) {
    RawTensor t;
    t.dtype = DType::u8;
    t.shape = {rows, 4, 4};
    t.bytes.resize(t.size());
    for (std::size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = static_cast<unsigned char>((i * 37 + 11) % 251);
    return t;
}

// One i8 label per row (row % 10), with `value` at `row`.
RawTensor i8_labels(std::size_t rows, std::size_t row, std::int8_t value) {
    RawTensor t;
    t.dtype = DType::i8;
    t.shape = {rows};
    t.bytes.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) t.bytes[i] = static_cast<unsigned char>(i % 10);
    t.bytes[row] = static_cast<unsigned char>(value);
    return t;
}

// d/img.idx, 60 images, for the cases about labels.
std::string labelled_idx(const std::string& d, const std::string& labels) {
    write_idx(d + "/img.idx", u8_images(60));
    return with_config(d, config_yaml("idx", d + "/img.idx", d + "/" + labels));
}

void make_fifo(const std::string& path) {
    if (::mkfifo(path.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + path + " failed");
}

// `path` -> `path`.loop -> `path`: stat and open fail with ELOOP.
void make_symlink_loop(const std::string& path) {
    fs::create_symlink(path + ".loop", path);
    fs::create_symlink(path, path + ".loop");
}

// `head`, then zeros up to `size` bytes, as a sparse file: a file that claims
// any size without using the disk.
void sparse_file(const std::string& path, const std::string& head, std::uint64_t size) {
    spit(path, head);
    fs::resize_file(path, size);
    if (fs::file_size(path) != size) throw std::runtime_error("cannot make the sparse file " + path);
}

// This machine's physical memory: a file larger than this can never be held.
std::uint64_t physical_memory() {
    return static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::string random_bytes(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng() & 0xFF);
    return s;
}

// `content` split at `cuts`, each part gzip'd on its own, the members concatenated
// (`cat a.gz b.gz`, which gunzip reads as the concatenation).
std::string multi_member_gzip(const std::string& content, const std::vector<std::size_t>& cuts, const std::string& tmp) {
    std::string out;
    std::size_t from = 0;
    for (std::size_t k = 0; k <= cuts.size(); ++k) {
        const std::size_t to = k < cuts.size() ? cuts[k] : content.size();
        gzip_file(tmp, content.substr(from, to - from));
        out += slurp(tmp);
        from = to;
    }
    fs::remove(tmp);
    return out;
}

// The peak resident memory of this process so far, in bytes.
std::uint64_t peak_rss() {
    struct rusage ru {};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;  // ASan's allocator and shadow memory change what is resident
#else
constexpr bool kSanitized = false;
#endif

// ---- the check ---------------------------------------------------------------------

std::string expand(std::string s, const std::string& d) {
    for (auto at = s.find("{d}"); at != std::string::npos; at = s.find("{d}", at + d.size())) s.replace(at, 3, d);
    return s;
}

// `train ARGS` fails cleanly: the exit code `code`, in time, one error line
// holding each of `expect` ("{d}" is the scratch directory), no run directory.
void expect_clean_failure(const std::string& args, const std::string& d, int code,
                          const std::vector<std::string>& expect) {
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_train(args, d, kTimeoutSeconds);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    SCOPED_TRACE("train " + args + "\nstderr: " + r.err);
    EXPECT_EQ(r.code, code) << (r.code == 124 || r.code == 137 ? "the run hung and was killed" : "");
    EXPECT_LT(seconds, 10.0);
    EXPECT_EQ(count_lines(r.err), 1);
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u);
    for (const auto& e : expect) EXPECT_NE(r.err.find(expand(e, d)), std::string::npos) << "expected: " << expand(e, d);
    EXPECT_FALSE(fs::exists(d + "/run")) << "the run directory was created";
}

struct Hostile {
    std::string name;
    int code;                                              // 1 data/IO, 2 config
    std::function<std::string(const std::string&)> setup;  // writes files in d; returns train's arguments
    std::vector<std::string> expect;                       // in the error line
};

std::ostream& operator<<(std::ostream& os, const Hostile& c) { return os << c.name; }

std::vector<Hostile> cases() {
    std::vector<Hostile> c;

    // ---- 1. special files never block, devices are never read ----
    c.push_back({"data_path_is_a_fifo", 1,
                 [](const std::string& d) {
                     make_fifo(d + "/data.npy");
                     return with_config(d, config_yaml("npy", d + "/data.npy"));
                 },
                 {"{d}/data.npy: not a regular file (a FIFO)"}});
    c.push_back({"idx_path_is_a_fifo", 1,
                 [](const std::string& d) {
                     make_fifo(d + "/img.idx");
                     return with_config(d, config_yaml("idx", d + "/img.idx"));
                 },
                 {"{d}/img.idx: not a regular file (a FIFO)"}});
    c.push_back({"csv_path_is_a_fifo", 1,
                 [](const std::string& d) {
                     make_fifo(d + "/data.csv");
                     return with_config(d, config_yaml("csv", d + "/data.csv"));
                 },
                 {"{d}/data.csv: not a regular file (a FIFO)"}});
    c.push_back({"labels_path_is_a_fifo", 1,
                 [](const std::string& d) {
                     make_fifo(d + "/lab.idx");
                     return labelled_idx(d, "lab.idx");
                 },
                 {"{d}/lab.idx: not a regular file (a FIFO)"}});
    c.push_back({"config_is_a_fifo", 2,
                 [](const std::string& d) {
                     write_data_npy(d + "/data.npy");
                     make_fifo(d + "/c.yaml");
                     return "--config " + d + "/c.yaml --out " + d + "/run";
                 },
                 {"{d}/c.yaml: not a regular file (a FIFO)"}});
    c.push_back({"config_is_dev_zero", 2,
                 [](const std::string& d) { return "--config /dev/zero --out " + d + "/run"; },
                 {"/dev/zero: not a regular file (a character device)"}});
    c.push_back({"config_is_dev_urandom", 2,
                 [](const std::string& d) { return "--config /dev/urandom --out " + d + "/run"; },
                 {"/dev/urandom: not a regular file (a character device)"}});
    c.push_back({"csv_path_is_dev_zero", 1,
                 [](const std::string& d) { return with_config(d, config_yaml("csv", "/dev/zero")); },
                 {"/dev/zero: not a regular file (a character device)"}});
    c.push_back({"npy_path_is_dev_zero", 1,
                 [](const std::string& d) { return with_config(d, config_yaml("npy", "/dev/zero")); },
                 {"/dev/zero: not a regular file (a character device)"}});

    // ---- 2. bounded reads: refused by size, before reading ----
    c.push_back({"config_larger_than_1_mib", 2,
                 [](const std::string& d) {
                     write_data_npy(d + "/data.npy");
                     std::string yaml = config_yaml("npy", d + "/data.npy");
                     const std::string pad = "# " + std::string(77, '-') + "\n";
                     while (yaml.size() <= (1u << 20)) yaml += pad;  // valid YAML: comments
                     return with_config(d, yaml);
                 },
                 {"{d}/c.yaml: ", "1 MiB"}});
    // Sparse files of the machine's whole memory and more: the contents are
    // never read, the size alone refuses them.
    c.push_back({"csv_larger_than_memory", 1,
                 [](const std::string& d) {
                     sparse_file(d + "/data.csv", "1,2,3\n", physical_memory() + (std::uint64_t{1} << 30));
                     return with_config(d, config_yaml("csv", d + "/data.csv"));
                 },
                 {"{d}/data.csv: ", "memory"}});
    c.push_back({"idx_larger_than_memory", 1,
                 [](const std::string& d) {
                     // A true header: rows of 1 MiB, as many as the file holds.
                     const std::uint64_t rows = physical_memory() / (1u << 20) + 1024;
                     sparse_file(d + "/img.idx", idx_header(0x08, {static_cast<std::uint32_t>(rows), 1024, 1024}),
                                 16 + rows * (1u << 20));
                     return with_config(d, config_yaml("idx", d + "/img.idx"));
                 },
                 {"{d}/img.idx: ", "memory"}});
    c.push_back({"npy_larger_than_memory", 1,
                 [](const std::string& d) {
                     const std::uint64_t rows = physical_memory() / (1u << 20) + 1024;
                     const std::string head =
                         npy_by_hand("{'descr': '<f8', 'fortran_order': False, 'shape': (" + std::to_string(rows) +
                                         ", 131072), }",
                                     "");
                     sparse_file(d + "/data.npy", head, head.size() + rows * (1u << 20));
                     return with_config(d, config_yaml("npy", d + "/data.npy"));
                 },
                 {"{d}/data.npy: ", "memory"}});
    c.push_back({"idx_gzip_bomb", 1,
                 [](const std::string& d) {
                     // 60 images as the header says, then 128 MiB of zeros in ~130 kB.
                     const RawTensor t = u8_images(60);
                     gzFile gz = gzopen((d + "/img.idx.gz").c_str(), "wb9");
                     const std::string head = idx_header(0x08, {60, 4, 4});
                     gzwrite(gz, head.data(), static_cast<unsigned>(head.size()));
                     gzwrite(gz, t.bytes.data(), static_cast<unsigned>(t.bytes.size()));
                     const std::string zeros(1u << 20, '\0');
                     for (int i = 0; i < 128; ++i) gzwrite(gz, zeros.data(), static_cast<unsigned>(zeros.size()));
                     if (gzclose(gz) != Z_OK) throw std::runtime_error("gzip failed");
                     return with_config(d, config_yaml("idx", d + "/img.idx.gz"));
                 },
                 {"{d}/img.idx.gz: ", "trailing bytes after the 960 bytes of data the header declares"}});

    // ---- 4. messages that must be right ----
    c.push_back({"label_value_negative", 1,
                 [](const std::string& d) {
                     write_idx(d + "/lab.idx", i8_labels(60, 5, -3));
                     return labelled_idx(d, "lab.idx");
                 },
                 {"{d}/lab.idx: label at row 5 is -3, not a non-negative integer"}});
    c.push_back({"label_value_fraction", 1,
                 [](const std::string& d) {
                     std::vector<double> y(60, 1.0);
                     y[7] = 2.5;
                     write_npy(d + "/lab.npy", make_raw<double>(y.data(), {60}));
                     return labelled_idx(d, "lab.npy");
                 },
                 {"{d}/lab.npy: label at row 7 is 2.5, not a non-negative integer"}});
    c.push_back({"data_path_is_a_symlink_loop", 1,
                 [](const std::string& d) {
                     make_symlink_loop(d + "/data.npy");
                     return with_config(d, config_yaml("npy", d + "/data.npy"));
                 },
                 {"{d}/data.npy: ", "Too many levels of symbolic links", "loop"}});
    c.push_back({"csv_path_is_a_symlink_loop", 1,
                 [](const std::string& d) {
                     make_symlink_loop(d + "/data.csv");
                     return with_config(d, config_yaml("csv", d + "/data.csv"));
                 },
                 {"{d}/data.csv: ", "Too many levels of symbolic links", "loop"}});
    c.push_back({"labels_path_is_a_symlink_loop", 1,
                 [](const std::string& d) {
                     make_symlink_loop(d + "/lab.idx");
                     return labelled_idx(d, "lab.idx");
                 },
                 {"{d}/lab.idx: ", "Too many levels of symbolic links", "loop"}});
    c.push_back({"config_is_a_symlink_loop", 2,
                 [](const std::string& d) {
                     make_symlink_loop(d + "/c.yaml");
                     return "--config " + d + "/c.yaml --out " + d + "/run";
                 },
                 {"{d}/c.yaml: ", "Too many levels of symbolic links", "loop"}});
    c.push_back({"labels_path_is_a_directory", 1,
                 [](const std::string& d) {
                     fs::create_directories(d + "/lab.idx");
                     return labelled_idx(d, "lab.idx");
                 },
                 {"{d}/lab.idx: is a directory"}});
    c.push_back({"csv_path_is_a_directory", 1,
                 [](const std::string& d) {
                     fs::create_directories(d + "/data.csv");
                     return with_config(d, config_yaml("csv", d + "/data.csv"));
                 },
                 {"{d}/data.csv: is a directory"}});

    // ---- 5. headers that claim more than the file holds ----
    c.push_back({"idx_gzip_header_claims_more_rows_than_the_stream", 1,
                 [](const std::string& d) {
                     // Incompressible, so that deflate's 1032:1 limit does not refuse it first.
                     gzip_file(d + "/img.idx.gz", idx_header(0x08, {6000, 4, 4}) + random_bytes(960, 2));
                     return with_config(d, config_yaml("idx", d + "/img.idx.gz"));
                 },
                 {"{d}/img.idx.gz: truncated: header says 96000 bytes of data", "the gzip stream holds 960"}});
    c.push_back({"npy_header_claims_more_rows_than_the_file", 1,
                 [](const std::string& d) {
                     spit(d + "/data.npy", npy_zeros("<f8", "(6000, 8)", 120 * 8 * 8));
                     return with_config(d, config_yaml("npy", d + "/data.npy"));
                 },
                 {"{d}/data.npy: truncated", "needs 384000 bytes of data, file holds 7680"}});
    c.push_back({"labels_idx_header_claims_more_rows_than_the_file", 1,
                 [](const std::string& d) {
                     spit(d + "/lab.idx", idx_header(0x08, {6000}) + std::string(60, '\x01'));
                     return labelled_idx(d, "lab.idx");
                 },
                 {"{d}/lab.idx: truncated: header says 6000 bytes of data", "file holds 60"}});
    c.push_back({"labels_gzip_header_claims_more_rows_than_the_stream", 1,
                 [](const std::string& d) {
                     gzip_file(d + "/lab.idx.gz", idx_header(0x08, {6000}) + std::string(60, '\x01'));
                     return labelled_idx(d, "lab.idx.gz");
                 },
                 {"{d}/lab.idx.gz: truncated: header says 6000 bytes of data", "the gzip stream holds 60"}});
    return c;
}

class HostileInputs : public ::testing::TestWithParam<Hostile> {};

TEST_P(HostileInputs, OneErrorLineNoHangNothingWritten) {
    const Hostile& c = GetParam();
    const std::string d = scratch("hostile_" + c.name);
    std::string args;
    ASSERT_NO_THROW(args = c.setup(d));
    expect_clean_failure(args, d, c.code, c.expect);
}

INSTANTIATE_TEST_SUITE_P(Cli, HostileInputs, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Hostile>& info) { return info.param.name; });

}  // namespace

// ---- 1. a FIFO where a run directory's file should be ------------------------------

// --resume reads checkpoint.bin after it has checked the data: a FIFO there
// must not block either, and the run's parameters stay as they were.
TEST(HostileInputs, ResumeWithACheckpointThatIsAFifo) {
    const std::string d = scratch("hostile_resume_fifo");
    write_data_npy(d + "/data.npy");
    spit(d + "/c.yaml", config_yaml("npy", d + "/data.npy"));
    const auto ok = run_train("--config " + d + "/c.yaml --out " + d + "/run --quiet", d, kTimeoutSeconds);
    ASSERT_EQ(ok.code, 0) << ok.err;
    const std::string W = slurp(d + "/run/W.npy");
    fs::remove(d + "/run/checkpoint.bin");
    make_fifo(d + "/run/checkpoint.bin");

    const auto r = run_train("--resume " + d + "/run --set train.epochs=4", d, kTimeoutSeconds);
    SCOPED_TRACE("stderr: " + r.err);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(count_lines(r.err), 1);
    EXPECT_NE(r.err.find(d + "/run/checkpoint.bin: not a regular file (a FIFO)"), std::string::npos);
    EXPECT_EQ(slurp(d + "/run/W.npy"), W);
}

// ---- 2. gzip: never inflated past what the header declares --------------------------

// A header that claims far more than the stream holds costs only what the
// stream holds: the buffer is not filled (and its memory not touched) ahead
// of the data. Here 1 GiB claimed, 2 MiB present (incompressible, so within
// deflate's 1032:1), the size trailer forged to agree with the header (zlib
// finds the forgery at the stream's end).
TEST(HostileInputs, GzipHeaderThatLiesCostsOnlyWhatTheStreamHolds) {
    const std::string d = scratch("hostile_gzip_liar");
    const std::string content = idx_header(0x08, {1024, 1024, 1024}) + random_bytes(2 << 20, 9);
    const std::string gz = d + "/img.idx.gz";
    gzip_file(gz, content, "wb1");
    std::string bytes = slurp(gz);
    const std::uint32_t isize = static_cast<std::uint32_t>((std::uint64_t{1} << 30) + 16);  // ISIZE is mod 2^32
    for (int k = 0; k < 4; ++k) bytes[bytes.size() - 4 + k] = static_cast<char>((isize >> (8 * k)) & 0xFF);
    write_file(gz, bytes);

    const std::uint64_t before = peak_rss();
    try {
        read_idx(gz);
        ADD_FAILURE() << "read_idx accepted a header that claims 1 GiB of 2 MiB";
    } catch (const DataError& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.rfind(gz + ": corrupt gzip data", 0), 0u) << msg;
    }
    const std::uint64_t grew = peak_rss() - before;
    if (!kSanitized) {
        EXPECT_LT(grew, std::uint64_t{128} << 20) << "peak memory grew by " << grew << " bytes";
    }
}

// A gzip bomb behind a true header: inflation stops one byte after the data
// the header declares, so 128 MiB of zeros cost neither time nor memory.
TEST(HostileInputs, GzipBombIsNotInflatedPastTheHeader) {
    const std::string d = scratch("hostile_gzip_bomb");
    const std::string gz = d + "/img.idx.gz";
    gzFile f = gzopen(gz.c_str(), "wb9");
    ASSERT_NE(f, nullptr);
    const std::string head = idx_header(0x08, {60, 4, 4}) + std::string(960, '\x07');
    gzwrite(f, head.data(), static_cast<unsigned>(head.size()));
    const std::string zeros(1u << 20, '\0');
    for (int i = 0; i < 128; ++i) gzwrite(f, zeros.data(), static_cast<unsigned>(zeros.size()));
    ASSERT_EQ(gzclose(f), Z_OK);

    const auto start = std::chrono::steady_clock::now();
    const std::uint64_t before = peak_rss();
    try {
        read_idx(gz);
        ADD_FAILURE() << "read_idx accepted a stream longer than its header";
    } catch (const DataError& e) {
        EXPECT_NE(std::string(e.what()).find(gz + ": trailing bytes after the 960 bytes of data the header declares"),
                  std::string::npos)
            << e.what();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 1.0);
    if (!kSanitized) {
        EXPECT_LT(peak_rss() - before, std::uint64_t{16} << 20);
    }
}

// A header that claims more than this machine's memory can hold (but less than
// the 16 GiB limit, and no more than deflate could expand the file to) is
// refused up front, by the header alone.
TEST(HostileInputs, GzipClaimingMoreThanMemoryIsRefusedUpFront) {
    const std::uint64_t claim = std::uint64_t{15} << 30;
    if (physical_memory() / 2 >= claim) GTEST_SKIP() << "this machine could hold 15 GiB";
    const std::string d = scratch("hostile_gzip_memory");
    gzip_file(d + "/img.idx.gz", idx_header(0x08, {15, 1024, 1024 * 1024}) + std::string(16, '\x01'));
    // Padding after the member (ignored by gunzip): a file large enough for deflate's 1032:1 to reach 15 GiB.
    sparse_file(d + "/img.idx.gz", slurp(d + "/img.idx.gz"), claim / 1000);
    expect_clean_failure(with_config(d, config_yaml("idx", d + "/img.idx.gz")), d, 1,
                         {"{d}/img.idx.gz: ", "header says 16106127360 bytes of data", "memory"});
}

// ---- 3. multi-member gzip is the concatenation of its members ------------------------

TEST(HostileInputs, MultiMemberGzipReadsAsTheConcatenation) {
    const std::string d = scratch("hostile_multi_member");
    write_idx(d + "/img.idx", u8_images(60));
    const std::string plain = slurp(d + "/img.idx");
    const RawTensor want = read_idx(d + "/img.idx");
    // Cuts inside the magic, inside the dimensions, at the data's start, in the
    // data, one byte before the end; three members; an empty member.
    const std::vector<std::vector<std::size_t>> splits = {{1}, {6}, {16}, {500}, {plain.size() - 1}, {100, 700},
                                                          {300, 300}};
    for (const auto& cuts : splits) {
        SCOPED_TRACE("cuts at " + std::to_string(cuts[0]) + (cuts.size() > 1 ? "," + std::to_string(cuts[1]) : ""));
        write_file(d + "/img.idx.gz", multi_member_gzip(plain, cuts, d + "/part.gz"));
        RawTensor got;
        ASSERT_NO_THROW(got = read_idx(d + "/img.idx.gz"));
        EXPECT_EQ(got.dtype, want.dtype);
        EXPECT_EQ(got.shape, want.shape);
        EXPECT_TRUE(got.bytes == want.bytes);
    }
    // Still refused: a member that cuts off inside its own stream.
    std::string bad = multi_member_gzip(plain, {500}, d + "/part.gz");
    std::string first = multi_member_gzip(plain.substr(0, 500), {}, d + "/part.gz");
    write_file(d + "/img.idx.gz", first.substr(0, first.size() - 6) + bad.substr(first.size()));
    EXPECT_THROW(read_idx(d + "/img.idx.gz"), DataError);
}

TEST(HostileInputs, MultiMemberGzipTrainsLikeThePlainFile) {
    const std::string d = scratch("hostile_multi_member_train");
    write_idx(d + "/img.idx", u8_images(120));
    const std::string plain = slurp(d + "/img.idx");
    write_file(d + "/img.idx.gz", multi_member_gzip(plain, {plain.size() / 2}, d + "/part.gz"));
    spit(d + "/plain.yaml", config_yaml("idx", d + "/img.idx"));
    spit(d + "/gz.yaml", config_yaml("idx", d + "/img.idx.gz"));
    const auto a = run_train("--config " + d + "/plain.yaml --out " + d + "/a --quiet", d, kTimeoutSeconds);
    ASSERT_EQ(a.code, 0) << a.err;
    const auto b = run_train("--config " + d + "/gz.yaml --out " + d + "/b --quiet", d, kTimeoutSeconds);
    ASSERT_EQ(b.code, 0) << b.err;
    EXPECT_TRUE(slurp(d + "/a/W.npy") == slurp(d + "/b/W.npy")) << "W.npy differs between the plain and the gzip file";
}

// ---- 5. counts in a checkpoint --------------------------------------------------------

// L-BFGS's history in checkpoint.bin: each pair's length is a count read from
// the file, checked against the bytes the file still holds before the pair is
// allocated (a corrupt count asked for 2 x 64 GiB and ended in bad_alloc,
// "out of memory", without naming the file).
TEST(HostileInputs, LbfgsCheckpointHistoryCountThatLies) {
    std::ostringstream out(std::ios::binary);
    const auto put = [&](auto v) { out.write(reinterpret_cast<const char*>(&v), sizeof v); };
    put(std::int64_t{3});              // iterations
    put(std::int64_t{7});              // evaluations
    put(1.0);                          // last step
    put(std::uint64_t{1});             // one (s, y) pair
    put(std::uint64_t{1} << 33);       // of 2^33 doubles each...
    out << std::string(64, '\0');      // ...in 64 bytes
    std::istringstream in(out.str(), std::ios::binary);
    Lbfgs<double> opt(LbfgsOptions{});
    const std::uint64_t before = peak_rss();
    try {
        opt.load_state(in, std::size_t{1} << 33);  // a model that size: only the bytes can refuse it
        ADD_FAILURE() << "load_state accepted a history of 2^33 doubles in 64 bytes";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    } catch (const std::bad_alloc&) {
        ADD_FAILURE() << "load_state allocated what the count claims before checking it";
    }
    if (!kSanitized) {
        EXPECT_LT(peak_rss() - before, std::uint64_t{16} << 20);
    }
}
