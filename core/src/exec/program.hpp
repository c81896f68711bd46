// program.hpp — a graph compiled for one backend: persistent tensors in the
// run's Store (exec/store.hpp), transient values in a planned arena, and the
// step as a flat list of prepared plinth_op launches, each routed once to the
// backend or the fallback by the Executor. Not here: what the graph is
// (graph/) or when steps run (train/).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exec/backend.hpp"
#include "exec/executor.hpp"
#include "exec/store.hpp"
#include "graph/graph.hpp"

namespace plinth::exec {

class Program {
 public:
  // Compile `g` (forward then backward) against `store`, which must already
  // hold every parameter, gradient and stat the graph names, to run through
  // `executor` (on the store's backend). An op the backend does not support
  // runs through the executor's fallback, or is an error (errc::unsupported)
  // naming the op and layer when there is none.
  // `arena` (optional): run in this buffer when it is large enough, else in
  // one of its own: programs that never run at once can share one arena
  // (the trainer's programs for several batch sizes and resolutions).
  static Result<std::unique_ptr<Program>> compile(const graph::Graph& g, Store& store,
                                                  std::shared_ptr<Executor> executor,
                                                  std::shared_ptr<Buffer> arena = nullptr);
  // The same on the store's backend alone (no fallback).
  static Result<std::unique_ptr<Program>> compile(const graph::Graph& g, Store& store);

  // Run every launch in order. On failure, the message names the op and layer.
  Status run();
  // The same, calling after(i) once launch i has returned (data parallel:
  // start the all-reduce of gradient buckets backward has finished). An
  // error from after() stops the run and is returned.
  Status run(const std::function<Status(size_t)>& after);
  // For each byte range [first, first + second) of `buffer`, the index of the
  // last launch with an output overlapping it; -1 when none writes it.
  std::vector<int64_t> last_writers(const plinth_buffer* buffer,
                                    const std::vector<std::pair<uint64_t, uint64_t>>& ranges) const;
  // Write a batch field (host bytes) into the input or target value.
  Status upload_input(const void* data, uint64_t bytes);
  Status upload_target(const void* data, uint64_t bytes);
  Status download_argmax(int32_t* out);    // eval graphs with cross-entropy: batch * positions ids
  Status download_prediction(float* out);  // the model output, numel of graph().prediction floats

  // Per-step parameters: dropout's Philox key and counter base.
  void set_dropout(uint64_t seed, uint64_t step);
  // dL/dlogits scale (1 / rows the loss is averaged over).
  void set_loss_scale(float scale);

  const graph::Graph& graph() const { return graph_; }
  uint64_t arena_bytes() const { return arena_->size(); }
  const std::shared_ptr<Buffer>& arena() const { return arena_; }
  // The most transient bytes live at once (exec::peak_live_bytes): the least
  // any arena for this launch order could be.
  uint64_t activation_need_bytes() const { return activation_need_; }
  size_t num_launches() const { return launches_.size(); }
  size_t num_fallbacks() const;

 private:
  struct Launch {
    plinth_op op{};
    graph::Params params;
    uint32_t tin = 0, tout = 0;
    int node = 0;
    bool fallback = false;  // runs on the CPU backend with copies
  };
  plinth_tensor tensor_of(int value) const;

  graph::Graph graph_;
  Store* store_ = nullptr;
  std::shared_ptr<Executor> exec_;
  std::shared_ptr<Buffer> arena_;  // possibly shared with other programs
  uint64_t activation_need_ = 0;
  std::vector<uint64_t> offset_;  // per root value, in the arena
  std::vector<plinth_tensor> tensors_;
  std::vector<Launch> launches_;
  std::vector<const graph::Node*> nodes_;
};

}  // namespace plinth::exec
