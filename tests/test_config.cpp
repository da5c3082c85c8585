// Tests of the typed configuration: parsing, the error messages (origin,
// 1-based line, key), --set overrides, validation and the YAML round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "latentlab/config/config.hpp"
#include "latentlab/core/error.hpp"
#include "test_util.hpp"

namespace latentlab {
namespace {

using namespace latentlab::testing;

const char* const kOrigin = "configs/x.yaml";

// The message of the ConfigError thrown by f, or a marker that makes any
// expected-message comparison fail.
std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const ConfigError& e) {
        return e.what();
    } catch (const std::exception& e) {
        return std::string("<not a ConfigError: ") + e.what() + ">";
    }
    return "<no error>";
}

std::string parse_error(const std::string& text) {
    return error_of([&] { parse_config(text, kOrigin); });
}

std::string override_error(const std::string& assignment) {
    Config cfg;
    return error_of([&] { apply_override(cfg, assignment); });
}

Config with_override(const std::string& assignment) {
    Config cfg;
    apply_override(cfg, assignment);
    return cfg;
}

bool same_double(double a, double b) {
    return (std::isnan(a) && std::isnan(b)) || (a == b && std::signbit(a) == std::signbit(b));
}

// Field-by-field equality (doubles bit-for-bit up to NaN payloads).
// Extend when a key is added to config.hpp.
void expect_config_eq(const Config& a, const Config& b) {
    EXPECT_EQ(a.seed, b.seed);
    EXPECT_EQ(a.data.source, b.data.source);
    EXPECT_EQ(a.data.path, b.data.path);
    EXPECT_EQ(a.data.labels, b.data.labels);
    EXPECT_EQ(a.data.limit, b.data.limit);
    EXPECT_PRED2(same_double, a.data.test_fraction, b.data.test_fraction);
    EXPECT_EQ(a.data.center, b.data.center);
    EXPECT_PRED2(same_double, a.data.scale, b.data.scale);
    EXPECT_EQ(a.model.type, b.model.type);
    EXPECT_EQ(a.model.latent_dim, b.model.latent_dim);
    EXPECT_EQ(a.model.dtype, b.model.dtype);
    EXPECT_PRED2(same_double, a.model.init_scale, b.model.init_scale);
    EXPECT_EQ(a.optim.type, b.optim.type);
    EXPECT_PRED2(same_double, a.optim.lr, b.optim.lr);
    EXPECT_PRED2(same_double, a.optim.momentum, b.optim.momentum);
    EXPECT_EQ(a.optim.nesterov, b.optim.nesterov);
    EXPECT_PRED2(same_double, a.optim.beta1, b.optim.beta1);
    EXPECT_PRED2(same_double, a.optim.beta2, b.optim.beta2);
    EXPECT_PRED2(same_double, a.optim.eps, b.optim.eps);
    EXPECT_PRED2(same_double, a.optim.weight_decay, b.optim.weight_decay);
    EXPECT_EQ(a.optim.schedule, b.optim.schedule);
    EXPECT_EQ(a.optim.step_epochs, b.optim.step_epochs);
    EXPECT_PRED2(same_double, a.optim.gamma, b.optim.gamma);
    EXPECT_PRED2(same_double, a.optim.min_lr, b.optim.min_lr);
    EXPECT_EQ(a.train.epochs, b.train.epochs);
    EXPECT_EQ(a.train.batch_size, b.train.batch_size);
    EXPECT_EQ(a.train.threads, b.train.threads);
    EXPECT_PRED2(same_double, a.train.log_every, b.train.log_every);
    EXPECT_EQ(a.train.checkpoint, b.train.checkpoint);
    EXPECT_EQ(a.output.dir, b.output.dir);
}

// A fresh, empty scratch directory for file tests.
std::filesystem::path scratch_dir(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("latentlab_test_config_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                      "_" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

// ---------------------------------------------------------------------------

TEST(Config, EmptyDocumentGivesDefaults) {
    for (const char* text : {"", "\n\n", "# only a comment\n", "~\n", "---\n"}) {
        SCOPED_TRACE(text);
        expect_config_eq(parse_config(text, kOrigin), Config{});
    }
    // Empty sections are allowed too.
    expect_config_eq(parse_config("data:\noptim:\n", kOrigin), Config{});
    EXPECT_NO_THROW(validate(Config{}));
}

TEST(Config, ParsesEveryKey) {
    const std::string text =
        "seed: 42\n"
        "data:\n"
        "  source: csv\n"
        "  path: data/train.csv\n"
        "  labels: \"data/labels file.csv\"\n"
        "  limit: 1000\n"
        "  test_fraction: 0.2\n"
        "  center: true\n"
        "  scale: 0.5\n"
        "model:\n"
        "  type: linear_autoencoder\n"
        "  latent_dim: 16\n"
        "  dtype: float64\n"
        "  init_scale: 0.05\n"
        "optim:\n"
        "  type: sgd\n"
        "  lr: 0.01\n"
        "  momentum: 0.9\n"
        "  nesterov: yes\n"
        "  beta1: 0.8\n"
        "  beta2: 0.99\n"
        "  eps: 1.0e-6\n"
        "  weight_decay: 1e-4\n"
        "  schedule: step\n"
        "  step_epochs: 5\n"
        "  gamma: 0.5\n"
        "  min_lr: 1e-5\n"
        "train:\n"
        "  epochs: 20\n"
        "  batch_size: 128\n"
        "  threads: 2\n"
        "  log_every: 0.5\n"
        "  checkpoint: false\n"
        "output:\n"
        "  dir: runs/exp1\n";
    const Config c = parse_config(text, kOrigin);
    EXPECT_EQ(c.seed, 42);
    EXPECT_EQ(c.data.source, "csv");
    EXPECT_EQ(c.data.path, "data/train.csv");
    EXPECT_EQ(c.data.labels, "data/labels file.csv");
    EXPECT_EQ(c.data.limit, 1000);
    EXPECT_EQ(c.data.test_fraction, 0.2);
    EXPECT_TRUE(c.data.center);
    EXPECT_EQ(c.data.scale, 0.5);
    EXPECT_EQ(c.model.type, "linear_autoencoder");
    EXPECT_EQ(c.model.latent_dim, 16);
    EXPECT_EQ(c.model.dtype, "float64");
    EXPECT_EQ(c.model.init_scale, 0.05);
    EXPECT_EQ(c.optim.type, "sgd");
    EXPECT_EQ(c.optim.lr, 0.01);
    EXPECT_EQ(c.optim.momentum, 0.9);
    EXPECT_TRUE(c.optim.nesterov);
    EXPECT_EQ(c.optim.beta1, 0.8);
    EXPECT_EQ(c.optim.beta2, 0.99);
    EXPECT_EQ(c.optim.eps, 1e-6);
    EXPECT_EQ(c.optim.weight_decay, 1e-4);
    EXPECT_EQ(c.optim.schedule, "step");
    EXPECT_EQ(c.optim.step_epochs, 5);
    EXPECT_EQ(c.optim.gamma, 0.5);
    EXPECT_EQ(c.optim.min_lr, 1e-5);
    EXPECT_EQ(c.train.epochs, 20);
    EXPECT_EQ(c.train.batch_size, 128);
    EXPECT_EQ(c.train.threads, 2);
    EXPECT_EQ(c.train.log_every, 0.5);
    EXPECT_FALSE(c.train.checkpoint);
    EXPECT_EQ(c.output.dir, "runs/exp1");
    EXPECT_NO_THROW(validate(c));
}

TEST(Config, PartialFileKeepsOtherDefaults) {
    const Config c = parse_config("optim:\n  lr: 0.5\n", kOrigin);
    Config expected;
    expected.optim.lr = 0.5;
    expect_config_eq(c, expected);
}

TEST(Config, EmptyValueOfStringKeyIsEmptyString) {
    const Config c = parse_config("data:\n  path:\n  labels: ~\noutput:\n  dir: \"\"\n", kOrigin);
    EXPECT_EQ(c.data.path, "");
    EXPECT_EQ(c.data.labels, "");
    EXPECT_EQ(c.output.dir, "");
}

TEST(Config, DottedNameInFileIsTheSameKey) {
    EXPECT_EQ(parse_config("optim.lr: 0.25\n", kOrigin).optim.lr, 0.25);
    EXPECT_EQ(parse_error("optim:\n  lr: 0.1\noptim.lr: 0.2\n"),
              "configs/x.yaml:3: duplicate key 'optim.lr' (first at line 2)");
}

// --- unknown keys ----------------------------------------------------------

TEST(Config, UnknownKeyWithSuggestionAndLine) {
    EXPECT_EQ(parse_error("seed: 1\noptim:\n  type: adam\n  lrr: 0.1\n"),
              "configs/x.yaml:4: unknown key 'optim.lrr' (did you mean 'optim.lr'?)");
    // A key in the wrong section: the last component matches.
    EXPECT_EQ(parse_error("train:\n  epochs: 3\n  lr: 0.1\n"),
              "configs/x.yaml:3: unknown key 'train.lr' (did you mean 'optim.lr'?)");
    // A key at the top level that belongs in a section.
    EXPECT_EQ(parse_error("lr: 0.1\n"), "configs/x.yaml:1: unknown key 'lr' (did you mean 'optim.lr'?)");
    EXPECT_EQ(parse_error("sed: 3\n"), "configs/x.yaml:1: unknown key 'sed' (did you mean 'seed'?)");
    // Case slips are close.
    EXPECT_EQ(parse_error("data:\n  Test_Fraction: 0.1\n"),
              "configs/x.yaml:2: unknown key 'data.Test_Fraction' (did you mean 'data.test_fraction'?)");
    EXPECT_EQ(parse_error("model:\n  latent_dims: 8\n"),
              "configs/x.yaml:2: unknown key 'model.latent_dims' (did you mean 'model.latent_dim'?)");
}

TEST(Config, UnknownKeyWithoutCloseMatchHasNoSuggestion) {
    EXPECT_EQ(parse_error("optim:\n  lr: 0.1\n\n  frobnicate: 3\n"), "configs/x.yaml:4: unknown key 'optim.frobnicate'");
    EXPECT_EQ(parse_error("zzz: 1\n"), "configs/x.yaml:1: unknown key 'zzz'");
}

TEST(Config, UnknownSection) {
    EXPECT_EQ(parse_error("seed: 0\noptm:\n  lr: 0.1\n"),
              "configs/x.yaml:2: unknown section 'optm' (did you mean 'optim'?)");
    EXPECT_EQ(parse_error("trian:\n  epochs: 1\n"),
              "configs/x.yaml:1: unknown section 'trian' (did you mean 'train'?)");
}

// --- duplicates ------------------------------------------------------------

TEST(Config, DuplicateKey) {
    EXPECT_EQ(parse_error("optim:\n  type: sgd\n  lr: 0.1\n  momentum: 0.5\n  lr: 0.2\n"),
              "configs/x.yaml:5: duplicate key 'optim.lr' (first at line 3)");
    EXPECT_EQ(parse_error("seed: 1\ndata:\n  limit: 3\nseed: 2\n"),
              "configs/x.yaml:4: duplicate key 'seed' (first at line 1)");
    // A repeated section is a duplicate too (yaml-cpp would keep both).
    EXPECT_EQ(parse_error("optim:\n  lr: 0.1\ntrain:\n  epochs: 2\noptim:\n  type: sgd\n"),
              "configs/x.yaml:5: duplicate key 'optim' (first at line 1)");
    // Flow mappings as well.
    EXPECT_EQ(parse_error("optim: {lr: 0.1, lr: 0.2}\n"),
              "configs/x.yaml:1: duplicate key 'optim.lr' (first at line 1)");
}

// --- wrong types -----------------------------------------------------------

TEST(Config, WrongTypeStringForNumber) {
    EXPECT_EQ(parse_error("seed: 0\ndata:\n  limit: 5\noptim:\n  lr: fast\n"),
              "configs/x.yaml:5: optim.lr: expected a number, got 'fast'");
    EXPECT_EQ(parse_error("optim:\n  lr:\n"), "configs/x.yaml:2: optim.lr: expected a number, got an empty value");
    EXPECT_EQ(parse_error("optim:\n  lr: 0x10\n"), "configs/x.yaml:2: optim.lr: expected a number, got '0x10'");
    EXPECT_EQ(parse_error("optim:\n  lr: 1,5\n"), "configs/x.yaml:2: optim.lr: expected a number, got '1,5'");
}

TEST(Config, WrongTypeFloatForInteger) {
    EXPECT_EQ(parse_error("train:\n  epochs: 3.5\n"), "configs/x.yaml:2: train.epochs: expected an integer, got '3.5'");
    EXPECT_EQ(parse_error("train:\n  batch_size: many\n"),
              "configs/x.yaml:2: train.batch_size: expected an integer, got 'many'");
    EXPECT_EQ(parse_error("train:\n  epochs: .inf\n"), "configs/x.yaml:2: train.epochs: expected an integer, got '.inf'");
    EXPECT_EQ(parse_error("seed: 99999999999999999999\n"),
              "configs/x.yaml:1: seed: integer out of range (got 99999999999999999999)");
    // Documented choice: number literals that are exact integers are accepted.
    EXPECT_EQ(parse_config("train:\n  batch_size: 1e3\n", kOrigin).train.batch_size, 1000);
    EXPECT_EQ(parse_config("train:\n  epochs: 7.0\n", kOrigin).train.epochs, 7);
    EXPECT_EQ(parse_config("train:\n  epochs: +12\n", kOrigin).train.epochs, 12);
    // Decimal, never octal.
    EXPECT_EQ(parse_config("train:\n  epochs: 010\n", kOrigin).train.epochs, 10);
}

TEST(Config, WrongTypeMapOrSequenceForScalar) {
    EXPECT_EQ(parse_error("train:\n  epochs:\n    a: 1\n"),
              "configs/x.yaml:2: train.epochs: expected an integer, got a mapping");
    EXPECT_EQ(parse_error("data:\n  path: [a, b]\n"), "configs/x.yaml:2: data.path: expected a string, got a sequence");
    EXPECT_EQ(parse_error("seed:\n  - 1\n"), "configs/x.yaml:1: seed: expected an integer, got a sequence");
    EXPECT_EQ(parse_error("data:\n  center: maybe\n"),
              "configs/x.yaml:2: data.center: expected a bool (true or false), got 'maybe'");
}

TEST(Config, WrongStructure) {
    EXPECT_EQ(parse_error("seed: 1\noptim: 3\n"), "configs/x.yaml:2: optim: expected a mapping (a section), got '3'");
    EXPECT_EQ(parse_error("train:\n  - epochs\n"),
              "configs/x.yaml:1: train: expected a mapping (a section), got a sequence");
    EXPECT_EQ(parse_error("- a\n- b\n"),
              "configs/x.yaml:1: expected a mapping of sections at the top level, got a sequence");
    EXPECT_EQ(parse_error("just text\n"),
              "configs/x.yaml:1: expected a mapping of sections at the top level, got 'just text'");
    EXPECT_EQ(parse_error("seed: 1\n---\nseed: 2\n"), "configs/x.yaml:3: expected one YAML document, found 2");
}

// --- values out of range ---------------------------------------------------

TEST(Config, OutOfRangeValues) {
    EXPECT_EQ(parse_error("optim:\n  lr: -1\n"), "configs/x.yaml:2: optim.lr must be > 0 (got -1)");
    EXPECT_EQ(parse_error("optim:\n  lr: 0\n"), "configs/x.yaml:2: optim.lr must be > 0 (got 0)");
    EXPECT_EQ(parse_error("data:\n  test_fraction: 1\n"),
              "configs/x.yaml:2: data.test_fraction must be in [0, 1) (got 1)");
    EXPECT_EQ(parse_error("data:\n  test_fraction: -0.1\n"),
              "configs/x.yaml:2: data.test_fraction must be in [0, 1) (got -0.1)");
    EXPECT_EQ(parse_error("model:\n  latent_dim: 0\n"), "configs/x.yaml:2: model.latent_dim must be >= 1 (got 0)");
    EXPECT_EQ(parse_error("train:\n  batch_size: 0\n"), "configs/x.yaml:2: train.batch_size must be >= 1 (got 0)");
    EXPECT_EQ(parse_error("optim:\n  gamma: 0\n"), "configs/x.yaml:2: optim.gamma must be in (0, 1] (got 0)");
    EXPECT_EQ(parse_error("seed: -3\n"), "configs/x.yaml:1: seed must be >= 0 (got -3)");
    EXPECT_EQ(parse_error("train:\n  log_every: 0\n"), "configs/x.yaml:2: train.log_every must be > 0 (got 0)");
    // Boundaries that are allowed.
    EXPECT_EQ(parse_config("optim:\n  gamma: 1\n", kOrigin).optim.gamma, 1.0);
    EXPECT_EQ(parse_config("data:\n  test_fraction: 0\n", kOrigin).data.test_fraction, 0.0);
    EXPECT_EQ(parse_config("optim:\n  momentum: 0.999999\n", kOrigin).optim.momentum, 0.999999);
}

TEST(Config, NonFiniteNumbersRejected) {
    EXPECT_EQ(parse_error("optim:\n  lr: .nan\n"), "configs/x.yaml:2: optim.lr must be a finite number (got .nan)");
    EXPECT_EQ(parse_error("optim:\n  weight_decay: .inf\n"),
              "configs/x.yaml:2: optim.weight_decay must be a finite number (got .inf)");
    EXPECT_EQ(parse_error("data:\n  scale: inf\n"), "configs/x.yaml:2: data.scale must be a finite number (got inf)");
    EXPECT_EQ(parse_error("optim:\n  min_lr: -.inf\n"),
              "configs/x.yaml:2: optim.min_lr must be a finite number (got -.inf)");
    EXPECT_EQ(parse_error("optim:\n  lr: 1e999\n"), "configs/x.yaml:2: optim.lr: number out of range (got 1e999)");
}

TEST(Config, BadEnum) {
    EXPECT_EQ(parse_error("seed: 1\n\noptim:\n  type: adamw\n"),
              "configs/x.yaml:4: optim.type must be one of sgd, adam, lbfgs (got 'adamw')");
    EXPECT_EQ(parse_error("data:\n  source: MNIST\n"),
              "configs/x.yaml:2: data.source must be one of mnist, fashion-mnist, idx, npy, csv (got 'MNIST')");
    EXPECT_EQ(parse_error("model:\n  dtype: half\n"),
              "configs/x.yaml:2: model.dtype must be one of float32, float64 (got 'half')");
    EXPECT_EQ(parse_error("optim:\n  schedule:\n"),
              "configs/x.yaml:2: optim.schedule must be one of constant, step, cosine (got '')");
}

// --- YAML syntax -----------------------------------------------------------

TEST(Config, SyntaxErrorReportsLineAndColumn) {
    // yaml-cpp's marks are 0-based; the message is 1-based.
    EXPECT_EQ(parse_error("seed: 1\ndata:\n  source: mnist\n\tlimit: 3\n"),
              "configs/x.yaml:4:1: YAML syntax error: illegal tab when looking for indentation")
        << "(if yaml-cpp's own wording differs, only the part after 'YAML syntax error: ' may change)";
    const std::string flow = parse_error("seed: 1\noptim: {lr: 0.1\n");
    EXPECT_EQ(flow.rfind("configs/x.yaml:3:1: YAML syntax error: ", 0), 0u) << flow;
}

// --- --set overrides -------------------------------------------------------

TEST(Config, OverrideNumberBoolStringEnum) {
    EXPECT_EQ(with_override("optim.lr=1e-2").optim.lr, 1e-2);
    EXPECT_EQ(with_override("train.epochs=3").train.epochs, 3);
    EXPECT_TRUE(with_override("data.center=true").data.center);
    EXPECT_FALSE(with_override("train.checkpoint=false").train.checkpoint);
    EXPECT_EQ(with_override("data.path=/tmp/my data.csv").data.path, "/tmp/my data.csv");
    EXPECT_EQ(with_override("data.path='a: b'").data.path, "a: b");
    EXPECT_EQ(with_override("optim.type=sgd").optim.type, "sgd");
    EXPECT_EQ(with_override("seed=7").seed, 7);

    Config c;
    c.output.dir = "runs/x";
    apply_override(c, "output.dir=");  // empty value: empty string
    EXPECT_EQ(c.output.dir, "");

    // Later overrides win.
    apply_override(c, "optim.lr=0.5");
    apply_override(c, "optim.lr=0.25");
    EXPECT_EQ(c.optim.lr, 0.25);
}

TEST(Config, OverrideBadValues) {
    EXPECT_EQ(override_error("optim.lr=-1"), "--set optim.lr=-1: optim.lr must be > 0 (got -1)");
    EXPECT_EQ(override_error("optim.lr=fast"), "--set optim.lr=fast: optim.lr: expected a number, got 'fast'");
    EXPECT_EQ(override_error("optim.lr="), "--set optim.lr=: optim.lr: expected a number, got an empty value");
    EXPECT_EQ(override_error("optim.type=adamw"), "--set optim.type=adamw: optim.type must be one of sgd, adam, lbfgs (got 'adamw')");
    EXPECT_EQ(override_error("train.epochs=2.5"), "--set train.epochs=2.5: train.epochs: expected an integer, got '2.5'");
    EXPECT_EQ(override_error("data.path=[a, b]"), "--set data.path=[a, b]: data.path: expected a string, got a sequence");
    EXPECT_EQ(override_error("optim.lr=nan"), "--set optim.lr=nan: optim.lr must be a finite number (got nan)");
    const std::string syntax = override_error("data.path=\"open");
    EXPECT_EQ(syntax.rfind("--set data.path=\"open: YAML syntax error in the value: ", 0), 0u) << syntax;

    // A failed override leaves the config unchanged.
    Config c;
    EXPECT_THROW(apply_override(c, "optim.lr=-1"), ConfigError);
    expect_config_eq(c, Config{});
}

TEST(Config, OverrideUnknownKey) {
    EXPECT_EQ(override_error("optim.lrr=0.1"), "--set optim.lrr=0.1: unknown key 'optim.lrr' (did you mean 'optim.lr'?)");
    EXPECT_EQ(override_error("optm.lr=0.1"), "--set optm.lr=0.1: unknown key 'optm.lr' (did you mean 'optim.lr'?)");
    EXPECT_EQ(override_error("banana=1"), "--set banana=1: unknown key 'banana'");
    EXPECT_EQ(override_error("output=x"),
              "--set output=x: 'output' is a section, not a key; set one of output.dir");
}

TEST(Config, OverrideMalformed) {
    EXPECT_EQ(override_error("foo"), "--set foo: expected key.path=value");
    EXPECT_EQ(override_error("optim.lr"), "--set optim.lr: expected key.path=value");
    EXPECT_EQ(override_error("=3"), "--set =3: expected key.path=value");
    EXPECT_EQ(override_error(""), "--set : expected key.path=value");
}

// --- validate ----------------------------------------------------------------

TEST(Config, ValidateRechecksEveryValue) {
    Config c;
    c.optim.lr = -1;
    EXPECT_EQ(error_of([&] { validate(c); }), "optim.lr must be > 0 (got -1)");
    c = Config{};
    c.optim.beta2 = std::numeric_limits<double>::quiet_NaN();
    EXPECT_EQ(error_of([&] { validate(c); }), "optim.beta2 must be a finite number (got nan)");
    c = Config{};
    c.model.type = "vae";
    EXPECT_EQ(error_of([&] { validate(c); }),
              "model.type must be one of linear_autoencoder, nonlinear_autoencoder, mlp, gplvm, bayesian_gplvm (got 'vae')");
    c = Config{};
    c.train.threads = -1;
    EXPECT_EQ(error_of([&] { validate(c); }), "train.threads must be in [0, 256] (got -1)");
}

TEST(Config, ValidateCrossKeyMinLr) {
    Config c;
    c.optim.lr = 0.01;
    c.optim.min_lr = 0.01;
    EXPECT_NO_THROW(validate(c));
    c.optim.min_lr = 0.02;
    EXPECT_EQ(error_of([&] { validate(c); }), "optim.min_lr must be <= optim.lr (got optim.min_lr=0.02, optim.lr=0.01)");
}

// --- to_yaml -----------------------------------------------------------------

TEST(Config, ToYamlIsGroupedInTableOrder) {
    const std::string y = to_yaml(Config{});
    EXPECT_EQ(y.rfind("seed: 0\ndata:\n  source: mnist\n  path: \"\"\n  labels: \"\"\n  limit: 0\n", 0), 0u) << y;
    EXPECT_NE(y.find("\noptim:\n  type: adam\n  lr: 0.001\n"), std::string::npos) << y;
    EXPECT_NE(y.find("  eps: 1.0e-08\n"), std::string::npos) << y;
    EXPECT_NE(y.find("  log_every: 2.0\n"), std::string::npos) << y;
    EXPECT_NE(y.find("\noutput:\n  dir: \"\"\n"), std::string::npos) << y;
    // Reading the sections and keys back off the lines gives every key
    // once, in table order.
    std::vector<std::string> written;
    std::istringstream in(y);
    std::string section;
    for (std::string line; std::getline(in, line);) {
        const auto colon = line.find(':');
        ASSERT_NE(colon, std::string::npos) << line;
        if (line.rfind("  ", 0) == 0) {
            written.push_back(section + "." + line.substr(2, colon - 2));
        } else if (colon + 1 == line.size()) {
            section = line.substr(0, colon);
        } else {
            written.push_back(line.substr(0, colon));
        }
    }
    EXPECT_EQ(written, config_keys());
}

TEST(Config, RoundTripDefaults) {
    expect_config_eq(parse_config(to_yaml(Config{}), "resolved"), Config{});
}

TEST(Config, RoundTripNonDefaults) {
    Config c;
    c.seed = std::numeric_limits<long>::max();
    c.data.source = "fashion-mnist";
    c.data.path = "";
    c.data.labels = "yes";
    c.data.limit = 123456789012L;
    c.data.test_fraction = 0.1 + 0.2;  // 0.30000000000000004
    c.data.center = true;
    c.data.scale = 1.0 / 255.0;
    c.model.latent_dim = 3;
    c.model.dtype = "float64";
    c.model.init_scale = 5e-324;  // smallest subnormal
    c.optim.type = "sgd";
    c.optim.lr = 1.0 / 3.0;
    c.optim.momentum = 0.9;
    c.optim.nesterov = true;
    c.optim.beta1 = 0.0;
    c.optim.beta2 = 0.9999999999999999;
    c.optim.eps = 1e-300;
    c.optim.weight_decay = 1e300;
    c.optim.schedule = "cosine";
    c.optim.step_epochs = 1;
    c.optim.gamma = 1.0;
    c.optim.min_lr = 2.5e-7;
    c.train.epochs = 1;
    c.train.batch_size = 1;
    c.train.threads = 64;
    c.train.log_every = 123456789.125;
    c.train.checkpoint = false;
    c.output.dir = "runs/a: b # c \"q\" \\ \t\n end ü";
    const std::string y = to_yaml(c);
    const Config back = parse_config(y, "resolved");
    expect_config_eq(back, c);
    EXPECT_EQ(to_yaml(back), y);

    // Strings that YAML would read as something else are quoted.
    for (const char* s : {"", "123", "1e3", "true", "No", "null", "~", "-x", " lead", "trail ", "#x", "a#b",
                          "[a]", "{a}", "*x", "&x", "!x", "%x", "@x", "`x", "'x", "\"x", "a\\b", "\x01"}) {
        Config d;
        d.data.path = s;
        EXPECT_EQ(parse_config(to_yaml(d), "resolved").data.path, s) << to_yaml(d);
    }
    Config plain;
    plain.data.path = "data/mnist-v2_train.idx";
    EXPECT_NE(to_yaml(plain).find("  path: data/mnist-v2_train.idx\n"), std::string::npos);
}

// --- describe_keys / config_keys ---------------------------------------------

TEST(Config, KeysAreUniqueAndNoKeyIsAlsoASection) {
    const auto keys = config_keys();
    ASSERT_FALSE(keys.empty());
    EXPECT_EQ(keys.front(), "seed");
    std::set<std::string> unique(keys.begin(), keys.end());
    EXPECT_EQ(unique.size(), keys.size());
    for (const auto& a : keys)
        for (const auto& b : keys) EXPECT_NE(b.rfind(a + ".", 0), 0u) << a << " is a key and a section";
    for (const char* k : {"data.source", "model.latent_dim", "optim.lr", "optim.min_lr", "train.batch_size", "output.dir"})
        EXPECT_EQ(unique.count(k), 1u) << k;
}

TEST(Config, DescribeKeysHasOneLinePerKey) {
    const std::string d = describe_keys();
    std::vector<std::string> lines;
    std::istringstream in(d);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    const auto keys = config_keys();
    ASSERT_EQ(lines.size(), keys.size() + 1) << d;  // + header
    EXPECT_EQ(lines[0].rfind("key ", 0), 0u) << lines[0];
    for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(lines[i + 1].rfind(keys[i] + " ", 0), 0u) << lines[i + 1];
    const auto line_of = [&](const std::string& key) {
        for (const auto& l : lines)
            if (l.rfind(key + " ", 0) == 0) return l;
        return std::string();
    };
    const std::string lr = line_of("optim.lr");
    for (const char* part : {"number", "0.001", "> 0", "learning rate"}) EXPECT_NE(lr.find(part), std::string::npos) << lr;
    const std::string type = line_of("optim.type");
    for (const char* part : {"enum", "adam", "sgd, adam, lbfgs"}) EXPECT_NE(type.find(part), std::string::npos) << type;
    EXPECT_NE(line_of("data.test_fraction").find("[0, 1)"), std::string::npos);
    EXPECT_NE(line_of("train.epochs").find("integer"), std::string::npos);
    EXPECT_NE(line_of("train.checkpoint").find("true, false"), std::string::npos);
}

// --- load_config ---------------------------------------------------------------

TEST(Config, LoadConfigMissingFileOrDirectory) {
    const auto dir = scratch_dir("missing");
    const std::string nope = (dir / "nope.yaml").string();
    EXPECT_EQ(error_of([&] { load_config(nope); }), nope + ": cannot open: No such file or directory");
    EXPECT_EQ(error_of([&] { load_config(dir.string()); }), dir.string() + ": is a directory, expected a file");
    std::filesystem::remove_all(dir);
}

TEST(Config, LoadConfigParsesOverridesAndValidates) {
    const auto dir = scratch_dir("load");
    const std::string path = (dir / "x.yaml").string();
    write_file(path, "optim:\n  lr: 0.01\n  min_lr: 0.001\ntrain:\n  epochs: 4\n");

    const Config c = load_config(path, {"optim.lr=0.1", "train.epochs=3", "data.center=yes"});
    EXPECT_EQ(c.optim.lr, 0.1);
    EXPECT_EQ(c.optim.min_lr, 0.001);
    EXPECT_EQ(c.train.epochs, 3);
    EXPECT_TRUE(c.data.center);

    // Errors name the file and line, or the --set argument.
    write_file(path, "optim:\n  lr: 0.01\n  lrr: 1\n");
    EXPECT_EQ(error_of([&] { load_config(path); }), path + ":3: unknown key 'optim.lrr' (did you mean 'optim.lr'?)");
    write_file(path, "optim:\n  lr: 0.01\n  min_lr: 0.001\n");
    EXPECT_EQ(error_of([&] { load_config(path, {"optim.lr=-1"}); }), "--set optim.lr=-1: optim.lr must be > 0 (got -1)");
    // The cross-key rule is checked after the overrides.
    EXPECT_EQ(error_of([&] { load_config(path, {"optim.lr=0.0001"}); }),
              path + " with --set overrides: optim.min_lr must be <= optim.lr (got optim.min_lr=0.001, optim.lr=0.0001)");
    write_file(path, "optim:\n  lr: 0.01\n  min_lr: 0.1\n");
    EXPECT_EQ(error_of([&] { load_config(path); }),
              path + ": optim.min_lr must be <= optim.lr (got optim.min_lr=0.1, optim.lr=0.01)");
    EXPECT_NO_THROW(load_config(path, {"optim.min_lr=0"}));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace latentlab
