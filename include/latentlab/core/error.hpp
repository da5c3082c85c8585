// Errors a user can act on. Library code throws these; only the CLI turns
// them into one line on stderr and an exit code.
#pragma once
#include <stdexcept>
#include <string>
#include <utility>

namespace latentlab {

// Base class: `what()` is already the whole one-line message, naming the
// file, key or line at fault.
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A data file that cannot be read or is malformed (message names the file).
struct DataError : Error {
    using Error::Error;
};

// A configuration that is malformed, has an unknown key or a bad value.
struct ConfigError : Error {
    using Error::Error;
};

// A value a module was given that it cannot work with. `option` names the
// module's own option (e.g. "latent_dim"); what() is `option` followed by
// `detail` ("latent_dim 40 must be smaller than the data dimension 20").
// Modules know nothing of config keys: the layer that set the option (the
// config, a binding) names its key in the message it passes on.
struct OptionError : Error {
    OptionError(std::string option_name, const std::string& detail)
        : Error(option_name + detail), option(std::move(option_name)), detail_(detail) {}
    std::string option;
    // The message with `name` in place of the option's own name.
    std::string renamed(const std::string& name) const { return name + detail_; }

private:
    std::string detail_;
};

// A numerical failure during training: NaN/Inf, divergence, a kernel that
// is not positive definite. The run stops; the last good state is kept.
struct NumericalError : Error {
    using Error::Error;
};

}  // namespace latentlab
