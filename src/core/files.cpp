#include "latentlab/core/files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "latentlab/core/error.hpp"
#include "latentlab/core/format.hpp"

namespace latentlab {

namespace {
std::string os_error() { return std::strerror(errno); }

// stat()'s or open()'s errno for a message. ELOOP is also what a symlink
// loop gives, which strerror does not say (and "no such file" would be wrong).
std::string open_error(int err) {
    std::string s = std::strerror(err);
    if (err == ELOOP) s += " (a symbolic link loop)";
    return s;
}

// What a file that is not a regular file is.
const char* kind_of(mode_t mode) {
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "an unknown kind";
}

void check_regular(const std::string& path, const struct stat& st) {
    if (S_ISDIR(st.st_mode)) throw DataError(path + ": is a directory, expected a file");
    if (!S_ISREG(st.st_mode)) throw DataError(path + ": not a regular file (" + kind_of(st.st_mode) + ")");
}

// A size as a person reads it: "1 MiB", "11.72 GiB", "512 bytes".
std::string size_text(std::uint64_t n) {
    const char* const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        ++u;
    }
    return (u == 0 ? std::to_string(n) : format_g(v, 4)) + " " + units[u];
}

// The cgroup's memory limit (v2, else v1), which sysconf does not see: a
// container's real memory. UINT64_MAX when there is none.
std::uint64_t cgroup_memory_limit() {
    std::uint64_t limit = UINT64_MAX;
    for (const char* file : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
        std::ifstream in(file);
        std::uint64_t v = 0;
        if (in >> v) limit = std::min(limit, v);  // "max" (no limit) does not parse
    }
    return limit;
}

void fsync_directory_of(const std::string& path) {
    auto dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}
}  // namespace

void sync_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
    fsync_directory_of(path);
}

void write_file_atomic(const std::string& path, const std::string& content, bool durable) {
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw DataError(path + ": cannot write: " + os_error());
    const char* p = content.data();
    std::size_t left = content.size();
    while (left > 0) {
        ssize_t w = ::write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            std::string err = os_error();
            ::close(fd);
            ::unlink(tmp.c_str());
            throw DataError(path + ": cannot write: " + err);
        }
        p += w;
        left -= static_cast<std::size_t>(w);
    }
    if ((durable && ::fsync(fd) != 0) || ::close(fd) != 0) {
        std::string err = os_error();
        ::unlink(tmp.c_str());
        throw DataError(path + ": cannot write: " + err);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        std::string err = os_error();
        ::unlink(tmp.c_str());
        throw DataError(path + ": cannot write: " + err);
    }
    if (durable) fsync_directory_of(path);
}

std::string read_file(const std::string& path, std::uint64_t max_bytes) {
    FileDescriptor f;
    const std::uint64_t size = open_regular_file(path, f);
    if (size > max_bytes)
        throw DataError(path + ": too large: " + std::to_string(size) + " bytes, the limit for this file is " +
                        size_text(max_bytes));
    check_fits_in_memory(path, size, std::to_string(size) + " bytes");
    std::string text(static_cast<std::size_t>(size), '\0');
    text.resize(read_up_to(f.fd, reinterpret_cast<unsigned char*>(&text[0]), text.size(), path));
    // A file that grew since fstat (a log being written): the rest, within the same limits.
    const std::uint64_t limit = std::min(max_bytes, memory_budget());
    unsigned char more[1 << 16];
    for (std::size_t n; (n = read_up_to(f.fd, more, sizeof more, path)) > 0;) {
        if (text.size() + n > limit) throw DataError(path + ": grew past " + size_text(limit) + " while being read");
        text.append(reinterpret_cast<const char*>(more), n);
    }
    return text;
}

FileDescriptor::~FileDescriptor() {
    if (fd >= 0) ::close(fd);
}

std::uint64_t open_regular_file(const std::string& path, FileDescriptor& f) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw DataError(path + ": cannot open: " + open_error(errno));
    check_regular(path, st);
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (f.fd < 0) throw DataError(path + ": cannot open: " + open_error(errno));
    if (::fstat(f.fd, &st) != 0) throw DataError(path + ": cannot stat: " + os_error());
    check_regular(path, st);
    // Back to blocking reads (a regular file ignores O_NONBLOCK; cleared all the same).
    const int flags = ::fcntl(f.fd, F_GETFL);
    if (flags >= 0) ::fcntl(f.fd, F_SETFL, flags & ~O_NONBLOCK);
    return static_cast<std::uint64_t>(st.st_size);
}

std::uint64_t memory_budget() {
    static const std::uint64_t budget = [] {
        const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
        std::uint64_t memory = pages > 0 && page > 0
                                   ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
                                   : UINT64_MAX;
        // An address-space limit (ulimit -v) bounds what this process can hold too.
        struct rlimit as {};
        const std::uint64_t address_space =
            ::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY ? static_cast<std::uint64_t>(as.rlim_cur)
                                                                             : UINT64_MAX;
        return std::min({memory, cgroup_memory_limit(), address_space}) / 2;
    }();
    return budget;
}

void check_fits_in_memory(const std::string& path, std::uint64_t bytes, const std::string& what) {
    if (bytes > memory_budget())
        throw DataError(path + ": " + what + ", more than fits in memory here (the limit is " +
                        size_text(memory_budget()) + ", half of the memory this process may use)");
}

std::size_t read_up_to(int fd, unsigned char* buf, std::size_t n, const std::string& path) {
    std::size_t got = 0;
    while (got < n) {
        const std::size_t chunk = std::min<std::size_t>(n - got, std::size_t{1} << 30);
        const ssize_t r = ::read(fd, buf + got, chunk);
        if (r < 0) {
            if (errno == EINTR) continue;
            throw DataError(path + ": read error: " + os_error());
        }
        if (r == 0) break;
        got += static_cast<std::size_t>(r);
    }
    return got;
}

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void make_directories(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw DataError(dir + ": cannot create directory: " + ec.message());
    if (!is_directory(dir)) throw DataError(dir + ": exists and is not a directory");
    if (::access(dir.c_str(), W_OK) != 0) throw DataError(dir + ": directory is not writable");
}

}  // namespace latentlab
