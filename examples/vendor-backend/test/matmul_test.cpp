// matmul_test.cpp — drives the built vendor-matmul library through its
// plugin table (dlopen + plinth_plugin_get, as the core does): MATMUL with
// every trans_a/trans_b combination, alpha, beta, bias and broadcast batch
// dims against a naive double-precision reference; supports() declining
// other ops; launch() of an unsupported op failing with a message; copies
// ordered on the asynchronous queue, copy_h2d snapshotting its source. Exits non-zero on the first mismatch.
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "plinth/backend.h"

namespace {

std::string g_error;
int g_failures = 0;

plinth_status set_error(void*, plinth_status code, const char* msg) {
  g_error = msg ? msg : "";
  return code;
}
void log_msg(void*, plinth_log_level, const char*, const char*) {}

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++g_failures;                                                                 \
    }                                                                               \
  } while (0)

plinth_tensor tensor(plinth_buffer* buf, std::vector<int64_t> shape, std::vector<int64_t> strides = {}) {
  plinth_tensor t{};
  t.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
  t.buffer = buf;
  t.dtype = PLINTH_DTYPE_F32;
  t.ndim = static_cast<int32_t>(shape.size());
  int64_t s = 1;
  for (int d = t.ndim - 1; d >= 0; --d) {
    t.shape[d] = shape[size_t(d)];
    t.strides[d] = strides.empty() ? s : strides[size_t(d)];
    s *= shape[size_t(d)];
  }
  return t;
}

struct device {
  const plinth_backend_v1* be;
  plinth_backend_ctx* ctx;
  plinth_buffer* upload(const std::vector<float>& v) {
    plinth_buffer* b = nullptr;
    CHECK(be->buffer_alloc(ctx, v.size() * 4, &b) == PLINTH_OK);
    CHECK(be->copy_h2d(ctx, nullptr, b, 0, v.data(), v.size() * 4) == PLINTH_OK);  // snapshots v
    return b;
  }
  std::vector<float> download(plinth_buffer* b, size_t n) {
    std::vector<float> v(n);
    CHECK(be->copy_d2h(ctx, nullptr, v.data(), b, 0, n * 4) == PLINTH_OK);
    CHECK(be->stream_synchronize(ctx, nullptr) == PLINTH_OK);  // d2h is asynchronous
    return v;
  }
};

// One case: out (batch, M, N); A stored (batchA, M, K) or (batchA, K, M) when
// transposed, batchA 1 (broadcast) or batch; B likewise; optional bias.
void check_case(device& dev, int64_t batch, int64_t M, int64_t N, int64_t K, bool ta, bool tb, float alpha,
                float beta, bool bias, bool broadcast_b) {
  std::mt19937 rng(static_cast<unsigned>(M * 131 + N * 17 + K + ta * 2 + tb));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int64_t bb = broadcast_b ? 1 : batch;
  std::vector<float> a(static_cast<size_t>(batch * M * K)), b(static_cast<size_t>(bb * K * N)),
      o(static_cast<size_t>(batch * M * N)), c(static_cast<size_t>(N));
  for (auto* v : {&a, &b, &o, &c})
    for (auto& x : *v) x = u(rng);
  plinth_buffer *ba = dev.upload(a), *bbuf = dev.upload(b), *bo = dev.upload(o), *bc = dev.upload(c);
  plinth_tensor ins[3] = {
      tensor(ba, ta ? std::vector<int64_t>{batch, K, M} : std::vector<int64_t>{batch, M, K}),
      tensor(bbuf, tb ? std::vector<int64_t>{bb, N, K} : std::vector<int64_t>{bb, K, N}), tensor(bc, {N})};
  plinth_tensor out = tensor(bo, {batch, M, N});
  plinth_matmul_params p{PLINTH_MATMUL_PARAMS_STRUCT_SIZE, ta, tb, alpha, beta};
  plinth_op op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_MATMUL, bias ? 3 : 2, ins, 1, &out, &p};
  CHECK(dev.be->supports(dev.ctx, &op) == 1);
  CHECK(dev.be->launch(dev.ctx, nullptr, &op) == PLINTH_OK);
  const std::vector<float> got = dev.download(bo, o.size());
  // Reference: the definition in backend.h, summed in double.
  double worst = 0.0;
  for (int64_t q = 0; q < batch; ++q)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double s = 0.0;
        for (int64_t k = 0; k < K; ++k) {
          const double av = ta ? a[size_t((q * K + k) * M + i)] : a[size_t((q * M + i) * K + k)];
          const int64_t qb = broadcast_b ? 0 : q;
          const double bv = tb ? b[size_t((qb * N + j) * K + k)] : b[size_t((qb * K + k) * N + j)];
          s += av * bv;
        }
        double want = alpha * s + beta * double(o[size_t((q * M + i) * N + j)]);
        if (bias) want += c[size_t(j)];
        const double err = std::fabs(want - got[size_t((q * M + i) * N + j)]) / (1.0 + std::fabs(want));
        worst = err > worst ? err : worst;
      }
  if (worst > 1e-5) {
    std::fprintf(stderr, "matmul b=%lld M=%lld N=%lld K=%lld ta=%d tb=%d: relative error %g\n",
                 (long long)batch, (long long)M, (long long)N, (long long)K, ta, tb, worst);
    ++g_failures;
  }
  for (auto* buf : {ba, bbuf, bo, bc}) dev.be->buffer_free(dev.ctx, buf);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <libvendor-matmul.so>\n", argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  auto get = reinterpret_cast<plinth_plugin_get_fn>(dlsym(lib, PLINTH_PLUGIN_GET_SYMBOL));
  CHECK(get != nullptr);
  if (!get) return 1;
  const plinth_plugin* pl = get();
  CHECK(pl->abi_major == PLINTH_ABI_MAJOR && pl->num_components == 1);
  CHECK(std::strcmp(pl->name, "vendor-matmul") == 0);
  const auto* be = static_cast<const plinth_backend_v1*>(pl->components[0].table);
  CHECK(be->struct_size >= PLINTH_BACKEND_V1_MIN_STRUCT_SIZE);

  plinth_host host{};
  host.struct_size = PLINTH_HOST_STRUCT_SIZE;
  host.abi_major = PLINTH_ABI_MAJOR;
  host.abi_minor = PLINTH_ABI_MINOR;
  host.log = log_msg;
  host.set_error = set_error;
  if (pl->init) CHECK(pl->init(&host) == PLINTH_OK);

  plinth_device_properties props{};
  props.struct_size = PLINTH_DEVICE_PROPERTIES_STRUCT_SIZE;
  CHECK(be->device_properties(0, &props) == PLINTH_OK);
  CHECK(props.memory_kind == PLINTH_MEMORY_OTHER && props.host_visible == 1);

  device dev{be, nullptr};
  CHECK(be->create(&host, nullptr, 0, &dev.ctx) == PLINTH_OK);

  // Every trans combination; blocks larger than one tile; alpha/beta/bias;
  // batch with B broadcast; K = 0 (out = beta * out + bias).
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) check_case(dev, 1, 37, 70, 300, ta, tb, 1.0f, 0.0f, false, false);
  check_case(dev, 3, 5, 9, 7, true, false, 0.5f, -2.0f, true, true);
  check_case(dev, 2, 65, 3, 1, false, true, -1.0f, 1.0f, true, false);
  check_case(dev, 1, 4, 6, 0, false, false, 1.0f, 0.25f, true, false);

  // Exactly MATMUL: FILL and an f64 matmul are declined; launching FILL fails
  // with a message instead of aborting.
  plinth_buffer* buf = dev.upload(std::vector<float>(16, 1.0f));
  plinth_tensor t = tensor(buf, {16});
  plinth_fill_params fp{PLINTH_FILL_PARAMS_STRUCT_SIZE, 3.0};
  plinth_op fill{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_FILL, 0, nullptr, 1, &t, &fp};
  CHECK(be->supports(dev.ctx, &fill) == 0);
  g_error.clear();
  CHECK(be->launch(dev.ctx, nullptr, &fill) == PLINTH_ERR_UNSUPPORTED);
  CHECK(g_error.find("vendor-matmul") != std::string::npos);
  plinth_tensor m2[3] = {tensor(buf, {4, 4}), tensor(buf, {4, 4}), tensor(buf, {4, 4})};
  m2[0].dtype = PLINTH_DTYPE_F64;
  plinth_matmul_params mp{PLINTH_MATMUL_PARAMS_STRUCT_SIZE, 0, 0, 1.0f, 0.0f};
  plinth_op f64{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_MATMUL, 2, m2, 1, &m2[2], &mp};
  CHECK(be->supports(dev.ctx, &f64) == 0);

  // Queue order: h2d, d2d, d2h in a row, then one synchronize. The source
  // of h2d is overwritten right after the call: the copy took a snapshot.
  std::vector<float> src(16), expect(16), back(16, 0.0f);
  for (int i = 0; i < 16; ++i) src[size_t(i)] = expect[size_t(i)] = float(i);
  plinth_buffer* buf2 = nullptr;
  CHECK(be->buffer_alloc(dev.ctx, 64, &buf2) == PLINTH_OK);
  CHECK(be->copy_h2d(dev.ctx, nullptr, buf, 0, src.data(), 64) == PLINTH_OK);
  for (float& x : src) x = -1.0f;
  CHECK(be->copy_d2d(dev.ctx, nullptr, buf2, 0, buf, 0, 64) == PLINTH_OK);
  CHECK(be->copy_d2h(dev.ctx, nullptr, back.data(), buf2, 0, 64) == PLINTH_OK);
  CHECK(be->stream_synchronize(dev.ctx, nullptr) == PLINTH_OK);
  CHECK(back == expect);
  CHECK(be->buffer_host_ptr && std::memcmp(be->buffer_host_ptr(dev.ctx, buf2), expect.data(), 64) == 0);
  be->buffer_free(dev.ctx, buf);
  be->buffer_free(dev.ctx, buf2);
  be->destroy(dev.ctx);
  if (pl->shutdown) pl->shutdown();
  dlclose(lib);
  if (g_failures)
    std::fprintf(stderr, "%d check(s) failed\n", g_failures);
  else
    std::printf("vendor-matmul: all checks passed\n");
  return g_failures ? 1 : 0;
}
