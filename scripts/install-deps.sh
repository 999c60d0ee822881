#!/bin/bash
# install-deps.sh: installs what nn-train needs to build, run and test, from Debian's
# repositories. Skips apt-get entirely when everything is already installed.
#   scripts/install-deps.sh [--tests]     (--tests adds what the tests use: HDF5 tools,
#                                          h5py, Slurm and munge, iproute2, gnuplot,
#                                          stress-ng for test.sh --load)
set -euo pipefail
pkgs=(gcc make cmake pkg-config libopenmpi-dev openmpi-bin libopenblas-dev libhdf5-dev
      libcmocka-dev zlib1g-dev)
[ "${1:-}" = --tests ] && pkgs+=(hdf5-tools python3-h5py python3-numpy slurm-wlm munge iproute2 gnuplot-nox
                                  stress-ng)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} = 0 ] && exit 0

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
