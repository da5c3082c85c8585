#include "latentlab/train/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>
#include <streambuf>
#include <string_view>

#include "latentlab/io/npy.hpp"
#include "latentlab/core/binary_io.hpp"
#include "latentlab/core/checksum.hpp"
#include "latentlab/core/communicator.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/files.hpp"
#include "latentlab/core/format.hpp"

namespace latentlab {

// The file, format 2 (numbers in the writing machine's byte order):
//   "LLCKPT01"        what the file is (the same 8 bytes since format 1)
//   u32 version       2; format 1 had sizeof(T), 4 or 8, here, which is how
//                     a format-1 file is recognised
//   u64 size          of the whole file: a short file is named truncated
//   u32 sizeof(T), model name, optimiser name (u32 length + bytes each)
//   i64 epoch, i64 step, f64 seconds
//   the parameters (u64 count + values)
//   the optimiser's state, up to the trailer (Optimizer::save_state)
//   u32 CRC-32 of every byte of the file except these four
//   "END!"
// Format 1 (no size, no checksum) is not read: its bytes cannot be verified,
// and a run rewrites its checkpoint every epoch, so only runs stopped before
// format 2 hold one; they start again.
namespace {
constexpr char kMagic[8] = {'L', 'L', 'C', 'K', 'P', 'T', '0', '1'};
constexpr std::uint32_t kVersion = 2;
constexpr char kEnd[4] = {'E', 'N', 'D', '!'};
constexpr std::size_t kHeaderBytes = 8 + 4 + 8;  // magic, version, size
constexpr std::size_t kTrailerBytes = 4 + 4;     // CRC, "END!"
// Counts beyond these are damage, not progress (bin::require_count).
constexpr std::int64_t kMaxEpoch = 1000000000;
constexpr std::int64_t kMaxStep = bin::kMaxExactCount;

void put_string(std::ostream& out, const std::string& s) {
    bin::put<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
    out.write(s.data(), static_cast<std::streamsize>(s.size()));
}
std::string get_string(std::istream& in, const std::string& what) {
    const auto n = bin::get<std::uint32_t>(in);
    if (n > 4096) throw Error("checkpoint is corrupt: " + what + " of " + std::to_string(n) + " bytes");
    bin::need(in, n, 1, what);
    std::string s(n, '\0');
    if (!in.read(s.data(), n)) throw Error("checkpoint is truncated");
    return s;
}

template <class V>
V read_at(std::string_view b, std::size_t offset) {
    V v;
    std::memcpy(&v, b.data() + offset, sizeof(V));
    return v;
}

// The CRC the trailer holds: of the whole file but the CRC itself.
std::uint32_t file_crc(std::string_view b) {
    return crc32(b.substr(b.size() - 4), crc32(b.substr(0, b.size() - kTrailerBytes)));
}

// Throws unless `b` is a whole, undamaged checkpoint of this format, with
// the one message that says what it is instead. The checksum comes first:
// the checks before it read the unverified header only to choose the message
// for a file that does not verify (another file, a format-1 checkpoint, a
// truncated one, a damaged one), never to read anything from it.
void verify(std::string_view b) {
    const std::size_t size = b.size();
    const bool magic_ok = b.substr(0, sizeof kMagic) == std::string_view(kMagic, sizeof kMagic).substr(0, size);
    const bool end_ok = size >= sizeof kEnd && b.substr(size - sizeof kEnd) == std::string_view(kEnd, sizeof kEnd);
    // One flipped bit cannot break both ends: a file with neither is not ours.
    if (!magic_ok && !end_ok) throw Error("not a LatentLab checkpoint");
    if (magic_ok && size >= 12) {
        // Format 2's version (2) is two bits away from 4 and from 8.
        const auto word = read_at<std::uint32_t>(b, 8);
        if (word == 4 || word == 8)
            throw Error("checkpoint format 1 (from an older LatentLab) has no checksum, so it cannot be verified; "
                        "start the run again with --force");
    }
    if (size < kHeaderBytes + kTrailerBytes)
        throw Error("checkpoint is truncated (" + std::to_string(size) + " bytes; a checkpoint has at least " +
                    std::to_string(kHeaderBytes + kTrailerBytes) + ")");
    const auto declared = read_at<std::uint64_t>(b, 12);
    // Cut short: the end marker gone and the header asking for more. (A
    // flipped bit in either alone is damage, left to the checksum.)
    if (!end_ok && declared > size)
        throw Error("checkpoint is truncated: its header says " + std::to_string(declared) + " bytes, the file holds " +
                    std::to_string(size));
    if (read_at<std::uint32_t>(b, size - kTrailerBytes) != file_crc(b))
        throw Error("checksum mismatch (the file is damaged; nothing was loaded from it: restore it from a copy, or "
                    "start the run again with --force)");
    // Verified: these bytes are what a writer wrote, or a file crafted with
    // a valid checksum, which the checks of every field below still catch.
    if (!magic_ok || !end_ok) throw Error("not a LatentLab checkpoint");
    if (const auto version = read_at<std::uint32_t>(b, 8); version != kVersion)
        throw Error("checkpoint format " + std::to_string(version) + " is not one this LatentLab reads (format " +
                    std::to_string(kVersion) + ")");
    if (declared != size)
        throw Error("checkpoint is corrupt: its header says " + std::to_string(declared) + " bytes, the file holds " +
                    std::to_string(size));
}

void check_position(const StartPoint& s) {
    bin::require_count(s.epoch, kMaxEpoch, "epoch");
    bin::require_count(s.step, kMaxStep, "step");
    if (!(std::isfinite(s.seconds) && s.seconds >= 0))
        throw Error("elapsed time " + format_g(s.seconds) + " s is not a finite number >= 0");
}

// Non-finite parameters are the checkpoint's fault, said here: the first
// step would otherwise report a NaN loss and blame the learning rate.
template <class T>
void check_parameters(const Model<T>& model, const xt::xtensor<T, 1>& theta) {
    const std::size_t i = bin::first_non_finite(theta.data(), theta.size());
    if (i == theta.size()) return;
    std::string where = "entry " + std::to_string(i);
    for (const auto& b : model.blocks())
        if (i >= b.offset && i < b.offset + b.size())
            where = "entry " + std::to_string(i - b.offset) + " of block " + b.name;
    throw Error("checkpoint holds non-finite parameters (" + format_g(static_cast<double>(theta(i))) + " at " +
                where + ")");
}
}  // namespace

namespace {
// Stream buffers for serialising twice without a stringstream: the first
// counts the bytes, the second appends them to a string reserved to exactly
// that size. (An ostringstream grows by doubling and str() copies: up to three
// times the checkpoint in memory at once, which for a large L-BFGS history is
// gigabytes.)
struct CountingBuf : std::streambuf {
    std::size_t n = 0;
    std::streamsize xsputn(const char*, std::streamsize k) override {
        n += static_cast<std::size_t>(k);
        return k;
    }
    int_type overflow(int_type c) override {
        if (!traits_type::eq_int_type(c, traits_type::eof())) ++n;
        return c;
    }
};
struct AppendBuf : std::streambuf {
    explicit AppendBuf(std::string& s) : out(s) {}
    std::string& out;
    std::streamsize xsputn(const char* p, std::streamsize k) override {
        out.append(p, static_cast<std::size_t>(k));
        return k;
    }
    int_type overflow(int_type c) override {
        if (!traits_type::eq_int_type(c, traits_type::eof())) out.push_back(traits_type::to_char_type(c));
        return c;
    }
};
}  // namespace

template <class T>
std::string checkpoint_bytes(const Model<T>& model, const Optimizer<T>& opt, const StartPoint& where) {
    auto body = [&](std::ostream& out) {
        out.write(kMagic, sizeof kMagic);
        bin::put<std::uint32_t>(out, kVersion);
        bin::put<std::uint64_t>(out, 0);  // the size, known at the end
        bin::put<std::uint32_t>(out, sizeof(T));
        put_string(out, model.name());
        put_string(out, opt.name());
        bin::put<std::int64_t>(out, where.epoch);
        bin::put<std::int64_t>(out, where.step);
        bin::put<double>(out, where.seconds);
        bin::put_vec(out, model.params());
        opt.save_state(out);
    };
    CountingBuf counter;
    {
        std::ostream out(&counter);
        body(out);
    }
    std::string b;
    b.reserve(counter.n + kTrailerBytes);
    {
        AppendBuf sink(b);
        std::ostream out(&sink);
        body(out);
    }
    const std::uint64_t size = b.size() + kTrailerBytes;
    std::memcpy(&b[12], &size, sizeof size);
    b.append(kTrailerBytes, '\0');
    std::memcpy(&b[b.size() - 4], kEnd, sizeof kEnd);
    const std::uint32_t crc = file_crc(b);
    std::memcpy(&b[b.size() - kTrailerBytes], &crc, sizeof crc);
    return b;
}

template <class T>
void save_checkpoint(const std::string& path, const Model<T>& model, const Optimizer<T>& opt,
                     const StartPoint& where) {
    write_file_atomic(path, checkpoint_bytes(model, opt, where));
}

template <class T>
StartPoint load_checkpoint(const std::string& path, Model<T>& model, Optimizer<T>& opt) {
    const std::string bytes = read_file(path);
    try {
        verify(bytes);
        std::istringstream in(bytes.substr(kHeaderBytes, bytes.size() - kHeaderBytes - kTrailerBytes),
                              std::ios::binary);
        if (bin::get<std::uint32_t>(in) != sizeof(T))
            throw Error(std::string("written for another precision than ") +
                        (sizeof(T) == 4 ? "float32" : "float64"));
        if (auto m = get_string(in, "the model name"); m != model.name())
            throw Error("written for model '" + m + "', not '" + model.name() + "'");
        if (auto o = get_string(in, "the optimiser name"); o != opt.name())
            throw Error("written for optimiser '" + o + "', not '" + opt.name() + "'");
        StartPoint s;
        s.epoch = bin::get<std::int64_t>(in);
        s.step = bin::get<std::int64_t>(in);
        s.seconds = bin::get<double>(in);
        check_position(s);
        const auto theta = bin::get_vec<T>(in, model.num_params(), "the parameter vector");
        check_parameters(model, theta);
        // The optimiser's state fills the rest; load_state keeps it only if
        // all of it is valid. The parameters go in last: nothing can fail
        // after them, so an error leaves the model as it was.
        opt.load_state(in, model.num_params());
        std::copy(theta.begin(), theta.end(), model.params().begin());
        return s;
    } catch (const DataError&) {
        throw;
    } catch (const Error& e) {
        throw DataError(path + ": " + e.what());
    }
}

template <class T>
std::string block_npy_bytes(const Model<T>& model, const T* flat, const ParamBlock& b) {
    (void)model;
    const Communicator& w = world();
    if (w.size() == 1 || !b.per_row) return w.rank() == 0 ? npy_bytes(make_raw<T>(flat + b.offset, b.shape)) : "";
    const std::vector<char> all = w.gather(flat + b.offset, b.size() * sizeof(T));
    if (w.rank() != 0) return "";
    std::vector<std::size_t> shape = b.shape;
    const std::size_t width = b.size() / std::max<std::size_t>(1, b.shape[0]);
    shape[0] = all.size() / sizeof(T) / std::max<std::size_t>(1, width);
    return npy_bytes(make_raw<T>(reinterpret_cast<const T*>(all.data()), shape));
}

template <class T>
void save_params_npy(const std::string& dir, const Model<T>& model) {
    for (const auto& b : model.blocks()) {
        const std::string bytes = block_npy_bytes(model, model.params().data(), b);
        if (world().rank() == 0) write_file_atomic(dir + "/" + b.name + ".npy", bytes);
    }
}

std::string checkpoint_name(int rank) {
    return rank == 0 ? "checkpoint.bin" : "checkpoint.rank" + std::to_string(rank) + ".bin";
}

template <class T>
bool writes_own_checkpoint(const Model<T>& model) {
    return world().rank() == 0 || model.has_per_row_blocks();
}

template std::string checkpoint_bytes<float>(const Model<float>&, const Optimizer<float>&, const StartPoint&);
template std::string checkpoint_bytes<double>(const Model<double>&, const Optimizer<double>&, const StartPoint&);
template void save_checkpoint<float>(const std::string&, const Model<float>&, const Optimizer<float>&, const StartPoint&);
template void save_checkpoint<double>(const std::string&, const Model<double>&, const Optimizer<double>&, const StartPoint&);
template StartPoint load_checkpoint<float>(const std::string&, Model<float>&, Optimizer<float>&);
template StartPoint load_checkpoint<double>(const std::string&, Model<double>&, Optimizer<double>&);
template void save_params_npy<float>(const std::string&, const Model<float>&);
template std::string block_npy_bytes<float>(const Model<float>&, const float*, const ParamBlock&);
template std::string block_npy_bytes<double>(const Model<double>&, const double*, const ParamBlock&);
template bool writes_own_checkpoint<float>(const Model<float>&);
template bool writes_own_checkpoint<double>(const Model<double>&);
template void save_params_npy<double>(const std::string&, const Model<double>&);

bool looks_like_checkpoint(const std::string& path) {
    if (!file_exists(path)) return false;
    try {
        verify(read_file(path));  // whole and undamaged, its checksum too (a FIFO is refused, never read)
        return true;
    } catch (const Error&) {
        return false;
    }
}

}  // namespace latentlab
