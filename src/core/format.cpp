#include "latentlab/core/format.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include <fmt/format.h>

namespace latentlab {

namespace {
// Length of the valid UTF-8 sequence starting at s[i] (0 if invalid):
// no overlong forms, no surrogates, nothing above U+10FFFF.
std::size_t utf8_length(const std::string& s, std::size_t i) {
    const auto at = [&](std::size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
    const unsigned c = at(i);
    const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
        return at(k) >= lo && at(k) <= hi;
    };
    if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
    if (c == 0xE0) return cont(i + 1, 0xA0) && cont(i + 2) ? 3 : 0;
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(i + 1) && cont(i + 2) ? 3 : 0;
    if (c == 0xED) return cont(i + 1, 0x80, 0x9F) && cont(i + 2) ? 3 : 0;
    if (c == 0xF0) return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3) return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    if (c == 0xF4) return cont(i + 1, 0x80, 0x8F) && cont(i + 2) && cont(i + 3) ? 4 : 0;
    return 0;
}

}  // namespace

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

std::string printable(const std::string& s, std::size_t max_bytes) {
    std::string out;
    const std::size_t n_in = std::min(s.size(), max_bytes);
    for (std::size_t i = 0; i < n_in; ++i) {
        const char ch = s[i];
        const auto u = static_cast<unsigned char>(ch);
        if (ch == '\n') out += "\\n";
        else if (ch == '\t') out += "\\t";
        else if (ch == '\r') out += "\\r";
        else if (u < 0x20 || u == 0x7f || (u >= 0x80 && utf8_length(s, i) == 0)) {
            out += format_byte_escape(u);
        } else if (u >= 0x80) {
            const std::size_t n = utf8_length(s, i);
            out.append(s, i, n);
            i += n - 1;
        } else out += ch;
    }
    if (n_in < s.size()) out += "… (" + std::to_string(s.size() - n_in) + " more bytes)";
    return out;
}


}  // namespace latentlab
