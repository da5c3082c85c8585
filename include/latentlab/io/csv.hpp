// Numeric CSV: one sample per row, comma-separated decimal numbers (as
// numpy.loadtxt reads them: no hexadecimal, none beyond double's range; spaces around cells are
// ignored), optional header line (a first line with no number in any cell:
// a first row with numbers and a typo is data, and the typo an error), '#'
// comment lines skipped. Every row must have the same number of
// cells. Result is an f64 RawTensor of shape {rows, cols}.
#pragma once
#include <string>
#include <vector>
#include "latentlab/io/raw_tensor.hpp"

namespace latentlab {

// Throws DataError "FILE:LINE: ..." for a ragged row or a non-numeric cell.
// "nan"/"inf" cells parse (to be rejected, with their position, by Dataset).
RawTensor read_csv(const std::string& path);

// The same, also giving the file's line number (1-based) of each data row,
// so that later checks (NaN/Inf) can name the line.
RawTensor read_csv(const std::string& path, std::vector<std::size_t>* row_lines);

}  // namespace latentlab
