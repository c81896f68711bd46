// backend.cpp — Backend and Buffer: creating a backend instance through the
// registry and turning its status codes into Status with the plugin's message.
#include "exec/backend.hpp"

#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "plinth/log.hpp"
#include "plinth/ops.hpp"
#include "plinth/plugin.hpp"
#include "plugin/host.hpp"

namespace plinth::exec {

Buffer::~Buffer() {
  if (backend_ && buf_) {
    backend_->table_->buffer_free(backend_->ctx_, buf_);
    backend_->in_use_.fetch_sub(size_, std::memory_order_relaxed);
  }
}

Result<std::shared_ptr<Backend>> Backend::create(const Registry& registry, const std::string& name,
                                                 const plinth_config* cfg, int device) {
  auto comp = registry.find(PLINTH_KIND_BACKEND, name);
  if (!comp) return comp.status();
  std::shared_ptr<Backend> b(new Backend());
  b->name_ = name;
  b->table_ = static_cast<const plinth_backend_v1*>((*comp)->table);
  b->keep_alive_ = registry.keep_alive(*comp);
  if (const PluginInfo* owner = registry.owner(*comp)) {
    b->abi_major_ = owner->abi_major;
    b->abi_minor_ = owner->abi_minor;
  }
  // An installed backend without a device (no GPU, no driver) is bad input
  // for this machine: exit 2 with the plugin's own reason.
  const DeviceProbe probe = probe_devices(b->table_);
  if (probe.failed || probe.count <= 0)
    return error(errc::not_found, "backend '" + name + "': no device (" + probe.reason() + ")");
  const int32_t count = probe.count;
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
  const uint64_t now = in_use_.fetch_add(size, std::memory_order_relaxed) + size;
  for (uint64_t peak = peak_.load(std::memory_order_relaxed);
       now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed);) {
  }
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

bool abi_covers(const plinth_op& op, uint32_t major, uint32_t minor) {
  if (major != 1 || minor >= 2) return true;  // another major is refused at load
  const int32_t kind = sdk::raw_enum(op.kind);
  if ((kind == PLINTH_OP_CROSS_ENTROPY || kind == PLINTH_OP_CROSS_ENTROPY_BACKWARD) && op.params) {
    const auto* p = static_cast<const plinth_xent_params*>(op.params);
    if (p->struct_size >= PLINTH_XENT_PARAMS_STRUCT_SIZE && p->label_smoothing != 0.0f) return false;
  }
  if (kind == PLINTH_OP_AXPBY && op.params) {  // a 1.0/1.1 backend would not see fn
    const auto* p = static_cast<const plinth_axpby_params*>(op.params);
    if (p->struct_size >= PLINTH_AXPBY_PARAMS_STRUCT_SIZE && p->fn != PLINTH_UNARY_IDENTITY) return false;
  }
  return true;
}

DeviceProbe probe_devices(const plinth_backend_v1* table) {
  DeviceProbe p;
  (void)take_plugin_error();  // a stale message must not pass for this call's reason
  plinth_status s = PLINTH_ERR_INTERNAL;
  try {
    s = table->device_count(&p.count);
  } catch (...) {  // plugins must not throw; one that does has no usable device
    set_plugin_error("device_count threw a C++ exception");
  }
  p.message = take_plugin_error();
  if (s != PLINTH_OK) {
    p.failed = true;
    p.count = 0;
    if (p.message.empty()) p.message = "device_count failed with status " + std::to_string(int(s));
  } else if (p.count < 0) {
    p.count = 0;
  }
  if (p.count > 0) p.message.clear();
  return p;
}

Result<std::string> select_backend(const Registry& reg, const std::string& name, int device) {
  if (name != "auto") return name;
  std::string best, skipped;
  int32_t best_score = 0;
  bool have_cpu = false;
  for (const auto& n : reg.names(PLINTH_KIND_BACKEND)) {
    auto c = reg.find(PLINTH_KIND_BACKEND, n);
    if (!c) continue;
    const PluginInfo* owner = reg.owner(*c);
    const int32_t score = owner && owner->score ? *owner->score : 1;
    std::string why;
    if (score <= 0) {
      why = "score " + std::to_string(score) + ": the plugin says it cannot run here";
    } else {
      const DeviceProbe d = probe_devices(static_cast<const plinth_backend_v1*>((*c)->table));
      if (d.count <= 0)
        why = "no device: " + d.reason();
      else if (device >= d.count)
        why = std::to_string(d.count) + " device(s), [backend] device = " + std::to_string(device);
    }
    if (!why.empty()) {
      skipped += (skipped.empty() ? "" : ", ") + n + " (" + why + ")";
      continue;
    }
    if (n == "cpu") {  // the fallback, not a contender
      have_cpu = true;
      continue;
    }
    if (best.empty() || score > best_score) best = n, best_score = score;
  }
  if (best.empty() && have_cpu) best = "cpu";
  if (best.empty())
    return error(errc::not_found,
                 "[backend] name = \"auto\": no installed backend can run here" +
                     (skipped.empty() ? std::string(" (none is installed)") : " (skipped: " + skipped + ")") +
                     "; hint: `plinth plugins doctor` lists the backends and why");
  logger().info("[backend] name = \"auto\": using '{}'{}", best,
                skipped.empty() ? "" : "; skipped: " + skipped);
  return best;
}

const char* op_name(plinth_op_kind kind) {
  // The SDK's names, lower-cased once ("MATMUL" -> "matmul").
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (int32_t k = 0; k < PLINTH_OP_COUNT_V1_2; ++k) {
      std::string n = sdk::op_name(k);
      for (char& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      v.push_back(std::move(n));
    }
    return v;
  }();
  return kind >= 0 && kind < PLINTH_OP_COUNT_V1_2 ? names[static_cast<size_t>(kind)].c_str() : "unknown-op";
}

}  // namespace plinth::exec
