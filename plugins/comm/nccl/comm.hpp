// comm.hpp — the NCCL communicator's table, its config keys, the process-wide
// MPI lifetime (MPI carries the ncclUniqueId at start-up) and the score.
// Not here: the plugin descriptor (plugin.cpp).
#pragma once

#include "plinth/comm.h"

namespace plinth::comm_nccl {

extern const plinth_comm_v1 table;
extern const char* const keys[];  // NULL-terminated: "timeout_s"

// Finalize MPI if this plugin initialised it and no communicator timed out.
void shutdown();

// 0 without a CUDA device (cannot run here); 20 with one and a launcher's
// environment (above the mpi communicator's 10); else 1.
int32_t score();

// The number of CUDA devices, 0 when cudaGetDeviceCount fails (no driver).
int device_count();

}  // namespace plinth::comm_nccl
