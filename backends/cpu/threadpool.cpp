// threadpool.cpp — the CPU backend's persistent worker threads. Workers spin
// briefly after each job, then sleep on a condition variable; nothing is
// created per op. Work partitioning is decided by the callers (cpu_backend.hpp).
#include "cpu_backend.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PLINTH_CPU_PAUSE() _mm_pause()
#else
#define PLINTH_CPU_PAUSE() std::this_thread::yield()
#endif

namespace plinth::cpu {

namespace {
constexpr int k_spin_iterations = 20000;  // ~ tens of microseconds before sleeping
}

thread_pool::thread_pool(int threads) : threads_(threads < 1 ? 1 : threads) {
  workers_.reserve(threads_ - 1);
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

thread_pool::~thread_pool() {
  {
    std::lock_guard<std::mutex> lk(m_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void thread_pool::run_impl(int64_t n_blocks, void (*fn)(void*, int64_t), void* arg) {
  std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
  if (!busy.owns_lock() || threads_ == 1 || n_blocks == 1) {
    for (int64_t i = 0; i < n_blocks; ++i) fn(arg, i);
    return;
  }
  {
    std::lock_guard<std::mutex> lk(m_);
    fn_ = fn;
    arg_ = arg;
    n_blocks_ = n_blocks;
    pending_.store(threads_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_all();
  for (int64_t i = 0; i < n_blocks; i += threads_) fn(arg, i);
  while (pending_.load(std::memory_order_acquire) != 0) PLINTH_CPU_PAUSE();
}

void thread_pool::worker(int index) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t g = generation_.load(std::memory_order_acquire);
    for (int spin = 0; g == seen && spin < k_spin_iterations; ++spin) {
      PLINTH_CPU_PAUSE();
      g = generation_.load(std::memory_order_acquire);
    }
    if (g == seen) {
      std::unique_lock<std::mutex> lk(m_);
      cv_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      g = generation_.load(std::memory_order_acquire);
    }
    seen = g;
    void (*fn)(void*, int64_t);
    void* arg;
    int64_t n;
    {
      std::lock_guard<std::mutex> lk(m_);
      if (stop_) return;
      fn = fn_;
      arg = arg_;
      n = n_blocks_;
    }
    for (int64_t i = index; i < n; i += threads_) fn(arg, i);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

}  // namespace plinth::cpu
