// The derivation checker: every formula of the homework (README, Reproducing
// the homework) — the final results and the intermediate ones — written as
// code in the homework's own form (single-sample column vectors and small
// matrices, n = 5, m = 3, N = 6, q = 2, D = 4, batch B = 6), and compared with
// central finite differences of the function it claims to differentiate, on
// random generic inputs (non-symmetric where a transpose could hide, e.g.
// ∂ log|K|/∂K on a non-symmetric K).
//
// Three kinds of rows:
//   correct          the homework's result; must match the finite differences
//   wrong_variant    a known-wrong hand-written form (the four listed ones seen in
//                    hand-written solutions: swish'(z) = z σ(z); ∇_W L = W r xᵀ
//                    alone; ∂L₁/∂X = −(α D / 2) K⁻¹ X; the K⁻² Y Yᵀ form of
//                    ∂L₂/∂X; plus a few of our own); must differ from them
//   equivalent_form  two expressions of the same quantity (the two listed pairs,
//                    W r xᵀ + a rᵀ = W (r xᵀ + x rᵀ) and the two forms of swish',
//                    plus the identities the homework uses: Woodbury, R Wᵀ =
//                    A(W Wᵀ − I), the two-trace form of L); must be equal
//
// Error measure: max_i |a_i − b_i| / max_i |b_i| (the largest entrywise error
// relative to the largest entry of the reference b: the finite differences,
// or the first form of an equivalent pair). Verdicts:
//   vs finite differences (h = 1e-5):  ≤ 1e-6 "matches FD", ≥ 1e-3 "differs
//                                       from FD", in between "inconclusive"
//   equivalent forms:                  ≤ 1e-12 "equal", else "not equal"
// A row passes when its actual verdict is the expected one. Double precision
// throughout; xt::linalg::inv/det are fine here (tiny matrices, setup-time code).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace latentlab {

enum class DerivationKind { correct, wrong_variant, equivalent_form };
enum class DerivationVerdict { matches_fd, differs_from_fd, inconclusive, equal, not_equal };

std::string to_string(DerivationKind k);
std::string to_string(DerivationVerdict v);

struct DerivationCheck {
    std::string problem;    // "1c", "1d", "2b", "2-Woodbury", "3", ...
    std::string name;       // what is differentiated, e.g. "∂L₁/∂X"
    std::string formula;    // in the homework's notation
    std::string reference;  // "finite differences" or the other form of the pair
    DerivationKind kind = DerivationKind::correct;
    bool listed = false;    // one of the listed wrong variants / equivalent pairs (above)
    double max_rel_error = 0.0;
    DerivationVerdict expected = DerivationVerdict::matches_fd;
    DerivationVerdict actual = DerivationVerdict::inconclusive;
    bool pass() const { return expected == actual; }
};

// Every check, in the homework's order (Problems 1, 2, 3). Inputs are drawn from `seed`.
std::vector<DerivationCheck> check_all_derivations(std::uint64_t seed);

struct DerivationSummary {
    std::size_t rows = 0, passed = 0;
    std::size_t correct = 0, correct_matching = 0;
    std::size_t wrong = 0, wrong_caught = 0, wrong_listed = 0, wrong_listed_caught = 0;
    std::size_t equivalent = 0, equivalent_equal = 0, equivalent_listed = 0,
                equivalent_listed_equal = 0;
    bool all_pass() const { return rows > 0 && passed == rows; }
};
DerivationSummary summarize(const std::vector<DerivationCheck>& checks);

// A Markdown table of the checks (pipes in formulas escaped) followed by a
// one-line summary.
std::string derivations_markdown(const std::vector<DerivationCheck>& checks);

}  // namespace latentlab
