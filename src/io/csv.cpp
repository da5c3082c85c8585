// Numeric CSV reader. The file is read whole, then parsed in place: cells are
// located by their offsets in the text and converted with strtod directly
// from it (a cell is bounded by ',', a line end or the string's NUL, none of
// which can extend a number), so no per-cell string is made.
#include "latentlab/io/csv.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "latentlab/core/error.hpp"
#include "latentlab/core/files.hpp"

namespace latentlab {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Parses text[b, e) as a whole decimal number; false if it is empty, anything
// is left over, it is hexadecimal (strtod reads 0x10 as 16) or beyond
// double's range (strtod's ±HUGE_VAL; NaN and Inf spelled out are read, and
// refused with the data's other checks).
bool parse_number(const char* b, const char* e, double& out) {
    if (b == e) return false;
    char* end = nullptr;
    errno = 0;
    out = std::strtod(b, &end);
    if (end != e || std::memchr(b, 'x', static_cast<std::size_t>(e - b)) || std::memchr(b, 'X', static_cast<std::size_t>(e - b)))
        return false;
    return !(errno == ERANGE && std::isinf(out));
}

std::string shown(const char* b, const char* e) {
    std::string s(b, e);
    if (s.size() > 40) s = s.substr(0, 40) + "...";
    for (char& c : s)  // one line of plain text, whatever the file holds
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
    return "'" + s + "'";
}

}  // namespace

RawTensor read_csv(const std::string& path) { return read_csv(path, nullptr); }

RawTensor read_csv(const std::string& path, std::vector<std::size_t>* row_lines) {
    if (row_lines) row_lines->clear();
    // DataError for a missing or unreadable file, a directory, a FIFO or device,
    // and a file larger than memory can hold (by its size, before reading).
    const std::string text = read_file(path);
    const char* const base = text.c_str();
    const std::size_t n = text.size();

    std::size_t pos = 0;
    if (n >= 3 && std::memcmp(base, "\xEF\xBB\xBF", 3) == 0) pos = 3;  // UTF-8 BOM (spreadsheet exports)

    RawTensor t;
    t.dtype = DType::f64;
    std::size_t cols = 0, cols_line = 0, rows = 0, header_line = 0;
    bool first_line = true;
    std::vector<std::pair<const char*, const char*>> cells;  // reused across lines

    for (std::size_t line_no = 1; pos < n; ++line_no) {
        std::size_t eol = text.find('\n', pos);
        if (eol == std::string::npos) eol = n;
        const char* b = base + pos;
        const char* e = base + eol;
        pos = eol + 1;
        while (b < e && is_blank(*b)) ++b;
        while (e > b && is_blank(e[-1])) --e;
        if (b == e || *b == '#') continue;  // empty or comment line

        cells.clear();
        for (const char* c = b;;) {
            const char* sep = static_cast<const char*>(std::memchr(c, ',', static_cast<std::size_t>(e - c)));
            const char* ce = sep ? sep : e;
            const char* cb = c;
            const char* cend = ce;
            while (cb < cend && is_blank(*cb)) ++cb;
            while (cend > cb && is_blank(cend[-1])) --cend;
            cells.emplace_back(cb, cend);
            if (!sep) break;
            c = sep + 1;
        }

        double v = 0.0;
        if (first_line) {
            first_line = false;
            // A header has no number in any cell; a first row with some
            // numbers and a typo is data, and its bad cell is named below.
            bool any_number = false;
            for (const auto& cell : cells) any_number = any_number || parse_number(cell.first, cell.second, v);
            if (!any_number) {  // a header line
                header_line = line_no;
                cols = cells.size();
                cols_line = line_no;
                continue;
            }
        }
        if (cols == 0) {
            cols = cells.size();
            cols_line = line_no;
        } else if (cells.size() != cols) {
            throw DataError(path + ":" + std::to_string(line_no) + ": row has " + std::to_string(cells.size()) +
                            (cells.size() == 1 ? " cell" : " cells") + ", expected " + std::to_string(cols) + " (as on line " +
                            std::to_string(cols_line) + ")");
        }

        if (rows == 0) {
            // Room for every line as a row, known before the first one is
            // stored: the values take ~8/(2·cols) times the text's bytes or
            // more (short cells), so a file within memory can still parse into
            // more than memory holds; refused here, with what it would take
            // (the values, and the copies training or apply makes of them).
            // Each row takes at least 2·cols bytes of text (a digit and a
            // separator per cell), so comment or blank lines do not count.
            const std::size_t lines = 1 + static_cast<std::size_t>(std::count(b, base + n, '\n'));
            const std::size_t rows_max = std::min(lines, (n - static_cast<std::size_t>(b - base) + 1) / (2 * cols));
            const long double bytes = static_cast<long double>(rows_max) * cols * sizeof(double);
            check_fits_in_memory(path, bytes * 3 > 1.8e19L ? UINT64_MAX : static_cast<std::uint64_t>(bytes * 3),
                                 "up to " + std::to_string(rows_max) + " rows of " + std::to_string(cols) +
                                     " numbers, as doubles with the copies made of them");
            t.bytes.reserve(static_cast<std::size_t>(bytes));
            if (row_lines) row_lines->reserve(rows_max);
        }
        const std::size_t at = t.bytes.size();
        t.bytes.resize(at + cols * sizeof(double));
        for (std::size_t j = 0; j < cols; ++j) {
            if (!parse_number(cells[j].first, cells[j].second, v))
                throw DataError(path + ":" + std::to_string(line_no) + ": column " + std::to_string(j + 1) + ": " +
                                shown(cells[j].first, cells[j].second) +
                                " is not a number (decimal, within double precision's range)");
            std::memcpy(t.bytes.data() + at + j * sizeof(double), &v, sizeof v);
        }
        ++rows;
        if (row_lines) row_lines->push_back(line_no);
    }

    if (rows == 0) {
        std::string why = header_line ? " (only a header, on line " + std::to_string(header_line) + ")"
                          : n == 0    ? " (empty file)"
                                      : "";
        throw DataError(path + ": no data rows" + why);
    }
    t.shape = {rows, cols};
    return t;
}

}  // namespace latentlab
