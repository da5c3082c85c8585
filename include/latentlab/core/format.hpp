// Numbers as text, one way for the whole project (fmt, printf's conversions):
// the console, the log, messages, metrics.csv and summary.json.
#pragma once
#include <string>

namespace latentlab {

// printf's %.{precision}g: "0.001", "1e-05", "6.6382231".
std::string format_g(double v, int precision = 6);

// The shortest %.{p}g (p ≥ 6) that reads back to the same double, so that
// numpy and json.load recover the value exactly.
std::string format_shortest(double v);

// printf's %.{decimals}f and %.{decimals}e.
std::string format_fixed(double v, int decimals);
std::string format_sci(double v, int decimals);

}  // namespace latentlab
