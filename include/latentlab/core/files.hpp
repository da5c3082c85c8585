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

// Makes a file written without `durable` durable after all (fsync of the file
// and of its directory). A missing file is ignored.
void sync_file(const std::string& path);

// The whole of a regular file (open_regular_file's checks), refused by its
// size before a byte is read when it is larger than `max_bytes` or than
// memory_budget(); a file that grows while it is read is read up to the same
// limit. DataError naming the file (and the limit).
std::string read_file(const std::string& path, std::uint64_t max_bytes = UINT64_MAX);

// Closes a POSIX file descriptor when it goes out of scope.
struct FileDescriptor {
    int fd = -1;
    FileDescriptor() = default;
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor();
};

// Opens `path` for reading into `f` and returns its size, if it is a regular
// file. Never blocks: the kind is checked by stat before opening (a device is
// not even opened), and the open itself is O_NONBLOCK and checked again by
// fstat (a FIFO swapped in between would otherwise wait for a writer forever).
// DataError naming the file: "is a directory, expected a file", "not a regular
// file (a FIFO)" (or a character device, ...), "cannot open: <OS error>", a
// symlink loop (ELOOP) named as one.
std::uint64_t open_regular_file(const std::string& path, FileDescriptor& f);

// The most memory one file's contents may take once read: half this
// machine's physical memory, or of the cgroup's memory limit or the
// address-space limit (ulimit -v) when lower. A larger file can only end in bad_alloc or the OOM killer, after
// minutes of reading; the readers refuse it up front instead.
std::uint64_t memory_budget();

// DataError "<path>: <what>, more than ... memory ..." if `bytes` exceeds
// memory_budget(); `what` says what needs them ("header says N bytes of data").
void check_fits_in_memory(const std::string& path, std::uint64_t bytes, const std::string& what);

// Reads up to n bytes from fd at its current offset (retrying short reads and
// EINTR); returns fewer only at end of file. DataError naming `path` on error.
std::size_t read_up_to(int fd, unsigned char* buf, std::size_t n, const std::string& path);

bool file_exists(const std::string& path);
bool is_directory(const std::string& path);

// Creates `dir` and its parents; DataError if it cannot, or if it is not writable.
void make_directories(const std::string& dir);

}  // namespace latentlab
