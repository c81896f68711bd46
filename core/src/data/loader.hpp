// loader.hpp — batches from a Source in a seeded per-epoch order, read ahead
// by worker threads into a bounded ring of batch slots, handed out strictly in
// order, optionally this rank's shard of each global batch (data parallel).
// Counts the time the consumer waited (the data stall). Reads pass a read
// context (the run's seed, the epoch, the resolution of image fields) to
// sources that take one.
// Not here: what the batch is used for; streaming sources.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/source.hpp"

namespace plinth::data {

struct Batch {
  int64_t index = -1;  // batch number within the epoch
  int64_t rows = 0;
  Resolution res;                                  // of image fields; 0: the fields' own shape
  std::vector<std::vector<unsigned char>> fields;  // per source field, rows * sample_bytes[f]
  std::vector<uint64_t> sample_bytes;              // per source field, at res (sample_bytes_at)
  Status status;
};

struct LoaderOptions {
  int64_t batch = 32;
  bool shuffle = true;
  bool drop_last = false;
  int workers = 2;    // 0: read on the consumer's thread
  int prefetch = 4;   // batches read ahead
  uint64_t seed = 0;  // shuffle seed; epoch e uses derive(seed, e)
  // The read context's seed (the run's [run] seed, the same on every rank):
  // a source's augmentation draws are a function of (read_seed, epoch, index).
  uint64_t read_seed = 0;
  // Data-parallel sharding: batch k of an epoch is the k-th global batch of
  // batch * shard_count samples of the shuffled order (the same order on
  // every rank), split into shard_count contiguous, disjoint parts; this
  // loader yields part shard_rank. A short last batch of m samples is split
  // evenly (floor(r * m / count) .. floor((r + 1) * m / count)), so a part may
  // hold 0 rows when m < shard_count. shard_count 1: no sharding.
  int shard_rank = 0;
  int shard_count = 1;
};

class Loader {
 public:
  Loader(std::shared_ptr<Source> source, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  int64_t batches_per_epoch() const;
  // Begin epoch `epoch` (0-based), skipping its first `skip` batches, its
  // image fields read at `res` (0: their own shape). A resolution the source
  // cannot give is an error in every batch's status naming the source.
  void start_epoch(int64_t epoch, int64_t skip = 0, Resolution res = {});
  // The next batch of the epoch, or nullptr at its end. The batch stays valid
  // until the following next() call. A read error is in batch->status.
  const Batch* next();
  double stall_seconds() const { return stall_ns_.load() * 1e-9; }
  const Source& source() const { return *source_; }

 private:
  void stop();
  void worker();
  void fill(Batch& b, int64_t k);

  std::shared_ptr<Source> source_;
  LoaderOptions opt_;
  std::vector<uint64_t> order_;
  int64_t num_batches_ = 0;
  int64_t epoch_ = 0;
  Resolution res_;
  Status res_status_;
  int64_t next_batch_ = 0;  // next to hand out
  int64_t released_ = -1;   // last batch the consumer is done with
  int64_t handed_ = -1;     // batch handed out by the last next(); -1: none since start_epoch
  std::atomic<int64_t> claim_{0};
  std::vector<Batch> ring_;
  std::vector<char> ready_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::atomic<int64_t> stall_ns_{0};
};

}  // namespace plinth::data
