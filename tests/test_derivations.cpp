// Tests of the derivation checker (analysis/derivations.hpp): on several
// seeds every row has its expected verdict — each correct formula of the
// homework (README, Reproducing the homework) matches finite differences, each
// listed wrong variant is caught, each equivalent pair is equal to 1e-12 — and
// the Markdown table is well formed.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "latentlab/tools/derivations.hpp"

using namespace latentlab;

TEST(Derivations, EveryRowHasItsExpectedVerdict) {
    for (std::uint64_t seed : {1u, 2u, 3u, 20240601u}) {
        SCOPED_TRACE(::testing::Message() << "seed " << seed);
        const auto checks = check_all_derivations(seed);
        for (const auto& c : checks)
            EXPECT_TRUE(c.pass()) << c.problem << " " << c.name << ": " << c.formula << " — "
                                  << to_string(c.actual) << " (" << c.max_rel_error << ")";
        const DerivationSummary s = summarize(checks);
        EXPECT_TRUE(s.all_pass());
        EXPECT_EQ(s.wrong_listed, 4u);  // the four listed wrong variants (derivations.hpp)
        EXPECT_EQ(s.wrong_listed_caught, 4u);
        EXPECT_GE(s.wrong, 4u);
        EXPECT_EQ(s.wrong_caught, s.wrong);
        EXPECT_EQ(s.equivalent_listed, 2u);
        EXPECT_EQ(s.equivalent_listed_equal, 2u);
        EXPECT_EQ(s.correct_matching, s.correct);
        EXPECT_GE(s.correct, 30u);
    }
}

TEST(Derivations, MarginsAreWide) {
    // Correct rows far below the 1e-6 threshold, wrong ones far above 1e-3.
    for (const auto& c : check_all_derivations(7)) {
        switch (c.kind) {
            case DerivationKind::correct: EXPECT_LT(c.max_rel_error, 1e-8) << c.name; break;
            case DerivationKind::wrong_variant: EXPECT_GT(c.max_rel_error, 0.05) << c.name; break;
            case DerivationKind::equivalent_form: EXPECT_LT(c.max_rel_error, 1e-13) << c.name; break;
        }
    }
}

TEST(Derivations, CoversEveryPartOfTheHomework) {
    const auto checks = check_all_derivations(1);
    std::set<std::string> problems, formulas;
    for (const auto& c : checks) {
        problems.insert(c.problem);
        formulas.insert(c.formula);
    }
    for (const char* p : {"1c", "1d", "1-nonlinear", "2", "2b", "2d", "2e", "2-Woodbury", "2-RBF", "3"})
        EXPECT_TRUE(problems.count(p)) << p;
    // the homework's results (Problems 1–3), verbatim
    for (const char* f : {"W r xᵀ + a rᵀ", "Aᵀ R + (R Wᵀ)ᵀ X", "S W + W Wᵀ P − 2 P", "K⁻ᵀ",
                          "−K⁻ᵀ Mᵀ K⁻ᵀ", "−α D K⁻¹ X", "α K⁻¹ Y Yᵀ K⁻¹ X",
                          "−α D K⁻¹ X + α K⁻¹ Y Yᵀ K⁻¹ X", "½ (K⁻¹ Y Yᵀ K⁻¹ − D K⁻¹)",
                          "β I − α β² X M⁻¹ Xᵀ", "−N log β + log|M|", "softmax(z₂) − onehot(y)",
                          "(∂L/∂z₂) h₁ᵀ", "W₂ᵀ (∂L/∂z₂)", "swish'(z₁) ⊙ ∂L/∂h₁", "(∂L/∂z₁) xᵀ",
                          "swish(z) + σ(z)(1 − swish(z))", "σ(z)(1 + z − z σ(z))", "W r xᵀ",
                          "(α/2)(K⁻² Y Yᵀ + Y Yᵀ K⁻²) X", "−(α D / 2) K⁻¹ X", "z σ(z)",
                          "W (r xᵀ + x rᵀ)"})
        EXPECT_TRUE(formulas.count(f)) << f;
}

TEST(Derivations, MarkdownTable) {
    const auto checks = check_all_derivations(1);
    const std::string md = derivations_markdown(checks);
    std::istringstream in(md);
    std::string line;
    std::size_t table_lines = 0;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] != '|') continue;
        ++table_lines;
        // 10 columns: 11 unescaped pipes on every line (log|K| is escaped)
        std::size_t pipes = 0;
        for (std::size_t i = 0; i < line.size(); ++i)
            if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++pipes;
        EXPECT_EQ(pipes, 11u) << line;
    }
    EXPECT_EQ(table_lines, checks.size() + 2);
    EXPECT_NE(md.find("log\\|K\\|"), std::string::npos);
    EXPECT_NE(md.find("4/4 of the listed ones"), std::string::npos) << md;
    EXPECT_NE(md.find("2/2 listed pairs"), std::string::npos) << md;
    EXPECT_EQ(md.find("FAIL"), std::string::npos);
}
