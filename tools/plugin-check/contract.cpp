// contract.cpp — the API contract checks of plinth-plugin-check: devices,
// instances, buffer sizes and alignment, copies at odd sizes and offsets,
// streams and events, supports() without buffers, four threads at once,
// and (last, since a broken plugin may crash on them) malformed launches.
// Also the dtype conversions shared with ops.cpp. Not here: op numerics.
#include <cstring>
#include <sstream>
#include <thread>

#include "check.hpp"
#include "plinth/ops.hpp"

namespace plinth::plugin_check {

Result<PluginConfig> plugin_config(const toml::table& table) {
  std::ostringstream text;
  text << table;
  return PluginConfig::parse(text.str(), "plinth-plugin-check");
}

const char* op_kind_name(int kind) {
  const char* n = sdk::op_name(kind);
  return n ? n : "?";
}

size_t dtype_bytes(plinth_dtype d) { return sdk::dtype_size(d); }

namespace {

uint16_t f32_to_f16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u, e8 = (x >> 23) & 0xffu;
  uint32_t mant = x & 0x7fffffu;
  if (e8 == 0xff) return uint16_t(sign | 0x7c00u | (mant ? 0x200u : 0));
  const int32_t e = int32_t(e8) - 127 + 15;
  if (e >= 31) return uint16_t(sign | 0x7c00u);
  if (e <= 0) {  // subnormal half
    if (e < -10) return uint16_t(sign);
    mant |= 0x800000u;
    const uint32_t shift = uint32_t(14 - e), h = mant >> shift, rem = mant & ((1u << shift) - 1),
                   half = 1u << (shift - 1);
    return uint16_t(sign | (h + ((rem > half || (rem == half && (h & 1))) ? 1 : 0)));
  }
  uint32_t h = (uint32_t(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;  // a carry into the exponent is right
  return uint16_t(sign | h);
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  uint32_t x;
  if (e == 0) {
    if (m == 0) {
      x = sign;
    } else {  // subnormal: value m * 2^-24
      float v = float(m) * 5.9604644775390625e-8f;
      return sign ? -v : v;
    }
  } else if (e == 31) {
    x = sign | 0x7f800000u | (m << 13);
  } else {
    x = sign | ((e - 15 + 127) << 23) | (m << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

uint16_t f32_to_bf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return uint16_t(x >> 16);
}

float bf16_to_f32(uint16_t h) {
  const uint32_t x = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

template <class T>
T get(const std::vector<uint8_t>& b, size_t i) {
  T v;
  std::memcpy(&v, b.data() + i * sizeof(T), sizeof(T));
  return v;
}
template <class T>
void put(std::vector<uint8_t>& b, size_t i, T v) {
  std::memcpy(b.data() + i * sizeof(T), &v, sizeof(T));
}

}  // namespace

double load_value(const std::vector<uint8_t>& b, plinth_dtype d, size_t i) {
  switch (d) {
    case PLINTH_DTYPE_F32:
      return get<float>(b, i);
    case PLINTH_DTYPE_F16:
      return f16_to_f32(get<uint16_t>(b, i));
    case PLINTH_DTYPE_BF16:
      return bf16_to_f32(get<uint16_t>(b, i));
    case PLINTH_DTYPE_F64:
      return get<double>(b, i);
    case PLINTH_DTYPE_I32:
      return get<int32_t>(b, i);
    case PLINTH_DTYPE_I64:
      return double(get<int64_t>(b, i));
    case PLINTH_DTYPE_U8:
      return get<uint8_t>(b, i);
    case PLINTH_DTYPE_U16:
      return get<uint16_t>(b, i);
    default:
      return 0;
  }
}

void store_value(std::vector<uint8_t>& b, plinth_dtype d, size_t i, double v) {
  switch (d) {
    case PLINTH_DTYPE_F32:
      put<float>(b, i, float(v));
      break;
    case PLINTH_DTYPE_F16:
      put<uint16_t>(b, i, f32_to_f16(float(v)));
      break;
    case PLINTH_DTYPE_BF16:
      put<uint16_t>(b, i, f32_to_bf16(float(v)));
      break;
    case PLINTH_DTYPE_F64:
      put<double>(b, i, v);
      break;
    case PLINTH_DTYPE_I32:
      put<int32_t>(b, i, int32_t(v));
      break;
    case PLINTH_DTYPE_I64:
      put<int64_t>(b, i, int64_t(v));
      break;
    case PLINTH_DTYPE_U8:
      put<uint8_t>(b, i, uint8_t(v));
      break;
    case PLINTH_DTYPE_U16:
      put<uint16_t>(b, i, uint16_t(v));
      break;
    default:
      break;
  }
}

namespace {

// Records checks of one API area.
struct Recorder {
  Rows& out;
  void check(const std::string& area, const std::string& name, bool ok, const std::string& why = {}) {
    out.push_back(CaseResult{"api", area, name, ok ? "pass" : "fail", 0, 0, ok ? std::string() : why});
  }
};

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> b(n);
  for (auto& x : b) x = uint8_t(rng());
  return b;
}

std::string plugin_msg(plinth_status s) {
  return plugin_status(s, "status " + std::to_string(int(s))).message();
}

// Upload, copy device-to-device, download at odd sizes and offsets; true when
// the bytes come back unchanged.
bool round_trip(BackendInstance& be, std::mt19937_64& rng, uint64_t size, uint64_t off_a, uint64_t off_b,
                std::string& why) {
  const auto* t = be.table();
  auto* ctx = be.ctx();
  auto a = be.alloc(size + off_a + 5), b = be.alloc(size + off_b + 3);
  if (!a || !b) {
    why = !a ? a.status().message() : b.status().message();
    return false;
  }
  const auto src = random_bytes(rng, size);
  std::vector<uint8_t> back(size, 0), back_a(size, 0);
  plinth_status s = t->copy_h2d(ctx, nullptr, a->get(), off_a, src.data(), size);
  if (s == PLINTH_OK) s = t->copy_d2d(ctx, nullptr, b->get(), off_b, a->get(), off_a, size);
  if (s == PLINTH_OK) s = t->copy_d2h(ctx, nullptr, back.data(), b->get(), off_b, size);
  if (s == PLINTH_OK) s = t->copy_d2h(ctx, nullptr, back_a.data(), a->get(), off_a, size);
  if (s == PLINTH_OK) s = t->stream_synchronize(ctx, nullptr);
  if (s != PLINTH_OK) {
    why = plugin_msg(s);
    return false;
  }
  if (back != src || back_a != src) {
    why = "bytes differ after h2d/d2d/d2h";
    return false;
  }
  return true;
}

}  // namespace

void run_contract(BackendInstance& be, uint64_t seed, Rows& out) {
  if (!out.begin(0, "api", "the table's contract (devices, buffers, copies, streams, events)")) return;
  Recorder rec{out};
  const auto* t = be.table();
  auto* ctx = be.ctx();
  std::mt19937_64 rng(seed);

  // --- devices
  int32_t count = -1;
  plinth_status s = t->device_count(&count);
  rec.check("device", "device_count >= 1", s == PLINTH_OK && count >= 1, "got " + std::to_string(count));
  for (int32_t i = 0; i < count && s == PLINTH_OK; ++i) {
    plinth_device_properties p{};
    p.struct_size = PLINTH_DEVICE_PROPERTIES_STRUCT_SIZE;
    plinth_status ps = t->device_properties(i, &p);
    const bool named = std::memchr(p.name, '\0', sizeof p.name) != nullptr && p.name[0] != '\0';
    rec.check("device", "device_properties(" + std::to_string(i) + ")", ps == PLINTH_OK && named,
              ps != PLINTH_OK ? plugin_msg(ps) : "name is empty or not NUL-terminated");
  }
  {
    plinth_device_properties p{};
    p.struct_size = PLINTH_DEVICE_PROPERTIES_STRUCT_SIZE;
    rec.check("device", "device_properties(count) is an error", t->device_properties(count, &p) != PLINTH_OK,
              "an index past the last device returned OK");
  }

  // --- a second instance next to the one under test
  {
    plinth_backend_ctx* other = nullptr;
    plinth_status cs = t->create(plugin_host(), nullptr, 0, &other);
    rec.check("instance", "create/destroy a second instance", cs == PLINTH_OK && other, plugin_msg(cs));
    if (cs == PLINTH_OK && other) t->destroy(other);
  }

  // --- buffers
  const bool host_visible = be.properties().host_visible &&
                            PLINTH_HAS_FIELD(t, plinth_backend_v1, buffer_host_ptr) && t->buffer_host_ptr;
  for (uint64_t size : {uint64_t(0), uint64_t(1), uint64_t(64) << 20}) {
    plinth_buffer* b = nullptr;
    plinth_status bs = t->buffer_alloc(ctx, size, &b);
    const std::string n = "buffer_alloc(" + std::to_string(size) + ")";
    rec.check("buffer", n, bs == PLINTH_OK && b, plugin_msg(bs));
    if (bs == PLINTH_OK && b && host_visible && size > 0) {
      const auto addr = reinterpret_cast<uintptr_t>(t->buffer_host_ptr(ctx, b));
      rec.check("buffer", n + " host pointer is 64-byte aligned", addr != 0 && addr % 64 == 0,
                "address " + std::to_string(addr) + " % 64 = " + std::to_string(addr % 64));
    }
    if (bs == PLINTH_OK) t->buffer_free(ctx, b);
  }
  t->buffer_free(ctx, nullptr);
  rec.check("buffer", "buffer_free(NULL) is a no-op", true);

  // --- copies
  struct Trip {
    uint64_t size, off_a, off_b;
  };
  for (Trip tr :
       {Trip{1, 0, 0}, Trip{3, 1, 7}, Trip{1001, 3, 17}, Trip{65537, 13, 1}, Trip{(1u << 20) + 7, 5, 63}}) {
    std::string why;
    const bool ok = round_trip(be, rng, tr.size, tr.off_a, tr.off_b, why);
    rec.check("copy",
              "h2d/d2d/d2h " + std::to_string(tr.size) + " bytes at offsets " + std::to_string(tr.off_a) +
                  "/" + std::to_string(tr.off_b),
              ok, why);
  }

  // --- streams and events: copy on s1, record, s2 waits, d2h on s2 sees the data
  {
    plinth_stream *s1 = nullptr, *s2 = nullptr;
    plinth_event* ev = nullptr;
    std::string why;
    bool ok = false;
    plinth_status es = t->stream_create(ctx, &s1);
    if (es == PLINTH_OK) es = t->stream_create(ctx, &s2);
    if (es == PLINTH_OK) es = t->event_create(ctx, &ev);
    auto buf = be.alloc(4096 + 9);
    if (es == PLINTH_OK && buf) {
      const auto src = random_bytes(rng, 4096);
      std::vector<uint8_t> back(4096, 0);
      es = t->copy_h2d(ctx, s1, buf->get(), 9, src.data(), src.size());
      if (es == PLINTH_OK) es = t->event_record(ctx, ev, s1);
      if (es == PLINTH_OK) es = t->stream_wait_event(ctx, s2, ev);
      if (es == PLINTH_OK) es = t->copy_d2h(ctx, s2, back.data(), buf->get(), 9, back.size());
      if (es == PLINTH_OK) es = t->stream_synchronize(ctx, s2);
      if (es == PLINTH_OK) es = t->event_synchronize(ctx, ev);
      if (es == PLINTH_OK) es = t->stream_synchronize(ctx, s1);
      ok = es == PLINTH_OK && back == src;
      why = es != PLINTH_OK ? plugin_msg(es) : "the second stream read stale bytes";
    } else {
      why = es != PLINTH_OK ? plugin_msg(es) : buf.status().message();
    }
    rec.check("stream", "copy, event_record, stream_wait_event, d2h on another stream", ok, why);
    if (ev) t->event_destroy(ctx, ev);
    if (s2) t->stream_destroy(ctx, s2);
    if (s1) t->stream_destroy(ctx, s1);
  }

  // --- supports() with NULL buffers: same answer twice, no buffer touched
  {
    auto guard_buf = be.alloc(256);
    std::vector<uint8_t> pattern(256, 0xA5), back(256, 0);
    bool ok = guard_buf.ok() && be.upload(*guard_buf, 0, pattern.data(), 256).ok();
    plinth_tensor o{};
    o.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
    o.dtype = PLINTH_DTYPE_F32;
    o.ndim = 1;
    o.shape[0] = 64;
    o.strides[0] = 1;
    plinth_fill_params fp{PLINTH_FILL_PARAMS_STRUCT_SIZE, 1.0};
    plinth_op op{PLINTH_OP_STRUCT_SIZE, PLINTH_OP_FILL, 0, nullptr, 1, &o, &fp};
    const int32_t first = t->supports(ctx, &op), second = t->supports(ctx, &op);
    if (ok) ok = be.download(back.data(), *guard_buf, 0, 256).ok() && back == pattern;
    rec.check("supports", "supports() on a NULL-buffer op is stable and side-effect free",
              ok && first == second,
              first != second ? "two calls gave different answers" : "a buffer changed or could not be read");
  }

  // --- four threads at once, each with its own buffers
  {
    std::vector<std::string> errs(4);
    std::vector<std::thread> th;
    for (int k = 0; k < 4; ++k) {
      th.emplace_back([&, k] {
        std::mt19937_64 r(seed + 100 + k);
        for (int it = 0; it < 25 && errs[k].empty(); ++it) {
          std::string why;
          if (!round_trip(be, r, 1000 + 37 * it + k, it % 7, (it * 3) % 11, why)) errs[k] = why;
        }
      });
    }
    for (auto& x : th) x.join();
    std::string why;
    for (int k = 0; k < 4; ++k)
      if (!errs[k].empty()) why += "thread " + std::to_string(k) + ": " + errs[k] + "; ";
    rec.check("threads", "copies from 4 threads at once", why.empty(), why);
  }
}

void run_error_checks(BackendInstance& be, Rows& out) {
  if (!out.begin(0, "api", "malformed launches")) return;
  Recorder rec{out};
  const auto* t = be.table();
  auto* ctx = be.ctx();
  // Malformed launches must return an error, not crash.
  {
    auto b = be.alloc(4096);
    if (!b) {
      rec.check("errors", "buffer for the error checks", false, b.status().message());
      return;
    }
    plinth_tensor v{};
    v.struct_size = PLINTH_TENSOR_STRUCT_SIZE;
    v.buffer = b->get();
    v.dtype = PLINTH_DTYPE_F32;
    v.ndim = 1;
    v.shape[0] = 16;
    v.strides[0] = 1;
    plinth_tensor ins[2] = {v, v};
    plinth_binary_params bp{PLINTH_BINARY_PARAMS_STRUCT_SIZE, PLINTH_BINARY_ADD, 0};
    plinth_fill_params fp{PLINTH_FILL_PARAMS_STRUCT_SIZE, 1.0};
    // strict: an OK return fails the check; otherwise it is a warning (a
    // backend that ignores struct_size still runs every well-formed op).
    struct Bad {
      const char* name;
      plinth_op op;
      bool strict = true;
    };
    plinth_binary_params bp_bad = bp;
    bp_bad.struct_size = 0;
    plinth_tensor v_bad = v;
    v_bad.struct_size = 0;
    plinth_tensor v_oob = v;
    v_oob.shape[0] = 4096;  // 16 KiB view of a 4 KiB buffer
    const Bad bad[] = {
        {"BINARY with num_inputs 1", {PLINTH_OP_STRUCT_SIZE, PLINTH_OP_BINARY, 1, ins, 1, &v, &bp}},
        {"BINARY with NULL params", {PLINTH_OP_STRUCT_SIZE, PLINTH_OP_BINARY, 2, ins, 1, &v, nullptr}},
        {"FILL with NULL params", {PLINTH_OP_STRUCT_SIZE, PLINTH_OP_FILL, 0, nullptr, 1, &v, nullptr}},
        {"op struct_size 0", {0, PLINTH_OP_FILL, 0, nullptr, 1, &v, &fp}, false},
        {"params struct_size 0", {PLINTH_OP_STRUCT_SIZE, PLINTH_OP_BINARY, 2, ins, 1, &v, &bp_bad}, false},
        {"tensor struct_size 0", {PLINTH_OP_STRUCT_SIZE, PLINTH_OP_FILL, 0, nullptr, 1, &v_bad, &fp}, false},
        {"FILL past the end of its buffer",
         {PLINTH_OP_STRUCT_SIZE, PLINTH_OP_FILL, 0, nullptr, 1, &v_oob, &fp}},
        {"FILL with no outputs", {PLINTH_OP_STRUCT_SIZE, PLINTH_OP_FILL, 0, nullptr, 0, nullptr, &fp}},
        {"unknown op kind 9999", {PLINTH_OP_STRUCT_SIZE, plinth_op_kind(9999), 0, nullptr, 1, &v, &fp}},
    };
    for (const Bad& x : bad) {
      plinth_status ls = t->launch(ctx, nullptr, &x.op);
      (void)t->stream_synchronize(ctx, nullptr);
      (void)take_plugin_error();
      const std::string name = std::string("launch of a malformed op (") + x.name + ") returns an error";
      if (ls == PLINTH_OK && !x.strict)
        out.push_back(
            CaseResult{"api", "errors", name, "warn", 0, 0, "returned OK: struct_size is not checked"});
      else
        rec.check("errors", name, ls != PLINTH_OK, "returned OK");
    }
  }
}

}  // namespace plinth::plugin_check
