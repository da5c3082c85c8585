// Typed configuration: one registration table of keys drives parsing,
// validation, `--set` overrides, the resolved YAML and `--list-keys`.
//
// To add a key: add the member (with its default) to the struct in
// config.hpp and one line to `table()` below. Nothing else lists keys.
//
// Parsing rules (yaml-cpp 0.7):
// - yaml-cpp accepts duplicate keys silently but keeps every pair when a map
//   is iterated, so duplicates are found by walking the pairs; unknown keys
//   are whatever the walk does not find in the table.
// - Scalars are converted here, not by yaml-cpp's `as<T>()` (which reads
//   "010" as octal 8, accepts hex and gives mark-less errors):
//     integer: a decimal literal ("12", "-3", "+4"), or any number literal
//              that is an exact integer ("1e3", "256.0"); "3.5", "0x10" are
//              the wrong type. Written "1e30" is out of range for a long.
//     number:  a decimal floating-point literal; .inf/.nan/inf/nan are read
//              and then rejected as not finite.
//     bool:    yaml-cpp's spelling (true/false, yes/no, on/off, y/n).
//     string:  any scalar, as written; an empty value (`key:`, `~`, null)
//              is the empty string.
//   A quoted scalar ("0.1") is read like a plain one.
// - A dotted name in the file (`optim.lr: 0.1` at the top level) is the
//   path it spells; it counts as the same key as `optim: {lr: ...}`.
// - The top level must be a mapping (an empty document gives the
//   defaults); a section may be empty (`optim:`), else it is a mapping.
#include "latentlab/config/config.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <type_traits>
#include <variant>
#include <vector>

#include "latentlab/core/error.hpp"
#include "latentlab/core/files.hpp"
#include "latentlab/core/format.hpp"

namespace latentlab {
namespace {

// ---------------------------------------------------------------------------
// The registration table
// ---------------------------------------------------------------------------

// A binding is a function returning a reference to the Config member; its
// type (long, double, bool, std::string) is the key's value type.
template <class T>
using Ref = T& (*)(Config&);
using Binding = std::variant<Ref<long>, Ref<double>, Ref<bool>, Ref<std::string>>;
using Value = std::variant<long, double, bool, std::string>;  // same order as Binding

// `field<&Config::optim, &OptimConfig::lr>` binds cfg.optim.lr;
// `top<&Config::seed>` binds a top-level member.
template <auto Section, auto Member>
constexpr auto field = +[](Config& c) -> auto& { return (c.*Section).*Member; };
template <auto Member>
constexpr auto top = +[](Config& c) -> auto& { return c.*Member; };

constexpr double kInf = std::numeric_limits<double>::infinity();

// Allowed values: an enumeration (strings) or an interval (numbers).
struct Rule {
    std::vector<std::string> allowed;  // non-empty: the key is an enum
    double lo = -kInf, hi = kInf;
    bool lo_open = false, hi_open = false;
};

Rule any() { return {}; }
Rule at_least(double lo) { Rule r; r.lo = lo; return r; }                   // [lo, inf)
Rule above(double lo) { Rule r; r.lo = lo; r.lo_open = true; return r; }    // (lo, inf)
Rule in_co(double lo, double hi) { Rule r; r.lo = lo; r.hi = hi; r.hi_open = true; return r; }  // [lo, hi)
Rule in_oc(double lo, double hi) { Rule r; r.lo = lo; r.hi = hi; r.lo_open = true; return r; }  // (lo, hi]
Rule in_cc(double lo, double hi) { Rule r; r.lo = lo; r.hi = hi; return r; }                   // [lo, hi]
Rule one_of(std::initializer_list<const char*> values) {
    Rule r;
    r.allowed.assign(values.begin(), values.end());
    return r;
}

struct Key {
    const char* name;  // dotted path, e.g. "optim.lr"
    Binding ref;
    Rule rule;
    const char* help;
};

const std::vector<Key>& table() {
    // clang-format off
    static const std::vector<Key> keys = {
        {"seed",               top<&Config::seed>,                          at_least(0),  "random seed (initialisation, shuffling, test split)"},

        {"data.source",        field<&Config::data, &DataConfig::source>,        one_of({"mnist", "fashion-mnist", "idx", "npy", "csv"}),
                                                                                                 "dataset: a built-in set or a file format"},
        {"data.path",          field<&Config::data, &DataConfig::path>,          any(),          "file (idx/npy/csv) or directory (mnist, fashion-mnist); empty = default"},
        {"data.labels",        field<&Config::data, &DataConfig::labels>,        any(),          "labels file (idx/npy/csv); empty = the set's own labels, if any"},
        {"data.limit",         field<&Config::data, &DataConfig::limit>,         at_least(0),    "use `limit` samples, a seeded random subset (0 = all)"},
        {"data.test_fraction", field<&Config::data, &DataConfig::test_fraction>, in_co(0, 1),    "fraction held out for testing (0 = no test split)"},
        {"data.test_path",     field<&Config::data, &DataConfig::test_path>,     any(),          "a separate test file (idx/npy/csv; its rows follow the training rows in rows.npy); empty = none"},
        {"data.test_labels",   field<&Config::data, &DataConfig::test_labels>,   any(),          "labels file of data.test_path"},
        {"data.center",        field<&Config::data, &DataConfig::center>,        any(),          "subtract the training mean"},
        {"data.scale",         field<&Config::data, &DataConfig::scale>,         at_least(0),    "multiply values by this; 0 = auto (1/255 for u8 IDX, else 1)"},

        {"model.type",         field<&Config::model, &ModelConfig::type>,        one_of({"linear_autoencoder", "nonlinear_autoencoder", "mlp", "gplvm", "bayesian_gplvm"}),
                                                                                                 "model to train"},
        {"model.latent_dim",   field<&Config::model, &ModelConfig::latent_dim>,  at_least(1),    "latent dimension m (rows of W)"},
        {"model.dtype",        field<&Config::model, &ModelConfig::dtype>,       one_of({"float32", "float64"}),
                                                                                                 "floating-point type of data and parameters"},
        {"model.init_scale",   field<&Config::model, &ModelConfig::init_scale>,  in_oc(0, 1e6),  "initial weights W0 ~ N(0, init_scale^2) (larger ones overflow the loss)"},
        {"model.objective",    field<&Config::model, &ModelConfig::objective>,   one_of({"rows", "second_moment"}), "linear_autoencoder: rows = the loss of each batch's rows (minibatch SGD/Adam); second_moment = the exact full-data loss from C = X^T X, formed once, O(m n^2) per evaluation whatever N (use optim.type lbfgs)"},
        {"model.warm_start",   field<&Config::model, &ModelConfig::warm_start>,  in_cc(0, 50),   "linear_autoencoder with objective second_moment: W starts from this many steps of subspace iteration on C from the random W (W <- orthonormal rows of W C; timed: summary.json init_seconds); 0 = the random W"},
        {"model.activation",   field<&Config::model, &ModelConfig::activation>,  one_of({"auto", "identity", "sigmoid", "tanh", "relu", "swish"}), "nonlinear_autoencoder, mlp: elementwise f (auto: sigmoid for the AE, swish for the MLP)"},
        {"model.hidden",       field<&Config::model, &ModelConfig::hidden>,      at_least(1),    "mlp: hidden units"},
        {"model.classes",      field<&Config::model, &ModelConfig::classes>,     at_least(2),    "mlp: output classes (labels in 0..classes-1)"},
        {"model.kernel",       field<&Config::model, &ModelConfig::kernel>,      one_of({"auto", "linear", "rbf", "rbf_ard"}), "gplvm, bayesian_gplvm: covariance function (auto: linear for gplvm, rbf_ard for bayesian_gplvm; linear is ARD in bayesian_gplvm)"},
        {"model.inference",    field<&Config::model, &ModelConfig::inference>,   one_of({"collapsed", "stochastic"}), "bayesian_gplvm: collapsed bound on the full data (L-BFGS), or stochastic: mini-batches of train.batch_size with an explicit q(u) (adam)"},
        {"model.inducing",     field<&Config::model, &ModelConfig::inducing>,    at_least(1),    "bayesian_gplvm: inducing points M (cost per evaluation O(N M^2 q + N M D))"},
        {"model.method",       field<&Config::model, &ModelConfig::method>,      one_of({"auto", "dense", "woodbury"}), "gplvm: dense Cholesky, or O(NqD) Woodbury (linear kernel); auto = woodbury when linear"},
        {"model.init",         field<&Config::model, &ModelConfig::init>,        one_of({"pca", "random"}), "gplvm: initial latents: PCA scores (unit variance) or N(0, init_scale^2)"},
        {"model.learn_hyperparameters", field<&Config::model, &ModelConfig::learn_hyperparameters>, any(), "gplvm: also optimise the kernel hyperparameters and the noise (see model.hyper_transform); bayesian_gplvm always does"},
        {"model.variance",     field<&Config::model, &ModelConfig::variance>,    above(0),       "gplvm, bayesian_gplvm: alpha (linear; every alpha_j in bayesian_gplvm) or signal variance sigma_f^2 (rbf), initial value if learned"},
        {"model.lengthscale",  field<&Config::model, &ModelConfig::lengthscale>, above(0),       "gplvm, bayesian_gplvm: rbf lengthscale (every one for rbf_ard), initial value if learned"},
        {"model.noise_variance", field<&Config::model, &ModelConfig::noise_variance>, above(0),  "gplvm, bayesian_gplvm: noise variance sigma^2 = 1/beta, initial value if learned"},
        {"model.hyper_transform", field<&Config::model, &ModelConfig::hyper_transform>, one_of({"log", "softplus"}), "gplvm: learned hyperparameters as exp(theta) (block log_hyper) or softplus(theta) = log(1 + exp(theta)) (block softplus_hyper, GPy's Logexp)"},

        {"optim.type",         field<&Config::optim, &OptimConfig::type>,        one_of({"sgd", "adam", "lbfgs"}),
                                                                                                 "optimiser"},
        {"optim.lr",           field<&Config::optim, &OptimConfig::lr>,          above(0),       "learning rate"},
        {"optim.momentum",     field<&Config::optim, &OptimConfig::momentum>,    in_co(0, 1),    "sgd: momentum (0 = plain SGD)"},
        {"optim.nesterov",     field<&Config::optim, &OptimConfig::nesterov>,    any(),          "sgd: Nesterov momentum"},
        {"optim.beta1",        field<&Config::optim, &OptimConfig::beta1>,       in_co(0, 1),    "adam: decay rate of the first-moment estimate"},
        {"optim.beta2",        field<&Config::optim, &OptimConfig::beta2>,       in_co(0, 1),    "adam: decay rate of the second-moment estimate"},
        {"optim.eps",          field<&Config::optim, &OptimConfig::eps>,         above(0),       "adam: added to sqrt(v) in the denominator"},
        {"optim.weight_decay", field<&Config::optim, &OptimConfig::weight_decay>, at_least(0),   "decoupled weight decay (AdamW-style for adam, L2 for sgd)"},
        {"optim.schedule",     field<&Config::optim, &OptimConfig::schedule>,    one_of({"constant", "step", "cosine"}),
                                                                                                 "learning-rate schedule"},
        {"optim.step_epochs",  field<&Config::optim, &OptimConfig::step_epochs>, at_least(1),    "step: multiply lr by gamma every step_epochs epochs"},
        {"optim.gamma",        field<&Config::optim, &OptimConfig::gamma>,       in_oc(0, 1),    "step: factor applied to lr"},
        {"optim.min_lr",       field<&Config::optim, &OptimConfig::min_lr>,      at_least(0),    "cosine: final learning rate (<= optim.lr)"},
        {"optim.max_iterations", field<&Config::optim, &OptimConfig::max_iterations>, at_least(1), "lbfgs: iterations (one metrics row each; train.epochs is not used)"},
        {"optim.max_evaluations", field<&Config::optim, &OptimConfig::max_evaluations>, at_least(0), "lbfgs: objective evaluations in all, line searches included (0 = no limit; scipy's maxfun)"},
        {"optim.grad_tol",     field<&Config::optim, &OptimConfig::grad_tol>,    at_least(0),    "lbfgs: stop when max |gradient| <= grad_tol"},
        {"optim.rel_tol",      field<&Config::optim, &OptimConfig::rel_tol>,     at_least(0),    "lbfgs: stop when an iteration's decrease <= rel_tol * max(|f|, 1)"},
        {"optim.history",      field<&Config::optim, &OptimConfig::history>,     at_least(1),    "lbfgs: curvature pairs kept"},

        {"train.epochs",       field<&Config::train, &TrainConfig::epochs>,      at_least(1),    "passes over the training set"},
        {"train.batch_size",   field<&Config::train, &TrainConfig::batch_size>,  at_least(1),    "samples per minibatch"},
        {"train.threads",      field<&Config::train, &TrainConfig::threads>,     in_cc(0, 256),  "BLAS threads (0 = all cores; at most 256)"},
        {"train.step_threads", field<&Config::train, &TrainConfig::step_threads>, one_of({"auto", "all"}), "minibatch steps with 2+ threads: auto times the first epoch's steps 8-55, alternately on all threads and on one, and keeps the faster by median step, trying again after each epoch that chose one (only where that cannot change the results); all: every thread"},
        {"train.log_every",    field<&Config::train, &TrainConfig::log_every>,   above(0),       "seconds between progress lines when not on a terminal"},
        {"train.checkpoint",   field<&Config::train, &TrainConfig::checkpoint>,  any(),          "write checkpoint.bin (resumable) with the parameters and metrics.csv"},
        {"train.checkpoint_every", field<&Config::train, &TrainConfig::checkpoint_every>, at_least(0), "write the run's state every this many epochs/iterations (0: by train.write_share only); always after epoch 0 and at the end"},
        {"train.write_share", field<&Config::train, &TrainConfig::write_share>, in_oc(0, 1), "also write it after an epoch whenever writing stays below this share of the run's time (1: every epoch)"},

        {"output.dir",         field<&Config::output, &OutputConfig::dir>,       any(),          "run directory; empty = runs/<config name>"},
    };
    // clang-format on
    return keys;
}

// Rules that involve more than one key (checked by validate()).
void check_cross_rules(const Config& c);

// ---------------------------------------------------------------------------
// Table helpers
// ---------------------------------------------------------------------------

enum class Kind { integer, number, boolean, string, enumeration };

Kind kind_of(const Key& k) {
    switch (k.ref.index()) {
        case 0: return Kind::integer;
        case 1: return Kind::number;
        case 2: return Kind::boolean;
        default: return k.rule.allowed.empty() ? Kind::string : Kind::enumeration;
    }
}

const char* kind_name(Kind kind) {
    switch (kind) {
        case Kind::integer: return "integer";
        case Kind::number: return "number";
        case Kind::boolean: return "bool";
        case Kind::string: return "string";
        case Kind::enumeration: return "enum";
    }
    return "?";
}

const Key* find_key(const std::string& name) {
    for (const Key& k : table())
        if (name == k.name) return &k;
    return nullptr;
}

// A section is a proper prefix of some key ("optim" for "optim.lr").
bool is_section(const std::string& path) {
    const std::string prefix = path + ".";
    for (const Key& k : table())
        if (std::string(k.name).compare(0, prefix.size(), prefix) == 0) return true;
    return false;
}

// All section names, each placed before its first key (table order).
std::vector<std::string> sections_and_keys() {
    std::vector<std::string> out;
    for (const Key& k : table()) {
        const std::string name = k.name;
        for (std::size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
            const std::string section = name.substr(0, dot);
            if (std::find(out.begin(), out.end(), section) == out.end()) out.push_back(section);
        }
        out.push_back(name);
    }
    return out;
}

Value get(const Key& k, const Config& c) {
    // Bindings take Config& so one function serves reading and writing;
    // reading through them does not modify `c`.
    return std::visit([&](auto ref) -> Value { return ref(const_cast<Config&>(c)); }, k.ref);
}

void set(const Key& k, Config& c, const Value& v) {
    std::visit(
        [&](auto ref) {
            using T = std::remove_reference_t<decltype(ref(c))>;
            ref(c) = std::get<T>(v);
        },
        k.ref);
}

// ---------------------------------------------------------------------------
// Text helpers
// ---------------------------------------------------------------------------

std::string lower(std::string s) {
    for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

std::string trim(const std::string& s) {
    const char* ws = " \t\r\n";
    const auto b = s.find_first_not_of(ws);
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Keeps a message on one line of valid text (core/format.hpp).
std::string one_line(const std::string& s) { return printable(s, std::string::npos); }

std::string quoted(const std::string& s) { return "'" + one_line(s) + "'"; }

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
    return out;
}

// The shortest "%.<p>g" text (p <= 17 = max_digits10) that reads back to
// exactly `x`: 0.0001 rather than 1e-04, 1e-08, 0.30000000000000004.
// Locale-independent.
std::string shortest(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    return format_shortest(x, 1);
}

// Levenshtein distance (case-insensitive: the caller lower-cases).
std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string last_component(const std::string& path) {
    const auto dot = path.rfind('.');
    return dot == std::string::npos ? path : path.substr(dot + 1);
}

// The candidate closest to `unknown`, or "" when none is close. Compares
// the full dotted names (close if distance <= max(2, len/3)) and, to catch
// a key put in the wrong section ("train.lr"), the last components (close
// if distance <= max(1, len/3)); a name that extends another or is cut short
// of it by any amount is close too, when the shorter has >= 4 characters
// and both are at the same depth ("optimizer" -> "optim"), scored by the
// length difference. Ties go to the closer full name, then to
// table order.
std::string did_you_mean(const std::string& unknown, const std::vector<std::string>& candidates) {
    const std::string u = lower(unknown), u_last = last_component(u);
    std::string best;
    std::size_t best_score = std::numeric_limits<std::size_t>::max(), best_full = best_score;
    for (const std::string& cand : candidates) {
        const std::string c = lower(cand);
        const std::size_t full = edit_distance(u, c);
        std::size_t score = std::numeric_limits<std::size_t>::max();
        if (full <= std::max<std::size_t>(2, u.size() / 3)) score = full;
        // One name extends the other ("optimizer" for "optim", "epoch" for "epochs").
        // Same depth only: "optim" is not a guess for "optim.frobnicate".
        const std::size_t shorter = std::min(u.size(), c.size());
        if (shorter >= 4 && u.compare(0, shorter, c, 0, shorter) == 0 &&
            std::count(u.begin(), u.end(), '.') == std::count(c.begin(), c.end(), '.'))
            score = std::min(score, u.size() + c.size() - 2 * shorter);
        if (u.find('.') != std::string::npos || c.find('.') != std::string::npos) {
            const std::size_t last = edit_distance(u_last, last_component(c));
            if (last <= std::max<std::size_t>(1, u_last.size() / 3)) score = std::min(score, last);
        }
        if (score < best_score || (score == best_score && score != std::numeric_limits<std::size_t>::max() &&
                                   full < best_full)) {
            best = cand;
            best_score = score;
            best_full = full;
        }
    }
    return best;
}

std::string unknown_key_message(const std::string& what, const std::string& name,
                                 const std::vector<std::string>& candidates) {
    std::string msg = "unknown " + what + " " + quoted(name);
    const std::string guess = did_you_mean(name, candidates);
    if (!guess.empty()) msg += " (did you mean " + quoted(guess) + "?)";
    return msg;
}

// ---------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------

enum class Parsed { ok, wrong_type, out_of_range };

// Decimal floating-point literal, or a YAML/C spelling of inf/nan.
Parsed parse_number(const std::string& s, double& out) {
    const std::string l = lower(s);
    if (l == ".inf" || l == "+.inf") { out = kInf; return Parsed::ok; }
    if (l == "-.inf") { out = -kInf; return Parsed::ok; }
    if (l == ".nan") { out = std::numeric_limits<double>::quiet_NaN(); return Parsed::ok; }
    const char* first = s.data();
    const char* last = s.data() + s.size();
    if (first != last && *first == '+') ++first;  // from_chars takes no '+'
    if (first == last || *first == '+' || (first != s.data() && *first == '-')) return Parsed::wrong_type;
    const auto res = std::from_chars(first, last, out);  // general format: no hex
    if (res.ptr != last || res.ptr == first) return Parsed::wrong_type;
    if (res.ec == std::errc::result_out_of_range) return Parsed::out_of_range;
    return res.ec == std::errc() ? Parsed::ok : Parsed::wrong_type;
}

Parsed parse_integer(const std::string& s, long& out) {
    const char* first = s.data();
    const char* last = s.data() + s.size();
    if (first != last && *first == '+') ++first;
    if (first == last || *first == '+' || (first != s.data() && *first == '-')) return Parsed::wrong_type;
    const auto res = std::from_chars(first, last, out, 10);
    if (res.ptr == last && res.ptr != first) {
        return res.ec == std::errc::result_out_of_range ? Parsed::out_of_range : Parsed::ok;
    }
    // Not a plain decimal integer: accept a number literal that is an exact
    // integer ("1e3", "256.0").
    double x = 0;
    const Parsed p = parse_number(s, x);
    if (p != Parsed::ok) return p;
    if (!std::isfinite(x) || x != std::floor(x)) return Parsed::wrong_type;
    // 2^63 is exactly representable; long covers [-2^63, 2^63).
    if (x < -9223372036854775808.0 || x >= 9223372036854775808.0) return Parsed::out_of_range;
    out = static_cast<long>(x);
    return Parsed::ok;
}

std::string range_text(const Rule& r) {
    const bool has_lo = r.lo > -kInf, has_hi = r.hi < kInf;
    if (has_lo && has_hi)
        return std::string(r.lo_open ? "(" : "[") + shortest(r.lo) + ", " + shortest(r.hi) + (r.hi_open ? ")" : "]");
    if (has_lo) return std::string(r.lo_open ? "> " : ">= ") + shortest(r.lo);
    if (has_hi) return std::string(r.hi_open ? "< " : "<= ") + shortest(r.hi);
    return "";
}

// The problem with value `v` of key `k` ("" if none). `got` is the value as
// the user wrote it (or as formatted, in validate()).
std::string check_value(const Key& k, const Value& v, const std::string& got) {
    const Rule& r = k.rule;
    if (const auto* s = std::get_if<std::string>(&v)) {
        if (!r.allowed.empty() && std::find(r.allowed.begin(), r.allowed.end(), *s) == r.allowed.end())
            return std::string(k.name) + " must be one of " + join(r.allowed, ", ") + " (got " + quoted(got) + ")";
        return "";
    }
    double x = 0;
    if (const auto* d = std::get_if<double>(&v)) {
        if (!std::isfinite(*d)) return std::string(k.name) + " must be a finite number (got " + got + ")";
        x = *d;
    } else if (const auto* i = std::get_if<long>(&v)) {
        x = static_cast<double>(*i);
    } else {
        return "";  // bool
    }
    const bool low = r.lo_open ? !(x > r.lo) : !(x >= r.lo);
    const bool high = r.hi_open ? !(x < r.hi) : !(x <= r.hi);
    if (low || high) {
        const std::string range = range_text(r);
        const bool interval = range[0] == '[' || range[0] == '(';
        return std::string(k.name) + " must be " + (interval ? "in " : "") + range + " (got " + got + ")";
    }
    return "";
}

std::string describe_node(const YAML::Node& n) {
    switch (n.Type()) {
        case YAML::NodeType::Sequence: return "a sequence";
        case YAML::NodeType::Map: return "a mapping";
        case YAML::NodeType::Scalar: return quoted(n.Scalar());
        default: return "an empty value";
    }
}

// Converts and checks the value of key `k`; `where` ("file:line" or
// "--set ...") starts any error message.
Value decode(const Key& k, const YAML::Node& node, const std::string& where) {
    const Kind kind = kind_of(k);
    const auto wrong_type = [&](const std::string& expected) {
        return ConfigError(where + ": " + k.name + ": expected " + expected + ", got " + describe_node(node));
    };
    const char* expected = "";
    switch (kind) {
        case Kind::integer: expected = "an integer"; break;
        case Kind::number: expected = "a number"; break;
        case Kind::boolean: expected = "a bool (true or false)"; break;
        case Kind::string: expected = "a string"; break;
        case Kind::enumeration: expected = "a string"; break;
    }
    if ((kind == Kind::string || kind == Kind::enumeration) && node.IsNull()) {
        const Value v = std::string();
        const std::string problem = check_value(k, v, "");
        if (!problem.empty()) throw ConfigError(where + ": " + problem);
        return v;
    }
    if (!node.IsScalar()) throw wrong_type(expected);
    const std::string& text = node.Scalar();

    Value v;
    switch (kind) {
        case Kind::integer: {
            long i = 0;
            const Parsed p = parse_integer(text, i);
            if (p == Parsed::wrong_type) throw wrong_type(expected);
            if (p == Parsed::out_of_range)
                throw ConfigError(where + ": " + k.name + ": integer out of range (got " + one_line(text) + ")");
            v = i;
            break;
        }
        case Kind::number: {
            double d = 0;
            const Parsed p = parse_number(text, d);
            if (p == Parsed::wrong_type) throw wrong_type(expected);
            if (p == Parsed::out_of_range)
                throw ConfigError(where + ": " + k.name + ": number out of range (got " + one_line(text) + ")");
            v = d;
            break;
        }
        case Kind::boolean: {
            bool b = false;
            if (!YAML::convert<bool>::decode(node, b)) throw wrong_type(expected);
            v = b;
            break;
        }
        case Kind::string:
        case Kind::enumeration: v = text; break;
    }
    const std::string problem = check_value(k, v, kind == Kind::enumeration ? text : one_line(text));
    if (!problem.empty()) throw ConfigError(where + ": " + problem);
    return v;
}

// ---------------------------------------------------------------------------
// Reading a document
// ---------------------------------------------------------------------------

// yaml-cpp 0.7's LoadAll loops forever on some malformed text: a stray flow
// indicator where a document may start (",x", "{a: 1},") makes the parser
// return empty documents without consuming it, and LoadAll collects them
// until memory runs out. So the documents are first walked here as events,
// one at a time, and a document that starts where the previous one stopped
// is the syntax error it is; only then is the first one built, by Load.
struct DocumentInfo {
    YAML::Mark mark;       // of its first event
    bool empty = true;     // nothing but a null (an empty document, "~", "null")
};

class DocumentScanner : public YAML::EventHandler {
public:
    std::vector<DocumentInfo> docs;
    std::size_t last_pos = 0;  // of the latest event
    bool any_event = false;

    void OnDocumentStart(const YAML::Mark&) override { docs.emplace_back(); first_ = true; }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t) override { event(m, true); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { event(m, false); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { event(m, false); }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        event(m, false);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        event(m, false);
    }
    void OnMapEnd() override {}

    // The latest document made no progress: an empty one at the very
    // position where the previous document's last event was.
    bool stalled(std::size_t previous_pos, bool previous_any) const {
        const DocumentInfo& d = docs.back();
        return docs.size() >= 2 && d.empty && previous_any && static_cast<std::size_t>(d.mark.pos) <= previous_pos;
    }

private:
    void event(const YAML::Mark& m, bool null) {
        if (first_ && !docs.empty()) {
            docs.back().mark = m;
            docs.back().empty = null;
            first_ = false;
        }
        last_pos = static_cast<std::size_t>(m.pos);
        any_event = true;
    }
    bool first_ = false;
};

[[noreturn]] void throw_syntax_error(const std::string& origin, const YAML::Mark& mark, const std::string& msg) {
    std::string where = origin;
    if (!mark.is_null()) where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    throw ConfigError(where + ": YAML syntax error: " + one_line(msg));
}

// The documents of `text` (ConfigError "ORIGIN:LINE:COL: YAML syntax error"
// for malformed text), and the first one as a node (Null if there is none).
std::vector<DocumentInfo> load_documents(const std::string& text, const std::string& origin, YAML::Node& first) {
    DocumentScanner scanner;
    try {
        std::istringstream in(text);
        YAML::Parser parser(in);
        for (;;) {
            const std::size_t previous_pos = scanner.last_pos;
            const bool previous_any = scanner.any_event;
            if (!parser.HandleNextDocument(scanner)) break;
            // A real document takes at least one character ("---" takes 3).
            if (scanner.stalled(previous_pos, previous_any) || scanner.docs.size() > text.size() + 1) {
                const YAML::Mark m = scanner.docs.back().mark;
                const std::size_t pos = static_cast<std::size_t>(m.pos);
                throw_syntax_error(origin, m,
                                   pos < text.size() ? "unexpected " + quoted(std::string(1, text[pos]))
                                                     : "unexpected end of the text");
            }
        }
        first = scanner.docs.empty() ? YAML::Node() : YAML::Load(text);
    } catch (const YAML::Exception& e) {
        throw_syntax_error(origin, e.mark, e.msg);
    }
    return scanner.docs;
}

int line_of(const YAML::Node& n) { return n.Mark().is_null() ? -1 : n.Mark().line + 1; }

class DocumentReader {
public:
    DocumentReader(const std::string& origin, Config& cfg) : origin_(origin), cfg_(cfg) {}

    // Walks a mapping whose keys are relative to `prefix` ("" = top level).
    void walk(const YAML::Node& map, const std::string& prefix) {
        for (const auto& pair : map) {
            // Every pair, duplicates included (yaml-cpp 0.7 keeps them all).
            const YAML::Node key = pair.first;
            const YAML::Node value = pair.second;
            const int line = line_of(key);
            if (!key.IsScalar()) throw error(line, "expected a key name, got " + describe_node(key));
            const std::string path = prefix.empty() ? key.Scalar() : prefix + "." + key.Scalar();

            const auto [first, inserted] = seen_.emplace(path, line);
            if (!inserted)
                throw error(line, "duplicate key " + quoted(path) + " (first at line " +
                                      std::to_string(first->second) + ")");

            if (const Key* k = find_key(path)) {
                set(*k, cfg_, decode(*k, value, where(line)));
            } else if (is_section(path)) {
                if (value.IsMap()) walk(value, path);
                else if (!value.IsNull())
                    throw error(line, path + ": expected a mapping (a section), got " + describe_node(value));
            } else if (value.IsMap()) {
                // A mapping is meant as a section: suggest sections only.
                std::vector<std::string> sections;
                for (const std::string& name : sections_and_keys())
                    if (is_section(name)) sections.push_back(name);
                throw error(line, unknown_key_message("section", path, sections));
            } else {
                throw error(line, unknown_key_message("key", path, sections_and_keys()));
            }
        }
    }

    ConfigError error(int line, const std::string& what) const { return ConfigError(where(line) + ": " + what); }

    std::string where(int line) const { return line < 0 ? origin_ : origin_ + ":" + std::to_string(line); }

private:
    const std::string& origin_;
    Config& cfg_;
    std::map<std::string, int> seen_;  // path -> line of first occurrence
};

std::string format_yaml_string(const std::string& s) {
    // Plain only when no YAML reader could take it for anything but a
    // string: safe characters, not starting like a number or an indicator,
    // not a YAML 1.1 null/bool word.
    static const char* const words[] = {"null", "true", "false", "yes", "no", "on", "off", "y", "n"};
    bool plain = !s.empty() && std::isalpha(static_cast<unsigned char>(s[0])) != 0;
    for (char ch : s)
        plain = plain && (std::isalnum(static_cast<unsigned char>(ch)) || std::strchr("_-./+", ch) != nullptr);
    if (plain)
        for (const char* w : words) plain = plain && lower(s) != w;
    if (plain) return s;
    std::string out = "\"";
    for (char ch : s) {
        const auto u = static_cast<unsigned char>(ch);
        if (ch == '"') out += "\\\"";
        else if (ch == '\\') out += "\\\\";
        else if (ch == '\n') out += "\\n";
        else if (ch == '\t') out += "\\t";
        else if (ch == '\r') out += "\\r";
        else if (u < 0x20 || u == 0x7f) {
            out += format_byte_escape(u);
        } else out += ch;
    }
    return out + "\"";
}

// A value as YAML text that parse_config reads back exactly.
std::string format_yaml(const Value& v) {
    if (const auto* i = std::get_if<long>(&v)) return std::to_string(*i);
    if (const auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
    if (const auto* s = std::get_if<std::string>(&v)) return format_yaml_string(*s);
    const double d = std::get<double>(v);
    if (std::isnan(d)) return ".nan";
    if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
    // Always with a '.' in the mantissa ("2.0", "1.0e-08"): YAML 1.1 readers
    // such as PyYAML take "1e-08" for a string.
    std::string t = shortest(d);
    const auto e = t.find('e');
    if (t.find('.') == std::string::npos) t.insert(e == std::string::npos ? t.size() : e, ".0");
    return t;
}

std::string allowed_text(const Key& k) {
    if (!k.rule.allowed.empty()) return join(k.rule.allowed, ", ");
    if (kind_of(k) == Kind::boolean) return "true, false";
    const std::string range = range_text(k.rule);
    return range.empty() ? "any" : range;
}

// Keys grouped into a tree by their dotted names, in table order.
struct TreeNode {
    std::string name;
    const Key* key = nullptr;
    std::vector<TreeNode> children;
};

TreeNode key_tree() {
    TreeNode root;
    for (const Key& k : table()) {
        TreeNode* node = &root;
        std::string rest = k.name;
        for (;;) {
            const auto dot = rest.find('.');
            const std::string part = rest.substr(0, dot);
            auto it = std::find_if(node->children.begin(), node->children.end(),
                                   [&](const TreeNode& c) { return c.name == part; });
            if (it == node->children.end()) {
                node->children.push_back(TreeNode{part, nullptr, {}});
                it = node->children.end() - 1;
            }
            node = &*it;
            if (dot == std::string::npos) break;
            rest = rest.substr(dot + 1);
        }
        node->key = &k;
    }
    return root;
}

void emit(const TreeNode& node, const Config& cfg, const std::string& indent, std::string& out) {
    for (const TreeNode& child : node.children) {
        if (child.key) {
            out += indent + child.name + ": " + format_yaml(get(*child.key, cfg)) + "\n";
        } else {
            out += indent + child.name + ":\n";
            emit(child, cfg, indent + "  ", out);
        }
    }
}

void check_cross_rules(const Config& c) {
    if (c.model.type == "bayesian_gplvm" && c.model.inference == "stochastic") {
        if (c.optim.type == "lbfgs")
            throw ConfigError("model.inference stochastic trains on mini-batches: set optim.type to adam or sgd "
                              "(lbfgs needs the full batch: model.inference collapsed)");
        if (c.optim.weight_decay != 0)
            throw ConfigError("optim.weight_decay must be 0 with model.inference stochastic (it would shrink the "
                              "rows' q(x), which are not the optimiser's to step)");
    }
    if (c.optim.min_lr > c.optim.lr)
        throw ConfigError("optim.min_lr must be <= optim.lr (got optim.min_lr=" + shortest(c.optim.min_lr) +
                          ", optim.lr=" + shortest(c.optim.lr) + ")");
}

}  // namespace

// ---------------------------------------------------------------------------
// Public interface
// ---------------------------------------------------------------------------

Config parse_config(const std::string& yaml_text, const std::string& origin) {
    YAML::Node root;
    const std::vector<DocumentInfo> docs = load_documents(yaml_text, origin, root);
    Config cfg;
    DocumentReader reader(origin, cfg);
    for (std::size_t i = 1; i < docs.size(); ++i)
        if (!docs[i].empty)
            throw reader.error(docs[i].mark.line + 1, "expected one YAML document, found " + std::to_string(docs.size()));
    if (root.IsNull()) return cfg;  // empty document: defaults
    if (!root.IsMap()) {
        const int line = line_of(root);
        throw reader.error(line < 0 ? 1 : line,
                           "expected a mapping of sections at the top level, got " + describe_node(root));
    }
    reader.walk(root, "");
    return cfg;
}

void apply_override(Config& cfg, const std::string& assignment) {
    const std::string where = "--set " + one_line(assignment);
    const auto eq = assignment.find('=');
    const std::string name = eq == std::string::npos ? "" : trim(assignment.substr(0, eq));
    if (name.empty()) throw ConfigError(where + ": expected key.path=value");

    const Key* k = find_key(name);
    if (!k) {
        const std::vector<std::string> keys = config_keys();
        if (is_section(name)) {
            std::vector<std::string> inside;
            for (const std::string& key : keys)
                if (key.compare(0, name.size() + 1, name + ".") == 0) inside.push_back(key);
            throw ConfigError(where + ": " + quoted(name) + " is a section, not a key; set one of " +
                              join(inside, ", "));
        }
        throw ConfigError(where + ": " + unknown_key_message("key", name, keys));
    }

    YAML::Node node;
    std::vector<DocumentInfo> docs;
    try {
        docs = load_documents(assignment.substr(eq + 1), where, node);
    } catch (const ConfigError& e) {
        // "--set k=v:1:2: YAML syntax error: ..." -> "--set k=v: YAML syntax error in the value: ..."
        const std::string msg = e.what();
        const auto at = msg.find(": YAML syntax error: ");
        throw ConfigError(where + ": YAML syntax error in the value: " +
                          (at == std::string::npos ? msg : msg.substr(at + 21)));
    }
    if (docs.size() > 1)
        throw ConfigError(where + ": expected one value, found " + std::to_string(docs.size()) + " YAML documents");
    set(*k, cfg, decode(*k, node, where));  // decode first: cfg unchanged on error
}

void validate(const Config& cfg) {
    for (const Key& k : table()) {
        const Value v = get(k, cfg);
        std::string got;
        if (const auto* d = std::get_if<double>(&v)) got = shortest(*d);
        else if (const auto* i = std::get_if<long>(&v)) got = std::to_string(*i);
        else if (const auto* s = std::get_if<std::string>(&v)) got = *s;
        const std::string problem = check_value(k, v, got);
        if (!problem.empty()) throw ConfigError(problem);
    }
    check_cross_rules(cfg);
}

// Configs are a few hundred bytes; a file of more than this is the wrong file
// (a dataset, a log), refused by its size before it is read.
constexpr std::uint64_t kMaxConfigBytes = std::uint64_t{1} << 20;

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
    std::string text;
    try {
        // A regular file only (a FIFO would block, /dev/zero never end), and a
        // bounded one: yaml-cpp holds the text and its node tree in memory.
        text = read_file(path, kMaxConfigBytes);
    } catch (const DataError& e) {
        throw ConfigError(e.what());  // the config is the user's to fix: exit code 2
    }

    // A file of the wrong kind, before YAML quotes its bytes back at the user.
    if (const auto nul = text.find('\0'); nul != std::string::npos)
        throw ConfigError(path + ": not a YAML config: binary data (a NUL byte at offset " + std::to_string(nul) +
                          ")");
    // An empty file is a mistake (the wrong file, or one not yet written),
    // not a request for every default.
    bool empty = true;
    try {
        YAML::Node first;
        for (const DocumentInfo& doc : load_documents(text, path, first)) empty = empty && doc.empty;
    } catch (const ConfigError&) {
        empty = false;  // parse_config reports it
    }
    if (empty) throw ConfigError(path + ": empty config (no keys); see `train --list-keys` for what to set");

    Config cfg = parse_config(text, path);
    for (const std::string& o : overrides) apply_override(cfg, o);
    try {
        validate(cfg);
    } catch (const ConfigError& e) {
        throw ConfigError(path + (overrides.empty() ? "" : " with --set overrides") + ": " + e.what());
    }
    return cfg;
}

std::string to_yaml(const Config& cfg) {
    std::string out;
    emit(key_tree(), cfg, "", out);
    return out;
}

std::string describe_keys() {
    const Config defaults;
    std::vector<std::vector<std::string>> rows = {{"key", "type", "default", "allowed", "help"}};
    for (const Key& k : table())
        rows.push_back({k.name, kind_name(kind_of(k)), format_yaml(get(k, defaults)), allowed_text(k), k.help});
    std::vector<std::size_t> width(rows[0].size(), 0);
    for (const auto& row : rows)
        for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            line += row[c];
            if (c + 1 < row.size()) line += std::string(width[c] - row[c].size() + 2, ' ');
        }
        out += line + "\n";
    }
    return out;
}

std::vector<std::string> config_keys() {
    std::vector<std::string> names;
    for (const Key& k : table()) names.emplace_back(k.name);
    return names;
}

}  // namespace latentlab
