#include "latentlab/core/format.hpp"

#include <cstdlib>

#include <fmt/format.h>

namespace latentlab {

std::string format_g(double v, int precision) { return fmt::format("{:.{}g}", v, precision); }

std::string format_shortest(double v) {
    for (int p = 6; p < 17; ++p) {
        std::string s = format_g(v, p);
        if (std::strtod(s.c_str(), nullptr) == v) return s;
    }
    return format_g(v, 17);
}

std::string format_fixed(double v, int decimals) { return fmt::format("{:.{}f}", v, decimals); }

std::string format_sci(double v, int decimals) { return fmt::format("{:.{}e}", v, decimals); }

}  // namespace latentlab
