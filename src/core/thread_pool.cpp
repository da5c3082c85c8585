#include "latentlab/core/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace latentlab {

namespace {

// Helpers poll for ~0.5 ms after a run (a training step forks twice within
// ~0.2 ms), yielding the core, then sleep on a condition variable.
class Pool {
public:
    static Pool& get() {
        static Pool pool;
        return pool;
    }

    void run(std::size_t parts, std::size_t workers, const std::function<void(std::size_t)>& f) {
        std::lock_guard<std::mutex> one_at_a_time(run_mu_);
        const std::size_t helpers = std::min(parts, workers) - 1;
        while (helpers_.size() < helpers) {
            // A new helper starts from the current generation, so that it
            // sees the task published below even if it starts after it.
            const std::uint64_t seen = gen_.load(std::memory_order_acquire);
            helpers_.emplace_back([this, seen] { loop(seen); });
        }
        const std::uint64_t g = (gen_.load(std::memory_order_relaxed) + 1) & 0xFFFFFFFFu;
        task_ = &f;
        done_.store(0, std::memory_order_relaxed);
        // Seats for helpers in this generation: generation | free seats.
        seats_.store(g << 32 | helpers, std::memory_order_relaxed);
        // Claim word: generation | parts | next unclaimed part.
        next_.store(g << 32 | static_cast<std::uint64_t>(parts) << 16 | 1u, std::memory_order_release);
        if (helpers > 0) {
            {
                std::lock_guard<std::mutex> lock(mu_);
                gen_.store(g, std::memory_order_release);
            }
            cv_.notify_all();
        } else {
            gen_.store(g, std::memory_order_release);
        }
        f(0);
        std::size_t mine = 1;
        for (std::size_t p; (p = claim(g)) != 0; ++mine) f(p);
        for (int i = 0; done_.load(std::memory_order_acquire) + mine < parts; ++i) {
            if (i < 200) pause();
            else std::this_thread::yield();
        }
    }

    ~Pool() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stop_ = true;
            gen_.fetch_add(1, std::memory_order_release);
        }
        cv_.notify_all();
        for (auto& t : helpers_) t.join();
    }

private:
    static void pause() {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }

    // Takes one of generation g's helper seats; false when none is left (the
    // run wants fewer workers than there are helpers) or g is over.
    bool sit(std::uint64_t g) {
        std::uint64_t cur = seats_.load(std::memory_order_acquire);
        for (;;) {
            if ((cur >> 32) != g || (cur & 0xFFFFFFFFu) == 0) return false;
            if (seats_.compare_exchange_weak(cur, cur - 1, std::memory_order_acq_rel)) return true;
        }
    }

    // The next unclaimed part of generation g, or 0 when there is none.
    std::size_t claim(std::uint64_t g) {
        std::uint64_t cur = next_.load(std::memory_order_acquire);
        for (;;) {
            const std::size_t part = cur & 0xFFFFu, parts = (cur >> 16) & 0xFFFFu;
            if ((cur >> 32) != g || part >= parts) return 0;
            if (next_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel)) return part;
        }
    }

    void loop(std::uint64_t seen) {
        for (;;) {
            std::uint64_t g = gen_.load(std::memory_order_acquire);
            for (int i = 0; g == seen && i < 2000; ++i) {
                if (i < 200) pause();
                else std::this_thread::yield();
                g = gen_.load(std::memory_order_acquire);
            }
            if (g == seen) {
                std::unique_lock<std::mutex> lock(mu_);
                cv_.wait(lock, [&] { return gen_.load(std::memory_order_acquire) != seen; });
                g = gen_.load(std::memory_order_acquire);
            }
            seen = g;
            if (stop_) return;
            if (!sit(g)) continue;
            for (std::size_t p; (p = claim(g)) != 0;) {
                (*task_)(p);
                done_.fetch_add(1, std::memory_order_release);
            }
        }
    }

    std::mutex run_mu_, mu_;
    std::condition_variable cv_;
    std::atomic<std::uint64_t> gen_{0}, next_{0}, seats_{0};
    std::atomic<std::size_t> done_{0};
    const std::function<void(std::size_t)>* task_ = nullptr;
    bool stop_ = false;
    std::vector<std::thread> helpers_;
};

}  // namespace

namespace {
thread_local bool in_part = false;  // this thread runs a part of run_parts

struct MarkPart {  // in_part for the scope, restored after (exceptions included)
    bool before = in_part;
    MarkPart() { in_part = true; }
    ~MarkPart() { in_part = before; }
};
}  // namespace

bool inside_run_parts() { return in_part; }

void run_parts(std::size_t parts, std::size_t workers, const std::function<void(std::size_t)>& f) {
    if (parts == 0) return;
    if (in_part) workers = 1;  // nested: the parts run here, in order
    if (parts == 1 || workers <= 1) {
        MarkPart mark;
        for (std::size_t p = 0; p < parts; ++p) f(p);
        return;
    }
    // A part that throws must not end a helper thread (std::terminate) nor
    // unwind the caller while helpers still run f: each part's exception is
    // caught, the run completes, and the first one is rethrown here.
    std::exception_ptr error;
    std::mutex error_mu;
    const std::function<void(std::size_t)> guarded = [&](std::size_t p) {
        MarkPart mark;
        try {
            f(p);
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mu);
            if (!error) error = std::current_exception();
        }
    };
    // The pool's claim word counts parts in 16 bits: more run in rounds.
    constexpr std::size_t kRound = 0xFFFF;
    for (std::size_t base = 0; base < parts; base += kRound) {
        const std::function<void(std::size_t)> shifted = [&](std::size_t p) { guarded(base + p); };
        Pool::get().run(std::min(kRound, parts - base), workers, shifted);
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace latentlab
