// attention_test.cpp — ATTENTION and ATTENTION_BACKWARD against a
// double-precision reference written here (softmax attention and its
// analytic gradients), over shapes that take both of the backend's paths
// (per-slice kernels for T <= 512 and D <= 256 with 8 or more slices or
// T <= 64, query rows otherwise), causal or not, with contiguous heads or heads read from
// (and gradients written into) a fused (B, T, 3C) buffer, and the same bits
// for 1, 2 and 3 threads.
#include <algorithm>
#include <cmath>

#include "harness.hpp"

using namespace plinth::test;

namespace {

struct shape {
  int64_t B, H, T, D;
  bool causal, fused;
};

std::ostream& operator<<(std::ostream& o, const shape& s) {
  return o << "B" << s.B << " H" << s.H << " T" << s.T << " D" << s.D << (s.causal ? " causal" : " full")
           << (s.fused ? " fused" : " contiguous");
}

// Row-major (BH, T, D) doubles.
struct ref_out {
  std::vector<double> y, lse, dq, dk, dv;
};

ref_out reference(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v,
                  const std::vector<double>& dy, int64_t BH, int64_t T, int64_t D, double scale,
                  bool causal) {
  ref_out r;
  const size_t n = size_t(BH * T * D);
  r.y.assign(n, 0.0);
  r.dq.assign(n, 0.0);
  r.dk.assign(n, 0.0);
  r.dv.assign(n, 0.0);
  r.lse.assign(size_t(BH * T), 0.0);
  auto at = [&](int64_t bh, int64_t t, int64_t d) { return size_t((bh * T + t) * D + d); };
  std::vector<double> p(static_cast<size_t>(T)), dp(static_cast<size_t>(T));
  for (int64_t bh = 0; bh < BH; ++bh)
    for (int64_t i = 0; i < T; ++i) {
      const int64_t J = causal ? i + 1 : T;
      double mx = -INFINITY;
      for (int64_t j = 0; j < J; ++j) {
        double s = 0;
        for (int64_t d = 0; d < D; ++d) s += q[at(bh, i, d)] * k[at(bh, j, d)];
        p[size_t(j)] = s * scale;
        mx = std::max(mx, p[size_t(j)]);
      }
      double z = 0;
      for (int64_t j = 0; j < J; ++j) z += std::exp(p[size_t(j)] - mx);
      r.lse[size_t(bh * T + i)] = mx + std::log(z);
      for (int64_t j = 0; j < J; ++j) p[size_t(j)] = std::exp(p[size_t(j)] - mx) / z;
      for (int64_t j = 0; j < J; ++j)
        for (int64_t d = 0; d < D; ++d) r.y[at(bh, i, d)] += p[size_t(j)] * v[at(bh, j, d)];
      // dL/dp_j = dy_i . v_j; softmax backward: ds_j = p_j (dp_j - sum_l p_l dp_l).
      double pdp = 0;
      for (int64_t j = 0; j < J; ++j) {
        double s = 0;
        for (int64_t d = 0; d < D; ++d) s += dy[at(bh, i, d)] * v[at(bh, j, d)];
        dp[size_t(j)] = s;
        pdp += p[size_t(j)] * s;
      }
      for (int64_t j = 0; j < J; ++j) {
        const double ds = p[size_t(j)] * (dp[size_t(j)] - pdp) * scale;
        for (int64_t d = 0; d < D; ++d) {
          r.dq[at(bh, i, d)] += ds * k[at(bh, j, d)];
          r.dk[at(bh, j, d)] += ds * q[at(bh, i, d)];
          r.dv[at(bh, j, d)] += p[size_t(j)] * dy[at(bh, i, d)];
        }
      }
    }
  return r;
}

// (B, H, T, D) operands, either contiguous or heads of a fused (B, T, 3 H D)
// buffer (q, k, v at column offsets 0, C, 2C), as the GPT's qkv projection
// lays them out.
struct qkv {
  tensor whole;        // the buffer (fused) or unused
  tensor parts[3];     // contiguous tensors (not fused)
  plinth_tensor t[3];  // the views the op gets
};

qkv make_qkv(backend& b, const shape& s, uint32_t seed, bool random) {
  qkv r;
  const int64_t C = s.H * s.D;
  if (s.fused) {
    r.whole = random ? b.randn({s.B, s.T, 3 * C}, seed) : b.make({s.B, s.T, 3 * C});
    for (int w = 0; w < 3; ++w) {
      plinth_tensor& v = r.t[w];
      v = r.whole.t;
      v.ndim = 4;
      v.shape[0] = s.B;
      v.shape[1] = s.H;
      v.shape[2] = s.T;
      v.shape[3] = s.D;
      v.strides[0] = s.T * 3 * C;
      v.strides[1] = s.D;
      v.strides[2] = 3 * C;
      v.strides[3] = 1;
      v.offset = uint64_t(w * C) * 4;
    }
  } else {
    for (int w = 0; w < 3; ++w) {
      r.parts[w] = random ? b.randn({s.B, s.H, s.T, s.D}, seed + uint32_t(w)) : b.make({s.B, s.H, s.T, s.D});
      r.t[w] = r.parts[w].t;
    }
  }
  return r;
}

// Element (bh, t, d) of a view, as doubles in (BH, T, D) order.
std::vector<double> gather(backend& b, const plinth_tensor& t) {
  const float* base = reinterpret_cast<const float*>(
      static_cast<char*>(b.t()->buffer_host_ptr(nullptr, t.buffer)) + t.offset);
  std::vector<double> out;
  out.reserve(size_t(t.shape[0] * t.shape[1] * t.shape[2] * t.shape[3]));
  for (int64_t x = 0; x < t.shape[0]; ++x)
    for (int64_t h = 0; h < t.shape[1]; ++h)
      for (int64_t i = 0; i < t.shape[2]; ++i)
        for (int64_t d = 0; d < t.shape[3]; ++d)
          out.push_back(base[x * t.strides[0] + h * t.strides[1] + i * t.strides[2] + d]);
  return out;
}

void expect_near_all(const std::vector<double>& want, const std::vector<double>& got, double rtol,
                     double atol, const char* what, const shape& s) {
  ASSERT_EQ(want.size(), got.size());
  int bad = 0;
  for (size_t i = 0; i < want.size() && bad < 5; ++i)
    if (!(std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]))) {
      ADD_FAILURE() << what << " [" << i << "] " << got[i] << " vs " << want[i] << " (" << s << ")";
      ++bad;
    }
}

// The outputs of one forward and backward run, raw, for bit comparisons.
std::vector<float> run_case(int threads, const shape& s, float scale, const ref_out* ref) {
  backend b(threads);
  qkv in = make_qkv(b, s, 11, true);
  tensor dy = b.randn({s.B, s.H, s.T, s.D}, 7);
  tensor y = b.make({s.B, s.H, s.T, s.D}), lse = b.make({s.B, s.H, s.T});
  qkv grads = make_qkv(b, s, 0, false);
  auto p = params<plinth_attention_params>();
  p.causal = s.causal;
  p.scale = scale;
  EXPECT_EQ(b.run(PLINTH_OP_ATTENTION, {in.t[0], in.t[1], in.t[2]}, {y.t, lse.t}, &p), PLINTH_OK)
      << last_error();
  EXPECT_EQ(b.run(PLINTH_OP_ATTENTION_BACKWARD, {dy.t, in.t[0], in.t[1], in.t[2], y.t, lse.t},
                  {grads.t[0], grads.t[1], grads.t[2]}, &p),
            PLINTH_OK)
      << last_error();
  std::vector<float> bits;
  auto add = [&](const std::vector<double>& x) {
    for (double v : x) bits.push_back(float(v));
  };
  const std::vector<double> yv = gather(b, y.t), dq = gather(b, grads.t[0]), dk = gather(b, grads.t[1]),
                            dv = gather(b, grads.t[2]);
  const std::vector<double> lv(lse.f(), lse.f() + lse.numel());
  if (ref) {
    // Tolerances: f32 sums over up to T D terms and a polynomial exp (2e-7).
    expect_near_all(ref->y, yv, 1e-5, 2e-6, "y", s);
    expect_near_all(ref->lse, lv, 1e-6, 2e-6, "lse", s);
    expect_near_all(ref->dq, dq, 1e-4, 1e-5, "dq", s);
    expect_near_all(ref->dk, dk, 1e-4, 1e-5, "dk", s);
    expect_near_all(ref->dv, dv, 1e-4, 1e-5, "dv", s);
  }
  add(yv);
  add(lv);
  add(dq);
  add(dk);
  add(dv);
  return bits;
}

ref_out reference_for(const shape& s, float scale) {
  backend b(1);
  qkv in = make_qkv(b, s, 11, true);
  tensor dy = b.randn({s.B, s.H, s.T, s.D}, 7);
  return reference(gather(b, in.t[0]), gather(b, in.t[1]), gather(b, in.t[2]), gather(b, dy.t), s.B * s.H,
                   s.T, s.D, double(scale), s.causal);
}

void check_shape(const shape& s) {
  const float scale = 1.0f / std::sqrt(float(s.D));
  const ref_out ref = reference_for(s, scale);
  const std::vector<float> one = run_case(1, s, scale, &ref);
  for (int threads : {2, 3}) {
    const std::vector<float> many = run_case(threads, s, scale, nullptr);
    ASSERT_EQ(one.size(), many.size());
    EXPECT_EQ(0, std::memcmp(one.data(), many.data(), one.size() * sizeof(float)))
        << threads << " threads differ from 1 (" << s << ")";
  }
}

}  // namespace

// Slice path: T <= 64 with any number of slices, T = 100 and 20 with 8 slices.
TEST(cpu_attention_kernels, slices_match_the_double_reference_and_thread_counts) {
  for (bool causal : {true, false})
    for (bool fused : {false, true}) {
      for (int64_t T : {1, 7, 64})
        for (int64_t D : {8, 32, 33}) check_shape({2, 3, T, D, causal, fused});
      check_shape({2, 4, 100, 32, causal, fused});
      check_shape({1, 8, 100, 33, causal, fused});
      check_shape({1, 8, 20, 256, causal, fused});
    }
}

// Row path: T = 100 with fewer than 8 slices, T above 512, D above 256.
TEST(cpu_attention_kernels, rows_match_the_double_reference_and_thread_counts) {
  for (bool causal : {true, false})
    for (bool fused : {false, true}) {
      check_shape({1, 3, 100, 32, causal, fused});
      check_shape({2, 1, 100, 8, causal, fused});
    }
  check_shape({1, 1, 520, 8, true, true});
  check_shape({2, 3, 7, 260, true, true});  // D above 256
}

// The char-GPT's shape: 12 sequences of 64 tokens, 4 heads of 32.
TEST(cpu_attention_kernels, char_gpt_shape) { check_shape({12, 4, 64, 32, true, true}); }
