// pipeline_schema.cpp — one table per section of pipeline.toml: each key's
// type (from its member), default, rule and docs line. The order of a table is
// the order keys are read, listed in "expected one of" and written by
// `plinth resolve`. The layers and blocks of [model] are not here.
#include "config/pipeline_schema.hpp"

namespace plinth::config {
namespace {

constexpr std::string_view kInits[] = {"torch", "gpt2"};
constexpr std::string_view kLossTypes[] = {"cross_entropy", "mse"};
constexpr std::string_view kScheduleTypes[] = {"constant", "step",      "linear",
                                               "cosine",   "one_cycle", "plateau"};
constexpr std::string_view kNonfinite[] = {"stop", "skip"};
constexpr std::string_view kCheckpointOnError[] = {"continue", "stop"};
constexpr std::string_view kCompressions[] = {"none", "bf16", "fp16", "powersgd"};
constexpr std::string_view kSyncModes[] = {"every_step", "local_sgd", "diloco", "delayed"};
constexpr std::string_view kEvalMetrics[] = {"eval.loss", "eval.accuracy"};
constexpr std::string_view kModes[] = {"min", "max"};
constexpr std::string_view kTargetMetrics[] = {"", "eval.accuracy", "eval.loss"};
constexpr std::string_view kPrecisions[] = {"fp32", "bf16", "fp16"};

}  // namespace

std::string default_mode(const std::string& metric) { return metric == "eval.accuracy" ? "max" : "min"; }

const Section<RunSection>& run_schema() {
  using S = RunSection;
  static const Section<S> s{
      "run",
      "## [run]",
      {
          // The default, the file's stem, is set by the caller: it is not the table's to know.
          {{.name = "name",
            .doc =
                "run name; outputs go to `<out_dir>/<name>/`, so it is one folder name (no `/`, not `.` or "
                "`..`, no control characters)",
            .doc_default = "the file's stem (`mnist.toml` → `mnist`)",
            .check = non_empty()},
           &S::name},
          {{.name = "seed",
            .def = "0",
            .doc = "seeds initialisation, shuffling and dropout",
            .check = at_least(0)},
           &S::seed},
          {{.name = "out_dir",
            .def = "\"runs\"",
            .doc = "where runs are written, relative to the working directory; created when absent. A file "
                   "or device there or at `<out_dir>/<name>` is refused (exit 2), a folder that cannot be "
                   "created (read-only) is a run-time failure (exit 1)",
            .check = non_empty()},
           &S::out_dir},
      }};
  return s;
}

const Section<BackendSection>& backend_schema() {
  using S = BackendSection;
  static const Section<S> s{
      "backend",
      "## [backend]",
      {
          {{.name = "name",
            .def = "\"cpu\"",
            .doc = "backend component (`cpu`, `cuda`, `hip`, or a vendor's), or `\"auto\"`",
            .check = non_empty()},
           &S::name},
          {{.name = "device", .def = "0", .doc = "device index on that backend", .check = at_least(0)},
           &S::device},
          {{.name = "threads",
            .def = "0",
            .doc = "worker threads; `0`: `OMP_NUM_THREADS` when set, else the cores this process may use "
                   "divided among the ranks a launcher started on this machine (the log says which)",
            .check = at_least(0)},
           &S::threads},
          {{.name = "allow_fallback",
            .def = "true",
            .doc = "an op the backend lacks runs on the CPU backend; `false` makes it an error"},
           &S::allow_fallback},
      },
      "passed to the backend plugin"};
  return s;
}

const Section<DataSection>& data_schema() {
  using S = DataSection;
  static const Section<S> s{
      "data.train",
      "## [data.train] (required) and [data.eval]",
      {
          {{.name = "source",
            .doc = "data-source component: `idx`, `csv`, `synthetic`, `tokens`, `text`, …",
            .required = "the data-source component, e.g. \"idx\", \"csv\"",
            .check = non_empty()},
           &S::source},
          // Its default differs by split: the caller sets it (false for [data.eval]).
          {{.name = "shuffle",
            .doc = "reshuffle sample order each epoch",
            .doc_default = "`true` for train, `false` for eval"},
           &S::shuffle},
          {{.name = "drop_last", .def = "false", .doc = "drop a last partial batch"}, &S::drop_last},
          {{.name = "workers", .def = "2", .doc = "prefetch threads", .check = within(0, 256, "[]")},
           &S::workers},
          {{.name = "prefetch", .def = "4", .doc = "batches queued ahead", .check = within(1, 4096, "[]")},
           &S::prefetch},
          {{.name = "input_field",
            .def = "\"\"",
            .doc = "field fed to the model",
            .doc_default = "`\"\"` = the source's first field"},
           &S::input_field},
          {{.name = "target_field",
            .def = "\"\"",
            .doc = "field the loss compares with",
            .doc_default = "`\"\"` = the source's second field"},
           &S::target_field},
      },
      "passed to the data-source plugin (file paths, sizes, …); paths are relative to the pipeline file's "
      "folder"};
  return s;
}

const Section<ModelSection>& model_schema() {
  using S = ModelSection;
  static const Section<S> s{
      "model",
      "",  // documented in prose beside the layer tables
      {
          {{.name = "layer", .type = KeyType::table, .doc = "the model's layers, in order ([[model.layer]])"},
           std::monostate{}},
          {{.name = "block", .type = KeyType::table, .doc = "named layer sequences ([[model.block]])"},
           std::monostate{}},
          {{.name = "init",
            .def = "\"torch\"",
            .doc =
                "`\"torch\"` (PyTorch's module defaults) or `\"gpt2\"` (N(0, 0.02), scaled residual outputs)",
            .check = one_of(kInits, "init")},
           &S::init},
          {{.name = "lora", .type = KeyType::table, .doc = "low-rank adapters ([model.lora])"},
           std::monostate{}},
      }};
  return s;
}

const Section<LoraSection>& lora_schema() {
  using S = LoraSection;
  static const Section<S> s{
      "model.lora",
      "### LoRA adapters: `[model.lora]`",
      {
          {{.name = "rank", .def = "8", .doc = "r", .check = within(1, 65536, "[]")}, &S::rank},
          {{.name = "alpha",
            .doc = "the adapters' output is scaled by alpha / rank",
            .doc_default = "`rank`",
            .check = above(0)},
           &S::alpha,
           [](S& l) { l.alpha = static_cast<double>(l.rank); }},
          {{.name = "targets",
            .doc = "linear layers to adapt, by name: a layer's name is its weight's without `.weight` "
                   "(`h.0.attention.attn.c_attn`); `*` matches across dots. Each pattern must match at least "
                   "one layer that has its own weight (a tied `lm_head` has none)",
            .doc_type = "array of glob patterns",
            .required = "glob patterns of the linear layers to adapt, e.g. [\"*.c_attn\"]"},
           &S::targets},
      }};
  return s;
}

const Section<InitSection>& init_schema() {
  using S = InitSection;
  static const Section<S> s{
      "init",
      "## [init]: start from trained weights",
      {
          {{.name = "from",
            .doc = "a run folder (its final `model.safetensors`, or else its newest good checkpoint) or a "
                   "`.safetensors` file. Relative to the working directory, like `[run] out_dir` (not to the "
                   "pipeline's folder)",
            .required = "a run folder or a .safetensors file",
            .check = non_empty()},
           &S::from},
          {{.name = "include",
            .def = "[]",
            .doc =
                "only the parameters matching a pattern are loaded; each pattern must match a parameter, and "
                "each parameter it matches must be in the file (with `include` absent, every parameter the "
                "file has is loaded and the rest are left as initialised)",
            .doc_default = "all",
            .doc_type = "array of glob patterns"},
           &S::include},
          {{.name = "rename",
            .def = "{}",
            .doc =
                "the file's tensor names are rewritten before matching: the first rule whose prefix a name "
                "starts with replaces it (`{ \"transformer.\" = \"\" }` reads a file whose names carry that "
                "prefix)",
            .doc_default = "none",
            .doc_type = "table of prefix = \"new prefix\""},
           &S::rename},
      }};
  return s;
}

const Section<LossSection>& loss_schema() {
  using S = LossSection;
  static const Section<S> s{
      "loss",
      "## [loss]",
      {
          {{.name = "type",
            .def = "\"cross_entropy\"",
            .doc = "`cross_entropy` (softmax + negative log-likelihood on class indices) or `mse`",
            .check = one_of(kLossTypes, "loss type")},
           &S::type},
          {{.name = "label_smoothing",
            .def = "0.0",
            .doc = "cross_entropy: the target is (1 − *s*)·onehot + *s*/*C* for *C* classes (torch's "
                   "`cross_entropy(label_smoothing = s)`); training only, evaluation's loss is plain "
                   "cross-entropy",
            .check = within(0, 1, "[)")},
           &S::label_smoothing},
      }};
  return s;
}

const Section<OptimizerSection>& optimizer_schema() {
  using S = OptimizerSection;
  static const Section<S> s{"optimizer",
                            "## [optimizer]",
                            {
                                {{.name = "name",
                                  .def = "\"adamw\"",
                                  .doc = "optimizer component (`sgd`, `adamw`, `lion`, …; "
                                         "`plugins/optim/README.md` lists each one's keys)",
                                  .check = non_empty()},
                                 &S::name},
                            },
                            "passed to the optimizer plugin: `lr`, `betas`, `weight_decay`, `momentum`, …"};
  return s;
}

const Section<ScheduleSection>& schedule_schema() {
  using S = ScheduleSection;
  static const Section<S> s{
      "schedule",
      "## [schedule]",
      {
          {{.name = "type",
            .def = "\"constant\"",
            .doc = "`constant`, `step`, `linear`, `cosine`, `one_cycle`, `plateau`",
            .used_by = "all",
            .check = one_of(kScheduleTypes, "schedule type")},
           &S::type},
          {{.name = "warmup_steps",
            .def = "0",
            .doc = "linear warmup: lr = *b*·*s*/*W* for *s* ≤ *W*, rising from *b*/*W* to *b*",
            .used_by = "all but one_cycle",
            .check = at_least(0)},
           &S::warmup_steps},
          {{.name = "min_lr",
            .def = "0.0",
            .doc = "final lr (linear, cosine) / floor (plateau), absolute",
            .used_by = "linear, cosine, plateau",
            .check = at_least(0)},
           &S::min_lr},
          {{.name = "step_size",
            .def = "0",
            .doc = "decay every `step_size` steps",
            .used_by = "step (needs > 0)",
            .check = at_least(0)},
           &S::step_size},
          {{.name = "gamma",
            .def = "0.1",
            .doc = "multiplicative decay factor",
            .used_by = "step, plateau (< 1)",
            .check = above(0)},
           &S::gamma},
          {{.name = "max_lr",
            .def = "0.0",
            .doc = "peak lr",
            .doc_default = "`0.0` = the optimizer's `lr`",
            .used_by = "one_cycle",
            .check = at_least(0)},
           &S::max_lr},
          {{.name = "pct_start",
            .def = "0.3",
            .doc = "fraction of the run spent rising",
            .used_by = "one_cycle",
            .check = within(0, 1, "()")},
           &S::pct_start},
          {{.name = "patience",
            .def = "10",
            .doc = "evaluations without improvement tolerated; the next one reduces the lr",
            .used_by = "plateau",
            .check = at_least(0)},
           &S::patience},
          {{.name = "threshold",
            .def = "1e-4",
            .doc = "relative improvement that counts: better iff loss < best·(1 − threshold)",
            .used_by = "plateau",
            .check = at_least(0)},
           &S::threshold},
      }};
  return s;
}

const Section<TrainSection>& train_schema() {
  using S = TrainSection;
  static const Section<S> s{
      "train",
      "## [train]",
      {
          // epochs' rule involves max_steps: checked in pipeline.cpp.
          {{.name = "epochs",
            .def = "1",
            .doc = "passes over the training data; must be ≥ 1 unless `max_steps` > 0"},
           &S::epochs},
          {{.name = "max_steps",
            .def = "0",
            .doc = "optimizer steps to run; `0` = run `epochs`",
            .check = at_least(0)},
           &S::max_steps},
          {{.name = "batch_size", .def = "32", .doc = "samples per batch (per process)", .check = above(0)},
           &S::batch_size},
          {{.name = "eval_every",
            .def = "0",
            .doc =
                "optimizer steps between evaluations; `0` = at the end of each epoch (and at the last step)",
            .check = at_least(0)},
           &S::eval_every},
          {{.name = "log_every",
            .def = "50",
            .doc = "optimizer steps between metric lines",
            .check = at_least(1)},
           &S::log_every},
          {{.name = "target_metric",
            .def = "\"\"",
            .doc = "`eval.accuracy` (higher is better) or `eval.loss` (lower is better)",
            .doc_default = "`\"\"` (none)",
            .check = one_of(kTargetMetrics, "target metric")},
           &S::target_metric},
          {{.name = "target_value", .def = "0.0", .doc = "reaching it records the time-to-target"},
           &S::target_value},
          {{.name = "stop_at_target",
            .def = "false",
            .doc = "stop once the target is reached (needs `target_metric`)"},
           &S::stop_at_target},
          {{.name = "grad_accum",
            .def = "1",
            .doc = "batches (micro-batches) accumulated per optimizer step",
            .check = at_least(1)},
           &S::grad_accum},
          {{.name = "clip_grad_norm",
            .def = "0.0",
            .doc = "clip the global gradient norm to this; `0` = no clipping",
            .check = at_least(0)},
           &S::clip_grad_norm},
          {{.name = "precision",
            .def = "\"fp32\"",
            .doc =
                "`fp32`, `bf16` or `fp16`: the dtype of matmul inputs (mixed precision; weights, gradients, "
                "optimizer state and every other op stay fp32)",
            .check = one_of(kPrecisions, "precision")},
           &S::precision},
          {{.name = "on_nonfinite",
            .def = "\"stop\"",
            .doc = "what a step with a NaN or infinite gradient does: `stop` (the run ends with an error, "
                   "the bad "
                   "update not applied) or `skip` (the update is dropped and training goes on)",
            .check = one_of(kNonfinite, "non-finite policy")},
           &S::on_nonfinite},
          {{.name = "max_nonfinite",
            .def = "10",
            .doc = "with `skip`: this many skipped steps in a row end the run with an error",
            .check = at_least(1)},
           &S::max_nonfinite},
          // bf16 keeps f32's exponent range: no scaling needed.
          {{.name = "loss_scaling",
            .doc = "dynamic loss scaling (PyTorch's `GradScaler`)",
            .doc_default = "`true` for `fp16`, else `false`"},
           &S::loss_scaling,
           [](S& t) { t.loss_scaling = t.precision == "fp16"; }},
          {{.name = "loss_scale_init",
            .def = "65536.0",
            .doc = "the loss scale *S* at the start of the run",
            .check = above(0)},
           &S::loss_scale_init},
          {{.name = "loss_scale_growth_interval",
            .def = "2000",
            .doc = "clean steps in a row after which *S* grows",
            .check = at_least(1)},
           &S::loss_scale_growth_interval},
          {{.name = "loss_scale_growth", .def = "2.0", .doc = "the factor *S* grows by", .check = above(1)},
           &S::loss_scale_growth},
          {{.name = "loss_scale_backoff",
            .def = "0.5",
            .doc = "the factor *S* shrinks by on a non-finite step",
            .check = within(0, 1, "()")},
           &S::loss_scale_backoff},
          {{.name = "freeze",
            .def = "[]",
            .doc = "parameters kept fixed (see **Freezing** below)",
            .doc_type = "array of glob patterns",
            .omit_empty = true},
           &S::freeze},
          {{.name = "progressive",
            .type = KeyType::table,
            .doc = "progressive resizing ([train.progressive], below)",
            .doc_default = "none"},
           std::monostate{}},
      }};
  return s;
}

const Section<ProgressiveSection>& progressive_schema() {
  using S = ProgressiveSection;
  static const Section<S> s{
      "train.progressive",
      "### Progressive resizing: `[train.progressive]`",
      {
          {{.name = "min_res",
            .doc = "image side in pixels the training starts at",
            .required = "the starting resolution, e.g. 20",
            .check = within(1, 65536, "[]")},
           &S::min_res},
          {{.name = "max_res",
            .def = "0",
            .doc = "image side in pixels from `end_ramp` on; `0` = the input field's own size",
            .check = within(0, 65536, "[]")},
           &S::max_res},
          {{.name = "start_ramp",
            .def = "0",
            .doc = "the last epoch (counted from 0) at `min_res`",
            .check = at_least(0)},
           &S::start_ramp},
          {{.name = "end_ramp",
            .doc = "the first epoch (counted from 0) at `max_res`; must be above `start_ramp`",
            .required = "the epoch the ramp ends at",
            .check = at_least(1)},
           &S::end_ramp},
          {{.name = "step",
            .def = "4",
            .doc = "resolutions on the ramp are rounded to a multiple of this",
            .check = within(1, 1024, "[]")},
           &S::step},
      }};
  return s;
}

const Section<CheckpointSection>& checkpoint_schema() {
  using S = CheckpointSection;
  static const Section<S> s{
      "checkpoint",
      "## [checkpoint]",
      {
          {{.name = "every_steps",
            .def = "0",
            .doc = "optimizer steps between checkpoints; `0` = not by steps",
            .check = at_least(0)},
           &S::every_steps},
          {{.name = "every_minutes",
            .def = "0.0",
            .doc = "wall-clock minutes between checkpoints; `0` = not by time",
            .check = at_least(0)},
           &S::every_minutes},
          {{.name = "keep_last", .def = "3", .doc = "the newest checkpoints kept", .check = at_least(1)},
           &S::keep_last},
          {{.name = "keep_best",
            .def = "0",
            .doc = "also keep this many best checkpoints by `best_metric` (needs `[data.eval]`)",
            .check = at_least(0)},
           &S::keep_best},
          {{.name = "best_metric",
            .def = "\"eval.loss\"",
            .doc = "`eval.loss` or `eval.accuracy`: the latest evaluation's value when the checkpoint is "
                   "written",
            .check = one_of(kEvalMetrics, "metric")},
           &S::best_metric},
          {{.name = "best_mode",
            .doc = "whether lower or higher is better",
            .doc_default = "`\"min\"` for `eval.loss`, `\"max\"` for `eval.accuracy`",
            .check = one_of(kModes, "mode")},
           &S::best_mode,
           [](S& c) { c.best_mode = default_mode(c.best_metric); }},
          {{.name = "at_end",
            .def = "true",
            .doc = "also write one when training ends: finished, interrupted with Ctrl-C, SIGTERM or SIGHUP, "
                   "stopped early or at the target"},
           &S::at_end},
          {{.name = "on_error",
            .def = "\"continue\"",
            .doc =
                "a checkpoint that cannot be written (disk full, folder read-only): `\"continue\"` logs one "
                "warning naming the file, the error and the newest good checkpoint, and trains on (the count "
                "is in `summary.json` as `checkpoint_failures` and on the final line); `\"stop\"` ends the "
                "run "
                "with that error (exit 1). Either way the half-written folder is removed and the earlier "
                "checkpoints are untouched",
            .check = one_of(kCheckpointOnError, "policy")},
           &S::on_error},
      }};
  return s;
}

const Section<EarlyStopSection>& early_stop_schema() {
  using S = EarlyStopSection;
  static const Section<S> s{"early_stop",
                            "## [early_stop]",
                            {
                                {{.name = "metric",
                                  .def = "\"eval.loss\"",
                                  .doc = "`eval.loss` or `eval.accuracy` (the latter needs `cross_entropy`)",
                                  .check = one_of(kEvalMetrics, "metric")},
                                 &S::metric},
                                {{.name = "mode",
                                  .doc = "whether lower or higher is better",
                                  .doc_default = "`\"min\"` for `eval.loss`, `\"max\"` for `eval.accuracy`",
                                  .check = one_of(kModes, "mode")},
                                 &S::mode,
                                 [](S& e) { e.mode = default_mode(e.metric); }},
                                {{.name = "patience",
                                  .def = "5",
                                  .doc = "evaluations in a row without improvement that stop training",
                                  .check = at_least(1)},
                                 &S::patience},
                                {{.name = "min_delta",
                                  .def = "0.0",
                                  .doc = "an evaluation improves only if it beats the best by more than this",
                                  .check = at_least(0)},
                                 &S::min_delta},
                            }};
  return s;
}

const Section<DistributedSection>& distributed_schema() {
  using S = DistributedSection;
  static const Section<S> s{
      "distributed",
      "## [distributed]",
      {
          {{.name = "communicator",
            .def = "\"auto\"",
            .doc = "`\"auto\"`: the installed communicator plugin with the highest score (`mpi` under "
                   "mpirun); a "
                   "component name (`\"mpi\"`); `\"none\"` refuses to start as one of several processes",
            .check = non_empty("communicator must be \"auto\", \"none\" or a communicator plugin's name")},
           &S::communicator},
          {{.name = "bucket_mb",
            .def = "4.0",
            .doc = "gradient bytes per all-reduce bucket, in MiB; a bucket starts as soon as backward has "
                   "finished all of its gradients",
            .check = within(0, 4096, "(]")},
           &S::bucket_mb},
          {{.name = "timeout",
            .def = "300.0",
            .doc =
                "seconds a collective waits for a silent rank before the run stops with an error naming it "
                "(passed to the plugin as `timeout_s`)",
            .check = above(0, "seconds")},
           &S::timeout},
          {{.name = "compression",
            .def = "\"none\"",
            .doc =
                "`\"none\"`, `\"bf16\"` or `\"fp16\"`: the dtype gradients travel in (summed in fp32 by the "
                "communicator, rounded to 16 bits before and after); `\"powersgd\"`: low-rank factors "
                "(below)",
            .check = one_of(kCompressions, "compression")},
           &S::compression},
          {{.name = "powersgd_rank",
            .def = "4",
            .doc = "`powersgd`: the rank of each compressed gradient matrix",
            .check = within(1, 1024, "[]")},
           &S::powersgd_rank},
          {{.name = "powersgd_warmup_steps",
            .def = "10",
            .doc = "`powersgd`: optimizer steps all-reduced uncompressed before compression starts",
            .check = at_least(0)},
           &S::powersgd_warmup_steps},
          {{.name = "sync",
            .def = "\"every_step\"",
            .doc = "when ranks meet: `\"every_step\"` (gradients all-reduced every step), `\"local_sgd\"` "
                   "(parameters averaged every `sync_every` steps), `\"diloco\"` (an outer Nesterov step on "
                   "the averaged change every `sync_every` steps), `\"delayed\"` (a step's all-reduce runs "
                   "during the next step and is applied one step late); see below",
            .check = one_of(kSyncModes, "sync")},
           &S::sync},
          {{.name = "sync_every",
            .def = "8",
            .doc = "`local_sgd`, `diloco`: optimizer steps each rank takes alone between meetings (H)",
            .check = at_least(1)},
           &S::sync_every},
          {{.name = "sync_warmup_steps",
            .def = "0",
            .doc = "`local_sgd`, `diloco`: optimizer steps taken with every-step gradient all-reduce first",
            .check = at_least(0)},
           &S::sync_warmup_steps},
          {{.name = "outer_lr",
            .def = "0.7",
            .doc = "`diloco`: the outer optimizer's learning rate (SGD with Nesterov momentum)",
            .check = above(0, "outer_lr")},
           &S::outer_lr},
          {{.name = "outer_momentum",
            .def = "0.9",
            .doc = "`diloco`: the outer optimizer's Nesterov momentum",
            .check = within(0, 1, "[)")},
           &S::outer_momentum},
      }};
  return s;
}

const Section<PluginsSection>& plugins_schema() {
  using S = PluginsSection;
  static const Section<S> s{
      "plugins",
      "## [plugins]",
      {
          {{.name = "manifests",
            .def = "[]",
            .doc = "extra plugin manifests, on top of the system and user plugin folders; relative paths are "
                   "resolved against the pipeline file's folder. Each must exist and load whole: a broken or "
                   "refused entry in one of them is this pipeline's error (exit 2), where one found "
                   "elsewhere is "
                   "only a warning"},
           &S::manifests},
          {{.name = "allow_insecure_plugins",
            .def = "false",
            .doc = "load plugin libraries and manifests that someone other than their owner or root may "
                   "write, or "
                   "that another user owns (see docs/plugins.md, \"Trust\"); also "
                   "`PLINTH_ALLOW_INSECURE_PLUGINS=1`"},
           &S::allow_insecure_plugins},
          {{.name = "require_signature",
            .def = "false",
            .doc = "every plugin library needs a minisign signature `<library>.minisig` by a key in the "
                   "trusted-keys folder; also `PLINTH_REQUIRE_SIGNATURE=1`"},
           &S::require_signature},
      }};
  return s;
}

std::vector<SectionDoc> pipeline_schema_docs() {
  return {doc_of(run_schema()),        doc_of(backend_schema()),     doc_of(data_schema()),
          doc_of(model_schema()),      doc_of(lora_schema()),        doc_of(init_schema()),
          doc_of(loss_schema()),       doc_of(optimizer_schema()),   doc_of(schedule_schema()),
          doc_of(train_schema()),      doc_of(progressive_schema()), doc_of(checkpoint_schema()),
          doc_of(early_stop_schema()), doc_of(distributed_schema()), doc_of(plugins_schema())};
}

}  // namespace plinth::config
