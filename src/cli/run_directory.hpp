// A run directory has one owner and holds only what runs wrote:
//  - RunLock: an exclusive flock(2) on the directory itself, held for the
//    whole run. The kernel drops it when the process ends, however it ends,
//    so a killed run never leaves it stuck; no lock file is created.
//  - manifest.txt: the names of the files this run may write. A later run
//    (--force, --resume) deletes or overwrites only files a manifest names;
//    any other file in the way is the user's, and the command is refused
//    before anything changes.
#pragma once
#include <set>
#include <string>
#include <vector>

namespace latentlab::cli {

class RunLock {
public:
    RunLock() = default;
    // Locks `dir` (which must exist): exclusively for a run, shared for a
    // reader (train apply). Throws DataError naming the directory if another
    // process holds it in the other mode.
    explicit RunLock(const std::string& dir, bool shared = false);
    RunLock(RunLock&& other) noexcept;
    RunLock& operator=(RunLock&& other) noexcept;
    RunLock(const RunLock&) = delete;
    RunLock& operator=(const RunLock&) = delete;
    ~RunLock();

private:
    int fd_ = -1;
};

// The files a manifest in `dir` names ({} if there is none).
std::set<std::string> read_manifest(const std::string& dir);
// Writes `dir`/manifest.txt naming `files` (and itself), and the run's
// `fixed` settings (lines "key: value", the keys a --resume may not change),
// which a resume compares with its config.yaml (an edited file would redraw
// the data under the checkpoint).
void write_manifest(const std::string& dir, const std::set<std::string>& files,
                    const std::vector<std::string>& fixed = {});
// The fixed settings a manifest in `dir` records ({} if none: an older run).
std::vector<std::string> read_manifest_fixed(const std::string& dir);

// Refuses (ConfigError, nothing changed) if a file this run will write
// already exists in `dir` and is not a run's (not in `owned`), or is a
// directory or another non-regular file.
void check_outputs(const std::string& dir, const std::set<std::string>& planned, const std::set<std::string>& owned);

// Temporaries of atomic writes (NAME.tmp.PID) that a killed run left: only
// for NAME in `owned`, and only when process PID is gone.
void remove_stale_temporaries(const std::string& dir, const std::set<std::string>& owned);

}  // namespace latentlab::cli
