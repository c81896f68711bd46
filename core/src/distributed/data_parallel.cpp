// data_parallel.cpp — the communicator chosen by [distributed], the start-up
// broadcast and checksum, and the bucketed gradient all-reduce: buckets are
// queued, in one order every rank shares, as backward finishes them and are
// summed over ranks on a communication thread (bf16 / fp16 on the wire when
// compression asks, or PowerSGD's low-rank factors after its warm-up).
// Gradients arrive already divided by the global batch's rows, so a SUM is
// the average over every sample of the step.
// Not here: sharding (data/loader.cpp), the loop (train/trainer.cpp).
#include "distributed/data_parallel.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "plinth/log.hpp"

namespace plinth::train {
namespace {

using clock = std::chrono::steady_clock;
double since(clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); }

int env_int(const char* name, int dflt) {
  const char* v = std::getenv(name);
  if (!v || !*v) return dflt;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  return end && *end == 0 && x >= 0 && x < (1 << 30) ? static_cast<int>(x) : dflt;
}

uint16_t to_bf16(float f) {  // round to nearest even
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
float from_bf16(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t to_f16(float f) {  // round to nearest even; overflow to inf
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);
  if (a < 0x38800000u)
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(std::fabs(f) * 16777216.0f)));
  const uint32_t r = a + 0xfffu + ((a >> 13) & 1u);
  return static_cast<uint16_t>(sign | (((r >> 23) - 112) << 10) | ((r >> 13) & 0x3ffu));
}
float from_f16(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0) {
    const float x = static_cast<float>(man) / 16777216.0f;
    return sign ? -x : x;
  }
  uint32_t u = exp == 31 ? (sign | 0x7f800000u | man << 13) : (sign | (exp + 112) << 23 | man << 13);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

LaunchInfo launcher_env() {
  struct Pair {
    const char* size;
    const char* rank;
  };
  for (const Pair& p : {Pair{"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"}, Pair{"PMI_SIZE", "PMI_RANK"},
                        Pair{"PMIX_SIZE", "PMIX_RANK"}, Pair{"SLURM_NTASKS", "SLURM_PROCID"}}) {
    const int n = env_int(p.size, 0);
    if (n >= 1) return LaunchInfo{n, env_int(p.rank, 0), p.size};
  }
  return {};
}

Result<std::unique_ptr<DataParallel>> DataParallel::create(const config::Pipeline& p, const Registry& reg) {
  const LaunchInfo launch = launcher_env();
  const auto& d = p.distributed;
  if (launch.world <= 1) return std::unique_ptr<DataParallel>();  // one process: nothing to reduce
  if (d.communicator == "none")
    return error(errc::config, p.source.string() + ": [distributed] communicator = \"none\", but " +
                                   launch.source + " says this is rank " + std::to_string(launch.rank) +
                                   " of " + std::to_string(launch.world) +
                                   " processes (every rank would train alone and write the same run folder)");
  std::string name = d.communicator;
  if (name == "auto") {
    // The highest-scoring communicator (plinth_plugin_score), the first on a tie.
    int32_t best = std::numeric_limits<int32_t>::min();
    name.clear();
    for (const auto& n : reg.names(PLINTH_KIND_COMM)) {
      auto c = reg.find(PLINTH_KIND_COMM, n);
      if (!c) continue;
      const PluginInfo* owner = reg.owner(*c);
      const int32_t score = owner && owner->score ? *owner->score : 0;
      if (owner && owner->score && score == 0) continue;  // cannot run here
      if (name.empty() || score > best) name = n, best = score;
    }
    if (name.empty())
      return error(errc::not_found,
                   "this process is rank " + std::to_string(launch.rank) + " of " +
                       std::to_string(launch.world) + " (" + launch.source +
                       ") but no communicator plugin is installed; hint: build with MPI "
                       "(libopenmpi-dev) so plinth-comm-mpi is there, or check `plinth plugins`");
  }
  auto comp = reg.find(PLINTH_KIND_COMM, name);
  if (!comp) return Status(comp.status()).with_context(p.source.string() + ": [distributed] communicator");
  std::unique_ptr<DataParallel> dp(new DataParallel());
  dp->name_ = name;
  dp->table_ = static_cast<const plinth_comm_v1*>((*comp)->table);
  dp->keep_ = reg.keep_alive(*comp);
  dp->compression_ = d.compression;
  dp->psgd_rank_ = d.powersgd_rank;
  dp->psgd_warmup_ = d.powersgd_warmup_steps;
  dp->bucket_bytes_ = d.bucket_mb * 1024.0 * 1024.0;
  dp->sync_ = d.sync == "local_sgd" ? Sync::local_sgd
              : d.sync == "diloco"  ? Sync::diloco
              : d.sync == "delayed" ? Sync::delayed
                                    : Sync::every_step;
  dp->sync_every_ = d.sync_every;
  dp->sync_warmup_ = d.sync_warmup_steps;
  dp->outer_lr_ = d.outer_lr;
  dp->outer_mu_ = d.outer_momentum;
  dp->cfg_table_.insert("timeout_s", d.timeout);
  dp->cfg_ = make_plugin_config(dp->cfg_table_, p.source);
  if (plinth_status s = dp->table_->create(reg.host(), dp->cfg_.get(), &dp->comm_); s != PLINTH_OK)
    return plugin_status(
        s, "communicator '" + name + "': joining the run of " + std::to_string(launch.world) + " processes");
  dp->info_.struct_size = PLINTH_COMM_INFO_STRUCT_SIZE;
  if (plinth_status s = dp->table_->info(dp->comm_, &dp->info_); s != PLINTH_OK)
    return plugin_status(s, "communicator '" + name + "': info");
  if (dp->info_.size == 1) {  // e.g. SLURM_NTASKS of an allocation, but this process started alone
    logger().info("{} says {} processes, but communicator '{}' sees one: training as a single process",
                  launch.source, launch.world, name);
    return std::unique_ptr<DataParallel>();
  }
  if (dp->info_.size != launch.world || dp->info_.rank != launch.rank)
    logger().warn("communicator '{}' says rank {} of {}, the launcher ({}) rank {} of {}", name,
                  dp->info_.rank, dp->info_.size, launch.source, launch.rank, launch.world);
  dp->thread_ = std::thread([p = dp.get()] { p->worker(); });
  return dp;
}

DataParallel::~DataParallel() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  if (comm_) table_->destroy(comm_);
}

Status DataParallel::call(plinth_status s, const std::string& what) {
  if (s == PLINTH_OK) return {};
  return plugin_status(s, "communicator '" + name_ + "' (rank " + std::to_string(info_.rank) + " of " +
                              std::to_string(info_.size) + "): " + what);
}

Status DataParallel::broadcast(exec::Backend& b, const exec::Buffer& buf, uint64_t bytes) {
  std::lock_guard<std::mutex> lk(comm_mu_);
  void* host = b.host_ptr(buf);
  std::vector<unsigned char> staged;
  if (!host) {
    staged.resize(bytes);
    PLINTH_TRY(b.download(staged.data(), buf, 0, bytes));
    host = staged.data();
  } else {
    PLINTH_TRY(b.synchronize());
  }
  PLINTH_TRY(call(table_->broadcast(comm_, host, bytes, PLINTH_DTYPE_U8, 0, PLINTH_MEMORY_HOST, nullptr),
                  "broadcast of the parameters from rank 0"));
  if (!staged.empty()) PLINTH_TRY(b.upload(buf, 0, staged.data(), bytes));
  return {};
}

Status DataParallel::check_identical(exec::Backend& b, const exec::Buffer& buf, uint64_t bytes,
                                     const std::string& what) {
  std::vector<unsigned char> h(bytes);
  PLINTH_TRY(b.download(h.data(), buf, 0, bytes));
  uint64_t fnv = 1469598103934665603ull;  // FNV-1a 64
  for (unsigned char c : h) fnv = (fnv ^ c) * 1099511628211ull;
  // MAX of (hi, lo, -hi, -lo): every rank holds the same hash iff max == -max(-x).
  int64_t v[4] = {static_cast<int64_t>(fnv >> 32), static_cast<int64_t>(fnv & 0xffffffffu),
                  -static_cast<int64_t>(fnv >> 32), -static_cast<int64_t>(fnv & 0xffffffffu)};
  {
    std::lock_guard<std::mutex> lk(comm_mu_);
    PLINTH_TRY(call(table_->all_reduce(comm_, v, v, 4, PLINTH_DTYPE_I64, PLINTH_REDUCE_OP_MAX,
                                       PLINTH_MEMORY_HOST, nullptr),
                    "checksum of " + what));
  }
  if (v[0] != -v[2] || v[1] != -v[3])
    return error(errc::internal, what + " differ between the " + std::to_string(info_.size) +
                                     " ranks (rank " + std::to_string(info_.rank) + "'s checksum " +
                                     std::to_string(fnv) + ")");
  return {};
}

Status DataParallel::all_reduce(double* v, size_t n, plinth_reduce_op op) {
  std::lock_guard<std::mutex> lk(comm_mu_);
  return call(table_->all_reduce(comm_, v, v, n, PLINTH_DTYPE_F64, op, PLINTH_MEMORY_HOST, nullptr),
              "all-reduce of the step's statistics");
}

Status DataParallel::set_gradients(exec::Backend& b, const exec::Buffer& grads, uint64_t grads_bytes,
                                   const std::vector<std::pair<uint64_t, uint64_t>>& params,
                                   const exec::Program& reference,
                                   const std::vector<std::vector<int64_t>>& shapes) {
  backend_ = &b;
  grads_ = &grads;
  grads_bytes_ = grads_bytes;
  params_ = params;
  host_ = static_cast<float*>(b.host_ptr(grads));
  overlap_ = host_ != nullptr;
  if (!host_) staging_.assign(grads_bytes / 4, 0.f);
  if (compression_ == "bf16" || compression_ == "fp16") wire16_.assign(grads_bytes / 4, 0);
  // Buckets: whole gradients from the last declared backward, each ending at
  // the next gradient's start (alignment padding travels with it, as zeros).
  buckets_.clear();
  param_bucket_.assign(params.size(), 0);
  uint64_t end = grads_bytes;
  for (size_t i = params.size(); i-- > 0;) {
    const uint64_t begin = params[i].first;
    if (buckets_.empty() || static_cast<double>(buckets_.back().bytes) >= bucket_bytes_) {
      buckets_.push_back({begin, end - begin});
    } else {
      buckets_.back().bytes += buckets_.back().offset - begin;
      buckets_.back().offset = begin;
    }
    param_bucket_[i] = buckets_.size() - 1;
    end = begin;
  }
  if (!buckets_.empty() && buckets_.back().offset > 0) {  // anything before the first gradient
    buckets_.back().bytes += buckets_.back().offset;
    buckets_.back().offset = 0;
  }
  // The shared queue order: by when the reference program finishes each bucket.
  ready_ = ready_of(reference);
  order_.resize(buckets_.size());
  for (size_t k = 0; k < order_.size(); ++k) order_[k] = k;
  std::stable_sort(order_.begin(), order_.end(), [&](size_t a, size_t c) { return ready_[a] < ready_[c]; });
  full_bytes_ = 0;
  for (const auto& bk : buckets_)
    full_bytes_ += compression_ == "bf16" || compression_ == "fp16" ? bk.bytes / 2 : bk.bytes;
  // PowerSGD: matrices (a tensor's first dimension by the rest) where the
  // factors are smaller than the matrix; the rest travel as they are.
  psgd_.clear();
  psgd_.resize(params.size());
  bucket_params_.assign(buckets_.size(), {});
  for (size_t i = 0; i < params.size(); ++i) bucket_params_[param_bucket_[i]].push_back(i);
  psgd_bytes_ = 0;
  std::string psgd_note;
  if (compression_ == "powersgd") {
    size_t compressed = 0;
    uint64_t compressed_bytes = 0;
    for (size_t k = 0; k < buckets_.size(); ++k) {
      uint64_t p_floats = 0, q_floats = 0;
      for (size_t i : bucket_params_[k]) {
        const auto& sh = i < shapes.size() ? shapes[i] : std::vector<int64_t>{};
        int64_t n = sh.empty() ? 1 : sh[0], m = 1;
        for (size_t d = 1; d < sh.size(); ++d) m *= sh[d];
        if (sh.size() >= 2 && static_cast<uint64_t>(n * m) * 4 <= params[i].second &&
            powersgd_pays(n, m, psgd_rank_)) {
          // The same seed on every rank: the starting Q must agree.
          psgd_[i] =
              std::make_unique<PowerSgdMatrix>(static_cast<size_t>(n), static_cast<size_t>(m),
                                               static_cast<size_t>(psgd_rank_), 0x9e3779b97f4a7c15ull + i);
          p_floats += psgd_[i]->p_size();
          q_floats += psgd_[i]->q_size();
          ++compressed;
          compressed_bytes += params[i].second;
        } else {
          p_floats += params[i].second / 4;  // all-reduced with P
        }
      }
      psgd_bytes_ += 4 * (p_floats + q_floats);
    }
    psgd_note = ", PowerSGD rank " + std::to_string(psgd_rank_) + " on " + std::to_string(compressed) +
                " matri" + (compressed == 1 ? "x" : "ces") + " (" + std::to_string(compressed_bytes) +
                " of " + std::to_string(grads_bytes) + " gradient bytes) after " +
                std::to_string(psgd_warmup_) + " warm-up step(s), then " + std::to_string(psgd_bytes_) +
                " bytes per step";
  }
  steps_ = 0;
  compress_now_ = compression_ == "powersgd" && psgd_warmup_ == 0;
  logger().info(
      "data parallel: rank {} of {} ({} communicator), {} gradient bucket(s) of up to {:.2f} MiB{}{}{}",
      info_.rank, info_.size, name_, buckets_.size(), bucket_bytes_ / 1048576.0,
      compression_ == "none" || compression_ == "powersgd" ? "" : ", sent as " + compression_, psgd_note,
      overlap_ ? ", overlapped with backward" : ", after backward (staged through host memory)");
  return {};
}

std::vector<int64_t> DataParallel::ready_of(const exec::Program& prog) const {
  const auto last = prog.last_writers(grads_->get(), params_);
  std::vector<int64_t> ready(buckets_.size(), -1);
  for (size_t i = 0; i < params_.size(); ++i) {
    // A gradient no launch writes (never touched) is ready at the end.
    const int64_t at = last[i] < 0 ? std::numeric_limits<int64_t>::max() : last[i];
    ready[param_bucket_[i]] = std::max(ready[param_bucket_[i]], at);
  }
  return ready;
}

void DataParallel::begin(const exec::Program* prog) {
  next_ = 0;
  if (!overlap_ || !prog) {
    current_ready_.clear();  // queued in finish()
    return;
  }
  auto it = ready_cache_.find(prog);
  if (it == ready_cache_.end()) it = ready_cache_.emplace(prog, ready_of(*prog)).first;
  current_ready_ = it->second;
}

void DataParallel::enqueue(size_t k) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    queue_.push_back(k);
    ++pending_;
  }
  cv_.notify_all();
}

Status DataParallel::on_launch(size_t i) {
  if (current_ready_.empty() || next_ >= order_.size()) return {};
  if (current_ready_[order_[next_]] > static_cast<int64_t>(i)) return {};
  // The launch has returned; the backend's writes must be visible to the
  // communication thread before it reads the bucket.
  PLINTH_TRY(backend_->synchronize());
  while (next_ < order_.size() && current_ready_[order_[next_]] <= static_cast<int64_t>(i))
    enqueue(order_[next_++]);
  return {};
}

Status DataParallel::finish() {
  const auto t0 = clock::now();
  if (!host_) {
    PLINTH_TRY(backend_->download(staging_.data(), *grads_, 0, grads_bytes_));
  } else {
    PLINTH_TRY(backend_->synchronize());
  }
  while (next_ < order_.size()) enqueue(order_[next_++]);
  Status err = wait_idle();
  if (err.ok() && !host_) err = backend_->upload(*grads_, 0, staging_.data(), grads_bytes_);
  wait_s_ += since(t0);
  // The next step's mode; the gradient thread is idle until it is queued.
  ++steps_;
  compress_now_ = compression_ == "powersgd" && steps_ >= psgd_warmup_;
  current_ready_.clear();
  return err;
}

Result<std::vector<DataParallel::PowerSgdState>> DataParallel::powersgd_state(bool with_data) {
  std::vector<PowerSgdState> out;
  for (size_t i = 0; i < psgd_.size(); ++i) {
    if (!psgd_[i]) continue;
    const PowerSgdMatrix& m = *psgd_[i];
    PowerSgdState s;
    s.param = i;
    s.q_shape = {static_cast<int64_t>(m.cols()), static_cast<int64_t>(m.rank())};
    s.e_shape = {static_cast<int64_t>(m.rows()), static_cast<int64_t>(m.cols())};
    if (with_data) {
      s.q = m.q();
      s.e = m.error();
      std::lock_guard<std::mutex> lk(comm_mu_);
      PLINTH_TRY(call(table_->all_reduce(comm_, s.e.data(), s.e.data(), s.e.size(), PLINTH_DTYPE_F32,
                                         PLINTH_REDUCE_OP_AVG, PLINTH_MEMORY_HOST, nullptr),
                      "all-reduce of the PowerSGD residuals for a checkpoint"));
    }
    out.push_back(std::move(s));
  }
  return out;
}

Status DataParallel::restore_powersgd(const std::vector<PowerSgdState>& state, int64_t steps) {
  for (const auto& s : state) {
    if (s.param >= psgd_.size() || !psgd_[s.param] || s.q.size() != psgd_[s.param]->q_size() ||
        s.e.size() != psgd_[s.param]->rows() * psgd_[s.param]->cols())
      return error(errc::bad_data, "PowerSGD state of gradient " + std::to_string(s.param) +
                                       " does not match this run's compressed matrices");
    psgd_[s.param]->set_state(s.q.data(), s.e.data());
  }
  steps_ = steps;
  compress_now_ = compression_ == "powersgd" && steps_ >= psgd_warmup_;
  return {};
}

std::string DataParallel::traffic_note() const {
  if (local()) {
    uint64_t param_bytes = 0;
    for (const auto& r : regions_) param_bytes += r.second;
    return (sync_warmup_ > 0
                ? "all-reduce of " + std::to_string(full_bytes_) + " gradient bytes per step for " +
                      std::to_string(sync_warmup_) + " warm-up step(s), then "
                : std::string()) +
           "all-reduce of " + std::to_string(param_bytes) + " parameter bytes every " +
           std::to_string(sync_every_) + " steps (" + std::string(sync_name()) + ", fp32)";
  }
  if (sync_ == Sync::delayed)
    return "all-reduce of " + std::to_string(full_bytes_) + " bytes per step, applied one step late (" +
           (compression_ == "none" ? std::string("fp32") : compression_) + ")";
  if (compression_ == "powersgd")
    return "all-reduce of " + std::to_string(full_bytes_) + " bytes per step for " +
           std::to_string(psgd_warmup_) + " warm-up step(s), then " + std::to_string(psgd_bytes_) +
           " bytes per step (PowerSGD rank " + std::to_string(psgd_rank_) + ")";
  return "all-reduce of " + std::to_string(full_bytes_) + " bytes per step (" +
         (compression_ == "none" ? std::string("fp32") : compression_) + ")";
}

double DataParallel::comm_seconds() const {
  std::lock_guard<std::mutex> lk(const_cast<std::mutex&>(mu_));
  return comm_s_;
}

Status DataParallel::reduce_bucket(size_t k) {
  const Bucket& bk = buckets_[k];
  float* base = reduce_base_ ? reduce_base_ : host_ ? host_ : staging_.data();
  float* g = base + bk.offset / 4;
  const uint64_t n = bk.bytes / 4;
  std::lock_guard<std::mutex> lk(comm_mu_);
  if (compression_ == "powersgd" && compress_now_) return reduce_powersgd(k, base);
  const bool count = sync_ != Sync::delayed;  // delayed_launch() counts its step
  if (compression_ == "none" || compression_ == "powersgd") {
    if (count) sent_ += n * 4;
    return call(table_->all_reduce(comm_, g, g, n, PLINTH_DTYPE_F32, PLINTH_REDUCE_OP_SUM, PLINTH_MEMORY_HOST,
                                   nullptr),
                "gradient all-reduce (bucket " + std::to_string(k) + ")");
  }
  // Cast compression: each rank's share rounded to 16 bits, summed in f32
  // by the communicator, the sum rounded once more.
  const bool bf = compression_ == "bf16";
  uint16_t* w = wire16_.data() + bk.offset / 4;
  for (uint64_t i = 0; i < n; ++i) w[i] = bf ? to_bf16(g[i]) : to_f16(g[i]);
  if (count) sent_ += n * 2;
  PLINTH_TRY(call(table_->all_reduce(comm_, w, w, n, bf ? PLINTH_DTYPE_BF16 : PLINTH_DTYPE_F16,
                                     PLINTH_REDUCE_OP_SUM, PLINTH_MEMORY_HOST, nullptr),
                  "gradient all-reduce (bucket " + std::to_string(k) + ", " + compression_ + ")"));
  for (uint64_t i = 0; i < n; ++i) g[i] = bf ? from_bf16(w[i]) : from_f16(w[i]);
  return {};
}

// PowerSGD (Vogels et al. 2019, Algorithm 1) over one bucket: each rank's
// share g is scaled by the world size to the mean's units, M = W·g + e,
// P = M Q is averaged over ranks (with the uncompressed gradients of the
// bucket, summed, in the same call), orthonormalised, Q = Mᵀ P averaged, and
// the gradient becomes P Qᵀ; e keeps M − P Qᵀ for the next step.
Status DataParallel::reduce_powersgd(size_t k, float* grads) {
  const auto& ids = bucket_params_[k];
  size_t np = 0, nq = 0;
  for (size_t i : ids) {
    np += psgd_[i] ? psgd_[i]->p_size() : params_[i].second / 4;
    nq += psgd_[i] ? psgd_[i]->q_size() : 0;
  }
  std::vector<float> pbuf(np), qbuf(nq);
  const float W = static_cast<float>(info_.size), inv = 1.f / W;
  size_t at = 0;
  for (size_t i : ids) {
    float* g = grads + params_[i].first / 4;
    if (psgd_[i]) {
      psgd_[i]->project(g, W, pbuf.data() + at);
      at += psgd_[i]->p_size();
    } else {
      std::memcpy(pbuf.data() + at, g, params_[i].second);
      at += params_[i].second / 4;
    }
  }
  const std::string what = "gradient all-reduce (bucket " + std::to_string(k) + ", PowerSGD ";
  sent_ += 4 * (np + nq);
  PLINTH_TRY(call(table_->all_reduce(comm_, pbuf.data(), pbuf.data(), np, PLINTH_DTYPE_F32,
                                     PLINTH_REDUCE_OP_SUM, PLINTH_MEMORY_HOST, nullptr),
                  what + "P)"));
  at = 0;
  size_t aq = 0;
  for (size_t i : ids) {
    float* g = grads + params_[i].first / 4;
    if (psgd_[i]) {
      float* p = pbuf.data() + at;
      for (size_t x = 0; x < psgd_[i]->p_size(); ++x) p[x] *= inv;
      psgd_[i]->back_project(p, qbuf.data() + aq);
      at += psgd_[i]->p_size();
      aq += psgd_[i]->q_size();
    } else {  // a sum of the ranks' shares: the mean gradient already
      std::memcpy(g, pbuf.data() + at, params_[i].second);
      at += params_[i].second / 4;
    }
  }
  if (nq == 0) return {};
  PLINTH_TRY(call(table_->all_reduce(comm_, qbuf.data(), qbuf.data(), nq, PLINTH_DTYPE_F32,
                                     PLINTH_REDUCE_OP_SUM, PLINTH_MEMORY_HOST, nullptr),
                  what + "Q)"));
  for (float& x : qbuf) x *= inv;
  at = 0;
  aq = 0;
  for (size_t i : ids) {
    if (psgd_[i]) {
      psgd_[i]->reconstruct(pbuf.data() + at, qbuf.data() + aq, grads + params_[i].first / 4);
      at += psgd_[i]->p_size();
      aq += psgd_[i]->q_size();
    } else {
      at += params_[i].second / 4;
    }
  }
  return {};
}

void DataParallel::worker() {
  for (;;) {
    size_t k;
    bool skip;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      k = queue_.front();
      queue_.pop_front();
      skip = !error_.ok();  // after a failure the communicator is unusable: drain
    }
    const auto t0 = clock::now();
    Status s = skip ? Status() : reduce_bucket(k);
    const double dt = since(t0);
    {
      std::lock_guard<std::mutex> lk(mu_);
      comm_s_ += dt;
      if (!s.ok() && error_.ok()) error_ = s;
      --pending_;
    }
    cv_.notify_all();
  }
}

}  // namespace plinth::train
