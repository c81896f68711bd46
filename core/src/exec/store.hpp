// store.hpp — the persistent tensors of a run (parameters, gradients,
// optimizer state, stats) by name, each group one contiguous buffer on the
// backend so a whole-group op (global norm, all-reduce, broadcast) is one
// launch. Shared by every program of a run. Not here: transient values (a
// program's arena, exec/program.hpp) or where ops run (exec/executor.hpp).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exec/backend.hpp"

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

 private:
  std::shared_ptr<Backend> backend_;
  std::map<std::string, Slot> slots_;
  std::vector<std::string> order_;
  uint64_t sizes_[kGroups] = {};
  Buffer buffers_[kGroups];
};

// A contiguous (row-major) tensor view of `buf` at `offset`.
plinth_tensor make_tensor(plinth_buffer* buf, uint64_t offset, plinth_dtype dtype,
                          const std::vector<int64_t>& shape);
// Bytes of a contiguous tensor of `shape`.
uint64_t bytes_of(plinth_dtype dtype, const std::vector<int64_t>& shape);

}  // namespace plinth::exec
