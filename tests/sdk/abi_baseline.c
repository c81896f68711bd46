/*
 * abi_baseline.c — the ABI 1.1 layout, checked in: size, alignment and the
 * offset of every field of every SDK struct, and the value of every enum
 * constant, for x86-64 / aarch64 LP64 (the platforms Plinth ships for).
 * An accidental change to a header fails to compile here. An intended
 * change (a new minor appends fields) updates this file in the same commit.
 */
#include <stddef.h>

#include "plinth/backend.h"
#include "plinth/comm.h"
#include "plinth/data.h"
#include "plinth/optimizer.h"
#include "plinth/plugin.h"

#if defined(__LP64__) && (defined(__x86_64__) || defined(__aarch64__))

/* --- plugin.h --- */
_Static_assert(sizeof(plinth_host) == 112, "sizeof plinth_host");
_Static_assert(_Alignof(plinth_host) == 8, "alignof plinth_host");
_Static_assert(offsetof(plinth_host, struct_size) == 0, "plinth_host.struct_size");
_Static_assert(offsetof(plinth_host, abi_major) == 8, "plinth_host.abi_major");
_Static_assert(offsetof(plinth_host, abi_minor) == 12, "plinth_host.abi_minor");
_Static_assert(offsetof(plinth_host, ctx) == 16, "plinth_host.ctx");
_Static_assert(offsetof(plinth_host, log) == 24, "plinth_host.log");
_Static_assert(offsetof(plinth_host, set_error) == 32, "plinth_host.set_error");
_Static_assert(offsetof(plinth_host, config_get_int) == 40, "plinth_host.config_get_int");
_Static_assert(offsetof(plinth_host, config_get_float) == 48, "plinth_host.config_get_float");
_Static_assert(offsetof(plinth_host, config_get_bool) == 56, "plinth_host.config_get_bool");
_Static_assert(offsetof(plinth_host, config_get_string) == 64, "plinth_host.config_get_string");
_Static_assert(offsetof(plinth_host, config_array_size) == 72, "plinth_host.config_array_size");
_Static_assert(offsetof(plinth_host, config_array_int) == 80, "plinth_host.config_array_int");
_Static_assert(offsetof(plinth_host, config_array_float) == 88, "plinth_host.config_array_float");
_Static_assert(offsetof(plinth_host, config_array_string) == 96, "plinth_host.config_array_string");
_Static_assert(offsetof(plinth_host, config_get_path) == 104, "plinth_host.config_get_path");

_Static_assert(sizeof(plinth_component) == 48, "sizeof plinth_component");
_Static_assert(_Alignof(plinth_component) == 8, "alignof plinth_component");
_Static_assert(offsetof(plinth_component, struct_size) == 0, "plinth_component.struct_size");
_Static_assert(offsetof(plinth_component, kind) == 8, "plinth_component.kind");
_Static_assert(offsetof(plinth_component, name) == 16, "plinth_component.name");
_Static_assert(offsetof(plinth_component, description) == 24, "plinth_component.description");
_Static_assert(offsetof(plinth_component, table) == 32, "plinth_component.table");
_Static_assert(offsetof(plinth_component, config_keys) == 40, "plinth_component.config_keys");

_Static_assert(sizeof(plinth_plugin) == 72, "sizeof plinth_plugin");
_Static_assert(_Alignof(plinth_plugin) == 8, "alignof plinth_plugin");
_Static_assert(offsetof(plinth_plugin, struct_size) == 0, "plinth_plugin.struct_size");
_Static_assert(offsetof(plinth_plugin, abi_major) == 8, "plinth_plugin.abi_major");
_Static_assert(offsetof(plinth_plugin, abi_minor) == 12, "plinth_plugin.abi_minor");
_Static_assert(offsetof(plinth_plugin, name) == 16, "plinth_plugin.name");
_Static_assert(offsetof(plinth_plugin, version) == 24, "plinth_plugin.version");
_Static_assert(offsetof(plinth_plugin, vendor) == 32, "plinth_plugin.vendor");
_Static_assert(offsetof(plinth_plugin, num_components) == 40, "plinth_plugin.num_components");
_Static_assert(offsetof(plinth_plugin, components) == 48, "plinth_plugin.components");
_Static_assert(offsetof(plinth_plugin, init) == 56, "plinth_plugin.init");
_Static_assert(offsetof(plinth_plugin, shutdown) == 64, "plinth_plugin.shutdown");

/* --- backend.h --- */
_Static_assert(sizeof(plinth_device_properties) == 168, "sizeof plinth_device_properties");
_Static_assert(_Alignof(plinth_device_properties) == 8, "alignof plinth_device_properties");
_Static_assert(offsetof(plinth_device_properties, struct_size) == 0, "plinth_device_properties.struct_size");
_Static_assert(offsetof(plinth_device_properties, name) == 8, "plinth_device_properties.name");
_Static_assert(offsetof(plinth_device_properties, memory_kind) == 136,
               "plinth_device_properties.memory_kind");
_Static_assert(offsetof(plinth_device_properties, total_memory) == 144,
               "plinth_device_properties.total_memory");
_Static_assert(offsetof(plinth_device_properties, compute_units) == 152,
               "plinth_device_properties.compute_units");
_Static_assert(offsetof(plinth_device_properties, has_bf16) == 156, "plinth_device_properties.has_bf16");
_Static_assert(offsetof(plinth_device_properties, has_fp16) == 160, "plinth_device_properties.has_fp16");
_Static_assert(offsetof(plinth_device_properties, host_visible) == 164,
               "plinth_device_properties.host_visible");

_Static_assert(sizeof(plinth_tensor) == 160, "sizeof plinth_tensor");
_Static_assert(_Alignof(plinth_tensor) == 8, "alignof plinth_tensor");
_Static_assert(offsetof(plinth_tensor, struct_size) == 0, "plinth_tensor.struct_size");
_Static_assert(offsetof(plinth_tensor, buffer) == 8, "plinth_tensor.buffer");
_Static_assert(offsetof(plinth_tensor, offset) == 16, "plinth_tensor.offset");
_Static_assert(offsetof(plinth_tensor, dtype) == 24, "plinth_tensor.dtype");
_Static_assert(offsetof(plinth_tensor, ndim) == 28, "plinth_tensor.ndim");
_Static_assert(offsetof(plinth_tensor, shape) == 32, "plinth_tensor.shape");
_Static_assert(offsetof(plinth_tensor, strides) == 96, "plinth_tensor.strides");

_Static_assert(sizeof(plinth_fill_params) == 16, "sizeof plinth_fill_params");
_Static_assert(_Alignof(plinth_fill_params) == 8, "alignof plinth_fill_params");
_Static_assert(offsetof(plinth_fill_params, struct_size) == 0, "plinth_fill_params.struct_size");
_Static_assert(offsetof(plinth_fill_params, value) == 8, "plinth_fill_params.value");

_Static_assert(sizeof(plinth_unary_params) == 24, "sizeof plinth_unary_params");
_Static_assert(_Alignof(plinth_unary_params) == 8, "alignof plinth_unary_params");
_Static_assert(offsetof(plinth_unary_params, struct_size) == 0, "plinth_unary_params.struct_size");
_Static_assert(offsetof(plinth_unary_params, fn) == 8, "plinth_unary_params.fn");
_Static_assert(offsetof(plinth_unary_params, alpha) == 12, "plinth_unary_params.alpha");
_Static_assert(offsetof(plinth_unary_params, beta) == 16, "plinth_unary_params.beta");

_Static_assert(sizeof(plinth_binary_params) == 16, "sizeof plinth_binary_params");
_Static_assert(_Alignof(plinth_binary_params) == 8, "alignof plinth_binary_params");
_Static_assert(offsetof(plinth_binary_params, struct_size) == 0, "plinth_binary_params.struct_size");
_Static_assert(offsetof(plinth_binary_params, fn) == 8, "plinth_binary_params.fn");
_Static_assert(offsetof(plinth_binary_params, beta) == 12, "plinth_binary_params.beta");

_Static_assert(sizeof(plinth_axpby_params) == 24, "sizeof plinth_axpby_params (1.0: 16)");
_Static_assert(_Alignof(plinth_axpby_params) == 8, "alignof plinth_axpby_params");
_Static_assert(offsetof(plinth_axpby_params, struct_size) == 0, "plinth_axpby_params.struct_size");
_Static_assert(offsetof(plinth_axpby_params, alpha) == 8, "plinth_axpby_params.alpha");
_Static_assert(offsetof(plinth_axpby_params, beta) == 12, "plinth_axpby_params.beta");
_Static_assert(offsetof(plinth_axpby_params, fn) == 16, "plinth_axpby_params.fn (ABI 1.2)");
_Static_assert(PLINTH_AXPBY_PARAMS_STRUCT_SIZE == 20, "PLINTH_AXPBY_PARAMS_STRUCT_SIZE");
_Static_assert(PLINTH_AXPBY_PARAMS_V1_STRUCT_SIZE == 16, "PLINTH_AXPBY_PARAMS_V1_STRUCT_SIZE");

_Static_assert(sizeof(plinth_matmul_params) == 24, "sizeof plinth_matmul_params");
_Static_assert(_Alignof(plinth_matmul_params) == 8, "alignof plinth_matmul_params");
_Static_assert(offsetof(plinth_matmul_params, struct_size) == 0, "plinth_matmul_params.struct_size");
_Static_assert(offsetof(plinth_matmul_params, trans_a) == 8, "plinth_matmul_params.trans_a");
_Static_assert(offsetof(plinth_matmul_params, trans_b) == 12, "plinth_matmul_params.trans_b");
_Static_assert(offsetof(plinth_matmul_params, alpha) == 16, "plinth_matmul_params.alpha");
_Static_assert(offsetof(plinth_matmul_params, beta) == 20, "plinth_matmul_params.beta");

_Static_assert(sizeof(plinth_reduce_params) == 16, "sizeof plinth_reduce_params");
_Static_assert(_Alignof(plinth_reduce_params) == 8, "alignof plinth_reduce_params");
_Static_assert(offsetof(plinth_reduce_params, struct_size) == 0, "plinth_reduce_params.struct_size");
_Static_assert(offsetof(plinth_reduce_params, fn) == 8, "plinth_reduce_params.fn");
_Static_assert(offsetof(plinth_reduce_params, beta) == 12, "plinth_reduce_params.beta");

_Static_assert(sizeof(plinth_xent_params) == 24,
               "sizeof plinth_xent_params"); /* 1.0: 16; 1.2 appended label_smoothing */
_Static_assert(_Alignof(plinth_xent_params) == 8, "alignof plinth_xent_params");
_Static_assert(offsetof(plinth_xent_params, struct_size) == 0, "plinth_xent_params.struct_size");
_Static_assert(offsetof(plinth_xent_params, ignore_index) == 8, "plinth_xent_params.ignore_index");
_Static_assert(offsetof(plinth_xent_params, scale) == 12, "plinth_xent_params.scale");
_Static_assert(offsetof(plinth_xent_params, label_smoothing) == 16,
               "plinth_xent_params.label_smoothing (ABI 1.2)");
_Static_assert(PLINTH_XENT_PARAMS_STRUCT_SIZE == 20, "PLINTH_XENT_PARAMS_STRUCT_SIZE");
_Static_assert(PLINTH_XENT_PARAMS_V1_STRUCT_SIZE == 16, "PLINTH_XENT_PARAMS_V1_STRUCT_SIZE");
_Static_assert(sizeof(plinth_batchnorm_params) == 24, "sizeof plinth_batchnorm_params");
_Static_assert(_Alignof(plinth_batchnorm_params) == 8, "alignof plinth_batchnorm_params");
_Static_assert(offsetof(plinth_batchnorm_params, eps) == 8, "plinth_batchnorm_params.eps");
_Static_assert(offsetof(plinth_batchnorm_params, momentum) == 12, "plinth_batchnorm_params.momentum");
_Static_assert(offsetof(plinth_batchnorm_params, training) == 16, "plinth_batchnorm_params.training");
_Static_assert(PLINTH_BATCHNORM_PARAMS_STRUCT_SIZE == 20, "PLINTH_BATCHNORM_PARAMS_STRUCT_SIZE");
_Static_assert(sizeof(plinth_lion_params) == 24, "sizeof plinth_lion_params");
_Static_assert(_Alignof(plinth_lion_params) == 8, "alignof plinth_lion_params");
_Static_assert(offsetof(plinth_lion_params, lr) == 8, "plinth_lion_params.lr");
_Static_assert(offsetof(plinth_lion_params, beta1) == 12, "plinth_lion_params.beta1");
_Static_assert(offsetof(plinth_lion_params, beta2) == 16, "plinth_lion_params.beta2");
_Static_assert(offsetof(plinth_lion_params, weight_decay) == 20, "plinth_lion_params.weight_decay");
_Static_assert(PLINTH_LION_PARAMS_STRUCT_SIZE == 24, "PLINTH_LION_PARAMS_STRUCT_SIZE");

_Static_assert(sizeof(plinth_layernorm_params) == 16, "sizeof plinth_layernorm_params");
_Static_assert(_Alignof(plinth_layernorm_params) == 8, "alignof plinth_layernorm_params");
_Static_assert(offsetof(plinth_layernorm_params, struct_size) == 0, "plinth_layernorm_params.struct_size");
_Static_assert(offsetof(plinth_layernorm_params, eps) == 8, "plinth_layernorm_params.eps");

_Static_assert(sizeof(plinth_attention_params) == 16, "sizeof plinth_attention_params");
_Static_assert(_Alignof(plinth_attention_params) == 8, "alignof plinth_attention_params");
_Static_assert(offsetof(plinth_attention_params, struct_size) == 0, "plinth_attention_params.struct_size");
_Static_assert(offsetof(plinth_attention_params, causal) == 8, "plinth_attention_params.causal");
_Static_assert(offsetof(plinth_attention_params, scale) == 12, "plinth_attention_params.scale");

_Static_assert(sizeof(plinth_dropout_params) == 32, "sizeof plinth_dropout_params");
_Static_assert(_Alignof(plinth_dropout_params) == 8, "alignof plinth_dropout_params");
_Static_assert(offsetof(plinth_dropout_params, struct_size) == 0, "plinth_dropout_params.struct_size");
_Static_assert(offsetof(plinth_dropout_params, p) == 8, "plinth_dropout_params.p");
_Static_assert(offsetof(plinth_dropout_params, seed) == 16, "plinth_dropout_params.seed");
_Static_assert(offsetof(plinth_dropout_params, offset) == 24, "plinth_dropout_params.offset");

_Static_assert(sizeof(plinth_adamw_params) == 40, "sizeof plinth_adamw_params");
_Static_assert(_Alignof(plinth_adamw_params) == 8, "alignof plinth_adamw_params");
_Static_assert(offsetof(plinth_adamw_params, struct_size) == 0, "plinth_adamw_params.struct_size");
_Static_assert(offsetof(plinth_adamw_params, lr) == 8, "plinth_adamw_params.lr");
_Static_assert(offsetof(plinth_adamw_params, beta1) == 12, "plinth_adamw_params.beta1");
_Static_assert(offsetof(plinth_adamw_params, beta2) == 16, "plinth_adamw_params.beta2");
_Static_assert(offsetof(plinth_adamw_params, eps) == 20, "plinth_adamw_params.eps");
_Static_assert(offsetof(plinth_adamw_params, weight_decay) == 24, "plinth_adamw_params.weight_decay");
_Static_assert(offsetof(plinth_adamw_params, step) == 32, "plinth_adamw_params.step");

_Static_assert(sizeof(plinth_sgd_params) == 40, "sizeof plinth_sgd_params");
_Static_assert(_Alignof(plinth_sgd_params) == 8, "alignof plinth_sgd_params");
_Static_assert(offsetof(plinth_sgd_params, struct_size) == 0, "plinth_sgd_params.struct_size");
_Static_assert(offsetof(plinth_sgd_params, lr) == 8, "plinth_sgd_params.lr");
_Static_assert(offsetof(plinth_sgd_params, momentum) == 12, "plinth_sgd_params.momentum");
_Static_assert(offsetof(plinth_sgd_params, dampening) == 16, "plinth_sgd_params.dampening");
_Static_assert(offsetof(plinth_sgd_params, weight_decay) == 20, "plinth_sgd_params.weight_decay");
_Static_assert(offsetof(plinth_sgd_params, nesterov) == 24, "plinth_sgd_params.nesterov");
_Static_assert(offsetof(plinth_sgd_params, step) == 32, "plinth_sgd_params.step");

_Static_assert(sizeof(plinth_op) == 48, "sizeof plinth_op");
_Static_assert(_Alignof(plinth_op) == 8, "alignof plinth_op");
_Static_assert(offsetof(plinth_op, struct_size) == 0, "plinth_op.struct_size");
_Static_assert(offsetof(plinth_op, kind) == 8, "plinth_op.kind");
_Static_assert(offsetof(plinth_op, num_inputs) == 12, "plinth_op.num_inputs");
_Static_assert(offsetof(plinth_op, inputs) == 16, "plinth_op.inputs");
_Static_assert(offsetof(plinth_op, num_outputs) == 24, "plinth_op.num_outputs");
_Static_assert(offsetof(plinth_op, outputs) == 32, "plinth_op.outputs");
_Static_assert(offsetof(plinth_op, params) == 40, "plinth_op.params");

_Static_assert(sizeof(plinth_backend_v1) == 176, "sizeof plinth_backend_v1");
_Static_assert(_Alignof(plinth_backend_v1) == 8, "alignof plinth_backend_v1");
_Static_assert(offsetof(plinth_backend_v1, struct_size) == 0, "plinth_backend_v1.struct_size");
_Static_assert(offsetof(plinth_backend_v1, device_count) == 8, "plinth_backend_v1.device_count");
_Static_assert(offsetof(plinth_backend_v1, device_properties) == 16, "plinth_backend_v1.device_properties");
_Static_assert(offsetof(plinth_backend_v1, create) == 24, "plinth_backend_v1.create");
_Static_assert(offsetof(plinth_backend_v1, destroy) == 32, "plinth_backend_v1.destroy");
_Static_assert(offsetof(plinth_backend_v1, buffer_alloc) == 40, "plinth_backend_v1.buffer_alloc");
_Static_assert(offsetof(plinth_backend_v1, buffer_free) == 48, "plinth_backend_v1.buffer_free");
_Static_assert(offsetof(plinth_backend_v1, buffer_host_ptr) == 56, "plinth_backend_v1.buffer_host_ptr");
_Static_assert(offsetof(plinth_backend_v1, copy_h2d) == 64, "plinth_backend_v1.copy_h2d");
_Static_assert(offsetof(plinth_backend_v1, copy_d2h) == 72, "plinth_backend_v1.copy_d2h");
_Static_assert(offsetof(plinth_backend_v1, copy_d2d) == 80, "plinth_backend_v1.copy_d2d");
_Static_assert(offsetof(plinth_backend_v1, stream_create) == 88, "plinth_backend_v1.stream_create");
_Static_assert(offsetof(plinth_backend_v1, stream_destroy) == 96, "plinth_backend_v1.stream_destroy");
_Static_assert(offsetof(plinth_backend_v1, stream_synchronize) == 104,
               "plinth_backend_v1.stream_synchronize");
_Static_assert(offsetof(plinth_backend_v1, event_create) == 112, "plinth_backend_v1.event_create");
_Static_assert(offsetof(plinth_backend_v1, event_destroy) == 120, "plinth_backend_v1.event_destroy");
_Static_assert(offsetof(plinth_backend_v1, event_record) == 128, "plinth_backend_v1.event_record");
_Static_assert(offsetof(plinth_backend_v1, stream_wait_event) == 136, "plinth_backend_v1.stream_wait_event");
_Static_assert(offsetof(plinth_backend_v1, event_synchronize) == 144, "plinth_backend_v1.event_synchronize");
_Static_assert(offsetof(plinth_backend_v1, supports) == 152, "plinth_backend_v1.supports");
_Static_assert(offsetof(plinth_backend_v1, launch) == 160, "plinth_backend_v1.launch");
_Static_assert(offsetof(plinth_backend_v1, num_threads) == 168, "plinth_backend_v1.num_threads");

/* --- comm.h --- */
_Static_assert(sizeof(plinth_comm_info) == 24, "sizeof plinth_comm_info");
_Static_assert(_Alignof(plinth_comm_info) == 8, "alignof plinth_comm_info");
_Static_assert(offsetof(plinth_comm_info, struct_size) == 0, "plinth_comm_info.struct_size");
_Static_assert(offsetof(plinth_comm_info, rank) == 8, "plinth_comm_info.rank");
_Static_assert(offsetof(plinth_comm_info, size) == 12, "plinth_comm_info.size");
_Static_assert(offsetof(plinth_comm_info, local_rank) == 16, "plinth_comm_info.local_rank");
_Static_assert(offsetof(plinth_comm_info, local_size) == 20, "plinth_comm_info.local_size");

_Static_assert(sizeof(plinth_comm_v1) == 80, "sizeof plinth_comm_v1");
_Static_assert(_Alignof(plinth_comm_v1) == 8, "alignof plinth_comm_v1");
_Static_assert(offsetof(plinth_comm_v1, struct_size) == 0, "plinth_comm_v1.struct_size");
_Static_assert(offsetof(plinth_comm_v1, create) == 8, "plinth_comm_v1.create");
_Static_assert(offsetof(plinth_comm_v1, destroy) == 16, "plinth_comm_v1.destroy");
_Static_assert(offsetof(plinth_comm_v1, info) == 24, "plinth_comm_v1.info");
_Static_assert(offsetof(plinth_comm_v1, supports_memory) == 32, "plinth_comm_v1.supports_memory");
_Static_assert(offsetof(plinth_comm_v1, all_reduce) == 40, "plinth_comm_v1.all_reduce");
_Static_assert(offsetof(plinth_comm_v1, broadcast) == 48, "plinth_comm_v1.broadcast");
_Static_assert(offsetof(plinth_comm_v1, all_gather) == 56, "plinth_comm_v1.all_gather");
_Static_assert(offsetof(plinth_comm_v1, reduce_scatter) == 64, "plinth_comm_v1.reduce_scatter");
_Static_assert(offsetof(plinth_comm_v1, barrier) == 72, "plinth_comm_v1.barrier");

/* --- optimizer.h --- */
_Static_assert(sizeof(plinth_optim_ops) == 32, "sizeof plinth_optim_ops");
_Static_assert(_Alignof(plinth_optim_ops) == 8, "alignof plinth_optim_ops");
_Static_assert(offsetof(plinth_optim_ops, struct_size) == 0, "plinth_optim_ops.struct_size");
_Static_assert(offsetof(plinth_optim_ops, ctx) == 8, "plinth_optim_ops.ctx");
_Static_assert(offsetof(plinth_optim_ops, supports) == 16, "plinth_optim_ops.supports");
_Static_assert(offsetof(plinth_optim_ops, launch) == 24, "plinth_optim_ops.launch");

_Static_assert(sizeof(plinth_optim_param) == 360, "sizeof plinth_optim_param");
_Static_assert(_Alignof(plinth_optim_param) == 8, "alignof plinth_optim_param");
_Static_assert(offsetof(plinth_optim_param, struct_size) == 0, "plinth_optim_param.struct_size");
_Static_assert(offsetof(plinth_optim_param, name) == 8, "plinth_optim_param.name");
_Static_assert(offsetof(plinth_optim_param, param) == 16, "plinth_optim_param.param");
_Static_assert(offsetof(plinth_optim_param, grad) == 176, "plinth_optim_param.grad");
_Static_assert(offsetof(plinth_optim_param, state) == 336, "plinth_optim_param.state");
_Static_assert(offsetof(plinth_optim_param, scratch) == 344, "plinth_optim_param.scratch");
_Static_assert(offsetof(plinth_optim_param, apply_weight_decay) == 352,
               "plinth_optim_param.apply_weight_decay");

_Static_assert(sizeof(plinth_optim_step_info) == 24, "sizeof plinth_optim_step_info");
_Static_assert(_Alignof(plinth_optim_step_info) == 8, "alignof plinth_optim_step_info");
_Static_assert(offsetof(plinth_optim_step_info, struct_size) == 0, "plinth_optim_step_info.struct_size");
_Static_assert(offsetof(plinth_optim_step_info, lr) == 8, "plinth_optim_step_info.lr");
_Static_assert(offsetof(plinth_optim_step_info, step) == 16, "plinth_optim_step_info.step");

_Static_assert(sizeof(plinth_optimizer_v1) == 64, "sizeof plinth_optimizer_v1");
_Static_assert(_Alignof(plinth_optimizer_v1) == 8, "alignof plinth_optimizer_v1");
_Static_assert(offsetof(plinth_optimizer_v1, struct_size) == 0, "plinth_optimizer_v1.struct_size");
_Static_assert(offsetof(plinth_optimizer_v1, create) == 8, "plinth_optimizer_v1.create");
_Static_assert(offsetof(plinth_optimizer_v1, destroy) == 16, "plinth_optimizer_v1.destroy");
_Static_assert(offsetof(plinth_optimizer_v1, base_lr) == 24, "plinth_optimizer_v1.base_lr");
_Static_assert(offsetof(plinth_optimizer_v1, num_state_slots) == 32, "plinth_optimizer_v1.num_state_slots");
_Static_assert(offsetof(plinth_optimizer_v1, state_slot_name) == 40, "plinth_optimizer_v1.state_slot_name");
_Static_assert(offsetof(plinth_optimizer_v1, num_scratch_slots) == 48,
               "plinth_optimizer_v1.num_scratch_slots");
_Static_assert(offsetof(plinth_optimizer_v1, step) == 56, "plinth_optimizer_v1.step");

/* --- data.h --- */
_Static_assert(sizeof(plinth_data_info) == 24, "sizeof plinth_data_info");
_Static_assert(_Alignof(plinth_data_info) == 8, "alignof plinth_data_info");
_Static_assert(offsetof(plinth_data_info, struct_size) == 0, "plinth_data_info.struct_size");
_Static_assert(offsetof(plinth_data_info, num_samples) == 8, "plinth_data_info.num_samples");
_Static_assert(offsetof(plinth_data_info, num_fields) == 16, "plinth_data_info.num_fields");
_Static_assert(offsetof(plinth_data_info, flags) == 20, "plinth_data_info.flags");

_Static_assert(sizeof(plinth_data_field) == 152, "sizeof plinth_data_field");
_Static_assert(_Alignof(plinth_data_field) == 8, "alignof plinth_data_field");
_Static_assert(offsetof(plinth_data_field, struct_size) == 0, "plinth_data_field.struct_size");
_Static_assert(offsetof(plinth_data_field, name) == 8, "plinth_data_field.name");
_Static_assert(offsetof(plinth_data_field, dtype) == 72, "plinth_data_field.dtype");
_Static_assert(offsetof(plinth_data_field, ndim) == 76, "plinth_data_field.ndim");
_Static_assert(offsetof(plinth_data_field, shape) == 80, "plinth_data_field.shape");
_Static_assert(offsetof(plinth_data_field, num_classes) == 144, "plinth_data_field.num_classes");

_Static_assert(sizeof(plinth_data_v1) == 88,
               "sizeof plinth_data_v1"); /* 1.0: 72; 1.1 appended metadata; 1.2 read_ctx */
_Static_assert(_Alignof(plinth_data_v1) == 8, "alignof plinth_data_v1");
_Static_assert(offsetof(plinth_data_v1, struct_size) == 0, "plinth_data_v1.struct_size");
_Static_assert(offsetof(plinth_data_v1, open) == 8, "plinth_data_v1.open");
_Static_assert(offsetof(plinth_data_v1, close) == 16, "plinth_data_v1.close");
_Static_assert(offsetof(plinth_data_v1, info) == 24, "plinth_data_v1.info");
_Static_assert(offsetof(plinth_data_v1, field) == 32, "plinth_data_v1.field");
_Static_assert(offsetof(plinth_data_v1, read) == 40, "plinth_data_v1.read");
_Static_assert(offsetof(plinth_data_v1, next) == 48, "plinth_data_v1.next");
_Static_assert(offsetof(plinth_data_v1, save_position) == 56, "plinth_data_v1.save_position");
_Static_assert(offsetof(plinth_data_v1, restore_position) == 64, "plinth_data_v1.restore_position");
_Static_assert(offsetof(plinth_data_v1, metadata) == 72, "plinth_data_v1.metadata (ABI 1.1)");
_Static_assert(offsetof(plinth_data_v1, read_ctx) == 80, "plinth_data_v1.read_ctx (ABI 1.2)");
_Static_assert(PLINTH_DATA_V1_STRUCT_SIZE == 88, "PLINTH_DATA_V1_STRUCT_SIZE");
_Static_assert(sizeof(plinth_data_read_context) == 32, "sizeof plinth_data_read_context");
_Static_assert(offsetof(plinth_data_read_context, seed) == 8, "plinth_data_read_context.seed");
_Static_assert(offsetof(plinth_data_read_context, epoch) == 16, "plinth_data_read_context.epoch");
_Static_assert(offsetof(plinth_data_read_context, height) == 24, "plinth_data_read_context.height");
_Static_assert(offsetof(plinth_data_read_context, width) == 28, "plinth_data_read_context.width");
_Static_assert(PLINTH_DATA_READ_CONTEXT_STRUCT_SIZE == 32, "PLINTH_DATA_READ_CONTEXT_STRUCT_SIZE");

/* --- backend.h, ABI 1.1 --- */
_Static_assert(sizeof(plinth_conv2d_params) == 40, "sizeof plinth_conv2d_params");
_Static_assert(_Alignof(plinth_conv2d_params) == 8, "alignof plinth_conv2d_params");
_Static_assert(offsetof(plinth_conv2d_params, struct_size) == 0, "plinth_conv2d_params.struct_size");
_Static_assert(offsetof(plinth_conv2d_params, stride_h) == 8, "plinth_conv2d_params.stride_h");
_Static_assert(offsetof(plinth_conv2d_params, stride_w) == 12, "plinth_conv2d_params.stride_w");
_Static_assert(offsetof(plinth_conv2d_params, pad_h) == 16, "plinth_conv2d_params.pad_h");
_Static_assert(offsetof(plinth_conv2d_params, pad_w) == 20, "plinth_conv2d_params.pad_w");
_Static_assert(offsetof(plinth_conv2d_params, dilation_h) == 24, "plinth_conv2d_params.dilation_h");
_Static_assert(offsetof(plinth_conv2d_params, dilation_w) == 28, "plinth_conv2d_params.dilation_w");
_Static_assert(offsetof(plinth_conv2d_params, beta) == 32, "plinth_conv2d_params.beta");

_Static_assert(sizeof(plinth_pool2d_params) == 40, "sizeof plinth_pool2d_params");
_Static_assert(_Alignof(plinth_pool2d_params) == 8, "alignof plinth_pool2d_params");
_Static_assert(offsetof(plinth_pool2d_params, struct_size) == 0, "plinth_pool2d_params.struct_size");
_Static_assert(offsetof(plinth_pool2d_params, fn) == 8, "plinth_pool2d_params.fn");
_Static_assert(offsetof(plinth_pool2d_params, kernel_h) == 12, "plinth_pool2d_params.kernel_h");
_Static_assert(offsetof(plinth_pool2d_params, kernel_w) == 16, "plinth_pool2d_params.kernel_w");
_Static_assert(offsetof(plinth_pool2d_params, stride_h) == 20, "plinth_pool2d_params.stride_h");
_Static_assert(offsetof(plinth_pool2d_params, stride_w) == 24, "plinth_pool2d_params.stride_w");
_Static_assert(offsetof(plinth_pool2d_params, pad_h) == 28, "plinth_pool2d_params.pad_h");
_Static_assert(offsetof(plinth_pool2d_params, pad_w) == 32, "plinth_pool2d_params.pad_w");
_Static_assert(offsetof(plinth_pool2d_params, count_include_pad) == 36,
               "plinth_pool2d_params.count_include_pad");

/* --- enums (values are fixed forever) --- */
_Static_assert(PLINTH_OK == 0, "PLINTH_OK");
_Static_assert(PLINTH_ERR_INVALID_ARGUMENT == 1, "PLINTH_ERR_INVALID_ARGUMENT");
_Static_assert(PLINTH_ERR_UNSUPPORTED == 2, "PLINTH_ERR_UNSUPPORTED");
_Static_assert(PLINTH_ERR_OUT_OF_MEMORY == 3, "PLINTH_ERR_OUT_OF_MEMORY");
_Static_assert(PLINTH_ERR_IO == 4, "PLINTH_ERR_IO");
_Static_assert(PLINTH_ERR_NOT_FOUND == 5, "PLINTH_ERR_NOT_FOUND");
_Static_assert(PLINTH_ERR_TIMEOUT == 6, "PLINTH_ERR_TIMEOUT");
_Static_assert(PLINTH_ERR_INTERNAL == 7, "PLINTH_ERR_INTERNAL");
_Static_assert(PLINTH_ERR_BAD_DATA == 8, "PLINTH_ERR_BAD_DATA");
_Static_assert(PLINTH_ERR_UNAVAILABLE == 9, "PLINTH_ERR_UNAVAILABLE");
_Static_assert(PLINTH_KIND_BACKEND == 1, "PLINTH_KIND_BACKEND");
_Static_assert(PLINTH_KIND_COMM == 2, "PLINTH_KIND_COMM");
_Static_assert(PLINTH_KIND_OPTIMIZER == 3, "PLINTH_KIND_OPTIMIZER");
_Static_assert(PLINTH_KIND_DATA == 4, "PLINTH_KIND_DATA");
_Static_assert(PLINTH_DTYPE_F32 == 0, "PLINTH_DTYPE_F32");
_Static_assert(PLINTH_DTYPE_F16 == 1, "PLINTH_DTYPE_F16");
_Static_assert(PLINTH_DTYPE_BF16 == 2, "PLINTH_DTYPE_BF16");
_Static_assert(PLINTH_DTYPE_F64 == 3, "PLINTH_DTYPE_F64");
_Static_assert(PLINTH_DTYPE_I32 == 4, "PLINTH_DTYPE_I32");
_Static_assert(PLINTH_DTYPE_I64 == 5, "PLINTH_DTYPE_I64");
_Static_assert(PLINTH_DTYPE_U8 == 6, "PLINTH_DTYPE_U8");
_Static_assert(PLINTH_DTYPE_U16 == 7, "PLINTH_DTYPE_U16");
_Static_assert(PLINTH_DTYPE_COUNT_V1 == 8, "PLINTH_DTYPE_COUNT_V1");
_Static_assert(PLINTH_MEMORY_HOST == 0, "PLINTH_MEMORY_HOST");
_Static_assert(PLINTH_MEMORY_CUDA == 1, "PLINTH_MEMORY_CUDA");
_Static_assert(PLINTH_MEMORY_HIP == 2, "PLINTH_MEMORY_HIP");
_Static_assert(PLINTH_MEMORY_OTHER == 3, "PLINTH_MEMORY_OTHER");
_Static_assert(PLINTH_LOG_TRACE == 0, "PLINTH_LOG_TRACE");
_Static_assert(PLINTH_LOG_DEBUG == 1, "PLINTH_LOG_DEBUG");
_Static_assert(PLINTH_LOG_INFO == 2, "PLINTH_LOG_INFO");
_Static_assert(PLINTH_LOG_WARN == 3, "PLINTH_LOG_WARN");
_Static_assert(PLINTH_LOG_ERROR == 4, "PLINTH_LOG_ERROR");
_Static_assert(PLINTH_OP_FILL == 0, "PLINTH_OP_FILL");
_Static_assert(PLINTH_OP_CAST == 1, "PLINTH_OP_CAST");
_Static_assert(PLINTH_OP_UNARY == 2, "PLINTH_OP_UNARY");
_Static_assert(PLINTH_OP_UNARY_BACKWARD == 3, "PLINTH_OP_UNARY_BACKWARD");
_Static_assert(PLINTH_OP_BINARY == 4, "PLINTH_OP_BINARY");
_Static_assert(PLINTH_OP_AXPBY == 5, "PLINTH_OP_AXPBY");
_Static_assert(PLINTH_OP_MATMUL == 6, "PLINTH_OP_MATMUL");
_Static_assert(PLINTH_OP_REDUCE == 7, "PLINTH_OP_REDUCE");
_Static_assert(PLINTH_OP_SOFTMAX == 8, "PLINTH_OP_SOFTMAX");
_Static_assert(PLINTH_OP_SOFTMAX_BACKWARD == 9, "PLINTH_OP_SOFTMAX_BACKWARD");
_Static_assert(PLINTH_OP_CROSS_ENTROPY == 10, "PLINTH_OP_CROSS_ENTROPY");
_Static_assert(PLINTH_OP_CROSS_ENTROPY_BACKWARD == 11, "PLINTH_OP_CROSS_ENTROPY_BACKWARD");
_Static_assert(PLINTH_OP_LAYERNORM == 12, "PLINTH_OP_LAYERNORM");
_Static_assert(PLINTH_OP_LAYERNORM_BACKWARD == 13, "PLINTH_OP_LAYERNORM_BACKWARD");
_Static_assert(PLINTH_OP_EMBEDDING == 14, "PLINTH_OP_EMBEDDING");
_Static_assert(PLINTH_OP_EMBEDDING_BACKWARD == 15, "PLINTH_OP_EMBEDDING_BACKWARD");
_Static_assert(PLINTH_OP_ATTENTION == 16, "PLINTH_OP_ATTENTION");
_Static_assert(PLINTH_OP_ATTENTION_BACKWARD == 17, "PLINTH_OP_ATTENTION_BACKWARD");
_Static_assert(PLINTH_OP_DROPOUT == 18, "PLINTH_OP_DROPOUT");
_Static_assert(PLINTH_OP_DROPOUT_BACKWARD == 19, "PLINTH_OP_DROPOUT_BACKWARD");
_Static_assert(PLINTH_OP_SQUARED_NORM == 20, "PLINTH_OP_SQUARED_NORM");
_Static_assert(PLINTH_OP_IS_FINITE == 21, "PLINTH_OP_IS_FINITE");
_Static_assert(PLINTH_OP_ARGMAX == 22, "PLINTH_OP_ARGMAX");
_Static_assert(PLINTH_OP_ADAMW_STEP == 23, "PLINTH_OP_ADAMW_STEP");
_Static_assert(PLINTH_OP_SGD_STEP == 24, "PLINTH_OP_SGD_STEP");
_Static_assert(PLINTH_OP_COUNT_V1 == 25, "PLINTH_OP_COUNT_V1");
_Static_assert(PLINTH_OP_CONV2D == 25, "PLINTH_OP_CONV2D");
_Static_assert(PLINTH_OP_CONV2D_BACKWARD == 26, "PLINTH_OP_CONV2D_BACKWARD");
_Static_assert(PLINTH_OP_POOL2D == 27, "PLINTH_OP_POOL2D");
_Static_assert(PLINTH_OP_POOL2D_BACKWARD == 28, "PLINTH_OP_POOL2D_BACKWARD");
_Static_assert(PLINTH_OP_COUNT_V1_1 == 29, "PLINTH_OP_COUNT_V1_1");
_Static_assert(PLINTH_OP_BATCHNORM == 29, "PLINTH_OP_BATCHNORM (ABI 1.2)");
_Static_assert(PLINTH_OP_BATCHNORM_BACKWARD == 30, "PLINTH_OP_BATCHNORM_BACKWARD (ABI 1.2)");
_Static_assert(PLINTH_OP_SELECT == 31, "PLINTH_OP_SELECT (ABI 1.2)");
_Static_assert(PLINTH_OP_LION_STEP == 32, "PLINTH_OP_LION_STEP (ABI 1.2)");
_Static_assert(PLINTH_OP_COUNT_V1_2 == 33, "PLINTH_OP_COUNT_V1_2");
_Static_assert(PLINTH_UNARY_SILU == 13, "PLINTH_UNARY_SILU (ABI 1.2)");
_Static_assert(PLINTH_UNARY_SIGN == 14, "PLINTH_UNARY_SIGN (ABI 1.2)");
_Static_assert(PLINTH_POOL_MAX == 0, "PLINTH_POOL_MAX");
_Static_assert(PLINTH_POOL_AVG == 1, "PLINTH_POOL_AVG");
_Static_assert(PLINTH_UNARY_IDENTITY == 0, "PLINTH_UNARY_IDENTITY");
_Static_assert(PLINTH_UNARY_RELU == 1, "PLINTH_UNARY_RELU");
_Static_assert(PLINTH_UNARY_GELU_TANH == 2, "PLINTH_UNARY_GELU_TANH");
_Static_assert(PLINTH_UNARY_TANH == 3, "PLINTH_UNARY_TANH");
_Static_assert(PLINTH_UNARY_SIGMOID == 4, "PLINTH_UNARY_SIGMOID");
_Static_assert(PLINTH_UNARY_EXP == 5, "PLINTH_UNARY_EXP");
_Static_assert(PLINTH_UNARY_LOG == 6, "PLINTH_UNARY_LOG");
_Static_assert(PLINTH_UNARY_SQRT == 7, "PLINTH_UNARY_SQRT");
_Static_assert(PLINTH_UNARY_RSQRT == 8, "PLINTH_UNARY_RSQRT");
_Static_assert(PLINTH_UNARY_SQUARE == 9, "PLINTH_UNARY_SQUARE");
_Static_assert(PLINTH_UNARY_ABS == 10, "PLINTH_UNARY_ABS");
_Static_assert(PLINTH_UNARY_RECIPROCAL == 11, "PLINTH_UNARY_RECIPROCAL");
_Static_assert(PLINTH_UNARY_GELU_ERF == 12, "PLINTH_UNARY_GELU_ERF");
_Static_assert(PLINTH_BINARY_ADD == 0, "PLINTH_BINARY_ADD");
_Static_assert(PLINTH_BINARY_SUB == 1, "PLINTH_BINARY_SUB");
_Static_assert(PLINTH_BINARY_MUL == 2, "PLINTH_BINARY_MUL");
_Static_assert(PLINTH_BINARY_DIV == 3, "PLINTH_BINARY_DIV");
_Static_assert(PLINTH_BINARY_MAX == 4, "PLINTH_BINARY_MAX");
_Static_assert(PLINTH_BINARY_MIN == 5, "PLINTH_BINARY_MIN");
_Static_assert(PLINTH_BINARY_GT == 6, "PLINTH_BINARY_GT (ABI 1.2)");
_Static_assert(PLINTH_BINARY_GE == 7, "PLINTH_BINARY_GE (ABI 1.2)");
_Static_assert(PLINTH_BINARY_LT == 8, "PLINTH_BINARY_LT (ABI 1.2)");
_Static_assert(PLINTH_BINARY_LE == 9, "PLINTH_BINARY_LE (ABI 1.2)");
_Static_assert(PLINTH_BINARY_EQ == 10, "PLINTH_BINARY_EQ (ABI 1.2)");
_Static_assert(PLINTH_BINARY_NE == 11, "PLINTH_BINARY_NE (ABI 1.2)");
_Static_assert(PLINTH_REDUCE_SUM == 0, "PLINTH_REDUCE_SUM");
_Static_assert(PLINTH_REDUCE_MEAN == 1, "PLINTH_REDUCE_MEAN");
_Static_assert(PLINTH_REDUCE_MAX == 2, "PLINTH_REDUCE_MAX");
_Static_assert(PLINTH_REDUCE_MIN == 3, "PLINTH_REDUCE_MIN");
_Static_assert(PLINTH_REDUCE_OP_SUM == 0, "PLINTH_REDUCE_OP_SUM");
_Static_assert(PLINTH_REDUCE_OP_AVG == 1, "PLINTH_REDUCE_OP_AVG");
_Static_assert(PLINTH_REDUCE_OP_MAX == 2, "PLINTH_REDUCE_OP_MAX");
_Static_assert(PLINTH_REDUCE_OP_MIN == 3, "PLINTH_REDUCE_OP_MIN");

#endif

int plinth_abi_baseline_checked(void) { return 1; }
