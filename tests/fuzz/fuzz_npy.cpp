// libFuzzer target: the .npy reader, then the Dataset; a tensor that reads
// is written back (npy_bytes) and must read back to the same tensor.
#include <cstring>

#include "fuzz_common.hpp"
#include "latentlab/io/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace latentlab;
    static fuzz::MemFile file;
    const std::string& path = file.write(data, size);
    RawTensor t;
    try {
        t = read_npy(path);
    } catch (const DataError& e) {
        fuzz::check_message(e);
        return 0;
    }
    fuzz::check_tensor(t);
    fuzz::check_dataset(t, path);

    const std::string again = npy_bytes(t);
    const std::string& path2 = file.write(reinterpret_cast<const std::uint8_t*>(again.data()), again.size());
    RawTensor back;
    try {
        back = read_npy(path2);
    } catch (const DataError& e) {
        fuzz::fail("npy_bytes wrote a file read_npy refuses", e.what());
    }
    if (back.shape != t.shape || back.dtype != t.dtype || back.bytes != t.bytes)
        fuzz::fail("npy round trip changed the tensor", path);
    return 0;
}
