#!/usr/bin/env bash
# run_mpi.sh <np> <command...> — run a command under Open MPI's mpirun on this
# machine only (shared-memory transport, oversubscribed, root allowed), or
# skip (exit 77) when mpirun is not installed.
set -u
np=$1
shift
if ! command -v mpirun >/dev/null; then
  echo "SKIP: mpirun not found (install openmpi-bin to run the data-parallel tests)"
  exit 77
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1
# One compute thread per rank: the ranks share the machine's cores.
export OMP_NUM_THREADS=1
# Under AddressSanitizer (scripts/sanitize.sh asan): no leak check in MPI
# processes. Open MPI 4.1 does not free its runtime at MPI_Finalize (thousands
# of reports per rank) and unloads its components first, so the reports name
# no module a suppression could match. Memory errors and undefined behaviour
# are still checked; the project's code is leak-checked by every other test.
if [ -n "${ASAN_OPTIONS:-}" ]; then export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"; fi
exec mpirun --oversubscribe --bind-to none -np "$np" "$@"
