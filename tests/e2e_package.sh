#!/bin/bash
# e2e_package.sh: nn-train as installed (docs/install.md): the install layout, the Debian
# package, the Lmod modulefile, and the Spack and EasyBuild recipes.
#   e2e_package.sh CASE BUILD_DIR
# Cases:
#   install  cmake --install to a temporary prefix: every file where docs/install.md says,
#            nothing installed names the source tree or the build; the installed Slurm job
#            runs the installed nn-train (mpirun, no Slurm, PATH without the build), the
#            source tree's copy finds nn-train on PATH, and the installed Fashion-MNIST recipe
#            runs end to end on a small IDX data set of its kind
#   deb      cpack -G DEB: the control fields, Depends that name the package of every library
#            the programs link; dpkg -i; /usr/bin/nn-train's built-in example (plain and under
#            mpirun); `man nn-train`; dpkg -r removes every file the package installed.
#            Needs root and dpkg; refuses to run where a package nn-train or any of its files
#            is already installed
#   lmod     module use PREFIX/share/modulefiles; module load nn-train: PATH, MANPATH,
#            NN_TRAIN_ROOT, OPENBLAS_NUM_THREADS=1 unless set (a preset value is kept), all
#            undone by unload; module help and whatis
#   recipes  packaging/spack/package.py and the easyconfigs parse as Python, name the project's
#            version and the dependencies they must
# A case that cannot run here (no root, no dpkg-deb, no Lmod) prints SKIP and counts as skipped, except
# under CI=true, where it fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
nn_test_setup "${1:?usage: $0 CASE BUILD_DIR}" "${2:-}" package-
version=$(sed -n 's/^project(nn-train VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || fail "no version in $src/CMakeLists.txt's project()"
progs=(nn-train nn-predict nn-data nn-serve)
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# install PREFIX: cmake --install of the build into PREFIX, quietly
install_to() {
    cmake --install "$build" --prefix "$1" >install.log 2>&1 || { cat install.log >&2; fail "cmake --install failed"; }
}
# clean_env COMMAND...: COMMAND with only the system's PATH (no build, no source tree) and
# the Open MPI settings the tests need
clean_env() {
    env -i HOME="$work" PATH=/usr/sbin:/usr/bin:/sbin:/bin OPENBLAS_NUM_THREADS=1 \
        OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1 \
        OMPI_MCA_rmaps_base_oversubscribe=1 "$@"
}

case_install() {
    local p=$work/prefix f
    install_to "$p"
    local want=(bin/nn-train bin/nn-predict bin/nn-data bin/nn-serve
        share/nn-train/cluster/nn-train.sbatch share/nn-train/cluster/sweep.sbatch
        share/nn-train/cluster/sweep-collect.sh share/nn-train/cluster/nn-serve.sbatch
        share/nn-train/cluster/nn-serve.service share/nn-train/cluster/slurm-local.sh
        share/nn-train/cluster/README.md
        share/nn-train/examples/fashion-mnist.sh share/nn-train/examples/plot-metrics.sh
        share/nn-train/examples/plot-metrics.gp
        "share/modulefiles/nn-train/$version.lua"
        share/doc/nn-train/README.md share/doc/nn-train/docs/install.md
        share/doc/nn-train/docs/fashion-mnist.png)
    for f in "$src"/docs/*.md; do want+=("share/doc/nn-train/docs/${f##*/}"); done
    for f in "$build"/man/man1/*.1; do [ -f "$f" ] && want+=("share/man/man1/${f##*/}"); done
    for f in "${want[@]}"; do [ -f "$p/$f" ] || fail "not installed: PREFIX/$f"; done
    for f in bin/nn-train share/nn-train/cluster/nn-train.sbatch share/nn-train/examples/fashion-mnist.sh; do
        [ -x "$p/$f" ] || fail "PREFIX/$f is not executable"
    done
    # Nothing installed (but the programs' own strings) names the source tree or the build.
    f=$(grep -rlF -e "$src" -e "$build" "$p/share" || true)
    [ -z "$f" ] || fail "installed files name the source tree or the build: $f"
    grep -qx "NN_BINDIR='$p/bin'" "$p/share/nn-train/cluster/nn-train.sbatch" ||
        fail "the installed nn-train.sbatch does not name PREFIX/bin: $(grep -n NN_BINDIR= "$p/share/nn-train/cluster/nn-train.sbatch")"
    grep -q "^ExecStart=$p/bin/nn-serve " "$p/share/nn-train/cluster/nn-serve.service" ||
        fail "the installed nn-serve.service does not start PREFIX/bin/nn-serve"

    # The installed job as Slurm would run it (a copy, from elsewhere, here without Slurm:
    # mpirun starts 2 ranks on this host), with a PATH that has neither the build nor PREFIX.
    mkdir job && cp "$p/share/nn-train/cluster/nn-train.sbatch" job/copy.sbatch
    (cd job && clean_env SLURM_JOB_ID=41 SLURM_NTASKS=2 bash copy.sbatch --epochs 5 >job.out 2>&1) ||
        { cat job/job.out >&2; fail "the installed nn-train.sbatch failed"; }
    grep -q "mpirun -np 2 .* $p/bin/nn-train " job/job.out || fail "the job did not run PREFIX/bin/nn-train: $(cat job/job.out)"
    grep -q "nn-train exited with status 0" job/job.out || fail "no clean exit: $(cat job/job.out)"
    [ -f job/ckpt-41/latest ] || fail "the job wrote no checkpoint"
    # The source tree's copy, from a directory without build/: nn-train from PATH.
    mkdir job2
    (cd job2 && clean_env PATH="$p/bin:/usr/bin:/bin" SLURM_JOB_ID=42 SLURM_NTASKS=1 \
        bash "$src/cluster/nn-train.sbatch" --epochs 2 >job.out 2>&1) ||
        { cat job2/job.out >&2; fail "the source tree's nn-train.sbatch failed with nn-train on PATH"; }
    grep -q " $p/bin/nn-train " job2/job.out || fail "the source tree's job did not take nn-train from PATH: $(cat job2/job.out)"
    say "installed nn-train.sbatch ran PREFIX/bin/nn-train; the source tree's took it from PATH"

    # The installed Fashion-MNIST recipe on a data set of its shape: 600 + 100 images of 28x28
    # whose class k lights row k, labelled as such (any model learns it: accuracy 1).
    mkdir fm
    python3 - fm <<'EOF'
import gzip, struct, sys
def write(name, n):
    imgs, labs = bytearray(), bytearray()
    for i in range(n):
        k = (i * 7) % 10
        img = bytearray(784)
        for j in range(28):
            img[28 * (2 * k + 3) + j] = 200 + (i + j) % 50
        imgs += img
        labs.append(k)
    with gzip.open(f"{sys.argv[1]}/{name}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + imgs)
    with gzip.open(f"{sys.argv[1]}/{name}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + labs)
write("train", 600)
write("t10k", 100)
EOF
    (cd fm && clean_env FMNIST_DIR="$work/fm" bash "$p/share/nn-train/examples/fashion-mnist.sh" out \
        >recipe.out 2>&1) || { cat fm/recipe.out >&2; fail "the installed fashion-mnist.sh failed"; }
    grep -q "^| 100.00% | 20 |" fm/out/summary.md || fail "recipe summary: $(cat fm/out/summary.md)"
    grep -q "$p/bin/nn-serve --model-dir" fm/recipe.out || fail "the recipe did not use PREFIX/bin: $(cat fm/recipe.out)"
    if command -v gnuplot >/dev/null; then
        [ -s fm/out/metrics.png ] || fail "gnuplot is installed, but the recipe drew no plot"
    fi
    say "installed fashion-mnist.sh: 600 IDX images imported, trained, scored 100.00%" \
        "with PREFIX/bin's programs; ${#want[@]} files where documented ($(elapsed) s)"
}

# ---- the Debian package ------------------------------------------------------------------

# owner FILE: the package that ships FILE (as linked, or its real path; /lib and /usr/lib are
# one directory on Debian 12, and a package may list either)
owner() {
    local f c
    for f in "$1" "$(readlink -f "$1")"; do
        for c in "$f" "${f#/usr}" "/usr$f"; do
            dpkg-query -S "$c" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return 0
        done
    done
    return 1
}
# depends_names: the packages the package's Depends names, and those their own Depends name
# (libopenblas0 -> libopenblas0-pthread | ...), one per line
depends_names() {
    local names
    names=$(tr ',|' '\n\n' <<<"$depends" | sed 's/(.*//; s/ //g' | grep .)
    echo "$names"
    # shellcheck disable=SC2086 # one name per word
    dpkg-query -W -f='${Depends}\n' $names 2>/dev/null | tr ',|' '\n\n' | sed 's/(.*//; s/ //g' | grep .
}

deb_installed=0
deb_cleanup() { # after a failure, leave the system as it was
    if [ "$deb_installed" = 1 ]; then dpkg -r nn-train >/dev/null 2>&1 || true; fi
}

case_deb() {
    [ "$(id -u)" = 0 ] || skip "needs root to install a .deb"
    local tool
    for tool in dpkg dpkg-deb dpkg-shlibdeps cpack man flock; do
        command -v "$tool" >/dev/null ||
            skip "$tool is not installed (dpkg-dev, man-db: scripts/install-deps.sh --tests)"
    done
    # One such test on this machine at a time (other build directories run it too): wait for
    # the lock, not for a time.
    exec {lock}>/tmp/nn-train-package-deb.lock
    flock -w 300 "$lock" || fail "another package test held /tmp/nn-train-package-deb.lock for 300 s"
    nn_on_exit deb_cleanup

    (cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) ||
        { cat cpack.log >&2; fail "cpack -G DEB failed"; }
    local deb
    deb=$(ls pkg/nn-train_"$version"_*.deb) || fail "no pkg/nn-train_${version}_*.deb: $(ls pkg)"
    say "cpack: $(basename "$deb") in $(elapsed) s"

    # The control fields
    dpkg-deb -f "$deb" Package Version Section Maintainer Depends >control.txt
    grep -qx "Package: nn-train" control.txt || fail "control: $(cat control.txt)"
    grep -qx "Version: $version" control.txt || fail "control version, expected $version: $(cat control.txt)"
    grep -qx "Section: science" control.txt || fail "control section: $(cat control.txt)"
    grep -q "^Maintainer: .*<.*@.*>" control.txt || fail "control maintainer: $(cat control.txt)"
    depends=$(sed -n 's/^Depends: //p' control.txt)
    local p
    for p in openmpi-bin libopenmpi3 libopenblas0 libhdf5-103-1 zlib1g libmicrohttpd12 libc6; do
        grep -qw -- "$p" <<<"$depends" || fail "Depends lacks $p: $depends"
    done
    # ... and complete: the package of every library a program links (NEEDED) is in it.
    local b lib path pkg names libs=()
    names=$(depends_names)
    for b in "${progs[@]}"; do
        for lib in $(readelf -d "$build/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            path=$(ldd "$build/$b" | awk -v l="$lib" '$1 == l { print $3 }')
            [ -n "$path" ] || fail "$b: ldd does not resolve $lib"
            [[ " ${libs[*]} " == *" $path "* ]] && continue
            libs+=("$path")
            pkg=$(owner "$path") || fail "$b: no Debian package ships $path ($lib)"
            grep -qx -- "$pkg" <<<"$names" || fail "$b links $lib ($pkg), which Depends does not name: $depends"
        done
    done
    say "Depends: $depends (covers the ${#libs[@]} libraries the programs link: ${libs[*]##*/})"

    # Refuse to run over an installation (a package of this name, or files it would replace).
    if dpkg-query -W -f='${Status}' nn-train 2>/dev/null | grep -q "install ok installed"; then
        fail "a package nn-train is installed already ($(dpkg-query -W nn-train)): the test will not replace it; dpkg -r nn-train first"
    fi
    dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' >files.txt
    while read -r f; do
        [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f exists already (not from this test): refusing to install over it"
    done <files.txt
    grep -qx /usr/share/man/man1/nn-train.1 files.txt ||
        fail "the package has no /usr/share/man/man1/nn-train.1 (cmake/Manuals.cmake installs the pages)"

    # Debian's Docker images exclude /usr/share/man and /usr/share/doc from every package
    # (/etc/dpkg/dpkg.cfg.d/excludes); include ours again, or there is no page to check.
    local dpkg_opts=() excl
    excl=$(grep -lsE '^path-exclude[= ]/usr/share/(man|doc)' /etc/dpkg/dpkg.cfg.d/* || true)
    if [ -n "$excl" ]; then
        say "dpkg here excludes /usr/share/man or /usr/share/doc ($excl): installing with" \
            "--path-include for nn-train's pages and documents"
        dpkg_opts=(--path-include='/usr/share/man/man1/nn-*' --path-include='/usr/share/doc/nn-train/*')
    fi
    deb_installed=1
    dpkg "${dpkg_opts[@]}" -i "$deb" >dpkg-i.log 2>&1 || { cat dpkg-i.log >&2; fail "dpkg -i failed"; }
    dpkg -L nn-train >installed.txt

    # The installed programs: the built-in example, plain and under mpirun.
    local prog
    for prog in "${progs[@]}"; do
        [ "$(command -v "$prog")" = "/usr/bin/$prog" ] || fail "$prog is not /usr/bin/$prog: $(command -v "$prog")"
        ! ldd "/usr/bin/$prog" | grep -q "not found" || fail "/usr/bin/$prog: $(ldd "/usr/bin/$prog" | grep "not found")"
    done
    (cd / && timeout 120 /usr/bin/nn-train >"$work/example.out" 2>&1) || { cat example.out >&2; fail "/usr/bin/nn-train failed"; }
    grep -q "^built-in example y = 2x: final MSE" example.out || fail "no result line: $(tail -3 example.out)"
    mpi_run 2 /usr/bin/nn-train --epochs 5 >example2.out 2>&1 || { cat example2.out >&2; fail "mpirun -np 2 /usr/bin/nn-train failed"; }
    grep -q "2 ranks" example2.out || fail "not 2 ranks: $(head -5 example2.out)"

    # The manual page as man shows it
    MANPAGER=cat MANWIDTH=80 man nn-train >man.txt 2>man.err || { cat man.err >&2; fail "man nn-train failed"; }
    [ ! -s man.err ] || fail "man nn-train warns: $(cat man.err)"
    grep -q "^NAME" man.txt && grep -q -- "--data" man.txt || fail "man nn-train: $(head -20 man.txt)"
    say "dpkg -i: /usr/bin/nn-train trains the built-in example (plain and mpirun -np 2); man nn-train renders"

    # dpkg -r removes every file it installed; the package's own directories go too.
    dpkg -r nn-train >dpkg-r.log 2>&1 || { cat dpkg-r.log >&2; fail "dpkg -r nn-train failed"; }
    deb_installed=0
    local left=()
    while read -r f; do
        [ -d "$f" ] && [ ! -L "$f" ] && continue
        if [ -e "$f" ] || [ -L "$f" ]; then left+=("$f"); fi
    done <installed.txt
    for f in /usr/share/nn-train /usr/share/doc/nn-train /usr/share/modulefiles/nn-train; do
        [ ! -e "$f" ] || left+=("$f")
    done
    [ ${#left[@]} = 0 ] || fail "left after dpkg -r: ${left[*]}"
    ! dpkg-query -W -f='${Status}' nn-train 2>/dev/null | grep -q "installed" ||
        fail "dpkg still lists nn-train: $(dpkg-query -W -f='${Status}' nn-train)"
    say "dpkg -r: all $(wc -l <installed.txt) paths of dpkg -L gone or shared ($(elapsed) s)"
}

# ---- Lmod ---------------------------------------------------------------------------------

case_lmod() {
    local init
    for init in /usr/share/lmod/lmod/init/bash /usr/share/lmod/*/init/bash; do
        [ -f "$init" ] && break
    done
    [ -f "$init" ] || skip "Lmod is not installed (apt-get install lmod)"
    local p=$work/prefix
    install_to "$p"
    # shellcheck disable=SC2016 # expanded by the inner bash
    clean_env NN_P="$p" NN_INIT="$init" bash -c '
        set -eu
        . "$NN_INIT"
        unset OPENBLAS_NUM_THREADS MANPATH
        module use "$NN_P/share/modulefiles"
        module load nn-train
        echo "load which=$(command -v nn-train)"
        echo "load MANPATH=$MANPATH"
        echo "load manpage=$(man -w nn-train 2>&1)"
        echo "load syspage=$(man -w ls 2>/dev/null | grep -c /usr/share/man)"
        echo "load OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS-unset}"
        echo "load NN_TRAIN_ROOT=${NN_TRAIN_ROOT-unset}"
        module unload nn-train
        echo "unload which=$(command -v nn-train || echo none)"
        echo "unload OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS-unset}"
        echo "unload NN_TRAIN_ROOT=${NN_TRAIN_ROOT-unset}"
        export OPENBLAS_NUM_THREADS=3
        module load nn-train
        echo "preset OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS"
        module unload nn-train
        echo "preset-unload OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS"
        module help nn-train 2>&1 | sed "s/^/help: /"
        module whatis nn-train 2>&1 | sed "s/^/whatis: /"
    ' >lmod.out 2>&1 || { cat lmod.out >&2; fail "Lmod session failed"; }
    expect_line() { grep -qxF -- "$1" lmod.out || fail "expected the line '$1' in: $(cat lmod.out)"; }
    expect_line "load which=$p/bin/nn-train"
    grep -q "^load MANPATH=$p/share/man:" lmod.out || fail "MANPATH does not start with PREFIX/share/man: $(grep MANPATH lmod.out)"
    expect_line "load manpage=$p/share/man/man1/nn-train.1"
    expect_line "load syspage=1" # the system's pages are still found
    expect_line "load OPENBLAS_NUM_THREADS=1"
    expect_line "load NN_TRAIN_ROOT=$p"
    expect_line "unload which=none"
    expect_line "unload OPENBLAS_NUM_THREADS=unset"
    expect_line "unload NN_TRAIN_ROOT=unset"
    expect_line "preset OPENBLAS_NUM_THREADS=3"
    expect_line "preset-unload OPENBLAS_NUM_THREADS=3"
    grep -q "^help: nn-train $version: data-parallel training" lmod.out || fail "module help: $(grep help: lmod.out)"
    grep -q "^whatis: nn-train/$version *: Version: $version" lmod.out || fail "module whatis: $(grep whatis: lmod.out)"
    say "module load nn-train/$version: PATH, MANPATH (system pages kept), OPENBLAS_NUM_THREADS=1" \
        "or the preset 3, all undone by unload; help and whatis print ($(elapsed) s)"
}

# ---- Spack and EasyBuild ------------------------------------------------------------------

case_recipes() {
    local spack=$src/packaging/spack/package.py eb
    eb=$src/packaging/easybuild/nn-train-$version-foss-2023a.eb
    [ -f "$eb" ] || fail "no easyconfig for version $version: $eb"
    # Python syntax, then what can be checked without Spack or EasyBuild: the easyconfig run
    # with EasyBuild's constants as placeholders, the package's depends_on and version calls
    # read from its syntax tree.
    python3 - "$spack" "$version" "$src"/packaging/easybuild/*.eb >recipes.out 2>&1 <<'EOF' ||
import ast, sys
spack, version, ebs = sys.argv[1], sys.argv[2], sys.argv[3:]
errors = []
tree = ast.parse(open(spack).read(), spack)
cls = [n for n in tree.body if isinstance(n, ast.ClassDef)]
if len(cls) != 1 or [b.id for b in cls[0].bases if isinstance(b, ast.Name)] != ["CMakePackage"]:
    errors.append(f"{spack}: expected one class deriving from CMakePackage")
calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
deps = {c.args[0].value.split("@")[0].split("~")[0].split("+")[0]
        for c in calls if c.func.id == "depends_on" and c.args and isinstance(c.args[0], ast.Constant)}
for want in ["mpi", "openblas", "hdf5", "zlib-api", "libmicrohttpd", "cmocka", "pkgconfig", "cmake"]:
    if want not in deps:
        errors.append(f"{spack}: no depends_on('{want}...')")
if not any(c.func.id == "depends_on" and c.args[0].value.startswith("hdf5") and "~mpi" in c.args[0].value
           for c in calls if c.args and isinstance(c.args[0], ast.Constant)):
    errors.append(f"{spack}: hdf5 must be ~mpi (nn-train uses the serial HDF5)")
versions = [c.args[0].value for c in calls if c.func.id == "version" and c.args]
if version not in versions:
    errors.append(f"{spack}: no version('{version}') (the project is {version})")

class Constants(dict):  # EasyBuild's templates and constants (SOURCE_TAR_GZ, SYSTEM, ...)
    def __missing__(self, key):
        if key.isupper() or key.startswith("SHLIB"):
            return f"<{key}>"
        raise KeyError(key)
for eb in ebs:
    ns = Constants()
    exec(compile(open(eb).read(), eb, "exec"), {}, ns)
    for key in ["easyblock", "name", "version", "homepage", "description", "toolchain"]:
        if key not in ns:
            errors.append(f"{eb}: no {key}")
    if not eb.endswith(f"{ns.get('name')}-{ns.get('version')}-"
                       f"{ns.get('toolchain', {}).get('name')}-{ns.get('toolchain', {}).get('version')}"
                       f"{ns.get('versionsuffix', '')}.eb"):
        errors.append(f"{eb}: the file name does not match name, version and toolchain")
    if ns.get("name") == "nn-train":
        if ns["version"] != version:
            errors.append(f"{eb}: version {ns['version']}, the project is {version}")
        names = {d[0] for d in ns.get("dependencies", []) + ns.get("builddependencies", [])}
        for want in ["HDF5", "OpenBLAS", "zlib", "libmicrohttpd", "cmocka", "CMake", "pkgconf"]:
            if want not in names:
                errors.append(f"{eb}: no dependency {want}")
print("\n".join(errors) if errors else f"ok: {spack} and {len(ebs)} easyconfigs")
sys.exit(1 if errors else 0)
EOF
        { cat recipes.out >&2; fail "the recipes do not check out"; }
    say "$(cat recipes.out) ($(elapsed) s)"
}

"case_$case_name"
