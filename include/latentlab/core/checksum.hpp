// CRC-32 (the IEEE 802.3 polynomial of zip, gzip and PNG, through zlib's
// crc32) of a byte range: how a checkpoint tells damaged bytes from good
// ones. A CRC, not a hash, because its guarantees are about damage: every
// flipped bit, every two flipped bits in a file of up to 512 MB and every
// burst of up to 32 bits is detected (Koopman's tables for this polynomial);
// other damage slips through with probability about 2⁻³². It is no defence
// against a file crafted on purpose (nothing short of a signature is): the
// readers' own checks of every field are.
#pragma once
#include <cstdint>
#include <string_view>

namespace latentlab {

// CRC-32 of `bytes`, continuing from `crc` (the CRC of the bytes before
// them; 0 to start), so that a range may be checksummed in pieces.
std::uint32_t crc32(std::string_view bytes, std::uint32_t crc = 0);

}  // namespace latentlab
