// Errors a user can act on. Library code throws these; only the CLI turns
// them into one line on stderr and an exit code.
#pragma once
#include <stdexcept>
#include <string>

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

// A numerical failure during training: NaN/Inf, divergence, a kernel that
// is not positive definite. The run stops; the last good state is kept.
struct NumericalError : Error {
    using Error::Error;
};

}  // namespace latentlab
