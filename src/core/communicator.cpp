#include "latentlab/core/communicator.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

#include "latentlab/core/error.hpp"

namespace latentlab {

namespace {
bool shared_error = false;
std::unique_ptr<Communicator>& world_ptr() {
    static std::unique_ptr<Communicator> w = std::make_unique<Communicator>();
    return w;
}
}  // namespace

void Communicator::abort(int code) const { std::_Exit(code); }

const Communicator& world() { return *world_ptr(); }
void set_world(std::unique_ptr<Communicator> c) { world_ptr() = c ? std::move(c) : std::make_unique<Communicator>(); }

double sum_all(double v) {
    world().sum(&v, 1);
    return v;
}
std::size_t sum_all(std::size_t v) {
    std::uint64_t u = v;
    world().sum(&u, 1);
    return static_cast<std::size_t>(u);
}

void sum_all(std::initializer_list<std::vector<double>*> vectors, std::initializer_list<double*> scalars) {
    if (world().size() == 1) return;
    std::vector<double> all;
    for (auto* v : vectors) all.insert(all.end(), v->begin(), v->end());
    for (auto* x : scalars) all.push_back(*x);
    world().sum(all.data(), all.size());
    auto at = all.begin();
    for (auto* v : vectors) {
        std::copy(at, at + static_cast<std::ptrdiff_t>(v->size()), v->begin());
        at += static_cast<std::ptrdiff_t>(v->size());
    }
    for (auto* x : scalars) *x = *at++;
}

std::size_t offset_of(std::size_t n) {
    const Communicator& w = world();
    if (w.size() == 1) return 0;
    std::vector<std::uint64_t> all(static_cast<std::size_t>(w.size()), 0);
    all[static_cast<std::size_t>(w.rank())] = n;
    w.sum(all.data(), all.size());
    std::size_t before = 0;
    for (int r = 0; r < w.rank(); ++r) before += all[static_cast<std::size_t>(r)];
    return before;
}

Shard shard(std::size_t n, int rank, int ranks) {
    const auto k = static_cast<std::size_t>(ranks), r = static_cast<std::size_t>(rank);
    const std::size_t base = n / k, extra = n % k;
    return {r * base + std::min(r, extra), base + (r < extra ? 1 : 0)};
}

bool error_is_shared() { return shared_error; }

int exit_code_of(const std::exception_ptr& e) {
    if (!e) return 0;
    try {
        std::rethrow_exception(e);
    } catch (const SilentExit&) {
        return -1;
    } catch (const ConfigError&) {
        return 2;
    } catch (const OptionError&) {
        return 2;
    } catch (const NumericalError&) {
        return 3;
    } catch (const Error&) {
        return 1;
    } catch (const std::bad_alloc&) {
        return 1;
    } catch (...) {
        return 4;
    }
}

namespace {
std::string message_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::bad_alloc&) {
        return "out of memory";
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "unknown error";
    }
}
}  // namespace

void agree(std::exception_ptr error) {
    const Communicator& w = world();
    // One process; or an error already agreed on, on its way out (the
    // others have left the collective that agreed on it).
    if (w.size() == 1 || (error && (shared_error || exit_code_of(error) < 0))) {
        if (error) std::rethrow_exception(error);
        return;
    }
    const auto K = static_cast<std::size_t>(w.size()), me = static_cast<std::size_t>(w.rank());
    std::vector<std::uint64_t> codes(K, 0);
    codes[me] = static_cast<std::uint64_t>(exit_code_of(error));
    w.sum(codes.data(), K);
    std::size_t first = K;
    for (std::size_t r = 0; r < K && first == K; ++r)
        if (codes[r] != 0) first = r;
    if (first == K) return;
    // The first failing rank's message, to rank 0 (every rank sends; only that one counts).
    const std::string msg = error ? message_of(error) : std::string();
    const std::vector<char> all = w.gather(msg.data(), me == first ? msg.size() : 0);
    const int code = static_cast<int>(codes[first]);
    shared_error = true;
    if (me != 0) throw SilentExit{code};
    if (first == 0) std::rethrow_exception(error);
    const std::string text = "rank " + std::to_string(first) + ": " + std::string(all.begin(), all.end());
    switch (code) {
        case 2: throw ConfigError(text);
        case 3: throw NumericalError(text);
        case 1: throw DataError(text);
        default: throw std::runtime_error(text);
    }
}

}  // namespace latentlab
