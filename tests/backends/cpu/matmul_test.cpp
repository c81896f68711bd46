// matmul_test.cpp — MATMUL against a naive double-precision loop: every
// transpose combination, odd sizes, batch dims with broadcasting (size 1 and
// stride 0), alpha, beta, bias, and bf16/f16 inputs with f32 output; and
// every way run_matmul can compute a product (matmul_path), forced in turn.
#include "../../../backends/cpu/cpu_backend.hpp"
#include "harness.hpp"

using namespace plinth::test;

namespace {

// Element (m, k) of op(A) for a row-major (.., rows, cols) matrix slab.
struct mat {
  const float* p;
  int64_t rows, cols;
  bool trans;
  double at(int64_t r, int64_t c) const { return trans ? p[c * cols + r] : p[r * cols + c]; }
};

// alpha op(A) op(B) + beta old + bias, in double: the reference of every test here.
std::vector<double> matmul_ref(const mat& a, const mat& b, int64_t M, int64_t N, int64_t K, double alpha,
                               double beta, const std::vector<double>& old, const float* bias) {
  std::vector<double> want(static_cast<size_t>(M * N));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t k = 0; k < K; ++k) s += a.at(m, k) * b.at(k, n);
      want[size_t(m * N + n)] =
          alpha * s + (beta != 0.0 ? beta * old[size_t(m * N + n)] : 0.0) + (bias ? double(bias[n]) : 0.0);
    }
  return want;
}

uint16_t to_bf16(float f) {  // truncation is fine for making inputs: they are exact bf16 values
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return uint16_t(u >> 16);
}
float from_bf16(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

TEST(cpu_matmul, all_transposes_alpha_beta_bias_odd_sizes) {
  backend b(2);
  for (auto [M, K, N] :
       std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {3, 17, 33}, {33, 3, 17}, {128, 784, 10}}) {
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (int with_bias = 0; with_bias < 2; ++with_bias) {
          tensor A = ta ? b.randn({K, M}, 1) : b.randn({M, K}, 1);
          tensor B = tb ? b.randn({N, K}, 2) : b.randn({K, N}, 2);
          tensor bias = b.randn({N}, 3), C = b.randn({M, N}, 4);
          std::vector<double> old(C.f(), C.f() + C.numel());
          auto p = params<plinth_matmul_params>();
          p.trans_a = ta;
          p.trans_b = tb;
          p.alpha = 0.5f;
          p.beta = with_bias ? 0.25f : 0.0f;
          std::vector<plinth_tensor> ins = {A.t, B.t};
          if (with_bias) ins.push_back(bias.t);
          ASSERT_EQ(b.supports(PLINTH_OP_MATMUL, ins, {C.t}, &p), 1);
          ASSERT_EQ(b.run(PLINTH_OP_MATMUL, ins, {C.t}, &p), PLINTH_OK) << last_error();
          mat a{A.f(), ta ? K : M, ta ? M : K, ta != 0}, bm{B.f(), tb ? N : K, tb ? K : N, tb != 0};
          expect_close(matmul_ref(a, bm, M, N, K, 0.5, p.beta, old, with_bias ? bias.f() : nullptr), C.f(),
                       1e-4, 1e-4, "matmul");
        }
  }
}

TEST(cpu_matmul, batched_with_broadcast_weights_and_stride_zero) {
  backend b(2);
  const int64_t Bt = 3, M = 5, K = 7, N = 9;
  tensor A = b.randn({Bt, M, K}, 1), W = b.randn({K, N}, 2), C = b.make({Bt, M, N});
  auto p = params<plinth_matmul_params>();
  p.alpha = 1;
  ASSERT_EQ(b.run(PLINTH_OP_MATMUL, {A.t, W.t}, {C.t}, &p), PLINTH_OK) << last_error();  // W: 2-d, broadcast
  // Same weights as a (3, K, N) view with batch stride 0.
  plinth_tensor W3 = W.t;
  W3.ndim = 3;
  W3.shape[0] = Bt;
  W3.shape[1] = K;
  W3.shape[2] = N;
  W3.strides[0] = 0;
  W3.strides[1] = N;
  W3.strides[2] = 1;
  tensor C2 = b.make({Bt, M, N});
  ASSERT_EQ(b.run(PLINTH_OP_MATMUL, {A.t, W3}, {C2.t}, &p), PLINTH_OK) << last_error();
  std::vector<double> want(static_cast<size_t>(Bt * M * N));
  for (int64_t i = 0; i < Bt; ++i)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += double(A.f()[(i * M + m) * K + k]) * W.f()[k * N + n];
        want[size_t((i * M + m) * N + n)] = s;
      }
  expect_close(want, C.f(), 1e-5, 1e-5, "batched");
  expect_close(want, C2.f(), 1e-5, 1e-5, "stride-0 batch");
  // Full batch on both sides, transposed B.
  tensor Bb = b.randn({Bt, N, K}, 3), C3 = b.make({Bt, M, N});
  p.trans_b = 1;
  ASSERT_EQ(b.run(PLINTH_OP_MATMUL, {A.t, Bb.t}, {C3.t}, &p), PLINTH_OK) << last_error();
  for (int64_t i = 0; i < Bt; ++i)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += double(A.f()[(i * M + m) * K + k]) * Bb.f()[(i * N + n) * K + k];
        want[size_t((i * M + m) * N + n)] = s;
      }
  expect_close(want, C3.f(), 1e-5, 1e-5, "batched trans_b");
}

TEST(cpu_matmul, bf16_and_f16_inputs_accumulate_in_f32) {
  backend b(2);
  const int64_t M = 17, K = 64, N = 33;
  for (plinth_dtype dt : {PLINTH_DTYPE_BF16, PLINTH_DTYPE_F16}) {
    tensor A32 = b.randn({M, K}, 1), B32 = b.randn({K, N}, 2);
    tensor A = b.make({M, K}, dt), B = b.make({K, N}, dt), C = b.make({M, N});
    // Make inputs exactly representable, then cast through the backend.
    for (auto* t : {&A32, &B32})
      for (int64_t i = 0; i < t->numel(); ++i) t->f()[i] = from_bf16(to_bf16(t->f()[i] * 0.25f));
    ASSERT_EQ(b.run(PLINTH_OP_CAST, {A32.t}, {A.t}), PLINTH_OK);
    ASSERT_EQ(b.run(PLINTH_OP_CAST, {B32.t}, {B.t}), PLINTH_OK);
    auto p = params<plinth_matmul_params>();
    p.alpha = 1;
    ASSERT_EQ(b.supports(PLINTH_OP_MATMUL, {A.t, B.t}, {C.t}, &p), 1);
    ASSERT_EQ(b.run(PLINTH_OP_MATMUL, {A.t, B.t}, {C.t}, &p), PLINTH_OK) << last_error();
    std::vector<double> want(static_cast<size_t>(M * N));
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += double(A32.f()[m * K + k]) * B32.f()[k * N + n];
        want[size_t(m * N + n)] = s;
      }
    expect_close(want, C.f(), 1e-5, 1e-5, dt == PLINTH_DTYPE_BF16 ? "bf16" : "f16");
  }
}

// Each matmul_path (the automatic choice, copying a transposed A, the
// primitive on strided operands, dnnl_sgemm) against a double loop over
// op(A) op(B), for all transposes, M, N, K in {1, 7, 10, 33, 128}, f32 and
// bf16 inputs. Odd combinations get alpha, beta and a bias; with beta = 0 the
// output starts as NaN, which must not leak into the result.
TEST(cpu_matmul, every_path_matches_a_double_reference) {
  struct reset {
    ~reset() { plinth::cpu::set_matmul_path(plinth::cpu::matmul_path::automatic); }
  } restore;
  const std::vector<int64_t> sizes = {1, 7, 10, 33, 128};
  for (plinth_dtype dt : {PLINTH_DTYPE_F32, PLINTH_DTYPE_BF16})
    for (auto path : {plinth::cpu::matmul_path::automatic, plinth::cpu::matmul_path::copy_a,
                      plinth::cpu::matmul_path::primitive, plinth::cpu::matmul_path::sgemm}) {
      plinth::cpu::set_matmul_path(path);
      // Fresh primitive cache and buffers per path; one thread, since an
      // OpenMP team spin-waits through thousands of tiny products on busy
      // cores (the other tests run these ways with two).
      backend b(1);
      int n_case = 0;
      for (int64_t M : sizes)
        for (int64_t N : sizes)
          for (int64_t K : sizes)
            for (int ta = 0; ta < 2; ++ta)
              for (int tb = 0; tb < 2; ++tb) {
                const bool extras = (n_case++ % 2) != 0;
                tensor A32 = ta ? b.randn({K, M}, 1, 0.5f) : b.randn({M, K}, 1, 0.5f);
                tensor B32 = tb ? b.randn({N, K}, 2, 0.5f) : b.randn({K, N}, 2, 0.5f);
                tensor A = A32, B = B32;
                if (dt == PLINTH_DTYPE_BF16) {
                  // Exact bf16 values, so the reference sees what the product does.
                  for (auto* t : {&A32, &B32})
                    for (int64_t i = 0; i < t->numel(); ++i) t->f()[i] = from_bf16(to_bf16(t->f()[i]));
                  A = b.make({A32.t.shape[0], A32.t.shape[1]}, dt);
                  B = b.make({B32.t.shape[0], B32.t.shape[1]}, dt);
                  ASSERT_EQ(b.run(PLINTH_OP_CAST, {A32.t}, {A.t}), PLINTH_OK);
                  ASSERT_EQ(b.run(PLINTH_OP_CAST, {B32.t}, {B.t}), PLINTH_OK);
                }
                tensor bias = b.randn({N}, 3), C = b.randn({M, N}, 4);
                if (!extras)
                  for (int64_t i = 0; i < C.numel(); ++i) C.f()[i] = std::nanf("");
                std::vector<double> old(C.f(), C.f() + C.numel());
                auto p = params<plinth_matmul_params>();
                p.trans_a = ta;
                p.trans_b = tb;
                p.alpha = extras ? 0.5f : 1.0f;
                p.beta = extras ? 0.25f : 0.0f;
                std::vector<plinth_tensor> ins = {A.t, B.t};
                if (extras) ins.push_back(bias.t);
                const std::string what = "path " + std::to_string(int(path)) + " dtype " +
                                         std::to_string(dt) + " M,N,K " + std::to_string(M) + "," +
                                         std::to_string(N) + "," + std::to_string(K) + " ta,tb " +
                                         std::to_string(ta) + std::to_string(tb);
                ASSERT_EQ(b.supports(PLINTH_OP_MATMUL, ins, {C.t}, &p), 1) << what;
                ASSERT_EQ(b.run(PLINTH_OP_MATMUL, ins, {C.t}, &p), PLINTH_OK) << what << ": " << last_error();
                mat a{A32.f(), ta ? K : M, ta ? M : K, ta != 0}, bm{B32.f(), tb ? N : K, tb ? K : N, tb != 0};
                // beta 0 ignores the NaN-filled output entirely.
                expect_close(matmul_ref(a, bm, M, N, K, p.alpha, p.beta, old, extras ? bias.f() : nullptr),
                             C.f(), 1e-4, 1e-4, what.c_str());
                if (HasFailure()) return;
              }
    }
}

TEST(cpu_matmul, rejects_mismatched_shapes_and_dtypes) {
  backend b(1);
  tensor A = b.make({3, 4}), B = b.make({5, 6}), C = b.make({3, 6});
  auto p = params<plinth_matmul_params>();
  p.alpha = 1;
  EXPECT_EQ(b.supports(PLINTH_OP_MATMUL, {A.t, B.t}, {C.t}, &p), 0);
  EXPECT_EQ(b.run(PLINTH_OP_MATMUL, {A.t, B.t}, {C.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("MATMUL"), std::string::npos) << last_error();
  tensor Bi = b.make({4, 6}, PLINTH_DTYPE_I32);
  EXPECT_EQ(b.run(PLINTH_OP_MATMUL, {A.t, Bi.t}, {C.t}, &p), PLINTH_ERR_UNSUPPORTED);
  tensor bias = b.make({5});
  tensor B2 = b.make({4, 6});
  EXPECT_EQ(b.run(PLINTH_OP_MATMUL, {A.t, B2.t, bias.t}, {C.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("bias"), std::string::npos) << last_error();
}
