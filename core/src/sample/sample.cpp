// sample.cpp — `plinth sample`: the model of a finished (or checkpointed) run,
// fed its own output one token at a time. The graph has a fixed sequence
// length T, so the context (the last T tokens) sits at positions 0..L-1 and
// the next token is drawn from position L-1's logits: causal attention makes
// the padding after it irrelevant.
#include "sample/sample.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>

#include "config/pipeline.hpp"
#include "exec/program.hpp"
#include "graph/build.hpp"
#include "plugin/plugin_config.hpp"
#include "run/run_folder.hpp"
#include "train/checkpoint.hpp"
#include "train/finetune.hpp"
#include "train/safetensors.hpp"
#include "util/rng.hpp"

namespace plinth::train {
namespace fs = std::filesystem;

namespace {

Result<plinth_dtype> dtype_of(const run::ModelIO::Field& f, const fs::path& file, const char* key) {
  if (f.dtype == "f32") return PLINTH_DTYPE_F32;
  if (f.dtype == "i32") return PLINTH_DTYPE_I32;
  return error(errc::bad_data, file.string() + ": " + key + ".dtype '" + f.dtype + "' is not f32 or i32");
}

// The UTF-8 characters of s, one string each.
std::vector<std::string> utf8_chars(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    n = std::min(n, s.size() - i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace

int32_t draw_token(std::vector<float> logits, double temperature, int64_t top_k, double u) {
  const int64_t V = static_cast<int64_t>(logits.size());
  std::vector<int32_t> order(static_cast<size_t>(V));
  std::iota(order.begin(), order.end(), 0);
  // Most likely first; ties keep the lower id first so draws are reproducible.
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  if (temperature <= 0.0 || V == 1) return order[0];
  const int64_t k = top_k > 0 ? std::min(top_k, V) : V;
  std::vector<double> p(static_cast<size_t>(k));
  const double mx = logits[order[0]] / temperature;
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) sum += p[size_t(i)] = std::exp(logits[order[size_t(i)]] / temperature - mx);
  double acc = 0;
  for (int64_t i = 0; i < k; ++i) {
    acc += p[size_t(i)] / sum;
    if (u < acc) return order[size_t(i)];
  }
  return order[size_t(k - 1)];
}

Result<std::string> sample(const fs::path& run_dir, std::shared_ptr<Registry> registry,
                           const SampleOptions& o, const std::function<void(std::string_view)>& emit) {
  if (!fs::is_directory(run_dir)) return error(errc::io, run_dir.string() + ": no such run folder");
  if (o.tokens < 0) return error(errc::config, "--tokens must be >= 0");
  if (o.top_k < 0) return error(errc::config, "--top-k must be >= 0");
  if (!(o.temperature >= 0.0)) return error(errc::config, "--temperature must be >= 0");
  const run::Folder folder{run_dir};
  auto p = config::load_pipeline(folder.pipeline());
  if (!p) return p.status();

  // What the model reads and predicts.
  auto mj = run::read_model_io(folder);
  if (!mj) return mj.status();
  graph::DataShape shape;
  auto in_dt = dtype_of(mj->input, folder.model_io(), "input");
  if (!in_dt) return in_dt.status();
  auto tg_dt = dtype_of(mj->target, folder.model_io(), "target");
  if (!tg_dt) return tg_dt.status();
  shape.input_dtype = *in_dt;
  shape.target_dtype = *tg_dt;
  shape.input_shape = mj->input.shape;
  shape.target_shape = mj->target.shape;
  shape.num_classes = mj->num_classes;
  if (shape.input_dtype != PLINTH_DTYPE_I32 || shape.input_shape.size() != 1)
    return error(errc::config, run_dir.string() +
                                   ": sampling needs a model that reads a sequence of token ids, "
                                   "this one reads " +
                                   std::string(exec::dtype_name(shape.input_dtype)) + " samples");
  const int64_t T = shape.input_shape[0];

  // The vocabulary the data source saved.
  const fs::path vocab_json = folder.vocab();
  auto vj = run::read_vocab(folder);
  if (!vj) return vj.status();
  const std::vector<std::string>& vocab = *vj;
  std::map<std::string, int32_t> ids;
  for (size_t i = 0; i < vocab.size(); ++i) ids.emplace(vocab[i], static_cast<int32_t>(i));

  std::vector<int32_t> seq;
  for (const std::string& ch : utf8_chars(o.prompt)) {
    auto it = ids.find(ch);
    if (it == ids.end())
      return error(errc::config, "--prompt: the character '" + ch + "' is not in the run's vocabulary (" +
                                     std::to_string(vocab.size()) + " characters, " + vocab_json.string() +
                                     ")");
    seq.push_back(it->second);
  }
  if (seq.empty()) seq.push_back(0);

  // Weights: a given checkpoint, the final model, or the newest checkpoint.
  std::vector<NamedTensor> weights;
  std::string from;
  if (!o.checkpoint.empty()) {
    auto c = read_checkpoint(o.checkpoint);
    if (!c) return c.status();
    weights = std::move(c->model);
    from = o.checkpoint.string();
  } else {
    auto w = read_run_weights(run_dir);
    if (!w) return w.status();
    weights = std::move(w->tensors);
    from = w->from;
  }

  // The model, forward only, one sequence.
  if (p->backend.name == "auto") {  // a run folder written before "auto" was resolved there
    auto chosen = exec::select_backend(*registry, p->backend.name, p->backend.device);
    if (!chosen) return Status(chosen.status()).with_context(run_dir.string() + "/pipeline.toml");
    p->backend.name = *chosen;
    p->backend.table.insert_or_assign("name", *chosen);
  }
  auto bcomp = registry->find(PLINTH_KIND_BACKEND, p->backend.name);
  if (!bcomp) return Status(bcomp.status()).with_context(run_dir.string() + "/pipeline.toml: [backend] name");
  auto cfg = make_plugin_config(p->backend.table, p->source);
  auto backend = exec::Backend::create(*registry, p->backend.name, cfg.get(), p->backend.device);
  if (!backend) return backend.status();
  auto g = graph::build(*p, shape, {1, false});
  if (!g) return g.status();
  if (g->positions != T)
    return error(errc::config, run_dir.string() + ": the model does not predict a token at every position");
  exec::Store store(*backend);
  for (const auto& prm : g->params) {
    const auto& v = g->values[prm.value];
    PLINTH_TRY(store.declare(v.name, exec::Store::params, PLINTH_DTYPE_F32, v.shape));
  }
  PLINTH_TRY(store.declare(g->values[g->loss_sum].name, exec::Store::stats, PLINTH_DTYPE_F32, {}));
  PLINTH_TRY(store.allocate());
  for (const auto& prm : g->params) {
    const auto& v = g->values[prm.value];
    auto it =
        std::find_if(weights.begin(), weights.end(), [&](const NamedTensor& t) { return t.name == v.name; });
    if (it == weights.end()) return error(errc::bad_data, from + ": no tensor '" + v.name + "'");
    if (it->shape != v.shape || it->dtype != PLINTH_DTYPE_F32)
      return error(errc::bad_data, from + ": tensor '" + v.name + "' does not have the model's f32 shape");
    PLINTH_TRY((*backend)->upload(store.buffer(exec::Store::params), store.slot(v.name).offset,
                                  it->data.data(), it->data.size()));
  }
  auto prog = exec::Program::compile(*g, store);
  if (!prog) return prog.status();
  const int64_t V = g->values[g->prediction].shape.back();
  if (static_cast<int64_t>(vocab.size()) > V)
    return error(errc::bad_data, vocab_json.string() + ": " + std::to_string(vocab.size()) +
                                     " tokens but the model predicts " + std::to_string(V));

  SplitMix64 rng(o.seed);
  std::vector<int32_t> window(static_cast<size_t>(T)), zeros(static_cast<size_t>(T), 0);
  std::vector<float> logits(static_cast<size_t>(T * V));
  std::string text;
  for (int64_t n = 0; n < o.tokens; ++n) {
    const int64_t L = std::min<int64_t>(static_cast<int64_t>(seq.size()), T);
    std::fill(window.begin(), window.end(), 0);
    std::copy(seq.end() - L, seq.end(), window.begin());
    PLINTH_TRY((*prog)->upload_input(window.data(), window.size() * 4));
    PLINTH_TRY((*prog)->upload_target(zeros.data(), zeros.size() * 4));
    PLINTH_TRY((*prog)->run());
    PLINTH_TRY((*prog)->download_prediction(logits.data()));
    std::vector<float> last(logits.begin() + (L - 1) * V, logits.begin() + L * V);
    const int32_t id = draw_token(std::move(last), o.temperature, o.top_k, rng.uniform());
    seq.push_back(id);
    const std::string piece =
        id < static_cast<int32_t>(vocab.size()) ? vocab[size_t(id)] : std::string("\xEF\xBF\xBD");
    text += piece;
    if (emit) emit(piece);
  }
  return text;
}

}  // namespace plinth::train
