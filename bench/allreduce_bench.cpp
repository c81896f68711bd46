// allreduce_bench.cpp — under `mpirun -np N`: the mpi communicator plugin's
// all_reduce (f32, SUM, host memory, in place) against a plain blocking
// MPI_Allreduce of the same sizes, one line per size (median of repeats):
// bytes, microseconds, bus GB/s (2(N-1)/N · bytes / time) and the ratio.
// Not a test: bench/allreduce.sh runs it; rank 0 prints.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "plinth/comm.h"
#include "plinth/plugins.hpp"
#include "plinth/registry.hpp"

namespace {
double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class F>
double median_time(int reps, F f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = now();
    f();
    t.push_back(now() - t0);
  }
  // Every rank's time is the slowest rank's (the collective ends together).
  MPI_Allreduce(MPI_IN_PLACE, t.data(), reps, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  const std::string manifests = argc > 1 ? argv[1] : PLINTH_MANIFEST_DIR;
  plinth::DiscoveryOptions d;
  d.pipeline_manifests = {manifests};
  d.use_environment = d.use_system = d.use_install = false;
  auto reg = plinth::Registry::open(d);
  if (!reg) return std::fprintf(stderr, "%s\n", reg.status().message().c_str()), 2;
  auto comp = (*reg)->find(PLINTH_KIND_COMM, "mpi");
  if (!comp) return std::fprintf(stderr, "%s\n", comp.status().message().c_str()), 2;
  const auto* table = static_cast<const plinth_comm_v1*>((*comp)->table);
  auto cfg = plinth::PluginConfig::parse("timeout_s = 60.0\n", "allreduce_bench");
  if (!cfg) return std::fprintf(stderr, "%s\n", cfg.status().message().c_str()), 2;
  plinth_comm* comm = nullptr;  // initialises MPI (the plugin's MPI_Init_thread)
  if (table->create((*reg)->host(), cfg->get(), &comm) != PLINTH_OK)
    return std::fprintf(stderr, "create failed\n"), 2;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (rank == 0)
    std::printf("%10s %12s %12s %10s %10s %8s\n", "bytes", "plugin_us", "mpi_us", "plugin_GBs", "mpi_GBs",
                "ratio");
  for (size_t bytes = 64; bytes <= (16u << 20); bytes *= 4) {
    const size_t n = bytes / 4;
    std::vector<float> a(n, 1.f), b(n, 1.f);
    const int reps = bytes <= (256u << 10) ? 200 : bytes <= (4u << 20) ? 40 : 15;
    const double tp = median_time(reps, [&] {
      table->all_reduce(comm, a.data(), a.data(), n, PLINTH_DTYPE_F32, PLINTH_REDUCE_OP_SUM,
                        PLINTH_MEMORY_HOST, nullptr);
    });
    const double tm = median_time(reps, [&] {
      MPI_Allreduce(MPI_IN_PLACE, b.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    });
    const double bus = 2.0 * (size - 1) / size * static_cast<double>(bytes);
    if (rank == 0)
      std::printf("%10zu %12.1f %12.1f %10.3f %10.3f %8.2f\n", bytes, tp * 1e6, tm * 1e6, bus / tp / 1e9,
                  bus / tm / 1e9, tp / tm);
  }
  table->destroy(comm);
  return 0;  // the plugin finalises MPI at unload
}
