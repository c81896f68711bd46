// store.cpp — declaring persistent tensors, laying each group out (aligned,
// in declaration order) and allocating it zero-filled. Not here: programs.
#include "exec/store.hpp"

#include <algorithm>
#include <cstring>

#include "exec/planner.hpp"

namespace plinth::exec {

plinth_tensor make_tensor(plinth_buffer* buf, uint64_t offset, plinth_dtype dtype,
                          const std::vector<int64_t>& shape) {
  plinth_tensor t{};
  t.struct_size = sizeof(plinth_tensor);
  t.buffer = buf;
  t.offset = offset;
  t.dtype = dtype;
  t.ndim = static_cast<int32_t>(shape.size());
  int64_t stride = 1;
  for (int i = t.ndim - 1; i >= 0; --i) {
    t.shape[i] = shape[i];
    t.strides[i] = stride;
    stride *= shape[i];
  }
  return t;
}

uint64_t bytes_of(plinth_dtype dtype, const std::vector<int64_t>& shape) {
  uint64_t n = dtype_size(dtype);
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

Status Store::declare(const std::string& name, Group group, plinth_dtype dtype,
                      const std::vector<int64_t>& shape) {
  if (auto it = slots_.find(name); it != slots_.end()) {
    if (it->second.shape != shape || it->second.dtype != dtype || it->second.group != group)
      return error(errc::internal, "tensor '" + name + "' declared twice with different shapes");
    return {};
  }
  if (buffers_[group].get()) return error(errc::internal, "tensor '" + name + "' declared after allocation");
  Slot s;
  s.shape = shape;
  s.dtype = dtype;
  s.group = group;
  s.bytes = bytes_of(dtype, shape);
  s.offset = sizes_[group];
  sizes_[group] += (s.bytes + kAlignment - 1) / kAlignment * kAlignment;
  slots_[name] = s;
  order_.push_back(name);
  return {};
}

Status Store::allocate() {
  for (int g = 0; g < kGroups; ++g) {
    if (buffers_[g].get() || sizes_[g] == 0) continue;
    auto b = backend_->alloc(sizes_[g]);
    if (!b) return b.status();
    buffers_[g] = std::move(*b);
    // Zero through the host where the device is host-visible, else by
    // copying zeros (FILL may be an op the backend does not have).
    if (void* p = backend_->host_ptr(buffers_[g])) {
      std::memset(p, 0, sizes_[g]);
    } else {
      const std::vector<unsigned char> zeros(std::min<uint64_t>(sizes_[g], uint64_t{1} << 20), 0);
      for (uint64_t off = 0; off < sizes_[g]; off += zeros.size())
        PLINTH_TRY(backend_->upload(buffers_[g], off, zeros.data(),
                                    std::min<uint64_t>(zeros.size(), sizes_[g] - off)));
    }
  }
  return {};
}

plinth_tensor Store::tensor(const std::string& name) const {
  const Slot& s = slots_.at(name);
  return make_tensor(buffers_[s.group].get(), s.offset, s.dtype, s.shape);
}

std::vector<std::string> Store::names(Group g) const {
  std::vector<std::string> out;
  for (const auto& n : order_)
    if (slots_.at(n).group == g) out.push_back(n);
  return out;
}

}  // namespace plinth::exec
