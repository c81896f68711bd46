// onnx_export.cpp — `plinth export RUN --onnx FILE`: the run's resolved
// pipeline, model.json and weights (LoRA merged) read back, the evaluation
// graph built with each layer writing its ONNX form (export/onnx.hpp), the
// model written with the class list or vocabulary as metadata; and the test
// data: synthetic inputs and Plinth's forward outputs for them. Not here:
// any layer's ONNX form (graph/layers/), the protobuf messages (onnx.cpp).
#include "plinth/onnx_export.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/pipeline.hpp"
#include "exec/backend.hpp"
#include "exec/program.hpp"
#include "export/onnx.hpp"
#include "graph/build.hpp"
#include "graph/layers/layer.hpp"
#include "plinth/runs.hpp"
#include "plugin/plugin_config.hpp"
#include "run/run_folder.hpp"
#include "train/finetune.hpp"
#include "train/safetensors.hpp"
#include "util/rng.hpp"

namespace plinth {
namespace fs = std::filesystem;

namespace {

Result<plinth_dtype> dtype_of(const run::ModelIO::Field& f, const fs::path& file, const char* key) {
  if (f.dtype == "f32") return PLINTH_DTYPE_F32;
  if (f.dtype == "i32") return PLINTH_DTYPE_I32;
  return error(errc::bad_data, file.string() + ": " + key + ".dtype '" + f.dtype + "' is not f32 or i32");
}

// "input: f32 (batch, 28, 28)"
std::string describe(const std::string& name, bool i32, const std::vector<int64_t>& per_sample,
                     bool sequence) {
  std::string s = name + ": " + (i32 ? "i32" : "f32") + " (batch";
  for (size_t i = 0; i < per_sample.size(); ++i)
    s += ", " + (i == 0 && sequence ? std::string("sequence") : std::to_string(per_sample[i]));
  return s + ")";
}

// Plinth's forward outputs for `inputs` (B rows) with the run's weights.
Result<std::vector<float>> forward(const config::Pipeline& pipeline, const graph::Graph& g,
                                   const std::vector<NamedTensor>& weights, const std::string& from,
                                   Registry& registry, const fs::path& run_dir,
                                   const std::vector<unsigned char>& in, size_t target_bytes) {
  config::Pipeline p = pipeline;
  if (p.backend.name == "auto") {  // a run folder written before "auto" was resolved there
    auto chosen = exec::select_backend(registry, p.backend.name, p.backend.device);
    if (!chosen) return Status(chosen.status()).with_context(run_dir.string() + "/pipeline.toml");
    p.backend.name = *chosen;
    p.backend.table.insert_or_assign("name", *chosen);
  }
  auto bcomp = registry.find(PLINTH_KIND_BACKEND, p.backend.name);
  if (!bcomp) return Status(bcomp.status()).with_context(run_dir.string() + "/pipeline.toml: [backend] name");
  auto cfg = make_plugin_config(p.backend.table, p.source);
  auto backend = exec::Backend::create(registry, p.backend.name, cfg.get(), p.backend.device);
  if (!backend) return backend.status();
  exec::Store store(*backend);
  for (const auto& prm : g.params) {
    const auto& v = g.values[prm.value];
    PLINTH_TRY(store.declare(v.name, exec::Store::params, PLINTH_DTYPE_F32, v.shape));
  }
  PLINTH_TRY(store.declare(g.values[g.loss_sum].name, exec::Store::stats, PLINTH_DTYPE_F32, {}));
  PLINTH_TRY(store.allocate());
  for (const auto& prm : g.params) {
    const auto& v = g.values[prm.value];
    auto it = std::find_if(weights.begin(), weights.end(), [&](const auto& t) { return t.name == v.name; });
    if (it == weights.end()) return error(errc::bad_data, from + ": no tensor '" + v.name + "'");
    PLINTH_TRY((*backend)->upload(store.buffer(exec::Store::params), store.slot(v.name).offset,
                                  it->data.data(), it->data.size()));
  }
  auto prog = exec::Program::compile(g, store);
  if (!prog) return prog.status();
  const std::vector<unsigned char> zeros(target_bytes, 0);
  PLINTH_TRY((*prog)->upload_input(in.data(), in.size()));
  PLINTH_TRY((*prog)->upload_target(zeros.data(), zeros.size()));
  PLINTH_TRY((*prog)->run());
  std::vector<float> out(static_cast<size_t>(g.values[g.prediction].numel()));
  PLINTH_TRY((*prog)->download_prediction(out.data()));
  return out;
}

}  // namespace

Result<OnnxExported> export_onnx(const fs::path& run_dir, const fs::path& out,
                                 std::shared_ptr<Registry> registry, const OnnxExportOptions& o) {
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) return error(errc::io, run_dir.string() + ": no such run folder");
  const bool test = !o.test_data.empty();
  if (test && (o.samples < 1 || o.samples > 4096))
    return error(errc::invalid_argument, "--samples must be in 1..4096, got " + std::to_string(o.samples));
  if (test && !registry) return error(errc::internal, "export_onnx: test data needs a plugin registry");
  const run::Folder folder{run_dir};
  if (!fs::is_regular_file(folder.pipeline(), ec))
    return error(errc::io,
                 folder.pipeline().string() + ": missing (not a run folder written by plinth train)");
  auto p = config::load_pipeline(folder.pipeline());
  if (!p) return p.status();
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
  const bool tokens = shape.input_dtype == PLINTH_DTYPE_I32;

  // The weights, LoRA merged: the graph is then built without adapters.
  auto w = train::read_run_weights(run_dir);
  if (!w) return w.status();
  OnnxExported e;
  e.from = w->from;
  if (p->model.lora.enabled) {
    auto m =
        train::merge_lora(w->tensors, p->model.lora.alpha / static_cast<double>(p->model.lora.rank), w->from);
    if (!m) return m.status();
    e.merged_layers = *m;
    p->model.lora.enabled = false;
    p->model.lora.targets.clear();
  }
  p->train.freeze.clear();  // nothing trains here; patterns may name the adapters

  graph::OnnxContext x(w->tensors, w->from);
  x.sequence_dynamic = tokens && shape.input_shape.size() == 1;
  graph::BuildOptions bo;
  bo.batch = test ? o.samples : 2;
  bo.training = false;
  bo.onnx = &x;
  auto g = graph::build(*p, shape, bo);
  if (!g) return g.status();

  std::vector<std::pair<std::string, std::string>> meta{{"plinth_version", PLINTH_VERSION},
                                                        {"pipeline", p->run.name}};
  if (fs::is_regular_file(folder.classes(), ec)) {
    std::ifstream f(folder.classes());
    std::stringstream ss;
    ss << f.rdbuf();
    auto j = run::json::parse(ss.str(), nullptr, false);
    if (j.is_discarded() || !j.is_array())
      return error(errc::bad_data, folder.classes().string() + ": not a JSON array of class names");
    meta.emplace_back("classes", j.dump());
  }
  if (fs::is_regular_file(folder.vocab(), ec)) {
    auto v = run::read_vocab(folder);
    if (!v) return v.status();
    meta.emplace_back("vocabulary", run::json(*v).dump());
  }
  const std::vector<int64_t>& ys = g->values[g->prediction].shape;
  auto bytes = x.model(p->run.name, "input", tokens, shape.input_shape, g->prediction, ys, "logits", meta);
  if (!bytes) return bytes.status();
  PLINTH_TRY(write_file_atomic(out, *bytes));
  e.nodes = x.node_count();
  e.initializers = x.initializer_count();
  e.input = describe("input", tokens, shape.input_shape, x.sequence_dynamic);
  const bool seq_out = x.sequence_dynamic && ys.size() >= 2 && ys[1] == shape.input_shape[0];
  e.output = describe("logits", false, {ys.begin() + 1, ys.end()}, seq_out);
  if (!test) return e;

  // Test data: synthetic rows (pixels/features in [0, 1), token ids below
  // the vocabulary) and Plinth's outputs for them.
  const int64_t B = o.samples;
  const int64_t per = g->values[g->input].numel() / B;
  SplitMix64 rng(o.seed);
  NamedTensor input{"input", shape.input_dtype, g->values[g->input].shape, {}};
  input.data.resize(static_cast<size_t>(B * per) * 4);
  const uint64_t V = shape.num_classes > 0 ? static_cast<uint64_t>(shape.num_classes) : 1;
  for (int64_t i = 0; i < B * per; ++i) {
    if (tokens) {
      const auto id = static_cast<int32_t>(rng.below(V));
      std::memcpy(input.data.data() + i * 4, &id, 4);
    } else {
      const auto f = static_cast<float>(rng.uniform());
      std::memcpy(input.data.data() + i * 4, &f, 4);
    }
  }
  const size_t target_bytes = static_cast<size_t>(g->values[g->target].numel()) * 4;
  auto y = forward(*p, *g, w->tensors, w->from, *registry, run_dir, input.data, target_bytes);
  if (!y) return y.status();
  NamedTensor logits{"logits", PLINTH_DTYPE_F32, ys, {}};
  logits.data.resize(y->size() * 4);
  std::memcpy(logits.data.data(), y->data(), logits.data.size());
  fs::create_directories(o.test_data, ec);
  if (ec) return error(errc::io, o.test_data.string() + ": cannot create the folder: " + ec.message());
  PLINTH_TRY(write_safetensors(o.test_data / "inputs.safetensors", {input}));
  PLINTH_TRY(write_safetensors(o.test_data / "outputs.safetensors", {logits}));
  return e;
}

}  // namespace plinth
