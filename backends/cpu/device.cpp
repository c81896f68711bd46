// device.cpp — the CPU "device": properties (model name from /proc/cpuinfo and
// the vector ISA picked at load), instance create/destroy (thread count from
// the [backend] table; 0: OMP_NUM_THREADS, or the cores divided among the
// ranks a launcher started on this machine), and the trivial streams and events of a synchronous
// backend. Buffers live in buffer.cpp, ops in ops/.
#include <omp.h>
#include <sched.h>

#include <cstdlib>
#include <fstream>
#include <utility>

#include "cpu_backend.hpp"

namespace plinth::cpu {

const plinth_host* g_host = nullptr;

namespace {

std::string cpu_model_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto s = line.substr(colon + 1);
        auto b = s.find_first_not_of(" \t");
        return b == std::string::npos ? std::string("CPU") : s.substr(b);
      }
    }
  }
  return "CPU";
}

uint64_t total_memory_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  while (f >> key >> kb) {
    if (key == "MemTotal:") return kb * 1024;
    std::string rest;
    std::getline(f, rest);
  }
  return 0;
}

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : int(n);
}

// A positive integer environment variable (the first of a comma list, as
// OMP_NUM_THREADS may be), or 0.
int env_count(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (end == v || (*end && *end != ',') || n < 1 || n > 4096) return 0;
  return int(n);
}

// threads = 0: how many, and why. OMP_NUM_THREADS when set; otherwise the
// cores this process may run on (its affinity mask: taskset, cgroup
// cpusets, mpirun --bind-to) divided among the ranks a launcher started on
// this machine, so N ranks on one machine do not run N teams of every core.
std::pair<int, std::string> default_threads() {
  if (int n = env_count("OMP_NUM_THREADS"))
    return {n, "OMP_NUM_THREADS=" + std::string(std::getenv("OMP_NUM_THREADS"))};
  int cores = hardware_threads();
  std::string where = std::to_string(cores) + " cores";
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int mine = CPU_COUNT(&set);
    if (mine >= 1 && mine < cores) {
      cores = mine;
      where = std::to_string(mine) + " cores in this process's affinity mask";
    }
  }
  for (const char* local : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "PMIX_LOCAL_SIZE",
                            "MV2_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE"}) {
    const int ranks = env_count(local);
    if (ranks > 1) {
      const int n = cores / ranks > 0 ? cores / ranks : 1;
      return {n, where + " shared by " + std::to_string(ranks) + " ranks on this machine (" + local + ")"};
    }
  }
  return {cores, where};
}

}  // namespace

plinth_status init(const plinth_host* host) {
  g_host = host;
  return PLINTH_OK;
}

plinth_status device_count(int32_t* out) {
  if (!out) return sdk::fail(g_host, PLINTH_ERR_INVALID_ARGUMENT, "cpu device_count: out is NULL");
  *out = 1;
  return PLINTH_OK;
}

plinth_status device_properties(int32_t index, plinth_device_properties* out) {
  return sdk::guard(g_host, [&]() -> plinth_status {
    if (!out) return sdk::fail(g_host, PLINTH_ERR_INVALID_ARGUMENT, "cpu device_properties: out is NULL");
    if (index != 0)
      return sdk::failf(g_host, PLINTH_ERR_NOT_FOUND, "cpu device_properties: no device %d (only 0)", index);
    const size_t have = out->struct_size;
    plinth_device_properties p{};
    p.struct_size = have;
    std::string name = cpu_model_name() + " (" + kernels().isa + ")";
    std::snprintf(p.name, sizeof p.name, "%s", name.c_str());
    p.memory_kind = PLINTH_MEMORY_HOST;
    p.total_memory = total_memory_bytes();
    p.compute_units = hardware_threads();
#if defined(__x86_64__)
    // Native: the CPU has the instructions and oneDNN a kernel that uses them
    // (oneDNN 2.6 has bf16 matmul on AVX512-BF16/AMX, no f16 matmul on CPUs).
    __builtin_cpu_init();
    p.has_bf16 = __builtin_cpu_supports("avx512bf16") && matmul_native(PLINTH_DTYPE_BF16) ? 1 : 0;
    p.has_fp16 = __builtin_cpu_supports("avx512fp16") && matmul_native(PLINTH_DTYPE_F16) ? 1 : 0;
#endif
    p.host_visible = 1;
    // Copy only the fields the caller's struct_size covers.
    size_t n = have < sizeof p ? have : sizeof p;
    if (n > sizeof(size_t))
      std::memcpy(reinterpret_cast<char*>(out) + sizeof(size_t),
                  reinterpret_cast<const char*>(&p) + sizeof(size_t), n - sizeof(size_t));
    return PLINTH_OK;
  });
}

plinth_status create(const plinth_host* host, const plinth_config* cfg, int32_t device,
                     plinth_backend_ctx** out) {
  if (!g_host) g_host = host;
  return sdk::guard(host, [&]() -> plinth_status {
    if (!out) return sdk::fail(host, PLINTH_ERR_INVALID_ARGUMENT, "cpu create: out is NULL");
    *out = nullptr;
    if (!host) return PLINTH_ERR_INVALID_ARGUMENT;
    int64_t dev = device;
    if (plinth_status s = sdk::config_int(host, cfg, "device", dev); s != PLINTH_OK) return s;
    if (dev != 0)
      return sdk::failf(host, PLINTH_ERR_NOT_FOUND, "cpu backend: device %lld does not exist (only 0)",
                        static_cast<long long>(dev));
    int64_t threads = 0;
    if (plinth_status s = sdk::config_int(host, cfg, "threads", threads); s != PLINTH_OK) return s;
    if (threads < 0 || threads > 4096)
      return sdk::failf(host, PLINTH_ERR_INVALID_ARGUMENT,
                        "cpu backend: threads = %lld is out of range (0 = automatic, or 1..4096)",
                        static_cast<long long>(threads));
    bool allow_fallback = true;
    if (plinth_status s = sdk::config_bool(host, cfg, "allow_fallback", allow_fallback); s != PLINTH_OK)
      return s;
    std::string name = "cpu";
    if (plinth_status s = sdk::config_string(host, cfg, "name", name); s != PLINTH_OK) return s;

    auto ctx = std::make_unique<plinth_backend_ctx>();
    ctx->host = host;
    std::string why = "[backend] threads";
    bool telling = false;  // a choice the user may not expect: said at info level
    if (threads == 0) {
      auto [n, reason] = default_threads();
      threads = n;
      telling = n != hardware_threads();
      why = "threads = 0: " + reason;
    }
    ctx->threads = int(threads);
    ctx->allow_fallback = allow_fallback;
    ctx->name = name;
    ctx->pool = std::make_unique<thread_pool>(ctx->threads);
    ctx->matmul = matmul_cache_create();
    ctx->conv = conv_cache_create();
    ctx->sgemm_warm_up = start_sgemm_warm_up();
    sdk::log(host, telling ? PLINTH_LOG_INFO : PLINTH_LOG_DEBUG, k_plugin_name,
             "cpu backend: " + std::to_string(ctx->threads) + " thread" + (ctx->threads == 1 ? "" : "s") +
                 " (" + why + ")");
    sdk::log(host, PLINTH_LOG_DEBUG, k_plugin_name,
             "cpu backend: " + std::to_string(ctx->threads) + " threads, kernels " + kernels().isa +
                 ", oneDNN with OpenMP (" + std::to_string(omp_get_max_threads()) +
                 " OpenMP threads by default)");
    *out = ctx.release();
    return PLINTH_OK;
  });
}

void destroy(plinth_backend_ctx* ctx) {
  if (!ctx) return;
  if (ctx->sgemm_warm_up.joinable()) ctx->sgemm_warm_up.join();
  matmul_cache_destroy(ctx->matmul);
  conv_cache_destroy(ctx->conv);
  delete ctx;
}

int32_t num_threads(plinth_backend_ctx* ctx) { return ctx ? ctx->threads : 0; }

// --- streams and events: the backend runs every launch before returning, so
// a stream has nothing queued and an event is always reached.

plinth_status stream_create(plinth_backend_ctx* ctx, plinth_stream** out) {
  return sdk::guard(ctx ? ctx->host : g_host, [&]() -> plinth_status {
    if (!out) return sdk::fail(g_host, PLINTH_ERR_INVALID_ARGUMENT, "cpu stream_create: out is NULL");
    *out = new plinth_stream{};
    return PLINTH_OK;
  });
}
void stream_destroy(plinth_backend_ctx*, plinth_stream* stream) { delete stream; }
plinth_status stream_synchronize(plinth_backend_ctx*, plinth_stream*) { return PLINTH_OK; }
plinth_status event_create(plinth_backend_ctx* ctx, plinth_event** out) {
  return sdk::guard(ctx ? ctx->host : g_host, [&]() -> plinth_status {
    if (!out) return sdk::fail(g_host, PLINTH_ERR_INVALID_ARGUMENT, "cpu event_create: out is NULL");
    *out = new plinth_event{};
    return PLINTH_OK;
  });
}
void event_destroy(plinth_backend_ctx*, plinth_event* event) { delete event; }
plinth_status event_record(plinth_backend_ctx* ctx, plinth_event* event, plinth_stream*) {
  if (!event)
    return sdk::fail(ctx ? ctx->host : g_host, PLINTH_ERR_INVALID_ARGUMENT,
                     "cpu event_record: event is NULL");
  return PLINTH_OK;
}
plinth_status stream_wait_event(plinth_backend_ctx* ctx, plinth_stream*, plinth_event* event) {
  if (!event)
    return sdk::fail(ctx ? ctx->host : g_host, PLINTH_ERR_INVALID_ARGUMENT,
                     "cpu stream_wait_event: event is NULL");
  return PLINTH_OK;
}
plinth_status event_synchronize(plinth_backend_ctx* ctx, plinth_event* event) {
  if (!event)
    return sdk::fail(ctx ? ctx->host : g_host, PLINTH_ERR_INVALID_ARGUMENT,
                     "cpu event_synchronize: event is NULL");
  return PLINTH_OK;
}

}  // namespace plinth::cpu
