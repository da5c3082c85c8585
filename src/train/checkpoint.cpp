#include "latentlab/train/checkpoint.hpp"

#include <cstring>
#include <sstream>

#include "latentlab/io/npy.hpp"
#include "latentlab/core/binary_io.hpp"
#include "latentlab/core/error.hpp"
#include "latentlab/core/files.hpp"

namespace latentlab {

namespace {
constexpr char kMagic[8] = {'L', 'L', 'C', 'K', 'P', 'T', '0', '1'};
constexpr std::uint32_t kEnd = 0x21444E45;  // "END!"

void put_string(std::ostream& out, const std::string& s) {
    bin::put<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
    out.write(s.data(), static_cast<std::streamsize>(s.size()));
}
std::string get_string(std::istream& in) {
    auto n = bin::get<std::uint32_t>(in);
    if (n > 4096) throw Error("checkpoint is corrupt");
    std::string s(n, '\0');
    if (!in.read(s.data(), n)) throw Error("checkpoint is truncated");
    return s;
}
}  // namespace

template <class T>
void save_checkpoint(const std::string& path, const Model<T>& model, const Optimizer<T>& opt,
                     const StartPoint& where) {
    std::ostringstream out(std::ios::binary);
    out.write(kMagic, sizeof kMagic);
    bin::put<std::uint32_t>(out, sizeof(T));
    put_string(out, model.name());
    put_string(out, opt.name());
    bin::put<std::int64_t>(out, where.epoch);
    bin::put<std::int64_t>(out, where.step);
    bin::put<double>(out, where.seconds);
    bin::put_vec(out, model.params());
    opt.save_state(out);
    bin::put<std::uint32_t>(out, kEnd);
    write_file_atomic(path, out.str());
}

template <class T>
StartPoint load_checkpoint(const std::string& path, Model<T>& model, Optimizer<T>& opt) {
    std::istringstream in(read_file(path), std::ios::binary);
    try {
        char magic[8];
        if (!in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0)
            throw Error("not a LatentLab checkpoint");
        if (bin::get<std::uint32_t>(in) != sizeof(T))
            throw Error(std::string("written for another precision than ") +
                        (sizeof(T) == 4 ? "float32" : "float64"));
        if (auto m = get_string(in); m != model.name())
            throw Error("written for model '" + m + "', not '" + model.name() + "'");
        if (auto o = get_string(in); o != opt.name())
            throw Error("written for optimiser '" + o + "', not '" + opt.name() + "'");
        StartPoint s;
        s.epoch = bin::get<std::int64_t>(in);
        s.step = bin::get<std::int64_t>(in);
        s.seconds = bin::get<double>(in);
        bin::get_vec(in, model.params());
        opt.load_state(in);
        if (bin::get<std::uint32_t>(in) != kEnd) throw Error("checkpoint is corrupt");
        return s;
    } catch (const DataError&) {
        throw;
    } catch (const Error& e) {
        throw DataError(path + ": " + e.what());
    }
}

template <class T>
void save_params_npy(const std::string& dir, const Model<T>& model) {
    for (const auto& b : model.blocks())
        write_npy(dir + "/" + b.name + ".npy", make_raw<T>(model.params().data() + b.offset, b.shape));
}

template void save_checkpoint<float>(const std::string&, const Model<float>&, const Optimizer<float>&, const StartPoint&);
template void save_checkpoint<double>(const std::string&, const Model<double>&, const Optimizer<double>&, const StartPoint&);
template StartPoint load_checkpoint<float>(const std::string&, Model<float>&, Optimizer<float>&);
template StartPoint load_checkpoint<double>(const std::string&, Model<double>&, Optimizer<double>&);
template void save_params_npy<float>(const std::string&, const Model<float>&);
template void save_params_npy<double>(const std::string&, const Model<double>&);

}  // namespace latentlab
