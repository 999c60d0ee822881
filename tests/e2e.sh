#!/bin/bash
# e2e.sh: end-to-end tests of the nn-train binary under real mpirun.
#   e2e.sh CASE BUILD_DIR
# ctest runs each CASE as its own test (tests/CMakeLists.txt). Every check prints what it
# expected and what it got, and any failure exits non-zero.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "$2" e2e-

# Largest relative difference between the loss columns of two step logs (same steps).
max_rel_diff() {
    paste -d, "$1" "$2" | awk -F, 'NR > 1 {
        if ($1 != $4) { print "step mismatch"; exit }
        d = $3 - $6; if (d < 0) d = -d; a = $3 < 0 ? -$3 : $3;
        r = d / (a > 1e-30 ? a : 1e-30); if (r > m) m = r; n++ }
        END { printf "%.3g %d\n", m, n }'
}

case_example() {
    # The built-in example as a plain process and under mpirun -np 2.
    for mode in single np2; do
        if [ $mode = single ]; then "$train" >out.txt; else run_np 2 >out.txt; fi
        ratio=$(sed -n 's/.*samples = \([0-9.e+-]*\) of the target variance.*/\1/p' out.txt)
        [ -n "$ratio" ] || fail "$mode: no final MSE line in the output"
        awk -v r="$ratio" 'BEGIN { exit !(r < 1e-3) }' ||
            fail "$mode: final MSE is $ratio of the target variance; expected < 1e-3"
        [ "$(grep -c '^epoch ' out.txt)" = 100 ] || fail "$mode: expected 100 epoch lines"
        echo "example $mode: final MSE / target variance = $ratio"
    done
}

case_np_invariance() {
    # With --no-shuffle the global batches are the same samples at any rank count, so the
    # loss after every step agrees to float rounding. 1800 training samples and batch 100 (18
    # steps) or 128 (a partial last batch of 8, which leaves some ranks with nothing).
    # Overlapping classes and noisy targets keep the loss O(1): relative differences of a loss
    # that has fallen to 1e-5 would measure only rounding noise amplified by Adam.
    "$make_data" blobs c.h5 2000 8 3 5 0 3.0
    "$make_data" regress r.h5 700 5 2 6
    for setup in "c.h5 8,32,16,3 relu adam 100" "c.h5 8,24,3 tanh sgd 128" \
                 "r.h5 5,16,2 sigmoid adamw 64"; do
        set -- $setup
        extra=""
        [ "$4" = sgd ] && extra="--momentum 0.9 --l2 0.01"
        for np in 1 2 4; do
            run_np $np --data "$1" --layers "$2" --activation "$3" --optimizer "$4" $extra \
                --batch "$5" --epochs 4 --lr 0.01 --no-shuffle --quiet --step-log "s$np.csv"
        done
        for np in 2 4; do
            read -r diff steps <<<"$(max_rel_diff s1.csv s$np.csv)"
            [ "$steps" -ge 20 ] || fail "$setup: only $steps steps compared"
            awk -v d="$diff" 'BEGIN { exit !(d <= 1e-5) }' ||
                fail "$setup: np $np differs from np 1 by $diff relative; expected <= 1e-5"
            echo "$setup: np 1 vs np $np over $steps steps: max relative loss difference $diff"
        done
    done
}

case_allreduce_paths() {
    # The gradient sum's paths (nn_replica, docs/performance.md) train the same model:
    # shared memory on one node, shared memory within two pseudo-nodes plus MPI between them
    # (NN_TEST_RANKS_PER_NODE=2), the fallback when nodes differ in size (2 + 1), and plain
    # MPI between all ranks (--allreduce mpi). Each must follow np 1's losses to float rounding; at
    # 2 ranks a sum of two terms does not depend on the order, so shared memory and MPI must
    # give bit-identical losses and checkpoints.
    "$make_data" blobs c.h5 2000 8 3 5 0 3.0
    common=(--data c.h5 --layers 8,32,16,3 --batch 100 --epochs 4 --lr 0.01 --no-shuffle)
    run_np 1 "${common[@]}" --quiet --step-log s1.csv
    for run in "2 auto 0 shared memory" "2 mpi 0 MPI (a full copy" "4 auto 0 shared memory" \
               "4 auto 2 shared memory within each node" "3 auto 2 MPI (a full copy" \
               "4 mpi 0 MPI (a full copy"; do
        read -r np mode per want <<<"$run"
        tag=$np-$mode-$per
        NN_TEST_RANKS_PER_NODE=$per run_np "$np" "${common[@]}" --allreduce "$mode" \
            --checkpoint-dir "ck$tag" --step-log "s$tag.csv" >"out$tag.txt"
        got=$(sed -n 's/^reduce gradients by //p' "out$tag.txt")
        [[ "$got" == "$want"* ]] || fail "np $np --allreduce $mode ($per per node): the banner says '$got'; expected '$want...'"
        read -r diff steps <<<"$(max_rel_diff s1.csv "s$tag.csv")"
        [ "$steps" -ge 20 ] || fail "$tag: only $steps steps compared"
        awk -v d="$diff" 'BEGIN { exit !(d <= 1e-5) }' ||
            fail "np $np --allreduce $mode ($per per node): differs from np 1 by $diff relative; expected <= 1e-5"
        echo "np $np --allreduce $mode (${per/0/all} ranks per node): $got; max relative loss difference from np 1 $diff over $steps steps"
    done
    cmp -s s2-auto-0.csv s2-mpi-0.csv ||
        fail "np 2: shared memory and MPI gave different losses; expected identical"
    sum_of() { "$train" --verify "$1/$(cat "$1/latest")" 2>/dev/null | sed -n 's/.*state checksum \([0-9a-f]*\).*/\1/p'; }
    a=$(sum_of ck2-auto-0)
    b=$(sum_of ck2-mpi-0)
    [ -n "$a" ] && [ "$a" = "$b" ] ||
        fail "np 2: final checkpoints differ (state checksum '$a' with shared memory, '$b' with MPI)"
    echo "np 2: identical losses and final state (checksum $a) with shared memory and MPI"
}

case_small_shm() {
    # A /dev/shm too small for the shared-memory sum (64 MiB in a default Docker container;
    # here 48 MiB, mounted in a private mount namespace) must fall back to MPI between ranks with
    # one warning and train, instead of dying when the window pages are first touched. A
    # model that fits keeps the shared path.
    if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
        echo "SKIP: needs root and unshare -m for a private /dev/shm"
        exit 77
    fi
    "$make_data" blobs c.h5 640 784 10 5 0 3.0
    for run in "big 784,2048,2048,10" "small 784,64,10"; do
        read -r tag layers <<<"$run"
        unshare -m sh -c "mount -t tmpfs -o size=48m tmpfs /dev/shm &&
            timeout 120 mpirun -np 2 --oversubscribe '$train' --data c.h5 --layers $layers \
            --epochs 1 --batch 64 --metrics $tag.csv >$tag.out 2>$tag.err" ||
            { cat "$tag.err" >&2; fail "$tag: the run failed with a 48 MiB /dev/shm"; }
        [ "$(wc -l <"$tag.csv")" = 2 ] || fail "$tag: the metrics have no epoch row"
        warn=$(grep -c '^nn-train: warning: /dev/shm has' "$tag.err" || true)
        path=$(sed -n 's/^reduce gradients by //p' "$tag.out")
        if [ "$tag" = big ]; then
            [ "$warn" = 1 ] || fail "big: expected one /dev/shm warning, got $warn: $(cat big.err)"
            [[ "$path" == "MPI (a full copy"* ]] || fail "big: expected MPI between ranks, got '$path'"
            echo "5.8M parameters, 48 MiB /dev/shm: $(grep warning big.err)"
        else
            [ "$warn" = 0 ] || fail "small: unexpected warning: $(cat small.err)"
            [[ "$path" == "shared memory"* ]] || fail "small: expected shared memory, got '$path'"
            echo "51k parameters, 48 MiB /dev/shm: $path"
        fi
    done
}

case_learn() {
    # A small synthetic classification task (4 Gaussian clusters in 10-D) learnt to high
    # accuracy with shuffling at 2 and 4 ranks, and a regression task to a small MSE.
    "$make_data" blobs c.h5 3000 10 4 9 600
    "$make_data" regress r.h5 2000 6 1 3
    for np in 2 4; do
        run_np $np --data c.h5 --layers 10,32,4 --epochs 8 --batch 64 --lr 0.005 --quiet \
            --metrics m.csv
        acc=$(tail -1 m.csv | cut -d, -f5)
        awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }' ||
            fail "np $np: validation accuracy $acc; expected >= 0.95"
        echo "classification np $np: validation accuracy $acc"
        run_np $np --data r.h5 --layers 6,32,32,1 --activation tanh --epochs 30 --batch 64 \
            --lr 0.003 --quiet --metrics r.csv
        mse=$(tail -1 r.csv | cut -d, -f4)
        awk -v a="$mse" 'BEGIN { exit !(a < 0.01) }' ||
            fail "np $np: regression validation MSE $mse; expected < 0.01"
        echo "regression np $np: validation MSE $mse"
    done
}

# expect_error NP STATUS PATTERN ARGS...: the run must fail with STATUS (1 a data or I/O
# failure, 2 a usage error), print exactly one error line that matches PATTERN, and write no
# output files.
expect_error() {
    local np=$1 want=$2 pattern=$3; shift 3
    rm -rf out && mkdir out
    set +e
    run_np "$np" "$@" --metrics out/m.csv --checkpoint-dir out/ckpt >out/stdout 2>err.txt
    local rc=$?
    set -e
    [ $rc = "$want" ] || { cat err.txt >&2; fail "np $np $*: exit status $rc; expected $want"; }
    local n
    n=$(grep -c 'error' err.txt || true)
    [ "$n" = 1 ] || { cat err.txt >&2; fail "np $np $*: $n error lines; expected exactly one"; }
    grep -q -- "$pattern" err.txt || { cat err.txt >&2; fail "np $np $*: message lacks '$pattern'"; }
    [ ! -e out/m.csv ] && [ ! -e out/ckpt ] || fail "np $np $*: output written despite the error"
    echo "np $np: $(cat err.txt)"
}

case_bad_input() {
    "$make_data" blobs ok.h5 200 4 3 1
    for kind in xint label nan noy rows ystr; do "$make_data" bad-$kind $kind.h5; done
    echo "not hdf5" >text.h5
    # As a plain process and at 3 ranks (mpirun takes ~1 s more to end a job whose ranks exit
    # non-zero, so the long list runs at one rank count only).
    for np in plain 3; do
        expect_error $np 2 "unknown flag '--bogus'" --data ok.h5 --layers 4,3 --bogus 1
        expect_error $np 2 "--lr 'fast'" --data ok.h5 --layers 4,3 --lr fast
        expect_error $np 2 "--lr '-1'" --data ok.h5 --layers 4,3 --lr -1
        expect_error $np 2 "--activation 'gelu': expected one of" --activation gelu
        expect_error $np 2 "--layers '784,,10'" --data ok.h5 --layers 784,,10
        expect_error $np 2 "--layers '4'" --data ok.h5 --layers 4
        expect_error $np 2 "missing value" --data ok.h5 --layers
        expect_error $np 2 "--layers is required" --data ok.h5
        expect_error $np 1 "missing.h5: cannot open" --data missing.h5 --layers 4,3
        expect_error $np 1 "text.h5: not an HDF5 file" --data text.h5 --layers 4,3
        expect_error $np 2 "has 4 features but --layers starts with 5" --data ok.h5 --layers 5,3
        expect_error $np 1 "/train/x is integer" --data xint.h5 --layers 4,3
        expect_error $np 1 "dataset /train/y is missing" --data noy.h5 --layers 4,3
        expect_error $np 1 "/train/y has 13 rows but /train/x has 16" --data rows.h5 --layers 4,3
        expect_error $np 1 "/train/y is string" --data ystr.h5 --layers 4,3
        expect_error $np 1 "row 11 has label 7; expected a class in \[0, 3)" --data label.h5 \
            --layers 4,3 --val-fraction 0
        expect_error $np 1 "row 5 column 2 is not finite" --data nan.h5 --layers 4,3
        expect_error $np 2 "needs at least 2 outputs" --data ok.h5 --layers 4,1 --loss xent
        expect_error $np 2 "--weight-decay applies to --optimizer adamw only" --data ok.h5 \
            --layers 4,3 --weight-decay 0.1
        expect_error $np 2 "--optimizer gd is full-batch" --data ok.h5 --layers 4,3 \
            --optimizer gd --batch 10
    done
    expect_error 3 2 "--batch 2 is smaller than the number of ranks (3)" --data ok.h5 \
        --layers 4,3 --batch 2
    "$make_data" blobs tiny.h5 3 4 3 1
    expect_error 4 1 "3 training samples for 4 ranks" --data tiny.h5 --layers 4,3 --val-fraction 0
    # a checkpoint directory that cannot be created
    touch afile
    set +e
    run_np 2 --data ok.h5 --layers 4,3 --checkpoint-dir afile/ckpt --epochs 1 2>err.txt >/dev/null
    rc=$?
    set -e
    [ $rc = 1 ] && grep -q "checkpoint-dir afile/ckpt: cannot create" err.txt ||
        fail "unwritable checkpoint dir: status $rc, $(cat err.txt)"
    # a diverging run stops on every rank with one message
    set +e
    run_np 2 --data ok.h5 --layers 4,16,3 --lr 1e6 --optimizer sgd --epochs 3 2>err.txt >/dev/null
    rc=$?
    set -e
    [ $rc = 1 ] && grep -q "training diverged" err.txt || fail "divergence: status $rc, $(cat err.txt)"
    # a log that is an input (by device and inode: a symlink too) or the other log: status 2
    # on every rank, nothing written, the input untouched
    ln -s ok.h5 link.h5
    sums=$(md5sum ok.h5)
    for args in "--metrics ok.h5" "--step-log ./link.h5" "--metrics m.csv --step-log ./m.csv"; do
        set +e
        run_np 2 --data ok.h5 --layers 4,3 $args >/dev/null 2>err.txt
        rc=$?
        set -e
        [ $rc = 2 ] && [ "$(grep -c error err.txt)" = 1 ] &&
            grep -q "is the same file as --\(data ok.h5; refusing to overwrite an input\|metrics m.csv; expected two different files\)$" err.txt ||
            { cat err.txt >&2; fail "$args: status $rc"; }
        [ "$(md5sum ok.h5)" = "$sums" ] && [ ! -e m.csv ] || fail "$args wrote something"
        echo "status 2: $(grep error err.txt)"
    done
    # the final checkpoint onto a full disk (a 16 KiB tmpfs; root only): the earlier one's
    # failure is not fatal, the last one's is: status 1 on every rank
    if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
        set +e
        unshare -m sh -c "mkdir -p $work/mnt && mount -t tmpfs -o size=16k tmpfs $work/mnt &&
            timeout 120 mpirun -np 2 --oversubscribe $train --data $work/ok.h5 --layers 4,64,3 \
            --epochs 2 --checkpoint-dir $work/mnt/ck --quiet 2>$work/err.txt"
        rc=$?
        set -e
        [ $rc = 1 ] && grep -q "e000001.*No space left on device.*(training goes on)$" err.txt &&
            grep -q "e000002.*No space left on device.*it was the run's final checkpoint (exit status 1)$" err.txt ||
            { cat err.txt >&2; fail "the final checkpoint on a full disk: status $rc"; }
        echo "full disk: $(grep final err.txt)"
    else
        skip_part "the final checkpoint on a full disk: needs root and unshare -m"
    fi
}

case_checkpoint() {
    # Checkpoints: written every N epochs and at the end, readable by h5dump and h5py, and the
    # h5py/numpy forward pass over /val reproduces nn-train's last validation metrics.
    "$make_data" blobs c.h5 1200 6 3 4 300
    run_np 2 --data c.h5 --layers 6,16,3 --epochs 5 --checkpoint-every 2 --checkpoint-dir ck \
        --metrics m.csv --quiet
    ls ck >list.txt
    [ "$(ls ck | grep -c '\.h5$')" = 3 ] || fail "expected checkpoints at epochs 2, 4 and 5: $(cat list.txt)"
    ! ls ck | grep -q tmp || fail "a temporary file was left behind"
    last=$(ls ck/*.h5 | sort | tail -1)
    case $last in *ckpt-e000005-*) ;; *) fail "last checkpoint is $last" ;; esac
    h5dump -A "$last" >dump.txt || fail "h5dump cannot read $last"
    h5dump -p -H "$last" >>dump.txt || fail "h5dump -p -H cannot read $last"
    for want in format_version world_size dense_1 activation '"adam"' 'CHECKSUM FLETCHER32'; do
        grep -q "$want" dump.txt || fail "h5dump output lacks $want"
    done
    if have_h5py; then
        /usr/bin/python3 "$here/../scripts/check_checkpoint.py" "$last" c.h5 m.csv
    fi
}

case_cli() {
    "$train" --help >help.txt
    for flag in data layers activation loss optimizer lr momentum weight-decay l1 l2 batch \
                epochs seed val-fraction no-shuffle checkpoint-dir checkpoint-every metrics \
                step-log quiet threads version; do
        grep -q -- "--$flag" help.txt || fail "--help does not list --$flag"
    done
    grep -q -- "--lr FLOAT .*\[0.001\]" help.txt || fail "--help does not show --lr's default"
    "$train" --version | grep -Eq '^nn-train [0-9]+\.[0-9]+\.[0-9]+ \(git ' || fail "--version"
    # --quiet prints nothing on success; metrics CSV has the documented header
    "$make_data" blobs c.h5 300 4 2 1
    out=$(run_np 2 --data c.h5 --layers 4,8,2 --epochs 2 --quiet --metrics m.csv 2>&1)
    [ -z "$out" ] || fail "--quiet printed: $out"
    head -1 m.csv | grep -q '^epoch,train_loss,reg_loss,val_loss,val_accuracy,samples_per_sec,seconds' ||
        fail "metrics header: $(head -1 m.csv)"
    [ "$(wc -l <m.csv)" = 3 ] || fail "metrics: expected a header and 2 rows"
    # the srun-without-PMIx trap: Slurm says 3 tasks, MPI sees one rank -> refuse, status 2;
    # only task 0 speaks
    rc=0; SLURM_STEP_NUM_TASKS=3 SLURM_PROCID=0 "$train" --epochs 1 >o.txt 2>e.txt || rc=$?
    [ "$rc" = 2 ] && grep -q "Slurm started 3 tasks but MPI reports a single rank: srun needs --mpi=pmix" e.txt ||
        fail "srun trap (task 0): status $rc, $(cat e.txt)"
    rc=0; SLURM_STEP_NUM_TASKS=3 SLURM_PROCID=2 "$train" --epochs 1 >o.txt 2>e.txt || rc=$?
    [ "$rc" = 2 ] && [ ! -s e.txt ] || fail "srun trap (task 2): status $rc, $(cat e.txt)"
    # the banner: ranks, hosts, threads, library versions, settings hash; an oversubscription
    # warning when ranks x threads exceed the cores
    run_np 4 --data c.h5 --layers 4,8,2 --epochs 1 >o.txt 2>e.txt
    grep -q "^nn-train .*: 4 ranks on 1 host: .* (4)$" o.txt || fail "banner: $(head -2 o.txt)"
    grep -q "^system 1 OpenBLAS thread/rank, [A-Za-z0-9]* kernels\( (chosen here: OpenBLAS took this CPU for a [A-Za-z0-9]*)\)\?, up to 4 ranks/host on [0-9]* cores; Open MPI .*, HDF5 1\.[0-9.]*; settings hash [0-9a-f]\{16\}$" o.txt ||
        fail "banner: $(head -2 o.txt)"
    if [ "$(nproc)" -lt 4 ]; then
        grep -q "warning: 4 ranks x 1 OpenBLAS thread on a host with $(nproc) cores" e.txt ||
            fail "no oversubscription warning: $(cat e.txt)"
    fi
    # OpenBLAS's kernels: the widest this CPU runs (re-executed with OPENBLAS_CORETYPE when
    # OpenBLAS took it for an older one), and the user's OPENBLAS_CORETYPE left alone
    if grep -qw avx512bw /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo; then
        grep -Eq "^system .*, (SkylakeX|Cooperlake|SapphireRapids) kernels" o.txt ||
            fail "an AVX-512 CPU without AVX-512 kernels: $(sed -n 2p o.txt)"
    fi
    if grep -qw avx2 /proc/cpuinfo; then
        OPENBLAS_CORETYPE=Haswell run_np 2 --data c.h5 --layers 4,8,2 --epochs 1 >o2.txt 2>&1
        grep -q "^system 1 OpenBLAS thread/rank, Haswell kernels, up to" o2.txt ||
            fail "OPENBLAS_CORETYPE=Haswell not kept: $(sed -n 2p o2.txt)"
    fi
    # gd = full batch: one step per epoch
    run_np 2 --data c.h5 --layers 4,8,2 --optimizer gd --lr 0.1 --epochs 3 --quiet --step-log s.csv
    [ "$(wc -l <s.csv)" = 4 ] || fail "gd: expected 3 steps, got $(($(wc -l <s.csv) - 1))"
}

case_aids() {
    # --normalize: statistics over the whole training set, equal at 1 and 4 ranks, equal to
    # numpy's, stored in the checkpoint; a constant feature gets scale 1.
    "$make_data" blobs c.h5 2000 6 3 7 500 2.0
    /usr/bin/python3 - <<'EOF2' || fail "cannot add a constant column"
import h5py, numpy as np
with h5py.File("c.h5", "r") as f, h5py.File("k.h5", "w") as g:
    for split in ("train", "val"):
        x = f[split + "/x"][...]
        x = np.hstack([x * 50 + 1000, np.full((len(x), 1), 7.0, np.float32)]).astype(np.float32)
        g[split + "/x"] = x
        g[split + "/y"] = f[split + "/y"][...]
EOF2
    for np in plain 4; do
        run_np $np --data k.h5 --layers 7,16,3 --epochs 1 --quiet --checkpoint-dir n$np --metrics m$np.csv
    done
    for np in plain 4; do
        /usr/bin/python3 - "n$np/$(cat n$np/latest)" <<'EOF2' || fail "normalisation statistics (np $np)"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as c, h5py.File("k.h5", "r") as d:
    shift, scale = c["preprocess/x_shift"][...], c["preprocess/x_scale"][...]
    x = d["train/x"][...].astype(np.float64)
    assert c["preprocess"].attrs["method"] == b"zscore"
    mean, sd = x.mean(axis=0), x.std(axis=0)
    assert np.allclose(shift, mean, rtol=1e-6, atol=1e-6), (shift, mean)
    assert np.allclose(scale[:-1], sd[:-1], rtol=1e-5), (scale, sd)
    assert scale[-1] == 1.0, scale   # the constant feature
print("zscore statistics match numpy; constant feature scale 1")
EOF2
    done
    cmp <(h5dump -d /preprocess/x_shift -d /preprocess/x_scale "n4/$(cat n4/latest)" | grep -v HDF5) \
        <(h5dump -d /preprocess/x_shift -d /preprocess/x_scale "nplain/$(cat nplain/latest)" | grep -v HDF5) ||
        fail "normalisation statistics differ between 1 and 4 ranks"
    /usr/bin/python3 "$here/../scripts/check_checkpoint.py" "n4/$(cat n4/latest)" k.h5 m4.csv
    # minmax: shift = min, scale = max - min
    run_np 2 --data k.h5 --layers 7,16,3 --epochs 1 --quiet --normalize minmax --checkpoint-dir mm
    /usr/bin/python3 - "mm/$(cat mm/latest)" <<'EOF2' || fail "minmax statistics"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as c, h5py.File("k.h5", "r") as d:
    x = d["train/x"][...]
    lo, hi = x.min(axis=0), x.max(axis=0)
    assert np.array_equal(c["preprocess/x_shift"][...], lo)
    sc = c["preprocess/x_scale"][...]
    assert np.allclose(sc[:-1], (hi - lo)[:-1]) and sc[-1] == 1.0
EOF2
    # --dropout with exact resume: the masks come from (seed, step, rank), nothing to store
    A=(--data c.h5 --layers 6,64,64,3 --dropout 0.3 --epochs 2 --batch 64 --quiet --keep 100)
    run_np 2 "${A[@]}" --checkpoint-dir d1 --checkpoint-every-steps 10
    "$train" --verify "d1/$(cat d1/latest)" | sed -n 's/.*checksum \([0-9a-f]*\) verified.*/\1/p' >want.txt
    mkdir d2 && cp d1/ckpt-e000000-s000000030.h5 d2/ # inside epoch 1 (32 steps)
    run_np 2 "${A[@]}" --checkpoint-dir d2 --resume auto
    "$train" --verify "d2/$(cat d2/latest)" | sed -n 's/.*checksum \([0-9a-f]*\) verified.*/\1/p' >got.txt
    cmp want.txt got.txt || fail "dropout: resumed state $(cat got.txt), uninterrupted $(cat want.txt)"
    echo "dropout 0.3: resumed from step 30 to the same final state $(cat got.txt)"

    # --lr-schedule cosine with warm-up: the metrics' lr column (the rate of each epoch's last
    # step) follows the formula; 2000 training rows, batch 64 -> 32 steps per epoch
    run_np 2 --data c.h5 --layers 6,16,3 --epochs 4 --batch 64 --lr 0.01 --lr-schedule cosine \
        --warmup-epochs 1 --lr-min 0.001 --quiet --metrics lr.csv
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "lr") c = i }
             NR > 1 { lr[NR - 1] = $c } END {
                 s = 32; total = 4 * s - s; pi = atan2(0, -1)
                 for (e = 1; e <= 4; e++) {
                     step = e * s - 1   # the last step of epoch e, 0-based
                     if (step < s) want = 0.01 * (step + 1) / s
                     else want = 0.001 + 0.009 * 0.5 * (1 + cos(pi * (step - s) / total))
                     d = lr[e] - want; if (d < 0) d = -d
                     if (d > 1e-6 * want) { printf "epoch %d lr %s, expected %g\n", e, lr[e], want; exit 1 }
                 } }' lr.csv || fail "lr column does not follow the cosine schedule: $(cat lr.csv)"

    # --patience: overfitting a small noisy set; stops early, best.h5 holds the best epoch
    "$make_data" blobs o.h5 200 20 3 3 400 4.0
    out=$(run_np 2 --data o.h5 --layers 20,256,256,3 --epochs 60 --batch 16 --lr 0.003 \
          --patience 3 --checkpoint-dir es --metrics es.csv)
    grep -q "early stopping: no better validation loss for 3 epochs" <<<"$out" ||
        fail "no early stop: $(echo "$out" | tail -3)"
    last=$(tail -1 es.csv | cut -d, -f1)
    [ "$last" -lt 60 ] || fail "ran all 60 epochs"
    best=$(awk -F, 'NR > 1 && (min == "" || $4 < min) { min = $4; e = $1 } END { print e }' es.csv)
    [ "$last" = $((best + 3)) ] || fail "stopped at $last, best epoch $best, patience 3"
    grep -q "position   epoch $best done" <<<"$("$train" --verify es/best.h5)" ||
        fail "best.h5 is not epoch $best: $("$train" --verify es/best.h5)"
    echo "early stopping: best epoch $best, stopped after epoch $last; best.h5 verified"
    # resuming a run that stopped early has nothing to do
    grep -q "stopped early" <<<"$(run_np 2 --data o.h5 --checkpoint-dir es --resume auto)" ||
        fail "resume after early stop"
}

"case_$case_name"
echo "PASS [$case_name]"
