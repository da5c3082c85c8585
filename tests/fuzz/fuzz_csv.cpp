// libFuzzer target: the CSV reader (with each row's line), then the Dataset.
#include "fuzz_common.hpp"
#include "latentlab/io/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace latentlab;
    static fuzz::MemFile file;
    const std::string& path = file.write(data, size);
    RawTensor t;
    std::vector<std::size_t> lines;
    try {
        t = read_csv(path, &lines);
    } catch (const DataError& e) {
        fuzz::check_message(e);
        return 0;
    }
    fuzz::check_tensor(t);
    if (t.shape.size() != 2 || t.dtype != DType::f64) fuzz::fail("CSV tensor is not an f64 matrix", path);
    if (lines.size() != t.rows()) fuzz::fail("one line number per row", path);
    for (std::size_t i = 1; i < lines.size(); ++i)
        if (lines[i] <= lines[i - 1]) fuzz::fail("row lines increase", path);
    fuzz::check_dataset(t, path);
    return 0;
}
