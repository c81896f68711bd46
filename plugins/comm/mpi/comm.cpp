// comm.cpp — plinth_comm_v1 on MPI, for host memory. Every collective is
// non-blocking MPI (MPI_Ibcast, ...; all_reduce from MPI_Isend/MPI_Irecv, see
// all_reduce_p2p) polled with MPI_Testall against a deadline of `timeout_s`, so a dead or stopped peer gives
// PLINTH_ERR_TIMEOUT instead of a hang. On a timeout the rank pings every peer on a second communicator;
// ranks waiting in a collective answer from their poll loop with their collective count, so the error names
// the ranks that did not answer (dead or stopped) or are behind. Not here: device memory (the core stages
// through the host), the descriptor (plugin.cpp).
#include "comm.hpp"
#include "mpi_bootstrap.hpp"
#include "plinth/ops.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "plinth/plugin.hpp"

struct plinth_comm {
  const plinth_host* host = nullptr;
  MPI_Comm data = MPI_COMM_NULL;  // the collectives
  MPI_Comm ctl = MPI_COMM_NULL;   // pings and pongs while diagnosing a timeout
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
  double timeout_s = 300;
  int64_t seq = 0;       // collectives started on this rank
  bool waiting = false;  // inside a collective's poll loop (what a pong reports)
  bool broken = false;   // a timeout or MPI error: no further MPI call on it
  std::string why_broken;
  std::deque<int64_t> pong_bufs;  // send buffers of pongs in flight (Isend + Request_free)
  std::vector<char> scratch;      // all_reduce: the block received from a peer before it is reduced
};

namespace plinth::comm_mpi {
namespace {

constexpr const char* kName = "plinth-comm-mpi";
constexpr int kTagPing = 1, kTagPong = 2;

std::mutex g_mu;                             // guards the globals below
MPI_Datatype g_half = MPI_DATATYPE_NULL;     // 2-byte element for f16 / bf16
std::vector<std::vector<char>> g_abandoned;  // scratch of broken communicators (see destroy)
MPI_Op g_ops[2][3] = {{MPI_OP_NULL, MPI_OP_NULL, MPI_OP_NULL}, {MPI_OP_NULL, MPI_OP_NULL, MPI_OP_NULL}};

using clock = std::chrono::steady_clock;

// --- f16 / bf16 <-> f32 (round to nearest even), for the reduction ops ---
float bf16_to_f32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
float f16_to_f32(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  uint32_t u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      uint32_t m = man;
      do {
        ++e;
        m <<= 1;
      } while (!(m & 0x400u));
      u = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (m & 0x3ffu) << 13;
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | man << 13;
  } else {
    u = sign | (exp + 112) << 23 | man << 13;
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);   // NaN
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow (after rounding) -> inf
  if (a < 0x38800000u) {                                               // subnormal or zero in f16
    const float x = std::fabs(f) * 16777216.0f;                        // scale by 2^24: f16 subnormal units
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(x)));
  }
  const uint32_t r = a + 0xfffu + ((a >> 13) & 1u);  // round to nearest even at bit 13
  return static_cast<uint16_t>(sign | (((r >> 23) - 112) << 10) | ((r >> 13) & 0x3ffu));
}

template <float (*Load)(uint16_t), uint16_t (*Store)(float), int Op>
void half_op(void* in, void* inout, int* len, MPI_Datatype*) {
  const auto* a = static_cast<const uint16_t*>(in);
  auto* b = static_cast<uint16_t*>(inout);
  for (int i = 0; i < *len; ++i) {
    const float x = Load(a[i]), y = Load(b[i]);
    b[i] = Store(Op == 0 ? x + y : Op == 1 ? std::max(x, y) : std::min(x, y));
  }
}

// The MPI datatype of a plinth dtype.
MPI_Datatype mpi_type(plinth_dtype t) {
  switch (t) {
    case PLINTH_DTYPE_F32:
      return MPI_FLOAT;
    case PLINTH_DTYPE_F64:
      return MPI_DOUBLE;
    case PLINTH_DTYPE_I32:
      return MPI_INT32_T;
    case PLINTH_DTYPE_I64:
      return MPI_INT64_T;
    case PLINTH_DTYPE_U8:
      return MPI_UINT8_T;
    case PLINTH_DTYPE_U16:
      return MPI_UINT16_T;
    case PLINTH_DTYPE_F16:
    case PLINTH_DTYPE_BF16:
      return g_half;
    default:
      return MPI_DATATYPE_NULL;
  }
}

size_t elem_size(plinth_dtype t) { return sdk::dtype_size(t); }

using sdk::dtype_name;

// The MPI reduction for (dtype, op); AVG reduces with SUM and divides after.
MPI_Op mpi_op(plinth_dtype t, plinth_reduce_op op) {
  const int k = op == PLINTH_REDUCE_OP_MAX ? 1 : op == PLINTH_REDUCE_OP_MIN ? 2 : 0;
  if (t == PLINTH_DTYPE_F16) return g_ops[0][k];
  if (t == PLINTH_DTYPE_BF16) return g_ops[1][k];
  return k == 0 ? MPI_SUM : k == 1 ? MPI_MAX : MPI_MIN;
}

// recv[i] /= size for AVG, in the buffer's own type.
void divide(void* buf, uint64_t n, plinth_dtype t, int size) {
  const double inv = 1.0 / size;
  switch (t) {
    case PLINTH_DTYPE_F32: {
      auto* p = static_cast<float*>(buf);
      for (uint64_t i = 0; i < n; ++i) p[i] = static_cast<float>(p[i] * inv);
      break;
    }
    case PLINTH_DTYPE_F64: {
      auto* p = static_cast<double*>(buf);
      for (uint64_t i = 0; i < n; ++i) p[i] *= inv;
      break;
    }
    case PLINTH_DTYPE_F16:
    case PLINTH_DTYPE_BF16: {
      auto* p = static_cast<uint16_t*>(buf);
      const bool bf = t == PLINTH_DTYPE_BF16;
      for (uint64_t i = 0; i < n; ++i) {
        const float x = static_cast<float>((bf ? bf16_to_f32(p[i]) : f16_to_f32(p[i])) * inv);
        p[i] = bf ? f32_to_bf16(x) : f32_to_f16(x);
      }
      break;
    }
    case PLINTH_DTYPE_I32: {
      auto* p = static_cast<int32_t*>(buf);
      for (uint64_t i = 0; i < n; ++i) p[i] /= size;
      break;
    }
    case PLINTH_DTYPE_I64: {
      auto* p = static_cast<int64_t*>(buf);
      for (uint64_t i = 0; i < n; ++i) p[i] /= size;
      break;
    }
    case PLINTH_DTYPE_U8: {
      auto* p = static_cast<uint8_t*>(buf);
      for (uint64_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(p[i] / size);
      break;
    }
    case PLINTH_DTYPE_U16: {
      auto* p = static_cast<uint16_t*>(buf);
      for (uint64_t i = 0; i < n; ++i) p[i] = static_cast<uint16_t>(p[i] / size);
      break;
    }
    default:
      break;
  }
}

std::string mpi_error_string(int rc) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) return "MPI error " + std::to_string(rc);
  return std::string(msg, static_cast<size_t>(len));
}

plinth_status mark_broken(plinth_comm* c, plinth_status code, const std::string& msg) {
  c->broken = true;
  c->why_broken = msg;
  comm_boot::mark_broken();
  return sdk::fail(c->host, code, msg);
}

plinth_status mpi_fail(plinth_comm* c, int rc, const std::string& what) {
  return mark_broken(c, PLINTH_ERR_UNAVAILABLE,
                     "rank " + std::to_string(c->rank) + ": " + what + " failed: " + mpi_error_string(rc));
}

// Answer every ping waiting for this rank with {collectives started, waiting}.
void serve_pings(plinth_comm* c) {
  for (;;) {
    int flag = 0;
    MPI_Status st;
    if (MPI_Iprobe(MPI_ANY_SOURCE, kTagPing, c->ctl, &flag, &st) != MPI_SUCCESS || !flag) return;
    int64_t ping = 0;
    if (MPI_Recv(&ping, 1, MPI_INT64_T, st.MPI_SOURCE, kTagPing, c->ctl, MPI_STATUS_IGNORE) != MPI_SUCCESS)
      return;
    // The buffer outlives the send: pongs are few (one per peer's timeout).
    c->pong_bufs.push_back(c->waiting ? c->seq : -c->seq - 1);
    MPI_Request r;
    if (MPI_Isend(&c->pong_bufs.back(), 1, MPI_INT64_T, st.MPI_SOURCE, kTagPong, c->ctl, &r) == MPI_SUCCESS)
      MPI_Request_free(&r);
  }
}

// Poll politely. MPI moves data only inside MPI calls on the shared-memory
// transport, so a poll that yields the core right away stalls both ranks:
// on a busy machine a yield can cost a whole scheduler slice (ms), which
// made the plugin up to 15x slower than a blocking MPI_Allreduce of 1 MiB.
// So a wait first spins like a blocking call does, for `spin` (long enough
// for the transfer itself); past it the peer is late (still computing), and
// the wait yields until 20 ms, then sleeps up to 200 us per poll so that a
// waiting communication thread leaves the cores to compute.
void backoff(int64_t& polls, clock::time_point started, clock::duration spin) {
  ++polls;
  if (polls < 64) return;
  const auto waited = clock::now() - started;
  if (waited < spin) return;
  if (waited < std::chrono::milliseconds(20)) {
    std::this_thread::yield();
    return;
  }
  std::this_thread::sleep_for(std::chrono::microseconds(std::min<int64_t>(200, polls / 64 + 10)));
}

// How long a wait for `bytes` spins before it backs off: 200 us plus the
// time to move the bytes at 0.5 GB/s (well under what shared memory gives).
clock::duration spin_for(uint64_t bytes) {
  return std::chrono::microseconds(200) + std::chrono::nanoseconds(2 * bytes);
}

// After the deadline: ping every peer and wait a grace period for pongs; the
// error names who did not answer or is behind.
plinth_status diagnose_timeout(plinth_comm* c, MPI_Request* reqs, int nreqs, const char* what) {
  const int64_t my_seq = c->seq;
  std::vector<int64_t> pings(static_cast<size_t>(c->size), my_seq);
  std::vector<int64_t> answer(static_cast<size_t>(c->size), std::numeric_limits<int64_t>::min());
  for (int r = 0; r < c->size; ++r) {
    if (r == c->rank) continue;
    MPI_Request pr;
    if (MPI_Isend(&pings[static_cast<size_t>(r)], 1, MPI_INT64_T, r, kTagPing, c->ctl, &pr) == MPI_SUCCESS)
      MPI_Request_free(&pr);
  }
  const double grace = std::clamp(c->timeout_s * 0.25, 0.5, 5.0);
  const auto begun = clock::now();
  const auto until = begun + std::chrono::duration<double>(grace);
  int64_t polls = 0;
  int answered = 0;
  while (clock::now() < until && answered < c->size - 1) {
    int done = 0;
    if (MPI_Testall(nreqs, reqs, &done, MPI_STATUSES_IGNORE) == MPI_SUCCESS && done)
      return PLINTH_OK;  // late, not lost
    serve_pings(c);
    int flag = 0;
    MPI_Status st;
    if (MPI_Iprobe(MPI_ANY_SOURCE, kTagPong, c->ctl, &flag, &st) == MPI_SUCCESS && flag) {
      int64_t v = 0;
      MPI_Recv(&v, 1, MPI_INT64_T, st.MPI_SOURCE, kTagPong, c->ctl, MPI_STATUS_IGNORE);
      if (answer[static_cast<size_t>(st.MPI_SOURCE)] == std::numeric_limits<int64_t>::min()) ++answered;
      answer[static_cast<size_t>(st.MPI_SOURCE)] = v;
      continue;
    }
    backoff(polls, begun, clock::duration::zero());
  }
  std::string silent, behind;
  for (int r = 0; r < c->size; ++r) {
    if (r == c->rank) continue;
    const int64_t v = answer[static_cast<size_t>(r)];
    if (v == std::numeric_limits<int64_t>::min()) {
      silent += (silent.empty() ? "" : ", ") + std::to_string(r);
    } else {
      const bool in_collective = v >= 0;
      const int64_t seq = in_collective ? v : -v - 1;
      if (seq != my_seq || !in_collective)
        behind += (behind.empty() ? "" : "; ") + std::string("rank ") + std::to_string(r) +
                  " is at collective #" + std::to_string(seq) +
                  (in_collective ? "" : " and not waiting in one");
    }
  }
  char head[256];
  std::snprintf(head, sizeof head,
                "rank %d: %s (collective #%lld) timed out after %g s (timeout_s): ", c->rank, what,
                static_cast<long long>(my_seq), c->timeout_s);
  std::string msg = head;
  if (!silent.empty())
    msg += (silent.find(',') == std::string::npos ? "rank " : "ranks ") + silent +
           " did not answer (dead, stopped or stuck outside the communicator)";
  if (!behind.empty()) msg += (silent.empty() ? "" : "; ") + behind;
  if (silent.empty() && behind.empty())
    msg += "every rank answered from the same collective: MPI itself is stuck";
  return mark_broken(c, PLINTH_ERR_TIMEOUT, msg);
}

// Poll started requests to completion or to the collective's deadline
// (`begun` + timeout_s: one deadline for all the steps of a collective).
plinth_status wait(plinth_comm* c, MPI_Request* reqs, int nreqs, const char* what, clock::time_point begun,
                   uint64_t bytes) {
  const auto deadline =
      begun + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(c->timeout_s));
  const auto step_begun = clock::now();
  const auto spin = spin_for(bytes);
  c->waiting = true;
  int64_t polls = 0;
  plinth_status result = PLINTH_OK;
  for (;;) {
    int done = 0;
    if (int rc = MPI_Testall(nreqs, reqs, &done, MPI_STATUSES_IGNORE); rc != MPI_SUCCESS) {
      result = mpi_fail(c, rc, what);
      break;
    }
    if (done) break;
    // Pings come only from a peer whose collective timed out (seconds):
    // probing for them every 64th poll keeps MPI_Iprobe off a short wait.
    if ((polls & 63) == 63) serve_pings(c);
    if (clock::now() >= deadline) {
      result = diagnose_timeout(c, reqs, nreqs, what);
      break;
    }
    backoff(polls, step_begun, spin);
  }
  c->waiting = false;
  return result;
}

plinth_status wait(plinth_comm* c, MPI_Request& req, const char* what, uint64_t bytes) {
  return wait(c, &req, 1, what, clock::now(), bytes);
}

plinth_status check_usable(plinth_comm* c) {
  if (!c) return PLINTH_ERR_INVALID_ARGUMENT;
  if (c->broken)
    return sdk::fail(c->host, PLINTH_ERR_UNAVAILABLE,
                     "the MPI communicator is unusable after an earlier failure: " + c->why_broken);
  return PLINTH_OK;
}

plinth_status check_args(plinth_comm* c, plinth_dtype dtype, plinth_memory_kind kind, const char* what) {
  if (kind != PLINTH_MEMORY_HOST)
    return sdk::failf(c->host, PLINTH_ERR_UNSUPPORTED,
                      "%s: the MPI communicator reads host memory only (memory kind %d)", what,
                      static_cast<int>(kind));
  if (mpi_type(dtype) == MPI_DATATYPE_NULL)
    return sdk::failf(c->host, PLINTH_ERR_UNSUPPORTED, "%s: dtype %d is not supported", what,
                      static_cast<int>(dtype));
  return PLINTH_OK;
}

// Largest element count one MPI call takes (its counts are int).
constexpr uint64_t kMaxChunk = 1ull << 30;

plinth_status create(const plinth_host* host, const plinth_config* cfg, plinth_comm** out) {
  return sdk::guard(host, [&]() -> plinth_status {
    if (!out) return sdk::fail(host, PLINTH_ERR_INVALID_ARGUMENT, "create: out is NULL");
    *out = nullptr;
    double timeout = 300;
    if (plinth_status s = sdk::config_float(host, cfg, "timeout_s", timeout); s != PLINTH_OK) return s;
    if (!(timeout > 0) || !std::isfinite(timeout))
      return sdk::failf(host, PLINTH_ERR_INVALID_ARGUMENT,
                        "timeout_s = %g: must be a positive number of seconds", timeout);
    plinth_status started = comm_boot::start_mpi(host, kName, [] {
      std::lock_guard<std::mutex> lk(g_mu);
      if (g_half == MPI_DATATYPE_NULL) {
        MPI_Type_contiguous(2, MPI_BYTE, &g_half);
        MPI_Type_commit(&g_half);
        MPI_Op_create(&half_op<f16_to_f32, f32_to_f16, 0>, 1, &g_ops[0][0]);
        MPI_Op_create(&half_op<f16_to_f32, f32_to_f16, 1>, 1, &g_ops[0][1]);
        MPI_Op_create(&half_op<f16_to_f32, f32_to_f16, 2>, 1, &g_ops[0][2]);
        MPI_Op_create(&half_op<bf16_to_f32, f32_to_bf16, 0>, 1, &g_ops[1][0]);
        MPI_Op_create(&half_op<bf16_to_f32, f32_to_bf16, 1>, 1, &g_ops[1][1]);
        MPI_Op_create(&half_op<bf16_to_f32, f32_to_bf16, 2>, 1, &g_ops[1][2]);
      }
    });
    if (started != PLINTH_OK) return started;
    auto c = std::make_unique<plinth_comm>();
    c->host = host;
    c->timeout_s = timeout;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    // Communicator creation is itself collective and blocking; it runs once
    // at start-up, where the launcher notices a rank that never started.
    if (int rc = MPI_Comm_dup(MPI_COMM_WORLD, &c->data); rc != MPI_SUCCESS)
      return sdk::fail(host, PLINTH_ERR_UNAVAILABLE, "MPI_Comm_dup failed: " + mpi_error_string(rc));
    MPI_Comm_dup(MPI_COMM_WORLD, &c->ctl);
    MPI_Comm_set_errhandler(c->data, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(c->ctl, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->data, &c->rank);
    MPI_Comm_size(c->data, &c->size);
    comm_boot::node_rank(c->data, c->rank, &c->local_rank, &c->local_size);
    char line[160];
    std::snprintf(line, sizeof line, "rank %d of %d (local %d of %d), timeout %g s", c->rank, c->size,
                  c->local_rank, c->local_size, c->timeout_s);
    sdk::log(host, PLINTH_LOG_DEBUG, kName, line);
    *out = c.release();
    return PLINTH_OK;
  });
}

void destroy(plinth_comm* c) {
  if (!c) return;
  // A broken communicator may have a collective in flight that a silent peer
  // never completes: freeing it could block, so it is left to process exit.
  if (!c->broken) {
    MPI_Comm_free(&c->data);
    MPI_Comm_free(&c->ctl);
  } else {
    // An abandoned receive may still target the scratch buffer: it outlives
    // the communicator (the process is about to report the error and exit).
    std::lock_guard<std::mutex> lk(g_mu);
    g_abandoned.push_back(std::move(c->scratch));
  }
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

int32_t supports_memory(const plinth_comm*, plinth_memory_kind kind) { return kind == PLINTH_MEMORY_HOST; }

// Why all_reduce does not call MPI_Iallreduce for large buffers: Open MPI's
// non-blocking collectives (coll/libnbc) use a binomial tree (reduce to one
// rank, then broadcast) below 4 ranks and for every in-place call, which
// moves the data twice in sequence; that made the plugin 1.5-15x slower than
// the blocking MPI_Allreduce (coll/tuned). The reduction is therefore built
// here from non-blocking point-to-point messages, which the poll loop (and so
// the timeout) still covers: recursive doubling for small buffers on a
// power-of-two world (one exchange per doubling, the latency-optimal
// schedule), a ring (reduce-scatter, then all-gather) for large ones, whose
// bandwidth cost is 2(N-1)/N of the buffer per rank. The reduction itself is
// MPI_Reduce_local with the same MPI_Op, so every dtype and op the plugin
// takes (f16/bf16 included) reduces the same way.
constexpr int kTagReduce = 7;
// From this size on, the ring (measured with bench/allreduce.sh on 2 ranks:
// recursive doubling is 30% faster than the ring at 16 KiB, and from 64 KiB
// the ring is as fast as a blocking MPI_Allreduce).
constexpr uint64_t kRingBytes = 32u << 10;
// The largest message Open MPI's shared-memory transport sends eagerly
// (btl_vader_eager_limit, 4 KiB with its header); a larger one takes a
// rendezvous round trip. So a buffer just above it goes round the ring,
// whose blocks are sent eagerly (4 KiB on 2 ranks: 1.1 us instead of 2.8).
constexpr uint64_t kEagerBytes = 4000;

// Send `sbuf` to `to` and receive `rcount` elements from `from` into `rbuf`,
// polled to completion within the collective's deadline.
plinth_status exchange(plinth_comm* c, const void* sbuf, uint64_t scount, int to, void* rbuf, uint64_t rcount,
                       int from, MPI_Datatype t, size_t es, const char* what, clock::time_point begun) {
  MPI_Request reqs[2];
  if (int rc = MPI_Irecv(rbuf, static_cast<int>(rcount), t, from, kTagReduce, c->data, &reqs[0]);
      rc != MPI_SUCCESS)
    return mpi_fail(c, rc, what);
  if (int rc = MPI_Isend(sbuf, static_cast<int>(scount), t, to, kTagReduce, c->data, &reqs[1]);
      rc != MPI_SUCCESS)
    return mpi_fail(c, rc, what);
  return wait(c, reqs, 2, what, begun, std::max(scount, rcount) * es);
}

plinth_status reduce_local(plinth_comm* c, const void* in, void* inout, uint64_t n, MPI_Datatype t, MPI_Op op,
                           const char* what) {
  if (n == 0) return PLINTH_OK;
  if (int rc = MPI_Reduce_local(in, inout, static_cast<int>(n), t, op); rc != MPI_SUCCESS)
    return mpi_fail(c, rc, what);
  return PLINTH_OK;
}

// buf (n elements, n < 2^30) = op over ranks, in place.
plinth_status all_reduce_p2p(plinth_comm* c, char* buf, uint64_t n, plinth_dtype dtype, plinth_reduce_op op,
                             const char* what) {
  const auto begun = clock::now();
  const MPI_Datatype t = mpi_type(dtype);
  const MPI_Op mop = mpi_op(dtype, op);
  const size_t es = elem_size(dtype);
  const int N = c->size, me = c->rank;
  const bool pow2 = (N & (N - 1)) == 0;
  const uint64_t bytes = n * es;
  const bool eager_blocks = bytes > kEagerBytes && bytes / static_cast<uint64_t>(N) <= kEagerBytes;
  if (bytes < kRingBytes && pow2 && !eager_blocks) {
    c->scratch.resize(std::max<size_t>(c->scratch.size(), n * es));
    for (int mask = 1; mask < N; mask <<= 1) {
      const int peer = me ^ mask;
      if (plinth_status s = exchange(c, buf, n, peer, c->scratch.data(), n, peer, t, es, what, begun);
          s != PLINTH_OK)
        return s;
      // Both partners combine the same two values, so every rank ends with
      // the same bits (the ops are commutative).
      if (plinth_status s = reduce_local(c, c->scratch.data(), buf, n, t, mop, what); s != PLINTH_OK)
        return s;
    }
    return PLINTH_OK;
  }
  // Ring: block b holds elements [off(b), off(b+1)); rank r ends the
  // reduce-scatter owning block r+1, and the all-gather passes the owned
  // blocks round. Blocks are reduced once, then copied, so all ranks agree
  // bit for bit.
  const uint64_t base = n / static_cast<uint64_t>(N), extra = n % static_cast<uint64_t>(N);
  auto off = [&](int b) { return static_cast<uint64_t>(b) * base + std::min<uint64_t>(b, extra); };
  auto len = [&](int b) { return base + (static_cast<uint64_t>(b) < extra ? 1 : 0); };
  auto mod = [&](int b) { return ((b % N) + N) % N; };
  const int right = mod(me + 1), left = mod(me - 1);
  c->scratch.resize(std::max<size_t>(c->scratch.size(), len(0) * es));
  for (int s = 0; s < N - 1; ++s) {
    const int sb = mod(me - s), rb = mod(me - s - 1);
    if (plinth_status st = exchange(c, buf + off(sb) * es, len(sb), right, c->scratch.data(), len(rb), left,
                                    t, es, what, begun);
        st != PLINTH_OK)
      return st;
    if (plinth_status st = reduce_local(c, c->scratch.data(), buf + off(rb) * es, len(rb), t, mop, what);
        st != PLINTH_OK)
      return st;
  }
  for (int s = 0; s < N - 1; ++s) {
    const int sb = mod(me + 1 - s), rb = mod(me - s);
    if (plinth_status st = exchange(c, buf + off(sb) * es, len(sb), right, buf + off(rb) * es, len(rb), left,
                                    t, es, what, begun);
        st != PLINTH_OK)
      return st;
  }
  return PLINTH_OK;
}

plinth_status all_reduce(plinth_comm* c, const void* send, void* recv, uint64_t count, plinth_dtype dtype,
                         plinth_reduce_op op, plinth_memory_kind kind, void*) {
  if (plinth_status s = check_usable(c); s != PLINTH_OK) return s;
  return sdk::guard(c->host, [&]() -> plinth_status {
    if (plinth_status s = check_args(c, dtype, kind, "all_reduce"); s != PLINTH_OK) return s;
    if (count > 0 && (!send || !recv))
      return sdk::fail(c->host, PLINTH_ERR_INVALID_ARGUMENT, "all_reduce: NULL buffer");
    if (op < PLINTH_REDUCE_OP_SUM || op > PLINTH_REDUCE_OP_MIN)
      return sdk::failf(c->host, PLINTH_ERR_INVALID_ARGUMENT, "all_reduce: unknown reduce op %d",
                        static_cast<int>(op));
    const size_t es = elem_size(dtype);
    // Out of place: the reduction runs in recv, which starts as this rank's input.
    if (send != recv && count > 0) std::memmove(recv, send, count * es);
    uint64_t done = 0;
    do {
      const uint64_t n = std::min(count - done, kMaxChunk);
      char* r = static_cast<char*>(recv) + done * es;
      ++c->seq;
      char what[96];
      std::snprintf(what, sizeof what, "all_reduce of %llu %s", static_cast<unsigned long long>(n),
                    dtype_name(dtype));
      if (c->size > 1 && n > 0) {
        // A world that is not a power of two with a small buffer: Open MPI's
        // own schedule (few such calls: the core reduces in large buckets).
        if (n * es < kRingBytes && (c->size & (c->size - 1)) != 0) {
          MPI_Request req;
          int rc = MPI_Iallreduce(MPI_IN_PLACE, r, static_cast<int>(n), mpi_type(dtype), mpi_op(dtype, op),
                                  c->data, &req);
          if (rc != MPI_SUCCESS) return mpi_fail(c, rc, "all_reduce");
          if (plinth_status st = wait(c, req, what, n * es); st != PLINTH_OK) return st;
        } else if (plinth_status st = all_reduce_p2p(c, r, n, dtype, op, what); st != PLINTH_OK) {
          return st;
        }
      }
      if (op == PLINTH_REDUCE_OP_AVG) divide(r, n, dtype, c->size);
      done += n;
    } while (done < count);
    return PLINTH_OK;
  });
}

plinth_status broadcast(plinth_comm* c, void* buf, uint64_t count, plinth_dtype dtype, int32_t root,
                        plinth_memory_kind kind, void*) {
  if (plinth_status s = check_usable(c); s != PLINTH_OK) return s;
  return sdk::guard(c->host, [&]() -> plinth_status {
    if (plinth_status s = check_args(c, dtype, kind, "broadcast"); s != PLINTH_OK) return s;
    if (root < 0 || root >= c->size)
      return sdk::failf(c->host, PLINTH_ERR_INVALID_ARGUMENT, "broadcast: root %d is not a rank of %d", root,
                        c->size);
    if (count > 0 && !buf) return sdk::fail(c->host, PLINTH_ERR_INVALID_ARGUMENT, "broadcast: NULL buffer");
    const size_t es = elem_size(dtype);
    uint64_t done = 0;
    do {
      const uint64_t n = std::min(count - done, kMaxChunk);
      MPI_Request req;
      ++c->seq;
      int rc = MPI_Ibcast(static_cast<char*>(buf) + done * es, static_cast<int>(n), mpi_type(dtype), root,
                          c->data, &req);
      if (rc != MPI_SUCCESS) return mpi_fail(c, rc, "broadcast");
      char what[96];
      std::snprintf(what, sizeof what, "broadcast from rank %d", root);
      if (plinth_status st = wait(c, req, what, n * es); st != PLINTH_OK) return st;
      done += n;
    } while (done < count);
    return PLINTH_OK;
  });
}

plinth_status all_gather(plinth_comm* c, const void* send, void* recv, uint64_t count, plinth_dtype dtype,
                         plinth_memory_kind kind, void*) {
  if (plinth_status s = check_usable(c); s != PLINTH_OK) return s;
  return sdk::guard(c->host, [&]() -> plinth_status {
    if (plinth_status s = check_args(c, dtype, kind, "all_gather"); s != PLINTH_OK) return s;
    if (count > kMaxChunk)
      return sdk::fail(c->host, PLINTH_ERR_INVALID_ARGUMENT, "all_gather: more than 2^30 elements per rank");
    if (count > 0 && (!send || !recv))
      return sdk::fail(c->host, PLINTH_ERR_INVALID_ARGUMENT, "all_gather: NULL buffer");
    const size_t es = elem_size(dtype);
    // In place: send is this rank's block of recv.
    const bool in_place =
        send == static_cast<const char*>(recv) + static_cast<uint64_t>(c->rank) * count * es;
    MPI_Request req;
    ++c->seq;
    int rc = MPI_Iallgather(in_place ? MPI_IN_PLACE : send, static_cast<int>(count), mpi_type(dtype), recv,
                            static_cast<int>(count), mpi_type(dtype), c->data, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(c, rc, "all_gather");
    return wait(c, req, "all_gather", count * es * static_cast<uint64_t>(c->size));
  });
}

plinth_status reduce_scatter(plinth_comm* c, const void* send, void* recv, uint64_t count, plinth_dtype dtype,
                             plinth_reduce_op op, plinth_memory_kind kind, void*) {
  if (plinth_status s = check_usable(c); s != PLINTH_OK) return s;
  return sdk::guard(c->host, [&]() -> plinth_status {
    if (plinth_status s = check_args(c, dtype, kind, "reduce_scatter"); s != PLINTH_OK) return s;
    if (count > kMaxChunk)
      return sdk::fail(c->host, PLINTH_ERR_INVALID_ARGUMENT,
                       "reduce_scatter: more than 2^30 elements per rank");
    if (count > 0 && (!send || !recv))
      return sdk::fail(c->host, PLINTH_ERR_INVALID_ARGUMENT, "reduce_scatter: NULL buffer");
    if (op < PLINTH_REDUCE_OP_SUM || op > PLINTH_REDUCE_OP_MIN)
      return sdk::failf(c->host, PLINTH_ERR_INVALID_ARGUMENT, "reduce_scatter: unknown reduce op %d",
                        static_cast<int>(op));
    // In place (send == recv): MPI_IN_PLACE reads the whole input from recv
    // and leaves this rank's reduced block at its start.
    MPI_Request req;
    ++c->seq;
    int rc = MPI_Ireduce_scatter_block(send == recv ? MPI_IN_PLACE : send, recv, static_cast<int>(count),
                                       mpi_type(dtype), mpi_op(dtype, op), c->data, &req);
    if (rc != MPI_SUCCESS) return mpi_fail(c, rc, "reduce_scatter");
    if (plinth_status st =
            wait(c, req, "reduce_scatter", count * elem_size(dtype) * static_cast<uint64_t>(c->size));
        st != PLINTH_OK)
      return st;
    if (op == PLINTH_REDUCE_OP_AVG) divide(recv, count, dtype, c->size);
    return PLINTH_OK;
  });
}

plinth_status barrier(plinth_comm* c) {
  if (plinth_status s = check_usable(c); s != PLINTH_OK) return s;
  return sdk::guard(c->host, [&]() -> plinth_status {
    MPI_Request req;
    ++c->seq;
    if (int rc = MPI_Ibarrier(c->data, &req); rc != MPI_SUCCESS) return mpi_fail(c, rc, "barrier");
    return wait(c, req, "barrier", 0);
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

void shutdown() {
  comm_boot::finish_mpi([] {
    std::lock_guard<std::mutex> lk(g_mu);
    for (auto& row : g_ops)
      for (auto& op : row)
        if (op != MPI_OP_NULL) MPI_Op_free(&op);
    if (g_half != MPI_DATATYPE_NULL) MPI_Type_free(&g_half);
  });
}

int32_t score() { return comm_boot::launched() ? 10 : 1; }

}  // namespace plinth::comm_mpi
