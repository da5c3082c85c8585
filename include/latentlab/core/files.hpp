// Files that are never half-written: a checkpoint, W.npy or summary.json is
// either the old complete file or the new complete file, even after SIGKILL
// or a full disk.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace latentlab {

// Writes `content` to `path` through `path.tmp.<pid>`: write, fsync, rename,
// fsync of the directory (without the two fsyncs when not `durable`: the file
// is still complete after a killed process, only not after a power loss). On
// failure the temporary is removed, `path` is untouched, and DataError names
// the file and the OS error.
void write_file_atomic(const std::string& path, const std::string& content, bool durable = true);

// Whole file as bytes; DataError naming the file if it cannot be read.
std::string read_file(const std::string& path);

// Closes a POSIX file descriptor when it goes out of scope.
struct FileDescriptor {
    int fd = -1;
    FileDescriptor() = default;
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor();
};

// Opens `path` for reading into `f` and returns its size; DataError naming the
// file if it cannot be opened or is a directory or not a regular file.
std::uint64_t open_regular_file(const std::string& path, FileDescriptor& f);

// Reads up to n bytes from fd at its current offset (retrying short reads and
// EINTR); returns fewer only at end of file. DataError naming `path` on error.
std::size_t read_up_to(int fd, unsigned char* buf, std::size_t n, const std::string& path);

bool file_exists(const std::string& path);
bool is_directory(const std::string& path);

// Creates `dir` and its parents; DataError if it cannot, or if it is not writable.
void make_directories(const std::string& dir);

}  // namespace latentlab
