// A planted violation for the test Layers.UpwardIncludeIsRejected: a model
// may not include the config layer.
#pragma once
#include "latentlab/config/config.hpp"
