// plugin.cpp — the CPU backend's plugin descriptor and backend table, and the
// one exported symbol. Everything else lives in device.cpp, buffer.cpp and ops/.
#include "cpu_backend.hpp"

namespace {

using namespace plinth::cpu;

constexpr plinth_backend_v1 k_table = {
    .struct_size = PLINTH_BACKEND_V1_STRUCT_SIZE,
    .device_count = device_count,
    .device_properties = device_properties,
    .create = create,
    .destroy = destroy,
    .buffer_alloc = buffer_alloc,
    .buffer_free = buffer_free,
    .buffer_host_ptr = buffer_host_ptr,
    .copy_h2d = copy_h2d,
    .copy_d2h = copy_d2h,
    .copy_d2d = copy_d2d,
    .stream_create = stream_create,
    .stream_destroy = stream_destroy,
    .stream_synchronize = stream_synchronize,
    .event_create = event_create,
    .event_destroy = event_destroy,
    .event_record = event_record,
    .stream_wait_event = stream_wait_event,
    .event_synchronize = event_synchronize,
    .supports = supports,
    .launch = launch,
    .num_threads = num_threads,
};

constexpr const char* k_config_keys[] = {"name", "device", "threads", "allow_fallback", nullptr};

constexpr plinth_component k_components[] = {{
    .struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
    .kind = PLINTH_KIND_BACKEND,
    .name = "cpu",
    .description = "Host CPU: oneDNN matmul, vectorised multi-threaded kernels; the numerical reference",
    .table = &k_table,
    .config_keys = k_config_keys,
}};

constexpr plinth_plugin k_plugin = {
    .struct_size = PLINTH_PLUGIN_STRUCT_SIZE,
    .abi_major = PLINTH_ABI_MAJOR,
    .abi_minor = PLINTH_ABI_MINOR,
    .name = k_plugin_name,
    .version = "0.1.0",
    .vendor = "Plinth",
    .num_components = 1,
    .components = k_components,
    .init = init,
    .shutdown = nullptr,
};

}  // namespace

extern "C" PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &k_plugin; }
