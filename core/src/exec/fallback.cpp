// fallback.cpp — staging an op's tensors through host memory to run it on the
// CPU backend (DESIGN.md: "an op a backend does not support runs on the CPU
// backend with copies in between; the log says so once").
#include "exec/fallback.hpp"

#include <vector>

#include "plinth/log.hpp"

namespace plinth::exec {
namespace {

constexpr uint64_t kAlign = 64;

uint64_t tensor_bytes(const plinth_tensor& t) {
  uint64_t n = dtype_size(t.dtype);
  for (int i = 0; i < t.ndim; ++i) n *= static_cast<uint64_t>(t.shape[i]);
  return n;
}

bool contiguous(const plinth_tensor& t) {
  int64_t stride = 1;
  for (int i = t.ndim - 1; i >= 0; --i) {
    if (t.shape[i] != 1 && t.strides[i] != stride) return false;
    stride *= t.shape[i];
  }
  return true;
}

// The op with each tensor moved into the staging buffer; `slots` maps every
// distinct (buffer, offset) to one staging range so aliases stay aliases.
struct Staged {
  std::vector<plinth_tensor> tensors;
  std::vector<uint64_t> offsets;  // staging offset per tensor
  uint64_t total = 0;
};

Staged stage(const plinth_op& op) {
  Staged s;
  const int n = op.num_inputs + op.num_outputs;
  s.tensors.reserve(n);
  for (int i = 0; i < n; ++i)
    s.tensors.push_back(i < op.num_inputs ? op.inputs[i] : op.outputs[i - op.num_inputs]);
  for (int i = 0; i < n; ++i) {
    const auto& t = s.tensors[i];
    uint64_t off = UINT64_MAX;
    for (int j = 0; j < i; ++j)
      if (s.tensors[j].buffer == t.buffer && s.tensors[j].offset == t.offset &&
          tensor_bytes(s.tensors[j]) == tensor_bytes(t))
        off = s.offsets[j];
    if (off == UINT64_MAX) {
      off = s.total;
      s.total += (tensor_bytes(t) + kAlign - 1) / kAlign * kAlign;
    }
    s.offsets.push_back(off);
  }
  return s;
}

}  // namespace

bool Fallback::can_run(const plinth_op& op) const {
  for (int i = 0; i < op.num_inputs; ++i)
    if (!contiguous(op.inputs[i])) return false;
  for (int i = 0; i < op.num_outputs; ++i)
    if (!contiguous(op.outputs[i])) return false;
  return cpu_->supports(op);
}

void Fallback::note(const plinth_op& op, const std::string& where) {
  std::lock_guard<std::mutex> lk(mu_);
  if (logged_.insert(op.kind).second)
    logger().warn(
        "backend '{}' does not support op {} ({}); running it on the CPU backend with copies in between "
        "(logged once per op; set [backend] allow_fallback = false to make this an error)",
        primary_->name(), op_name(op.kind), where);
}

Status Fallback::run(const plinth_op& op, const std::string& where) {
  std::lock_guard<std::mutex> lk(mu_);
  Staged s = stage(op);
  if (s.total > staging_.size()) {
    auto b = cpu_->alloc(s.total);
    if (!b) return b.status();
    staging_ = std::move(*b);
  }
  auto* host = static_cast<unsigned char*>(cpu_->host_ptr(staging_));
  if (!host) return error(errc::internal, "the CPU backend's buffers are not host-visible");
  // Bring every tensor over (outputs too: ops may accumulate into them).
  const int n = static_cast<int>(s.tensors.size());
  for (int i = 0; i < n; ++i) {
    const auto& t = s.tensors[i];
    const uint64_t bytes = tensor_bytes(t);
    if (bytes) PLINTH_TRY(primary_->download(host + s.offsets[i], t.buffer, t.offset, bytes));
  }
  std::vector<plinth_tensor> rebased = s.tensors;
  for (int i = 0; i < n; ++i) {
    rebased[i].buffer = staging_.get();
    rebased[i].offset = s.offsets[i];
  }
  plinth_op cpu_op = op;
  cpu_op.inputs = rebased.data();
  cpu_op.outputs = rebased.data() + op.num_inputs;
  if (Status st = cpu_->launch(cpu_op, where.c_str()); !st.ok()) return st.with_context("CPU fallback");
  for (int i = op.num_inputs; i < n; ++i) {
    const auto& t = s.tensors[i];
    const uint64_t bytes = tensor_bytes(t);
    if (bytes) PLINTH_TRY(primary_->upload(t.buffer, t.offset, host + s.offsets[i], bytes));
  }
  return primary_->synchronize();
}

}  // namespace plinth::exec
