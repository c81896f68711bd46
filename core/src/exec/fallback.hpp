// fallback.hpp — runs an op the primary backend does not support on the CPU
// backend: the op's tensors are copied to host staging memory, the op runs
// on the CPU, and its outputs are copied back. Each op kind that falls back is
// logged once per run. The staging buffer grows to the largest op seen and
// is then reused. Falling back costs two copies per tensor per launch: the
// log line is there so users notice.
// Not here: deciding whether to fall back (exec/executor.cpp).
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "exec/backend.hpp"

namespace plinth::exec {

class Fallback {
 public:
  Fallback(std::shared_ptr<Backend> primary, std::shared_ptr<Backend> cpu)
      : primary_(std::move(primary)), cpu_(std::move(cpu)) {}

  // Whether the CPU backend can run `op` (with staged, contiguous tensors).
  bool can_run(const plinth_op& op) const;
  // Run `op`, whose tensors live on the primary backend, on the CPU backend.
  // `where` names the op's layer for messages.
  Status run(const plinth_op& op, const std::string& where);
  // Log (once per op kind) that `op` falls back.
  void note(const plinth_op& op, const std::string& where);

 private:
  std::shared_ptr<Backend> primary_;
  std::shared_ptr<Backend> cpu_;
  Buffer staging_;
  std::mutex mu_;
  std::set<int> logged_;
};

}  // namespace plinth::exec
