/*
 * plinth/comm.h — the communicator table: collectives across the processes
 * of one data-parallel run. A communicator learns its rank and world size
 * from the launcher's environment (Open MPI, Slurm/PMI); Plinth has no
 * launcher or transport of its own.
 *
 * Memory: each collective names the memory kind of its buffers; a
 * communicator declares the kinds it reads (supports_memory) and the core
 * stages through host memory otherwise. Host-memory collectives block until
 * done. Device-memory collectives are enqueued on `stream`, the backend's
 * native stream handle (cudaStream_t / hipStream_t), and return at once.
 *
 * A dead or silent peer gives PLINTH_ERR_TIMEOUT after the configured timeout
 * (config key `timeout_s`), never a hang.
 */
#ifndef PLINTH_COMM_H
#define PLINTH_COMM_H

#include "plinth/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct plinth_comm plinth_comm; /* one communicator */

typedef enum plinth_reduce_op PLINTH_ENUM_TYPE {
  PLINTH_REDUCE_OP_SUM = 0,
  PLINTH_REDUCE_OP_AVG = 1,
  PLINTH_REDUCE_OP_MAX = 2,
  PLINTH_REDUCE_OP_MIN = 3
} plinth_reduce_op;

typedef struct plinth_comm_info {
  size_t struct_size;
  int32_t rank;       /* out: 0 .. size-1             */
  int32_t size;       /* out: world size              */
  int32_t local_rank; /* out: rank within this node   */
  int32_t local_size; /* out: processes on this node  */
} plinth_comm_info;
#define PLINTH_COMM_INFO_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_comm_info, local_size)

typedef struct plinth_comm_v1 {
  size_t struct_size;
  /* Join the run the launcher started. Collective: every rank calls it. */
  plinth_status (*create)(const plinth_host* host, const plinth_config* cfg, plinth_comm** out);
  void (*destroy)(plinth_comm* comm);
  plinth_status (*info)(const plinth_comm* comm, plinth_comm_info* out);
  /* 1 if collectives may be given buffers of `kind`, else 0. */
  int32_t (*supports_memory)(const plinth_comm* comm, plinth_memory_kind kind);
  /* recv = op over ranks of send (count elements); send == recv is in place. */
  plinth_status (*all_reduce)(plinth_comm* comm, const void* send, void* recv, uint64_t count,
                              plinth_dtype dtype, plinth_reduce_op op, plinth_memory_kind kind, void* stream);
  /* buf on every rank = buf on `root`. */
  plinth_status (*broadcast)(plinth_comm* comm, void* buf, uint64_t count, plinth_dtype dtype, int32_t root,
                             plinth_memory_kind kind, void* stream);
  /* recv (size * count) = concatenation of every rank's send (count). */
  plinth_status (*all_gather)(plinth_comm* comm, const void* send, void* recv, uint64_t count,
                              plinth_dtype dtype, plinth_memory_kind kind, void* stream);
  /* recv (count) = op over ranks of send's block `rank` (send: size * count). */
  plinth_status (*reduce_scatter)(plinth_comm* comm, const void* send, void* recv, uint64_t count,
                                  plinth_dtype dtype, plinth_reduce_op op, plinth_memory_kind kind,
                                  void* stream);
  /* Block until every rank has called barrier. */
  plinth_status (*barrier)(plinth_comm* comm);
} plinth_comm_v1;

#define PLINTH_COMM_V1_STRUCT_SIZE PLINTH_STRUCT_SIZE(plinth_comm_v1, barrier)
#define PLINTH_COMM_V1_MIN_STRUCT_SIZE PLINTH_COMM_V1_STRUCT_SIZE

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PLINTH_COMM_H */
