// Raw binary (de)serialisation of PODs and xtensor vectors for checkpoints.
#pragma once
#include <cstdint>
#include <istream>
#include <ostream>

#include <xtensor/xtensor.hpp>

#include "latentlab/core/error.hpp"

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
// Throws "checkpoint is truncated" unless `in` holds at least `bytes` more: a
// count read from the file is checked against what the file holds before
// anything is allocated for it. `in` must be seekable (checkpoints are read
// whole into an istringstream).
inline void check_available(std::istream& in, std::uint64_t bytes) {
    const std::istream::pos_type here = in.tellg();
    in.seekg(0, std::ios::end);
    const std::istream::pos_type end = in.tellg();
    in.seekg(here);
    if (here < 0 || end < here || static_cast<std::uint64_t>(end - here) < bytes)
        throw Error("checkpoint is truncated");
}

template <class T>
void put_vec(std::ostream& out, const xt::xtensor<T, 1>& x) {
    put<std::uint64_t>(out, x.size());
    out.write(reinterpret_cast<const char*>(x.data()), static_cast<std::streamsize>(x.size() * sizeof(T)));
}
template <class T>
void get_vec(std::istream& in, xt::xtensor<T, 1>& x) {
    auto n = get<std::uint64_t>(in);
    if (n != x.size()) throw Error("checkpoint does not match the model (parameter count differs)");
    if (!in.read(reinterpret_cast<char*>(x.data()), static_cast<std::streamsize>(n * sizeof(T))))
        throw Error("checkpoint is truncated");
}

}  // namespace latentlab::bin
