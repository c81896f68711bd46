// optim.cpp — fused optimizer steps on contiguous f32 tensors, following
// PyTorch's documented algorithms (torch.optim.AdamW and torch.optim.SGD,
// single-tensor path, maximize=False, amsgrad=False):
//   AdamW: p *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//          p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   SGD:   g += wd p; if momentum: buf = (t == 1 ? g : momentum buf +
//          (1 - dampening) g); g = nesterov ? g + momentum buf : buf; p -= lr g
// and Lion (Chen et al. 2023, Algorithm 2; lucidrains/lion-pytorch's update):
//   Lion:  p *= 1 - lr*wd; p -= lr * sign(b1 m + (1-b1) g); m = b2 m + (1-b2) g
// Element-wise, so any split across threads gives the same bits.
#include <cmath>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

namespace {}  // namespace

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

plinth_status run_lion_step(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_lion_params*>(op.params);
  const int64_t n = numel(op.inputs[0]);
  const float* pin = data_of<float>(op.inputs[0]);
  const float* g = data_of<float>(op.inputs[1]);
  const float* min = data_of<float>(op.inputs[2]);
  float* pw = data_of<float>(op.outputs[0]);
  float* m = data_of<float>(op.outputs[1]);
  const float decay = 1.0f - p->lr * p->weight_decay;
  parallel_for(ctx, n, 8, [&](int64_t lo, int64_t hi) {
    if (pw != pin) std::memcpy(pw + lo, pin + lo, size_t(hi - lo) * 4);
    if (m != min) std::memcpy(m + lo, min + lo, size_t(hi - lo) * 4);
    kernels().lion(hi - lo, pw + lo, g + lo, m + lo, decay, p->lr, p->beta1, p->beta2);
  });
  return PLINTH_OK;
}

}  // namespace plinth::cpu
