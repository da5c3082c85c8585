// The precompiled header (src/pch.hpp) is built once, for this empty TU;
// every target of the project reuses it (CMakeLists.txt).
