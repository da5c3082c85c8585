// Bad inputs, end to end: each case runs the real `train` binary on one
// malformed config, data file, flag or run directory, and checks what a user
// sees and what is left on disk (reliability):
//   - the exit code is the documented one (1 data/IO, 2 usage/config,
//     3 numerical): non-zero and below 128, so never a signal;
//   - stderr is exactly one line, and it names the file (and line) or the key;
//   - the run directory does not exist, or holds only complete files: no
//     *.tmp.* leftovers, every .npy loads (W.npy finite), checkpoint.bin ends
//     with its end marker, metrics.csv has whole rows, config.yaml parses.
// One parameterised test per case, so ctest runs (and reports) each alone.
//
// GPLVM cases are added with the GPLVM model:
//   TODO(gplvm): "q >= N"  (model.latent_dim not below the number of samples)
//   TODO(gplvm): "kernel matrix not positive definite beyond jitter"
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "latentlab/config/config.hpp"
#include "latentlab/io/idx.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/core/error.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;
namespace fs = std::filesystem;

namespace {

// ---- files a case can ask for ------------------------------------------------

constexpr std::size_t kRows = 120, kDim = 8;

void write_data_npy(const std::string& path) {
    const auto X = randn(kRows * kDim, 1.0, 5);
    write_npy(path, make_raw<double>(X.data(), {kRows, kDim}));
}

RawTensor u8_tensor(std::vector<std::size_t> shape, std::uint8_t modulo) {
    RawTensor t;
    t.dtype = DType::u8;
    t.shape = std::move(shape);
    t.bytes.resize(t.size());
    for (std::size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = static_cast<unsigned char>((i * 37 + 11) % modulo);
    return t;
}

// The base config (line numbers matter to the expectations below: test_util.hpp).
std::string base_yaml(const std::string& source, const std::string& path) { return small_run_yaml(source, path); }

// `text` with the first `from` replaced by `to` (the case must match).
std::string edit(std::string text, const std::string& from, const std::string& to) {
    const auto at = text.find(from);
    if (at == std::string::npos) throw std::logic_error("edit: '" + from + "' not in the config");
    return text.replace(at, from.size(), to);
}

std::string npy_config(const std::string& d) { return base_yaml("npy", d + "/data.npy"); }

// Writes the config and returns the usual arguments: --config c.yaml --out run.
std::string with_config(const std::string& d, const std::string& yaml, const std::string& more = "") {
    spit(d + "/c.yaml", yaml);
    return "--config " + d + "/c.yaml --out " + d + "/run" + (more.empty() ? "" : " " + more);
}

// Trains a small complete run in d/run (for the --resume cases).
void make_run(const std::string& d) {
    write_data_npy(d + "/data.npy");
    spit(d + "/ok.yaml", npy_config(d));
    const auto r = run_train("--config " + d + "/ok.yaml --out " + d + "/run --quiet", d);
    ASSERT_EQ(r.code, 0) << r.err;
}

// ---- the cases -------------------------------------------------------------------

enum class Out {
    absent,    // d/run must not exist afterwards
    complete,  // d/run may exist, holding only complete files
};

struct BadInput {
    std::string name;
    int code;                                               // expected exit code
    std::function<std::string(const std::string&)> setup;   // writes files in d; returns train's arguments
    std::vector<std::string> expect;                        // in the error line; "{d}" is the scratch dir
    Out out = Out::absent;
    std::function<void(const std::string&)> extra = {};     // more checks on d
    std::string corrupted = "";                             // a run file the case broke on purpose
};

std::ostream& operator<<(std::ostream& os, const BadInput& c) { return os << c.name; }

std::string truncated_npy(const std::string& d) {
    write_data_npy(d + "/data.npy");
    std::string bytes = slurp(d + "/data.npy");
    spit(d + "/data.npy", bytes.substr(0, bytes.size() - 100));
    return with_config(d, npy_config(d));
}

std::string nonfinite_npy(const std::string& d, double value) {
    auto X = randn(kRows * kDim, 1.0, 5);
    X[7 * kDim + 2] = value;  // row 7, column 2
    write_npy(d + "/data.npy", make_raw<double>(X.data(), {kRows, kDim}));
    return with_config(d, npy_config(d));
}

std::string csv_config(const std::string& d, const std::string& csv) {
    spit(d + "/data.csv", csv);
    return with_config(d, base_yaml("csv", d + "/data.csv"));
}

// A CSV of 40 rows × 5 columns, with `row_text` as the file's line `line`.
std::string csv_with_line(std::size_t line, const std::string& row_text) {
    std::string csv = "a,b,c,d,e\n";  // a header (line 1)
    for (std::size_t l = 2; l <= 41; ++l)
        csv += l == line ? row_text + "\n" : std::to_string(l) + ",1.5,-2,3e-1,0.25\n";
    return csv;
}

std::string idx_config(const std::string& d, const std::string& file, const std::string& labels = "") {
    std::string y = base_yaml("idx", d + "/" + file);
    if (!labels.empty()) y = edit(y, "model:\n", "  labels: " + d + "/" + labels + "\nmodel:\n");
    return with_config(d, y);
}

std::vector<BadInput> cases() {
    std::vector<BadInput> c;
    auto cfg = [](const std::string& name, std::function<std::string(std::string)> yaml,
                  std::vector<std::string> expect, int code = 2) {
        return BadInput{name, code,
                        [yaml](const std::string& d) {
                            write_data_npy(d + "/data.npy");
                            return with_config(d, yaml(d));
                        },
                        std::move(expect)};
    };

    // ---- the config file ----
    c.push_back(cfg("yaml_syntax_error",
                    [](auto d) { return edit(npy_config(d), "  lr: 0.01\n", "  lr: [0.01\n"); },
                    {"{d}/c.yaml:", "YAML syntax error"}));
    c.push_back(cfg("yaml_tab_indentation",
                    [](auto d) { return edit(npy_config(d), "  lr: 0.01\n", "\tlr: 0.01\n"); },
                    {"{d}/c.yaml:10", "YAML syntax error"}));
    // yaml-cpp 0.7's LoadAll never returns on these (it collected empty
    // documents until memory ran out): found by fuzzing.
    c.push_back(cfg("yaml_stray_comma_at_start", [](auto d) { return ", " + npy_config(d); },
                    {"{d}/c.yaml:1:1", "YAML syntax error", "unexpected ','"}));
    c.push_back(cfg("yaml_stray_comma_after_flow_mapping", [](auto) { return std::string("{seed: 1},\n"); },
                    {"{d}/c.yaml:1:10", "YAML syntax error", "unexpected ','"}));
    c.push_back({"set_value_stray_comma", 2,
                 [](const std::string& d) {
                     write_data_npy(d + "/data.npy");
                     return with_config(d, npy_config(d), "--set output.dir=,x");
                 },
                 {"--set output.dir=,x", "YAML syntax error in the value", "unexpected ','"}});
    c.push_back(cfg("unknown_key_with_suggestion",
                    [](auto d) { return edit(npy_config(d), "  lr: 0.01", "  lrate: 0.01"); },
                    {"{d}/c.yaml:10", "unknown key 'optim.lrate'", "did you mean 'optim.lr'?"}));
    c.push_back(cfg("unknown_section_with_suggestion",
                    [](auto d) { return edit(npy_config(d), "optim:", "optimiser:"); },
                    {"{d}/c.yaml:8", "unknown section 'optimiser'", "did you mean 'optim'?"}));
    c.push_back(cfg("duplicate_key",
                    [](auto d) { return edit(npy_config(d), "  batch_size: 20\n", "  batch_size: 20\n  epochs: 3\n"); },
                    {"{d}/c.yaml:14", "duplicate key 'train.epochs'", "first at line 12"}));
    c.push_back(cfg("wrong_type_string_for_integer",
                    [](auto d) { return edit(npy_config(d), "epochs: 2", "epochs: many"); },
                    {"{d}/c.yaml:12", "train.epochs", "expected an integer", "'many'"}));
    c.push_back(cfg("wrong_type_fraction_for_integer",
                    [](auto d) { return edit(npy_config(d), "batch_size: 20", "batch_size: 2.5"); },
                    {"{d}/c.yaml:13", "train.batch_size", "expected an integer"}));
    c.push_back(cfg("wrong_type_sequence_for_number",
                    [](auto d) { return edit(npy_config(d), "lr: 0.01", "lr: [0.01, 0.1]"); },
                    {"{d}/c.yaml:10", "optim.lr", "expected a number, got a sequence"}));
    c.push_back(cfg("negative_learning_rate",
                    [](auto d) { return edit(npy_config(d), "lr: 0.01", "lr: -0.01"); },
                    {"{d}/c.yaml:10", "optim.lr must be > 0", "-0.01"}));
    c.push_back(cfg("zero_learning_rate",
                    [](auto d) { return edit(npy_config(d), "lr: 0.01", "lr: 0"); },
                    {"{d}/c.yaml:10", "optim.lr must be > 0"}));
    c.push_back(cfg("nan_learning_rate",
                    [](auto d) { return edit(npy_config(d), "lr: 0.01", "lr: .nan"); },
                    {"{d}/c.yaml:10", "optim.lr must be a finite number"}));
    c.push_back(cfg("batch_size_zero",
                    [](auto d) { return edit(npy_config(d), "batch_size: 20", "batch_size: 0"); },
                    {"{d}/c.yaml:13", "train.batch_size must be >= 1"}));
    c.push_back(cfg("latent_dim_not_below_dimension",
                    [](auto d) { return edit(npy_config(d), "latent_dim: 3", "latent_dim: 8"); },
                    {"model.latent_dim", "must be smaller than the data dimension 8"}));
    c.push_back(cfg("unknown_enum_value",
                    [](auto d) { return edit(npy_config(d), "type: adam", "type: adamw"); },
                    {"{d}/c.yaml:9", "optim.type must be one of", "'adamw'"}));
    c.push_back(cfg("top_level_not_a_mapping", [](auto) { return std::string("- optim\n- lr\n"); },
                    {"{d}/c.yaml:1", "expected a mapping"}));
    c.push_back(cfg("two_yaml_documents", [](auto d) { return npy_config(d) + "---\nseed: 2\n"; },
                    {"{d}/c.yaml:", "expected one YAML document"}));
    c.push_back(cfg("empty_config_file", [](auto) { return std::string(); }, {"{d}/c.yaml", "empty"}));
    c.push_back(cfg("comments_only_config_file", [](auto) { return std::string("# nothing here\n\n"); },
                    {"{d}/c.yaml", "empty"}));
    c.push_back(cfg("binary_file_as_config",
                    [](auto) {
                        std::string b;
                        for (int i = 0; i < 1024; ++i) b += static_cast<char>((i * 131 + 7) & 0xFF);
                        return b;
                    },
                    {"{d}/c.yaml", "not a YAML config: binary data"}));
    c.push_back(cfg("invalid_utf8_key",
                    [](auto d) { return edit(npy_config(d), "  lr: 0.01", "  l\xff\xfer: 0.01"); },
                    {"{d}/c.yaml:10", "unknown key 'optim.l\\xff\\xfer'"}));
    c.push_back(cfg("data_path_missing_for_npy",
                    [](auto d) { return edit(npy_config(d), "  path: " + d + "/data.npy\n", ""); },
                    {"data.path", "required"}));
    c.push_back({"config_file_missing", 2, [](const std::string& d) { return "--config " + d + "/nope.yaml --out " + d + "/run"; },
                 {"{d}/nope.yaml", "No such file"}});
    c.push_back({"config_is_a_directory", 2, [](const std::string& d) { return "--config " + d + " --out " + d + "/run"; },
                 {"{d}", "is a directory"}});

    // ---- flags ----
    c.push_back({"no_arguments", 2, [](const std::string&) { return std::string(); }, {"--config"}});
    c.push_back({"config_flag_without_value", 2, [](const std::string&) { return std::string("--config"); },
                 {"--config"}});
    c.push_back({"unknown_flag", 2, [](const std::string& d) { return with_config(d, npy_config(d), "--bogus"); },
                 {"--bogus"}});
    c.push_back({"set_unknown_key", 2,
                 [](const std::string& d) {
                     write_data_npy(d + "/data.npy");
                     return with_config(d, npy_config(d), "--set optim.lrr=0.1");
                 },
                 {"--set optim.lrr=0.1", "unknown key 'optim.lrr'", "did you mean 'optim.lr'"}});
    c.push_back({"set_wrong_type", 2,
                 [](const std::string& d) {
                     write_data_npy(d + "/data.npy");
                     return with_config(d, npy_config(d), "--set train.epochs=ten");
                 },
                 {"--set train.epochs=ten", "expected an integer"}});

    // ---- data files ----
    c.push_back({"data_file_missing", 1, [](const std::string& d) { return with_config(d, npy_config(d)); },
                 {"{d}/data.npy", "no such file"}});
    c.push_back({"data_file_is_a_directory", 1,
                 [](const std::string& d) {
                     fs::create_directories(d + "/data.npy");
                     return with_config(d, npy_config(d));
                 },
                 {"{d}/data.npy", "is a directory"}});
    c.push_back({"data_file_empty", 1,
                 [](const std::string& d) {
                     spit(d + "/data.npy", "");
                     return with_config(d, npy_config(d));
                 },
                 {"{d}/data.npy", "empty file"}});
    c.push_back({"idx_wrong_magic", 1,
                 [](const std::string& d) {
                     spit(d + "/img.idx", "\x01\x02\x08\x03" + be32(60) + be32(4) + be32(4) + std::string(960, '\x05'));
                     return idx_config(d, "img.idx");
                 },
                 {"{d}/img.idx", "wrong magic"}});
    c.push_back({"idx_npy_given_as_idx", 1,
                 [](const std::string& d) {
                     write_data_npy(d + "/img.idx");
                     return idx_config(d, "img.idx");
                 },
                 {"{d}/img.idx", "looks like a .npy file"}});
    c.push_back({"idx_truncated_header", 1,
                 [](const std::string& d) {
                     spit(d + "/img.idx", idx_header(0x08, {60, 4, 4}).substr(0, 9));
                     return idx_config(d, "img.idx");
                 },
                 {"{d}/img.idx", "truncated"}});
    c.push_back({"idx_truncated_data", 1,
                 [](const std::string& d) {
                     write_idx(d + "/img.idx", u8_tensor({60, 4, 4}, 251));
                     const std::string b = slurp(d + "/img.idx");
                     spit(d + "/img.idx", b.substr(0, b.size() - 17));
                     return idx_config(d, "img.idx");
                 },
                 {"{d}/img.idx", "truncated", "header says 960 bytes", "file holds 943"}});
    c.push_back({"idx_header_claims_more_than_file", 1,
                 [](const std::string& d) {
                     spit(d + "/img.idx", idx_header(0x08, {6000, 4, 4}) + std::string(960, '\x05'));
                     return idx_config(d, "img.idx");
                 },
                 {"{d}/img.idx", "header says 96000 bytes", "file holds 960"}});
    c.push_back({"idx_header_claims_absurd_size", 1,
                 [](const std::string& d) {
                     // 2^32-1 x 2^32-1 u8 (~1.8e19 bytes) in a 32-byte file: refused before allocating.
                     spit(d + "/img.idx", idx_header(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu}) + std::string(20, '\x05'));
                     return idx_config(d, "img.idx");
                 },
                 {"{d}/img.idx", "truncated: header says 18446744065119617025 bytes"}});
    c.push_back({"idx_header_size_overflows", 1,
                 [](const std::string& d) {
                     spit(d + "/img.idx", idx_header(0x0E, {0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}) + std::string(20, '\x05'));
                     return idx_config(d, "img.idx");
                 },
                 {"{d}/img.idx", "overflow"}});
    c.push_back({"idx_gzip_claims_absurd_size", 1,
                 [](const std::string& d) {
                     gzip_file(d + "/img.idx.gz", idx_header(0x08, {0xFFFFFFFFu, 0xFFFFFFFFu}) + std::string(20, '\x05'));
                     return idx_config(d, "img.idx.gz");
                 },
                 {"{d}/img.idx.gz", "16 GiB"}});
    c.push_back({"idx_corrupt_gzip", 1,
                 [](const std::string& d) {
                     // Incompressible data so that flipped bytes land in the deflate stream.
                     std::string raw = idx_header(0x08, {60, 4, 4});
                     std::mt19937 rng(3);
                     for (int i = 0; i < 960; ++i) raw += static_cast<char>(rng() & 0xFF);
                     gzip_file(d + "/img.idx.gz", raw);
                     std::string b = slurp(d + "/img.idx.gz");
                     for (std::size_t i = 200; i < 240; ++i) b[i] = static_cast<char>(b[i] ^ 0x5A);
                     spit(d + "/img.idx.gz", b);
                     return idx_config(d, "img.idx.gz");
                 },
                 {"{d}/img.idx.gz", "gzip"}});
    c.push_back({"idx_truncated_gzip", 1,
                 [](const std::string& d) {
                     std::string raw = idx_header(0x08, {60, 4, 4});
                     std::mt19937 rng(4);
                     for (int i = 0; i < 960; ++i) raw += static_cast<char>(rng() & 0xFF);
                     gzip_file(d + "/img.idx.gz", raw);
                     const std::string b = slurp(d + "/img.idx.gz");
                     spit(d + "/img.idx.gz", b.substr(0, b.size() / 2));
                     return idx_config(d, "img.idx.gz");
                 },
                 {"{d}/img.idx.gz", "truncated"}});
    c.push_back({"images_and_labels_counts_differ", 1,
                 [](const std::string& d) {
                     write_idx(d + "/img.idx", u8_tensor({60, 4, 4}, 251));
                     write_idx(d + "/lab.idx", u8_tensor({50}, 10));
                     return idx_config(d, "img.idx", "lab.idx");
                 },
                 {"{d}/lab.idx", "50 labels for 60 samples"}});
    c.push_back({"labels_file_missing", 1,
                 [](const std::string& d) {
                     write_idx(d + "/img.idx", u8_tensor({60, 4, 4}, 251));
                     return idx_config(d, "img.idx", "lab.idx");
                 },
                 {"{d}/lab.idx", "no such file"}});
    c.push_back({"csv_ragged_row", 1, [](const std::string& d) { return csv_config(d, csv_with_line(17, "1,2,3,4")); },
                 {"{d}/data.csv:17", "row has 4 cells, expected 5"}});
    c.push_back({"csv_non_numeric_cell", 1,
                 [](const std::string& d) { return csv_config(d, csv_with_line(23, "1,2,three,4,5")); },
                 {"{d}/data.csv:23", "column 3", "'three' is not a number"}});
    c.push_back({"csv_nan_cell", 1, [](const std::string& d) { return csv_config(d, csv_with_line(9, "1,2,3,nan,5")); },
                 {"{d}/data.csv:9", "column 4", "NaN"}});
    c.push_back({"csv_inf_cell", 1, [](const std::string& d) { return csv_config(d, csv_with_line(30, "-inf,2,3,4,5")); },
                 {"{d}/data.csv:30", "column 1", "Inf"}});
    c.push_back({"csv_header_only", 1, [](const std::string& d) { return csv_config(d, "a,b,c\n"); },
                 {"{d}/data.csv", "no data rows"}});
    c.push_back({"npy_nan", 1, [](const std::string& d) { return nonfinite_npy(d, std::nan("")); },
                 {"{d}/data.npy", "NaN in data at sample 7, column 2 (0-based"}});
    c.push_back({"npy_inf", 1,
                 [](const std::string& d) { return nonfinite_npy(d, std::numeric_limits<double>::infinity()); },
                 {"{d}/data.npy", "Inf in data at sample 7, column 2 (0-based"}});
    c.push_back({"npy_wrong_dtype_complex", 1,
                 [](const std::string& d) {
                     spit(d + "/data.npy", npy_zeros("<c8", "(10, 4)", 320));
                     return with_config(d, npy_config(d));
                 },
                 {"{d}/data.npy", "unsupported dtype '<c8'"}});
    c.push_back({"npy_wrong_dtype_string", 1,
                 [](const std::string& d) {
                     spit(d + "/data.npy", npy_zeros("<U3", "(10, 4)", 480));
                     return with_config(d, npy_config(d));
                 },
                 {"{d}/data.npy", "unsupported dtype '<U3'"}});
    c.push_back({"npy_rank_1", 1,
                 [](const std::string& d) {
                     const auto x = randn(50, 1.0, 1);
                     write_npy(d + "/data.npy", make_raw<double>(x.data(), {50}));
                     return with_config(d, npy_config(d));
                 },
                 {"{d}/data.npy", "rank"}});
    c.push_back({"npy_scalar", 1,
                 [](const std::string& d) {
                     spit(d + "/data.npy", npy_zeros("<f8", "()", 8));
                     return with_config(d, npy_config(d));
                 },
                 {"{d}/data.npy", "scalar"}});
    c.push_back({"npy_truncated", 1, truncated_npy, {"{d}/data.npy", "truncated"}});
    c.push_back({"npy_fortran_order", 1,
                 [](const std::string& d) {
                     std::string b = npy_zeros("<f8", "(10, 4)", 320);
                     b = edit(b, "False", "True ");
                     spit(d + "/data.npy", b);
                     return with_config(d, npy_config(d));
                 },
                 {"{d}/data.npy", "fortran_order"}});
    c.push_back({"npy_no_samples", 1,
                 [](const std::string& d) {
                     spit(d + "/data.npy", npy_zeros("<f8", "(0, 4)", 0));
                     return with_config(d, npy_config(d));
                 },
                 {"{d}/data.npy", "no samples"}});

    // ---- numerics ----
    c.push_back({"diverging_learning_rate", 3,
                 [](const std::string& d) {
                     write_data_npy(d + "/data.npy");
                     std::string y = edit(npy_config(d), "type: adam", "type: sgd");
                     return with_config(d, edit(y, "lr: 0.01", "lr: 500"), "--set train.epochs=5");
                 },
                 {"diverged", "lr 500"},
                 Out::complete,
                 [](const std::string& d) {
                     ASSERT_TRUE(fs::exists(d + "/run/W.npy"));  // the last good parameters
                     EXPECT_NE(slurp(d + "/run/summary.json").find("\"status\": \"diverged\""), std::string::npos);
                 }});

    // ---- the run directory ----
    c.push_back({"out_dir_below_a_regular_file", 1,
                 [](const std::string& d) {
                     write_data_npy(d + "/data.npy");
                     spit(d + "/afile", "x");
                     spit(d + "/c.yaml", npy_config(d));
                     return "--config " + d + "/c.yaml --out " + d + "/afile/run";
                 },
                 {"{d}/afile/run", "Not a directory"},
                 Out::absent,
                 [](const std::string& d) { EXPECT_EQ(slurp(d + "/afile"), "x"); }});
    c.push_back({"out_dir_is_a_regular_file", 1,
                 [](const std::string& d) {
                     write_data_npy(d + "/data.npy");
                     spit(d + "/afile", "x");
                     spit(d + "/c.yaml", npy_config(d));
                     return "--config " + d + "/c.yaml --out " + d + "/afile";
                 },
                 {"{d}/afile"},
                 Out::absent,
                 [](const std::string& d) { EXPECT_EQ(slurp(d + "/afile"), "x"); }});
    c.push_back({"output_dir_key_below_a_regular_file", 1,
                 [](const std::string& d) {
                     write_data_npy(d + "/data.npy");
                     spit(d + "/afile", "x");
                     spit(d + "/c.yaml", npy_config(d) + "output:\n  dir: " + d + "/afile/run\n");
                     return "--config " + d + "/c.yaml";
                 },
                 {"{d}/afile/run", "Not a directory"}});
    c.push_back({"resume_of_a_missing_directory", 1, [](const std::string& d) { return "--resume " + d + "/run"; },
                 {"{d}/run", "no such run directory"}});
    c.push_back({"resume_of_a_directory_that_is_not_a_run", 1,
                 [](const std::string& d) {
                     fs::create_directories(d + "/run");
                     spit(d + "/run/notes.txt", "hello");
                     return "--resume " + d + "/run";
                 },
                 {"{d}/run", "not a run directory"},
                 Out::complete});
    c.push_back({"resume_of_a_regular_file", 1,
                 [](const std::string& d) {
                     spit(d + "/run", "x");
                     return "--resume " + d + "/run";
                 },
                 {"{d}/run"},
                 Out::complete});
    c.push_back({"resume_with_truncated_checkpoint", 1,
                 [](const std::string& d) {
                     make_run(d);
                     const std::string b = slurp(d + "/run/checkpoint.bin");
                     spit(d + "/run/checkpoint.bin", b.substr(0, b.size() / 2));
                     return "--resume " + d + "/run --set train.epochs=4";
                 },
                 {"{d}/run/checkpoint.bin", "truncated"},
                 Out::complete,
                 {},
                 "checkpoint.bin"});
    c.push_back({"resume_with_another_dtype", 1,
                 [](const std::string& d) {
                     make_run(d);
                     return "--resume " + d + "/run --set train.epochs=4 --set model.dtype=float32";
                 },
                 {"{d}/run/checkpoint.bin", "precision"},
                 Out::complete});
    c.push_back({"resume_with_corrupt_config", 2,
                 [](const std::string& d) {
                     make_run(d);
                     spit(d + "/run/config.yaml", edit(slurp(d + "/run/config.yaml"), "epochs: 2", "epochs: 2\n  epochs: 3"));
                     return "--resume " + d + "/run";
                 },
                 {"{d}/run/config.yaml:", "duplicate key 'train.epochs'"},
                 Out::complete,
                 {},
                 "config.yaml"});
    return c;
}

// ---- the checks --------------------------------------------------------------------

std::string expand(std::string s, const std::string& d) {
    for (auto at = s.find("{d}"); at != std::string::npos; at = s.find("{d}", at + d.size())) s.replace(at, 3, d);
    return s;
}

// Every file of a run directory is complete.
void expect_only_complete_files(const std::string& run, const std::string& ignore = "") {
    if (!fs::is_directory(run)) return;
    for (const auto& e : fs::directory_iterator(run)) {
        const std::string name = e.path().filename().string(), path = e.path().string();
        SCOPED_TRACE(path);
        EXPECT_EQ(name.find(".tmp."), std::string::npos) << "leftover temporary file";
        if (name == ignore) continue;
        const std::string body = slurp(path);
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) {
            RawTensor t;
            ASSERT_NO_THROW(t = read_npy(path));
            if (name == "W.npy") {
                for (std::size_t i = 0; i < t.size(); ++i) ASSERT_TRUE(std::isfinite(t.at(i))) << "W[" << i << "]";
            }
        } else if (name == "checkpoint.bin") {
            ASSERT_GE(body.size(), 12u);
            EXPECT_EQ(body.substr(0, 8), "LLCKPT01");
            EXPECT_EQ(body.substr(body.size() - 4), "END!");
        } else if (name == "metrics.csv") {
            ASSERT_FALSE(body.empty());
            EXPECT_EQ(body.back(), '\n');
            std::istringstream in(body);
            for (std::string line; std::getline(in, line);)
                EXPECT_EQ(std::count(line.begin(), line.end(), ','), 7) << line;
        } else if (name == "summary.json") {
            ASSERT_FALSE(body.empty());
            EXPECT_EQ(body.front(), '{');
            EXPECT_NE(body.find_last_of('}'), std::string::npos);
        } else if (name == "config.yaml") {
            EXPECT_NO_THROW(parse_config(body, path));
        }
    }
}

// Text a terminal shows as one line: no control characters, valid UTF-8.
bool printable_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7F)) || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
        i += n;
    }
    return true;
}

class BadInputs : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputs, OneErrorLineDocumentedExitCodeNoPartialFiles) {
    const BadInput& c = GetParam();
    const std::string d = scratch("bad_" + c.name);
    std::string args;
    ASSERT_NO_THROW(args = c.setup(d));
    if (::testing::Test::HasFatalFailure()) return;
    // Anything written by setup is from before the run: only d/run is checked.
    const auto r = run_train(args, d);
    SCOPED_TRACE("train " + args + "\nstderr: " + r.err);
    EXPECT_EQ(r.code, c.code);
    EXPECT_GT(r.code, 0);
    EXPECT_LT(r.code, 128);
    EXPECT_EQ(count_lines(r.err), 1);
    EXPECT_TRUE(!r.err.empty() && r.err.back() == '\n');
    EXPECT_EQ(r.err.rfind("error: ", 0), 0u);
    EXPECT_TRUE(printable_utf8(r.err.substr(0, r.err.size() - 1))) << "control or non-UTF-8 bytes in the message";
    for (const auto& e : c.expect) EXPECT_NE(r.err.find(expand(e, d)), std::string::npos) << "expected: " << expand(e, d);
    if (c.out == Out::absent) {
        EXPECT_FALSE(fs::exists(d + "/run")) << "the run directory was created";
    } else {
        expect_only_complete_files(d + "/run", c.corrupted);
    }
    if (c.extra) c.extra(d);
}

INSTANTIATE_TEST_SUITE_P(Cli, BadInputs, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; });

TEST(BadInputs, AtLeastTwentyFiveCases) { EXPECT_GE(cases().size(), 25u); }

}  // namespace

// A full disk (a 750 kB tmpfs in a private mount namespace, so nothing leaks
// out of the test): the first epoch's files fit, the second checkpoint does
// not fit next to the first. The run stops with one line naming the file,
// leaves only complete files (the previous checkpoint.bin intact), and once
// there is room again `--resume` finishes with exactly the W.npy of a run
// that never ran out of space.
TEST(BadInputs, DiskFullStopsCleanlyAndTheRunResumesBitExactly) {
    const std::string d = scratch("bad_disk_full");
    const std::string mnt = d + "/mnt";
    fs::create_directories(mnt);
    if (std::system(("unshare -m sh -c 'mount -t tmpfs -o size=64k tmpfs " + mnt + "' 2>/dev/null").c_str()) != 0)
        GTEST_SKIP() << "cannot mount a tmpfs in a private mount namespace here (needs root and unshare)";

    // 2000 x 200, m = 64: W.npy ~100 kB, checkpoint.bin (W and Adam's moments) ~300 kB.
    const auto X = randn(2000 * 200, 1.0, 8);
    write_npy(d + "/data.npy", make_raw<double>(X.data(), {2000, 200}));
    std::string yaml = edit(edit(npy_config(d), "latent_dim: 3", "latent_dim: 64"), "batch_size: 20", "batch_size: 64");
    spit(d + "/c.yaml", edit(yaml, "epochs: 2", "epochs: 3"));
    const auto ref = run_train("--config " + d + "/c.yaml --out " + d + "/ref --quiet", d);
    ASSERT_EQ(ref.code, 0) << ref.err;

    const std::string cmd = "unshare -m sh -c 'mount -t tmpfs -o size=750k tmpfs " + mnt +
                            " && OPENBLAS_NUM_THREADS=1 " + LATENTLAB_TRAIN_EXE + " --config " + d + "/c.yaml --out " +
                            mnt + "/run --quiet 2>" + d + "/.stderr_full; rc=$?; cp -a " + mnt + "/run " + d +
                            "/run; exit $rc'";
    const int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    const std::string err = slurp(d + "/.stderr_full");
    EXPECT_EQ(WEXITSTATUS(status), 1) << err;
    EXPECT_EQ(count_lines(err), 1) << err;
    EXPECT_NE(err.find("error: " + mnt + "/run/"), std::string::npos) << err;
    EXPECT_NE(err.find("No space left on device"), std::string::npos) << err;
    expect_only_complete_files(d + "/run");
    ASSERT_TRUE(fs::exists(d + "/run/checkpoint.bin"));

    const auto r = run_train("--resume " + d + "/run --quiet", d);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(slurp(d + "/run/W.npy") == slurp(d + "/ref/W.npy")) << "W.npy differs from the run with room";
}
