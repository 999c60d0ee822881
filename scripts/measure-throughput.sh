#!/bin/bash
# measure-throughput.sh: training samples/s of nn-train on a Fashion-MNIST-sized synthetic set
# (60000 x 784 float32, 10 classes; 54000 train after the 10% holdout), model 784-256-128-10,
# Adam, global batch 128, at 1 and 2 ranks with one OpenBLAS thread each. Prints the last
# epoch line of each run. Needs a build in build/ (scripts/build.sh).
#   scripts/measure-throughput.sh [EPOCHS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
epochs=${1:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_pml=ob1
"$root/build/tests/tools/make_data" blobs "$work/fm.h5" 60000 784 10 3 0 8.0
for np in 1 2; do
    printf 'np %d: ' "$np"
    mpirun -np "$np" "$root/build/nn-train" --data "$work/fm.h5" --layers 784,256,128,10 \
        --batch 128 --epochs "$epochs" | grep '^epoch' | tail -1
done
