// `derivations [--seed N]`: checks every formula of the homework (README,
// Reproducing the homework) against central finite differences
// (analysis/derivations.hpp), prints the Markdown table, and exits 1 if any
// row's verdict is not the expected one (2 on a usage error).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "latentlab/tools/derivations.hpp"

int main(int argc, char** argv) {
    std::uint64_t seed = 20240601;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            try {
                seed = std::stoull(argv[++i]);
            } catch (const std::exception&) {
                std::fprintf(stderr, "derivations: --seed needs a non-negative integer\n");
                return 2;
            }
        } else {
            std::fprintf(stderr, "usage: derivations [--seed N]\n");
            return std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0 ? 0 : 2;
        }
    }
    try {
        const auto checks = latentlab::check_all_derivations(seed);
        std::fputs(latentlab::derivations_markdown(checks).c_str(), stdout);
        return latentlab::summarize(checks).all_pass() ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "derivations: %s\n", e.what());
        return 1;
    }
}
