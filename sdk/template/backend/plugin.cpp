// plugin.cpp — the backend's table, its one component and the plugin
// descriptor, and the entry symbol: the functions and names declared in
// backend.hpp, published as ABI 1.x wants them. Nothing backend-specific
// lives here, so a backend built on this template compiles it unchanged.
#include "plinth/plugin.h"
#include "backend.hpp"

namespace {

const plinth_backend_v1 k_table = {
    .struct_size = PLINTH_BACKEND_V1_STRUCT_SIZE,
    .device_count = backend::device_count,
    .device_properties = backend::device_properties,
    .create = backend::create,
    .destroy = backend::destroy,
    .buffer_alloc = backend::buffer_alloc,
    .buffer_free = backend::buffer_free,
    .buffer_host_ptr = backend::buffer_host_ptr,
    .copy_h2d = backend::copy_h2d,
    .copy_d2h = backend::copy_d2h,
    .copy_d2d = backend::copy_d2d,
    .stream_create = backend::stream_create,
    .stream_destroy = backend::stream_destroy,
    .stream_synchronize = backend::stream_synchronize,
    .event_create = backend::event_create,
    .event_destroy = backend::event_destroy,
    .event_record = backend::event_record,
    .stream_wait_event = backend::stream_wait_event,
    .event_synchronize = backend::event_synchronize,
    .supports = backend::supports,
    .launch = backend::launch,
    .num_threads = backend::num_threads,
};

const plinth_component k_components[] = {{
    .struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
    .kind = PLINTH_KIND_BACKEND,
    .name = backend::k_name,
    .description = backend::k_description,
    .table = &k_table,
    .config_keys = backend::k_config_keys,
}};

const plinth_plugin k_plugin = {
    .struct_size = PLINTH_PLUGIN_STRUCT_SIZE,
    .abi_major = PLINTH_ABI_MAJOR,
    .abi_minor = PLINTH_ABI_MINOR,
    .name = backend::k_name,
    .version = backend::k_version,
    .vendor = backend::k_vendor,
    .num_components = 1,
    .components = k_components,
    .init = nullptr,
    .shutdown = nullptr,
};

}  // namespace

extern "C" PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &k_plugin; }
