#!/bin/bash
# build.sh: configures and builds nn-train with CMake into BUILD_DIR (default build/).
#   scripts/build.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNN_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
