// backend_test.cpp — the CPU backend's table outside the op math: plugin
// descriptor, device properties, buffers and copies, streams/events, error
// paths of malformed launches, determinism across runs, ISA variants and
// thread counts, and the Philox-4x32-10 dropout mask.
#include <cstdlib>

#include "harness.hpp"

using namespace plinth::test;

namespace plinth::cpu {
struct philox_out {
  uint32_t v[4];
};
philox_out philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1);
}  // namespace plinth::cpu

TEST(cpu_plugin, descriptor_names_one_backend_component) {
  const plinth_plugin* p = plinth_plugin_get();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->abi_major, uint32_t(PLINTH_ABI_MAJOR));
  EXPECT_STREQ(p->name, "plinth-backend-cpu");
  ASSERT_EQ(p->num_components, 1u);
  EXPECT_EQ(p->components[0].kind, PLINTH_KIND_BACKEND);
  EXPECT_STREQ(p->components[0].name, "cpu");
  const plinth_backend_v1* t = table();
  EXPECT_EQ(t->struct_size, PLINTH_BACKEND_V1_STRUCT_SIZE);
  std::vector<std::string> keys;
  for (const char* const* k = p->components[0].config_keys; *k; ++k) keys.push_back(*k);
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "device", "threads", "allow_fallback"}));
}

TEST(cpu_device, properties_describe_host_memory) {
  const plinth_backend_v1* t = table();
  int32_t n = 0;
  ASSERT_EQ(t->device_count(&n), PLINTH_OK);
  EXPECT_EQ(n, 1);
  plinth_device_properties p{};
  p.struct_size = PLINTH_DEVICE_PROPERTIES_STRUCT_SIZE;
  ASSERT_EQ(t->device_properties(0, &p), PLINTH_OK);
  EXPECT_EQ(p.memory_kind, PLINTH_MEMORY_HOST);
  EXPECT_EQ(p.host_visible, 1);
  EXPECT_GT(p.compute_units, 0);
  EXPECT_NE(std::string(p.name).find("("), std::string::npos) << p.name;  // "<model> (<ISA>)"
  EXPECT_EQ(t->device_properties(1, &p), PLINTH_ERR_NOT_FOUND);
}

TEST(cpu_device, threads_come_from_config) {
  backend b(3);
  EXPECT_EQ(b.t()->num_threads(b.ctx()), 3);
  plinth_config bad;
  bad.ints["threads"] = -2;
  plinth_backend_ctx* ctx = nullptr;
  EXPECT_EQ(table()->create(fake_host(), &bad, 0, &ctx), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("threads"), std::string::npos);
  EXPECT_EQ(ctx, nullptr);
}

TEST(cpu_buffer, zero_size_alignment_and_bounded_copies) {
  backend b(1);
  const plinth_backend_v1* t = b.t();
  plinth_buffer* z = nullptr;
  ASSERT_EQ(t->buffer_alloc(b.ctx(), 0, &z), PLINTH_OK);
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(t->copy_h2d(b.ctx(), nullptr, z, 0, nullptr, 0), PLINTH_OK);
  t->buffer_free(b.ctx(), z);
  t->buffer_free(b.ctx(), nullptr);
  plinth_buffer *x = nullptr, *y = nullptr;
  ASSERT_EQ(t->buffer_alloc(b.ctx(), 100, &x), PLINTH_OK);
  ASSERT_EQ(t->buffer_alloc(b.ctx(), 100, &y), PLINTH_OK);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t->buffer_host_ptr(b.ctx(), x)) % 64, 0u);
  std::vector<uint8_t> src(100), dst(100);
  for (int i = 0; i < 100; ++i) src[size_t(i)] = uint8_t(i);
  ASSERT_EQ(t->copy_h2d(b.ctx(), nullptr, x, 0, src.data(), 100), PLINTH_OK);
  ASSERT_EQ(t->copy_d2d(b.ctx(), nullptr, y, 10, x, 0, 90), PLINTH_OK);
  ASSERT_EQ(t->copy_d2h(b.ctx(), nullptr, dst.data(), y, 10, 90), PLINTH_OK);
  for (int i = 0; i < 90; ++i) EXPECT_EQ(dst[size_t(i)], i);
  EXPECT_EQ(t->copy_h2d(b.ctx(), nullptr, x, 50, src.data(), 51), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("copy_h2d"), std::string::npos);
  EXPECT_EQ(t->copy_d2d(b.ctx(), nullptr, y, 0, x, 1, 100), PLINTH_ERR_INVALID_ARGUMENT);
  t->buffer_free(b.ctx(), x);
  t->buffer_free(b.ctx(), y);
}

TEST(cpu_stream, streams_and_events_are_valid_and_synchronous) {
  backend b(1);
  const plinth_backend_v1* t = b.t();
  plinth_stream* s = nullptr;
  plinth_event* e = nullptr;
  ASSERT_EQ(t->stream_create(b.ctx(), &s), PLINTH_OK);
  ASSERT_EQ(t->event_create(b.ctx(), &e), PLINTH_OK);
  EXPECT_EQ(t->event_record(b.ctx(), e, s), PLINTH_OK);
  EXPECT_EQ(t->stream_wait_event(b.ctx(), nullptr, e), PLINTH_OK);
  EXPECT_EQ(t->event_synchronize(b.ctx(), e), PLINTH_OK);
  EXPECT_EQ(t->stream_synchronize(b.ctx(), s), PLINTH_OK);
  EXPECT_EQ(t->stream_synchronize(b.ctx(), nullptr), PLINTH_OK);
  t->event_destroy(b.ctx(), e);
  t->stream_destroy(b.ctx(), s);
}

// ---------------------------------------------------------------------------
// Error paths: one message naming the op and the problem; never a crash.
// ---------------------------------------------------------------------------

TEST(cpu_errors, malformed_ops_are_rejected_with_a_message) {
  backend b(1);
  tensor x = b.make({4, 5}), y = b.make({4, 5}), z = b.make({3, 5});
  auto bin = params<plinth_binary_params>();
  bin.fn = PLINTH_BINARY_ADD;
  // Wrong number of inputs.
  EXPECT_EQ(b.run(PLINTH_OP_BINARY, {x.t}, {y.t}, &bin), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("BINARY"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("inputs"), std::string::npos) << last_error();
  // Shape mismatch.
  EXPECT_EQ(b.run(PLINTH_OP_BINARY, {x.t, z.t}, {y.t}, &bin), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("broadcast"), std::string::npos) << last_error();
  EXPECT_EQ(b.supports(PLINTH_OP_BINARY, {x.t, z.t}, {y.t}, &bin), 0);
  // Missing params, short params struct.
  EXPECT_EQ(b.run(PLINTH_OP_BINARY, {x.t, y.t}, {y.t}, nullptr), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("params"), std::string::npos) << last_error();
  bin.struct_size = 4;
  EXPECT_EQ(b.run(PLINTH_OP_BINARY, {x.t, y.t}, {y.t}, &bin), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("struct_size"), std::string::npos) << last_error();
  bin.struct_size = sizeof bin;
  // NULL buffer for a non-empty tensor.
  plinth_tensor nb = x.t;
  nb.buffer = nullptr;
  EXPECT_EQ(b.supports(PLINTH_OP_BINARY, {nb, y.t}, {y.t}, &bin), 1);  // supports() ignores buffers
  EXPECT_EQ(b.run(PLINTH_OP_BINARY, {nb, y.t}, {y.t}, &bin), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("NULL"), std::string::npos) << last_error();
  // A view past the end of its buffer.
  plinth_tensor past = x.t;
  past.offset = 8;
  EXPECT_EQ(b.run(PLINTH_OP_BINARY, {past, y.t}, {y.t}, &bin), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("past the buffer"), std::string::npos) << last_error();
  // Unknown op kind and dtype combinations.
  EXPECT_EQ(b.run(plinth_op_kind(999), {x.t}, {y.t}), PLINTH_ERR_UNSUPPORTED);
  tensor i = b.make({4, 5}, PLINTH_DTYPE_I32);
  EXPECT_EQ(b.supports(PLINTH_OP_BINARY, {i.t, y.t}, {y.t}, &bin), 0);
  EXPECT_EQ(b.run(PLINTH_OP_BINARY, {i.t, y.t}, {y.t}, &bin), PLINTH_ERR_UNSUPPORTED);
  // Bad tensor struct.
  plinth_tensor bad = x.t;
  bad.ndim = 9;
  EXPECT_EQ(b.run(PLINTH_OP_BINARY, {bad, y.t}, {y.t}, &bin), PLINTH_ERR_INVALID_ARGUMENT);
  // NULL op and NULL tensor arrays.
  EXPECT_EQ(b.t()->launch(b.ctx(), nullptr, nullptr), PLINTH_ERR_INVALID_ARGUMENT);
  plinth_op op{};
  op.struct_size = PLINTH_OP_STRUCT_SIZE;
  op.kind = PLINTH_OP_SOFTMAX;
  op.num_inputs = 1;
  op.num_outputs = 1;
  EXPECT_EQ(b.t()->launch(b.ctx(), nullptr, &op), PLINTH_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(b.t()->supports(b.ctx(), &op), 0);
}

TEST(cpu_errors, zero_size_tensors_run_as_no_ops) {
  backend b(2);
  tensor x = b.make({0, 5}), y = b.make({0, 5});
  plinth_tensor nx = x.t, ny = y.t;
  nx.buffer = ny.buffer = nullptr;  // allowed when numel is 0
  auto un = params<plinth_unary_params>();
  un.fn = PLINTH_UNARY_TANH;
  un.alpha = 1;
  EXPECT_EQ(b.run(PLINTH_OP_UNARY, {nx}, {ny}, &un), PLINTH_OK) << last_error();
  EXPECT_EQ(b.run(PLINTH_OP_SOFTMAX, {nx}, {ny}), PLINTH_OK) << last_error();
  tensor s = b.make({1});
  EXPECT_EQ(b.run(PLINTH_OP_SQUARED_NORM, {nx}, {s.t}), PLINTH_OK);
  EXPECT_EQ(s.f()[0], 0.0f);
  auto mm = params<plinth_matmul_params>();
  mm.alpha = 1;
  tensor a = b.make({3, 0}), bb = b.make({0, 4}), c = b.make({3, 4}, std::vector<float>(12, 2.0f));
  mm.beta = 0.5f;
  EXPECT_EQ(b.run(PLINTH_OP_MATMUL, {a.t, bb.t}, {c.t}, &mm), PLINTH_OK) << last_error();
  for (int k = 0; k < 12; ++k) EXPECT_EQ(c.f()[k], 1.0f);  // K = 0: out = beta * out
}

// ---------------------------------------------------------------------------
// Determinism
// ---------------------------------------------------------------------------

namespace {
// A chain of ops on one backend; returns every output's bits.
std::vector<float> run_chain(backend& b) {
  tensor x = b.randn({64, 1000}, 1), w = b.randn({1000}, 2), bb = b.randn({1000}, 3);
  tensor y = b.make({64, 1000}), mean = b.make({64}), rstd = b.make({64}), red = b.make({1, 1000}),
         nrm = b.make({1}), dx = b.make({64, 1000}), dw = b.make({1000}, std::vector<float>(1000, 0.0f)),
         db = b.make({1000}, std::vector<float>(1000, 0.0f)), tot = b.make({1, 1});
  auto ln = params<plinth_layernorm_params>();
  ln.eps = 1e-5f;
  EXPECT_EQ(b.run(PLINTH_OP_LAYERNORM, {x.t, w.t, bb.t}, {y.t, mean.t, rstd.t}, &ln), PLINTH_OK);
  EXPECT_EQ(b.run(PLINTH_OP_LAYERNORM_BACKWARD, {x.t, x.t, w.t, mean.t, rstd.t}, {dx.t, dw.t, db.t}, &ln),
            PLINTH_OK);
  auto r = params<plinth_reduce_params>();
  r.fn = PLINTH_REDUCE_SUM;
  EXPECT_EQ(b.run(PLINTH_OP_REDUCE, {y.t}, {red.t}, &r), PLINTH_OK);
  EXPECT_EQ(b.run(PLINTH_OP_REDUCE, {y.t}, {tot.t}, &r), PLINTH_OK);
  EXPECT_EQ(b.run(PLINTH_OP_SQUARED_NORM, {x.t, y.t}, {nrm.t}), PLINTH_OK);
  std::vector<float> out;
  for (auto* t : {&y, &dx, &dw, &db, &red, &tot, &nrm}) {
    auto v = t->vec();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}
bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}
}  // namespace

TEST(cpu_determinism, same_inputs_give_identical_bits_across_runs_and_thread_counts) {
  backend b2(2);
  const auto first = run_chain(b2);
  EXPECT_TRUE(bitwise_equal(first, run_chain(b2)));
  backend b1(1), b3(3);
  EXPECT_TRUE(bitwise_equal(first, run_chain(b1)));  // fixed chunking: thread count does not matter
  EXPECT_TRUE(bitwise_equal(first, run_chain(b3)));
}

// ---------------------------------------------------------------------------
// Philox-4x32-10 and dropout
// ---------------------------------------------------------------------------

namespace {
// A second, independent Philox-4x32-10 written from the Random123 paper's
// description (round function on a counter array, key schedule by Weyl
// constants), using 128-bit products instead of split 64-bit ones.
std::array<uint32_t, 4> philox_ref(std::array<uint32_t, 4> ctr, std::array<uint32_t, 2> key) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key[0] += 0x9E3779B9u;
      key[1] += 0xBB67AE85u;
    }
    const unsigned __int128 a = (unsigned __int128)0xD2511F53u * ctr[0];
    const unsigned __int128 b = (unsigned __int128)0xCD9E8D57u * ctr[2];
    ctr = {uint32_t(b >> 32) ^ ctr[1] ^ key[0], uint32_t(b), uint32_t(a >> 32) ^ ctr[3] ^ key[1],
           uint32_t(a)};
  }
  return ctr;
}
}  // namespace

TEST(cpu_philox, known_answer_vectors_and_independent_implementation) {
  // Known-answer vectors shipped with Random123 (kat_vectors, philox4x32 R=10).
  struct kat {
    uint32_t c[4], k[2], out[4];
  } kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
      {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
       {0xffffffffu, 0xffffffffu},
       {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
      {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
       {0xa4093822u, 0x299f31d0u},
       {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
  };
  for (const kat& k : kats) {
    auto r = plinth::cpu::philox4x32_10(k.c[0], k.c[1], k.c[2], k.c[3], k.k[0], k.k[1]);
    auto s = philox_ref({k.c[0], k.c[1], k.c[2], k.c[3]}, {k.k[0], k.k[1]});
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(r.v[i], k.out[i]) << "word " << i;
      EXPECT_EQ(s[size_t(i)], k.out[i]) << "reference word " << i;
    }
  }
  std::mt19937 g(1);
  for (int i = 0; i < 1000; ++i) {
    uint32_t c[4] = {uint32_t(g()), uint32_t(g()), uint32_t(g()), uint32_t(g())},
             key[2] = {uint32_t(g()), uint32_t(g())};
    auto r = plinth::cpu::philox4x32_10(c[0], c[1], c[2], c[3], key[0], key[1]);
    auto s = philox_ref({c[0], c[1], c[2], c[3]}, {key[0], key[1]});
    for (int j = 0; j < 4; ++j) ASSERT_EQ(r.v[j], s[size_t(j)]);
  }
}

TEST(cpu_dropout, mask_follows_documented_mapping_and_statistics) {
  backend b(2);
  const int64_t n = 200003;
  tensor x = b.randn({n}, 1), y = b.make({n}), mask = b.make({n}, PLINTH_DTYPE_U8);
  auto p = params<plinth_dropout_params>();
  p.p = 0.3f;
  p.seed = 0x0123456789abcdefull;
  p.offset = (1ull << 32) - 7;  // crosses the low-word boundary
  ASSERT_EQ(b.run(PLINTH_OP_DROPOUT, {x.t}, {y.t, mask.t}, &p), PLINTH_OK) << last_error();
  int64_t kept = 0;
  const float s = 1.0f / (1.0f - p.p);
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t c = p.offset + uint64_t(i);
    auto r = philox_ref({uint32_t(c), uint32_t(c >> 32), 0, 0}, {uint32_t(p.seed), uint32_t(p.seed >> 32)});
    const bool keep = float(r[0] >> 8) * 0x1p-24f >= p.p;
    ASSERT_EQ(mask.data<uint8_t>()[i], keep ? 1 : 0) << i;
    ASSERT_EQ(y.f()[i], keep ? x.f()[i] * s : 0.0f) << i;
    kept += keep;
  }
  // Binomial(n, 0.7): 6 standard deviations is about 1230.
  EXPECT_NEAR(double(kept), 0.7 * double(n), 6 * std::sqrt(n * 0.21));
  // Same seed/offset: same mask. Another offset: a different one.
  tensor y2 = b.make({n}), m2 = b.make({n}, PLINTH_DTYPE_U8);
  ASSERT_EQ(b.run(PLINTH_OP_DROPOUT, {x.t}, {y2.t, m2.t}, &p), PLINTH_OK);
  EXPECT_EQ(std::memcmp(mask.data<uint8_t>(), m2.data<uint8_t>(), size_t(n)), 0);
  p.offset += uint64_t(n);
  ASSERT_EQ(b.run(PLINTH_OP_DROPOUT, {x.t}, {y2.t, m2.t}, &p), PLINTH_OK);
  EXPECT_NE(std::memcmp(mask.data<uint8_t>(), m2.data<uint8_t>(), size_t(n)), 0);
  p.offset -= uint64_t(n);
  // Backward, regenerated and from the stored mask, matches the forward mask.
  tensor dy = b.randn({n}, 2), dx = b.make({n}), dx2 = b.make({n});
  ASSERT_EQ(b.run(PLINTH_OP_DROPOUT_BACKWARD, {dy.t}, {dx.t}, &p), PLINTH_OK);
  ASSERT_EQ(b.run(PLINTH_OP_DROPOUT_BACKWARD, {dy.t, mask.t}, {dx2.t}, &p), PLINTH_OK);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(dx.f()[i], mask.data<uint8_t>()[i] ? dy.f()[i] * s : 0.0f);
    ASSERT_EQ(dx.f()[i], dx2.f()[i]);
  }
  p.p = 1.0f;
  EXPECT_EQ(b.run(PLINTH_OP_DROPOUT, {x.t}, {y.t}, &p), PLINTH_ERR_INVALID_ARGUMENT);
}
