#!/bin/bash
# e2e.sh: end-to-end tests of the nn-train binary under real mpirun.
#   e2e.sh CASE BUILD_DIR
# ctest runs each CASE as its own test (tests/CMakeLists.txt). Every check prints what it
# expected and what it got, and any failure exits non-zero.
set -euo pipefail

case_name=$1
build=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
train=$build/nn-train
make_data=$build/tests/make_data
work=$(mktemp -d "${TMPDIR:-/tmp}/nn-e2e-$case_name.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1

fail() { echo "FAIL [$case_name]: $*" >&2; exit 1; }
# run_np NP ARGS: nn-train under mpirun; NP "plain" runs it as a single process, no mpirun.
run_np() {
    local np=$1; shift
    if [ "$np" = plain ]; then timeout 120 "$train" "$@"
    else timeout 120 mpirun -np "$np" --oversubscribe "$train" "$@"; fi
}

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

# expect_error NP PATTERN ARGS...: the run must fail with status 1 or 2, print exactly one
# error line that matches PATTERN, and write no output files.
expect_error() {
    local np=$1 pattern=$2; shift 2
    rm -rf out && mkdir out
    set +e
    run_np "$np" "$@" --metrics out/m.csv --checkpoint-dir out/ckpt >out/stdout 2>err.txt
    local rc=$?
    set -e
    [ $rc = 1 ] || [ $rc = 2 ] || fail "np $np $*: exit status $rc; expected 1 or 2"
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
        expect_error $np "unknown flag '--bogus'" --data ok.h5 --layers 4,3 --bogus 1
        expect_error $np "--lr 'fast'" --data ok.h5 --layers 4,3 --lr fast
        expect_error $np "--lr '-1'" --data ok.h5 --layers 4,3 --lr -1
        expect_error $np "--activation 'gelu': expected one of" --activation gelu
        expect_error $np "--layers '784,,10'" --data ok.h5 --layers 784,,10
        expect_error $np "--layers '4'" --data ok.h5 --layers 4
        expect_error $np "missing value" --data ok.h5 --layers
        expect_error $np "--layers is required" --data ok.h5
        expect_error $np "missing.h5: cannot open" --data missing.h5 --layers 4,3
        expect_error $np "text.h5: not an HDF5 file" --data text.h5 --layers 4,3
        expect_error $np "has 4 features but --layers starts with 5" --data ok.h5 --layers 5,3
        expect_error $np "/train/x is integer" --data xint.h5 --layers 4,3
        expect_error $np "dataset /train/y is missing" --data noy.h5 --layers 4,3
        expect_error $np "/train/y has 13 rows but /train/x has 16" --data rows.h5 --layers 4,3
        expect_error $np "/train/y is string" --data ystr.h5 --layers 4,3
        expect_error $np "row 11 has label 7; expected a class in \[0, 3)" --data label.h5 \
            --layers 4,3 --val-fraction 0
        expect_error $np "row 5 column 2 is not finite" --data nan.h5 --layers 4,3
        expect_error $np "needs at least 2 outputs" --data ok.h5 --layers 4,1 --loss xent
        expect_error $np "--weight-decay applies to --optimizer adamw only" --data ok.h5 \
            --layers 4,3 --weight-decay 0.1
        expect_error $np "--optimizer gd is full-batch" --data ok.h5 --layers 4,3 \
            --optimizer gd --batch 10
    done
    expect_error 3 "--batch 2 is smaller than the number of ranks (3)" --data ok.h5 \
        --layers 4,3 --batch 2
    "$make_data" blobs tiny.h5 3 4 3 1
    expect_error 4 "3 training samples for 4 ranks" --data tiny.h5 --layers 4,3 --val-fraction 0
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
    if /usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null; then
        /usr/bin/python3 "$here/../scripts/check_checkpoint.py" "$last" c.h5 m.csv
    elif [ "${CI:-}" = true ]; then
        fail "python3-h5py is missing in CI"
    else
        echo "SKIP h5py check: python3-h5py not installed"
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
    "$train" --version | grep -Eq '^nn-train [0-9]+\.[0-9]+\.[0-9]+$' || fail "--version"
    # --quiet prints nothing on success; metrics CSV has the documented header
    "$make_data" blobs c.h5 300 4 2 1
    out=$(run_np 2 --data c.h5 --layers 4,8,2 --epochs 2 --quiet --metrics m.csv 2>&1)
    [ -z "$out" ] || fail "--quiet printed: $out"
    head -1 m.csv | grep -q '^epoch,train_loss,reg_loss,val_loss,val_accuracy,samples_per_sec,seconds' ||
        fail "metrics header: $(head -1 m.csv)"
    [ "$(wc -l <m.csv)" = 3 ] || fail "metrics: expected a header and 2 rows"
    # gd = full batch: one step per epoch
    run_np 2 --data c.h5 --layers 4,8,2 --optimizer gd --lr 0.1 --epochs 3 --quiet --step-log s.csv
    [ "$(wc -l <s.csv)" = 4 ] || fail "gd: expected 3 steps, got $(($(wc -l <s.csv) - 1))"
}

"case_$case_name"
echo "PASS [$case_name]"
