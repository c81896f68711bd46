// backend.hpp — the core's handle on one backend instance: the plugin's
// table, its context and the library keep-alive, with calls converted to
// Status. Buffers are RAII. Not here: what to launch (exec/program.hpp).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "plinth/backend.h"
#include "plinth/ops.hpp"
#include "plinth/registry.hpp"
#include "plinth/status.hpp"

namespace plinth::exec {

class Backend;

// Whether a backend built against ABI major.minor can be sent `op`: false
// when the op sets a field appended in a later minor that changes its result
// and that an older plugin would not read (CROSS_ENTROPY's label_smoothing
// != 0 needs 1.2), so the op runs on the CPU backend instead.
bool abi_covers(const plinth_op& op, uint32_t major, uint32_t minor);

// One device allocation; freed when the last owner drops it.
class Buffer {
 public:
  Buffer() = default;
  Buffer(std::shared_ptr<Backend> backend, plinth_buffer* buf, uint64_t size)
      : backend_(std::move(backend)), buf_(buf), size_(size) {}
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept { swap(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    Buffer tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  ~Buffer();

  plinth_buffer* get() const { return buf_; }
  uint64_t size() const { return size_; }
  void swap(Buffer& o) noexcept {
    std::swap(backend_, o.backend_);
    std::swap(buf_, o.buf_);
    std::swap(size_, o.size_);
  }

 private:
  std::shared_ptr<Backend> backend_;
  plinth_buffer* buf_ = nullptr;
  uint64_t size_ = 0;
};

class Backend : public std::enable_shared_from_this<Backend> {
 public:
  // Create an instance of backend component `name` on `device`.
  static Result<std::shared_ptr<Backend>> create(const Registry& registry, const std::string& name,
                                                 const plinth_config* cfg, int device);
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  const std::string& name() const { return name_; }
  const plinth_device_properties& properties() const { return props_; }

  Result<Buffer> alloc(uint64_t size);
  // Host address of a buffer where the device is host-visible, else nullptr.
  void* host_ptr(const Buffer& b) const;
  Status upload(const Buffer& dst, uint64_t offset, const void* src, uint64_t size) {
    return upload(dst.get(), offset, src, size);
  }
  Status download(void* dst, const Buffer& src, uint64_t offset, uint64_t size) {
    return download(dst, src.get(), offset, size);
  }
  Status upload(plinth_buffer* dst, uint64_t offset, const void* src, uint64_t size);
  Status download(void* dst, plinth_buffer* src, uint64_t offset, uint64_t size);
  Status synchronize();

  // The plugin's supports(), unless the op uses a field appended after the
  // ABI the plugin was built against (see abi_covers).
  bool supports(const plinth_op& op) const {
    return abi_covers(op, abi_major_, abi_minor_) && table_->supports(ctx_, &op) != 0;
  }
  // The hot path: no allocation, one indirect call.
  plinth_status launch_raw(const plinth_op& op) { return table_->launch(ctx_, nullptr, &op); }
  Status launch(const plinth_op& op, const char* what);

  const plinth_backend_v1* table() const { return table_; }
  plinth_backend_ctx* ctx() const { return ctx_; }

  // Bytes of the buffers the core holds now, and the most it held at once
  // (the plugin's own scratch is not seen here).
  uint64_t bytes_in_use() const { return in_use_.load(std::memory_order_relaxed); }
  uint64_t peak_bytes() const { return peak_.load(std::memory_order_relaxed); }

 private:
  Backend() = default;
  friend class Buffer;
  std::string name_;
  const plinth_backend_v1* table_ = nullptr;
  plinth_backend_ctx* ctx_ = nullptr;
  std::shared_ptr<void> keep_alive_;
  uint32_t abi_major_ = PLINTH_ABI_MAJOR, abi_minor_ = PLINTH_ABI_MINOR;  // the plugin's
  plinth_device_properties props_{};
  std::atomic<uint64_t> in_use_{0}, peak_{0};
};

// What a backend's device_count says: the count, and when that is 0 or the
// call failed, the message the plugin set with host->set_error (empty when
// it set none). `failed`: device_count returned an error.
struct DeviceProbe {
  int32_t count = 0;
  bool failed = false;
  std::string message;
  // "no device" unless the plugin said why.
  std::string reason() const { return message.empty() ? "no device" : message; }
};
DeviceProbe probe_devices(const plinth_backend_v1* table);

// The backend `[backend] name` stands for. A component name is returned as
// is; "auto" picks the backend with the highest plinth_plugin_score (1 when
// the plugin exports none) that has device `device`, the first on a tie,
// skipping those with score 0 or no device; the CPU backend is the fallback
// when no other qualifies. Logs one line naming the choice and what was
// skipped, and why. not_found when no backend qualifies.
Result<std::string> select_backend(const Registry& registry, const std::string& name, int device);

const char* op_name(plinth_op_kind kind);
// A dtype's name ("bf16") and element size, as the plugins have them.
using sdk::dtype_name;
using sdk::dtype_size;

}  // namespace plinth::exec
