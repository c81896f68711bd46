// comm.hpp — the MPI communicator's table, its config keys and the
// process-wide MPI lifetime (MPI_Init on the first create, MPI_Finalize at
// plugin shutdown). Not here: the plugin descriptor (plugin.cpp).
#pragma once

#include "plinth/comm.h"

namespace plinth::comm_mpi {

extern const plinth_comm_v1 table;
extern const char* const keys[];  // NULL-terminated: "timeout_s"

// Finalize MPI if this plugin initialised it and no communicator was left
// broken by a timeout (a finalize would then wait for the silent peer).
void shutdown();

// 10 when a launcher (Open MPI, PMI, Slurm) started this process, else 1.
int32_t score();

}  // namespace plinth::comm_mpi
