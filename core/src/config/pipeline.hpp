// pipeline.hpp — the typed, validated pipeline: what a pipeline.toml says,
// with every default filled in. Built by config/pipeline.cpp from TOML++;
// every error names file:line:column and the key. Plugin-specific keys are
// kept as TOML tables and handed to the plugin (plugin_config.hpp). Each key's
// type, default and rule are in config/pipeline_schema.cpp; the initialisers
// below must equal those defaults (a test checks).
// Not here: building the model (graph/) or running it (train/).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "config/layer_spec.hpp"
#include "plinth/status.hpp"

namespace plinth::config {

struct RunSection {                        // [run]
  std::string name;                        // default: the pipeline file's stem
  uint64_t seed = 0;                       // default 0
  std::filesystem::path out_dir = "runs";  // relative to the working directory
};

struct BackendSection {  // [backend]
  std::string name = "cpu";
  int device = 0;
  int threads = 0;             // 0: all cores (passed on to the backend)
  bool allow_fallback = true;  // false: an op the backend lacks is an error
  toml::table table;           // the whole [backend] table, for the plugin
};

struct DataSection {    // [data.train] / [data.eval]
  std::string source;   // data-source component name: "idx", "csv", "synthetic"
  bool shuffle = true;  // train default true, eval default false
  bool drop_last = false;
  int workers = 2;           // prefetch threads
  int prefetch = 4;          // batches queued ahead
  std::string input_field;   // default: the first field
  std::string target_field;  // default: the second field
  toml::table table;         // plugin keys (core keys removed)
};

// LayerSpec: one layer of [[model.layer]] or of a block (config/layer_spec.hpp).

struct BlockSpec {  // one [[model.block]]: a named layer sequence used by `block` layers
  std::string name;
  bool residual = false;  // y = x + layers(x)
  std::vector<LayerSpec> layers;
  toml::source_region where;
};

struct LoraSection {                 // [model.lora]: low-rank adapters on linear layers
  bool enabled = false;              // the section is present
  int64_t rank = 8;                  // r: A is (r, in), B is (out, r)
  double alpha = 0.0;                // y = x W^T + (alpha / r) x A^T B^T; default: alpha = rank
  std::vector<std::string> targets;  // glob patterns of linear layer names ("*.attn.c_attn")
  toml::source_region where;         // for errors about the targets
};

struct ModelSection {  // [model]
  std::vector<LayerSpec> layers;
  std::vector<BlockSpec> blocks;
  LoraSection lora;
  std::string init = "torch";  // torch (PyTorch's defaults) | gpt2 (N(0, 0.02), scaled residual outputs)
  const BlockSpec* block(const std::string& name) const {
    for (const auto& b : blocks)
      if (b.name == name) return &b;
    return nullptr;
  }
};

struct LossSection {                   // [loss]
  std::string type = "cross_entropy";  // cross_entropy | mse
  double label_smoothing = 0.0;        // cross_entropy: in [0, 1)
};

struct OptimizerSection {      // [optimizer]
  std::string name = "adamw";  // optimizer component name
  toml::table table;           // the whole table, for the plugin (lr, betas, weight_decay ...)
};

struct ScheduleSection {          // [schedule]
  std::string type = "constant";  // constant | step | linear | cosine | one_cycle | plateau
  int64_t warmup_steps = 0;
  double min_lr = 0.0;      // floor for cosine/linear, as an absolute lr
  int64_t step_size = 0;    // step: decay every step_size optimizer steps
  double gamma = 0.1;       // step, plateau: factor
  double max_lr = 0.0;      // one_cycle: peak (default: optimizer lr)
  double pct_start = 0.3;   // one_cycle
  int64_t patience = 10;    // plateau: evaluations without improvement
  double threshold = 1e-4;  // plateau: relative improvement that counts
};

struct InitSection {  // [init]: start from trained weights (fine-tuning)
  // A run folder (its final model.safetensors, else its newest good
  // checkpoint) or a .safetensors file; relative to the working directory,
  // like [run] out_dir. Empty: no [init] section.
  std::filesystem::path from;
  // Glob patterns of the model's parameter names to load; each must match a
  // parameter, and each matched parameter must be in the file. Empty: every
  // parameter the file has (the rest keep their fresh initialisation).
  std::vector<std::string> include;
  // File tensor name prefix -> model parameter name prefix, tried in order
  // ("transformer." -> "" reads a file whose names carry that prefix).
  std::vector<std::pair<std::string, std::string>> rename;
  toml::source_region where;
};

// [train.progressive]: progressive resizing (FFCV's ResNet recipe). The
// training resolution of epoch e (0-based) is min_res up to start_ramp,
// max_res from end_ramp on, and in between the linear interpolation rounded
// to a multiple of `step` (train/progressive.hpp). Evaluation is always at
// the data's own size.
struct ProgressiveSection {
  bool enabled = false;       // the section is present
  int64_t min_res = 0;        // side in pixels at the start (required)
  int64_t max_res = 0;        // side at the end; 0: the input field's own size
  int64_t start_ramp = 0;     // last epoch at min_res
  int64_t end_ramp = 0;       // first epoch at max_res (required, > start_ramp)
  int64_t step = 4;           // resolutions in between are multiples of this
  toml::source_region where;  // the section, for errors found against the data and model
};

struct TrainSection {     // [train]
  int64_t epochs = 1;     // used when max_steps == 0
  int64_t max_steps = 0;  // optimizer steps; 0: run `epochs`
  int64_t batch_size = 32;
  int64_t eval_every = 0;     // optimizer steps; 0: at the end of each epoch
  int64_t log_every = 50;     // optimizer steps between metric lines
  std::string target_metric;  // "eval.accuracy" | "eval.loss"; empty: none
  double target_value = 0.0;  // reaching it records time-to-target
  bool stop_at_target = false;
  int64_t grad_accum = 1;             // micro-batches per optimizer step (>= 1)
  double clip_grad_norm = 0.0;        // clip the global gradient norm to this; 0: off
  std::string precision = "fp32";     // fp32 | bf16 | fp16 (mixed precision, fp32 master weights)
  std::string on_nonfinite = "stop";  // non-finite gradients: "stop" (error) | "skip" (drop the update)
  int64_t max_nonfinite = 10;         // skip: consecutive skipped steps before giving up (>= 1)
  std::vector<std::string> freeze;    // glob patterns of parameters kept fixed (no gradient, no state)
  toml::source_region freeze_where;   // for errors about the patterns
  // Dynamic loss scaling (torch.cuda.amp.GradScaler): the loss is scaled by S
  // before backward, gradients unscaled before clipping and the update; a
  // non-finite step multiplies S by `backoff` and is skipped, `interval`
  // clean steps in a row multiply it by `growth`. Default on for fp16 only.
  bool loss_scaling = false;
  double loss_scale_init = 65536.0;           // > 0
  int64_t loss_scale_growth_interval = 2000;  // >= 1
  double loss_scale_growth = 2.0;             // > 1
  double loss_scale_backoff = 0.5;            // in (0, 1)
  ProgressiveSection progressive;             // [train.progressive]
};

struct CheckpointSection {                // [checkpoint]
  int64_t every_steps = 0;                // optimizer steps between checkpoints; 0: off
  double every_minutes = 0.0;             // wall-clock minutes between checkpoints; 0: off
  int64_t keep_last = 3;                  // newest checkpoints kept (>= 1)
  int64_t keep_best = 0;                  // best checkpoints kept besides, by best_metric
  std::string best_metric = "eval.loss";  // eval.loss | eval.accuracy
  std::string best_mode;                  // min | max; default: min for eval.loss, max for eval.accuracy
  bool at_end = true;                     // also when training ends (done, interrupted or stopped early)
  // A checkpoint that cannot be written (disk full, folder read-only):
  // "continue" warns and trains on (the previous checkpoints stay valid);
  // "stop" ends the run with the error (exit 1).
  std::string on_error = "continue";
};

struct EarlyStopSection {  // [early_stop]; off unless the section is present
  bool enabled = false;
  std::string metric = "eval.loss";  // eval.loss | eval.accuracy
  std::string mode;                  // min | max; default: min for eval.loss, max for eval.accuracy
  int64_t patience = 5;              // evaluations without improvement before stopping (>= 1)
  double min_delta = 0.0;            // an improvement must beat the best by more than this
};

// [distributed]: data-parallel training when a launcher (mpirun, srun)
// started several processes. One process never creates a communicator.
struct DistributedSection {
  bool present = false;               // the section was written (resolve writes it back only then)
  std::string communicator = "auto";  // "auto" (highest-scoring comm plugin), "none", or a component name
  double bucket_mb = 4.0;             // gradient bytes per all-reduce bucket (MiB)
  double timeout = 300.0;             // seconds a collective may wait for a silent rank
  std::string compression = "none";   // none | bf16 | fp16: the dtype gradients travel in; powersgd: low rank
  int64_t powersgd_rank = 4;          // powersgd: rank of each compressed gradient matrix
  int64_t powersgd_warmup_steps = 10;  // powersgd: optimizer steps all-reduced uncompressed first
  // How often ranks meet: every_step (gradients all-reduced each step),
  // local_sgd (parameters averaged every sync_every steps), diloco (an outer
  // Nesterov step on the averaged delta every sync_every steps), delayed (the
  // all-reduce of step k overlaps step k+1 and is applied one step late).
  std::string sync = "every_step";
  int64_t sync_every = 8;         // local_sgd, diloco: optimizer steps between meetings (H)
  int64_t sync_warmup_steps = 0;  // local_sgd, diloco: synchronous steps first
  double outer_lr = 0.7;          // diloco: the outer optimizer's learning rate
  double outer_momentum = 0.9;    // diloco: its Nesterov momentum
};

struct PluginsSection {                          // [plugins]
  std::vector<std::filesystem::path> manifests;  // resolved against the pipeline's folder
  bool allow_insecure_plugins = false;           // load plugin files others may write (TrustPolicy)
  bool require_signature = false;                // every library needs a trusted minisign signature
};

struct Pipeline {
  std::filesystem::path source;  // the pipeline file
  RunSection run;
  BackendSection backend;
  DataSection train_data;                // [data.train], required
  std::optional<DataSection> eval_data;  // [data.eval]
  // [data.replay]: old data mixed into [data.train] while fine-tuning on new
  // data (data::Source::mix); `replay_fraction` of each epoch's samples.
  std::optional<DataSection> replay_data;
  double replay_fraction = 0.0;
  ModelSection model;
  InitSection init;
  LossSection loss;
  OptimizerSection optimizer;
  ScheduleSection schedule;
  TrainSection train;
  CheckpointSection checkpoint;
  EarlyStopSection early_stop;
  PluginsSection plugins;
  DistributedSection distributed;
  toml::table document;  // the parsed file (with the overrides applied), for plinth resolve
  // The `--set key=value` arguments applied to the file before it was read,
  // in order, as given (config/overrides.hpp).
  std::vector<std::string> overrides;
};

// Parse and validate a pipeline file. Errors (errc::config) read
// "<file>:<line>:<col>: <key>: <what>" with a "did you mean" for unknown keys.
// A TOML file parsed, errors as "file:line:col: syntax: ..." (other tools' files: sweep, retrain).
Result<toml::table> load_toml(const std::filesystem::path& file);
// `overrides` ("key=value" each, from --set) are applied in order to the
// parsed file first; an error about an overridden value names its argument.
Result<Pipeline> load_pipeline(const std::filesystem::path& file,
                               std::span<const std::string> overrides = {});
// [backend] threads = n, in the parsed value and in the table the backend
// plugin reads (a command-line override must change both).
void set_backend_threads(Pipeline& p, int threads);
// Parse from a string (tests); `source` names it in errors.
Result<Pipeline> parse_pipeline(std::string_view text, const std::filesystem::path& source,
                                std::span<const std::string> overrides = {});
// The pipeline with every default filled in, as TOML text; parse_pipeline
// reads it back to an equal Pipeline (plugin manifests are absolute paths).
std::string resolved_toml(const Pipeline& p);

// Checks a plugin-owned table (e.g. p.backend.table, "backend") against the
// keys the plugin declares plus the core's own keys of that section; an
// unknown key is an errc::config Status "<file>:<line>:<col>: section.key:
// unknown key (did you mean 'x'?)". Positions need the table as parsed
// (a copied toml++ node loses its position; moving keeps it).
Status check_plugin_keys(const toml::table& table, std::string_view section,
                         std::span<const std::string> declared, std::span<const std::string_view> core_keys,
                         const std::filesystem::path& source);
// The core keys of each plugin-owned section, for check_plugin_keys.
inline constexpr std::string_view kBackendCoreKeys[] = {"name", "device", "threads", "allow_fallback"};
inline constexpr std::string_view kOptimizerCoreKeys[] = {"name"};

}  // namespace plinth::config
