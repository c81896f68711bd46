// dropout.cpp — DROPOUT / DROPOUT_BACKWARD with a counter-based mask any
// backend can reproduce bit for bit:
//   element i (row-major index into the contiguous tensor) uses one
//   Philox-4x32-10 block with key (k0, k1) = (low 32, high 32 bits of seed)
//   and counter (c0, c1, c2, c3) = (low 32, high 32 bits of offset + i, 0, 0);
//   only output word 0 (v[0]) is used: u = float(v[0] >> 8) * 2^-24 in [0, 1);
//   the element is kept iff u >= p; kept elements become x * s with
//   s = 1.0f / (1.0f - p) computed in f32; dropped ones become 0.
//   The u8 mask (out[1] forward, in[1] backward) holds 1 = kept, 0 = dropped.
#include "../cpu_backend.hpp"

namespace plinth::cpu {

// Philox-4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as
// easy as 1, 2, 3", SC'11): 10 rounds; each round multiplies the two even
// words by M0/M1, mixes the high halves with the key, and bumps the key.
philox_out philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = uint64_t(M0) * c0;
    const uint64_t p1 = uint64_t(M1) * c2;
    const uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
    const uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
    const uint32_t n0 = hi1 ^ c1 ^ k0;
    const uint32_t n1 = lo1;
    const uint32_t n2 = hi0 ^ c3 ^ k1;
    const uint32_t n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += W0;
    k1 += W1;
  }
  return {{c0, c1, c2, c3}};
}

namespace {

inline bool keep(uint64_t seed, uint64_t counter, float p) {
  const philox_out r =
      philox4x32_10(uint32_t(counter), uint32_t(counter >> 32), 0, 0, uint32_t(seed), uint32_t(seed >> 32));
  const float u = float(r.v[0] >> 8) * 0x1p-24f;
  return u >= p;
}

}  // namespace

plinth_status run_dropout(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_dropout_params*>(op.params);
  const int64_t n = numel(op.inputs[0]);
  const float* x = data_of<float>(op.inputs[0]);
  float* y = data_of<float>(op.outputs[0]);
  uint8_t* mask = op.num_outputs == 2 ? data_of<uint8_t>(op.outputs[1]) : nullptr;
  const float s = 1.0f / (1.0f - p->p);
  parallel_for(ctx, n, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const bool k = keep(p->seed, p->offset + uint64_t(i), p->p);
      y[i] = k ? x[i] * s : 0.0f;
      if (mask) mask[i] = k ? 1 : 0;
    }
  });
  return PLINTH_OK;
}

plinth_status run_dropout_backward(plinth_backend_ctx* ctx, const plinth_op& op) {
  const auto* p = static_cast<const plinth_dropout_params*>(op.params);
  const int64_t n = numel(op.inputs[0]);
  const float* g = data_of<float>(op.inputs[0]);
  const uint8_t* mask = op.num_inputs == 2 ? data_of<uint8_t>(op.inputs[1]) : nullptr;
  float* dx = data_of<float>(op.outputs[0]);
  const float s = 1.0f / (1.0f - p->p);
  parallel_for(ctx, n, mask ? 1 : 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const bool k = mask ? mask[i] != 0 : keep(p->seed, p->offset + uint64_t(i), p->p);
      dx[i] = k ? g[i] * s : 0.0f;
    }
  });
  return PLINTH_OK;
}

}  // namespace plinth::cpu
