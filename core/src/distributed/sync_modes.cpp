// sync_modes.cpp — [distributed] sync other than every_step: local SGD and
// DiLoCo (ranks step alone and meet every H optimizer steps to average
// their parameters, DiLoCo with an outer Nesterov step on the average's
// change), and delayed gradients (a step's all-reduce runs on the gradient
// thread while the next step computes, and is applied one step late).
// Not here: the every-step bucketed all-reduce (data_parallel.cpp), when a
// step meets (train/step.cpp, train/trainer.cpp).
//
// Local SGD: Lin et al., "Don't Use Large Mini-Batches, Use Local SGD"
// (2020), as PyTorch's PostLocalSGDOptimizer: parameters averaged, each
// rank's optimizer state its own. DiLoCo: Douillard et al., "DiLoCo:
// Distributed Low-Communication Training of Language Models" (2023),
// Algorithm 1: the outer gradient is outer − mean(local), the outer
// optimizer SGD with Nesterov momentum (torch.optim.SGD's form:
// m = μ m + Δ, outer −= lr (Δ + μ m)).
#include <cstring>

#include "distributed/data_parallel.hpp"

namespace plinth::train {

const char* DataParallel::sync_name() const {
  switch (sync_) {
    case Sync::local_sgd:
      return "local_sgd";
    case Sync::diloco:
      return "diloco";
    case Sync::delayed:
      return "delayed";
    default:
      return "every_step";
  }
}

void DataParallel::set_parameters(exec::Backend& b, const exec::Buffer& params,
                                  const std::vector<std::pair<uint64_t, uint64_t>>& regions,
                                  const std::vector<bool>& trained) {
  backend_ = &b;
  params_buf_ = &params;
  regions_ = regions;
  trained_ = trained;
  size_t n = 0;
  for (const auto& r : regions_) n += r.second / 4;
  local_.assign(n, 0.f);
}

size_t DataParallel::trained_floats() const {
  size_t n = 0;
  for (size_t i = 0; i < regions_.size(); ++i)
    if (trained_[i]) n += regions_[i].second / 4;
  return n;
}

namespace {

Status download_regions(exec::Backend& b, const exec::Buffer& buf,
                        const std::vector<std::pair<uint64_t, uint64_t>>& regions, float* into) {
  for (const auto& r : regions) {
    PLINTH_TRY(b.download(into, buf, r.first, r.second));
    into += r.second / 4;
  }
  return {};
}

}  // namespace

Status DataParallel::put_parameters(const std::vector<float>& v) {
  const float* at = v.data();
  for (const auto& r : regions_) {
    PLINTH_TRY(backend_->upload(*params_buf_, r.first, at, r.second));
    at += r.second / 4;
  }
  return {};
}

Status DataParallel::reduce_params(float* v, size_t n, const std::string& what, bool count) {
  {
    std::lock_guard<std::mutex> lk(comm_mu_);
    if (count) sent_ += n * 4;
    PLINTH_TRY(call(table_->all_reduce(comm_, v, v, n, PLINTH_DTYPE_F32, PLINTH_REDUCE_OP_SUM,
                                       PLINTH_MEMORY_HOST, nullptr),
                    what));
  }
  const float inv = 1.f / static_cast<float>(info_.size);
  for (size_t i = 0; i < n; ++i) v[i] *= inv;
  return {};
}

Status DataParallel::start_outer() {
  PLINTH_TRY(download_regions(*backend_, *params_buf_, regions_, local_.data()));
  outer_.clear();
  const float* at = local_.data();
  for (size_t i = 0; i < regions_.size(); ++i) {
    const size_t n = regions_[i].second / 4;
    if (trained_[i]) outer_.insert(outer_.end(), at, at + n);
    at += n;
  }
  outer_m_.assign(outer_.size(), 0.f);
  return {};
}

void DataParallel::restore_outer(std::vector<float> outer, std::vector<float> momentum) {
  outer_ = std::move(outer);
  outer_m_ = std::move(momentum);
}

Status DataParallel::sync_parameters() {
  PLINTH_TRY(download_regions(*backend_, *params_buf_, regions_, local_.data()));
  PLINTH_TRY(
      reduce_params(local_.data(), local_.size(),
                    sync_ == Sync::diloco ? "DiLoCo parameter all-reduce" : "local SGD parameter average"));
  if (sync_ == Sync::diloco) {
    if (outer_.size() != trained_floats())
      return error(errc::internal, "DiLoCo: the outer parameters were not set before the first meeting");
    const float lr = static_cast<float>(outer_lr_), mu = static_cast<float>(outer_mu_);
    float* at = local_.data();
    size_t o = 0;
    for (size_t i = 0; i < regions_.size(); ++i) {
      const size_t n = regions_[i].second / 4;
      if (trained_[i]) {
        for (size_t j = 0; j < n; ++j, ++o) {
          const float delta = outer_[o] - at[j];  // the outer gradient
          outer_m_[o] = mu * outer_m_[o] + delta;
          outer_[o] -= lr * (delta + mu * outer_m_[o]);
          at[j] = outer_[o];
        }
      }  // else: batch-norm statistics, the mean
      at += n;
    }
  }
  return put_parameters(local_);
}

Status DataParallel::mean_parameters(std::vector<float>& mine, std::vector<float>& mean) {
  mine.resize(local_.size());
  PLINTH_TRY(download_regions(*backend_, *params_buf_, regions_, mine.data()));
  mean = mine;
  return reduce_params(mean.data(), mean.size(), "all-reduce of the parameters for evaluation", false);
}

Status DataParallel::all_gather(const std::vector<float>& mine, std::vector<float>& all,
                                const std::string& what) {
  all.resize(mine.size() * static_cast<size_t>(info_.size));
  std::lock_guard<std::mutex> lk(comm_mu_);
  return call(table_->all_gather(comm_, mine.data(), all.data(), mine.size(), PLINTH_DTYPE_F32,
                                 PLINTH_MEMORY_HOST, nullptr),
              what);
}

Status DataParallel::wait_idle() {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return pending_ == 0; });
  return error_;
}

// Step k: the gradient thread has (or had) step k−1's gradients; once it is
// done they replace the gradient buffer's content, which is kept, this
// rank's share of step k, to be reduced while step k+1 computes.
Result<bool> DataParallel::delayed_exchange() {
  const auto t0 = std::chrono::steady_clock::now();
  PLINTH_TRY(wait_idle());
  if (held_state_ == Held::raw) {  // resumed or never launched: reduce now
    PLINTH_TRY(delayed_launch());
    PLINTH_TRY(wait_idle());
  }
  const bool had = held_state_ != Held::none;
  spare_.resize(grads_bytes_ / 4);
  PLINTH_TRY(backend_->download(spare_.data(), *grads_, 0, grads_bytes_));
  if (had) PLINTH_TRY(backend_->upload(*grads_, 0, held_.data(), grads_bytes_));
  held_.swap(spare_);
  held_state_ = Held::raw;
  wait_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ++steps_;
  return had;
}

Status DataParallel::delayed_launch() {
  if (held_state_ != Held::raw) return {};
  reduce_base_ = held_.data();
  held_state_ = Held::in_flight;
  sent_ += full_bytes_;  // counted here: reduce_bucket does not count a delayed step's buckets
  for (size_t k : order_) enqueue(k);
  return {};
}

Result<const std::vector<float>*> DataParallel::delayed_held() {
  if (held_state_ == Held::none) return static_cast<const std::vector<float>*>(nullptr);
  PLINTH_TRY(delayed_launch());
  PLINTH_TRY(wait_idle());
  held_state_ = Held::reduced;
  return static_cast<const std::vector<float>*>(&held_);
}

Status DataParallel::delayed_apply_held() {
  auto h = delayed_held();
  if (!h) return h.status();
  if (!*h) return {};
  PLINTH_TRY(backend_->upload(*grads_, 0, held_.data(), grads_bytes_));
  held_state_ = Held::none;
  return {};
}

void DataParallel::restore_delayed(std::vector<float> g) {
  held_ = std::move(g);
  held_state_ = Held::reduced;
}

}  // namespace plinth::train
