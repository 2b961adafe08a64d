#!/bin/sh
# test_sweep_mpi.sh: `mpirun -n 2 servesim sweep` writes the same bytes as one
# process on one thread.  Skips (77) when servesim was built without MPI or
# mpirun is missing.
#   test_sweep_mpi.sh SERVESIM SOURCE_ROOT MPI_BUILT(true|false)
set -eu
S=$1
SPEC=$2/tests/fleet/sweep_small.json
[ "$3" = "true" ] || { echo "built without MPI (-Dmpi=disabled or no OpenMPI): skip"; exit 77; }
command -v mpirun > /dev/null || { echo "no mpirun: skip"; exit 77; }
# OpenMPI refuses to run as root unless told; CI containers often are root.
if [ "$(id -u)" -eq 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# No network in sandboxes: keep OpenMPI on shared memory and loopback.
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$S" sweep "$SPEC" --out "$T/one.csv" --threads 1 --quiet
mpirun -n 2 --oversubscribe "$S" sweep "$SPEC" --out "$T/mpi.csv" --threads 1
cmp "$T/one.csv" "$T/mpi.csv"
echo "mpi sweep: 2 ranks identical to 1 process"
