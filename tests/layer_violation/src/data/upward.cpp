// A planted violation for the test Layers.UpwardIncludeIsRejected: only the
// config layer may include yaml-cpp.
#include <yaml-cpp/yaml.h>
