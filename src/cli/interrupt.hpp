// SIGINT and SIGTERM during a run: the first asks the run to stop at the next
// step boundary (the last complete epoch's files stay, summary.json says
// "interrupted", one line says how to continue); a second one ends the
// process at once, as without a handler (every file on disk is still whole:
// writes are atomic).
#pragma once
#include <stdexcept>

namespace latentlab::cli {

// `second_ends` false: every signal is only recorded (a short critical
// section that must finish its own clean-up, e.g. apply's writing).
void install_interrupt_handlers(bool second_ends = true);
// Back to the default action (the process ends at a signal).
void restore_default_signals();

// Thrown when a signal arrives before anything was written: the command ends
// with one line and exit code 128 + the signal.
struct Interrupted : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// The signal received (SIGINT, SIGTERM), or 0.
int interrupt_signal();
// Records `sig` as received (another MPI rank received it).
void set_interrupt_signal(int sig);

}  // namespace latentlab::cli
