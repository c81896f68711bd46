// predict.cpp — `plinth predict`: a finished (or checkpointed) run's model,
// rebuilt from its folder as `plinth sample` does, run forward over every
// sample of a new input read by the run's own data source. The source's
// settings are those of the run's [data.eval] (else [data.train], without
// augmentation) with the file key replaced by the input; batches are read in
// order, unshuffled, the last partial one included, and each is run through
// an evaluation program compiled for its row count, exactly as the trainer
// evaluates (the same graph, matmul precision and executor), so a prediction
// of the eval data reproduces the run's eval accuracy.
// Not here: token models (refused: `plinth sample`), streaming sources.
#include "plinth/predict.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/pipeline.hpp"
#include "data/loader.hpp"
#include "data/source.hpp"
#include "exec/backend.hpp"
#include "exec/executor.hpp"
#include "exec/fallback.hpp"
#include "exec/program.hpp"
#include "exec/store.hpp"
#include "graph/build.hpp"
#include "graph/precision.hpp"
#include "plinth/log.hpp"
#include "plugin/plugin_config.hpp"
#include "run/run_folder.hpp"
#include "train/checkpoint.hpp"
#include "train/finetune.hpp"
#include "util/files.hpp"

namespace plinth {
namespace fs = std::filesystem;

namespace {

std::string shape_text(plinth_dtype dt, const std::vector<int64_t>& s) {
  std::string o = std::string(exec::dtype_name(dt)) + " (";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + (s.size() == 1 ? ",)" : ")");
}

Result<plinth_dtype> dtype_of(const run::ModelIO::Field& f, const fs::path& file, const char* key) {
  if (f.dtype == "f32") return PLINTH_DTYPE_F32;
  if (f.dtype == "i32") return PLINTH_DTYPE_I32;
  return error(errc::bad_data, file.string() + ": " + key + ".dtype '" + f.dtype + "' is not f32 or i32");
}

// The idx labels file beside `images`: "t10k-images-idx3-ubyte.gz" ->
// "t10k-labels-idx1-ubyte.gz" (MNIST's names), when it exists.
fs::path idx_labels_beside(const fs::path& images) {
  std::string name = images.filename().string();
  const std::string from = "images-idx3", to = "labels-idx1";
  const size_t k = name.find(from);
  if (k == std::string::npos) return {};
  name.replace(k, from.size(), to);
  const fs::path p = images.parent_path() / name;
  std::error_code ec;
  return fs::exists(p, ec) ? p : fs::path{};
}

// The section's file key replaced by the input (absolute, since the table's
// relative paths resolve against the run's pipeline.toml). Augmentation is
// switched off when the settings come from [data.train].
Status replace_input(config::DataSection& d, const PredictOptions& o, const fs::path& input, bool from_train,
                     const std::string& section, fs::path* labels_used) {
  std::error_code ec;
  const bool is_dir = fs::is_directory(input, ec);
  toml::table& t = d.table;
  if (d.source == "idx") {
    if (is_dir)
      return error(errc::invalid_argument,
                   input.string() + ": is a folder; the run's idx source reads an IDX images file");
    fs::path labels = o.labels.empty() ? idx_labels_beside(input) : fs::absolute(o.labels);
    if (labels.empty())
      return error(errc::invalid_argument,
                   input.string() +
                       ": the run's idx source reads images with their labels, and no labels "
                       "file was found beside it (a name with 'labels-idx1' for 'images-idx3'); "
                       "pass --labels FILE");
    if (!fs::exists(labels, ec)) return error(errc::io, labels.string() + ": no such labels file (--labels)");
    t.insert_or_assign("images", input.string());
    t.insert_or_assign("labels", labels.string());
    *labels_used = labels;
    return {};
  }
  if (!o.labels.empty())
    return error(errc::invalid_argument, "--labels is for an idx source; the run's " + section +
                                             " source is '" + d.source + "', whose input holds its labels");
  if (d.source == "csv") {
    if (is_dir)
      return error(errc::invalid_argument,
                   input.string() + ": is a folder; the run's csv source reads one CSV file");
    t.insert_or_assign("path", input.string());
    return {};
  }
  if (d.source == "images") {
    t.erase("root");
    t.erase("list");
    // A folder of class folders, or a .csv/.jsonl list of path,label.
    t.insert_or_assign(is_dir ? "root" : "list", input.string());
    if (from_train) {  // every sample once, as it is: no random crops or flips
      t.insert_or_assign("random_resized_crop", false);
      t.insert_or_assign("flip", false);
      t.insert_or_assign("pad_crop", int64_t{0});
    }
    return {};
  }
  return error(
      errc::invalid_argument,
      "the run's " + section + " source '" + d.source +
          "' has no input file that `plinth predict` knows how to replace (it replaces idx 'images', "
          "csv 'path' and images 'root'/'list')");
}

// Where the ops run, as the trainer has it: the backend, and the CPU backend
// for what it lacks unless [backend] allow_fallback = false.
std::shared_ptr<exec::Executor> make_executor(const config::Pipeline& p, const Registry& reg,
                                              std::shared_ptr<exec::Backend> backend) {
  std::shared_ptr<exec::Fallback> fallback;
  if (p.backend.allow_fallback && p.backend.name != "cpu") {
    if (auto cpu = exec::Backend::create(reg, "cpu", nullptr, 0); cpu.ok())
      fallback = std::make_shared<exec::Fallback>(backend, *cpu);
  }
  return std::make_shared<exec::Executor>(std::move(backend), std::move(fallback));
}

void put_number(std::string& s, double v, bool json) {
  if (!std::isfinite(v)) {
    s += json ? "null" : (std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf"));
    return;
  }
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back as v
  s.append(buf, r.ptr);
}
void put_number(std::string& s, float v, bool json) {
  if (!std::isfinite(v)) return put_number(s, static_cast<double>(v), json);
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  s.append(buf, r.ptr);
}

std::string csv_cell(const std::string& v) {
  if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
  std::string o = "\"";
  for (char c : v) {
    if (c == '"') o += '"';
    o += c;
  }
  return o + "\"";
}

}  // namespace

Result<PredictResult> predict(const fs::path& run_dir, std::shared_ptr<Registry> registry,
                              const PredictOptions& o, std::ostream* out) {
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  if (!fs::is_directory(run_dir, ec)) return error(errc::io, run_dir.string() + ": no such run folder");
  if (o.batch < 0) return error(errc::invalid_argument, "--batch must be > 0");
  if (o.input.empty()) return error(errc::invalid_argument, "--input is required");
  const run::Folder folder{run_dir};
  if (!fs::exists(folder.pipeline(), ec))
    return error(errc::io, run_dir.string() + ": not a Plinth run (no pipeline.toml)");
  auto p = config::load_pipeline(folder.pipeline());
  if (!p) return p.status();
  if (o.threads > 0) config::set_backend_threads(*p, o.threads);

  // What the model reads and predicts.
  auto mj = run::read_model_io(folder);
  if (!mj) return mj.status();
  graph::DataShape shape;
  auto in_dt = dtype_of(mj->input, folder.model_io(), "input");
  if (!in_dt) return in_dt.status();
  auto tg_dt = dtype_of(mj->target, folder.model_io(), "target");
  if (!tg_dt) return tg_dt.status();
  shape = {*in_dt, mj->input.shape, *tg_dt, mj->target.shape, mj->num_classes};
  if (shape.input_dtype == PLINTH_DTYPE_I32)
    return error(errc::invalid_argument,
                 run_dir.string() + ": the model reads token sequences (" +
                     shape_text(shape.input_dtype, shape.input_shape) +
                     "); `plinth predict` reads images and features. Generate text with `plinth sample " +
                     run_dir.string() + "`");
  const bool classify = p->loss.type == "cross_entropy";

  // The input: the run's own source settings with the file replaced.
  const fs::path input = fs::absolute(o.input);
  if (!fs::exists(input, ec)) return error(errc::io, o.input.string() + ": no such file or folder (--input)");
  const bool from_train = !p->eval_data.has_value();
  config::DataSection d = from_train ? p->train_data : *p->eval_data;
  const std::string section = from_train ? "[data.train]" : "[data.eval]";
  PredictResult res;
  fs::path labels_used;
  PLINTH_TRY(replace_input(d, o, input, from_train, section, &labels_used));
  res.source = "'" + d.source + "' with the settings of " + section + " in " + folder.pipeline().string();
  res.labels = labels_used.string();
  const auto cfg = make_plugin_config(d.table, folder.pipeline());
  auto src = data::Source::open(*registry, d.source, cfg.get(), "--input " + o.input.string());
  if (!src) return src.status();
  const auto& fields = (*src)->fields();
  auto field_of = [&](const std::string& name, int dflt) {
    return name.empty() ? (dflt < static_cast<int>(fields.size()) ? dflt : -1) : (*src)->field_index(name);
  };
  const int in_field = field_of(p->train_data.input_field, 0);
  const int tgt_field = field_of(p->train_data.target_field, 1);
  const std::string model_json = folder.model_io().string();
  if (in_field < 0)
    return error(errc::bad_data, o.input.string() + ": the source has no field '" +
                                     p->train_data.input_field + "' (the model's input)");
  const data::Field& fin = fields[in_field];
  if (fin.dtype != shape.input_dtype || fin.shape != shape.input_shape)
    return error(errc::bad_data, o.input.string() + ": its samples are " + shape_text(fin.dtype, fin.shape) +
                                     " (field '" + fin.name + "'), but the run's model reads " +
                                     shape_text(shape.input_dtype, shape.input_shape) + " (" + model_json +
                                     ")");
  res.labeled = tgt_field >= 0;
  if (res.labeled) {
    const data::Field& ft = fields[tgt_field];
    if (ft.dtype != shape.target_dtype || ft.shape != shape.target_shape)
      return error(errc::bad_data, o.input.string() + ": its labels are " + shape_text(ft.dtype, ft.shape) +
                                       " (field '" + ft.name + "'), but the run was trained on " +
                                       shape_text(shape.target_dtype, shape.target_shape) + " (" +
                                       model_json + ")");
  }
  const uint64_t target_bytes = [&] {
    uint64_t b = exec::dtype_size(shape.target_dtype);
    for (int64_t x : shape.target_shape) b *= static_cast<uint64_t>(x);
    return b;
  }();

  // Class names: the run's (classes.json), and the input's labels mapped
  // onto them by name when the input names its classes otherwise (a folder
  // with fewer class folders than the training data had).
  std::vector<std::string> class_names;
  if (fs::exists(folder.classes(), ec)) {
    std::ifstream f(folder.classes());
    auto j = nlohmann::json::parse(f, nullptr, false);
    if (j.is_discarded() || !j.is_array())
      return error(errc::bad_data, folder.classes().string() + ": not a JSON list of class names");
    for (const auto& x : j) class_names.push_back(x.is_string() ? x.get<std::string>() : x.dump());
  }
  std::vector<int32_t> remap;  // input label -> run label; empty: the same
  if (res.labeled && classify && !class_names.empty()) {
    auto meta = (*src)->metadata("classes");
    if (!meta) return meta.status();
    if (*meta) {
      auto j = nlohmann::json::parse(**meta, nullptr, false);
      if (j.is_array()) {
        std::vector<std::string> theirs;
        for (const auto& x : j) theirs.push_back(x.is_string() ? x.get<std::string>() : x.dump());
        if (theirs != class_names) {
          for (const auto& name : theirs) {
            auto it = std::find(class_names.begin(), class_names.end(), name);
            if (it == class_names.end())
              return error(errc::bad_data, o.input.string() + ": class '" + name +
                                               "' is not one of the run's classes (" +
                                               folder.classes().string() + ")");
            remap.push_back(static_cast<int32_t>(it - class_names.begin()));
          }
        }
      }
    }
  }

  // Weights: a given checkpoint, the final model, or the newest checkpoint.
  std::vector<NamedTensor> weights;
  if (!o.checkpoint.empty()) {
    auto c = train::read_checkpoint(o.checkpoint);
    if (!c) return c.status();
    weights = std::move(c->model);
    res.weights = (o.checkpoint / "model.safetensors").string();
  } else {
    auto w = train::read_run_weights(run_dir);
    if (!w) return w.status();
    weights = std::move(w->tensors);
    res.weights = w->from;
  }

  // The backend, as the run had it (a run written before "auto" was
  // resolved in its pipeline.toml picks again).
  if (p->backend.name == "auto") {
    auto chosen = exec::select_backend(*registry, p->backend.name, p->backend.device);
    if (!chosen) return Status(chosen.status()).with_context(folder.pipeline().string());
    p->backend.name = *chosen;
    p->backend.table.insert_or_assign("name", *chosen);
  }
  auto bcfg = make_plugin_config(p->backend.table, p->source);
  auto backend = exec::Backend::create(*registry, p->backend.name, bcfg.get(), p->backend.device);
  if (!backend) return Status(backend.status()).with_context(folder.pipeline().string() + ": [backend]");
  auto mm = graph::matmul_dtype(p->train.precision);
  if (!mm) return Status(mm.status()).with_context(folder.pipeline().string() + ": [train] precision");
  plinth_dtype matmul = *mm;
  if (matmul == PLINTH_DTYPE_BF16 && !(*backend)->properties().has_bf16) matmul = PLINTH_DTYPE_F32;
  auto executor = make_executor(*p, *registry, *backend);

  // One evaluation program per row count (the full batch and the last one).
  const int64_t B = o.batch > 0 ? o.batch : p->train.batch_size;
  auto g0 = graph::build(*p, shape, {B, false});
  if (!g0) return Status(g0.status()).with_context(folder.pipeline().string());
  if (g0->positions != 1)
    return error(errc::invalid_argument,
                 run_dir.string() + ": the model predicts at " + std::to_string(g0->positions) +
                     " positions per sample; `plinth predict` writes one prediction per sample");
  exec::Store store(*backend);
  for (const auto& prm : g0->params) {
    const auto& v = g0->values[prm.value];
    PLINTH_TRY(store.declare(v.name, exec::Store::params, PLINTH_DTYPE_F32, v.shape));
  }
  PLINTH_TRY(store.declare(g0->values[g0->loss_sum].name, exec::Store::stats, PLINTH_DTYPE_F32, {}));
  PLINTH_TRY(store.allocate());
  for (const auto& prm : g0->params) {
    const auto& v = g0->values[prm.value];
    auto it =
        std::find_if(weights.begin(), weights.end(), [&](const NamedTensor& t) { return t.name == v.name; });
    if (it == weights.end()) return error(errc::bad_data, res.weights + ": no tensor '" + v.name + "'");
    if (it->shape != v.shape || it->dtype != PLINTH_DTYPE_F32)
      return error(errc::bad_data, res.weights + ": tensor '" + v.name + "' is not the model's " +
                                       shape_text(PLINTH_DTYPE_F32, v.shape));
    PLINTH_TRY((*backend)->upload(store.buffer(exec::Store::params), store.slot(v.name).offset,
                                  it->data.data(), it->data.size()));
  }
  weights.clear();
  std::map<int64_t, std::unique_ptr<exec::Program>> progs;
  auto program = [&](int64_t rows) -> Result<exec::Program*> {
    if (auto it = progs.find(rows); it != progs.end()) return it->second.get();
    auto g = graph::build(*p, shape, {rows, false});
    if (!g) return g.status();
    if (auto pass = graph::cast_matmul_inputs(*g, matmul); !pass) return pass.status();
    auto prog = exec::Program::compile(*g, store, executor);
    if (!prog) return prog.status();
    return (progs[rows] = std::move(*prog)).get();
  };

  // Output: checked now, so a folder or device there fails before the work.
  fs::path out_file;
  if (!o.output.empty()) {
    auto t = output_target(o.output);
    if (!t) return t.status();
    out_file = o.output;
  }
  const bool json = o.format == PredictFormat::jsonl;
  const int64_t K = g0->values[g0->prediction].shape.back();  // outputs per sample
  const bool names = classify && !class_names.empty() && static_cast<int64_t>(class_names.size()) == K;
  std::string text;
  if (!json) {  // the CSV header
    text += "index";
    if (classify) {
      text += ",class";
      if (names) text += ",class_name";
      if (res.labeled) text += ",label";
      if (o.what != PredictWhat::classes)
        for (int64_t k = 0; k < K; ++k)
          text += (o.what == PredictWhat::probabilities ? ",p_" : ",logit_") + std::to_string(k);
    } else {
      for (int64_t k = 0; k < K; ++k) text += K == 1 ? ",output" : ",output_" + std::to_string(k);
      const int64_t T = static_cast<int64_t>(target_bytes / 4);
      for (int64_t k = 0; res.labeled && k < T; ++k)
        text += T == 1 ? ",label" : ",label_" + std::to_string(k);
    }
    text += '\n';
  }

  data::LoaderOptions lo;
  lo.batch = B;
  lo.shuffle = false;
  lo.drop_last = false;
  lo.workers = d.workers;
  lo.prefetch = d.prefetch;
  lo.read_seed = p->run.seed;
  data::Loader loader(*src, lo);
  const auto total = static_cast<int64_t>((*src)->size());
  loader.start_epoch(0);
  std::vector<float> logits;
  std::vector<int32_t> argmax, labels;
  std::vector<unsigned char> zeros;
  std::vector<double> prob;
  double sq_err = 0;
  int64_t sq_count = 0, index = 0;
  while (const data::Batch* b = loader.next()) {
    PLINTH_TRY(Status(b->status));
    if (o.stop_requested && o.stop_requested()) return error(errc::cancelled, "interrupted");
    const int64_t rows = b->rows;
    if (rows == 0) continue;
    auto prog = program(rows);
    if (!prog) return prog.status();
    PLINTH_TRY((*prog)->upload_input(b->fields[in_field].data(), rows * fin.sample_bytes));
    const unsigned char* target = nullptr;
    if (res.labeled) {
      target = b->fields[tgt_field].data();
      if (classify) {
        labels.resize(static_cast<size_t>(rows));
        std::memcpy(labels.data(), target, labels.size() * 4);
        for (int64_t r = 0; r < rows; ++r) {
          int32_t& l = labels[size_t(r)];
          if (!remap.empty() && l >= 0 && l < static_cast<int32_t>(remap.size())) l = remap[size_t(l)];
          if (l < 0 || l >= K)
            return error(errc::bad_data, o.input.string() + ": sample " + std::to_string(index + r) +
                                             " has label " + std::to_string(l) +
                                             ", out of range for the model's " + std::to_string(K) +
                                             " classes");
        }
        target = reinterpret_cast<const unsigned char*>(labels.data());
      }
    } else {
      zeros.assign(static_cast<size_t>(rows) * target_bytes, 0);
      target = zeros.data();
    }
    PLINTH_TRY((*prog)->upload_target(target, rows * target_bytes));
    PLINTH_TRY((*prog)->run());
    logits.resize(static_cast<size_t>(rows * K));
    PLINTH_TRY((*prog)->download_prediction(logits.data()));
    if (classify) {
      argmax.resize(static_cast<size_t>(rows));
      PLINTH_TRY((*prog)->download_argmax(argmax.data()));
    }
    for (int64_t r = 0; r < rows; ++r, ++index) {
      const float* l = logits.data() + r * K;
      if (json) {
        text += "{\"index\":" + std::to_string(index);
      } else {
        text += std::to_string(index);
      }
      if (classify) {
        const int32_t c = argmax[size_t(r)];
        const bool has_label = res.labeled;
        if (has_label) res.correct += c == labels[size_t(r)];
        if (json) {
          text += ",\"class\":" + std::to_string(c);
          if (names) text += ",\"class_name\":" + nlohmann::json(class_names[size_t(c)]).dump();
          if (has_label) text += ",\"label\":" + std::to_string(labels[size_t(r)]);
        } else {
          text += "," + std::to_string(c);
          if (names) text += "," + csv_cell(class_names[size_t(c)]);
          if (has_label) text += "," + std::to_string(labels[size_t(r)]);
        }
        if (o.what != PredictWhat::classes) {
          if (json) text += o.what == PredictWhat::probabilities ? ",\"probabilities\":[" : ",\"logits\":[";
          if (o.what == PredictWhat::probabilities) {  // softmax in double, shifted by the max
            prob.assign(l, l + K);
            const double mx = *std::max_element(prob.begin(), prob.end());
            double sum = 0;
            for (double& x : prob) sum += x = std::exp(x - mx);
            for (int64_t k = 0; k < K; ++k) {
              if (json ? k > 0 : true) text += ',';
              put_number(text, prob[size_t(k)] / sum, json);
            }
          } else {
            for (int64_t k = 0; k < K; ++k) {
              if (json ? k > 0 : true) text += ',';
              put_number(text, l[k], json);
            }
          }
          if (json) text += ']';
        }
      } else {  // regression: the outputs, and the targets when the input has them
        const auto* tv = reinterpret_cast<const float*>(target) + r * static_cast<int64_t>(target_bytes / 4);
        const int64_t T = static_cast<int64_t>(target_bytes / 4);
        if (json) text += K == 1 ? ",\"output\":" : ",\"output\":[";
        for (int64_t k = 0; k < K; ++k) {
          if (k > 0 || !json) text += ',';
          put_number(text, l[k], json);
        }
        if (json && K != 1) text += ']';
        if (res.labeled) {
          if (json) text += T == 1 ? ",\"label\":" : ",\"label\":[";
          for (int64_t k = 0; k < T; ++k) {
            if (k > 0 || !json) text += ',';
            put_number(text, tv[k], json);
          }
          if (json && T != 1) text += ']';
          if (T == K)
            for (int64_t k = 0; k < K; ++k) {
              const double e = static_cast<double>(l[k]) - tv[k];
              sq_err += e * e;
              ++sq_count;
            }
        }
      }
      text += json ? "}\n" : "\n";
    }
    if (out_file.empty() && out) {
      *out << text;
      out->flush();
      if (!*out) return error(errc::unavailable, "cannot write the predictions to the output stream");
      text.clear();
    }
    if (o.on_progress) o.on_progress(index, total);
  }
  if (o.stop_requested && o.stop_requested()) return error(errc::cancelled, "interrupted");
  if (!out_file.empty()) PLINTH_TRY(write_file_atomic(out_file, text));
  res.samples = index;
  if (res.labeled && classify && index > 0)
    res.accuracy = static_cast<double>(res.correct) / static_cast<double>(index);
  if (res.labeled && !classify && sq_count > 0) res.mse = sq_err / static_cast<double>(sq_count);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace plinth
