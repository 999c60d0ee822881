#!/bin/bash
# blas-coretype.sh BUILD_DIR: prints the OpenBLAS kernel family nn-train runs on this machine
# when it chose one itself (nn_blas_choose_kernels: OpenBLAS took the CPU for an older one),
# else nothing. The benchmarks export it as OPENBLAS_CORETYPE for PyTorch, which loads the same
# OpenBLAS and would otherwise run the older kernels: the comparison is then kernel for kernel.
set -euo pipefail
build=${1:?usage: blas-coretype.sh BUILD_DIR}
[ -z "${OPENBLAS_CORETYPE:-}" ] || { echo "$OPENBLAS_CORETYPE"; exit 0; }
"$build/nn-train" --epochs 1 2>/dev/null |
    sed -n 's/^system .*, \([A-Za-z0-9]*\) kernels (chosen here: .*/\1/p' | head -1
