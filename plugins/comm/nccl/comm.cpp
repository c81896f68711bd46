// comm.cpp — plinth_comm_v1 on NCCL. Rank and size come from the launcher's
// environment (Open MPI, Slurm, PMI), checked against MPI, which carries
// rank 0's ncclUniqueId to the others. Device-memory collectives are enqueued
// on the caller's cudaStream_t and return at once; host memory is staged
// through a device buffer on the communicator's own stream and waited for.
// The communicator is non-blocking (ncclConfig_t.blocking = 0): a watchdog
// thread polls ncclCommGetAsyncError and each collective's completion event
// and calls ncclCommAbort when one errs or outlives timeout_s; later calls
// then fail with that reason. Not here: the descriptor (plugin.cpp).
#include "comm.hpp"
#include "mpi_bootstrap.hpp"

#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "plinth/ops.hpp"
#include "plinth/plugin.hpp"

namespace {
using clock_type = std::chrono::steady_clock;

struct Pending {  // one enqueued collective
  cudaEvent_t done = nullptr;
  clock_type::time_point since;
  std::string what;
};
}  // namespace

struct plinth_comm {
  const plinth_host* host = nullptr;
  ncclComm_t nccl = nullptr;
  MPI_Comm boot = MPI_COMM_NULL;  // start-up only: the unique id
  int rank = 0, size = 1, local_rank = 0, local_size = 1, device = 0;
  double timeout_s = 300;
  cudaStream_t stream = nullptr;  // host-memory staging and barrier
  void* scratch = nullptr;
  size_t scratch_bytes = 0;
  int64_t seq = 0;

  // Shared with the watchdog.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Pending> pending;
  bool stopping = false;
  std::atomic<bool> broken{false};
  plinth_status broken_code = PLINTH_OK;
  std::string why_broken;
  std::thread watchdog;
};

namespace plinth::comm_nccl {
namespace {

constexpr const char* kName = "plinth-comm-nccl";
using comm_boot::env_int;

std::string nccl_error(ncclComm_t comm, ncclResult_t r) {
  std::string s = ncclGetErrorString(r);
  if (comm) {
    const char* last = ncclGetLastError(comm);
    if (last && *last) s += std::string(" (") + last + ")";
  }
  return s;
}

bool dtype_of(plinth_dtype t, ncclDataType_t& out) {
  switch (t) {
    case PLINTH_DTYPE_F32:
      out = ncclFloat32;
      return true;
    case PLINTH_DTYPE_F64:
      out = ncclFloat64;
      return true;
    case PLINTH_DTYPE_F16:
      out = ncclFloat16;
      return true;
    case PLINTH_DTYPE_BF16:
      out = ncclBfloat16;
      return true;
    case PLINTH_DTYPE_I32:
      out = ncclInt32;
      return true;
    case PLINTH_DTYPE_I64:
      out = ncclInt64;
      return true;
    case PLINTH_DTYPE_U8:
      out = ncclUint8;
      return true;
    default:
      return false;
  }
}

size_t elem_size(plinth_dtype t) { return sdk::dtype_size(t); }

bool op_of(plinth_reduce_op op, ncclRedOp_t& out) {
  switch (op) {
    case PLINTH_REDUCE_OP_SUM:
      out = ncclSum;
      return true;
    case PLINTH_REDUCE_OP_AVG:
      out = ncclAvg;
      return true;
    case PLINTH_REDUCE_OP_MAX:
      out = ncclMax;
      return true;
    case PLINTH_REDUCE_OP_MIN:
      out = ncclMin;
      return true;
  }
  return false;
}

// Abort the NCCL communicator once, keeping the first reason; caller holds c->mu.
void break_locked(plinth_comm* c, plinth_status code, const std::string& why) {
  if (c->broken) return;
  c->broken_code = code;
  c->why_broken = why;
  c->broken = true;
  if (c->nccl) ncclCommAbort(c->nccl);  // unblocks kernels waiting on a silent peer
  c->cv.notify_all();                   // drain() returns
  comm_boot::mark_broken();
}

// Run an NCCL call under c->mu unless the watchdog has aborted the
// communicator (an aborted ncclComm_t is freed: nothing may touch it again).
template <class F>
bool locked_call(plinth_comm* c, F f) {
  std::lock_guard<std::mutex> lk(c->mu);
  if (c->broken) return false;
  f();
  return true;
}

// The caller's current device, restored when a call returns.
struct DeviceScope {
  int prev = -1;
  explicit DeviceScope(int device) {
    if (cudaGetDevice(&prev) != cudaSuccess) prev = -1;
    if (prev != device) cudaSetDevice(device);
  }
  ~DeviceScope() {
    if (prev >= 0) cudaSetDevice(prev);
  }
};

plinth_status broken_status(plinth_comm* c) {
  std::lock_guard<std::mutex> lk(c->mu);
  return sdk::fail(c->host,
                   c->broken_code == PLINTH_ERR_TIMEOUT ? PLINTH_ERR_TIMEOUT : PLINTH_ERR_UNAVAILABLE,
                   "communicator rank " + std::to_string(c->rank) + " is unusable: " + c->why_broken);
}

plinth_status fail_broken(plinth_comm* c, plinth_status code, const std::string& why) {
  {
    std::lock_guard<std::mutex> lk(c->mu);
    break_locked(c, code, why);
  }
  return broken_status(c);
}

// The watchdog: completion events in order, the async error, the deadline.
void watch(plinth_comm* c) {
  cudaSetDevice(c->device);
  std::unique_lock<std::mutex> lk(c->mu);
  while (!c->stopping) {
    if (c->pending.empty() || c->broken) {
      c->cv.wait_for(lk, std::chrono::milliseconds(100));
      continue;
    }
    ncclResult_t async = ncclSuccess;
    if (ncclCommGetAsyncError(c->nccl, &async) == ncclSuccess && async != ncclSuccess &&
        async != ncclInProgress) {
      break_locked(c, PLINTH_ERR_UNAVAILABLE,
                   c->pending.front().what + " failed: " + nccl_error(c->nccl, async));
      continue;
    }
    Pending& p = c->pending.front();
    const cudaError_t q = cudaEventQuery(p.done);
    if (q == cudaSuccess) {
      cudaEventDestroy(p.done);
      c->pending.pop_front();
      c->cv.notify_all();
      continue;
    }
    const double waited = std::chrono::duration<double>(clock_type::now() - p.since).count();
    if (q != cudaErrorNotReady) {
      break_locked(c, PLINTH_ERR_UNAVAILABLE, p.what + ": CUDA error " + cudaGetErrorString(q));
    } else if (waited > c->timeout_s) {
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    " did not complete within %g s (timeout_s): a peer is dead, stopped or "
                    "at another collective; the NCCL communicator was aborted",
                    c->timeout_s);
      break_locked(c, PLINTH_ERR_TIMEOUT, p.what + buf);
    }
    c->cv.wait_for(lk, std::chrono::microseconds(500));
  }
}

// After an NCCL call on the non-blocking communicator: wait (to the
// deadline) while it is still being enqueued, then record its completion.
plinth_status enqueued(plinth_comm* c, ncclResult_t r, cudaStream_t stream, const std::string& what) {
  const auto t0 = clock_type::now();
  while (r == ncclInProgress) {
    if (!locked_call(c, [&] {
          if (ncclCommGetAsyncError(c->nccl, &r) != ncclSuccess) r = ncclInternalError;
        }))
      return broken_status(c);
    if (r != ncclInProgress) break;
    if (std::chrono::duration<double>(clock_type::now() - t0).count() > c->timeout_s)
      return fail_broken(c, PLINTH_ERR_TIMEOUT, what + ": not enqueued within timeout_s");
    std::this_thread::yield();
  }
  if (r != ncclSuccess) {
    std::string msg;
    if (!locked_call(c, [&] { msg = nccl_error(c->nccl, r); })) return broken_status(c);
    return fail_broken(c, PLINTH_ERR_UNAVAILABLE, what + ": " + msg);
  }
  Pending p;
  p.since = clock_type::now();
  p.what = what + " (collective #" + std::to_string(++c->seq) + ")";
  if (cudaEventCreateWithFlags(&p.done, cudaEventDisableTiming) != cudaSuccess ||
      cudaEventRecord(p.done, stream) != cudaSuccess)
    return sdk::fail(c->host, PLINTH_ERR_UNAVAILABLE, what + ": cudaEventRecord failed");
  {
    std::lock_guard<std::mutex> lk(c->mu);
    c->pending.push_back(std::move(p));
  }
  c->cv.notify_all();
  return PLINTH_OK;
}

// Block until every enqueued collective completed, or the watchdog broke it.
plinth_status drain(plinth_comm* c) {
  std::unique_lock<std::mutex> lk(c->mu);
  c->cv.wait(lk, [&] { return c->pending.empty() || c->broken; });
  lk.unlock();
  return c->broken ? broken_status(c) : PLINTH_OK;
}

plinth_status ensure_scratch(plinth_comm* c, size_t bytes) {
  if (bytes <= c->scratch_bytes) return PLINTH_OK;
  if (c->scratch) cudaFree(c->scratch);
  c->scratch = nullptr;
  c->scratch_bytes = 0;
  if (cudaError_t e = cudaMalloc(&c->scratch, bytes); e != cudaSuccess)
    return sdk::fail(c->host, PLINTH_ERR_OUT_OF_MEMORY,
                     "staging buffer of " + std::to_string(bytes) + " bytes: " + cudaGetErrorString(e));
  c->scratch_bytes = bytes;
  return PLINTH_OK;
}

// One collective: `run(in, out, stream)` enqueues it. Device memory: on the
// caller's stream, returning at once. Host memory: in_bytes of `send` staged
// in, out_bytes of `recv` staged out, on the communicator's stream, waited for.
template <class Run>
plinth_status collective(plinth_comm* c, const void* send, void* recv, size_t in_bytes, size_t out_bytes,
                         plinth_memory_kind kind, void* stream, const std::string& what, Run run) {
  if (c->broken) return broken_status(c);
  DeviceScope device(c->device);
  ncclResult_t r = ncclSuccess;
  if (kind == PLINTH_MEMORY_CUDA) {
    auto s = static_cast<cudaStream_t>(stream);
    if (!locked_call(c, [&] { r = run(send, recv, s); })) return broken_status(c);
    return enqueued(c, r, s, what);
  }
  if (kind != PLINTH_MEMORY_HOST)
    return sdk::fail(c->host, PLINTH_ERR_UNSUPPORTED, what + ": memory kind not supported");
  if (plinth_status s = ensure_scratch(c, in_bytes + out_bytes + 16); s != PLINTH_OK) return s;
  char* din = static_cast<char*>(c->scratch);
  char* dout = din + ((in_bytes + 15) / 16) * 16;
  if (in_bytes) cudaMemcpyAsync(din, send, in_bytes, cudaMemcpyHostToDevice, c->stream);
  if (!locked_call(c, [&] { r = run(din, dout, c->stream); })) return broken_status(c);
  if (plinth_status s = enqueued(c, r, c->stream, what); s != PLINTH_OK) return s;
  if (plinth_status s = drain(c); s != PLINTH_OK) return s;
  if (out_bytes && cudaMemcpy(recv, dout, out_bytes, cudaMemcpyDeviceToHost) != cudaSuccess)
    return sdk::fail(c->host, PLINTH_ERR_UNAVAILABLE, what + ": copy back to host memory failed");
  return PLINTH_OK;
}

plinth_status check(plinth_comm* c, plinth_dtype dtype, ncclDataType_t& t, const char* what) {
  if (!c) return PLINTH_ERR_INVALID_ARGUMENT;
  if (!dtype_of(dtype, t))
    return sdk::failf(c->host, PLINTH_ERR_UNSUPPORTED, "%s: dtype %d has no NCCL type", what,
                      static_cast<int>(dtype));
  return PLINTH_OK;
}

// Poll a non-blocking MPI request against a deadline.
bool mpi_wait(MPI_Request& req, double timeout_s) {
  const auto t0 = clock_type::now();
  for (int done = 0;;) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return true;
    if (std::chrono::duration<double>(clock_type::now() - t0).count() > timeout_s) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

plinth_status create(const plinth_host* host, const plinth_config* cfg, plinth_comm** out) {
  return sdk::guard(host, [&]() -> plinth_status {
    if (!out) return sdk::fail(host, PLINTH_ERR_INVALID_ARGUMENT, "create: out is NULL");
    *out = nullptr;
    double timeout = 300;
    if (plinth_status s = sdk::config_float(host, cfg, "timeout_s", timeout); s != PLINTH_OK) return s;
    if (!(timeout > 0) || !std::isfinite(timeout))
      return sdk::failf(host, PLINTH_ERR_INVALID_ARGUMENT,
                        "timeout_s = %g: must be a positive number of seconds", timeout);
    const int devices = device_count();
    if (devices <= 0)
      return sdk::fail(
          host, PLINTH_ERR_UNAVAILABLE,
          "no CUDA device (cudaGetDeviceCount gives 0 or fails): the nccl communicator needs one "
          "GPU per rank; use communicator = \"mpi\"");
    if (plinth_status s = comm_boot::start_mpi(host, kName); s != PLINTH_OK) return s;  // carries the NCCL id
    auto c = std::make_unique<plinth_comm>();
    c->host = host;
    c->timeout_s = timeout;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (MPI_Comm_dup(MPI_COMM_WORLD, &c->boot) != MPI_SUCCESS)
      return sdk::fail(host, PLINTH_ERR_UNAVAILABLE, "MPI_Comm_dup failed");
    MPI_Comm_set_errhandler(c->boot, MPI_ERRORS_RETURN);
    int mpi_rank = 0, mpi_size = 1;
    MPI_Comm_rank(c->boot, &mpi_rank);
    MPI_Comm_size(c->boot, &mpi_size);
    // The launcher's view first (Open MPI, Slurm, PMI); MPI's when absent.
    c->rank = env_int("OMPI_COMM_WORLD_RANK", env_int("SLURM_PROCID", env_int("PMI_RANK", mpi_rank)));
    c->size = env_int("OMPI_COMM_WORLD_SIZE", env_int("SLURM_NTASKS", env_int("PMI_SIZE", mpi_size)));
    if (c->rank != mpi_rank || c->size != mpi_size) {
      sdk::log(host, PLINTH_LOG_WARN, kName,
               "the launcher says rank " + std::to_string(c->rank) + " of " + std::to_string(c->size) +
                   ", MPI rank " + std::to_string(mpi_rank) + " of " + std::to_string(mpi_size) +
                   ": using MPI's (it carries the NCCL id)");
      c->rank = mpi_rank;
      c->size = mpi_size;
    }
    comm_boot::node_rank(c->boot, c->rank, &c->local_rank, &c->local_size);
    c->device = c->local_rank % devices;
    if (cudaError_t e = cudaSetDevice(c->device); e != cudaSuccess)
      return sdk::fail(host, PLINTH_ERR_UNAVAILABLE,
                       "cudaSetDevice(" + std::to_string(c->device) + "): " + cudaGetErrorString(e));
    ncclUniqueId id{};
    if (c->rank == 0) {
      if (ncclResult_t r = ncclGetUniqueId(&id); r != ncclSuccess)
        return sdk::fail(host, PLINTH_ERR_UNAVAILABLE,
                         std::string("ncclGetUniqueId: ") + ncclGetErrorString(r));
    }
    MPI_Request req;
    MPI_Ibcast(&id, sizeof id, MPI_BYTE, 0, c->boot, &req);
    if (!mpi_wait(req, timeout))
      return sdk::failf(host, PLINTH_ERR_TIMEOUT,
                        "rank %d: rank 0's NCCL id did not arrive within %g s (timeout_s)", c->rank, timeout);
    ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
    config.blocking = 0;  // calls return ncclInProgress: start-up and collectives can be timed out
    ncclResult_t r = ncclCommInitRankConfig(&c->nccl, c->size, id, c->rank, &config);
    const auto t0 = clock_type::now();
    while (r == ncclInProgress) {
      if (std::chrono::duration<double>(clock_type::now() - t0).count() > timeout) {
        ncclCommAbort(c->nccl);
        c->nccl = nullptr;
        return sdk::failf(host, PLINTH_ERR_TIMEOUT,
                          "rank %d: NCCL communicator of %d ranks not formed within %g s (timeout_s)",
                          c->rank, c->size, timeout);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      ncclCommGetAsyncError(c->nccl, &r);
    }
    if (r != ncclSuccess) {
      const std::string msg = "ncclCommInitRankConfig: " + nccl_error(c->nccl, r);
      if (c->nccl) ncclCommAbort(c->nccl);
      c->nccl = nullptr;
      return sdk::fail(host, PLINTH_ERR_UNAVAILABLE, msg);
    }
    if (cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking) != cudaSuccess) {
      ncclCommAbort(c->nccl);
      return sdk::fail(host, PLINTH_ERR_UNAVAILABLE, "cudaStreamCreate failed");
    }
    c->watchdog = std::thread(watch, c.get());
    char line[160];
    std::snprintf(line, sizeof line, "rank %d of %d (local %d of %d) on CUDA device %d, timeout %g s",
                  c->rank, c->size, c->local_rank, c->local_size, c->device, c->timeout_s);
    sdk::log(host, PLINTH_LOG_DEBUG, kName, line);
    *out = c.release();
    return PLINTH_OK;
  });
}

void destroy(plinth_comm* c) {
  if (!c) return;
  if (!c->broken && c->nccl) drain(c);  // the watchdog still runs: bounded by timeout_s
  {
    std::lock_guard<std::mutex> lk(c->mu);
    c->stopping = true;
  }
  c->cv.notify_all();
  if (c->watchdog.joinable()) c->watchdog.join();
  cudaSetDevice(c->device);
  if (c->nccl && !c->broken) {
    ncclResult_t r = ncclCommFinalize(c->nccl);
    const auto t0 = clock_type::now();
    while (r == ncclInProgress &&
           std::chrono::duration<double>(clock_type::now() - t0).count() < c->timeout_s) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      ncclCommGetAsyncError(c->nccl, &r);
    }
    if (r == ncclSuccess) {
      ncclCommDestroy(c->nccl);
    } else {
      ncclCommAbort(c->nccl);
    }
  }
  for (auto& p : c->pending) cudaEventDestroy(p.done);
  if (c->scratch) cudaFree(c->scratch);
  if (c->stream) cudaStreamDestroy(c->stream);
  if (c->boot != MPI_COMM_NULL && !c->broken) MPI_Comm_free(&c->boot);
  delete c;
}

plinth_status info(const plinth_comm* c, plinth_comm_info* out) {
  if (!c || !out || out->struct_size < PLINTH_COMM_INFO_STRUCT_SIZE) return PLINTH_ERR_INVALID_ARGUMENT;
  out->rank = c->rank;
  out->size = c->size;
  out->local_rank = c->local_rank;
  out->local_size = c->local_size;
  return PLINTH_OK;
}

// Device memory natively; host memory through the staging buffer.
int32_t supports_memory(const plinth_comm*, plinth_memory_kind kind) {
  return kind == PLINTH_MEMORY_CUDA || kind == PLINTH_MEMORY_HOST;
}

plinth_status all_reduce(plinth_comm* c, const void* send, void* recv, uint64_t count, plinth_dtype dtype,
                         plinth_reduce_op op, plinth_memory_kind kind, void* stream) {
  if (!c) return PLINTH_ERR_INVALID_ARGUMENT;
  return sdk::guard(c->host, [&]() -> plinth_status {
    ncclDataType_t t = ncclFloat32;
    ncclRedOp_t o = ncclSum;
    if (plinth_status s = check(c, dtype, t, "all_reduce"); s != PLINTH_OK) return s;
    if (!op_of(op, o)) return sdk::fail(c->host, PLINTH_ERR_INVALID_ARGUMENT, "all_reduce: unknown op");
    const size_t bytes = count * elem_size(dtype);
    return collective(c, send, recv, bytes, bytes, kind, stream, "all_reduce",
                      [&](const void* in, void* o2, cudaStream_t s) {
                        return ncclAllReduce(in, o2, count, t, o, c->nccl, s);
                      });
  });
}

plinth_status broadcast(plinth_comm* c, void* buf, uint64_t count, plinth_dtype dtype, int32_t root,
                        plinth_memory_kind kind, void* stream) {
  if (!c) return PLINTH_ERR_INVALID_ARGUMENT;
  return sdk::guard(c->host, [&]() -> plinth_status {
    ncclDataType_t t = ncclFloat32;
    if (plinth_status s = check(c, dtype, t, "broadcast"); s != PLINTH_OK) return s;
    if (root < 0 || root >= c->size)
      return sdk::failf(c->host, PLINTH_ERR_INVALID_ARGUMENT, "broadcast: root %d of %d ranks", root,
                        c->size);
    const size_t bytes = count * elem_size(dtype);
    return collective(c, buf, buf, bytes, bytes, kind, stream, "broadcast",
                      [&](const void* in, void* o2, cudaStream_t s) {
                        return ncclBroadcast(in, o2, count, t, root, c->nccl, s);
                      });
  });
}

plinth_status all_gather(plinth_comm* c, const void* send, void* recv, uint64_t count, plinth_dtype dtype,
                         plinth_memory_kind kind, void* stream) {
  if (!c) return PLINTH_ERR_INVALID_ARGUMENT;
  return sdk::guard(c->host, [&]() -> plinth_status {
    ncclDataType_t t = ncclFloat32;
    if (plinth_status s = check(c, dtype, t, "all_gather"); s != PLINTH_OK) return s;
    const size_t bytes = count * elem_size(dtype);
    return collective(c, send, recv, bytes, bytes * c->size, kind, stream, "all_gather",
                      [&](const void* in, void* o2, cudaStream_t s) {
                        return ncclAllGather(in, o2, count, t, c->nccl, s);
                      });
  });
}

plinth_status reduce_scatter(plinth_comm* c, const void* send, void* recv, uint64_t count, plinth_dtype dtype,
                             plinth_reduce_op op, plinth_memory_kind kind, void* stream) {
  if (!c) return PLINTH_ERR_INVALID_ARGUMENT;
  return sdk::guard(c->host, [&]() -> plinth_status {
    ncclDataType_t t = ncclFloat32;
    ncclRedOp_t o = ncclSum;
    if (plinth_status s = check(c, dtype, t, "reduce_scatter"); s != PLINTH_OK) return s;
    if (!op_of(op, o)) return sdk::fail(c->host, PLINTH_ERR_INVALID_ARGUMENT, "reduce_scatter: unknown op");
    const size_t bytes = count * elem_size(dtype);
    return collective(c, send, recv, bytes * c->size, bytes, kind, stream, "reduce_scatter",
                      [&](const void* in, void* o2, cudaStream_t s) {
                        return ncclReduceScatter(in, o2, count, t, o, c->nccl, s);
                      });
  });
}

plinth_status barrier(plinth_comm* c) {
  if (!c) return PLINTH_ERR_INVALID_ARGUMENT;
  return sdk::guard(c->host, [&]() -> plinth_status {
    int32_t one = 1;
    return collective(c, &one, &one, 4, 4, PLINTH_MEMORY_HOST, nullptr, "barrier",
                      [&](const void* in, void* o2, cudaStream_t s) {
                        return ncclAllReduce(in, o2, 1, ncclInt32, ncclSum, c->nccl, s);
                      });
  });
}

}  // namespace

const plinth_comm_v1 table = {
    .struct_size = PLINTH_COMM_V1_STRUCT_SIZE,
    .create = create,
    .destroy = destroy,
    .info = info,
    .supports_memory = supports_memory,
    .all_reduce = all_reduce,
    .broadcast = broadcast,
    .all_gather = all_gather,
    .reduce_scatter = reduce_scatter,
    .barrier = barrier,
};

const char* const keys[] = {"timeout_s", nullptr};

void shutdown() { comm_boot::finish_mpi(); }

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n;
}

int32_t score() {
  if (device_count() <= 0) return 0;  // cannot run here
  return comm_boot::launched() ? 20 : 1;
}

}  // namespace plinth::comm_nccl
