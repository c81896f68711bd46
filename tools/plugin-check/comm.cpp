// comm.cpp — the communicator checks of plinth-plugin-check: every
// collective on host memory, every dtype and reduce op, sizes 0, 1, odd and
// over 1 MiB, in place and not, at whatever world size the launcher gave
// (1 without one; `mpirun -np 2` for two). Each rank's data is a known
// function of (rank, index), so every rank computes the expected result
// itself, in double, without trusting the plugin. Then struct_size handling
// and malformed calls (which must return an error on every rank alike).
// Not here: device-memory collectives (no backend buffers are made here).
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>

#include "check.hpp"
#include "plinth/comm.h"
#include "plinth/ops.hpp"

namespace plinth::plugin_check {

namespace {

const plinth_dtype kDtypes[] = {PLINTH_DTYPE_F32, PLINTH_DTYPE_F64, PLINTH_DTYPE_F16, PLINTH_DTYPE_BF16,
                                PLINTH_DTYPE_I32, PLINTH_DTYPE_I64, PLINTH_DTYPE_U8,  PLINTH_DTYPE_U16};
const char* const kOpNames[] = {"SUM", "AVG", "MAX", "MIN"};

const char* dt_name(plinth_dtype d) { return sdk::dtype_name(d); }

bool is_unsigned(plinth_dtype d) { return d == PLINTH_DTYPE_U8 || d == PLINTH_DTYPE_U16; }
bool is_int(plinth_dtype d) { return is_unsigned(d) || d == PLINTH_DTYPE_I32 || d == PLINTH_DTYPE_I64; }

// Rank r's element i: small integers, exact in every dtype, and their sums
// over a few ranks too (u8: at most 22 per rank).
double value(int r, uint64_t i, plinth_dtype d) {
  const double v = double((i * 7 + uint64_t(r) * 5 + 3) % 23);
  return is_unsigned(d) ? v : v - 11;
}

double reduce_ref(plinth_reduce_op op, int size, uint64_t i, plinth_dtype d) {
  double acc = value(0, i, d);
  for (int r = 1; r < size; ++r) {
    const double v = value(r, i, d);
    if (op == PLINTH_REDUCE_OP_MAX)
      acc = std::max(acc, v);
    else if (op == PLINTH_REDUCE_OP_MIN)
      acc = std::min(acc, v);
    else
      acc += v;
  }
  return op == PLINTH_REDUCE_OP_AVG ? acc / size : acc;
}

// How far `got` may be from the exact `want`: integer averages may round
// either way (truncate, floor or round), floats by their precision.
bool close(double got, double want, plinth_dtype d, bool avg) {
  if (is_int(d)) return avg ? std::fabs(got - want) < 1.0 : got == want;
  const double tol = d == PLINTH_DTYPE_F64   ? 1e-12
                     : d == PLINTH_DTYPE_F32 ? 1e-6
                     : d == PLINTH_DTYPE_F16 ? 1e-3
                                             : 8e-3;
  return std::fabs(got - want) <= tol * std::max(1.0, std::fabs(want));
}

std::vector<uint8_t> rank_data(int r, uint64_t n, plinth_dtype d) {
  std::vector<uint8_t> b(std::max<uint64_t>(n, 1) * dtype_bytes(d), 0);
  for (uint64_t i = 0; i < n; ++i) store_value(b, d, i, value(r, i, d));
  return b;
}

// A buffer of n elements filled with a pattern no result has (0xCD bytes).
std::vector<uint8_t> sentinel(uint64_t n, plinth_dtype d) {
  return std::vector<uint8_t>(std::max<uint64_t>(n, 1) * dtype_bytes(d), 0xCD);
}

// Elements over 1 MiB for dtype d.
uint64_t big_count(plinth_dtype d) { return (uint64_t(1) << 20) / dtype_bytes(d) + 3; }

struct Ctx {
  const plinth_comm_v1* t;
  plinth_comm* comm;
  int rank, size;
  Rows& out;

  void add(const std::string& coll, const std::string& name, const std::string& status,
           const std::string& detail = {}) {
    out.push_back(CaseResult{"comm", coll, name, status, 0, 0, detail});
  }
  // Record a collective's outcome: unsupported (the plugin says so), a
  // failed call, or the result of `check` (empty: matches).
  void result(const std::string& coll, const std::string& name, plinth_status s,
              const std::string& mismatch) {
    const std::string msg = take_plugin_error();
    if (s == PLINTH_ERR_UNSUPPORTED)
      add(coll, name, "unsupported", msg);
    else if (s != PLINTH_OK)
      add(coll, name, "fail", "returned status " + std::to_string(int(s)) + (msg.empty() ? "" : ": " + msg));
    else
      add(coll, name, mismatch.empty() ? "pass" : "fail", mismatch);
  }
};

// First mismatch of n elements of `got` against want(i), or empty.
template <class F>
std::string compare(const std::vector<uint8_t>& got, uint64_t n, plinth_dtype d, bool avg, F want) {
  uint64_t bad = 0, first = 0;
  double g0 = 0, w0 = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const double g = load_value(got, d, i), w = want(i);
    if (!close(g, w, d, avg)) {
      if (bad++ == 0) first = i, g0 = g, w0 = w;
    }
  }
  if (!bad) return {};
  char buf[200];
  std::snprintf(buf, sizeof buf, "%llu of %llu elements wrong; first at %llu: got %.9g, expected %.9g",
                (unsigned long long)bad, (unsigned long long)n, (unsigned long long)first, g0, w0);
  return buf;
}

std::string size_name(uint64_t n, plinth_dtype d) {
  if (n == big_count(d)) return std::to_string(n) + " (>1 MiB)";
  return std::to_string(n);
}

void all_reduce_cases(Ctx& c) {
  for (plinth_dtype d : kDtypes) {
    const uint64_t sizes[] = {0, 1, 7, big_count(d)};
    for (int op = 0; op < 4; ++op) {
      const auto rop = plinth_reduce_op(op);
      for (uint64_t n : sizes) {
        for (bool inplace : {false, true}) {
          if (inplace && n != 7 && n != big_count(d)) continue;
          auto send = rank_data(c.rank, n, d);
          auto recv = sentinel(n, d);
          void* dst = inplace ? send.data() : recv.data();
          plinth_status s = c.t->all_reduce(c.comm, send.data(), dst, n, d, rop, PLINTH_MEMORY_HOST, nullptr);
          std::string mism;
          if (s == PLINTH_OK)
            mism = compare(inplace ? send : recv, n, d, rop == PLINTH_REDUCE_OP_AVG,
                           [&](uint64_t i) { return reduce_ref(rop, c.size, i, d); });
          c.result("all_reduce",
                   std::string(dt_name(d)) + " " + kOpNames[op] + " " + size_name(n, d) +
                       (inplace ? " in place" : ""),
                   s, mism);
        }
      }
    }
  }
}

void reduce_scatter_cases(Ctx& c) {
  for (plinth_dtype d : kDtypes) {
    const uint64_t sizes[] = {0, 1, 7, big_count(d) / uint64_t(c.size)};
    for (int op = 0; op < 4; ++op) {
      const auto rop = plinth_reduce_op(op);
      for (uint64_t n : sizes) {
        auto send = rank_data(c.rank, n * c.size, d);
        auto recv = sentinel(n, d);
        plinth_status s =
            c.t->reduce_scatter(c.comm, send.data(), recv.data(), n, d, rop, PLINTH_MEMORY_HOST, nullptr);
        std::string mism;
        const uint64_t base = uint64_t(c.rank) * n;
        if (s == PLINTH_OK)
          mism = compare(recv, n, d, rop == PLINTH_REDUCE_OP_AVG,
                         [&](uint64_t i) { return reduce_ref(rop, c.size, base + i, d); });
        const bool big = n * c.size * dtype_bytes(d) > (1u << 20);
        c.result("reduce_scatter",
                 std::string(dt_name(d)) + " " + kOpNames[op] + " " + std::to_string(n) + " per rank" +
                     (big ? " (>1 MiB sent)" : ""),
                 s, mism);
      }
    }
  }
}

void all_gather_cases(Ctx& c) {
  for (plinth_dtype d : kDtypes) {
    const uint64_t sizes[] = {0, 1, 7, big_count(d) / uint64_t(c.size)};
    for (uint64_t n : sizes) {
      for (bool inplace : {false, true}) {
        if (inplace && n != 7) continue;
        auto recv = sentinel(n * c.size, d);
        auto mine = rank_data(c.rank, n, d);
        const void* send = mine.data();
        if (inplace) {  // send is this rank's block of recv
          std::memcpy(recv.data() + c.rank * n * dtype_bytes(d), mine.data(), n * dtype_bytes(d));
          send = recv.data() + c.rank * n * dtype_bytes(d);
        }
        plinth_status s = c.t->all_gather(c.comm, send, recv.data(), n, d, PLINTH_MEMORY_HOST, nullptr);
        std::string mism;
        if (s == PLINTH_OK)
          mism = compare(recv, n * c.size, d, false, [&](uint64_t i) { return value(int(i / n), i % n, d); });
        const bool big = n * c.size * dtype_bytes(d) > (1u << 20);
        c.result("all_gather",
                 std::string(dt_name(d)) + " " + std::to_string(n) + " per rank" + (big ? " (>1 MiB)" : "") +
                     (inplace ? " in place" : ""),
                 s, mism);
      }
    }
  }
}

void broadcast_cases(Ctx& c) {
  for (plinth_dtype d : kDtypes) {
    const uint64_t sizes[] = {0, 1, 7, big_count(d)};
    for (uint64_t n : sizes) {
      for (int root : {0, c.size - 1}) {
        auto buf = c.rank == root ? rank_data(root, n, d) : sentinel(n, d);
        plinth_status s = c.t->broadcast(c.comm, buf.data(), n, d, root, PLINTH_MEMORY_HOST, nullptr);
        std::string mism;
        if (s == PLINTH_OK) mism = compare(buf, n, d, false, [&](uint64_t i) { return value(root, i, d); });
        c.result("broadcast",
                 std::string(dt_name(d)) + " " + size_name(n, d) + " from rank " + std::to_string(root), s,
                 mism);
        if (c.size == 1) break;
      }
    }
  }
}

void barrier_case(Ctx& c) {
  // Rank 0 arrives late; every other rank must wait for it.
  constexpr double kLate = 0.3;
  if (c.rank == 0 && c.size > 1) std::this_thread::sleep_for(std::chrono::duration<double>(kLate));
  const auto t0 = std::chrono::steady_clock::now();
  plinth_status s = c.t->barrier(c.comm);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string mism;
  if (c.rank != 0 && waited < kLate / 2)
    mism = "returned after " + std::to_string(waited) + " s, before rank 0 (" + std::to_string(kLate) +
           " s late) arrived";
  c.result("barrier", c.size > 1 ? "waits for a late rank 0" : "one rank", s, mism);
}

// Every collective once more after the error checks: the communicator must
// still work after refusing malformed calls.
void still_usable(Ctx& c) {
  auto send = rank_data(c.rank, 33, PLINTH_DTYPE_F32);
  auto recv = sentinel(33, PLINTH_DTYPE_F32);
  plinth_status s = c.t->barrier(c.comm);
  if (s == PLINTH_OK)
    s = c.t->all_reduce(c.comm, send.data(), recv.data(), 33, PLINTH_DTYPE_F32, PLINTH_REDUCE_OP_SUM,
                        PLINTH_MEMORY_HOST, nullptr);
  std::string mism;
  if (s == PLINTH_OK)
    mism = compare(recv, 33, PLINTH_DTYPE_F32, false,
                   [&](uint64_t i) { return reduce_ref(PLINTH_REDUCE_OP_SUM, c.size, i, PLINTH_DTYPE_F32); });
  c.result("errors", "barrier and all_reduce still work after the malformed calls", s, mism);
}

void error_cases(Ctx& c) {
  std::vector<uint8_t> a(64 * 8, 0), b(64 * 8 * 4, 0);
  const auto H = PLINTH_MEMORY_HOST;
  const auto F = PLINTH_DTYPE_F32;
  struct Bad {
    const char* name;
    std::function<plinth_status()> call;
  };
  const Bad bad[] = {
      {"all_reduce with NULL send",
       [&] { return c.t->all_reduce(c.comm, nullptr, b.data(), 4, F, PLINTH_REDUCE_OP_SUM, H, nullptr); }},
      {"all_reduce with NULL recv",
       [&] { return c.t->all_reduce(c.comm, a.data(), nullptr, 4, F, PLINTH_REDUCE_OP_SUM, H, nullptr); }},
      {"all_reduce with dtype 99",
       [&] {
         return c.t->all_reduce(c.comm, a.data(), b.data(), 4, plinth_dtype(99), PLINTH_REDUCE_OP_SUM, H,
                                nullptr);
       }},
      {"all_reduce with reduce op 99",
       [&] { return c.t->all_reduce(c.comm, a.data(), b.data(), 4, F, plinth_reduce_op(99), H, nullptr); }},
      {"all_reduce with memory kind 99",
       [&] {
         return c.t->all_reduce(c.comm, a.data(), b.data(), 4, F, PLINTH_REDUCE_OP_SUM,
                                plinth_memory_kind(99), nullptr);
       }},
      {"broadcast from root -1", [&] { return c.t->broadcast(c.comm, a.data(), 4, F, -1, H, nullptr); }},
      {"broadcast from root = size",
       [&] { return c.t->broadcast(c.comm, a.data(), 4, F, c.size, H, nullptr); }},
      {"broadcast with NULL buffer", [&] { return c.t->broadcast(c.comm, nullptr, 4, F, 0, H, nullptr); }},
      {"all_gather with NULL recv",
       [&] { return c.t->all_gather(c.comm, a.data(), nullptr, 4, F, H, nullptr); }},
      {"all_gather with dtype 99",
       [&] { return c.t->all_gather(c.comm, a.data(), b.data(), 4, plinth_dtype(99), H, nullptr); }},
      {"reduce_scatter with reduce op 99",
       [&] {
         return c.t->reduce_scatter(c.comm, b.data(), a.data(), 4, F, plinth_reduce_op(99), H, nullptr);
       }},
      {"reduce_scatter with NULL send",
       [&] {
         return c.t->reduce_scatter(c.comm, nullptr, a.data(), 4, F, PLINTH_REDUCE_OP_SUM, H, nullptr);
       }},
      {"info with NULL out", [&] { return c.t->info(c.comm, nullptr); }},
  };
  for (const Bad& x : bad) {
    plinth_status s = x.call();
    (void)take_plugin_error();
    c.add("errors", std::string(x.name) + " returns an error", s != PLINTH_OK ? "pass" : "fail",
          s != PLINTH_OK ? "" : "returned OK");
  }
  // create with NULL out, and with a timeout the header's key forbids.
  {
    plinth_status s = c.t->create(plugin_host(), nullptr, nullptr);
    (void)take_plugin_error();
    c.add("errors", "create with NULL out returns an error", s != PLINTH_OK ? "pass" : "fail",
          s != PLINTH_OK ? "" : "returned OK");
  }
}

// info() with struct_size other than the header's: a larger (newer host)
// struct must be filled up to the fields the plugin knows and nothing past
// them; a smaller one must be refused or left alone past its end.
void struct_size_cases(Ctx& c) {
  struct Padded {
    plinth_comm_info info;
    unsigned char tail[32];
  };
  {
    Padded p;
    std::memset(&p, 0xAB, sizeof p);
    p.info.struct_size = sizeof p;
    plinth_status s = c.t->info(c.comm, &p.info);
    (void)take_plugin_error();
    bool tail_ok = true;
    for (unsigned char x : p.tail) tail_ok &= x == 0xAB;
    std::string why;
    if (s != PLINTH_OK)
      why = "refused a larger struct_size (a newer host's struct must be accepted)";
    else if (p.info.rank != c.rank || p.info.size != c.size)
      why = "wrong rank/size";
    else if (!tail_ok)
      why = "wrote past the fields of this ABI";
    c.add("struct_size", "info with struct_size larger than this ABI's", why.empty() ? "pass" : "fail", why);
  }
  for (size_t sz : {size_t(PLINTH_STRUCT_SIZE(plinth_comm_info, size)), size_t(0)}) {
    plinth_comm_info i;
    std::memset(&i, 0xAB, sizeof i);
    i.struct_size = sz;
    plinth_status s = c.t->info(c.comm, &i);
    (void)take_plugin_error();
    int32_t untouched;
    std::memset(&untouched, 0xAB, sizeof untouched);
    const bool past = i.local_rank != untouched || i.local_size != untouched;
    const bool ok = s != PLINTH_OK || !past;
    c.add("struct_size", "info with struct_size " + std::to_string(sz) + " (smaller than this ABI's)",
          ok ? "pass" : "fail", ok ? "" : "returned OK and wrote past the caller's struct_size");
  }
}

}  // namespace

CommRun run_comm(const Registry& reg, const std::string& name, double timeout_s, Rows& out) {
  CommRun run;
  size_t index = 0;
  (void)out.begin(index++, "info", "create, then rank and size agree with the launcher");
  auto comp = reg.find(PLINTH_KIND_COMM, name);
  if (!comp) {
    run.error = comp.status().message();
    return run;
  }
  const auto* t = static_cast<const plinth_comm_v1*>((*comp)->table);
  toml::table cfg_table;
  cfg_table.insert("timeout_s", timeout_s);
  auto cfg = plugin_config(cfg_table);
  if (!cfg) {
    run.error = cfg.status().message();
    return run;
  }
  plinth_comm* comm = nullptr;
  (void)take_plugin_error();
  plinth_status s = t->create(reg.host(), cfg->get(), &comm);
  if (s != PLINTH_OK || !comm) {
    run.error = plugin_status(s == PLINTH_OK ? PLINTH_ERR_INTERNAL : s, "communicator '" + name + "': create")
                    .message();
    return run;
  }
  plinth_comm_info info{};
  info.struct_size = PLINTH_COMM_INFO_STRUCT_SIZE;
  s = t->info(comm, &info);
  std::string why;
  if (s != PLINTH_OK) {
    why = plugin_status(s, "info").message();
  } else if (info.size < 1 || info.rank < 0 || info.rank >= info.size) {
    why = "rank " + std::to_string(info.rank) + " of " + std::to_string(info.size);
  } else if (info.local_size < 1 || info.local_size > info.size || info.local_rank < 0 ||
             info.local_rank >= info.local_size) {
    why = "local rank " + std::to_string(info.local_rank) + " of " + std::to_string(info.local_size);
  } else if (const char* ws = std::getenv("OMPI_COMM_WORLD_SIZE")) {
    const char* wr = std::getenv("OMPI_COMM_WORLD_RANK");
    if (info.size != std::atoi(ws) || (wr && info.rank != std::atoi(wr)))
      why = "rank " + std::to_string(info.rank) + " of " + std::to_string(info.size) +
            ", but Open MPI says " + (wr ? wr : "?") + " of " + ws;
  } else if (info.size != 1) {
    why = "no launcher in the environment, yet a world of " + std::to_string(info.size);
  }
  out.push_back(CaseResult{"comm", "info", "rank and size agree with the launcher",
                           why.empty() ? "pass" : "fail", 0, 0, why});
  if (s != PLINTH_OK || !why.empty()) {
    t->destroy(comm);
    if (s == PLINTH_OK && info.size > 0) run.rank = info.rank, run.size = info.size;
    return run;
  }
  run.rank = info.rank;
  run.size = info.size;
  const bool host = t->supports_memory(comm, PLINTH_MEMORY_HOST) != 0;
  out.push_back(CaseResult{"comm", "memory", "supports_memory(host)", host ? "pass" : "unsupported", 0, 0,
                           host ? "" : "this tool checks host-memory collectives only"});
  Ctx c{t, comm, info.rank, info.size, out};
  if (host) {
    // Each group begins a case: a crash or hang inside it is named by it.
    const std::pair<const char*, void (*)(Ctx&)> groups[] = {
        {"all_reduce", all_reduce_cases}, {"reduce_scatter", reduce_scatter_cases},
        {"all_gather", all_gather_cases}, {"broadcast", broadcast_cases},
        {"barrier", barrier_case},        {"struct_size", struct_size_cases},
        {"errors", error_cases},          {"still usable", still_usable}};
    for (const auto& [what, run_group] : groups)
      if (out.begin(index++, what, std::string(what) + " cases")) run_group(c);
    // Every rank's failures, summed through the plugin: only trusted when
    // that call itself succeeds (a rank also exits 1 on its own failures).
    int32_t mine = 0, all = 0;
    for (const auto& r : static_cast<const std::vector<CaseResult>&>(out)) mine += r.status == "fail";
    if (t->all_reduce(comm, &mine, &all, 1, PLINTH_DTYPE_I32, PLINTH_REDUCE_OP_SUM, PLINTH_MEMORY_HOST,
                      nullptr) == PLINTH_OK)
      run.world_failures = all;
    (void)take_plugin_error();
  }
  t->destroy(comm);
  return run;
}

}  // namespace plinth::plugin_check
