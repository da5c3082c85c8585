// A checkpoint is verified before anything in it is trusted (reliability):
//   - its CRC-32 first: every flipped bit of a real checkpoint, and every
//     truncation, is rejected with one line naming the file, and the model
//     and optimiser it was loaded into are left as they were;
//   - then every field, on files crafted with a valid checksum: negative or
//     absurd counts, NaN/Inf in the parameters and optimiser states, vectors
//     of the wrong length (L-BFGS pairs were read past their end before), a
//     count asking for more bytes than the file holds (never allocated);
//   - through the `train` binary: `--resume` of a damaged run is exit 1, one
//     line, and the run directory is byte for byte what it was.
// The format is read here independently of src/train/checkpoint.cpp (the
// comment there documents it), to craft the bad files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "latentlab/config/build.hpp"
#include "latentlab/core/binary_io.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/io/npy.hpp"
#include "latentlab/optim/lbfgs.hpp"
#include "latentlab/train/checkpoint.hpp"
#include "test_util.hpp"

using namespace latentlab;
using namespace latentlab::testing;
namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- the format, read independently -----------------------------------------------

template <class V>
V get(const std::string& b, std::size_t at) {
    V v;
    std::memcpy(&v, b.data() + at, sizeof v);
    return v;
}
template <class V>
void set(std::string& b, std::size_t at, V v) {
    std::memcpy(&b[at], &v, sizeof v);
}

constexpr std::size_t kSizeField = 12, kDtypeField = 20, kTrailer = 8;

// Byte offsets of the fields of a float64 checkpoint (format 2):
// magic 8, version 4, size 8, sizeof(T) 4, two strings, epoch, step,
// seconds, the parameters, the optimiser's state, CRC 4, "END!".
struct Layout {
    std::size_t epoch, step, seconds, n_params, params, opt;
};
Layout layout_of(const std::string& b) {
    std::size_t at = kDtypeField + 4;
    for (int k = 0; k < 2; ++k) at += 4 + get<std::uint32_t>(b, at);  // model, optimiser names
    Layout L;
    L.epoch = at;
    L.step = at + 8;
    L.seconds = at + 16;
    L.n_params = at + 24;
    L.params = at + 32;
    L.opt = L.params + get<std::uint64_t>(b, L.n_params) * sizeof(double);
    return L;
}

// The size field made true again (after an edit that changed the length).
void set_size(std::string& b) { set<std::uint64_t>(b, kSizeField, b.size()); }

// A valid CRC again: zlib's CRC-32 of every byte but the CRC's own four.
void reseal(std::string& b) {
    const auto* p = reinterpret_cast<const Bytef*>(b.data());
    uLong c = ::crc32(0L, p, static_cast<uInt>(b.size() - kTrailer));
    c = ::crc32(c, p + b.size() - 4, 4);
    set<std::uint32_t>(b, b.size() - kTrailer, static_cast<std::uint32_t>(c));
}

// ---- a real checkpoint of a small model and optimiser -------------------------------

constexpr std::size_t kRows = 40, kDim = 6, kLatent = 2, kParams = kLatent * kDim;

struct ModelAndOptimiser {
    std::unique_ptr<Model<double>> model;
    std::unique_ptr<Optimizer<double>> opt;
};

OptimConfig optim_config(const std::string& type) {
    OptimConfig c;
    c.type = type;
    c.lr = 0.05;
    if (type == "sgd") c.momentum = 0.9;
    return c;
}

// The tied linear autoencoder 6 → 2 (12 parameters, block W) with `type`,
// its parameters drawn from `seed`.
ModelAndOptimiser build(const std::string& type, std::uint64_t seed) {
    ModelConfig mc;
    mc.latent_dim = kLatent;
    mc.dtype = "float64";
    ModelAndOptimiser p;
    p.model = make_model<double>(mc, kDim, kRows);
    std::mt19937_64 rng(seed);
    p.model->init(rng);
    p.opt = make_optimizer<double>(optim_config(type), p.model->num_params());
    return p;
}

// The same after five real steps on random data: moments, velocities,
// curvature pairs that a run would save.
ModelAndOptimiser trained(const std::string& type) {
    ModelAndOptimiser p = build(type, 1);
    const std::vector<double> X = randn(kRows * kDim, 1.0, 9);
    const MatrixView<double> batch = view(X, kRows, kDim);
    Model<double>& model = *p.model;
    const Objective<double> f = [&](xt::xtensor<double, 1>& g) { return model.loss_and_grad(batch, g); };
    for (int k = 0; k < 5; ++k) p.opt->step(model.params(), f, 0.05);
    return p;
}

std::string state_bytes(const Optimizer<double>& opt) {
    std::ostringstream s(std::ios::binary);
    opt.save_state(s);
    return s.str();
}

// The bytes of a checkpoint of trained(type) after epoch 3, step 15, 1.25 s.
std::string checkpoint_bytes(const std::string& type, const std::string& dir) {
    const ModelAndOptimiser p = trained(type);
    const std::string path = dir + "/good.bin";
    save_checkpoint<double>(path, *p.model, *p.opt, StartPoint{3, 15, 1.25});
    return slurp(path);
}

// Loads `bytes` (written to dir/checkpoint.bin) into a fresh model and
// optimiser of `type`: the DataError's message, "" if it loaded. A rejected
// file must leave both as they were, and say so in one line naming the file.
std::string load_error(const std::string& bytes, const std::string& type, const std::string& dir) {
    const std::string path = dir + "/checkpoint.bin";
    // A new file each time: rewriting one in place makes ext4 flush it to disk.
    fs::remove(path);
    write_file(path, bytes);
    ModelAndOptimiser fresh = build(type, 2);
    const xt::xtensor<double, 1> params0 = fresh.model->params();
    const std::string state0 = state_bytes(*fresh.opt);
    std::string msg;
    try {
        load_checkpoint<double>(path, *fresh.model, *fresh.opt);
        return "";
    } catch (const DataError& e) {
        msg = e.what();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "not a DataError: " << e.what();
        return "?";
    }
    EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_TRUE(fresh.model->params() == params0) << "a rejected checkpoint changed the model: " << msg;
    EXPECT_EQ(state_bytes(*fresh.opt), state0) << "a rejected checkpoint changed the optimiser: " << msg;
    return msg;
}

const std::vector<std::string> kOptimisers = {"adam", "sgd", "lbfgs"};

}  // namespace

// ---- library level --------------------------------------------------------------------

TEST(CheckpointIntegrity, RoundTripRestoresEveryByte) {
    const std::string dir = scratch("ckpt_round_trip");
    for (const auto& type : kOptimisers) {
        SCOPED_TRACE(type);
        const ModelAndOptimiser a = trained(type);
        save_checkpoint<double>(dir + "/a.bin", *a.model, *a.opt, StartPoint{3, 15, 1.25});
        ModelAndOptimiser b = build(type, 2);
        const StartPoint s = load_checkpoint<double>(dir + "/a.bin", *b.model, *b.opt);
        EXPECT_EQ(s.epoch, 3);
        EXPECT_EQ(s.step, 15);
        EXPECT_EQ(s.seconds, 1.25);
        EXPECT_TRUE(b.model->params() == a.model->params());
        EXPECT_EQ(state_bytes(*b.opt), state_bytes(*a.opt));
        save_checkpoint<double>(dir + "/b.bin", *b.model, *b.opt, s);
        EXPECT_TRUE(slurp(dir + "/a.bin") == slurp(dir + "/b.bin")) << "saved again, the bytes differ";
    }
    const std::string b = slurp(dir + "/a.bin");
    EXPECT_EQ(b.substr(0, 8), "LLCKPT01");
    EXPECT_EQ(get<std::uint32_t>(b, 8), 2u) << "format version";
    EXPECT_EQ(get<std::uint64_t>(b, kSizeField), b.size());
    EXPECT_EQ(b.substr(b.size() - 4), "END!");
    std::string resealed = b;
    reseal(resealed);
    EXPECT_TRUE(resealed == b) << "the CRC is not zlib's CRC-32 of the file but the CRC";
}

TEST(CheckpointIntegrity, EveryFlippedBitIsRejectedAsDamaged) {
    const std::string dir = scratch("ckpt_bit_flips");
    for (const auto& type : kOptimisers) {
        SCOPED_TRACE(type);
        const std::string good = checkpoint_bytes(type, dir);
        ASSERT_EQ(load_error(good, type, dir), "");
        int failures = 0;
        for (std::size_t bit = 0; bit < 8 * good.size() && failures < 5; ++bit) {
            std::string b = good;
            b[bit / 8] = static_cast<char>(b[bit / 8] ^ (1 << (bit % 8)));
            const std::string msg = load_error(b, type, dir);
            if (msg.find("checkpoint.bin: checksum mismatch (the file is damaged; ") == std::string::npos) {
                ADD_FAILURE() << "bit " << bit << " of " << 8 * good.size() << " (byte " << bit / 8
                              << "): " << (msg.empty() ? "accepted" : msg);
                ++failures;
            }
        }
    }
}

TEST(CheckpointIntegrity, EveryTruncationIsRejectedAsTruncated) {
    const std::string dir = scratch("ckpt_truncations");
    for (const auto& type : kOptimisers) {
        SCOPED_TRACE(type);
        const std::string good = checkpoint_bytes(type, dir);
        int failures = 0;
        for (std::size_t len = 0; len < good.size() && failures < 5; ++len) {
            const std::string msg = load_error(good.substr(0, len), type, dir);
            if (msg.find("checkpoint.bin: checkpoint is truncated") == std::string::npos) {
                ADD_FAILURE() << "cut to " << len << " of " << good.size() << " bytes: "
                              << (msg.empty() ? "accepted" : msg);
                ++failures;
            }
        }
    }
}

TEST(CheckpointIntegrity, BytesAppendedAreDamage) {
    const std::string dir = scratch("ckpt_appended");
    const std::string good = checkpoint_bytes("adam", dir);
    EXPECT_NE(load_error(good + "x", "adam", dir).find("checksum mismatch"), std::string::npos);
    EXPECT_NE(load_error(good + good, "adam", dir).find("checksum mismatch"), std::string::npos);
}

// Format 1 (before the checksum): the magic, sizeof(T), ..., the optimiser's
// state, "END!". Not read: it cannot be verified.
TEST(CheckpointIntegrity, Format1WithoutChecksumIsRejected) {
    const std::string dir = scratch("ckpt_format1");
    const std::string good = checkpoint_bytes("adam", dir);
    const std::string v1 = good.substr(0, 8) + good.substr(kDtypeField, good.size() - kDtypeField - kTrailer) + "END!";
    ASSERT_EQ(get<std::uint32_t>(v1, 8), 8u);
    const std::string msg = load_error(v1, "adam", dir);
    EXPECT_NE(msg.find("checkpoint format 1 (from an older LatentLab) has no checksum"), std::string::npos) << msg;
    // Truncated, it is still named for what it is.
    EXPECT_NE(load_error(v1.substr(0, 40), "adam", dir).find("format 1"), std::string::npos);
}

TEST(CheckpointIntegrity, OtherFilesAreNotCheckpoints) {
    const std::string dir = scratch("ckpt_other_files");
    for (const std::string& b : {std::string("seed: 1\nmodel:\n  latent_dim: 3\n"), std::string(4096, '\0'),
                                 std::string("\x93NUMPY\x01\x00", 8) + std::string(200, ' ')}) {
        const std::string msg = load_error(b, "adam", dir);
        EXPECT_NE(msg.find("not a LatentLab checkpoint"), std::string::npos) << msg;
    }
}

// A count read from a file is checked against the bytes left before it
// sizes an allocation: 2^40 doubles would be 8 TiB.
TEST(CheckpointIntegrity, CountsAreCheckedAgainstTheBytesLeftBeforeAllocating) {
    std::istringstream in(std::string(64, '\0'));
    try {
        bin::get_array<double>(in, std::uint64_t{1} << 40, "a pair");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("truncated: a pair claims 1099511627776 values of 8 bytes, 64 bytes "
                                             "are left"),
                  std::string::npos)
            << e.what();
    }
    std::istringstream exact(std::string(16, '\0'));
    EXPECT_EQ(bin::get_array<double>(exact, 2, "two").size(), 2u);
}

// The state alone, as the optimisers' own tests use it: L-BFGS now checks its
// pairs against the parameter count it is given (the other two always did).
TEST(CheckpointIntegrity, LbfgsStateIsCheckedAgainstTheParameterCount) {
    const ModelAndOptimiser a = trained("lbfgs");
    ASSERT_GE(dynamic_cast<const Lbfgs<double>&>(*a.opt).state().s.size(), 2u);
    const std::string state = state_bytes(*a.opt);
    for (std::size_t n : {kParams - 1, kParams + 1}) {
        Lbfgs<double> b(LbfgsOptions{});
        std::istringstream in(state);
        try {
            b.load_state(in, n);
            ADD_FAILURE() << "accepted for " << n << " parameters";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("L-BFGS pair 1 of "), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find("has 12 entries, the model has " + std::to_string(n)),
                      std::string::npos)
                << e.what();
        }
        EXPECT_TRUE(b.state().s.empty()) << "a rejected state was kept";
    }
    Lbfgs<double> c(LbfgsOptions{});
    std::istringstream in(state);
    c.load_state(in, kParams);
    EXPECT_EQ(state_bytes(c), state);
}

// ---- crafted fields with a valid checksum -----------------------------------------------

namespace {

struct Crafted {
    std::string name;
    std::string optimiser;
    std::function<void(std::string& b, const Layout& L)> edit;  // then resealed
    std::vector<std::string> expect;                            // in the message
};
std::ostream& operator<<(std::ostream& os, const Crafted& c) { return os << c.name; }

// Offsets in L-BFGS's state: iterations, evaluations, last step, k, then per
// pair its length, s, y, rho.
std::size_t lbfgs_k(const Layout& L) { return L.opt + 24; }
std::size_t lbfgs_pair(const std::string& b, const Layout& L, std::uint64_t i) {
    std::size_t at = lbfgs_k(L) + 8;
    for (std::uint64_t k = 0; k < i; ++k) at += 8 + 2 * 8 * get<std::uint64_t>(b, at) + 8;
    return at;
}
// Pair i (0-based) rebuilt with `len` entries in s and y.
void resize_pair(std::string& b, const Layout& L, std::uint64_t i, std::uint64_t len) {
    const std::size_t at = lbfgs_pair(b, L, i);
    const std::uint64_t n = get<std::uint64_t>(b, at);
    std::string s = b.substr(at + 8, 8 * n), y = b.substr(at + 8 + 8 * n, 8 * n);
    s.resize(8 * len, '\0');
    y.resize(8 * len, '\0');
    std::string pair(8, '\0');
    set<std::uint64_t>(pair, 0, len);
    b.replace(at, 8 + 16 * n, pair + s + y);
    set_size(b);
}

std::vector<Crafted> crafted_cases() {
    const std::uint64_t big = std::uint64_t{1} << 40;
    std::vector<Crafted> c;
    // ---- the header and the position
    c.push_back({"version_3", "adam", [](auto& b, auto&) { set<std::uint32_t>(b, 8, 3); },
                 {"checkpoint format 3 is not one this LatentLab reads (format 2)"}});
    c.push_back({"size_field_wrong", "adam", [](auto& b, auto&) { set<std::uint64_t>(b, kSizeField, b.size() - 1); },
                 {"checkpoint is corrupt: its header says"}});
    c.push_back({"another_precision", "adam", [](auto& b, auto&) { set<std::uint32_t>(b, kDtypeField, 4); },
                 {"written for another precision than float64"}});
    c.push_back({"model_name_length_absurd", "adam",
                 [](auto& b, auto&) { set<std::uint32_t>(b, kDtypeField + 4, 0x7FFFFFFF); },
                 {"checkpoint is corrupt: the model name of 2147483647 bytes"}});
    c.push_back({"epoch_negative", "adam", [](auto& b, auto& L) { set<std::int64_t>(b, L.epoch, -1); },
                 {"epoch -1 is negative"}});
    c.push_back({"epoch_absurd", "adam", [](auto& b, auto& L) { set<std::int64_t>(b, L.epoch, 2000000000); },
                 {"epoch 2000000000 is absurd (more than 1000000000)"}});
    c.push_back({"step_negative", "adam", [](auto& b, auto& L) { set<std::int64_t>(b, L.step, -7); },
                 {"step -7 is negative"}});
    c.push_back({"step_absurd", "adam", [](auto& b, auto& L) { set<std::int64_t>(b, L.step, std::int64_t{1} << 60); },
                 {"step 1152921504606846976 is absurd"}});
    c.push_back({"seconds_negative", "adam", [](auto& b, auto& L) { set<double>(b, L.seconds, -1.0); },
                 {"elapsed time -1 s is not a finite number >= 0"}});
    c.push_back({"seconds_nan", "adam", [](auto& b, auto& L) { set<double>(b, L.seconds, kNaN); },
                 {"elapsed time", "is not a finite number >= 0"}});
    c.push_back({"seconds_inf", "sgd", [](auto& b, auto& L) { set<double>(b, L.seconds, kInf); },
                 {"elapsed time", "is not a finite number >= 0"}});
    // ---- the parameters
    c.push_back({"parameters_nan", "adam", [](auto& b, auto& L) { set<double>(b, L.params + 8 * 3, kNaN); },
                 {"checkpoint holds non-finite parameters (", " at entry 3 of block W)"}});
    c.push_back({"parameters_inf", "lbfgs", [](auto& b, auto& L) { set<double>(b, L.params + 8 * 11, -kInf); },
                 {"checkpoint holds non-finite parameters (", " at entry 11 of block W)"}});
    c.push_back({"parameter_count_differs", "adam", [](auto& b, auto& L) { set<std::uint64_t>(b, L.n_params, 13); },
                 {"the parameter vector has 13 entries, the model has 12 parameters"}});
    c.push_back({"parameter_count_absurd", "adam", [=](auto& b, auto& L) { set<std::uint64_t>(b, L.n_params, big); },
                 {"the parameter vector has 1099511627776 entries, the model has 12 parameters"}});
    c.push_back({"bytes_after_the_optimiser_state", "adam",
                 [](auto& b, auto&) {
                     b.insert(b.size() - kTrailer, 8, '\0');
                     set_size(b);
                 },
                 {"checkpoint is corrupt: 8 unexpected bytes after Adam's state"}});
    // ---- Adam: t, m, v at L.opt, L.opt + 8 (count), L.opt + 16 (values), then v
    const std::size_t v_count = 8 + 8 + 8 * kParams;
    c.push_back({"adam_t_negative", "adam", [](auto& b, auto& L) { set<std::int64_t>(b, L.opt, -1); },
                 {"Adam's step count t -1 is negative"}});
    c.push_back({"adam_t_absurd", "adam",
                 [](auto& b, auto& L) { set<std::int64_t>(b, L.opt, (std::int64_t{1} << 53) + 1); },
                 {"Adam's step count t 9007199254740993 is absurd"}});
    c.push_back({"adam_m_wrong_length", "adam", [](auto& b, auto& L) { set<std::uint64_t>(b, L.opt + 8, 11); },
                 {"Adam's m has 11 entries, the model has 12 parameters"}});
    c.push_back({"adam_v_absurd_length", "adam",
                 [=](auto& b, auto& L) { set<std::uint64_t>(b, L.opt + v_count, big); },
                 {"Adam's v has 1099511627776 entries, the model has 12 parameters"}});
    c.push_back({"adam_m_nan", "adam", [](auto& b, auto& L) { set<double>(b, L.opt + 16 + 8 * 5, kNaN); },
                 {"Adam's m holds a non-finite value (", " at entry 5)"}});
    c.push_back({"adam_v_inf", "adam", [=](auto& b, auto& L) { set<double>(b, L.opt + v_count + 8, kInf); },
                 {"Adam's v holds a non-finite value (inf at entry 0)"}});
    c.push_back({"adam_v_negative", "adam", [=](auto& b, auto& L) { set<double>(b, L.opt + v_count + 8 + 16, -0.5); },
                 {"Adam's v holds a negative value (-0.5 at entry 2)"}});
    // ---- SGD: the velocity at L.opt (count), L.opt + 8 (values)
    c.push_back({"sgd_velocity_wrong_length", "sgd", [](auto& b, auto& L) { set<std::uint64_t>(b, L.opt, 24); },
                 {"SGD's velocity has 24 entries, the model has 12 parameters"}});
    c.push_back({"sgd_velocity_absurd_length", "sgd", [=](auto& b, auto& L) { set<std::uint64_t>(b, L.opt, big); },
                 {"SGD's velocity has 1099511627776 entries"}});
    c.push_back({"sgd_velocity_nan", "sgd", [](auto& b, auto& L) { set<double>(b, L.opt + 8 + 8 * 7, kNaN); },
                 {"SGD's velocity holds a non-finite value (", " at entry 7)"}});
    // ---- L-BFGS
    c.push_back({"lbfgs_iterations_negative", "lbfgs", [](auto& b, auto& L) { set<std::int64_t>(b, L.opt, -3); },
                 {"L-BFGS iteration count -3 is negative"}});
    c.push_back({"lbfgs_evaluations_absurd", "lbfgs",
                 [](auto& b, auto& L) { set<std::int64_t>(b, L.opt + 8, std::int64_t{1} << 62); },
                 {"L-BFGS evaluation count 4611686018427387904 is absurd"}});
    c.push_back({"lbfgs_last_step_nan", "lbfgs", [](auto& b, auto& L) { set<double>(b, L.opt + 16, kNaN); },
                 {"L-BFGS last step length", "is not a finite number >= 0"}});
    c.push_back({"lbfgs_more_pairs_than_its_history", "lbfgs",
                 [](auto& b, auto& L) { set<std::uint64_t>(b, lbfgs_k(L), 11); },
                 {"L-BFGS history holds 11 curvature pairs, more than the 10 this optimiser keeps"}});
    c.push_back({"lbfgs_pair_count_absurd", "lbfgs",
                 [](auto& b, auto& L) { set<std::uint64_t>(b, lbfgs_k(L), std::uint64_t{1} << 62); },
                 {"L-BFGS history holds 4611686018427387904 curvature pairs"}});
    // The over-read: a pair shorter than the parameter count was accepted,
    // and direction() read 12 entries of it.
    c.push_back({"lbfgs_pair_shorter_than_the_parameters", "lbfgs",
                 [](auto& b, auto& L) { resize_pair(b, L, 1, 5); },
                 {"L-BFGS pair 2 of ", " has 5 entries, the model has 12 parameters"}});
    c.push_back({"lbfgs_pair_longer_than_the_parameters", "lbfgs",
                 [](auto& b, auto& L) { resize_pair(b, L, 0, 20); },
                 {"L-BFGS pair 1 of ", " has 20 entries, the model has 12 parameters"}});
    c.push_back({"lbfgs_pair_length_absurd", "lbfgs",
                 [=](auto& b, auto& L) { set<std::uint64_t>(b, lbfgs_pair(b, L, 0), big); },
                 {"L-BFGS pair 1 of ", " has 1099511627776 entries, the model has 12 parameters"}});
    // A pair of the right length whose values are not in the file.
    c.push_back({"lbfgs_pair_values_missing", "lbfgs",
                 [](auto& b, auto& L) {
                     const auto k = get<std::uint64_t>(b, lbfgs_k(L));
                     const std::size_t last = lbfgs_pair(b, L, k - 1);
                     b.erase(last + 8, b.size() - kTrailer - (last + 8));
                     set_size(b);
                 },
                 {"checkpoint is truncated: L-BFGS pair ", " (s) claims 12 values of 8 bytes, 0 bytes are left"}});
    c.push_back({"lbfgs_s_inf", "lbfgs", [](auto& b, auto& L) { set<double>(b, lbfgs_pair(b, L, 0) + 8 + 8 * 4, kInf); },
                 {"L-BFGS pair 1 of ", ": s holds a non-finite value (inf at entry 4)"}});
    c.push_back({"lbfgs_y_nan", "lbfgs",
                 [](auto& b, auto& L) { set<double>(b, lbfgs_pair(b, L, 1) + 8 + 8 * kParams, kNaN); },
                 {"L-BFGS pair 2 of ", ": y holds a non-finite value (", " at entry 0)"}});
    c.push_back({"lbfgs_rho_nan", "lbfgs",
                 [](auto& b, auto& L) { set<double>(b, lbfgs_pair(b, L, 1) + 8 + 16 * kParams, kNaN); },
                 {"L-BFGS pair 2 of ", ": rho ", " is not a finite positive number"}});
    c.push_back({"lbfgs_rho_negative", "lbfgs",
                 [](auto& b, auto& L) { set<double>(b, lbfgs_pair(b, L, 0) + 8 + 16 * kParams, -2.0); },
                 {"L-BFGS pair 1 of ", ": rho -2 is not a finite positive number"}});
    return c;
}

class CraftedCheckpoint : public ::testing::TestWithParam<Crafted> {};

}  // namespace

TEST_P(CraftedCheckpoint, IsRejectedWithItsOwnMessage) {
    const Crafted& c = GetParam();
    const std::string dir = scratch("ckpt_crafted_" + c.name);
    std::string b = checkpoint_bytes(c.optimiser, dir);
    c.edit(b, layout_of(b));
    reseal(b);
    const std::string msg = load_error(b, c.optimiser, dir);
    ASSERT_FALSE(msg.empty()) << "accepted";
    EXPECT_EQ(msg.find("checksum mismatch"), std::string::npos) << "the checksum should be valid: " << msg;
    for (const auto& e : c.expect) EXPECT_NE(msg.find(e), std::string::npos) << "expected: " << e << "\n got: " << msg;
}

INSTANTIATE_TEST_SUITE_P(Fields, CraftedCheckpoint, ::testing::ValuesIn(crafted_cases()),
                         [](const ::testing::TestParamInfo<Crafted>& info) { return info.param.name; });

// Before, a pair shorter than the parameters was accepted, and the next
// step's direction() read 12 entries of it: a heap over-read (ASan reports
// it: scripts/test --sanitize). Now it is rejected, and a step runs on the
// optimiser's own state.
TEST(CheckpointIntegrity, LbfgsShortPairIsNeverReadPastItsEnd) {
    const std::string dir = scratch("ckpt_lbfgs_short_pair");
    std::string b = checkpoint_bytes("lbfgs", dir);
    resize_pair(b, layout_of(b), 0, 3);
    reseal(b);
    write_file(dir + "/short.bin", b);
    ModelAndOptimiser fresh = build("lbfgs", 2);
    EXPECT_THROW(load_checkpoint<double>(dir + "/short.bin", *fresh.model, *fresh.opt), DataError);
    const std::vector<double> X = randn(kRows * kDim, 1.0, 9);
    const MatrixView<double> batch = view(X, kRows, kDim);
    Model<double>& model = *fresh.model;
    const Objective<double> f = [&](xt::xtensor<double, 1>& g) { return model.loss_and_grad(batch, g); };
    for (int k = 0; k < 2; ++k) EXPECT_TRUE(std::isfinite(fresh.opt->step(model.params(), f, 0.0).end_loss));
}

// ---- the `train` binary --------------------------------------------------------------------

namespace {

// 120 × 8 samples and a config for them (float64, so layout_of applies).
std::string cli_config(const std::string& d, const std::string& optim) {
    const auto X = randn(120 * 8, 1.0, 5);
    write_npy(d + "/data.npy", make_raw<double>(X.data(), {120, 8}));
    return "seed: 1\n"
           "data:\n  source: npy\n  path: " + d + "/data.npy\n"
           "model:\n  latent_dim: 3\n  dtype: float64\n"
           "optim:\n" + optim +
           "train:\n  epochs: 2\n  batch_size: 20\n  threads: 1\n";
}

// Trains d/run to the end with `optim` (the config's optim section).
void make_run(const std::string& d, const std::string& optim = "  type: adam\n  lr: 0.01\n") {
    spit(d + "/c.yaml", cli_config(d, optim));
    const auto r = run_train("--config " + d + "/c.yaml --out " + d + "/run --quiet", d);
    ASSERT_EQ(r.code, 0) << r.err;
}

// Every file of a directory: name → size, CRC-32 of the bytes, modification time.
std::map<std::string, std::string> snapshot(const std::string& dir) {
    std::map<std::string, std::string> files;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string body = slurp(e.path().string());
        const auto crc = ::crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
        files[e.path().filename().string()] = std::to_string(body.size()) + " bytes, crc " + std::to_string(crc) +
                                              ", mtime " +
                                              std::to_string(fs::last_write_time(e.path()).time_since_epoch().count());
    }
    return files;
}

// `train --resume d/run ARGS` on the damaged checkpoint `bytes`: exit 1, one
// error line naming checkpoint.bin with `expect`, and d/run as it was.
void expect_resume_rejected(const std::string& d, const std::string& bytes, const std::string& expect,
                            const std::string& args = "--set train.epochs=4") {
    spit(d + "/run/checkpoint.bin", bytes);
    const auto before = snapshot(d + "/run");
    const auto r = run_train("--resume " + d + "/run " + args, d);
    SCOPED_TRACE("stderr: " + r.err);
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(count_lines(r.err), 1);
    EXPECT_EQ(r.err.rfind("error: " + d + "/run/checkpoint.bin: ", 0), 0u);
    EXPECT_NE(r.err.find(expect), std::string::npos) << "expected: " << expect;
    EXPECT_EQ(snapshot(d + "/run"), before) << "the run directory changed";
}

}  // namespace

TEST(CheckpointIntegrityCli, FlippedBitIsOneLineAndTheRunDirectoryIsUntouched) {
    const std::string d = scratch("ckpt_cli_bit_flip");
    make_run(d);
    if (HasFatalFailure()) return;
    std::string b = slurp(d + "/run/checkpoint.bin");
    b[b.size() / 2] = static_cast<char>(b[b.size() / 2] ^ 0x10);
    expect_resume_rejected(d, b, "checksum mismatch (the file is damaged; ");
}

TEST(CheckpointIntegrityCli, NonFiniteParametersAreTheCheckpointsFault) {
    const std::string d = scratch("ckpt_cli_nan_params");
    make_run(d);
    if (HasFatalFailure()) return;
    std::string b = slurp(d + "/run/checkpoint.bin");
    set<double>(b, layout_of(b).params + 8 * 4, kNaN);
    reseal(b);
    expect_resume_rejected(d, b, "checkpoint holds non-finite parameters (");
}

TEST(CheckpointIntegrityCli, Format1CheckpointIsRejected) {
    const std::string d = scratch("ckpt_cli_format1");
    make_run(d);
    if (HasFatalFailure()) return;
    const std::string b = slurp(d + "/run/checkpoint.bin");
    expect_resume_rejected(d, b.substr(0, 8) + b.substr(kDtypeField, b.size() - kDtypeField - kTrailer) + "END!",
                           "checkpoint format 1 (from an older LatentLab) has no checksum");
}

// Before, this checkpoint was accepted and the first L-BFGS direction read
// past the end of the short pair.
TEST(CheckpointIntegrityCli, LbfgsPairOfTheWrongLengthIsRejected) {
    const std::string d = scratch("ckpt_cli_lbfgs_pair");
    make_run(d, "  type: lbfgs\n  max_iterations: 4\n");
    if (HasFatalFailure()) return;
    std::string b = slurp(d + "/run/checkpoint.bin");
    const Layout L = layout_of(b);
    ASSERT_GE(get<std::uint64_t>(b, lbfgs_k(L)), 1u) << "the run kept no curvature pair";
    resize_pair(b, L, 0, 3);
    reseal(b);
    expect_resume_rejected(d, b, "L-BFGS pair 1 of ", "--set optim.max_iterations=8");
    EXPECT_NE(slurp(d + "/.stderr").find("has 3 entries, the model has 24 parameters"), std::string::npos);
}
