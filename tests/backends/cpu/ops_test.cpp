// ops_test.cpp — every non-matmul op of the CPU backend against naive
// double-precision references written here, and every backward op against
// central finite differences of those references.
#include <algorithm>
#include <functional>
#include <limits>

#include "harness.hpp"

using namespace plinth::test;

namespace {

constexpr double k_pi = 3.14159265358979323846;

double unary_ref(int fn, double u) {
  switch (fn) {
    case PLINTH_UNARY_IDENTITY:
      return u;
    case PLINTH_UNARY_RELU:
      return u > 0 ? u : 0;
    case PLINTH_UNARY_GELU_TANH:
      return 0.5 * u * (1 + std::tanh(std::sqrt(2 / k_pi) * (u + 0.044715 * u * u * u)));
    case PLINTH_UNARY_TANH:
      return std::tanh(u);
    case PLINTH_UNARY_SIGMOID:
      return 1 / (1 + std::exp(-u));
    case PLINTH_UNARY_EXP:
      return std::exp(u);
    case PLINTH_UNARY_LOG:
      return std::log(u);
    case PLINTH_UNARY_SQRT:
      return std::sqrt(u);
    case PLINTH_UNARY_RSQRT:
      return 1 / std::sqrt(u);
    case PLINTH_UNARY_SQUARE:
      return u * u;
    case PLINTH_UNARY_ABS:
      return std::fabs(u);
    case PLINTH_UNARY_RECIPROCAL:
      return 1 / u;
    case PLINTH_UNARY_GELU_ERF:
      return 0.5 * u * (1 + std::erf(u / std::sqrt(2.0)));
    case PLINTH_UNARY_SILU:
      return u / (1 + std::exp(-u));
    case PLINTH_UNARY_SIGN:
      return u > 0 ? 1 : u < 0 ? -1 : 0;
  }
  return 0;
}

// Functions defined only for positive u get positive inputs.
bool positive_only(int fn) {
  return fn == PLINTH_UNARY_LOG || fn == PLINTH_UNARY_SQRT || fn == PLINTH_UNARY_RSQRT ||
         fn == PLINTH_UNARY_RECIPROCAL;
}

std::vector<float> inputs_for(int fn, int64_t n, uint32_t seed) {  // n values
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-2.0f, 2.0f), pos(0.3f, 3.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) {
    v = positive_only(fn) ? pos(g) : d(g);
    // Keep kinks (relu, abs at 0) away from finite-difference steps.
    if (std::fabs(v) < 0.05f) v = 0.3f;
  }
  return x;
}

}  // namespace

// ---------------------------------------------------------------------------
// FILL / CAST
// ---------------------------------------------------------------------------

TEST(cpu_fill, writes_value_in_every_dtype) {
  backend b(2);
  auto p = params<plinth_fill_params>();
  p.value = 3.5;
  for (plinth_dtype dt : {PLINTH_DTYPE_F32, PLINTH_DTYPE_F64, PLINTH_DTYPE_BF16, PLINTH_DTYPE_F16,
                          PLINTH_DTYPE_I32, PLINTH_DTYPE_I64, PLINTH_DTYPE_U8, PLINTH_DTYPE_U16}) {
    tensor x = b.make({3, 17}, dt);
    ASSERT_EQ(b.run(PLINTH_OP_FILL, {}, {x.t}, &p), PLINTH_OK) << last_error();
    for (int64_t i = 0; i < x.numel(); ++i) {
      switch (dt) {
        case PLINTH_DTYPE_F32:
          EXPECT_EQ(x.f()[i], 3.5f);
          break;
        case PLINTH_DTYPE_F64:
          EXPECT_EQ(x.data<double>()[i], 3.5);
          break;
        case PLINTH_DTYPE_BF16:
          EXPECT_EQ(x.data<uint16_t>()[i], 0x4060);
          break;  // 3.5 = 1.75 * 2^1
        case PLINTH_DTYPE_F16:
          EXPECT_EQ(x.data<uint16_t>()[i], 0x4300);
          break;
        case PLINTH_DTYPE_I32:
          EXPECT_EQ(x.data<int32_t>()[i], 3);
          break;
        case PLINTH_DTYPE_I64:
          EXPECT_EQ(x.data<int64_t>()[i], 3);
          break;
        case PLINTH_DTYPE_U8:
          EXPECT_EQ(x.data<uint8_t>()[i], 3);
          break;
        default:
          EXPECT_EQ(x.data<uint16_t>()[i], 3);
          break;
      }
    }
  }
}

TEST(cpu_fill, strided_view_leaves_gaps_alone) {
  backend b(1);
  tensor x = b.make({4, 6});
  std::fill(x.f(), x.f() + 24, -1.0f);
  plinth_tensor v = x.t;  // columns 0, 2, 4
  v.shape[1] = 3;
  v.strides[1] = 2;
  auto p = params<plinth_fill_params>();
  p.value = 2.0;
  ASSERT_EQ(b.run(PLINTH_OP_FILL, {}, {v}, &p), PLINTH_OK);
  for (int i = 0; i < 24; ++i) EXPECT_EQ(x.f()[i], (i % 2 == 0) ? 2.0f : -1.0f) << i;
}

namespace {
// Nearest value of a format with `mant` fraction bits, min normal exponent
// `emin`, max finite `maxv`, ties to even — computed in double by search.
double round_format(double v, int mant, int emin, double maxv) {
  if (std::isnan(v)) return v;
  const double a = std::fabs(v);
  int e;
  std::frexp(a, &e);  // a = f * 2^e, f in [0.5, 1)
  int exp = std::max(e - 1, emin);
  const double ulp = std::ldexp(1.0, exp - mant);
  double q = std::floor(a / ulp);
  const double rem = a - q * ulp;
  if (rem > ulp / 2 || (rem == ulp / 2 && std::fmod(q, 2.0) == 1.0)) q += 1;
  double r = q * ulp;
  const double limit =
      maxv + std::ldexp(1.0, int(std::log2(maxv)) - mant) / 2;  // halfway to the next binade step
  if (r > maxv || a >= limit) r = INFINITY;
  return std::copysign(r, v);
}
}  // namespace

TEST(cpu_cast, f32_to_bf16_and_f16_round_to_nearest_even) {
  backend b(2);
  std::mt19937 g(7);
  std::vector<float> vals = {0.0f,        -0.0f,    1.0f,     1.00390625f /* bf16 tie */,
                             1.01171875f, 65504.0f, 65519.0f, 65520.0f,
                             1e-5f,       6e-8f,    3e-8f,    2.9802322e-08f,
                             -7.5e-6f,    3.4e38f,  INFINITY, -INFINITY};
  std::uniform_int_distribution<uint32_t> bits(0, 0xffffffffu);
  while (vals.size() < 4099) {
    uint32_t u = bits(g);
    float f;
    std::memcpy(&f, &u, 4);
    if (!std::isnan(f)) vals.push_back(f);
  }
  tensor x = b.make({int64_t(vals.size())}, vals);
  tensor hb = b.make({int64_t(vals.size())}, PLINTH_DTYPE_BF16);
  tensor hh = b.make({int64_t(vals.size())}, PLINTH_DTYPE_F16);
  ASSERT_EQ(b.run(PLINTH_OP_CAST, {x.t}, {hb.t}), PLINTH_OK) << last_error();
  ASSERT_EQ(b.run(PLINTH_OP_CAST, {x.t}, {hh.t}), PLINTH_OK) << last_error();
  // Back to f32 through the backend, compared with the double-rounded value.
  tensor rb = b.make({int64_t(vals.size())}), rh = b.make({int64_t(vals.size())});
  ASSERT_EQ(b.run(PLINTH_OP_CAST, {hb.t}, {rb.t}), PLINTH_OK);
  ASSERT_EQ(b.run(PLINTH_OP_CAST, {hh.t}, {rh.t}), PLINTH_OK);
  for (size_t i = 0; i < vals.size(); ++i) {
    const double v = vals[i];
    const double want_b = round_format(v, 7, -126, 3.3895313892515355e38);
    const double want_h = round_format(v, 10, -14, 65504.0);
    EXPECT_EQ(double(rb.f()[i]), want_b) << "bf16 of " << v;
    EXPECT_EQ(double(rh.f()[i]), want_h) << "f16 of " << v;
  }
}

// The contiguous conversions run vector kernels (AVX-512 / AVX2 / x86-64,
// PLINTH_CPU_ISA picks one) and strided ones the scalar code: both must give
// the reference's bits over a sweep of f32 bit patterns that covers
// subnormals, the f16 overflow edge, infinities and NaNs (a NaN must stay a
// NaN of the same sign).
TEST(cpu_cast, contiguous_and_strided_f32_to_bf16_and_f16_agree_with_the_reference) {
  backend b(2);
  const int64_t n = 1 << 20;
  std::vector<float> vals(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t u = static_cast<uint32_t>(i) * 4099u + static_cast<uint32_t>(i >> 7);  // spreads over 2^32
    std::memcpy(&vals[size_t(i)], &u, 4);
  }
  tensor x = b.make({n}, vals);
  // Strided: the same values at every other element of a 2n buffer.
  std::vector<float> wide(size_t(2 * n), 0.0f);
  for (int64_t i = 0; i < n; ++i) wide[size_t(2 * i)] = vals[size_t(i)];
  tensor xw = b.make({2 * n}, wide);
  plinth_tensor xs = xw.t;
  xs.shape[0] = n;
  xs.strides[0] = 2;
  for (plinth_dtype dt : {PLINTH_DTYPE_BF16, PLINTH_DTYPE_F16}) {
    tensor h = b.make({n}, dt), hs = b.make({n}, dt);
    ASSERT_EQ(b.run(PLINTH_OP_CAST, {x.t}, {h.t}), PLINTH_OK) << last_error();
    ASSERT_EQ(b.run(PLINTH_OP_CAST, {xs}, {hs.t}), PLINTH_OK) << last_error();
    tensor back = b.make({n});
    ASSERT_EQ(b.run(PLINTH_OP_CAST, {h.t}, {back.t}), PLINTH_OK);
    int bad = 0;
    for (int64_t i = 0; i < n && bad < 10; ++i) {
      const uint16_t got = h.data<uint16_t>()[i];
      if (got != hs.data<uint16_t>()[i]) {
        ADD_FAILURE() << "contiguous " << got << " != strided " << hs.data<uint16_t>()[i] << " for "
                      << vals[size_t(i)];
        ++bad;
      }
      const double v = vals[size_t(i)];
      const double r = back.f()[i];
      if (std::isnan(v)) {
        if (!std::isnan(r) || std::signbit(r) != std::signbit(v)) {
          ADD_FAILURE() << "NaN became " << r;
          ++bad;
        }
        continue;
      }
      const double want = dt == PLINTH_DTYPE_BF16 ? round_format(v, 7, -126, 3.3895313892515355e38)
                                                  : round_format(v, 10, -14, 65504.0);
      if (r != want && !(want == 0 && r == 0)) {
        ADD_FAILURE() << (dt == PLINTH_DTYPE_BF16 ? "bf16" : "f16") << " of " << v << ": " << r << ", want "
                      << want;
        ++bad;
      }
    }
  }
}

TEST(cpu_cast, every_f16_value_decodes_exactly) {
  backend b(2);
  tensor h = b.make({65536}, PLINTH_DTYPE_F16);
  for (int i = 0; i < 65536; ++i) h.data<uint16_t>()[i] = uint16_t(i);
  tensor f = b.make({65536});
  ASSERT_EQ(b.run(PLINTH_OP_CAST, {h.t}, {f.t}), PLINTH_OK);
  for (int i = 0; i < 65536; ++i) {
    const int s = i >> 15, e = (i >> 10) & 31, m = i & 1023;
    double want = e == 0 ? std::ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : std::ldexp(1024 + m, e - 25);
    if (s) want = -want;
    if (std::isnan(want))
      EXPECT_TRUE(std::isnan(f.f()[i])) << i;
    else
      EXPECT_EQ(double(f.f()[i]), want) << i;
  }
}

TEST(cpu_cast, integers_and_f64_to_f32_and_back) {
  backend b(1);
  tensor i32 = b.make({5}, PLINTH_DTYPE_I32), i64 = b.make({5}, PLINTH_DTYPE_I64),
         u8 = b.make({5}, PLINTH_DTYPE_U8), u16 = b.make({5}, PLINTH_DTYPE_U16),
         f64 = b.make({5}, PLINTH_DTYPE_F64);
  const int64_t v[5] = {0, 1, 7, 200, 16777217};
  for (int i = 0; i < 5; ++i) {
    i32.data<int32_t>()[i] = int32_t(-v[i]);
    i64.data<int64_t>()[i] = v[i] * 3;
    u8.data<uint8_t>()[i] = uint8_t(v[i] & 0xff);
    u16.data<uint16_t>()[i] = uint16_t(v[i] & 0xffff);
    f64.data<double>()[i] = double(v[i]) + 0.1;
  }
  tensor out = b.make({5});
  ASSERT_EQ(b.run(PLINTH_OP_CAST, {i32.t}, {out.t}), PLINTH_OK);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out.f()[i], float(-v[i]));
  ASSERT_EQ(b.run(PLINTH_OP_CAST, {i64.t}, {out.t}), PLINTH_OK);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out.f()[i], float(v[i] * 3));
  ASSERT_EQ(b.run(PLINTH_OP_CAST, {u8.t}, {out.t}), PLINTH_OK);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out.f()[i], float(v[i] & 0xff));
  ASSERT_EQ(b.run(PLINTH_OP_CAST, {u16.t}, {out.t}), PLINTH_OK);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out.f()[i], float(v[i] & 0xffff));
  ASSERT_EQ(b.run(PLINTH_OP_CAST, {f64.t}, {out.t}), PLINTH_OK);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out.f()[i], float(double(v[i]) + 0.1));
  tensor back = b.make({5}, PLINTH_DTYPE_F64);
  ASSERT_EQ(b.run(PLINTH_OP_CAST, {out.t}, {back.t}), PLINTH_OK);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(back.data<double>()[i], double(out.f()[i]));
  // Not offered: f32 -> i32.
  tensor bad = b.make({5}, PLINTH_DTYPE_I32);
  EXPECT_EQ(b.supports(PLINTH_OP_CAST, {out.t}, {bad.t}), 0);
  EXPECT_EQ(b.run(PLINTH_OP_CAST, {out.t}, {bad.t}), PLINTH_ERR_UNSUPPORTED);
  EXPECT_NE(last_error().find("CAST"), std::string::npos) << last_error();
}

TEST(cpu_cast, copies_a_transposed_view) {
  backend b(2);
  tensor x = b.randn({33, 17}, 3);
  plinth_tensor xt = x.t;  // (17, 33) view
  std::swap(xt.shape[0], xt.shape[1]);
  std::swap(xt.strides[0], xt.strides[1]);
  tensor y = b.make({17, 33});
  ASSERT_EQ(b.run(PLINTH_OP_CAST, {xt}, {y.t}), PLINTH_OK);
  for (int i = 0; i < 17; ++i)
    for (int j = 0; j < 33; ++j) EXPECT_EQ(y.f()[i * 33 + j], x.f()[j * 17 + i]);
}

// ---------------------------------------------------------------------------
// UNARY / UNARY_BACKWARD
// ---------------------------------------------------------------------------

TEST(cpu_unary, every_fn_matches_double_reference) {
  backend b(2);
  for (int fn = 0; fn <= PLINTH_UNARY_SIGN; ++fn) {
    for (int64_t n : {1, 3, 17, 33, 40000}) {
      auto xs = inputs_for(fn, n, uint32_t(fn * 100 + n));
      tensor x = b.make({n}, xs), y = b.make({n});
      auto p = params<plinth_unary_params>();
      p.fn = plinth_unary_fn(fn);
      p.alpha = 0.75f;
      p.beta = positive_only(fn) ? 0.25f : -0.125f;
      ASSERT_EQ(b.run(PLINTH_OP_UNARY, {x.t}, {y.t}, &p), PLINTH_OK) << last_error();
      std::vector<double> want(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i)
        want[size_t(i)] = unary_ref(fn, double(p.alpha) * xs[size_t(i)] + p.beta);
      expect_close(want, y.f(), 2e-6, 1e-6, ("unary fn " + std::to_string(fn)).c_str());
    }
  }
}

TEST(cpu_unary, broadcast_and_strided_input) {
  backend b(2);
  tensor x = b.make({1, 5}, {0.5f, -1.0f, 2.0f, -0.25f, 1.5f});
  tensor y = b.make({3, 5});
  auto p = params<plinth_unary_params>();
  p.fn = PLINTH_UNARY_RELU;
  p.alpha = 2.0f;
  p.beta = 0.0f;
  ASSERT_EQ(b.run(PLINTH_OP_UNARY, {x.t}, {y.t}, &p), PLINTH_OK);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 5; ++c) EXPECT_EQ(y.f()[r * 5 + c], std::max(0.0f, 2.0f * x.f()[c]));
}

TEST(cpu_unary_backward, every_fn_matches_finite_differences) {
  backend b(2);
  for (int fn = 0; fn <= PLINTH_UNARY_SIGN; ++fn) {
    const int64_t n = 37;
    auto xs = inputs_for(fn, n, uint32_t(fn + 5));
    tensor x = b.make({n}, xs), dy = b.randn({n}, uint32_t(fn + 9)), dx = b.make({n});
    auto p = params<plinth_unary_params>();
    p.fn = plinth_unary_fn(fn);
    p.alpha = 1.5f;
    p.beta = positive_only(fn) ? 0.2f : 0.1f;
    ASSERT_EQ(b.run(PLINTH_OP_UNARY_BACKWARD, {dy.t, x.t}, {dx.t}, &p), PLINTH_OK) << last_error();
    std::vector<double> want(static_cast<size_t>(n));
    const double h = 1e-5;
    for (int64_t i = 0; i < n; ++i) {
      auto f = [&](double v) { return unary_ref(fn, double(p.alpha) * v + p.beta); };
      want[size_t(i)] = dy.f()[i] * (f(xs[size_t(i)] + h) - f(xs[size_t(i)] - h)) / (2 * h);
    }
    expect_close(want, dx.f(), 1e-4, 1e-5, ("unary backward fn " + std::to_string(fn)).c_str());
  }
}

// SiLU's contiguous kernel and its strided path run the same operations; far
// out in either tail it stays finite (u below, 0 above the exp clamp).
TEST(cpu_unary, silu_strided_matches_contiguous_bits_and_tails_are_finite) {
  backend b(2);
  const int64_t R = 37, C = 29;
  tensor x = b.randn({R, C}, 7, 4.0f), xt = b.make({C, R});
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < C; ++c) xt.f()[c * R + r] = x.f()[r * C + c];
  x.f()[0] = -200.0f;
  xt.f()[0] = -200.0f;
  x.f()[1] = 200.0f;
  xt.f()[R] = 200.0f;
  plinth_tensor xtv = xt.t;  // (R, C) view of the transposed copy
  xtv.shape[0] = R;
  xtv.shape[1] = C;
  xtv.strides[0] = 1;
  xtv.strides[1] = R;
  tensor y = b.make({R, C}), ys = b.make({R, C}), dy = b.randn({R, C}, 8), dx = b.make({R, C}),
         dxs = b.make({R, C});
  auto p = params<plinth_unary_params>();
  p.fn = PLINTH_UNARY_SILU;
  p.alpha = 1.25f;
  p.beta = 0.5f;
  ASSERT_EQ(b.run(PLINTH_OP_UNARY, {x.t}, {y.t}, &p), PLINTH_OK) << last_error();
  ASSERT_EQ(b.run(PLINTH_OP_UNARY, {xtv}, {ys.t}, &p), PLINTH_OK) << last_error();
  EXPECT_EQ(y.vec(), ys.vec());
  ASSERT_EQ(b.run(PLINTH_OP_UNARY_BACKWARD, {dy.t, x.t}, {dx.t}, &p), PLINTH_OK) << last_error();
  ASSERT_EQ(b.run(PLINTH_OP_UNARY_BACKWARD, {dy.t, xtv}, {dxs.t}, &p), PLINTH_OK) << last_error();
  EXPECT_EQ(dx.vec(), dxs.vec());
  EXPECT_TRUE(std::isfinite(y.f()[0]) && std::fabs(y.f()[0]) < 1e-30f) << y.f()[0];
  EXPECT_EQ(y.f()[1], 1.25f * 200.0f + 0.5f);
  EXPECT_TRUE(std::isfinite(dx.f()[0]) && std::fabs(dx.f()[0]) < 1e-30f) << dx.f()[0];
  EXPECT_EQ(dx.f()[1], dy.f()[1] * 1.25f);
  std::vector<double> want(size_t(R * C));
  for (size_t i = 0; i < want.size(); ++i) want[i] = unary_ref(PLINTH_UNARY_SILU, 1.25 * x.f()[i] + 0.5);
  expect_close(want, y.f(), 2e-6, 1e-6, "silu");
}

// ---------------------------------------------------------------------------
// BINARY / AXPBY
// ---------------------------------------------------------------------------

TEST(cpu_binary, every_fn_with_broadcast_and_beta) {
  backend b(2);
  for (int fn = 0; fn <= PLINTH_BINARY_NE; ++fn) {
    for (auto dims : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {3, 17, 33}, {2, 64, 300}}) {
      const int64_t A = dims[0], B = dims[1], C = dims[2];
      tensor x = b.randn({A, B, C}, 1), yb = b.randn({1, B, 1}, 2);  // y broadcasts over dims 0 and 2
      for (int64_t i = 0; i < yb.numel(); ++i) yb.f()[i] += yb.f()[i] >= 0 ? 0.5f : -0.5f;  // keep DIV tame
      for (float beta : {0.0f, 0.5f}) {
        tensor out = b.randn({A, B, C}, 3);
        std::vector<double> old(out.f(), out.f() + out.numel());
        auto p = params<plinth_binary_params>();
        p.fn = plinth_binary_fn(fn);
        p.beta = beta;
        ASSERT_EQ(b.run(PLINTH_OP_BINARY, {x.t, yb.t}, {out.t}, &p), PLINTH_OK) << last_error();
        std::vector<double> want(static_cast<size_t>(out.numel()));
        for (int64_t i = 0; i < A; ++i)
          for (int64_t j = 0; j < B; ++j)
            for (int64_t k = 0; k < C; ++k) {
              const size_t o = size_t((i * B + j) * C + k);
              const double u = x.f()[o], v = yb.f()[j];
              double r = fn == 0    ? u + v
                         : fn == 1  ? u - v
                         : fn == 2  ? u * v
                         : fn == 3  ? u / v
                         : fn == 4  ? std::max(u, v)
                         : fn == 5  ? std::min(u, v)
                         : fn == 6  ? double(u > v)
                         : fn == 7  ? double(u >= v)
                         : fn == 8  ? double(u < v)
                         : fn == 9  ? double(u <= v)
                         : fn == 10 ? double(u == v)
                                    : double(u != v);
              want[o] = beta * old[o] + r;
            }
        expect_close(want, out.f(), 1e-6, 1e-6, ("binary fn " + std::to_string(fn)).c_str());
      }
    }
  }
}

// The comparisons on ties and NaN (IEEE: every comparison with a NaN is
// false but NE), and MAX/MIN propagating NaN, as torch.maximum/minimum.
TEST(cpu_binary, comparisons_on_ties_and_nan) {
  backend b(1);
  const float nan = std::nanf("");
  tensor x = b.make({4}, {1.0f, 2.0f, nan, -0.0f}), y = b.make({4}, {1.0f, 3.0f, 0.0f, 0.0f});
  struct want_row {
    plinth_binary_fn fn;
    std::vector<float> r;
  };
  for (const auto& w : std::vector<want_row>{{PLINTH_BINARY_GT, {0, 0, 0, 0}},
                                             {PLINTH_BINARY_GE, {1, 0, 0, 1}},
                                             {PLINTH_BINARY_LT, {0, 1, 0, 0}},
                                             {PLINTH_BINARY_LE, {1, 1, 0, 1}},
                                             {PLINTH_BINARY_EQ, {1, 0, 0, 1}},
                                             {PLINTH_BINARY_NE, {0, 1, 1, 0}}}) {
    tensor out = b.make({4});
    auto p = params<plinth_binary_params>();
    p.fn = w.fn;
    ASSERT_EQ(b.run(PLINTH_OP_BINARY, {x.t, y.t}, {out.t}, &p), PLINTH_OK) << last_error();
    EXPECT_EQ(out.vec(), w.r) << "binary fn " << w.fn;
  }
  for (plinth_binary_fn fn : {PLINTH_BINARY_MAX, PLINTH_BINARY_MIN}) {
    tensor out = b.make({4}), rev = b.make({4});
    auto p = params<plinth_binary_params>();
    p.fn = fn;
    ASSERT_EQ(b.run(PLINTH_OP_BINARY, {x.t, y.t}, {out.t}, &p), PLINTH_OK);
    ASSERT_EQ(b.run(PLINTH_OP_BINARY, {y.t, x.t}, {rev.t}, &p), PLINTH_OK);
    EXPECT_TRUE(std::isnan(out.f()[2]) && std::isnan(rev.f()[2])) << "fn " << fn;
  }
}

// SIGN: -1 / 1, and 0, -0 and NaN pass through (torch.sign); strided views
// give the contiguous kernel's values.
TEST(cpu_unary, sign_of_zero_nan_and_strided) {
  backend b(2);
  const float nan = std::nanf("");
  tensor x = b.make({2, 3}, {-2.5f, 0.0f, 3.0f, -0.0f, nan, 1e-30f}), y = b.make({2, 3});
  auto p = params<plinth_unary_params>();
  p.fn = PLINTH_UNARY_SIGN;
  p.alpha = 1.0f;
  p.beta = 0.0f;
  ASSERT_EQ(b.run(PLINTH_OP_UNARY, {x.t}, {y.t}, &p), PLINTH_OK) << last_error();
  EXPECT_EQ(y.f()[0], -1.0f);
  EXPECT_EQ(y.f()[1], 0.0f);
  EXPECT_EQ(y.f()[2], 1.0f);
  EXPECT_EQ(y.f()[3], 0.0f);  // -0 + beta 0 is +0: zero either way
  EXPECT_TRUE(std::isnan(y.f()[4]));
  EXPECT_EQ(y.f()[5], 1.0f);
  plinth_tensor xt = x.t;  // (3, 2) transposed view
  xt.shape[0] = 3;
  xt.shape[1] = 2;
  xt.strides[0] = 1;
  xt.strides[1] = 3;
  tensor yt = b.make({3, 2});
  ASSERT_EQ(b.run(PLINTH_OP_UNARY, {xt}, {yt.t}, &p), PLINTH_OK) << last_error();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 2; ++c) {
      const float a = yt.f()[r * 2 + c], e = y.f()[c * 3 + r];
      EXPECT_TRUE(a == e || (std::isnan(a) && std::isnan(e))) << r << "," << c;
    }
}

// ---------------------------------------------------------------------------
// SELECT
// ---------------------------------------------------------------------------

TEST(cpu_select, picks_a_where_cond_is_nonzero_with_broadcast) {
  backend b(2);
  for (int64_t n : {1, 17, 5000}) {
    tensor a = b.randn({3, n}, 1), bb = b.randn({1, n}, 2), c = b.randn({3, 1}, 3), out = b.make({3, n});
    c.f()[0] = 0.0f;
    c.f()[1] = std::nanf("");  // NaN != 0: selects a
    c.f()[2] = -0.0f;          // -0 == 0: selects b
    ASSERT_EQ(b.run(PLINTH_OP_SELECT, {c.t, a.t, bb.t}, {out.t}, nullptr), PLINTH_OK) << last_error();
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(out.f()[r * n + i], r == 1 ? a.f()[r * n + i] : bb.f()[i]) << r << "," << i;
  }
  // cond from a comparison: clip to [-0.5, 0.5] with GT/LT and two SELECTs.
  tensor x = b.randn({999}, 4), hi = b.make({1}, {0.5f}), lo = b.make({1}, {-0.5f}), m = b.make({999}),
         t1 = b.make({999}), t2 = b.make({999});
  plinth_tensor hiv = hi.t, lov = lo.t;
  hiv.shape[0] = lov.shape[0] = 999;
  hiv.strides[0] = lov.strides[0] = 0;
  auto p = params<plinth_binary_params>();
  p.fn = PLINTH_BINARY_GT;
  ASSERT_EQ(b.run(PLINTH_OP_BINARY, {x.t, hiv}, {m.t}, &p), PLINTH_OK);
  ASSERT_EQ(b.run(PLINTH_OP_SELECT, {m.t, hiv, x.t}, {t1.t}, nullptr), PLINTH_OK);
  p.fn = PLINTH_BINARY_LT;
  ASSERT_EQ(b.run(PLINTH_OP_BINARY, {t1.t, lov}, {m.t}, &p), PLINTH_OK);
  ASSERT_EQ(b.run(PLINTH_OP_SELECT, {m.t, lov, t1.t}, {t2.t}, nullptr), PLINTH_OK);
  for (int i = 0; i < 999; ++i) ASSERT_EQ(t2.f()[i], std::clamp(x.f()[i], -0.5f, 0.5f)) << i;
}

TEST(cpu_select, refuses_wrong_counts_dtypes_and_shapes) {
  backend b(1);
  tensor a = b.make({4}), c = b.make({4}), out = b.make({4}), wide = b.make({5});
  tensor ci = b.make({4}, PLINTH_DTYPE_I32);
  EXPECT_NE(b.run(PLINTH_OP_SELECT, {c.t, a.t}, {out.t}, nullptr), PLINTH_OK);
  EXPECT_NE(b.run(PLINTH_OP_SELECT, {ci.t, a.t, a.t}, {out.t}, nullptr), PLINTH_OK);
  EXPECT_NE(b.run(PLINTH_OP_SELECT, {c.t, a.t, wide.t}, {out.t}, nullptr), PLINTH_OK);
  EXPECT_NE(last_error().find("broadcast"), std::string::npos) << last_error();
}

TEST(cpu_binary, stride_zero_input_broadcasts) {
  backend b(1);
  tensor x = b.make({2, 3}, {1, 2, 3, 4, 5, 6}), s = b.make({1}, {10.0f}), out = b.make({2, 3});
  plinth_tensor sv = s.t;  // (2, 3) view of one element
  sv.ndim = 2;
  sv.shape[0] = 2;
  sv.shape[1] = 3;
  sv.strides[0] = sv.strides[1] = 0;
  auto p = params<plinth_binary_params>();
  p.fn = PLINTH_BINARY_MUL;
  ASSERT_EQ(b.run(PLINTH_OP_BINARY, {x.t, sv}, {out.t}, &p), PLINTH_OK);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out.f()[i], 10.0f * (i + 1));
}

TEST(cpu_axpby, matches_reference_and_allows_alias) {
  backend b(2);
  for (int64_t n : {1, 17, 100003}) {
    tensor x = b.randn({n}, 1), y = b.randn({n}, 2);
    std::vector<double> want(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) want[size_t(i)] = 0.5 * x.f()[i] - 2.0 * y.f()[i];
    auto p = params<plinth_axpby_params>();
    p.alpha = 0.5f;
    p.beta = -2.0f;
    ASSERT_EQ(b.run(PLINTH_OP_AXPBY, {x.t, y.t}, {y.t}, &p), PLINTH_OK);  // in[1] aliases out[0]
    expect_close(want, y.f(), 1e-6, 1e-6);
  }
}

// AXPBY's fn (ABI 1.2): every function on the result, contiguous (the vector
// kernels) and broadcast (element by element); a 16-byte ABI 1.1 struct is
// plain AXPBY whatever lies past it.
TEST(cpu_axpby, fn_on_the_result_matches_unary_of_the_sum) {
  backend b(2);
  for (int fn = 0; fn <= PLINTH_UNARY_SIGN; ++fn) {
    for (int64_t n : {1, 33, 20001}) {
      auto xs = inputs_for(fn, n, uint32_t(fn * 7 + n));
      tensor x = b.make({n}, xs), y = b.make({n}, std::vector<float>(size_t(n), 0.25f)), out = b.make({n});
      plinth_axpby_params p{PLINTH_AXPBY_PARAMS_STRUCT_SIZE, 0.75f, 0.5f, plinth_unary_fn(fn)};
      ASSERT_EQ(b.run(PLINTH_OP_AXPBY, {x.t, y.t}, {out.t}, &p), PLINTH_OK) << last_error();
      std::vector<double> want(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) want[size_t(i)] = unary_ref(fn, 0.75 * double(xs[size_t(i)]) + 0.125);
      expect_close(want, out.f(), 2e-6, 1e-6, ("axpby fn " + std::to_string(fn)).c_str());
    }
  }
  tensor x = b.randn({3, 17}, 5), row = b.randn({1, 17}, 6), out = b.make({3, 17});
  plinth_axpby_params p{PLINTH_AXPBY_PARAMS_STRUCT_SIZE, 1.0f, -1.0f, PLINTH_UNARY_SIGN};
  ASSERT_EQ(b.run(PLINTH_OP_AXPBY, {x.t, row.t}, {out.t}, &p), PLINTH_OK) << last_error();
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 17; ++c) {
      const float d = x.f()[r * 17 + c] - row.f()[c];
      EXPECT_EQ(out.f()[r * 17 + c], d > 0 ? 1.0f : d < 0 ? -1.0f : 0.0f) << r << "," << c;
    }
  tensor a = b.make({4}, {1, -2, 3, -4}), z = b.make({4}, {0, 0, 0, 0}), o = b.make({4});
  plinth_axpby_params old{PLINTH_AXPBY_PARAMS_V1_STRUCT_SIZE, 2.0f, 0.0f, PLINTH_UNARY_SIGN};
  ASSERT_EQ(b.run(PLINTH_OP_AXPBY, {a.t, z.t}, {o.t}, &old), PLINTH_OK) << last_error();
  EXPECT_EQ(o.vec(), (std::vector<float>{2, -4, 6, -8}));
  plinth_axpby_params bad{PLINTH_AXPBY_PARAMS_STRUCT_SIZE, 1.0f, 0.0f, plinth_unary_fn(99)};
  EXPECT_NE(b.run(PLINTH_OP_AXPBY, {a.t, z.t}, {o.t}, &bad), PLINTH_OK);
}

// ---------------------------------------------------------------------------
// REDUCE / ARGMAX / SQUARED_NORM / IS_FINITE
// ---------------------------------------------------------------------------

TEST(cpu_reduce, sum_mean_max_min_over_dim_sets_with_beta) {
  backend b(2);
  const int64_t A = 3, B = 17, C = 33;
  tensor x = b.randn({A, B, C}, 11);
  const std::vector<std::array<int64_t, 3>> outs = {{1, B, C}, {A, 1, C}, {A, B, 1}, {1, 1, C},
                                                    {1, B, 1}, {1, 1, 1}, {A, B, C}};
  for (int fn = 0; fn <= PLINTH_REDUCE_MIN; ++fn) {
    for (auto os : outs) {
      for (float beta : {0.0f, 1.0f}) {
        tensor out = b.randn({os[0], os[1], os[2]}, 12);
        std::vector<double> old(out.f(), out.f() + out.numel());
        auto p = params<plinth_reduce_params>();
        p.fn = plinth_reduce_fn(fn);
        p.beta = beta;
        ASSERT_EQ(b.run(PLINTH_OP_REDUCE, {x.t}, {out.t}, &p), PLINTH_OK) << last_error();
        std::vector<double> acc(static_cast<size_t>(out.numel()), fn == 2   ? -INFINITY
                                                                  : fn == 3 ? INFINITY
                                                                            : 0.0);
        for (int64_t i = 0; i < A; ++i)
          for (int64_t j = 0; j < B; ++j)
            for (int64_t k = 0; k < C; ++k) {
              const size_t o = size_t(((os[0] == 1 ? 0 : i) * os[1] + (os[1] == 1 ? 0 : j)) * os[2] +
                                      (os[2] == 1 ? 0 : k));
              const double v = x.f()[(i * B + j) * C + k];
              acc[o] = fn == 2 ? std::max(acc[o], v) : fn == 3 ? std::min(acc[o], v) : acc[o] + v;
            }
        const double count = double(A * B * C) / double(out.numel());
        for (size_t o = 0; o < acc.size(); ++o) acc[o] = beta * old[o] + (fn == 1 ? acc[o] / count : acc[o]);
        expect_close(acc, out.f(), 1e-6, 1e-6, ("reduce fn " + std::to_string(fn)).c_str());
      }
    }
  }
}

TEST(cpu_reduce, large_full_sum_is_accurate) {
  backend b(2);
  tensor x = b.randn({300001}, 5);
  tensor out = b.make({1});
  auto p = params<plinth_reduce_params>();
  p.fn = PLINTH_REDUCE_SUM;
  ASSERT_EQ(b.run(PLINTH_OP_REDUCE, {x.t}, {out.t}, &p), PLINTH_OK);
  double s = 0;
  for (int64_t i = 0; i < x.numel(); ++i) s += x.f()[i];
  EXPECT_NEAR(out.f()[0], s, 1e-4 + 1e-6 * std::fabs(s));
}

TEST(cpu_argmax, first_maximum_wins) {
  backend b(2);
  tensor x = b.make({3, 4}, {1, 5, 5, 2, -1, -2, -3, -0.5f, 0, 0, 0, 0});
  tensor out = b.make({3}, PLINTH_DTYPE_I32);
  ASSERT_EQ(b.run(PLINTH_OP_ARGMAX, {x.t}, {out.t}), PLINTH_OK);
  EXPECT_EQ(out.data<int32_t>()[0], 1);
  EXPECT_EQ(out.data<int32_t>()[1], 3);
  EXPECT_EQ(out.data<int32_t>()[2], 0);
}

TEST(cpu_norm, squared_norm_over_several_inputs_and_is_finite) {
  backend b(2);
  tensor a = b.randn({17}, 1), c = b.randn({300, 333}, 2), out = b.make({1});
  ASSERT_EQ(b.run(PLINTH_OP_SQUARED_NORM, {a.t, c.t}, {out.t}), PLINTH_OK);
  double s = 0;
  for (auto* t : {&a, &c})
    for (int64_t i = 0; i < t->numel(); ++i) s += double(t->f()[i]) * t->f()[i];
  EXPECT_NEAR(out.f()[0], s, 1e-6 * s);
  ASSERT_EQ(b.run(PLINTH_OP_IS_FINITE, {a.t, c.t}, {out.t}), PLINTH_OK);
  EXPECT_EQ(out.f()[0], 1.0f);
  c.f()[54321] = NAN;
  ASSERT_EQ(b.run(PLINTH_OP_IS_FINITE, {a.t, c.t}, {out.t}), PLINTH_OK);
  EXPECT_EQ(out.f()[0], 0.0f);
  c.f()[54321] = -INFINITY;
  ASSERT_EQ(b.run(PLINTH_OP_IS_FINITE, {a.t, c.t}, {out.t}), PLINTH_OK);
  EXPECT_EQ(out.f()[0], 0.0f);
}

// ---------------------------------------------------------------------------
// SOFTMAX / CROSS_ENTROPY
// ---------------------------------------------------------------------------

namespace {
std::vector<double> softmax_ref(const std::vector<double>& x, int64_t N, int64_t C) {
  std::vector<double> y(x.size());
  for (int64_t n = 0; n < N; ++n) {
    double mx = -INFINITY, s = 0;
    for (int64_t c = 0; c < C; ++c) mx = std::max(mx, x[size_t(n * C + c)]);
    for (int64_t c = 0; c < C; ++c) s += std::exp(x[size_t(n * C + c)] - mx);
    for (int64_t c = 0; c < C; ++c) y[size_t(n * C + c)] = std::exp(x[size_t(n * C + c)] - mx) / s;
  }
  return y;
}
std::vector<double> to_d(const tensor& t) { return std::vector<double>(t.f(), t.f() + t.numel()); }

// Central differences of scalar L(x) at every element of x.
std::vector<double> fd_grad(std::vector<double> x, const std::function<double(const std::vector<double>&)>& L,
                            double h = 1e-5) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    x[i] = v + h;
    const double lp = L(x);
    x[i] = v - h;
    const double lm = L(x);
    x[i] = v;
    g[i] = (lp - lm) / (2 * h);
  }
  return g;
}
double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}
}  // namespace

TEST(cpu_softmax, forward_and_backward) {
  backend b(2);
  for (auto [N, C] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 17}, {5, 33}, {64, 1000}}) {
    tensor x = b.randn({N, C}, 1, 3.0f), y = b.make({N, C});
    ASSERT_EQ(b.run(PLINTH_OP_SOFTMAX, {x.t}, {y.t}), PLINTH_OK);
    expect_close(softmax_ref(to_d(x), N, C), y.f(), 1e-5, 1e-7, "softmax");
    if (N * C > 200) continue;
    tensor dy = b.randn({N, C}, 2), dx = b.make({N, C});
    ASSERT_EQ(b.run(PLINTH_OP_SOFTMAX_BACKWARD, {dy.t, y.t}, {dx.t}), PLINTH_OK);
    auto g = to_d(dy);
    auto want = fd_grad(to_d(x), [&](const std::vector<double>& v) { return dot(g, softmax_ref(v, N, C)); });
    expect_close(want, dx.f(), 1e-4, 1e-6, "softmax backward");
  }
}

TEST(cpu_cross_entropy, forward_backward_and_ignore_index) {
  backend b(2);
  const int64_t N = 7, C = 11;
  tensor x = b.randn({N, C}, 3, 2.0f), t = b.make({N}, PLINTH_DTYPE_I32);
  const int32_t tg[N] = {0, 10, 3, -100, 5, 5, 1};
  std::memcpy(t.data<int32_t>(), tg, sizeof tg);
  tensor loss = b.make({N}), probs = b.make({N, C});
  auto p = params<plinth_xent_params>();
  p.ignore_index = -100;
  p.scale = 0.25f;
  ASSERT_EQ(b.run(PLINTH_OP_CROSS_ENTROPY, {x.t, t.t}, {loss.t, probs.t}, &p), PLINTH_OK) << last_error();
  auto loss_ref = [&](const std::vector<double>& v) {
    auto pr = softmax_ref(v, N, C);
    std::vector<double> l(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) l[size_t(n)] = tg[n] == -100 ? 0.0 : -std::log(pr[size_t(n * C + tg[n])]);
    return l;
  };
  expect_close(loss_ref(to_d(x)), loss.f(), 1e-5, 1e-6, "losses");
  expect_close(softmax_ref(to_d(x), N, C), probs.f(), 1e-5, 1e-7, "probs");
  // Backward with per-row dloss, then with the scalar scale.
  tensor dl = b.randn({N}, 4), dx = b.make({N, C});
  ASSERT_EQ(b.run(PLINTH_OP_CROSS_ENTROPY_BACKWARD, {probs.t, t.t, dl.t}, {dx.t}, &p), PLINTH_OK)
      << last_error();
  auto g = to_d(dl);
  expect_close(fd_grad(to_d(x), [&](const std::vector<double>& v) { return dot(g, loss_ref(v)); }), dx.f(),
               1e-4, 1e-6, "xent backward");
  ASSERT_EQ(b.run(PLINTH_OP_CROSS_ENTROPY_BACKWARD, {probs.t, t.t}, {dx.t}, &p), PLINTH_OK);
  std::vector<double> ones(static_cast<size_t>(N), 0.25);
  expect_close(fd_grad(to_d(x), [&](const std::vector<double>& v) { return dot(ones, loss_ref(v)); }), dx.f(),
               1e-4, 1e-6, "xent backward scale");
  // A target outside [0, C) is an error naming the row.
  t.data<int32_t>()[2] = 11;
  EXPECT_EQ(b.run(PLINTH_OP_CROSS_ENTROPY, {x.t, t.t}, {loss.t, probs.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("row 2"), std::string::npos) << last_error();
}

// torch's cross_entropy(label_smoothing = s): (1 - s) nll + s mean_c(-log p_c)
// per row, ignore_index rows 0; backward by finite differences of it.
TEST(cpu_cross_entropy, label_smoothing_loss_and_gradient) {
  backend b(2);
  const int64_t N = 9, C = 13;
  tensor x = b.randn({N, C}, 31, 2.5f), t = b.make({N}, PLINTH_DTYPE_I32);
  const int32_t tg[N] = {0, 12, 3, -1, 5, 5, 1, 7, 11};
  std::memcpy(t.data<int32_t>(), tg, sizeof tg);
  tensor loss = b.make({N}), probs = b.make({N, C});
  for (float s : {0.1f, 0.3f, 0.9f}) {
    SCOPED_TRACE(s);
    auto p = params<plinth_xent_params>();
    p.ignore_index = -1;
    p.scale = 0.5f;
    p.label_smoothing = s;
    ASSERT_EQ(b.run(PLINTH_OP_CROSS_ENTROPY, {x.t, t.t}, {loss.t, probs.t}, &p), PLINTH_OK) << last_error();
    auto loss_ref = [&](const std::vector<double>& v) {
      auto pr = softmax_ref(v, N, C);
      std::vector<double> l(static_cast<size_t>(N));
      for (int64_t n = 0; n < N; ++n) {
        if (tg[n] == -1) continue;
        double smooth = 0;
        for (int64_t c = 0; c < C; ++c) smooth -= std::log(pr[size_t(n * C + c)]) / double(C);
        l[size_t(n)] = -(1.0 - s) * std::log(pr[size_t(n * C + tg[n])]) + double(s) * smooth;
      }
      return l;
    };
    expect_close(loss_ref(to_d(x)), loss.f(), 1e-5, 1e-6, "smoothed losses");
    tensor dl = b.randn({N}, 32), dx = b.make({N, C});
    ASSERT_EQ(b.run(PLINTH_OP_CROSS_ENTROPY_BACKWARD, {probs.t, t.t, dl.t}, {dx.t}, &p), PLINTH_OK)
        << last_error();
    auto g = to_d(dl);
    expect_close(fd_grad(to_d(x), [&](const std::vector<double>& v) { return dot(g, loss_ref(v)); }), dx.f(),
                 1e-4, 1e-6, "smoothed backward");
    ASSERT_EQ(b.run(PLINTH_OP_CROSS_ENTROPY_BACKWARD, {probs.t, t.t}, {dx.t}, &p), PLINTH_OK);
    std::vector<double> half(static_cast<size_t>(N), 0.5);
    expect_close(fd_grad(to_d(x), [&](const std::vector<double>& v) { return dot(half, loss_ref(v)); }),
                 dx.f(), 1e-4, 1e-6, "smoothed backward scale");
    for (int64_t c = 0; c < C; ++c) EXPECT_EQ(dx.f()[3 * C + c], 0.0f) << "ignored row";
  }
}

// An ABI 1.0/1.1 caller's struct ends before label_smoothing: whatever lies
// there is not read. A smoothing outside [0, 1) is refused.
TEST(cpu_cross_entropy, label_smoothing_read_only_when_struct_covers_it) {
  backend b(1);
  const int64_t N = 3, C = 4;
  tensor x = b.randn({N, C}, 41), t = b.make({N}, PLINTH_DTYPE_I32);
  const int32_t tg[N] = {0, 3, 2};
  std::memcpy(t.data<int32_t>(), tg, sizeof tg);
  tensor l0 = b.make({N}), l1 = b.make({N}), probs = b.make({N, C});
  auto p = params<plinth_xent_params>();
  p.ignore_index = -100;
  p.scale = 1.0f;
  ASSERT_EQ(b.run(PLINTH_OP_CROSS_ENTROPY, {x.t, t.t}, {l0.t, probs.t}, &p), PLINTH_OK) << last_error();
  p.struct_size = PLINTH_XENT_PARAMS_V1_STRUCT_SIZE;
  p.label_smoothing = 0.5f;
  ASSERT_EQ(b.run(PLINTH_OP_CROSS_ENTROPY, {x.t, t.t}, {l1.t, probs.t}, &p), PLINTH_OK) << last_error();
  EXPECT_EQ(l0.vec(), l1.vec());
  p.struct_size = PLINTH_XENT_PARAMS_STRUCT_SIZE;
  for (float bad : {1.0f, -0.1f, std::numeric_limits<float>::quiet_NaN()}) {
    p.label_smoothing = bad;
    EXPECT_EQ(b.run(PLINTH_OP_CROSS_ENTROPY, {x.t, t.t}, {l1.t, probs.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
    EXPECT_NE(last_error().find("label_smoothing"), std::string::npos) << last_error();
  }
}

// ---------------------------------------------------------------------------
// LAYERNORM
// ---------------------------------------------------------------------------

namespace {
std::vector<double> layernorm_ref(const std::vector<double>& x, const std::vector<double>& w,
                                  const std::vector<double>& bb, int64_t N, int64_t C, double eps) {
  std::vector<double> y(x.size());
  for (int64_t n = 0; n < N; ++n) {
    double m = 0, v = 0;
    for (int64_t c = 0; c < C; ++c) m += x[size_t(n * C + c)];
    m /= double(C);
    for (int64_t c = 0; c < C; ++c) v += (x[size_t(n * C + c)] - m) * (x[size_t(n * C + c)] - m);
    v /= double(C);
    for (int64_t c = 0; c < C; ++c)
      y[size_t(n * C + c)] = (x[size_t(n * C + c)] - m) / std::sqrt(v + eps) * w[size_t(c)] + bb[size_t(c)];
  }
  return y;
}
}  // namespace

TEST(cpu_layernorm, forward_and_backward_accumulating_dgamma_dbeta) {
  backend b(2);
  // {200, 9}: dgamma and dbeta from several chunks of rows.
  for (auto [N, C] :
       std::vector<std::pair<int64_t, int64_t>>{{1, 3}, {3, 17}, {9, 33}, {200, 9}, {300, 257}}) {
    tensor x = b.randn({N, C}, 1), w = b.randn({C}, 2), bb = b.randn({C}, 3);
    tensor y = b.make({N, C}), mean = b.make({N}), rstd = b.make({N});
    auto p = params<plinth_layernorm_params>();
    p.eps = 1e-5f;
    ASSERT_EQ(b.run(PLINTH_OP_LAYERNORM, {x.t, w.t, bb.t}, {y.t, mean.t, rstd.t}, &p), PLINTH_OK)
        << last_error();
    expect_close(layernorm_ref(to_d(x), to_d(w), to_d(bb), N, C, 1e-5), y.f(), 1e-5, 1e-5, "layernorm");
    if (N * C > 2000) continue;
    tensor dy = b.randn({N, C}, 4), dx = b.make({N, C});
    tensor dw = b.make({C}, std::vector<float>(size_t(C), 0.5f)),
           db = b.make({C}, std::vector<float>(size_t(C), -1.0f));
    ASSERT_EQ(b.run(PLINTH_OP_LAYERNORM_BACKWARD, {dy.t, x.t, w.t, mean.t, rstd.t}, {dx.t, dw.t, db.t}, &p),
              PLINTH_OK)
        << last_error();
    auto g = to_d(dy), xv = to_d(x), wv = to_d(w), bv = to_d(bb);
    expect_close(
        fd_grad(xv,
                [&](const std::vector<double>& v) { return dot(g, layernorm_ref(v, wv, bv, N, C, 1e-5)); }),
        dx.f(), 2e-3, 2e-4, "dx");
    auto dgw = fd_grad(
        wv, [&](const std::vector<double>& v) { return dot(g, layernorm_ref(xv, v, bv, N, C, 1e-5)); });
    auto dgb = fd_grad(
        bv, [&](const std::vector<double>& v) { return dot(g, layernorm_ref(xv, wv, v, N, C, 1e-5)); });
    for (auto& v : dgw) v += 0.5;
    for (auto& v : dgb) v -= 1.0;
    expect_close(dgw, dw.f(), 1e-3, 1e-4, "dgamma");
    expect_close(dgb, db.f(), 1e-4, 1e-5, "dbeta");
  }
}

// Every sum has a fixed order: the same bits for 1, 2 and 3 threads.
TEST(cpu_layernorm, same_bits_for_any_thread_count) {
  const int64_t N = 300, C = 130;
  std::vector<std::vector<float>> outs;
  for (int threads : {1, 2, 3}) {
    backend b(threads);
    tensor x = b.randn({N, C}, 1), w = b.randn({C}, 2), bb = b.randn({C}, 3), dy = b.randn({N, C}, 4);
    tensor y = b.make({N, C}), mean = b.make({N}), rstd = b.make({N}), dx = b.make({N, C});
    tensor dw = b.make({C}, std::vector<float>(size_t(C), 0.f)),
           db = b.make({C}, std::vector<float>(size_t(C), 0.f));
    auto p = params<plinth_layernorm_params>();
    p.eps = 1e-5f;
    ASSERT_EQ(b.run(PLINTH_OP_LAYERNORM, {x.t, w.t, bb.t}, {y.t, mean.t, rstd.t}, &p), PLINTH_OK)
        << last_error();
    ASSERT_EQ(b.run(PLINTH_OP_LAYERNORM_BACKWARD, {dy.t, x.t, w.t, mean.t, rstd.t}, {dx.t, dw.t, db.t}, &p),
              PLINTH_OK)
        << last_error();
    std::vector<float> all = y.vec();
    for (const tensor* t : {&mean, &rstd, &dx, &dw, &db}) {
      auto v = t->vec();
      all.insert(all.end(), v.begin(), v.end());
    }
    outs.push_back(all);
  }
  EXPECT_EQ(outs[0], outs[1]);
  EXPECT_EQ(outs[0], outs[2]);
}

// ---------------------------------------------------------------------------
// EMBEDDING
// ---------------------------------------------------------------------------

TEST(cpu_embedding, gathers_rows_and_scatter_adds_repeats) {
  backend b(2);
  const int64_t V = 10, C = 33;
  tensor table = b.randn({V, C}, 1), ids = b.make({2, 3}, PLINTH_DTYPE_I32);
  const int32_t id[6] = {4, 0, 9, 4, 4, 1};
  std::memcpy(ids.data<int32_t>(), id, sizeof id);
  tensor out = b.make({2, 3, C});
  ASSERT_EQ(b.run(PLINTH_OP_EMBEDDING, {ids.t, table.t}, {out.t}), PLINTH_OK) << last_error();
  for (int i = 0; i < 6; ++i)
    for (int64_t c = 0; c < C; ++c) EXPECT_EQ(out.f()[i * C + c], table.f()[id[i] * C + c]);
  tensor dout = b.randn({2, 3, C}, 2), dt = b.make({V, C}, std::vector<float>(size_t(V * C), 1.0f));
  ASSERT_EQ(b.run(PLINTH_OP_EMBEDDING_BACKWARD, {dout.t, ids.t}, {dt.t}), PLINTH_OK) << last_error();
  std::vector<double> want(static_cast<size_t>(V * C), 1.0);
  for (int i = 0; i < 6; ++i)
    for (int64_t c = 0; c < C; ++c) want[size_t(id[i] * C + c)] += dout.f()[i * C + c];
  expect_close(want, dt.f(), 1e-6, 1e-6, "dtable");
  ids.data<int32_t>()[5] = 10;
  EXPECT_EQ(b.run(PLINTH_OP_EMBEDDING, {ids.t, table.t}, {out.t}), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("EMBEDDING"), std::string::npos);
}

// ---------------------------------------------------------------------------
// ATTENTION
// ---------------------------------------------------------------------------

namespace {
std::vector<double> attention_ref(const std::vector<double>& q, const std::vector<double>& k,
                                  const std::vector<double>& v, int64_t BH, int64_t T, int64_t D,
                                  double scale, bool causal, std::vector<double>* lse = nullptr) {
  std::vector<double> y(q.size(), 0.0);
  if (lse) lse->assign(size_t(BH * T), 0.0);
  for (int64_t bh = 0; bh < BH; ++bh)
    for (int64_t i = 0; i < T; ++i) {
      std::vector<double> s(static_cast<size_t>(T), -INFINITY);
      double mx = -INFINITY;
      for (int64_t j = 0; j < T; ++j) {
        if (causal && j > i) continue;
        double d = 0;
        for (int64_t e = 0; e < D; ++e)
          d += q[size_t((bh * T + i) * D + e)] * k[size_t((bh * T + j) * D + e)];
        s[size_t(j)] = d * scale;
        mx = std::max(mx, s[size_t(j)]);
      }
      double sum = 0;
      for (int64_t j = 0; j < T; ++j) sum += std::exp(s[size_t(j)] - mx);
      if (lse) (*lse)[size_t(bh * T + i)] = mx + std::log(sum);
      for (int64_t j = 0; j < T; ++j)
        for (int64_t e = 0; e < D; ++e)
          y[size_t((bh * T + i) * D + e)] +=
              std::exp(s[size_t(j)] - mx) / sum * v[size_t((bh * T + j) * D + e)];
    }
  return y;
}
}  // namespace

TEST(cpu_attention, forward_and_backward_causal_and_full) {
  backend b(2);
  for (bool causal : {true, false}) {
    const int64_t B = 2, H = 3, T = 5, D = 4;
    tensor q = b.randn({B, H, T, D}, 1), k = b.randn({B, H, T, D}, 2), v = b.randn({B, H, T, D}, 3);
    tensor y = b.make({B, H, T, D}), lse = b.make({B, H, T});
    auto p = params<plinth_attention_params>();
    p.causal = causal;
    p.scale = 0.5f;
    ASSERT_EQ(b.run(PLINTH_OP_ATTENTION, {q.t, k.t, v.t}, {y.t, lse.t}, &p), PLINTH_OK) << last_error();
    std::vector<double> lse_ref;
    auto qv = to_d(q), kv = to_d(k), vv = to_d(v);
    expect_close(attention_ref(qv, kv, vv, B * H, T, D, 0.5, causal, &lse_ref), y.f(), 1e-5, 1e-6, "y");
    expect_close(lse_ref, lse.f(), 1e-5, 1e-6, "lse");
    tensor dy = b.randn({B, H, T, D}, 4), dq = b.make({B, H, T, D}), dk = b.make({B, H, T, D}),
           dv = b.make({B, H, T, D});
    ASSERT_EQ(b.run(PLINTH_OP_ATTENTION_BACKWARD, {dy.t, q.t, k.t, v.t, y.t, lse.t}, {dq.t, dk.t, dv.t}, &p),
              PLINTH_OK)
        << last_error();
    auto g = to_d(dy);
    auto L = [&](int which) {
      return [&, which](const std::vector<double>& x) {
        return dot(g, attention_ref(which == 0 ? x : qv, which == 1 ? x : kv, which == 2 ? x : vv, B * H, T,
                                    D, 0.5, causal));
      };
    };
    expect_close(fd_grad(qv, L(0)), dq.f(), 1e-3, 1e-5, "dq");
    expect_close(fd_grad(kv, L(1)), dk.f(), 1e-3, 1e-5, "dk");
    expect_close(fd_grad(vv, L(2)), dv.f(), 1e-3, 1e-5, "dv");
  }
}

// ---------------------------------------------------------------------------
// Optimizers: PyTorch's documented algorithms, written out in double.
// ---------------------------------------------------------------------------

TEST(cpu_adamw, matches_torch_algorithm_over_steps) {
  backend b(2);
  const int64_t n = 1003;
  tensor w = b.randn({n}, 1), m = b.make({n}, std::vector<float>(size_t(n), 0.0f)),
         v = b.make({n}, std::vector<float>(size_t(n), 0.0f));
  std::vector<double> rw = to_d(w), rm(size_t(n), 0.0), rv(size_t(n), 0.0);
  auto p = params<plinth_adamw_params>();
  p.lr = 1e-2f;
  p.beta1 = 0.9f;
  p.beta2 = 0.999f;
  p.eps = 1e-8f;
  p.weight_decay = 0.1f;
  for (int step = 1; step <= 5; ++step) {
    tensor g = b.randn({n}, uint32_t(10 + step));
    p.step = step;
    ASSERT_EQ(b.run(PLINTH_OP_ADAMW_STEP, {w.t, g.t, m.t, v.t}, {w.t, m.t, v.t}, &p), PLINTH_OK)
        << last_error();
    const double b1 = p.beta1, b2 = p.beta2, lr = p.lr, wd = p.weight_decay, eps = p.eps;
    for (int64_t i = 0; i < n; ++i) {
      const double gi = g.f()[i];
      rw[size_t(i)] *= 1 - lr * wd;
      rm[size_t(i)] = b1 * rm[size_t(i)] + (1 - b1) * gi;
      rv[size_t(i)] = b2 * rv[size_t(i)] + (1 - b2) * gi * gi;
      const double mh = rm[size_t(i)] / (1 - std::pow(b1, step));
      const double vh = rv[size_t(i)] / (1 - std::pow(b2, step));
      rw[size_t(i)] -= lr * mh / (std::sqrt(vh) + eps);
    }
  }
  expect_close(rw, w.f(), 1e-5, 1e-6, "param");
  expect_close(rm, m.f(), 1e-5, 1e-7, "m");
  expect_close(rv, v.f(), 1e-5, 1e-9, "v");
}

// Lion (Chen et al. 2023, Algorithm 2) in double: decoupled decay, the sign
// of the interpolation (sign(0) = 0: zero gradients and state give no step),
// then the momentum update; element-wise, so any thread split agrees.
TEST(cpu_lion, matches_the_paper_algorithm) {
  for (int threads : {1, 2}) {
    backend b(threads);
    const int64_t n = 10007;
    tensor w = b.randn({n}, 1), m = b.make({n}, std::vector<float>(size_t(n), 0.0f));
    std::vector<double> rw = to_d(w), rm(size_t(n), 0.0);
    auto p = params<plinth_lion_params>();
    p.lr = 3e-3f;
    p.beta1 = 0.9f;
    p.beta2 = 0.99f;
    p.weight_decay = 0.5f;
    for (int step = 1; step <= 5; ++step) {
      tensor g = b.randn({n}, uint32_t(30 + step));
      if (step == 1) g.f()[0] = 0.0f;  // u = 0 at step 1: no step for element 0
      ASSERT_EQ(b.run(PLINTH_OP_LION_STEP, {w.t, g.t, m.t}, {w.t, m.t}, &p), PLINTH_OK) << last_error();
      const double b1 = p.beta1, b2 = p.beta2, lr = p.lr, wd = p.weight_decay;
      for (int64_t i = 0; i < n; ++i) {
        const double gi = g.f()[i];
        const double u = b1 * rm[size_t(i)] + (1 - b1) * gi;
        rw[size_t(i)] = rw[size_t(i)] * (1 - lr * wd) - lr * (u > 0 ? 1 : u < 0 ? -1 : 0);
        rm[size_t(i)] = b2 * rm[size_t(i)] + (1 - b2) * gi;
      }
      if (step == 1) {
        EXPECT_FLOAT_EQ(w.f()[0], float(rw[0])) << "sign(0) must be 0";
      }
    }
    expect_close(rw, w.f(), 1e-6, 1e-6, "param");
    expect_close(rm, m.f(), 1e-5, 1e-7, "m");
  }
}

TEST(cpu_lion, refuses_wrong_counts_and_sizes) {
  backend b(1);
  tensor w = b.make({8}), g = b.make({8}), m = b.make({8}), short_m = b.make({7});
  auto p = params<plinth_lion_params>();
  p.lr = 1e-3f;
  p.beta1 = 0.9f;
  p.beta2 = 0.99f;
  EXPECT_NE(b.run(PLINTH_OP_LION_STEP, {w.t, g.t}, {w.t, m.t}, &p), PLINTH_OK);
  EXPECT_NE(b.run(PLINTH_OP_LION_STEP, {w.t, g.t, short_m.t}, {w.t, short_m.t}, &p), PLINTH_OK);
  EXPECT_NE(b.run(PLINTH_OP_LION_STEP, {w.t, g.t, m.t}, {w.t, m.t}, nullptr), PLINTH_OK);
}

TEST(cpu_sgd, matches_torch_algorithm_for_momentum_dampening_nesterov) {
  backend b(1);
  struct cfg {
    float momentum, dampening, wd;
    int nesterov;
  };
  for (cfg c : {cfg{0, 0, 0, 0}, cfg{0.9f, 0, 0.01f, 0}, cfg{0.9f, 0.1f, 0, 0}, cfg{0.8f, 0, 0.05f, 1}}) {
    const int64_t n = 37;
    tensor w = b.randn({n}, 1),
           buf = b.make({n}, std::vector<float>(size_t(n), 123.0f));  // garbage before step 1
    std::vector<double> rw = to_d(w), rb(size_t(n), 0.0);
    auto p = params<plinth_sgd_params>();
    p.lr = 0.1f;
    p.momentum = c.momentum;
    p.dampening = c.dampening;
    p.weight_decay = c.wd;
    p.nesterov = c.nesterov;
    for (int step = 1; step <= 4; ++step) {
      tensor g = b.randn({n}, uint32_t(20 + step));
      p.step = step;
      if (c.momentum != 0)
        ASSERT_EQ(b.run(PLINTH_OP_SGD_STEP, {w.t, g.t}, {w.t, buf.t}, &p), PLINTH_OK) << last_error();
      else
        ASSERT_EQ(b.run(PLINTH_OP_SGD_STEP, {w.t, g.t}, {w.t}, &p), PLINTH_OK) << last_error();
      for (int64_t i = 0; i < n; ++i) {
        double d = double(g.f()[i]) + double(c.wd) * rw[size_t(i)];
        if (c.momentum != 0) {
          rb[size_t(i)] = step == 1 ? d : double(c.momentum) * rb[size_t(i)] + (1 - double(c.dampening)) * d;
          d = c.nesterov ? d + double(c.momentum) * rb[size_t(i)] : rb[size_t(i)];
        }
        rw[size_t(i)] -= double(p.lr) * d;
      }
    }
    expect_close(rw, w.f(), 1e-5, 1e-6, "sgd param");
    if (c.momentum != 0) expect_close(rb, buf.f(), 1e-5, 1e-6, "sgd momentum");
  }
}
