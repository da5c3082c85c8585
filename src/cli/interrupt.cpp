#include "interrupt.hpp"

#include <atomic>
#include <csignal>

namespace latentlab::cli {

namespace {
std::atomic<int> received{0};

extern "C" void on_signal(int sig) {
    if (received.exchange(sig) != 0) {  // the second time: stop now
        std::signal(sig, SIG_DFL);
        std::raise(sig);
    }
}
// Only recorded, however often: the caller finishes and cleans up.
extern "C" void on_signal_record(int sig) { received.store(sig); }
}  // namespace

void install_interrupt_handlers(bool second_ends) {
    std::signal(SIGINT, second_ends ? on_signal : on_signal_record);
    std::signal(SIGTERM, second_ends ? on_signal : on_signal_record);
}

void restore_default_signals() {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
}

int interrupt_signal() { return received.load(); }
void set_interrupt_signal(int sig) { received.store(sig); }

}  // namespace latentlab::cli
