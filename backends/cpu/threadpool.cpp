// threadpool.cpp — the CPU backend's parallel loops on the OpenMP team that
// oneDNN also uses. Nothing is created per op: libgomp keeps its team alive
// between parallel regions. Work partitioning is decided by the callers
// (cpu_backend.hpp); this file only maps blocks to team threads.
#include <omp.h>

#include "cpu_backend.hpp"

namespace plinth::cpu {

void thread_pool::run_impl(int64_t n_blocks, void (*fn)(void*, int64_t), void* arg) {
  std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
  if (!busy.owns_lock() || threads_ == 1 || n_blocks == 1) {
    for (int64_t i = 0; i < n_blocks; ++i) fn(arg, i);
    return;
  }
  const int team = static_cast<int>(std::min<int64_t>(threads_, n_blocks));
#pragma omp parallel num_threads(team)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    for (int64_t i = t; i < n_blocks; i += nt) fn(arg, i);
  }
}

}  // namespace plinth::cpu
