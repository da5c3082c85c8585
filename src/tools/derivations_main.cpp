// `derivations [--seed N]`: checks every formula of the homework (README,
// Reproducing the homework) against central finite differences
// (analysis/derivations.hpp), prints the Markdown table, and exits 1 if any
// row's verdict is not the expected one (2 on a usage error).
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "latentlab/tools/derivations.hpp"

namespace {
const char* const kHelp =
    "usage: derivations [--seed N]\n"
    "\n"
    "Checks every formula of the homework (the autoencoder's loss and gradient, the\n"
    "GPLVM's likelihood and gradients, the Swish network's backpropagation, and the\n"
    "wrong derivations it must catch) against central finite differences at random\n"
    "points drawn from --seed (default 20240601), prints one Markdown table row per\n"
    "check with its relative error and verdict, and exits 0 when every verdict is\n"
    "the expected one (the wrong derivations must fail), 1 otherwise, 2 on a usage\n"
    "error. README, Reproducing the homework, explains the rows.\n";
}  // namespace

int main(int argc, char** argv) {
    std::uint64_t seed = 20240601;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            std::fputs(kHelp, stdout);
            return 0;
        }
        if (std::strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            // Digits only, within 64 bits (stoull would take -1, 12abc or 1e5).
            const std::string v = argv[++i];
            const bool digits = !v.empty() && v.size() <= 20 && v.find_first_not_of("0123456789") == std::string::npos;
            errno = 0;
            char* end = nullptr;
            const unsigned long long n = digits ? std::strtoull(v.c_str(), &end, 10) : 0;
            if (!digits || errno == ERANGE) {
                std::fprintf(stderr, "derivations: --seed needs a non-negative integer below 2^64, not '%s'\n",
                             v.substr(0, 40).c_str());
                return 2;
            }
            seed = n;
        } else {
            std::fprintf(stderr, "derivations: unknown argument '%s' (usage: derivations [--seed N]; see --help)\n",
                         std::string(argv[i]).substr(0, 40).c_str());
            return 2;
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
