// plugin.cpp — the plinth-comm-nccl descriptor: one communicator component
// ("nccl"), the entry symbol and the score. Nothing else.
#include "comm.hpp"

namespace {

const plinth_component k_components[] = {
    {.struct_size = PLINTH_COMPONENT_STRUCT_SIZE,
     .kind = PLINTH_KIND_COMM,
     .name = "nccl",
     .description = "NCCL collectives on CUDA device memory (host memory staged), watched against timeout_s",
     .table = &plinth::comm_nccl::table,
     .config_keys = plinth::comm_nccl::keys},
};

const plinth_plugin k_plugin = {
    .struct_size = PLINTH_PLUGIN_STRUCT_SIZE,
    .abi_major = PLINTH_ABI_MAJOR,
    .abi_minor = PLINTH_ABI_MINOR,
    .name = "plinth-comm-nccl",
    .version = "0.1.0",
    .vendor = "Plinth",
    .num_components = sizeof k_components / sizeof k_components[0],
    .components = k_components,
    .init = nullptr,
    .shutdown = [] { plinth::comm_nccl::shutdown(); },
};

}  // namespace

extern "C" PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) { return &k_plugin; }
extern "C" PLINTH_EXPORT int32_t plinth_plugin_score(void) { return plinth::comm_nccl::score(); }
