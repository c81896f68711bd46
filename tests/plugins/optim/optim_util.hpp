// optim_util.hpp — a host-memory op table for the optimizer tests. The
// generic ops (AXPBY, BINARY, UNARY identity/sqrt/sign) run as naive loops
// and refuse aliasing the op contract does not allow; the fused ADAMW_STEP,
// SGD_STEP and LION_STEP are a separate, independently written per-element
// implementation.
// Every launch is logged so tests can see which ops an optimizer used.
// Tensors here are contiguous f32 arrays: buffer = the float pointer.
#pragma once

#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "fake_host.hpp"
#include "plinth/optimizer.h"

extern "C" const plinth_plugin* plinth_plugin_get(void);

namespace plinth::test {

inline const plinth_optimizer_v1* optimizer_table(const char* name) {
  const plinth_plugin* p = plinth_plugin_get();
  for (size_t i = 0; i < p->num_components; ++i)
    if (std::strcmp(p->components[i].name, name) == 0)
      return static_cast<const plinth_optimizer_v1*>(p->components[i].table);
  return nullptr;
}

inline plinth_tensor view(std::vector<float>& v) {
  plinth_tensor t{};
  t.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
  t.buffer = reinterpret_cast<plinth_buffer*>(v.data());
  t.dtype = PLINTH_DTYPE_F32;
  t.ndim = 1;
  t.shape[0] = static_cast<int64_t>(v.size());
  t.strides[0] = 1;
  return t;
}

struct launch_record {
  plinth_op_kind kind;
  std::vector<plinth_tensor> in, out;
  std::vector<unsigned char> params;  // raw copy of the params struct
};

struct host_ops {
  bool fused = false;  // whether supports() reports the fused optimizer ops
  std::vector<launch_record> log;
  std::vector<plinth_op_kind> asked;  // kinds passed to supports()
  plinth_optim_ops table{};

  host_ops() {
    table.struct_size = PLINTH_OPTIM_OPS_STRUCT_SIZE;
    table.ctx = this;
    table.supports = [](void* ctx, const plinth_op* op) -> int32_t {
      auto* self = static_cast<host_ops*>(ctx);
      self->asked.push_back(op->kind);
      if (op->kind == PLINTH_OP_ADAMW_STEP || op->kind == PLINTH_OP_SGD_STEP ||
          op->kind == PLINTH_OP_LION_STEP)
        return self->fused ? 1 : 0;
      return 1;
    };
    table.launch = [](void* ctx, const plinth_op* op) { return static_cast<host_ops*>(ctx)->run(*op); };
  }

  static float* ptr(const plinth_tensor& t) {
    return reinterpret_cast<float*>(reinterpret_cast<char*>(t.buffer) + t.offset);
  }
  static size_t numel(const plinth_tensor& t) {
    size_t n = 1;
    for (int i = 0; i < t.ndim; ++i) n *= static_cast<size_t>(t.shape[i]);
    return n;
  }

  plinth_status run(const plinth_op& op) {
    launch_record r{
        op.kind, {op.inputs, op.inputs + op.num_inputs}, {op.outputs, op.outputs + op.num_outputs}, {}};
    if (op.params) {
      size_t sz = *static_cast<const size_t*>(op.params);
      r.params.assign(static_cast<const unsigned char*>(op.params),
                      static_cast<const unsigned char*>(op.params) + sz);
    }
    log.push_back(r);
    const size_t n = numel(op.outputs[0]);
    for (int i = 0; i < op.num_inputs; ++i)
      if (numel(op.inputs[i]) != n) return PLINTH_ERR_INVALID_ARGUMENT;
    float* out = ptr(op.outputs[0]);
    switch (op.kind) {
      case PLINTH_OP_AXPBY: {  // out = fn(alpha*a + beta*b); only b may alias out
        auto* p = static_cast<const plinth_axpby_params*>(op.params);
        const float *a = ptr(op.inputs[0]), *b = ptr(op.inputs[1]);
        if (a == out) return PLINTH_ERR_INVALID_ARGUMENT;
        const int fn = p->struct_size >= PLINTH_AXPBY_PARAMS_STRUCT_SIZE ? p->fn : PLINTH_UNARY_IDENTITY;
        if (fn != PLINTH_UNARY_IDENTITY && fn != PLINTH_UNARY_SIGN) return PLINTH_ERR_UNSUPPORTED;
        for (size_t i = 0; i < n; ++i) {
          const float z = p->alpha * a[i] + (p->beta != 0 ? p->beta * b[i] : 0.0f);
          out[i] = fn == PLINTH_UNARY_SIGN ? (z > 0 ? 1.0f : z < 0 ? -1.0f : z) : z;
        }
        return PLINTH_OK;
      }
      case PLINTH_OP_BINARY: {
        auto* p = static_cast<const plinth_binary_params*>(op.params);
        const float *a = ptr(op.inputs[0]), *b = ptr(op.inputs[1]);
        if (a == out || b == out) return PLINTH_ERR_INVALID_ARGUMENT;
        for (size_t i = 0; i < n; ++i) {
          float v;
          switch (p->fn) {
            case PLINTH_BINARY_ADD:
              v = a[i] + b[i];
              break;
            case PLINTH_BINARY_SUB:
              v = a[i] - b[i];
              break;
            case PLINTH_BINARY_MUL:
              v = a[i] * b[i];
              break;
            case PLINTH_BINARY_DIV:
              v = a[i] / b[i];
              break;
            default:
              return PLINTH_ERR_UNSUPPORTED;
          }
          out[i] = (p->beta != 0 ? p->beta * out[i] : 0.0f) + v;
        }
        return PLINTH_OK;
      }
      case PLINTH_OP_UNARY: {
        auto* p = static_cast<const plinth_unary_params*>(op.params);
        const float* a = ptr(op.inputs[0]);
        if (a == out) return PLINTH_ERR_INVALID_ARGUMENT;
        for (size_t i = 0; i < n; ++i) {
          float z = p->alpha * a[i] + p->beta;
          if (p->fn == PLINTH_UNARY_IDENTITY)
            out[i] = z;
          else if (p->fn == PLINTH_UNARY_SQRT)
            out[i] = std::sqrt(z);
          else if (p->fn == PLINTH_UNARY_SIGN)
            out[i] = z > 0 ? 1.0f : z < 0 ? -1.0f : z;
          else
            return PLINTH_ERR_UNSUPPORTED;
        }
        return PLINTH_OK;
      }
      case PLINTH_OP_ADAMW_STEP: {  // in: p, g, m, v; out: p, m, v
        auto* q = static_cast<const plinth_adamw_params*>(op.params);
        if (op.num_inputs != 4 || op.num_outputs != 3) return PLINTH_ERR_INVALID_ARGUMENT;
        float *p = ptr(op.outputs[0]), *m = ptr(op.outputs[1]), *v = ptr(op.outputs[2]);
        const float* g = ptr(op.inputs[1]);
        const float c1 = 1.0f - std::pow(q->beta1, static_cast<float>(q->step));
        const float c2 = 1.0f - std::pow(q->beta2, static_cast<float>(q->step));
        for (size_t i = 0; i < n; ++i) {
          float pi = p[i] - q->lr * q->weight_decay * p[i];
          float mi = q->beta1 * m[i] + (1 - q->beta1) * g[i];
          float vi = q->beta2 * v[i] + (1 - q->beta2) * g[i] * g[i];
          p[i] = pi - q->lr * (mi / c1) / (std::sqrt(vi / c2) + q->eps);
          m[i] = mi;
          v[i] = vi;
        }
        return PLINTH_OK;
      }
      case PLINTH_OP_LION_STEP: {  // in: p, g, m; out: p, m
        auto* q = static_cast<const plinth_lion_params*>(op.params);
        if (op.num_inputs != 3 || op.num_outputs != 2) return PLINTH_ERR_INVALID_ARGUMENT;
        float *p = ptr(op.outputs[0]), *m = ptr(op.outputs[1]);
        const float* g = ptr(op.inputs[1]);
        for (size_t i = 0; i < n; ++i) {
          const float c = q->beta1 * m[i] + (1 - q->beta1) * g[i];
          p[i] = p[i] - q->lr * q->weight_decay * p[i];
          p[i] -= q->lr * (c > 0 ? 1.0f : c < 0 ? -1.0f : 0.0f);
          m[i] = q->beta2 * m[i] + (1 - q->beta2) * g[i];
        }
        return PLINTH_OK;
      }
      case PLINTH_OP_SGD_STEP: {  // in: p, g; out: p, buf
        auto* q = static_cast<const plinth_sgd_params*>(op.params);
        float* p = ptr(op.outputs[0]);
        float* buf = q->momentum != 0 ? ptr(op.outputs[1]) : nullptr;
        const float* g = ptr(op.inputs[1]);
        for (size_t i = 0; i < n; ++i) {
          float d = g[i] + q->weight_decay * p[i];
          if (buf) {
            buf[i] = q->step == 1 ? d : q->momentum * buf[i] + (1 - q->dampening) * d;
            d = q->nesterov ? d + q->momentum * buf[i] : buf[i];
          }
          p[i] -= q->lr * d;
        }
        return PLINTH_OK;
      }
      default:
        return PLINTH_ERR_UNSUPPORTED;
    }
  }
};

// One parameter with its gradient, state and scratch, all host vectors.
struct param_set {
  std::vector<float> p, g;
  std::vector<std::vector<float>> state, scratch;
  std::vector<plinth_tensor> state_t, scratch_t;
  plinth_optim_param desc{};

  param_set(size_t n, int slots, int scratch_slots, bool decay)
      : p(n), g(n), state(slots), scratch(scratch_slots) {
    for (auto& s : state) s.assign(n, 0.0f);             // the core zero-fills state
    for (auto& s : scratch) s.assign(n, std::nanf(""));  // scratch is garbage
    for (auto& s : state) state_t.push_back(view(s));
    for (auto& s : scratch) scratch_t.push_back(view(s));
    desc.struct_size = PLINTH_OPTIM_PARAM_STRUCT_SIZE;
    desc.name = "w";
    desc.param = view(p);
    desc.grad = view(g);
    desc.state = state_t.data();
    desc.scratch = scratch_t.data();
    desc.apply_weight_decay = decay ? 1 : 0;
  }
};

// Deterministic gradient for element i at step t that also depends on the
// parameter, so the trajectory of p matters.
inline double test_grad(size_t i, int64_t t, double p) {
  return std::sin(0.7 * static_cast<double>(i) + 1.3 * static_cast<double>(t)) * (1.0 + 0.3 * i) + 0.5 * p;
}
inline double test_lr(double base, int64_t t) { return base * (1.0 - 0.05 * static_cast<double>(t)); }
inline double test_init(size_t i) { return 0.5 * std::cos(1.1 * static_cast<double>(i)) + 0.1 * i; }

}  // namespace plinth::test
