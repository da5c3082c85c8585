// Hostile input to the readers, end to end (issue "Reliability II"): special
// files (FIFOs, devices), files too large to read or to hold, gzip bombs and
// multi-member gzip, symlink loops, label values, and headers that claim more
// than the file holds. The rule of test_bad_inputs.cpp holds for each case:
//   - exit code 1 (data/IO) or 2 (config), never a signal;
//   - stderr is exactly one line, naming the file;
//   - nothing is written: the run directory does not exist afterwards;
// and here also: never a hang (every run is bounded by a timeout; a reader
// blocked in open() on a FIFO would otherwise hang the suite) and never more
// memory than the data the file really holds.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "latentlab/core/error.hpp"
#include "latentlab/io/idx.hpp"
#include "latentlab/io/npy.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;
namespace fs = std::filesystem;

namespace {

// Every run here ends in well under a second; a run still going after this
// long is hanging (it is killed, and its code is then not the expected one).
constexpr int kTimeoutSeconds = 20;

// ---- files -------------------------------------------------------------------------

// A small autoencoder run on `path` (data.source `source`), with `labels` if given.
std::string config_yaml(const std::string& source, const std::string& path, const std::string& labels = "") {
    return "seed: 1\n"
           "data:\n"
           "  source: " + source + "\n"
           "  path: " + path + "\n" +
           (labels.empty() ? "" : "  labels: " + labels + "\n") +
           "model:\n"
           "  latent_dim: 3\n"
           "  dtype: float64\n"
           "optim:\n"
           "  type: adam\n"
           "  lr: 0.01\n"
           "train:\n"
           "  epochs: 2\n"
           "  batch_size: 20\n"
           "  threads: 1\n";
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

    // ---- 4. messages that must be right ----
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
