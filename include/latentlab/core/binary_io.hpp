// Raw binary (de)serialisation of PODs and xtensor vectors for checkpoints,
// and the checks every reader of such a file makes before it trusts a value:
// a count is checked against the bytes left before it sizes an allocation (a
// corrupt count must not ask for 2⁴⁰ bytes), a vector's length against the
// length its user expects, its values for NaN and Inf. Errors are Error
// ("... is truncated", "... has 5 entries, expected 7"); the caller names the
// file.
#pragma once
#include <cmath>
#include <cstdint>
#include <istream>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "latentlab/core/error.hpp"
#include "latentlab/core/format.hpp"

namespace latentlab::bin {

template <class V>
void put(std::ostream& out, const V& v) {
    out.write(reinterpret_cast<const char*>(&v), sizeof(V));
}
template <class V>
V get(std::istream& in) {
    V v{};
    if (!in.read(reinterpret_cast<char*>(&v), sizeof(V))) throw Error("checkpoint is truncated");
    return v;
}
template <class T>
void put_vec(std::ostream& out, const xt::xtensor<T, 1>& x) {
    put<std::uint64_t>(out, x.size());
    out.write(reinterpret_cast<const char*>(x.data()), static_cast<std::streamsize>(x.size() * sizeof(T)));
}

// Bytes left in `in` after its read position (a stream over a string or a
// file); the largest count when the stream cannot tell (its reads still fail
// at the end).
inline std::uint64_t remaining(std::istream& in) {
    const auto pos = in.tellg();
    if (pos < 0) return std::numeric_limits<std::uint64_t>::max();
    in.seekg(0, std::ios::end);
    const auto end = in.tellg();
    in.seekg(pos);
    return end > pos ? static_cast<std::uint64_t>(end - pos) : 0;
}

// Throws unless `count` values of `size` bytes are left in `in`; `what` names
// them ("Adam's m").
inline void need(std::istream& in, std::uint64_t count, std::size_t size, const std::string& what) {
    const std::uint64_t left = remaining(in);
    if (count > left / size)
        throw Error("checkpoint is truncated: " + what + " claims " + std::to_string(count) + " values of " +
                    std::to_string(size) + " bytes, " + std::to_string(left) + " bytes are left");
}

// `count` raw values (no length prefix), checked against the bytes left first.
template <class V>
std::vector<V> get_array(std::istream& in, std::uint64_t count, const std::string& what) {
    need(in, count, sizeof(V), what);
    std::vector<V> v(count);
    if (!in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(count * sizeof(V))))
        throw Error("checkpoint is truncated");
    return v;
}

// A vector written by put_vec, which must have `expected` entries: the count
// is checked against `expected` and the bytes left before anything is
// allocated; `what` names it in errors ("Adam's m").
template <class T>
xt::xtensor<T, 1> get_vec(std::istream& in, std::size_t expected, const std::string& what) {
    const auto n = get<std::uint64_t>(in);
    if (n != expected)
        throw Error(what + " has " + std::to_string(n) + " entries, the model has " + std::to_string(expected) +
                    " parameters");
    need(in, n, sizeof(T), what);
    xt::xtensor<T, 1> x = xt::xtensor<T, 1>::from_shape({n});
    if (!in.read(reinterpret_cast<char*>(x.data()), static_cast<std::streamsize>(n * sizeof(T))))
        throw Error("checkpoint is truncated");
    return x;
}

// Index of the first NaN or Inf among p[0, n), or n if there is none.
template <class T>
std::size_t first_non_finite(const T* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(p[i])) return i;
    return n;
}

// Throws unless every entry of `x` (a vector or tensor) is finite: state read
// back must be numbers, or the first step turns it into a NaN that the run
// would blame on its learning rate.
template <class C>
void require_finite(const C& x, const std::string& what) {
    const std::size_t i = first_non_finite(x.data(), x.size());
    if (i < x.size())
        throw Error(what + " holds a non-finite value (" + format_g(static_cast<double>(x.data()[i])) +
                    " at entry " + std::to_string(i) + ")");
}

// Throws unless a count read from a file (a step count, an epoch) lies in
// [0, max]: beyond it the number is damage, not progress.
inline void require_count(std::int64_t v, std::int64_t max, const std::string& what) {
    if (v < 0) throw Error(what + " " + std::to_string(v) + " is negative");
    if (v > max) throw Error(what + " " + std::to_string(v) + " is absurd (more than " + std::to_string(max) + ")");
}

// 2^53: the last count a double holds exactly (Adam's t enters β^t as one).
constexpr std::int64_t kMaxExactCount = std::int64_t{1} << 53;

// Throws unless `in` is exhausted: a section that must fill the rest of its
// stream (an optimiser's state, the last section of a checkpoint) and
// leaves bytes over was not written by this reader's writer.
inline void require_end(std::istream& in, const std::string& what) {
    if (const std::uint64_t left = remaining(in); left > 0)
        throw Error("checkpoint is corrupt: " + std::to_string(left) + " unexpected bytes after " + what);
}

}  // namespace latentlab::bin
