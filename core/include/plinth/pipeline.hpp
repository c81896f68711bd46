// pipeline.hpp — a pipeline file (pipeline.toml) loaded and validated, as an
// opaque value: load or parse it (errors read "<file>:<line>:<col>: <key>:
// <what>"), adjust the few settings a program commonly overrides, and find
// the plugins it names. Not here: training it (plinth/train.hpp) or the
// pipeline's sections and keys (docs/pipeline.md lists them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/registry.hpp"
#include "plinth/status.hpp"

namespace plinth {

class Pipeline {
 public:
  // Read and validate a pipeline file. Errors are errc::config (bad input).
  // `overrides` ("key=value" each, as `--set` takes them: "optimizer.lr=3e-4",
  // "model.layer.2.out=64") are applied in order to the parsed file before it
  // is validated, each typed by the key (docs/pipeline.md, "Overriding keys:
  // --set"); an error about one names its "--set key=value".
  static Result<Pipeline> load(const std::filesystem::path& file,
                               const std::vector<std::string>& overrides = {});
  // The same from text; `source` names it in errors and anchors relative paths.
  static Result<Pipeline> parse(std::string_view text, const std::filesystem::path& source,
                                const std::vector<std::string>& overrides = {});

  Pipeline(const Pipeline& other);
  Pipeline& operator=(const Pipeline& other);
  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;
  ~Pipeline();

  const std::filesystem::path& source() const;  // the file it was read from
  const std::string& name() const;              // [run] name
  void set_name(std::string name);
  const std::filesystem::path& out_dir() const;  // [run] out_dir
  void set_out_dir(std::filesystem::path dir);
  std::filesystem::path run_dir() const;  // out_dir() / name(): where a run writes
  const std::string& backend() const;     // [backend] name
  void set_backend_threads(int threads);  // [backend] threads, also in the table the plugin reads
  int64_t max_steps() const;              // [train] max_steps; 0: [train] epochs decide
  void set_max_steps(int64_t steps);
  const std::string& precision() const;  // [train] precision
  bool has_target() const;               // [train] target_metric is set
  // "fp32" | "bf16" | "fp16", else invalid_argument. Defaults derived from
  // the precision at load (loss scaling on for fp16) are left as they were.
  Status set_precision(std::string precision);

  const std::vector<std::string>& overrides() const;  // the --set arguments applied, as given

  // The pipeline with every default filled in, as TOML (`plinth resolve`),
  // with a "# --set key=value" comment line per override after the first line.
  std::string resolved_toml() const;

  // [plugins] manifests (absolute) and the trust it asks for.
  std::vector<std::filesystem::path> plugin_manifests() const;
  TrustPolicy trust_policy() const;
  // `base` with the pipeline's manifests appended (after base's own, which
  // keep precedence) and its trust settings combined with base's.
  DiscoveryOptions discovery(DiscoveryOptions base = {}) const;
  // Each [plugins] manifest exists: else an errc::config error naming the
  // pipeline's line and column.
  Status check_manifests_exist() const;
  // Every entry of the manifests the pipeline names loaded: a broken one is
  // the pipeline's error (errc::config) rather than a warning.
  Status check_named_manifests(const Registry& registry) const;

  struct Impl;  // core/src/api/pipeline_impl.hpp

 private:
  friend class Trainer;
  explicit Pipeline(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The registry a pipeline needs: check_manifests_exist(), Registry::open
// with discovery(base), then check_named_manifests().
Result<std::shared_ptr<Registry>> open_registry(const Pipeline& pipeline, const DiscoveryOptions& base = {});

}  // namespace plinth
