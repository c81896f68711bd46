// pipeline_schema.hpp — the key tables of pipeline.toml's sections (all but
// the layers and blocks of [model]): what config/pipeline.cpp reads, checks
// and writes back, and what docs/pipeline.md's reference tables must say.
// Checks spanning several keys (a 'step' schedule needs step_size) stay in
// pipeline.cpp.
#pragma once

#include <string_view>
#include <vector>

#include "config/pipeline.hpp"
#include "config/schema.hpp"

namespace plinth::config {

// The top-level sections of pipeline.toml (each a table).
inline constexpr std::string_view kPipelineSections[] = {
    "run",   "backend",    "data",       "model",   "loss", "optimizer",  "schedule",
    "train", "checkpoint", "early_stop", "plugins", "init", "distributed"};
// The keys of one [[model.block]].
inline constexpr std::string_view kBlockKeys[] = {"name", "residual", "layers"};

// Adding a key to a section: its member (with the same default) in
// pipeline.hpp, its row in the section's table, and the same row in
// docs/pipeline.md (core_config_schema_docs_test prints the row it expects).
// Reading, the unknown-key check and `plinth resolve` follow from the table.
const Section<RunSection>& run_schema();
const Section<BackendSection>& backend_schema();  // open: other keys go to the backend plugin
const Section<DataSection>& data_schema();        // [data.train], [data.eval], [data.replay]; open
const Section<ModelSection>& model_schema();      // [model]'s own keys; layer, block and lora are tables
const Section<LoraSection>& lora_schema();
const Section<InitSection>& init_schema();
const Section<LossSection>& loss_schema();
const Section<OptimizerSection>& optimizer_schema();  // open: other keys go to the optimizer plugin
const Section<ScheduleSection>& schedule_schema();
const Section<TrainSection>& train_schema();
const Section<ProgressiveSection>& progressive_schema();
const Section<CheckpointSection>& checkpoint_schema();
const Section<EarlyStopSection>& early_stop_schema();
const Section<DistributedSection>& distributed_schema();
const Section<PluginsSection>& plugins_schema();

// Every section above, in the order pipeline.toml's docs present them.
std::vector<SectionDoc> pipeline_schema_docs();

// "min" for a loss, "max" for an accuracy: the default best_mode / mode.
std::string default_mode(const std::string& metric);

}  // namespace plinth::config
