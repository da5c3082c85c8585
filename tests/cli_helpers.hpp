// Helpers for tests that run the real `train` binary.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace latentlab::testing {

struct Outcome {
    int code = -1;        // exit code, or 128+signal
    std::string out, err;
};

inline std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void spit(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << text;
}

// A fresh, empty scratch directory for one test.
inline std::string scratch(const std::string& name) {
    const std::string d = std::string(LATENTLAB_TEST_TMP) + "/" + name;
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
}

// Runs `train ARGS` with one BLAS thread; captures stdout and stderr.
inline Outcome run_train(const std::string& args, const std::string& dir) {
    const std::string out = dir + "/.stdout", err = dir + "/.stderr";
    const std::string cmd = std::string("OPENBLAS_NUM_THREADS=1 ") + LATENTLAB_TRAIN_EXE + " " + args +
                            " >" + out + " 2>" + err;
    const int status = std::system(cmd.c_str());
    Outcome o;
    if (WIFEXITED(status)) o.code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) o.code = 128 + WTERMSIG(status);
    o.out = slurp(out);
    o.err = slurp(err);
    return o;
}

inline int count_lines(const std::string& s) {
    int n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

}  // namespace latentlab::testing
