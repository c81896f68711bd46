// threadpool.cpp — the CPU backend's parallel loops on the OpenMP team that
// oneDNN also uses. Nothing is created per op: libgomp keeps its team alive
// between parallel regions. Work partitioning is decided by the callers
// (cpu_backend.hpp); this file only maps blocks to team threads.
#include <omp.h>

#include <thread>
#include <vector>

#include "cpu_backend.hpp"

namespace plinth::cpu {

void thread_pool::run_impl(int64_t n_blocks, void (*fn)(void*, int64_t), void* arg) {
  std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
  if (!busy.owns_lock() || threads_ == 1 || n_blocks == 1) {
    for (int64_t i = 0; i < n_blocks; ++i) fn(arg, i);
    return;
  }
  const int team = static_cast<int>(std::min<int64_t>(threads_, n_blocks));
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer builds: the same blocks on threads TSan can see. Debian's
  // libgomp is not built with TSan, so the barrier ending an OpenMP region
  // is invisible to it and every region would report false races; with
  // std::thread (create and join are synchronisation TSan knows) the
  // kernels' own sharing is checked for real.
  std::vector<std::thread> others;
  others.reserve(static_cast<size_t>(team - 1));
  for (int t = 1; t < team; ++t)
    others.emplace_back([=] {
      for (int64_t i = t; i < n_blocks; i += team) fn(arg, i);
    });
  for (int64_t i = 0; i < n_blocks; i += team) fn(arg, i);
  for (auto& th : others) th.join();
#else
#pragma omp parallel num_threads(team)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    for (int64_t i = t; i < n_blocks; i += nt) fn(arg, i);
  }
#endif
}

}  // namespace plinth::cpu
