// plugin.cpp — the plinth-data-std descriptor: six data-source components
// (idx, csv, synthetic, tokens, text, images) and the one exported entry symbol.
// Nothing else.
#include "source.hpp"

namespace {

using namespace plinth::data;

const plinth_component k_components[] = {
    {.struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
     .kind = PLINTH_KIND_DATA,
     .name = "idx",
     .description = "MNIST IDX images + labels, plain or gzip",
     .table = &idx_table,
     .config_keys = idx_keys},
    {.struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
     .kind = PLINTH_KIND_DATA,
     .name = "csv",
     .description = "numeric CSV: feature columns and one label column",
     .table = &csv_table,
     .config_keys = csv_keys},
    {.struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
     .kind = PLINTH_KIND_DATA,
     .name = "synthetic",
     .description = "seeded random features with learnable labels",
     .table = &synthetic_table,
     .config_keys = synthetic_keys},
    {.struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
     .kind = PLINTH_KIND_DATA,
     .name = "tokens",
     .description = "language-model windows over uint16 token shards (llm.c or raw)",
     .table = &tokens_table,
     .config_keys = tokens_keys},
    {.struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
     .kind = PLINTH_KIND_DATA,
     .name = "text",
     .description = "character-level language-model windows over a UTF-8 text file",
     .table = &text_table,
     .config_keys = text_keys},
    {.struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
     .kind = PLINTH_KIND_DATA,
     .name = "images",
     .description = "JPEG/PNG images from class folders or a path,label list, with augmentation",
     .table = &images_table,
     .config_keys = images_keys},
};

const plinth_plugin k_plugin = {
    .struct_size = PLINTH_PLUGIN_STRUCT_SIZE,
    .abi_major = PLINTH_ABI_MAJOR,
    .abi_minor = PLINTH_ABI_MINOR,
    .name = "plinth-data-std",
    .version = "0.1.0",
    .vendor = "Plinth",
    .num_components = sizeof k_components / sizeof k_components[0],
    .components = k_components,
    .init = nullptr,
    .shutdown = nullptr,
};

}  // namespace

extern "C" PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &k_plugin; }
