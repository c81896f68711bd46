// data_parallel.hpp — data-parallel training across the processes a launcher
// (mpirun, srun) started: the communicator plugin, parameters broadcast from
// rank 0 and checked identical, and the gradient all-reduce in buckets on a
// communication thread, started while backward is still running.
// Not here: which samples a rank reads (data/loader.hpp shards them) or the
// training loop (train/trainer.cpp).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/pipeline.hpp"
#include "distributed/powersgd.hpp"
#include "exec/program.hpp"
#include "plinth/comm.h"
#include "plinth/registry.hpp"
#include "plugin/plugin_config.hpp"

namespace plinth::train {

// What the launcher's environment says about this process.
struct LaunchInfo {
  int world = 1;       // processes in the run
  int rank = 0;        // this one's
  std::string source;  // the variable it came from ("OMPI_COMM_WORLD_SIZE", ...); empty: none
};
// Open MPI (OMPI_COMM_WORLD_*), PMI/PMIx (PMI_SIZE, PMIX_RANK), Slurm (SLURM_NTASKS, SLURM_PROCID).
LaunchInfo launcher_env();

class DataParallel {
 public:
  // The communicator for a run, or null (and no error) for a single process
  // or communicator = "none". Every rank calls it (creation is collective).
  static Result<std::unique_ptr<DataParallel>> create(const config::Pipeline& p, const Registry& reg);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  int rank() const { return info_.rank; }
  int size() const { return info_.size; }
  const std::string& name() const { return name_; }

  // buffer (bytes) on every rank = rank 0's.
  Status broadcast(exec::Backend& b, const exec::Buffer& buf, uint64_t bytes);
  // An error naming `what` when buffer differs between ranks (a 64-bit
  // checksum of its bytes, compared by all-reduce MIN and MAX).
  Status check_identical(exec::Backend& b, const exec::Buffer& buf, uint64_t bytes, const std::string& what);
  // In place over ranks, on the caller's thread (the gradient thread idle).
  Status all_reduce(double* v, size_t n, plinth_reduce_op op);

  // Gradient buckets: `params` are the (offset, bytes) of each gradient in
  // the gradient buffer, in declaration order. Buckets are contiguous runs of
  // whole gradients of about bucket_mb, from the last declared (the first
  // backward finishes) to the first.
  // `reference` (the full-batch training program, the same on every rank)
  // fixes the order buckets are queued in. `shapes` (one per gradient) pick
  // the matrices PowerSGD compresses; empty: none is.
  Status set_gradients(exec::Backend& b, const exec::Buffer& grads, uint64_t grads_bytes,
                       const std::vector<std::pair<uint64_t, uint64_t>>& params,
                       const exec::Program& reference, const std::vector<std::vector<int64_t>>& shapes = {});
  // The reduction of one optimizer step, in three calls around the run of
  // its last micro-batch: begin(&prog), prog.run(on_launch), finish().
  // begin(nullptr) when this rank has no rows in it: all is queued by finish().
  void begin(const exec::Program* prog);
  Status on_launch(size_t i);  // for Program::run: queue the buckets launch i completed
  Status finish();             // queue the rest, wait; gradients are then summed over ranks

  // PowerSGD's state between steps, for checkpoints. Only the mean over
  // ranks of the error-feedback residuals enters the next step (P and Q are
  // averaged, and both are linear in M = gradient + residual), so a
  // checkpoint keeps that mean, one copy, and a resume with any world size
  // gives it to every rank; Q is the same on every rank.
  struct PowerSgdState {
    size_t param = 0;              // index into set_gradients' params
    std::vector<int64_t> q_shape;  // {m, r}
    std::vector<int64_t> e_shape;  // {n, m}
    std::vector<float> q, e;       // e: the mean residual over ranks
  };
  bool powersgd() const { return compression_ == "powersgd"; }
  // Per compressed gradient its state (shapes only when `with_data` is
  // false: no communication). With data it is collective (the mean is an
  // all-reduce): every rank calls it between steps.
  Result<std::vector<PowerSgdState>> powersgd_state(bool with_data);
  // Resume: every rank takes the saved state and continues after `steps`
  // optimizer steps (compressing when steps >= powersgd_warmup_steps).
  Status restore_powersgd(const std::vector<PowerSgdState>& state, int64_t steps);

  // [distributed] sync. every_step: the calls above, every step.
  // local_sgd / diloco: past sync_warmup_steps a rank's gradients stay its
  // own (no begin/finish) and every sync_every optimizer steps
  // sync_parameters() meets the others. delayed: delayed_exchange() after
  // backward, delayed_launch() once the step's own collectives are done.
  enum class Sync { every_step, local_sgd, diloco, delayed };
  Sync sync() const { return sync_; }
  bool local() const { return sync_ == Sync::local_sgd || sync_ == Sync::diloco; }
  int64_t sync_every() const { return sync_every_; }
  int64_t sync_warmup() const { return sync_warmup_; }
  // local_sgd / diloco: optimizer step `step` (1-based) is taken alone.
  bool local_step(int64_t step) const { return local() && step > sync_warmup_; }
  // local_sgd / diloco: step `step` ends with a meeting (its last local
  // step of a period).
  bool sync_step(int64_t step) const { return local_step(step) && (step - sync_warmup_) % sync_every_ == 0; }
  const char* sync_name() const;

  // The tensors local steps keep apart, as (offset, bytes) in the parameter
  // buffer `params`, and which of them the optimizer trains (diloco's outer
  // step moves those; the rest, batch-norm statistics, are averaged).
  void set_parameters(exec::Backend& b, const exec::Buffer& params,
                      const std::vector<std::pair<uint64_t, uint64_t>>& regions,
                      const std::vector<bool>& trained);
  // local_sgd: the mean over ranks; diloco: the outer step (delta = outer -
  // mean, Nesterov momentum, every rank set to the new outer parameters).
  Status sync_parameters();
  // The mean over ranks of the parameters into `into` (host, regions in
  // order), without changing them: evaluation between meetings. Also
  // `mine`: this rank's own (to put back afterwards).
  Status mean_parameters(std::vector<float>& mine, std::vector<float>& mean);
  Status put_parameters(const std::vector<float>& v);  // upload regions from a host copy
  // diloco: the outer parameters and momentum (trained regions, in order);
  // empty before the first local step.
  bool has_outer() const { return !outer_.empty(); }
  Status start_outer();  // outer = the parameters now (the ranks agree here)
  const std::vector<float>& outer() const { return outer_; }
  const std::vector<float>& outer_momentum() const { return outer_m_; }
  size_t trained_floats() const;
  void restore_outer(std::vector<float> outer, std::vector<float> momentum);
  // Every rank's `mine` (the same length on each) into `all`, rank by rank.
  Status all_gather(const std::vector<float>& mine, std::vector<float>& all, const std::string& what);

  // delayed: after backward, take this step's gradients (the all-reduce
  // starts at delayed_launch()) and put the previous step's, summed over
  // ranks, in their place. false: there was none (the first step), no
  // update to apply.
  Result<bool> delayed_exchange();
  Status delayed_launch();
  // The held gradient, summed over ranks (reduced now if still waiting):
  // for a checkpoint, and for the last step, which applies it at once.
  // null: none is held.
  Result<const std::vector<float>*> delayed_held();
  Status delayed_apply_held();  // the held gradient into the gradient buffer, and no longer held
  void restore_delayed(std::vector<float> g);
  Status wait_idle();  // the gradient thread's queue drained (its error, if any)

  // Bytes this rank has sent into gradient and parameter collectives.
  uint64_t bytes_sent() const { return sent_.load(); }

  size_t num_buckets() const { return buckets_.size(); }
  int64_t steps() const { return steps_; }  // optimizer steps reduced (a resume restores the count)
  // The gradient bytes each step sends into the all-reduces, for the run's
  // log: "all-reduce of 1071648 bytes per step (bf16)", ...
  std::string traffic_note() const;
  double comm_seconds() const;  // time the gradient thread spent in all-reduce (cumulative)
  double wait_seconds() const { return wait_s_; }  // time finish() waited for it (cumulative)

 private:
  DataParallel() = default;
  Status call(plinth_status s, const std::string& what);
  void worker();
  Status reduce_bucket(size_t k);
  // SUM then / ranks; `count`: into bytes_sent() (training traffic, not evaluation's).
  Status reduce_params(float* v, size_t n, const std::string& what, bool count = true);
  Status reduce_powersgd(size_t k, float* grads);
  void enqueue(size_t k);
  // Per bucket, the launch of `prog` after which it is complete.
  std::vector<int64_t> ready_of(const exec::Program& prog) const;

  const plinth_comm_v1* table_ = nullptr;
  plinth_comm* comm_ = nullptr;
  std::shared_ptr<void> keep_;
  PluginConfigPtr cfg_;
  toml::table cfg_table_;
  plinth_comm_info info_{};
  std::string name_;
  std::string compression_ = "none";
  double bucket_bytes_ = 4 << 20;

  // Gradients.
  exec::Backend* backend_ = nullptr;
  const exec::Buffer* grads_ = nullptr;
  uint64_t grads_bytes_ = 0;
  float* host_ = nullptr;         // the gradient buffer's host view; null: staged
  std::vector<float> staging_;    // the gradients on the host when the backend is not host-visible
  std::vector<uint16_t> wire16_;  // bf16 / fp16 compression buffer
  struct Bucket {
    uint64_t offset = 0, bytes = 0;  // in the gradient buffer
  };
  std::vector<Bucket> buckets_;
  std::vector<std::pair<uint64_t, uint64_t>> params_;
  std::vector<size_t> param_bucket_;
  std::vector<int64_t> ready_;  // the reference program's ready launch per bucket
  std::vector<size_t> order_;   // buckets in queue order (every rank alike)
  std::map<const exec::Program*, std::vector<int64_t>> ready_cache_;
  std::vector<int64_t> current_ready_;  // this step's last program; empty: all queued in finish()
  size_t next_ = 0;                     // next entry of order_ to queue
  bool overlap_ = false;

  // PowerSGD: per gradient its compressor (null: all-reduced as it is), per
  // bucket its gradients and the bytes a compressed step sends.
  int64_t psgd_rank_ = 4, psgd_warmup_ = 10;
  int64_t steps_ = 0;
  bool compress_now_ = false;  // this step compresses (past the warm-up); set between steps
  std::vector<std::unique_ptr<PowerSgdMatrix>> psgd_;
  std::vector<std::vector<size_t>> bucket_params_;
  uint64_t full_bytes_ = 0, psgd_bytes_ = 0;

  // The gradient thread.
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<size_t> queue_;
  size_t pending_ = 0;  // queued or running
  bool stopping_ = false;
  Status error_;
  double comm_s_ = 0, wait_s_ = 0;
  std::mutex comm_mu_;  // one caller of the communicator at a time
  std::atomic<uint64_t> sent_{0};

  // [distributed] sync.
  Sync sync_ = Sync::every_step;
  int64_t sync_every_ = 8, sync_warmup_ = 0;
  double outer_lr_ = 0.7, outer_mu_ = 0.9;
  const exec::Buffer* params_buf_ = nullptr;
  std::vector<std::pair<uint64_t, uint64_t>> regions_;
  std::vector<bool> trained_;
  std::vector<float> local_, outer_, outer_m_;
  // delayed: the held gradient (this rank's share until reduced), and where
  // the bucket thread reads (null: the gradient buffer or its staging).
  std::vector<float> held_, spare_;
  enum class Held { none, raw, in_flight, reduced } held_state_ = Held::none;
  float* reduce_base_ = nullptr;
};

}  // namespace plinth::train
