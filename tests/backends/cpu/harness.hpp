// harness.hpp — drives the CPU backend through its C table for the tests: a
// fake host (log, set_error, integer config lookups from a map), a backend
// instance, and host-visible tensors. References live in the tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "plinth/backend.h"
#include "plinth/ops.hpp"

extern "C" const plinth_plugin* plinth_plugin_get(void);

// The opaque config, as the fake host understands it.
struct plinth_config {
  std::map<std::string, int64_t> ints;
};

namespace plinth::test {

inline std::string& last_error() {
  static thread_local std::string e;
  return e;
}

inline const plinth_host* fake_host() {
  static plinth_host h = [] {
    plinth_host x{};
    x.struct_size = PLINTH_HOST_STRUCT_SIZE;
    x.abi_major = PLINTH_ABI_MAJOR;
    x.abi_minor = PLINTH_ABI_MINOR;
    x.log = [](void*, plinth_log_level, const char*, const char*) {};
    x.set_error = [](void*, plinth_status code, const char* msg) {
      last_error() = msg;
      return code;
    };
    x.config_get_int = [](void*, const plinth_config* c, const char* key, int64_t* out) {
      if (!c) return PLINTH_ERR_NOT_FOUND;
      auto it = c->ints.find(key);
      if (it == c->ints.end()) return PLINTH_ERR_NOT_FOUND;
      *out = it->second;
      return PLINTH_OK;
    };
    x.config_get_float = [](void*, const plinth_config*, const char*, double*) {
      return PLINTH_ERR_NOT_FOUND;
    };
    x.config_get_bool = [](void*, const plinth_config*, const char*, int32_t*) {
      return PLINTH_ERR_NOT_FOUND;
    };
    x.config_get_string = [](void*, const plinth_config*, const char*, const char**) {
      return PLINTH_ERR_NOT_FOUND;
    };
    x.config_array_size = [](void*, const plinth_config*, const char*, size_t*) {
      return PLINTH_ERR_NOT_FOUND;
    };
    x.config_array_int = [](void*, const plinth_config*, const char*, size_t, int64_t*) {
      return PLINTH_ERR_NOT_FOUND;
    };
    x.config_array_float = [](void*, const plinth_config*, const char*, size_t, double*) {
      return PLINTH_ERR_NOT_FOUND;
    };
    x.config_array_string = [](void*, const plinth_config*, const char*, size_t, const char**) {
      return PLINTH_ERR_NOT_FOUND;
    };
    x.config_get_path = [](void*, const plinth_config*, const char*, const char**) {
      return PLINTH_ERR_NOT_FOUND;
    };
    return x;
  }();
  return &h;
}

inline const plinth_backend_v1* table() {
  const plinth_plugin* p = plinth_plugin_get();
  return static_cast<const plinth_backend_v1*>(p->components[0].table);
}

struct tensor {
  plinth_tensor t{};
  plinth_buffer* buf = nullptr;
  template <class T>
  T* data() const {
    return reinterpret_cast<T*>(static_cast<char*>(table()->buffer_host_ptr(nullptr, buf)) + t.offset);
  }
  float* f() const { return data<float>(); }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < t.ndim; ++i) n *= t.shape[i];
    return n;
  }
  std::vector<float> vec() const { return std::vector<float>(f(), f() + numel()); }
};

inline size_t dsize(plinth_dtype d) { return sdk::dtype_size(d); }

class backend {
 public:
  explicit backend(int threads = 0) {
    plinth_config cfg;
    cfg.ints["threads"] = threads;
    t_ = table();
    EXPECT_EQ(plinth_plugin_get()->init(fake_host()), PLINTH_OK);
    EXPECT_EQ(t_->create(fake_host(), &cfg, 0, &ctx_), PLINTH_OK) << last_error();
  }
  ~backend() {
    for (auto* b : bufs_) t_->buffer_free(ctx_, b);
    t_->destroy(ctx_);
  }
  backend(const backend&) = delete;
  backend& operator=(const backend&) = delete;

  const plinth_backend_v1* t() const { return t_; }
  plinth_backend_ctx* ctx() const { return ctx_; }

  // A contiguous tensor; `extra` bytes of slack are allocated after it.
  tensor make(std::vector<int64_t> shape, plinth_dtype dt = PLINTH_DTYPE_F32) {
    tensor x;
    x.t.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
    x.t.dtype = dt;
    x.t.ndim = int32_t(shape.size());
    int64_t s = 1;
    for (int i = x.t.ndim - 1; i >= 0; --i) {
      x.t.shape[i] = shape[size_t(i)];
      x.t.strides[i] = s;
      s *= shape[size_t(i)];
    }
    EXPECT_EQ(t_->buffer_alloc(ctx_, uint64_t(s) * dsize(dt), &x.buf), PLINTH_OK);
    bufs_.push_back(x.buf);
    x.t.buffer = x.buf;
    return x;
  }
  tensor make(std::vector<int64_t> shape, const std::vector<float>& values) {
    tensor x = make(std::move(shape));
    std::memcpy(x.f(), values.data(), values.size() * 4);
    return x;
  }
  tensor randn(std::vector<int64_t> shape, uint32_t seed, float scale = 1.0f) {
    tensor x = make(std::move(shape));
    std::mt19937 g(seed);
    std::normal_distribution<float> d(0.0f, scale);
    for (int64_t i = 0; i < x.numel(); ++i) x.f()[i] = d(g);
    return x;
  }

  plinth_status run(plinth_op_kind kind, std::vector<plinth_tensor> ins, std::vector<plinth_tensor> outs,
                    const void* params = nullptr) {
    plinth_op op{};
    op.struct_size = PLINTH_OP_STRUCT_SIZE;
    op.kind = kind;
    op.num_inputs = int32_t(ins.size());
    op.inputs = ins.data();
    op.num_outputs = int32_t(outs.size());
    op.outputs = outs.data();
    op.params = params;
    last_error().clear();
    return t_->launch(ctx_, nullptr, &op);
  }
  int32_t supports(plinth_op_kind kind, std::vector<plinth_tensor> ins, std::vector<plinth_tensor> outs,
                   const void* params = nullptr) {
    plinth_op op{};
    op.struct_size = PLINTH_OP_STRUCT_SIZE;
    op.kind = kind;
    op.num_inputs = int32_t(ins.size());
    op.inputs = ins.data();
    op.num_outputs = int32_t(outs.size());
    op.outputs = outs.data();
    op.params = params;
    return t_->supports(ctx_, &op);
  }

 private:
  const plinth_backend_v1* t_ = nullptr;
  plinth_backend_ctx* ctx_ = nullptr;
  std::vector<plinth_buffer*> bufs_;
};

// |got - want| <= atol + rtol |want|, element by element, with the index.
inline void expect_close(const std::vector<double>& want, const float* got, double rtol, double atol,
                         const char* what = "") {
  for (size_t i = 0; i < want.size(); ++i) {
    const double g = got[i], w = want[i];
    if (std::isnan(w)) {
      EXPECT_TRUE(std::isnan(g)) << what << " [" << i << "]";
      continue;
    }
    EXPECT_NEAR(g, w, atol + rtol * std::fabs(w)) << what << " [" << i << "]";
  }
}

template <class P>
P params() {
  P p{};
  p.struct_size = sizeof(P);
  return p;
}

}  // namespace plinth::test
