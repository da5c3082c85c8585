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
}  // namespace

void install_interrupt_handlers() {
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
}

int interrupt_signal() { return received.load(); }
void set_interrupt_signal(int sig) { received.store(sig); }

}  // namespace latentlab::cli
