#!/bin/sh
# test_sweep_mpi.sh: `mpirun -n 2 servesim sweep` writes the same bytes as one
# process on one thread, through libservesim_mpi.so found beside servesim (the
# build tree's).  Built without MPI, the mpirun launch must fail with one
# clear message instead.  Skips (77) when mpirun is missing.
#   test_sweep_mpi.sh SERVESIM SOURCE_ROOT MPI_BUILT(true|false)
set -eu
S=$1
SPEC=$2/tests/fleet/sweep_small.json
command -v mpirun > /dev/null || { echo "no mpirun: skip"; exit 77; }
# OpenMPI refuses to run as root unless told; CI containers often are root.
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# No network in sandboxes: keep OpenMPI on shared memory and loopback.
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
# The module must come from beside this servesim, not from a path in the environment.
unset SERVESIM_MPI_MODULE
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if [ "$3" != "true" ]; then
    if mpirun -n 1 "$S" sweep "$SPEC" --out "$T/mpi.csv" --threads 1 > "$T/err" 2>&1; then
        echo "built without MPI, yet the mpirun sweep succeeded"; exit 1
    fi
    grep -q "built without MPI" "$T/err" || { cat "$T/err"; echo "no clear error"; exit 1; }
    echo "built without MPI: the mpirun sweep is refused with a clear message"
    exit 0
fi
[ -f "$(dirname "$S")/libservesim_mpi.so" ] || { echo "no libservesim_mpi.so beside $S"; exit 1; }
"$S" sweep "$SPEC" --out "$T/one.csv" --threads 1 --quiet
mpirun -n 2 --oversubscribe "$S" sweep "$SPEC" --out "$T/mpi.csv" --threads 1
cmp "$T/one.csv" "$T/mpi.csv"
echo "mpi sweep: 2 ranks identical to 1 process"
