// libFuzzer target: the config parser (load_config on a file, as `train
// --config` does) and `--set` overrides. Properties: a ConfigError with one
// line of text, or a Config that validates and survives the round trip
// through the resolved YAML (to_yaml) unchanged, as `--resume` relies on.
#include <cstring>

#include "fuzz_common.hpp"

namespace {

void round_trip(const latentlab::Config& cfg, const std::string& origin) {
    using namespace latentlab;
    const std::string yaml = to_yaml(cfg);
    Config back;
    try {
        back = parse_config(yaml, "resolved");
        validate(back);
    } catch (const ConfigError& e) {
        fuzz::fail("the resolved config does not read back", std::string(e.what()) + " in\n" + yaml);
    }
    if (to_yaml(back) != yaml) fuzz::fail("the resolved config changed on reading back", origin + "\n" + yaml);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace latentlab;
    static fuzz::MemFile file;
    // The first line, when it looks like an override ("key=value"), is also
    // tried as `--set`; the whole input is the config file.
    const std::string text(reinterpret_cast<const char*>(data), size);
    const std::string first = text.substr(0, text.find('\n'));

    const std::string& path = file.write(data, size);
    try {
        round_trip(load_config(path), path);
    } catch (const ConfigError& e) {
        fuzz::check_message(e);
    }
    if (first.find('=') != std::string::npos) {
        Config cfg;
        try {
            apply_override(cfg, first);
            validate(cfg);
            round_trip(cfg, "--set " + first);
        } catch (const ConfigError& e) {
            fuzz::check_message(e);
        }
    }
    return 0;
}
