#!/usr/bin/env bash
# allreduce.sh [build-dir] [np] — the mpi communicator plugin's all_reduce
# against a plain MPI_Allreduce of the same sizes (64 B .. 16 MiB, f32 SUM,
# host memory) under mpirun -np <np> (default 2) on this machine; prints
# microseconds, bus GB/s and plugin/MPI time ratio per size, and the load.
set -eu
build=${1:-build}
np=${2:-2}
exe=$build/bench/plinth-bench-allreduce
[ -x "$exe" ] || { echo "build it first: ninja -C $build plinth-bench-allreduce plinth-comm-mpi"; exit 1; }
command -v mpirun > /dev/null || { echo "mpirun not found (install openmpi-bin)"; exit 1; }
echo "# $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg), np=$np"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1
exec mpirun --oversubscribe --bind-to none -np "$np" "$exe" "$build/share/plinth/plugins.d"
