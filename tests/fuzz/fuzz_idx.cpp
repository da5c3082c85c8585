// libFuzzer target: the IDX reader (plain and gzip), then the Dataset.
// Property: any bytes give a consistent tensor or a one-line DataError; no
// crash, leak, undefined behaviour, or allocation the file cannot back.
#include "fuzz_common.hpp"
#include "latentlab/io/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace latentlab;
    static fuzz::MemFile file;
    const std::string& path = file.write(data, size);
    RawTensor t;
    try {
        t = read_idx(path);
    } catch (const DataError& e) {
        fuzz::check_message(e);
        return 0;
    }
    fuzz::check_tensor(t);
    fuzz::check_dataset(t, path);
    return 0;
}
