#include "latentlab/core/checksum.hpp"

#include <algorithm>

#include <zlib.h>

namespace latentlab {

std::uint32_t crc32(std::string_view bytes, std::uint32_t crc) {
    // zlib's crc32 takes a uInt length: pieces of at most 1 GiB.
    uLong c = crc;
    const auto* p = reinterpret_cast<const Bytef*>(bytes.data());
    for (std::size_t left = bytes.size(); left > 0;) {
        const auto n = static_cast<uInt>(std::min<std::size_t>(left, std::size_t{1} << 30));
        c = ::crc32(c, p, n);
        p += n;
        left -= n;
    }
    return static_cast<std::uint32_t>(c);
}

}  // namespace latentlab
