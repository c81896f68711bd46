// backend_instance.hpp — one instance of a backend plugin on one device, as
// the core drives it: device buffers (RAII), copies, launches and
// synchronisation with plugin errors turned into Status; how `[backend]
// name = "auto"` picks a backend; op and dtype names. For tools that talk to
// a backend directly (plinth-plugin-check, benchmarks). Not here: planning
// or running a model (plinth/train.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "plinth/backend.h"
#include "plinth/registry.hpp"
#include "plinth/status.hpp"

namespace plinth {

// One device allocation; freed when dropped (the backend stays alive while
// any of its buffers does).
class DeviceBuffer {
 public:
  DeviceBuffer();
  DeviceBuffer(DeviceBuffer&&) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&&) noexcept;
  ~DeviceBuffer();

  plinth_buffer* get() const;  // nullptr when empty
  uint64_t size() const;

  struct Impl;

 private:
  friend class BackendInstance;
  std::unique_ptr<Impl> impl_;
};

class BackendInstance {
 public:
  // Create an instance of backend component `name` on `device`; `config`
  // (optional, may be nullptr) is the plugin's own settings (plinth/plugin_config.hpp).
  static Result<BackendInstance> create(const Registry& registry, const std::string& name,
                                        const plinth_config* config = nullptr, int device = 0);

  BackendInstance(const BackendInstance&) = default;  // shares the one instance
  BackendInstance& operator=(const BackendInstance&) = default;
  BackendInstance(BackendInstance&&) noexcept = default;
  BackendInstance& operator=(BackendInstance&&) noexcept = default;
  ~BackendInstance();

  const std::string& name() const;
  const plinth_device_properties& properties() const;
  // The plugin's table and context, to call it directly.
  const plinth_backend_v1* table() const;
  plinth_backend_ctx* ctx() const;

  Result<DeviceBuffer> alloc(uint64_t size);
  Status upload(const DeviceBuffer& dst, uint64_t offset, const void* src, uint64_t size);
  Status download(void* dst, const DeviceBuffer& src, uint64_t offset, uint64_t size);
  Status synchronize();
  bool supports(const plinth_op& op) const;
  // `what` names the launch in the error.
  Status launch(const plinth_op& op, const char* what);
  plinth_status launch_raw(const plinth_op& op);  // no conversion, no allocation
  uint64_t peak_bytes() const;                    // the most the core's buffers held at once

  struct Impl;

 private:
  explicit BackendInstance(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// What a backend's device_count says; when 0 or failed, the plugin's message.
struct DeviceProbe {
  int32_t count = 0;
  bool failed = false;  // device_count returned an error
  std::string message;
  std::string reason() const { return message.empty() ? "no device" : message; }
};
DeviceProbe probe_devices(const plinth_backend_v1* table);

// The backend `[backend] name` stands for: a component name as is; "auto"
// the highest-scoring backend with device `device` (the CPU backend when no
// other qualifies). not_found when none qualifies.
Result<std::string> select_backend(const Registry& registry, const std::string& name, int device = 0);

const char* op_name(plinth_op_kind kind);    // "matmul", ...
const char* dtype_name(plinth_dtype dtype);  // "f32", ...
size_t dtype_size(plinth_dtype dtype);       // bytes per element

}  // namespace plinth
