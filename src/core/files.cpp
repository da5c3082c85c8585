#include "latentlab/core/files.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "latentlab/core/error.hpp"

namespace latentlab {

namespace {
std::string os_error() { return std::strerror(errno); }

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

std::string read_file(const std::string& path) {
    if (is_directory(path)) throw DataError(path + ": is a directory, expected a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw DataError(path + ": cannot open: " + os_error());
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw DataError(path + ": read error");
    return ss.str();
}

FileDescriptor::~FileDescriptor() {
    if (fd >= 0) ::close(fd);
}

std::uint64_t open_regular_file(const std::string& path, FileDescriptor& f) {
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f.fd < 0) throw DataError(path + ": cannot open: " + os_error());
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) throw DataError(path + ": cannot stat: " + os_error());
    if (S_ISDIR(st.st_mode)) throw DataError(path + ": is a directory, expected a file");
    if (!S_ISREG(st.st_mode)) throw DataError(path + ": not a regular file");
    return static_cast<std::uint64_t>(st.st_size);
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
