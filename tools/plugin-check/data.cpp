// data.cpp — the data-source checks of plinth-plugin-check, through the
// plinth_data_v1 table itself (data.h is the contract): the schema (info and
// every field: names, dtypes, shapes, label ranges), reads that are the same
// bytes whatever the call, the order of the indices, the instance or the
// thread (several threads reading one source at once, as the loader does),
// the error paths (an index past the end, a field index out of range, an
// unknown metadata key), read_ctx's determinism for a (seed, epoch), and a
// streaming source's position saved and restored. The expected values are
// the source's own first answers: a data source has no reference to compare
// with, so what is checked is that it keeps to them.
// Not here: the loader (shuffling, batching), which is the core's.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "check.hpp"
#include "plinth/data.h"

namespace plinth::plugin_check {

namespace {

struct Schema {
  uint64_t samples = 0;
  bool streaming = false;
  std::vector<plinth_data_field> fields;
  std::vector<uint64_t> sample_bytes;  // per field
};

// Samples of every field, packed: bytes[f] holds n samples of field f.
using Batch = std::vector<std::vector<uint8_t>>;

class Checker {
 public:
  Checker(const Registry& reg, const plinth_data_v1* t, Rows& out) : reg_(reg), t_(t), out_(out) {}

  void add(const std::string& area, const std::string& c, bool ok, const std::string& why,
           const char* lax = "fail") {
    out_.push_back(CaseResult{"data", area, c, ok ? "pass" : lax, 0, 0, ok ? "" : why});
  }

  // A new instance of the source, or nullptr with a failed row.
  plinth_data_source* open(const PluginConfig& cfg, const std::string& c) {
    (void)take_plugin_error();
    plinth_data_source* src = nullptr;
    const plinth_status s = t_->open(reg_.host(), cfg.get(), &src);
    if (s != PLINTH_OK || !src) {
      add("open", c, false,
          plugin_status(s == PLINTH_OK ? PLINTH_ERR_INTERNAL : s, "open").message() +
              (s == PLINTH_OK ? " (returned PLINTH_OK and no source)" : "") +
              " (give the source's settings with --data-config FILE)");
      return nullptr;
    }
    add("open", c, true, "");
    return src;
  }

  bool schema(plinth_data_source* src, Schema& sc) {
    plinth_data_info info{};
    info.struct_size = PLINTH_DATA_INFO_STRUCT_SIZE;
    (void)take_plugin_error();
    plinth_status s = t_->info(src, &info);
    if (s != PLINTH_OK) {
      add("info", "info() succeeds", false, plugin_status(s, "info").message());
      return false;
    }
    sc.samples = info.num_samples;
    sc.streaming = (info.flags & PLINTH_DATA_STREAMING) != 0;
    add("info", "num_fields >= 1", info.num_fields >= 1, "num_fields is " + std::to_string(info.num_fields));
    add("info", "flags hold only defined bits", (info.flags & ~PLINTH_DATA_STREAMING) == 0,
        "flags is " + std::to_string(info.flags));
    if (!sc.streaming)
      add("info", "a random-access source has samples", info.num_samples >= 1, "num_samples is 0");
    add("info", "read() is set (or the source says PLINTH_DATA_STREAMING)", sc.streaming || t_->read,
        "read is NULL and the source is not streaming");
    if (sc.streaming)
      add("info", "a streaming source sets next, save_position and restore_position",
          t_->struct_size >= PLINTH_STRUCT_SIZE(plinth_data_v1, restore_position) && t_->next &&
              t_->save_position && t_->restore_position,
          "one of them is NULL");
    if (info.num_fields < 1 || info.num_fields > 4096) return false;
    std::set<std::string> names;
    bool all_ok = true;
    for (int32_t i = 0; i < info.num_fields; ++i) {
      plinth_data_field f{};
      f.struct_size = PLINTH_DATA_FIELD_STRUCT_SIZE;
      (void)take_plugin_error();
      s = t_->field(src, i, &f);
      const std::string c = "field " + std::to_string(i);
      if (s != PLINTH_OK) {
        add("field", c + ": field() succeeds", false, plugin_status(s, "field").message());
        all_ok = false;
        continue;
      }
      const void* nul = std::memchr(f.name, 0, sizeof f.name);
      std::string why;
      if (!nul) why = "name is not NUL-terminated within its 64 bytes";
      const std::string nm = nul ? std::string(f.name) : std::string(f.name, sizeof f.name);
      if (why.empty() && nm.empty()) why = "name is empty";
      if (why.empty() && !names.insert(nm).second) why = "name '" + nm + "' is given twice";
      if (why.empty() && dtype_bytes(f.dtype) == 0)
        why = "dtype " + std::to_string(int(f.dtype)) + " is unknown";
      if (why.empty() && (f.ndim < 0 || f.ndim > 8)) why = "ndim is " + std::to_string(f.ndim);
      uint64_t bytes = dtype_bytes(f.dtype);
      constexpr uint64_t kMaxSample = uint64_t{1} << 30;
      for (int32_t d = 0; why.empty() && d < f.ndim; ++d) {
        if (f.shape[d] < 1)
          why = "shape[" + std::to_string(d) + "] is " + std::to_string(f.shape[d]);
        else if (bytes > kMaxSample / static_cast<uint64_t>(f.shape[d]))  // no overflow: checked before
          why = "one sample is over 1 GiB";
        else
          bytes *= static_cast<uint64_t>(f.shape[d]);
      }
      if (why.empty() && f.num_classes < 0) why = "num_classes is " + std::to_string(f.num_classes);
      if (why.empty() && f.num_classes > 0 && f.dtype != PLINTH_DTYPE_I32 && f.dtype != PLINTH_DTYPE_I64)
        why = "num_classes is set on a field of a non-integer dtype";
      add("field", c + (nm.empty() ? "" : " '" + nm + "'") + ": name, dtype, shape, num_classes", why.empty(),
          why);
      if (!why.empty()) all_ok = false;
      sc.fields.push_back(f);
      sc.sample_bytes.push_back(bytes);
    }
    for (int32_t bad : {-1, info.num_fields}) {
      plinth_data_field f{};
      f.struct_size = PLINTH_DATA_FIELD_STRUCT_SIZE;
      (void)take_plugin_error();
      s = t_->field(src, bad, &f);
      add("field", "field(" + std::to_string(bad) + ") (out of range) is an error", s != PLINTH_OK,
          "returned PLINTH_OK");
    }
    return all_ok;
  }

  Batch alloc(const Schema& sc, size_t n) {
    Batch b(sc.fields.size());
    for (size_t f = 0; f < b.size(); ++f) b[f].assign(sc.sample_bytes[f] * n, 0xA5);
    return b;
  }

  // read() or read_ctx() of `idx` into a new batch; status as a message ("" when ok).
  std::string read(plinth_data_source* src, const Schema& sc, const std::vector<uint64_t>& idx, Batch& b,
                   const plinth_data_read_context* ctx = nullptr) {
    b = alloc(sc, idx.size());
    std::vector<void*> ptrs;
    for (auto& f : b) ptrs.push_back(f.data());
    (void)take_plugin_error();
    const plinth_status s = ctx ? t_->read_ctx(src, ctx, idx.data(), idx.size(), ptrs.data())
                                : t_->read(src, idx.data(), idx.size(), ptrs.data());
    return s == PLINTH_OK ? "" : plugin_status(s, ctx ? "read_ctx" : "read").message();
  }

  // Sample i of a batch, every field, as one byte string.
  static std::string sample(const Schema& sc, const Batch& b, size_t i) {
    std::string s;
    for (size_t f = 0; f < b.size(); ++f)
      s.append(reinterpret_cast<const char*>(b[f].data() + i * sc.sample_bytes[f]), sc.sample_bytes[f]);
    return s;
  }

  void random_access(plinth_data_source* src, const Schema& sc, const PluginConfig& cfg, uint64_t seed) {
    const uint64_t N = sc.samples;
    std::mt19937_64 rng(seed);
    // Up to 64 indices: the first, the last and random ones (repeats allowed).
    std::vector<uint64_t> idx{0, N - 1};
    for (int k = 0; k < 62; ++k) idx.push_back(rng() % N);
    Batch first;
    std::string why = read(src, sc, idx, first);
    add("read", "read of " + std::to_string(idx.size()) + " indices (first, last, random)", why.empty(), why);
    if (!why.empty()) return;
    std::map<uint64_t, std::string> by_index;
    bool consistent = true;
    for (size_t i = 0; i < idx.size(); ++i) {
      auto [it, fresh] = by_index.emplace(idx[i], sample(sc, first, i));
      if (!fresh && it->second != sample(sc, first, i)) consistent = false;
    }
    add("read", "an index read twice in one call gives the same bytes", consistent,
        "two copies of one index differ");
    // Every byte written: the fill pattern would survive in a skipped sample.
    Batch again;
    why = read(src, sc, idx, again);
    add("read", "the same read again gives the same bytes", why.empty() && again == first,
        why.empty() ? "the bytes differ between two identical reads" : why);
    std::vector<uint64_t> rev(idx.rbegin(), idx.rend());
    Batch back;
    why = read(src, sc, rev, back);
    bool same = why.empty();
    for (size_t i = 0; same && i < rev.size(); ++i) same = sample(sc, back, i) == by_index.at(rev[i]);
    add("read", "indices in another order give each sample's same bytes", same,
        why.empty() ? "a sample's bytes depend on the order of the indices" : why);
    // A second instance of the same configuration reads the same bytes.
    (void)take_plugin_error();
    plinth_data_source* other = nullptr;
    const plinth_status os = t_->open(reg_.host(), cfg.get(), &other);
    if (os == PLINTH_OK && other) {
      Batch b2;
      why = read(other, sc, idx, b2);
      add("read", "a second instance of the source reads the same bytes", why.empty() && b2 == first,
          why.empty() ? "the two instances' bytes differ" : why);
      t_->close(other);
    } else {
      add("read", "a second instance of the source opens", false,
          plugin_status(os == PLINTH_OK ? PLINTH_ERR_INTERNAL : os, "open").message());
    }
    // Labels within [0, num_classes); floats finite (a warning: data may hold NaN on purpose).
    for (size_t f = 0; f < sc.fields.size(); ++f) {
      const plinth_data_field& fd = sc.fields[f];
      const size_t per = sc.sample_bytes[f] / dtype_bytes(fd.dtype), total = per * idx.size();
      if (fd.num_classes > 0) {
        std::string bad;
        for (size_t i = 0; i < total && bad.empty(); ++i) {
          const double v = load_value(first[f], fd.dtype, i);
          if (v < 0 || v >= double(fd.num_classes))
            bad = "sample " + std::to_string(idx[i / per]) + " has label " + std::to_string(int64_t(v));
        }
        add("read",
            std::string("field '") + fd.name + "': labels lie in [0, " + std::to_string(fd.num_classes) + ")",
            bad.empty(), bad);
      }
      if (fd.dtype == PLINTH_DTYPE_F32 || fd.dtype == PLINTH_DTYPE_F64) {
        size_t nonfinite = 0;
        for (size_t i = 0; i < total; ++i) nonfinite += !std::isfinite(load_value(first[f], fd.dtype, i));
        add("read", std::string("field '") + fd.name + "': values are finite", nonfinite == 0,
            std::to_string(nonfinite) + " of " + std::to_string(total) + " values are NaN or infinite",
            "warn");
      }
    }
    // Several threads at once on one instance, as the loader reads.
    constexpr int kThreads = 4, kRounds = 12;
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> pool;
    for (int th = 0; th < kThreads; ++th)
      pool.emplace_back([&, th] {
        std::mt19937_64 r(seed * 1000 + th);
        for (int k = 0; k < kRounds && errors[th].empty(); ++k) {
          std::vector<uint64_t> mine;
          for (int j = 0; j < 8; ++j) mine.push_back(idx[r() % idx.size()]);
          Batch b;
          std::string w = read(src, sc, mine, b);
          if (!w.empty()) errors[th] = w;
          for (size_t j = 0; errors[th].empty() && j < mine.size(); ++j)
            if (sample(sc, b, j) != by_index.at(mine[j]))  // const lookup: threads share the map
              errors[th] = "sample " + std::to_string(mine[j]) + " read on thread " + std::to_string(th) +
                           " differs from its single-threaded read";
        }
      });
    for (auto& p : pool) p.join();
    std::string werr;
    for (const auto& e : errors)
      if (werr.empty()) werr = e;
    add("read", std::to_string(kThreads) + " threads reading one source at once get the same bytes",
        werr.empty(), werr);
    Batch none;
    why = read(src, sc, {}, none);
    add("read", "a read of 0 indices succeeds", why.empty(), why);
    Batch past;
    why = read(src, sc, {N}, past);
    add("read", "index num_samples (past the end) is an error", !why.empty(), "returned PLINTH_OK");
    why = read(src, sc, {UINT64_MAX}, past);
    add("read", "index 2^64-1 is an error", !why.empty(), "returned PLINTH_OK");
    if (t_->struct_size >= PLINTH_STRUCT_SIZE(plinth_data_v1, read_ctx) && t_->read_ctx) {
      plinth_data_read_context ctx{};
      ctx.struct_size = PLINTH_DATA_READ_CONTEXT_STRUCT_SIZE;
      ctx.seed = seed;
      ctx.epoch = 3;
      Batch c1, c2, c3;
      why = read(src, sc, idx, c1, &ctx);
      add("read_ctx", "read_ctx (seed, epoch 3) succeeds", why.empty(), why);
      if (why.empty()) {
        why = read(src, sc, idx, c2, &ctx);
        add("read_ctx", "the same (seed, epoch) again gives the same bytes", why.empty() && c1 == c2,
            why.empty() ? "two reads of one (seed, epoch) differ" : why);
        std::string terr;
        std::thread th([&] { terr = read(src, sc, rev, c3, &ctx); });
        th.join();
        bool ok = terr.empty();
        std::map<uint64_t, std::string> ctx_by_index;
        for (size_t i = 0; i < idx.size(); ++i) ctx_by_index.emplace(idx[i], sample(sc, c1, i));
        for (size_t i = 0; ok && i < rev.size(); ++i) ok = sample(sc, c3, i) == ctx_by_index[rev[i]];
        add("read_ctx", "another thread and order give each sample's same bytes for a (seed, epoch)", ok,
            terr.empty() ? "a sample's bytes depend on the thread or the order of the indices" : terr);
      }
    }
  }

  void streaming(plinth_data_source* src, const Schema& sc) {
    auto next = [&](size_t n, Batch& b, size_t& got) {
      b = alloc(sc, n);
      std::vector<void*> ptrs;
      for (auto& f : b) ptrs.push_back(f.data());
      (void)take_plugin_error();
      got = 0;
      const plinth_status s = t_->next(src, n, ptrs.data(), &got);
      return s == PLINTH_OK ? std::string() : plugin_status(s, "next").message();
    };
    Batch b;
    size_t got = 0;
    std::string why = next(4, b, got);
    add("stream", "next(4) succeeds", why.empty() && got <= 4,
        why.empty() ? "got " + std::to_string(got) : why);
    if (!why.empty()) return;
    size_t len = 0;
    (void)take_plugin_error();
    plinth_status s = t_->save_position(src, nullptr, 0, &len);
    add("stream", "save_position with cap 0 gives the size needed (PLINTH_ERR_INVALID_ARGUMENT or OK)",
        len > 0 && (s == PLINTH_OK || s == PLINTH_ERR_INVALID_ARGUMENT),
        "len " + std::to_string(len) + ", " + plugin_status(s, "save_position").message());
    std::vector<uint8_t> pos(std::max<size_t>(len, 1));
    (void)take_plugin_error();
    s = t_->save_position(src, pos.data(), pos.size(), &len);
    add("stream", "save_position succeeds", s == PLINTH_OK, plugin_status(s, "save_position").message());
    if (s != PLINTH_OK) return;
    pos.resize(len);
    Batch a1, a2;
    size_t g1 = 0, g2 = 0;
    why = next(8, a1, g1);
    (void)take_plugin_error();
    s = t_->restore_position(src, pos.data(), pos.size());
    add("stream", "restore_position succeeds", s == PLINTH_OK,
        plugin_status(s, "restore_position").message());
    if (s != PLINTH_OK || !why.empty()) return;
    why = next(8, a2, g2);
    add("stream", "after restore_position, next() reads the same samples again",
        why.empty() && g1 == g2 && a1 == a2, why.empty() ? "the samples differ" : why);
    std::vector<uint8_t> garbage(pos.size() + 3, 0xFF);
    (void)take_plugin_error();
    s = t_->restore_position(src, garbage.data(), garbage.size());
    add("stream", "restore_position of bytes it did not write is an error", s != PLINTH_OK,
        "returned PLINTH_OK", "warn");
  }

  void metadata(plinth_data_source* src) {
    if (t_->struct_size < PLINTH_STRUCT_SIZE(plinth_data_v1, metadata) || !t_->metadata) return;
    size_t len = 7;
    (void)take_plugin_error();
    const plinth_status s = t_->metadata(src, "plinth-plugin-check-no-such-key", nullptr, 0, &len);
    add("metadata", "an unknown key is PLINTH_ERR_NOT_FOUND", s == PLINTH_ERR_NOT_FOUND,
        "returned " + plugin_status(s, "metadata").message());
    for (const char* key : {"vocab", "classes"}) {
      size_t need = 0;
      (void)take_plugin_error();
      if (t_->metadata(src, key, nullptr, 0, &need) != PLINTH_OK) continue;
      std::string v(need + 1, '\0');
      size_t got = 0;
      (void)take_plugin_error();
      const plinth_status s2 = t_->metadata(src, key, v.data(), v.size(), &got);
      v.resize(std::min(got, v.size()));
      add("metadata", std::string("'") + key + "': the size asked with cap 0 holds the value",
          s2 == PLINTH_OK && got == need, "sizes " + std::to_string(need) + " and " + std::to_string(got));
      if (s2 == PLINTH_OK && got == need)
        add("metadata", std::string("'") + key + "' is a JSON document",
            !nlohmann::json::parse(v, nullptr, false).is_discarded(), "it does not parse as JSON");
    }
  }

 private:
  const Registry& reg_;
  const plinth_data_v1* t_;
  Rows& out_;
};

}  // namespace

void run_data(const Registry& reg, const std::string& name, const toml::table& config, uint64_t seed,
              Rows& out) {
  auto comp = reg.find(PLINTH_KIND_DATA, name);
  if (!comp) {
    out.push_back(CaseResult{"data", name, "component", "fail", 0, 0, comp.status().message()});
    return;
  }
  const auto* t = static_cast<const plinth_data_v1*>((*comp)->table);
  // Case 0 (the table, open, info and fields) runs in every child process,
  // since the later cases read the source it opens; its rows are kept only
  // where it is not skipped (isolate.cpp).
  Rows skipped;
  Checker ck0(reg, t, out.begin(0, name, "the table, open, info and fields") ? out : skipped);
  if (t->struct_size < PLINTH_DATA_V1_MIN_STRUCT_SIZE || !t->open || !t->close || !t->info || !t->field) {
    ck0.add("table", "struct_size and the required entries (open, close, info, field)", false,
            "struct_size " + std::to_string(t->struct_size) + " or a required entry is NULL");
    return;
  }
  auto cfg = plugin_config(config);
  if (!cfg) {
    ck0.add("open", "the --data-config settings", false, cfg.status().message());
    return;
  }
  plinth_data_source* src = ck0.open(*cfg, "open with the settings given");
  if (!src) return;
  Schema sc;
  if (ck0.schema(src, sc)) {
    Checker ck(reg, t, out);
    if (sc.streaming) {
      if (out.begin(1, name, "a stream's position saved and restored")) ck.streaming(src, sc);
    } else if (t->read && sc.samples > 0) {  // none: the info case has failed already
      if (out.begin(2, name, "reads")) ck.random_access(src, sc, *cfg, seed);
    }
    if (out.begin(3, name, "metadata")) ck.metadata(src);
  }
  t->close(src);
}

}  // namespace plinth::plugin_check
