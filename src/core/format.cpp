#include "latentlab/core/format.hpp"

#include <charconv>

#include <fmt/format.h>

namespace latentlab {

std::string format_g(double v, int precision) { return fmt::format("{:.{}g}", v, precision); }

std::string format_shortest(double v, int min_precision) {
    for (int p = min_precision; p < 17; ++p) {
        std::string s = format_g(v, p);
        double back = 0;
        std::from_chars(s.data(), s.data() + s.size(), back);
        if (back == v) return s;
    }
    return format_g(v, 17);
}

std::string format_fixed(double v, int decimals) { return fmt::format("{:.{}f}", v, decimals); }

std::string format_sci(double v, int decimals) { return fmt::format("{:.{}e}", v, decimals); }

std::string format_hex(unsigned long v, int digits) { return fmt::format("0x{:0{}X}", v, digits); }

std::string format_byte_escape(unsigned char c) { return fmt::format("\\x{:02x}", c); }

}  // namespace latentlab
