// program.hpp — a graph compiled for one backend: persistent tensors
// (parameters, gradients, optimizer state, stats) in a Store shared by every
// program of a run, transient values in a planned arena, and the step as a
// flat list of prepared plinth_op launches. Not here: what the graph is
// (graph/) or when steps run (train/).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exec/backend.hpp"
#include "exec/fallback.hpp"
#include "graph/graph.hpp"

namespace plinth::exec {

// A tensor that lives for the whole run, by name ("fc1.weight").
struct Slot {
  std::vector<int64_t> shape;
  plinth_dtype dtype = PLINTH_DTYPE_F32;
  uint64_t offset = 0;  // in the store's buffer for its group
  uint64_t bytes = 0;
  int group = 0;
};

// Persistent tensors, grouped so each group is one contiguous buffer
// (all parameters, all gradients, ... : one global-norm or all-reduce each).
class Store {
 public:
  enum Group { params = 0, grads = 1, state = 2, stats = 3, kGroups = 4 };

  explicit Store(std::shared_ptr<Backend> backend) : backend_(std::move(backend)) {}
  // Declare a tensor before allocate(); a second declaration must match.
  Status declare(const std::string& name, Group group, plinth_dtype dtype, const std::vector<int64_t>& shape);
  Status allocate();  // one buffer per group, zero-filled
  bool has(const std::string& name) const { return slots_.count(name) != 0; }
  const Slot& slot(const std::string& name) const { return slots_.at(name); }
  plinth_tensor tensor(const std::string& name) const;
  const Buffer& buffer(Group g) const { return buffers_[g]; }
  uint64_t group_bytes(Group g) const { return sizes_[g]; }
  std::vector<std::string> names(Group g) const;  // in declaration order
  Backend& backend() const { return *backend_; }
  // Where ops the backend lacks run; null: such ops are an error.
  void set_fallback(std::shared_ptr<Fallback> f) { fallback_ = std::move(f); }
  Fallback* fallback() const { return fallback_.get(); }

 private:
  std::shared_ptr<Backend> backend_;
  std::shared_ptr<Fallback> fallback_;
  std::map<std::string, Slot> slots_;
  std::vector<std::string> order_;
  uint64_t sizes_[kGroups] = {};
  Buffer buffers_[kGroups];
};

plinth_tensor make_tensor(plinth_buffer* buf, uint64_t offset, plinth_dtype dtype,
                          const std::vector<int64_t>& shape);

class Program {
 public:
  // Compile `g` (forward then backward) against `store`, which must already
  // hold every parameter, gradient and stat the graph names. An op the
  // backend does not support runs through the store's fallback, or is an
  // error (errc::unsupported) naming the op and layer when there is none.
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
  uint64_t arena_bytes() const { return arena_.size(); }
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
  Buffer arena_;
  uint64_t activation_need_ = 0;
  std::vector<uint64_t> offset_;  // per root value, in the arena
  std::vector<plinth_tensor> tensors_;
  std::vector<Launch> launches_;
  std::vector<const graph::Node*> nodes_;
};

}  // namespace plinth::exec
