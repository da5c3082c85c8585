// Numbers as text, one way for the whole project (fmt, printf's conversions):
// the console, the log, messages, metrics.csv and summary.json.
#pragma once
#include <string>

namespace latentlab {

// printf's %.{precision}g: "0.001", "1e-05", "6.6382231".
std::string format_g(double v, int precision = 6);

// The shortest %.{p}g (p ≥ min_precision) that reads back to the same
// double, so that numpy, json.load and YAML readers recover the value exactly.
// Locale-independent.
std::string format_shortest(double v, int min_precision = 6);

// printf's %.{decimals}f and %.{decimals}e.
std::string format_fixed(double v, int decimals);
std::string format_sci(double v, int decimals);

// "0x" and `digits` upper-case hex digits (file magic numbers in messages).
std::string format_hex(unsigned long v, int digits);

// A byte as an escape for messages: \x1b.
std::string format_byte_escape(unsigned char c);

// `s` as one printable line: control characters and bytes that are not valid
// UTF-8 escaped (\n, \x1b), at most `max_bytes` of it kept ("… (N more bytes)").
std::string printable(const std::string& s, std::size_t max_bytes);

}  // namespace latentlab
