// finetune.cpp — [init] from: read a run's (or a file's) weights, map their
// names (rename prefixes), pick the parameters to load (include patterns) and
// check every shape; merge_lora: fold trained adapters into their weights.
#include "train/finetune.hpp"

#include <fnmatch.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>

#include "run/run_folder.hpp"
#include "train/checkpoint.hpp"

namespace plinth::train {
namespace fs = std::filesystem;

namespace {

std::string shape_str(const std::vector<int64_t>& s) {
  std::string o = "(";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + (s.size() == 1 ? ",)" : ")");
}

std::string list(const std::vector<std::string>& names, size_t max = 6) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < max; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > max) s += ", ... (" + std::to_string(names.size()) + " in all)";
  return s.empty() ? "none" : s;
}

// The index of the first NaN or infinite element of f32 `t`, or -1. The
// scan ORs exponent bits (all ones: NaN or inf) so it vectorises; a second
// pass finds the index only when there is one.
int64_t first_non_finite(const NamedTensor& t) {
  const unsigned char* p = t.data.data();
  const size_t n = t.data.size() / sizeof(uint32_t);
  constexpr uint32_t kExp = 0x7f800000u;
  auto bad = [&](size_t i) {
    uint32_t b = 0;
    std::memcpy(&b, p + i * sizeof b, sizeof b);
    return (b & kExp) == kExp;
  };
  uint32_t any = 0;
  for (size_t i = 0; i < n; ++i) any |= static_cast<uint32_t>(bad(i));
  if (!any) return -1;
  for (size_t i = 0; i < n; ++i)
    if (bad(i)) return static_cast<int64_t>(i);
  return -1;
}

}  // namespace

Result<RunWeights> read_run_weights(const fs::path& run_dir) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) return error(errc::io, run_dir.string() + ": no such run folder");
  RunWeights w;
  const run::Folder folder{run_dir};
  const fs::path final_weights = folder.weights();
  if (fs::exists(final_weights, ec)) {
    auto t = read_safetensors(final_weights);
    if (!t) return t.status();
    w.tensors = std::move(*t);
    w.from = final_weights.string();
    return w;
  }
  auto c = load_latest_checkpoint(folder.checkpoints());
  if (!c) return error(errc::io, run_dir.string() + ": no model.safetensors and no readable checkpoint");
  w.tensors = std::move(c->model);
  w.from = (c->dir / "model.safetensors").string();
  return w;
}

Result<InitPlan> plan_init(const config::Pipeline& p,
                           const std::vector<std::pair<std::string, std::vector<int64_t>>>& params) {
  const config::InitSection& in = p.init;
  const std::string at = p.source.string() + ":" + std::to_string(in.where.begin.line) + ": init.from";
  InitPlan plan;
  std::error_code ec;
  if (fs::is_directory(in.from, ec)) {
    auto w = read_run_weights(in.from);
    if (!w) return Status(w.status()).with_context(at);
    plan.source = std::move(*w);
  } else if (fs::exists(in.from, ec)) {
    auto t = read_safetensors(in.from);
    if (!t) return Status(t.status()).with_context(at);
    plan.source.tensors = std::move(*t);
    plan.source.from = in.from.string();
  } else {
    return error(errc::io, at + ": '" + in.from.string() +
                               "': no such run folder or .safetensors file (relative paths are read from the "
                               "working directory)");
  }
  const std::string& from = plan.source.from;

  // The file's names as the model's: the first matching rename prefix applies.
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < plan.source.tensors.size(); ++i) {
    std::string n = plan.source.tensors[i].name;
    for (const auto& [old_prefix, new_prefix] : in.rename)
      if (n.compare(0, old_prefix.size(), old_prefix) == 0) {
        n = new_prefix + n.substr(old_prefix.size());
        break;
      }
    by_name.emplace(n, i);
  }
  std::vector<std::string> file_names;
  for (const auto& [n, i] : by_name) file_names.push_back(n);

  std::vector<int> hits(in.include.size(), 0);
  for (const auto& [name, shape] : params) {
    bool wanted = in.include.empty();
    for (size_t k = 0; k < in.include.size(); ++k)
      if (fnmatch(in.include[k].c_str(), name.c_str(), 0) == 0) {
        wanted = true;
        ++hits[k];
      }
    auto it = by_name.find(name);
    if (!wanted || (in.include.empty() && it == by_name.end())) {
      plan.fresh.push_back(name);
      continue;
    }
    if (it == by_name.end())
      return error(errc::config, at + ": " + from + " has no tensor '" + name +
                                     "' (init.include selects it; the file has: " + list(file_names) + ")");
    const NamedTensor& t = plan.source.tensors[it->second];
    if (t.dtype != PLINTH_DTYPE_F32 || t.shape != shape)
      return error(errc::config, at + ": " + from + ": tensor '" + t.name + "' is " + shape_str(t.shape) +
                                     (t.dtype != PLINTH_DTYPE_F32 ? " (not f32)" : "") + ", parameter '" +
                                     name + "' is f32 " + shape_str(shape));
    // A NaN or inf weight would end the run at its first step without a name.
    if (const int64_t bad = first_non_finite(t); bad >= 0) {
      float x = 0;
      std::memcpy(&x, t.data.data() + static_cast<size_t>(bad) * sizeof x, sizeof x);
      return error(errc::bad_data, at + ": " + from + ": tensor '" + t.name + "' holds " +
                                       (std::isnan(x) ? "NaN"
                                        : x > 0       ? "inf"
                                                      : "-inf") +
                                       " at element " + std::to_string(bad) +
                                       " (and maybe more); its weights must be finite");
    }
    plan.loads.emplace_back(name, it->second);
  }
  for (size_t k = 0; k < hits.size(); ++k)
    if (hits[k] == 0)
      return error(errc::config,
                   at + ": init.include: '" + in.include[k] + "' matches no parameter of the model");
  if (plan.loads.empty())
    return error(errc::config, at + ": no tensor of " + from +
                                   " is a parameter of the model (the file has: " + list(file_names) +
                                   "; init.rename maps name prefixes)");
  return plan;
}

Result<int> merge_lora(std::vector<NamedTensor>& ts, double scale, const std::string& from) {
  static constexpr const char* kA = ".lora_A.weight";
  static constexpr const char* kB = ".lora_B.weight";
  auto find = [&](const std::string& n) -> NamedTensor* {
    for (auto& t : ts)
      if (t.name == n) return &t;
    return nullptr;
  };
  auto ends_with = [](const std::string& s, const char* suf) {
    const size_t n = std::strlen(suf);
    return s.size() >= n && s.compare(s.size() - n, n, suf) == 0;
  };
  int merged = 0;
  for (const auto& t : ts) {
    if (!ends_with(t.name, kA)) continue;
    const std::string layer = t.name.substr(0, t.name.size() - std::strlen(kA));
    const NamedTensor* a = &t;
    const NamedTensor* b = find(layer + kB);
    NamedTensor* w = find(layer + ".weight");
    if (!b || !w)
      return error(errc::bad_data, from + ": adapter '" + t.name + "' without " +
                                       (!b ? "'" + layer + kB + "'" : "the weight '" + layer + ".weight'"));
    if (a->shape.size() != 2 || b->shape.size() != 2 || w->shape.size() != 2 || a->shape[0] != b->shape[1] ||
        w->shape[0] != b->shape[0] || w->shape[1] != a->shape[1] || a->dtype != PLINTH_DTYPE_F32 ||
        b->dtype != PLINTH_DTYPE_F32 || w->dtype != PLINTH_DTYPE_F32)
      return error(errc::bad_data, from + ": layer '" + layer + "': A " + shape_str(a->shape) + ", B " +
                                       shape_str(b->shape) + " and W " + shape_str(w->shape) +
                                       " do not make W + B A (f32)");
    const int64_t r = a->shape[0], out = w->shape[0], in = w->shape[1];
    const auto* A = reinterpret_cast<const float*>(a->data.data());
    const auto* B = reinterpret_cast<const float*>(b->data.data());
    auto* W = reinterpret_cast<float*>(w->data.data());
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < r; ++k) acc += static_cast<double>(B[i * r + k]) * A[k * in + j];
        W[i * in + j] = static_cast<float>(W[i * in + j] + scale * acc);
      }
    ++merged;
  }
  std::erase_if(ts, [&](const NamedTensor& t) { return ends_with(t.name, kA) || ends_with(t.name, kB); });
  return merged;
}

}  // namespace plinth::train
