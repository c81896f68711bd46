// backend_instance.cpp — plinth::BackendInstance and DeviceBuffer
// (plinth/backend_instance.hpp) over exec::Backend and exec::Buffer, and the
// backend selection and op/dtype names of exec/backend.cpp.
// Not here: the fallback to the CPU backend or programs (exec/).
#include "plinth/backend_instance.hpp"

#include <utility>

#include "exec/backend.hpp"

namespace plinth {

struct DeviceBuffer::Impl {
  exec::Buffer buffer;
};

struct BackendInstance::Impl {
  std::shared_ptr<exec::Backend> backend;
};

DeviceBuffer::DeviceBuffer() = default;
DeviceBuffer::DeviceBuffer(DeviceBuffer&&) noexcept = default;
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&&) noexcept = default;
DeviceBuffer::~DeviceBuffer() = default;
plinth_buffer* DeviceBuffer::get() const { return impl_ ? impl_->buffer.get() : nullptr; }
uint64_t DeviceBuffer::size() const { return impl_ ? impl_->buffer.size() : 0; }

BackendInstance::BackendInstance(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
BackendInstance::~BackendInstance() = default;

Result<BackendInstance> BackendInstance::create(const Registry& registry, const std::string& name,
                                                const plinth_config* config, int device) {
  auto b = exec::Backend::create(registry, name, config, device);
  if (!b) return b.status();
  return BackendInstance(std::make_shared<Impl>(Impl{std::move(*b)}));
}

const std::string& BackendInstance::name() const { return impl_->backend->name(); }
const plinth_device_properties& BackendInstance::properties() const { return impl_->backend->properties(); }
const plinth_backend_v1* BackendInstance::table() const { return impl_->backend->table(); }
plinth_backend_ctx* BackendInstance::ctx() const { return impl_->backend->ctx(); }

Result<DeviceBuffer> BackendInstance::alloc(uint64_t size) {
  auto b = impl_->backend->alloc(size);
  if (!b) return b.status();
  DeviceBuffer d;
  d.impl_ = std::make_unique<DeviceBuffer::Impl>();
  d.impl_->buffer = std::move(*b);
  return d;
}

Status BackendInstance::upload(const DeviceBuffer& dst, uint64_t offset, const void* src, uint64_t size) {
  return impl_->backend->upload(dst.get(), offset, src, size);
}
Status BackendInstance::download(void* dst, const DeviceBuffer& src, uint64_t offset, uint64_t size) {
  return impl_->backend->download(dst, src.get(), offset, size);
}
Status BackendInstance::synchronize() { return impl_->backend->synchronize(); }
bool BackendInstance::supports(const plinth_op& op) const { return impl_->backend->supports(op); }
Status BackendInstance::launch(const plinth_op& op, const char* what) {
  return impl_->backend->launch(op, what);
}
plinth_status BackendInstance::launch_raw(const plinth_op& op) { return impl_->backend->launch_raw(op); }
uint64_t BackendInstance::peak_bytes() const { return impl_->backend->peak_bytes(); }

DeviceProbe probe_devices(const plinth_backend_v1* table) {
  const exec::DeviceProbe p = exec::probe_devices(table);
  return DeviceProbe{p.count, p.failed, p.message};
}

Result<std::string> select_backend(const Registry& registry, const std::string& name, int device) {
  return exec::select_backend(registry, name, device);
}

const char* op_name(plinth_op_kind kind) { return exec::op_name(kind); }
const char* dtype_name(plinth_dtype dtype) { return exec::dtype_name(dtype); }
size_t dtype_size(plinth_dtype dtype) { return exec::dtype_size(dtype); }

}  // namespace plinth
