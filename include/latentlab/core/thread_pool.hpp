// The project's one thread pool: persistent helper threads that run the parts
// of a split computation beside the caller.
#pragma once
#include <cstddef>
#include <functional>

namespace latentlab {

// Runs f(0), …, f(parts − 1), each exactly once, on at most `workers` threads:
// the caller and up to workers − 1 persistent helpers; returns when all parts
// are done. Parts are claimed one at a time, so which thread runs a part
// depends on timing: a part's result must not depend on the thread that runs
// it (each part writes its own outputs). On a loaded machine where no helper
// is scheduled in time the caller simply runs every part (no fork-join
// stall). Calls from different threads are serialised; a call from inside a
// part (nested) runs its parts in order on that thread. Any number of parts
// (more than 65,535 run in rounds). If parts throw, every part still runs and
// the first exception is rethrown to the caller; a part run serially (one
// worker, one part, or nested) throws at once.
void run_parts(std::size_t parts, std::size_t workers, const std::function<void(std::size_t)>& f);

// True on a thread that is running a part of run_parts (helpers included).
bool inside_run_parts();

}  // namespace latentlab
