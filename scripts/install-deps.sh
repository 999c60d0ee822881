#!/bin/bash
# install-deps.sh: installs what nn-train needs to build, run and test, from Debian's
# repositories. Skips apt-get entirely when everything is already installed.
#   scripts/install-deps.sh [--tests] [--fuzz] [PACKAGE...]
# --tests adds what the tests use (HDF5 tools, h5py, Slurm and munge, iproute2, gnuplot,
# stress-ng for test.sh --load, dpkg-dev, man-db and Lmod for the package tests, scikit-learn
# for the tabular tests' references); --fuzz
# clang-14 and libFuzzer (scripts/fuzz.sh); PACKAGEs are installed too
# (scripts/fashion-mnist.sh: the data set and gnuplot).
set -euo pipefail
pkgs=(gcc make cmake pkg-config libopenmpi-dev openmpi-bin libopenblas-dev libhdf5-dev
      libcmocka-dev zlib1g-dev libmicrohttpd-dev libjsmn-dev libcjson-dev)
for a in "$@"; do
    case $a in
    --tests) pkgs+=(hdf5-tools python3-h5py python3-numpy slurm-wlm munge iproute2 gnuplot-nox
                    stress-ng curl dataset-fashion-mnist
                    dpkg-dev man-db groff-base lmod # tests/e2e_package.sh: .deb, man, modules
                    python3-sklearn) ;;             # tests/e2e_tabular.sh: references, data sets
    --fuzz) pkgs+=(clang-14 libfuzzer-14-dev) ;;
    --bench) pkgs+=(wrk hey python3-torch python3-h5py python3-numpy) ;; # scripts/bench-serve.sh
    -*) echo "install-deps: unknown option '$a'" >&2; exit 2 ;;
    *) pkgs+=("$a") ;;
    esac
done

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
