// mpi_bootstrap.cpp — MPI start, finalize and launcher environment for the
// communicator plugins (mpi_bootstrap.hpp). Each plugin compiles its own copy
// of this file, so each keeps its own state, as a separate library must.
// Not here: communicators, collectives, timeouts.
#include "mpi_bootstrap.hpp"

#include <cstdlib>
#include <mutex>

#include "plinth/plugin.hpp"

namespace plinth::comm_boot {
namespace {

std::mutex g_mu;
bool g_we_initialized = false;  // MPI_Init_thread was ours: we finalize
bool g_left_broken = false;     // a communicator timed out or was aborted: never finalize

}  // namespace

plinth_status start_mpi(const plinth_host* host, const char* who, const std::function<void()>& then) {
  std::lock_guard<std::mutex> lk(g_mu);
  int inited = 0, finalized = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (finalized) return sdk::fail(host, PLINTH_ERR_UNAVAILABLE, "MPI was already finalized in this process");
  if (!inited) {
    int provided = 0;
    if (int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided); rc != MPI_SUCCESS) {
      char msg[MPI_MAX_ERROR_STRING];
      int len = 0;
      const std::string why = MPI_Error_string(rc, msg, &len) == MPI_SUCCESS
                                  ? std::string(msg, static_cast<size_t>(len))
                                  : "MPI error " + std::to_string(rc);
      return sdk::fail(host, PLINTH_ERR_UNAVAILABLE, "MPI_Init_thread failed: " + why);
    }
    g_we_initialized = true;
    if (provided < MPI_THREAD_SERIALIZED)
      sdk::log(host, PLINTH_LOG_WARN, who,
               "this MPI offers no MPI_THREAD_SERIALIZED: collectives from a communication thread may fail");
  }
  if (then) then();
  return PLINTH_OK;
}

void mark_broken() {
  std::lock_guard<std::mutex> lk(g_mu);
  g_left_broken = true;
}

void finish_mpi(const std::function<void()>& before) {
  std::lock_guard<std::mutex> lk(g_mu);
  int inited = 0, finalized = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (!inited || finalized || !g_we_initialized || g_left_broken) return;
  if (before) before();
  MPI_Finalize();
}

bool launched() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_NTASKS", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

void node_rank(MPI_Comm comm, int rank, int* local_rank, int* local_size) {
  *local_rank =
      env_int("OMPI_COMM_WORLD_LOCAL_RANK", env_int("SLURM_LOCALID", env_int("MPI_LOCALRANKID", -1)));
  *local_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", env_int("MPI_LOCALNRANKS", -1));
  if (*local_rank >= 0 && *local_size > *local_rank) return;
  MPI_Comm node;
  if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_rank(node, local_rank);
    MPI_Comm_size(node, local_size);
    MPI_Comm_free(&node);
  } else {
    *local_rank = 0;
    *local_size = 1;
  }
}

int env_int(const char* name, int dflt) {
  const char* v = std::getenv(name);
  if (!v || !*v) return dflt;
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  return end && *end == 0 && x >= 0 && x < (1 << 30) ? static_cast<int>(x) : dflt;
}

}  // namespace plinth::comm_boot
