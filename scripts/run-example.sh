#!/bin/bash
# run-example.sh: the main job on a fresh Debian machine: install the dependencies, build, and
# train the built-in example (y = 2x, 1-64-64-1) data-parallel on 2 MPI ranks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build"
if [ "$(id -u)" = 0 ]; then # Open MPI refuses root unless told twice
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMPI_MCA_pml=${OMPI_MCA_pml:-ob1}
mpirun -np 2 --oversubscribe "$root/build/nn-train" "$@"
