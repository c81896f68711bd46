// backend.hpp — what a backend defines for plugin.cpp to publish: its name,
// version and description, its [backend] config keys and every function of
// plinth_backend_v1, in namespace `backend`. The template defines them in
// backend.cpp; a backend started from the template (or built on it, like
// examples/vendor-backend) defines its own and compiles plugin.cpp unchanged.
#pragma once

#include "plinth/backend.h"

namespace backend {

extern const char k_name[];                // the plugin's and its one component's name
extern const char k_version[];             // the plugin's version ("1.2.0")
extern const char k_vendor[];              // who ships it
extern const char k_description[];         // one line: what the component runs
extern const char* const k_config_keys[];  // keys read from [backend], NULL-terminated

plinth_status device_count(int32_t* out);
plinth_status device_properties(int32_t index, plinth_device_properties* out);
plinth_status create(const plinth_host* host, const plinth_config* config, int32_t device,
                     plinth_backend_ctx** out);
void destroy(plinth_backend_ctx* ctx);
plinth_status buffer_alloc(plinth_backend_ctx* ctx, uint64_t size, plinth_buffer** out);
void buffer_free(plinth_backend_ctx* ctx, plinth_buffer* buf);
void* buffer_host_ptr(plinth_backend_ctx* ctx, plinth_buffer* buf);
plinth_status copy_h2d(plinth_backend_ctx* ctx, plinth_stream* stream, plinth_buffer* dst,
                       uint64_t dst_offset, const void* src, uint64_t size);
plinth_status copy_d2h(plinth_backend_ctx* ctx, plinth_stream* stream, void* dst, plinth_buffer* src,
                       uint64_t src_offset, uint64_t size);
plinth_status copy_d2d(plinth_backend_ctx* ctx, plinth_stream* stream, plinth_buffer* dst,
                       uint64_t dst_offset, plinth_buffer* src, uint64_t src_offset, uint64_t size);
plinth_status stream_create(plinth_backend_ctx* ctx, plinth_stream** out);
void stream_destroy(plinth_backend_ctx* ctx, plinth_stream* stream);
plinth_status stream_synchronize(plinth_backend_ctx* ctx, plinth_stream* stream);
plinth_status event_create(plinth_backend_ctx* ctx, plinth_event** out);
void event_destroy(plinth_backend_ctx* ctx, plinth_event* event);
plinth_status event_record(plinth_backend_ctx* ctx, plinth_event* event, plinth_stream* stream);
plinth_status stream_wait_event(plinth_backend_ctx* ctx, plinth_stream* stream, plinth_event* event);
plinth_status event_synchronize(plinth_backend_ctx* ctx, plinth_event* event);
int32_t supports(plinth_backend_ctx* ctx, const plinth_op* op);
plinth_status launch(plinth_backend_ctx* ctx, plinth_stream* stream, const plinth_op* op);
int32_t num_threads(plinth_backend_ctx* ctx);  // threads it computes with, or 0

}  // namespace backend
