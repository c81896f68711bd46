// mpi_bootstrap.hpp — what the mpi and nccl communicator plugins share about
// MPI: starting it once per process (unless the application did), finalizing
// it at shutdown only when the plugin started it and no communicator was
// left broken, the launcher's environment (score, rank on this node).
// Compiled into each plugin (plugins link the SDK only). Not here: collectives.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>

#include "plinth/plugin.h"

namespace plinth::comm_boot {

// MPI_Init_thread(MPI_THREAD_SERIALIZED) unless MPI is running already;
// fails when MPI was finalized. `who` names the plugin in the warning given
// when the MPI offers less than MPI_THREAD_SERIALIZED. `then` (may be empty)
// runs under the same lock, once MPI is up: per-process MPI objects.
plinth_status start_mpi(const plinth_host* host, const char* who, const std::function<void()>& then = {});

// A communicator timed out or was aborted: a peer may be gone, so MPI is
// never finalized (MPI_Finalize could block forever).
void mark_broken();

// At the plugin's shutdown: `before` (may be empty) then MPI_Finalize, when
// start_mpi started MPI, it is not finalized yet, and nothing was broken.
void finish_mpi(const std::function<void()>& before = {});

// True when a launcher's environment says this process is one of a parallel
// job: Open MPI, PMI/PMIx, Slurm, MPICH's Hydra (MPI_LOCALNRANKS).
bool launched();

// This process's rank and the number of ranks on its node: the launcher's
// (Open MPI, Slurm, Hydra), else from MPI_COMM_TYPE_SHARED on `comm`.
void node_rank(MPI_Comm comm, int rank, int* local_rank, int* local_size);

// The integer environment variable `name` (0 .. 2^30), else `dflt`.
int env_int(const char* name, int dflt);

}  // namespace plinth::comm_boot
