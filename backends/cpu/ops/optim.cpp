// optim.cpp — fused optimizer steps on contiguous f32 tensors, following
// PyTorch's documented algorithms (torch.optim.AdamW and torch.optim.SGD,
// single-tensor path, maximize=False, amsgrad=False):
//   AdamW: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//          p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   SGD:   g += wd p; if momentum: buf = (t == 1 ? g : momentum buf +
//          (1 - dampening) g); g = nesterov ? g + momentum buf : buf; p -= lr g
// Element-wise, so any split across threads gives the same bits.
#include <cmath>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

namespace {
bool expect_param(const plinth_tensor& t, const plinth_tensor& ref, const char* what, check& c) {
  if (!expect_dtype(t, PLINTH_DTYPE_F32, what, c) || !expect_contiguous(t, what, c)) return false;
  if (numel(t) != numel(ref))
    return c.bad(std::string(what) + " " + shape_str(t) + " != param " + shape_str(ref));
  return true;
}
}  // namespace

// Inputs: param, grad [, m, v]; outputs: param, m, v (aliasing the inputs).
// With 2 inputs, m and v are read from the outputs.
bool validate_adamw_step(const plinth_op& op, check& c) {
  if (!expect_counts(op, 2, 4, 3, 3, c)) return false;
  if (op.num_inputs == 3) return c.bad("takes 2 (param, grad) or 4 (param, grad, m, v) inputs, got 3");
  const auto* p =
      params_of<plinth_adamw_params>(op, PLINTH_ADAMW_PARAMS_STRUCT_SIZE, "plinth_adamw_params", c);
  if (!p) return false;
  if (p->step < 1) return c.bad("step must be >= 1 (1-based), got " + std::to_string(p->step));
  const plinth_tensor& w = op.inputs[0];
  static const char* in_names[] = {"in[0] param", "in[1] grad", "in[2] m", "in[3] v"};
  static const char* out_names[] = {"out[0] param", "out[1] m", "out[2] v"};
  for (int i = 0; i < op.num_inputs; ++i)
    if (!expect_param(op.inputs[i], w, in_names[i], c)) return false;
  for (int i = 0; i < 3; ++i)
    if (!expect_param(op.outputs[i], w, out_names[i], c)) return false;
  return true;
}

plinth_status run_adamw_step(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_adamw_params*>(op.params);
  const int64_t n = numel(op.inputs[0]);
  const float* pin = data_of<float>(op.inputs[0]);
  const float* g = data_of<float>(op.inputs[1]);
  const float* min = data_of<float>(op.inputs[op.num_inputs == 4 ? 2 : 0]);
  const float* vin = data_of<float>(op.inputs[op.num_inputs == 4 ? 3 : 0]);
  float* pw = data_of<float>(op.outputs[0]);
  float* m = data_of<float>(op.outputs[1]);
  float* v = data_of<float>(op.outputs[2]);
  if (op.num_inputs == 2) min = m, vin = v;
  const double t = double(p->step);
  const double bc1 = 1.0 - std::pow(double(p->beta1), t);
  const double bc2 = 1.0 - std::pow(double(p->beta2), t);
  const float step_size = float(double(p->lr) / bc1);
  const float bc2_sqrt_inv = float(1.0 / std::sqrt(bc2));
  const float decay = 1.0f - p->lr * p->weight_decay;
  parallel_for(ctx, n, 8, [&](int64_t lo, int64_t hi) {
    // Copy into the outputs first when they do not alias the inputs.
    if (pw != pin) std::memcpy(pw + lo, pin + lo, size_t(hi - lo) * 4);
    if (m != min) std::memcpy(m + lo, min + lo, size_t(hi - lo) * 4);
    if (v != vin) std::memcpy(v + lo, vin + lo, size_t(hi - lo) * 4);
    kernels().adamw(hi - lo, pw + lo, g + lo, m + lo, v + lo, decay, p->beta1, p->beta2, step_size,
                    bc2_sqrt_inv, p->eps);
  });
  return PLINTH_OK;
}

// Inputs: param, grad [, momentum buffer]; outputs: param [, momentum buffer].
bool validate_sgd_step(const plinth_op& op, check& c) {
  if (!expect_counts(op, 2, 3, 1, 2, c)) return false;
  const auto* p = params_of<plinth_sgd_params>(op, PLINTH_SGD_PARAMS_STRUCT_SIZE, "plinth_sgd_params", c);
  if (!p) return false;
  if (p->step < 1) return c.bad("step must be >= 1 (1-based), got " + std::to_string(p->step));
  if (p->nesterov && (p->momentum <= 0.0f || p->dampening != 0.0f))
    return c.bad("nesterov needs momentum > 0 and dampening 0 (as torch.optim.SGD)");
  if (p->momentum != 0.0f && op.num_outputs < 2)
    return c.bad("momentum != 0 needs out[1], the momentum buffer");
  const plinth_tensor& w = op.inputs[0];
  static const char* in_names[] = {"in[0] param", "in[1] grad", "in[2] momentum"};
  static const char* out_names[] = {"out[0] param", "out[1] momentum"};
  for (int i = 0; i < op.num_inputs; ++i)
    if (!expect_param(op.inputs[i], w, in_names[i], c)) return false;
  for (int i = 0; i < op.num_outputs; ++i)
    if (!expect_param(op.outputs[i], w, out_names[i], c)) return false;
  return true;
}

plinth_status run_sgd_step(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_sgd_params*>(op.params);
  const int64_t n = numel(op.inputs[0]);
  const float* pin = data_of<float>(op.inputs[0]);
  const float* g = data_of<float>(op.inputs[1]);
  float* pw = data_of<float>(op.outputs[0]);
  const bool use_mom = p->momentum != 0.0f;
  float* buf = use_mom ? data_of<float>(op.outputs[1]) : nullptr;
  const float* bin = use_mom ? (op.num_inputs == 3 ? data_of<float>(op.inputs[2]) : buf) : nullptr;
  const bool first = p->step == 1;
  const float lr = p->lr, wd = p->weight_decay, mom = p->momentum, damp = 1.0f - p->dampening;
  const bool nesterov = p->nesterov != 0;
  parallel_for(ctx, n, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float w = pin[i];
      float d = g[i];
      if (wd != 0.0f) d = d + wd * w;
      if (use_mom) {
        const float b = first ? d : mom * bin[i] + damp * d;
        buf[i] = b;
        d = nesterov ? d + mom * b : b;
      }
      pw[i] = w - lr * d;
    }
  });
  return PLINTH_OK;
}

}  // namespace plinth::cpu
