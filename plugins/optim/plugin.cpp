// plugin.cpp — the plinth-optim-std descriptor: the sgd, adamw and lion optimizer
// components and the one exported entry symbol. Nothing else.
#include "optim.hpp"

namespace {

using namespace plinth::optim;

const plinth_component k_components[] = {
    {.struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
     .kind = PLINTH_KIND_OPTIMIZER,
     .name = "sgd",
     .description = "SGD with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD)",
     .table = &sgd_table,
     .config_keys = sgd_keys},
    {.struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
     .kind = PLINTH_KIND_OPTIMIZER,
     .name = "adamw",
     .description = "AdamW with decoupled weight decay (torch.optim.AdamW)",
     .table = &adamw_table,
     .config_keys = adamw_keys},
    {.struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
     .kind = PLINTH_KIND_OPTIMIZER,
     .name = "lion",
     .description = "Lion: sign of interpolated momentum, decoupled weight decay (Chen et al. 2023)",
     .table = &lion_table,
     .config_keys = lion_keys},
};

const plinth_plugin k_plugin = {
    .struct_size = PLINTH_PLUGIN_STRUCT_SIZE,
    .abi_major = PLINTH_ABI_MAJOR,
    .abi_minor = PLINTH_ABI_MINOR,
    .name = "plinth-optim-std",
    .version = "0.1.0",
    .vendor = "Plinth",
    .num_components = sizeof k_components / sizeof k_components[0],
    .components = k_components,
    .init = nullptr,
    .shutdown = nullptr,
};

}  // namespace

extern "C" PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &k_plugin; }
