// Shared by the libFuzzer targets: the input as a file, and the properties
// every reader must keep whatever the bytes.
//
// The readers take paths (and must: they stat, open and pread files), so the
// input is written to a memfd, an anonymous in-memory file, and read through
// /proc/self/fd/N like any path: no disk I/O, nothing left behind.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "latentlab/config/config.hpp"
#include "latentlab/data/dataset.hpp"
#include "latentlab/io/raw_tensor.hpp"
#include "latentlab/core/error.hpp"

namespace latentlab::fuzz {

[[noreturn]] inline void fail(const char* what, const std::string& detail) {
    std::fprintf(stderr, "FUZZ PROPERTY VIOLATED: %s: %s\n", what, detail.c_str());
    std::abort();
}

class MemFile {
public:
    MemFile() {
        fd_ = ::memfd_create("latentlab-fuzz", MFD_CLOEXEC);
        if (fd_ < 0) fail("memfd_create", "failed");
        path_ = "/proc/self/fd/" + std::to_string(fd_);
    }
    // Replaces the file's content; returns its path.
    const std::string& write(const std::uint8_t* data, std::size_t size) {
        if (::ftruncate(fd_, 0) != 0) fail("ftruncate", "failed");
        std::size_t done = 0;
        while (done < size) {
            const ssize_t w = ::pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
            if (w <= 0) fail("pwrite", "failed");
            done += static_cast<std::size_t>(w);
        }
        return path_;
    }

private:
    int fd_ = -1;
    std::string path_;
};

// Text a terminal shows as it is: valid UTF-8 without control characters.
inline bool printable_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7f)) || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
        i += n;
    }
    return true;
}

// An error a user sees is one line of text (the CLI prints what() as is).
inline void check_message(const std::exception& e) {
    const std::string m = e.what();
    if (m.empty()) fail("empty error message", "");
    if (!printable_utf8(m)) fail("error message is not one line of UTF-8 text", m);
}

// What a reader returns is self-consistent.
inline void check_tensor(const RawTensor& t) {
    if (t.shape.empty()) fail("tensor without a shape", "");
    std::size_t n = 1;
    for (std::size_t d : t.shape) {
        if (d != 0 && n > SIZE_MAX / d) fail("shape overflows", "");
        n *= d;
    }
    if (t.bytes.size() != n * dtype_size(t.dtype)) fail("byte count does not match the shape", "");
    if (n > 0) (void)t.at(n - 1);
}

// The tensor goes on to the Dataset exactly as `train` uses it: conversion,
// NaN/Inf check, centring, split. Only DataError/ConfigError may come out.
inline void check_dataset(const RawTensor& t, const std::string& origin) {
    DataConfig cfg;
    cfg.center = true;
    cfg.test_fraction = 0.25;
    try {
        const Dataset<float> d = make_dataset<float>(t, nullptr, cfg, 7, origin);
        if (d.n_train + d.n_test != d.X.shape()[0] || d.sqnorms.size() != d.X.shape()[0])
            fail("dataset sizes disagree", origin);
        if (d.n_train == 0) fail("dataset without training rows", origin);
    } catch (const Error& e) {
        check_message(e);
    }
}

}  // namespace latentlab::fuzz
