// backend.cpp — Backend and Buffer: creating a backend instance through the
// registry and turning its status codes into Status with the plugin's message.
#include "exec/backend.hpp"

#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "plinth/ops.hpp"

namespace plinth::exec {

Buffer::~Buffer() {
  if (backend_ && buf_) backend_->table_->buffer_free(backend_->ctx_, buf_);
}

Result<std::shared_ptr<Backend>> Backend::create(const Registry& registry, const std::string& name,
                                                 const plinth_config* cfg, int device) {
  auto comp = registry.find(PLINTH_KIND_BACKEND, name);
  if (!comp) return comp.status();
  std::shared_ptr<Backend> b(new Backend());
  b->name_ = name;
  b->table_ = static_cast<const plinth_backend_v1*>((*comp)->table);
  b->keep_alive_ = registry.keep_alive(*comp);
  int32_t count = 0;
  if (plinth_status s = b->table_->device_count(&count); s != PLINTH_OK)
    return plugin_status(s, "backend '" + name + "': device_count");
  if (device < 0 || device >= count)
    return error(errc::invalid_argument, "backend '" + name + "': device " + std::to_string(device) +
                                             " does not exist (" + std::to_string(count) + " found)");
  b->props_.struct_size = sizeof(plinth_device_properties);
  if (plinth_status s = b->table_->device_properties(device, &b->props_); s != PLINTH_OK)
    return plugin_status(s, "backend '" + name + "': device_properties");
  b->props_.name[sizeof b->props_.name - 1] = '\0';
  if (plinth_status s = b->table_->create(registry.host(), cfg, device, &b->ctx_); s != PLINTH_OK)
    return plugin_status(s, "backend '" + name + "': create");
  return b;
}

Backend::~Backend() {
  if (ctx_) table_->destroy(ctx_);
}

Result<Buffer> Backend::alloc(uint64_t size) {
  plinth_buffer* buf = nullptr;
  if (plinth_status s = table_->buffer_alloc(ctx_, size, &buf); s != PLINTH_OK)
    return plugin_status(s, "backend '" + name_ + "': allocating " + std::to_string(size) + " bytes");
  return Buffer(shared_from_this(), buf, size);
}

void* Backend::host_ptr(const Buffer& b) const {
  if (!table_->buffer_host_ptr || !PLINTH_HAS_FIELD(table_, plinth_backend_v1, buffer_host_ptr))
    return nullptr;
  return table_->buffer_host_ptr(ctx_, b.get());
}

// Synchronous: when it returns, `src` may be freed or reused (copy_h2d only
// promises to read it by the time the stream reaches the copy).
Status Backend::upload(plinth_buffer* dst, uint64_t offset, const void* src, uint64_t size) {
  if (plinth_status s = table_->copy_h2d(ctx_, nullptr, dst, offset, src, size); s != PLINTH_OK)
    return plugin_status(s, "backend '" + name_ + "': copy to device");
  return synchronize();
}

Status Backend::download(void* dst, plinth_buffer* src, uint64_t offset, uint64_t size) {
  if (plinth_status s = table_->copy_d2h(ctx_, nullptr, dst, src, offset, size); s != PLINTH_OK)
    return plugin_status(s, "backend '" + name_ + "': copy to host");
  if (plinth_status s = table_->stream_synchronize(ctx_, nullptr); s != PLINTH_OK)
    return plugin_status(s, "backend '" + name_ + "': synchronize");
  return {};
}

Status Backend::synchronize() {
  if (plinth_status s = table_->stream_synchronize(ctx_, nullptr); s != PLINTH_OK)
    return plugin_status(s, "backend '" + name_ + "': synchronize");
  return {};
}

Status Backend::launch(const plinth_op& op, const char* what) {
  if (plinth_status s = launch_raw(op); s != PLINTH_OK)
    return plugin_status(s, "backend '" + name_ + "': " + op_name(op.kind) + " (" + what + ")");
  return {};
}

const char* op_name(plinth_op_kind kind) {
  // The SDK's names, lower-cased once ("MATMUL" -> "matmul").
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (int32_t k = 0; k < PLINTH_OP_COUNT_V1_1; ++k) {
      std::string n = sdk::op_name(k);
      for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      v.push_back(std::move(n));
    }
    return v;
  }();
  return kind >= 0 && kind < PLINTH_OP_COUNT_V1_1 ? names[static_cast<size_t>(kind)].c_str() : "unknown-op";
}

const char* dtype_name(plinth_dtype dtype) {
  static const char* const names[] = {"f32", "f16", "bf16", "f64", "i32", "i64", "u8", "u16"};
  return dtype >= 0 && dtype < PLINTH_DTYPE_COUNT_V1 ? names[dtype] : "unknown-dtype";
}

size_t dtype_size(plinth_dtype dtype) { return sdk::dtype_size(dtype); }

}  // namespace plinth::exec
