#include "run_directory.hpp"

#include <sstream>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "latentlab/core/error.hpp"
#include "latentlab/core/files.hpp"

namespace latentlab::cli {

namespace fs = std::filesystem;

RunLock::RunLock(const std::string& dir, bool shared) {
    fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) throw DataError(dir + ": cannot open the run directory: " + std::strerror(errno));
    if (::flock(fd_, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
        const int err = errno;
        ::close(fd_);
        fd_ = -1;
        if (err == EWOULDBLOCK)
            throw DataError(dir + ": in use by another train process (one run per directory; wait for it, or "
                                  "choose another --out)");
        throw DataError(dir + ": cannot lock the run directory: " + std::strerror(err));
    }
}
RunLock::RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
RunLock& RunLock::operator=(RunLock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}
RunLock::~RunLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the flock
}

std::set<std::string> read_manifest(const std::string& dir) {
    const std::string path = dir + "/manifest.txt";
    std::set<std::string> files;
    if (!file_exists(path)) return files;
    const std::string text = read_file(path);
    std::size_t begin = 0;
    while (begin < text.size()) {
        std::size_t end = text.find('\n', begin);
        if (end == std::string::npos) end = text.size();
        const std::string name = text.substr(begin, end - begin);
        // Names only, never paths: a manifest cannot point outside the directory.
        if (!name.empty() && name[0] != '#' && name.find('/') == std::string::npos && name != "." && name != "..")
            files.insert(name);
        begin = end + 1;
    }
    return files;
}

namespace {
constexpr const char* kFixed = "# fixed ";  // a manifest line holding one of the run's fixed settings
}

void write_manifest(const std::string& dir, const std::set<std::string>& files, const std::vector<std::string>& fixed) {
    std::set<std::string> all = files;
    all.insert("manifest.txt");
    std::string out = "# Files of the LatentLab run in this directory (one per line): a later run\n"
                      "# with --force or --resume replaces or deletes only these.\n";
    if (!fixed.empty()) out += "# The settings a --resume may not change, as the run started:\n";
    for (const auto& f : fixed) out += kFixed + f + "\n";
    for (const auto& f : all) out += f + "\n";
    write_file_atomic(dir + "/manifest.txt", out);
}

std::vector<std::string> read_manifest_fixed(const std::string& dir) {
    const std::string path = dir + "/manifest.txt";
    std::vector<std::string> fixed;
    if (!file_exists(path)) return fixed;
    std::istringstream in(read_file(path));
    const std::string prefix = kFixed;
    for (std::string line; std::getline(in, line);)
        if (line.rfind(prefix, 0) == 0) fixed.push_back(line.substr(prefix.size()));
    return fixed;
}

void check_outputs(const std::string& dir, const std::set<std::string>& planned, const std::set<std::string>& owned) {
    for (const auto& name : planned) {
        const std::string path = dir + "/" + name;
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0) continue;  // not there: fine
        if (S_ISDIR(st.st_mode))
            throw ConfigError(path + ": is a directory, where the run writes a file; move it away or choose "
                                     "another --out");
        if (!S_ISREG(st.st_mode))
            throw ConfigError(path + ": is not a regular file, where the run writes one; move it away or choose "
                                     "another --out");
        if (!owned.count(name))
            throw ConfigError(path + ": exists and was not written by a LatentLab run (no manifest.txt names it); "
                                     "move it away or choose another --out");
    }
}

void remove_stale_temporaries(const std::string& dir, const std::set<std::string>& owned) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        const std::string name = e.path().filename().string();
        const auto pos = name.rfind(".tmp.");
        if (pos == std::string::npos || !owned.count(name.substr(0, pos))) continue;
        const std::string digits = name.substr(pos + 5);
        if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos)
            continue;
        const long pid = std::strtol(digits.c_str(), nullptr, 10);
        if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove(e.path(), ec);
    }
}

}  // namespace latentlab::cli
