// loader.cpp — ring-buffered prefetching. Batch k lives in slot k % ring size;
// a worker may fill it once batch k - ring size has been released.
#include "data/loader.hpp"

#include <algorithm>
#include <chrono>

#include "util/rng.hpp"

namespace plinth::data {

Loader::Loader(std::shared_ptr<Source> source, LoaderOptions options)
    : source_(std::move(source)), opt_(options) {
  opt_.prefetch = std::max(1, opt_.prefetch);
  opt_.workers = std::max(0, opt_.workers);
  opt_.shard_count = std::max(1, opt_.shard_count);
  ring_.resize(static_cast<size_t>(opt_.prefetch) + 1);
  ready_.assign(ring_.size(), 0);
  // The slots' field buffers are sized by fill(), on the thread that first
  // fills them: zeroing them here would fault their pages in on the caller's
  // thread at start-up (the eval ring's long before its first use).
  for (auto& b : ring_) b.fields.resize(source_->fields().size());
}

Loader::~Loader() { stop(); }

int64_t Loader::batches_per_epoch() const {
  const auto n = static_cast<int64_t>(source_->size());
  const int64_t global = opt_.batch * opt_.shard_count;
  return opt_.drop_last ? n / global : (n + global - 1) / global;
}

void Loader::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  stopping_ = false;
}

void Loader::start_epoch(int64_t epoch, int64_t skip, Resolution res) {
  stop();
  epoch_ = epoch;
  res_ = res;
  res_status_ = source_->check_resolution(res);
  const uint64_t n = source_->size();
  if (opt_.shuffle) {
    order_ = shuffled_indices(n, derive_seed(opt_.seed, 0x5348554646ull + static_cast<uint64_t>(epoch)));
  } else {
    order_.resize(n);
    for (uint64_t i = 0; i < n; ++i) order_[i] = i;
  }
  num_batches_ = batches_per_epoch();
  next_batch_ = std::min(skip, num_batches_);
  released_ = next_batch_ - 1;
  handed_ = -1;
  claim_ = next_batch_;
  std::fill(ready_.begin(), ready_.end(), 0);
  for (int i = 0; i < opt_.workers; ++i) threads_.emplace_back([this] { worker(); });
}

void Loader::fill(Batch& b, int64_t k) {
  const int64_t W = opt_.shard_count, r = opt_.shard_rank;
  const int64_t global_begin = k * opt_.batch * W;
  const int64_t m = std::min<int64_t>(opt_.batch * W, static_cast<int64_t>(order_.size()) - global_begin);
  const int64_t begin = global_begin + r * m / W;
  const int64_t rows = global_begin + (r + 1) * m / W - begin;
  b.index = k;
  b.rows = rows;
  b.res = res_;
  b.sample_bytes.resize(b.fields.size());
  std::vector<void*> ptrs;
  for (size_t f = 0; f < b.fields.size(); ++f) {
    b.sample_bytes[f] = sample_bytes_at(source_->fields()[f], res_);
    b.fields[f].resize(b.sample_bytes[f] * static_cast<uint64_t>(opt_.batch));
    ptrs.push_back(b.fields[f].data());
  }
  if (!res_status_.ok()) {
    b.status = res_status_;
    return;
  }
  ReadContext ctx;
  ctx.seed = opt_.read_seed;
  ctx.epoch = static_cast<uint64_t>(epoch_);
  ctx.res = res_;
  b.status = source_->read(ctx, order_.data() + begin, static_cast<size_t>(rows), ptrs.data());
}

void Loader::worker() {
  const auto ring = static_cast<int64_t>(ring_.size());
  for (;;) {
    const int64_t k = claim_.fetch_add(1);
    if (k >= num_batches_) return;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stopping_ || k - ring <= released_; });
      if (stopping_) return;
    }
    Batch& b = ring_[k % ring];
    fill(b, k);
    {
      std::lock_guard<std::mutex> lk(mu_);
      ready_[k % ring] = 1;
    }
    cv_.notify_all();
  }
}

const Batch* Loader::next() {
  const auto ring = static_cast<int64_t>(ring_.size());
  if (handed_ >= 0) {
    // The batch handed out last is done with: its slot may be refilled. Only
    // a batch actually handed out since start_epoch is released, so skipped
    // batches never clear a slot a worker has already filled.
    std::lock_guard<std::mutex> lk(mu_);
    released_ = handed_;
    ready_[handed_ % ring] = 0;
    handed_ = -1;
  }
  cv_.notify_all();
  if (next_batch_ >= num_batches_) return nullptr;
  const int64_t k = next_batch_++;
  handed_ = k;
  Batch& b = ring_[k % ring];
  if (opt_.workers == 0) {
    auto t0 = std::chrono::steady_clock::now();
    fill(b, k);
    stall_ns_ +=
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    return &b;
  }
  std::unique_lock<std::mutex> lk(mu_);
  if (!ready_[k % ring]) {
    auto t0 = std::chrono::steady_clock::now();
    cv_.wait(lk, [&] { return ready_[k % ring] != 0; });
    stall_ns_ +=
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  }
  return &b;
}

}  // namespace plinth::data
