#!/bin/bash
# e2e_predict.sh: end-to-end tests of nn-predict, as a plain process and under real mpirun.
#   e2e_predict.sh CASE BUILD_DIR
# ctest runs each CASE as its own test (tests/CMakeLists.txt). Every check prints what it
# expected and what it got, and any failure exits non-zero.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "$2" e2e-predict-
ref=$src/scripts/torch_predict.py
pred() { local np=$1; shift; mpi_run "$np" "$predict" "$@"; }
# Fields of nn-predict's "result" line: loss and accuracy (accuracy "-" when not printed).
result_loss() { sed -n 's/^result .* loss \([^ ]*\) .*/\1/p' "$1"; }
result_acc() { sed -n 's/^result .* accuracy \([^ ]*\) .*/\1/p' "$1"; }
# close A B TOL: |A - B| <= TOL * max(1e-30, |B|) (relative).
close() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d;
    m = b < 0 ? -b : b; if (m < 1e-30) m = 1e-30; exit !(d <= t * m) }'; }
# same_h5 A B: the datasets of two HDF5 prediction files hold the same values.
same_h5() {
    for d in /predictions /classes; do
        h5dump -m %.9g -d "$d" "$1" 2>/dev/null | tail -n +2 >a.dump || true
        h5dump -m %.9g -d "$d" "$2" 2>/dev/null | tail -n +2 >b.dump || true
        cmp -s a.dump b.dump || return 1
    done
}
# The reference check, with numpy (always, as in CI) and with torch when it can be imported.
reference() {
    have_h5py || return 0
    /usr/bin/python3 "$ref" "$@" --engine numpy || fail "torch_predict.py --engine numpy $*"
    if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
        /usr/bin/python3 "$ref" "$@" --engine torch || fail "torch_predict.py --engine torch $*"
    fi
}

# The same predictions at every rank count: CSV and HDF5 outputs identical, metrics equal.
# Leaves out_plain.txt, p_plain.csv, p_plain.h5.
predict_everywhere() {
    local model=$1 data=$2; shift 2
    for np in plain 2 4; do
        pred $np --model "$model" --data "$data" "$@" --output "p_$np.csv" >"out_$np.txt"
        pred $np --model "$model" --data "$data" "$@" --output "p_$np.h5" --quiet
        [ -s "p_$np.csv" ] && [ -s "p_$np.h5" ] || fail "np $np: no output written"
        ! ls | grep -q '\.tmp$' || fail "np $np: a temporary file was left behind"
    done
    for np in 2 4; do
        cmp -s p_plain.csv "p_$np.csv" || fail "np $np: the CSV differs from the plain process's"
        same_h5 p_plain.h5 "p_$np.h5" || fail "np $np: the HDF5 output differs from the plain process's"
        [ "$(grep '^result' out_plain.txt)" = "$(grep '^result' "out_$np.txt")" ] ||
            fail "np $np: '$(grep '^result' "out_$np.txt")' vs plain '$(grep '^result' out_plain.txt)'"
    done
    echo "np plain/2/4: identical CSV and HDF5; $(grep '^result' out_plain.txt)"
}

case_classify() {
    # A classifier trained with nn-train: nn-predict on /val reproduces nn-train's final
    # validation metrics, at 1, 2 and 4 ranks alike; the outputs match the reference. The layers
    # are wide enough (40 -> 64) for OpenBLAS to round a row differently at different positions
    # of a product, which nn-predict's rank-independent pass alignment must make irrelevant.
    "$make_data" blobs c.h5 1200 40 3 4 300 3.0
    run_np 2 --data c.h5 --layers 40,64,3 --epochs 5 --checkpoint-dir ck --metrics m.csv \
        --quiet
    ck=$(newest ck)
    predict_everywhere "$ck" c.h5 --split val
    loss=$(result_loss out_plain.txt)
    acc=$(result_acc out_plain.txt)
    want_loss=$(tail -1 m.csv | cut -d, -f4)
    want_acc=$(tail -1 m.csv | cut -d, -f5)
    close "$loss" "$want_loss" 1e-5 || fail "loss $loss; nn-train's final val_loss is $want_loss"
    close "$acc" "$want_acc" 1e-9 || fail "accuracy $acc; nn-train's final val_accuracy is $want_acc"
    echo "matches nn-train's last epoch: val_loss $want_loss, val_accuracy $want_acc"
    [ "$(head -1 p_plain.csv)" = "row,class,p0,p1,p2" ] || fail "CSV header: $(head -1 p_plain.csv)"
    [ "$(wc -l <p_plain.csv)" = 301 ] || fail "CSV: expected a header and 300 rows"
    h5dump -H p_plain.h5 >h.txt
    grep -q 'DATASET "predictions"' h.txt && grep -q 'SIMPLE { ( 300, 3 )' h.txt &&
        grep -q 'DATASET "classes"' h.txt || fail "HDF5 layout: $(cat h.txt)"
    reference "$ck" c.h5 p_plain.csv --split val
    reference "$ck" c.h5 p_4.h5 --split val
    # The default split is /test once the file has one; --batch does not change a row's result
    # beyond float rounding, and with the same --batch the rank count changes nothing.
    "$make_data" blobs t.h5 5 40 3 4 250 3.0
    "$tool" copy-split t.h5 val c.h5 test
    pred plain --model "$ck" --data c.h5 --output t1.csv --batch 7 >out.txt
    grep -q '^data .* /test: 250 samples' out.txt || fail "default split: $(cat out.txt)"
    pred 3 --model "$ck" --data c.h5 --output t3.csv --batch 7 --quiet
    cmp -s t1.csv t3.csv || fail "--batch 7: np 3 differs from the plain process"
    reference "$ck" c.h5 t1.csv
}

case_regress() {
    # A regression model (float targets [N, 2]): MSE agrees with nn-train's final val_mse.
    "$make_data" regress r.h5 1500 24 2 6
    "$make_data" regress v.h5 400 24 2 7
    "$tool" copy-split v.h5 train r.h5 val
    run_np 2 --data r.h5 --layers 24,48,2 --activation tanh --epochs 8 --batch 64 \
        --lr 0.003 --checkpoint-dir ck --metrics m.csv --quiet
    ck=$(newest ck)
    predict_everywhere "$ck" r.h5 --split val
    loss=$(result_loss out_plain.txt)
    want=$(tail -1 m.csv | cut -d, -f4)
    close "$loss" "$want" 1e-5 || fail "MSE $loss; nn-train's final val_mse is $want"
    echo "matches nn-train's last epoch: val_mse $want"
    [ "$(head -1 p_plain.csv)" = "row,y0,y1" ] || fail "CSV header: $(head -1 p_plain.csv)"
    ! h5dump -H p_plain.h5 | grep -q classes || fail "a regression output has /classes"
    reference "$ck" r.h5 p_plain.csv --split val
}

case_preprocess() {
    # A checkpoint with /preprocess run on raw data equals the plain checkpoint on the data it
    # was trained on. The raw files hold x * s + h (and for regression y * s + h), per column;
    # /preprocess carries the same h and s.
    # nn-train must not scale the inputs itself here: its own /preprocess would be replaced.
    norm=()
    local help
    help=$("$train" --help) # (not a pipe: grep -q would end it early)
    grep -q -- '--normalize' <<<"$help" && norm=(--normalize none)
    grep -q -- '--normalize-targets' <<<"$help" && norm+=(--normalize-targets none)
    "$make_data" blobs c.h5 1200 6 3 4 300
    "$tool" affine c.h5 craw.h5 3 5
    run_np 2 --data c.h5 --layers 6,16,3 --epochs 4 --checkpoint-dir ck --quiet "${norm[@]}"
    cp "$(newest ck)" cls.h5
    cp cls.h5 clsp.h5
    "$tool" add-preprocess clsp.h5 standard 6 3 5
    pred plain --model cls.h5 --data c.h5 --split val --output a.csv >a.txt
    pred 3 --model clsp.h5 --data craw.h5 --split val --output b.csv >b.txt
    grep -q 'preprocess standard' b.txt || fail "the banner does not name the preprocessing"
    d=$(paste -d, a.csv b.csv | awk -F, 'NR > 1 { for (j = 3; j <= 5; j++) {
        d = $j - $(j + 5); if (d < 0) d = -d; if (d > m) m = d } } END { printf "%.3g", m }')
    awk -v d="$d" 'BEGIN { exit !(d <= 1e-5) }' || fail "raw + /preprocess vs trained-on data: $d"
    close "$(result_loss b.txt)" "$(result_loss a.txt)" 1e-5 || fail "losses differ"
    echo "classification: raw data + /preprocess = normalised data to $d"
    reference clsp.h5 craw.h5 b.csv --split val

    "$make_data" regress r.h5 1500 5 2 6
    "$make_data" regress v.h5 400 5 2 7
    "$tool" copy-split v.h5 train r.h5 val
    "$tool" affine r.h5 rraw.h5 3 5 -2 4
    run_np 2 --data r.h5 --layers 5,16,2 --activation tanh --epochs 6 --batch 64 \
        --lr 0.003 --checkpoint-dir rk --quiet "${norm[@]}"
    cp "$(newest rk)" reg.h5
    cp reg.h5 regp.h5
    "$tool" add-preprocess regp.h5 standard 5 3 5 2 -2 4
    pred plain --model reg.h5 --data r.h5 --split val --output a.csv >a.txt
    pred 2 --model regp.h5 --data rraw.h5 --split val --output b.csv >b.txt
    # y_c = out_c * s_c + h_c with h_c = -2 + 0.5 c, s_c = 4 (1 + 0.25 c)
    d=$(paste -d, a.csv b.csv | awk -F, 'NR > 1 { for (c = 0; c < 2; c++) {
        w = $(2 + c) * 4 * (1 + 0.25 * c) + (-2 + 0.5 * c); d = $(5 + c) - w; if (d < 0) d = -d;
        a = w < 0 ? -w : w; if (a < 1) a = 1; if (d / a > m) m = d / a } }
        END { printf "%.3g", m }')
    awk -v d="$d" 'BEGIN { exit !(d <= 1e-5) }' || fail "regression: mapped-back outputs off by $d"
    grep -q "original units" b.txt || fail "the result line does not say the units"
    echo "regression: outputs mapped back to the targets' units to $d relative"
    reference regp.h5 rraw.h5 b.csv --split val
    if have_h5py; then # the MSE in the original units equals the reference's
        want=$(/usr/bin/python3 "$ref" regp.h5 rraw.h5 b.csv --split val --engine numpy |
               sed -n 's/.*reference loss \([^ ]*\) .*/\1/p')
        close "$(result_loss b.txt)" "$want" 1e-5 || fail "MSE $(result_loss b.txt); reference $want"
        echo "MSE in original units $(result_loss b.txt) (reference $want)"
    fi
}

case_no_y() {
    # A split without y: predictions only, the same as for the labelled copy of the rows.
    "$make_data" blobs c.h5 600 40 3 4 200
    run_np 2 --data c.h5 --layers 40,64,3 --epochs 2 --checkpoint-dir ck --quiet
    ck=$(newest ck)
    "$tool" copy-split c.h5 val xo.h5 test x-only
    pred plain --model "$ck" --data c.h5 --split val --output lab.csv --quiet
    predict_everywhere "$ck" xo.h5
    grep -q 'no /test/y, so no metrics' out_plain.txt || fail "no-y result line: $(cat out_plain.txt)"
    cmp -s lab.csv p_plain.csv || fail "x-only predictions differ from the labelled split's"
    reference "$ck" xo.h5 p_2.csv
}

# expect_error NP PATTERN ARGS...: nn-predict must fail with status 1 or 2, print exactly one
# error line that matches PATTERN, and leave out/ empty.
expect_error() {
    local np=$1 pattern=$2; shift 2
    rm -rf out && mkdir out
    set +e
    pred "$np" "$@" >out.txt 2>err.txt
    local rc=$?
    set -e
    [ $rc = 1 ] || [ $rc = 2 ] || fail "np $np $*: exit status $rc; expected 1 or 2"
    local n
    n=$(grep -c 'error' err.txt || true)
    [ "$n" = 1 ] || { cat err.txt >&2; fail "np $np $*: $n error lines; expected exactly one"; }
    grep -q -- "$pattern" err.txt || { cat err.txt >&2; fail "np $np $*: message lacks '$pattern'"; }
    [ -z "$(ls -A out)" ] || fail "np $np $*: output written despite the error: $(ls out)"
    echo "np $np: $(grep error err.txt)"
}

case_bad_input() {
    "$make_data" blobs c.h5 300 6 3 1 60
    "$make_data" blobs c4.h5 200 4 3 2
    "$make_data" blobs c5.h5 200 6 5 3
    "$make_data" bad-nan nan.h5
    run_np 2 --data c.h5 --layers 6,8,3 --epochs 1 --checkpoint-dir ck --quiet
    run_np 2 --data c4.h5 --layers 4,8,3 --epochs 1 --checkpoint-dir ck4 --quiet
    ck=$(newest ck)
    ck4=$(newest ck4)
    head -c 2000 "$ck" >trunc.h5
    cp "$ck" v99.h5 && "$tool" set-version v99.h5 99
    cp "$ck" pre5.h5 && "$tool" add-preprocess pre5.h5 standard 5 0 1
    cp "$ck" pre0.h5 && "$tool" add-preprocess pre0.h5 standard 6 0 0
    echo "not hdf5" >text.h5
    touch afile
    for np in plain 3; do
        o=(--output out/p.csv)
        expect_error $np "cannot open the checkpoint" --model missing.h5 --data c.h5 "${o[@]}"
        expect_error $np "text.h5: not an HDF5 file" --model text.h5 --data c.h5 "${o[@]}"
        expect_error $np "trunc.h5: HDF5 cannot open it (truncated" --model trunc.h5 --data c.h5 "${o[@]}"
        expect_error $np "c.h5: not an nn-train checkpoint" --model c.h5 --data c.h5 "${o[@]}"
        expect_error $np "format_version 99; this nn-predict reads versions 1 to 4" \
            --model v99.h5 --data c.h5 "${o[@]}"
        expect_error $np "/val/x has 6 features but the model's input size is 4" \
            --model "$ck4" --data c.h5 "${o[@]}"
        expect_error $np "--split 'foo': expected one of" --model "$ck" --data c.h5 --split foo "${o[@]}"
        expect_error $np "--split test: c.h5 has no group /test (it has: /val, /train)" \
            --model "$ck" --data c.h5 --split test "${o[@]}"
        expect_error $np "missing.h5: cannot open" --model "$ck" --data missing.h5 "${o[@]}"
        expect_error $np "cannot write into directory out/nodir: No such file" --model "$ck" \
            --data c.h5 --output out/nodir/p.csv
        expect_error $np "cannot write into directory afile: not a directory" --model "$ck" \
            --data c.h5 --output afile/p.csv
        expect_error $np "expected a file name ending in .csv, .h5 or .hdf5" --model "$ck" \
            --data c.h5 --output out/p.txt
        expect_error $np "expected a class in \[0, 3)" --model "$ck" --data c5.h5 "${o[@]}"
        expect_error $np "/train/x row 5 column 2 is not finite" --model "$ck4" --data nan.h5 "${o[@]}"
        expect_error $np "5 entries but the model has 6 inputs" --model pre5.h5 --data c.h5 "${o[@]}"
        expect_error $np "x_scale\[0\] is 0" --model pre0.h5 --data c.h5 "${o[@]}"
        expect_error $np "nn-predict needs --model FILE.h5" --data c.h5 "${o[@]}"
        expect_error $np "unknown flag '--bogus'" --model "$ck" --data c.h5 --bogus "${o[@]}"
        expect_error $np "--batch '0'" --model "$ck" --data c.h5 --batch 0 "${o[@]}"
    done
    # an --output that is an input (by device and inode: a symlink or ./ too) is refused
    # with status 2 on every rank, and the input is untouched
    cp c.h5 in.h5 && cp "$ck" model.h5 && ln -s in.h5 link.h5
    local args rc sums
    for args in "--output in.h5" "--output ./link.h5" "--output model.h5"; do
        sums=$(md5sum in.h5 model.h5)
        set +e
        pred 2 --model model.h5 --data in.h5 $args >out.txt 2>err.txt
        rc=$?
        set -e
        [ $rc = 2 ] && grep -q "^nn-predict: error: $args is the same file as --\(data in.h5\|model model.h5\); refusing to overwrite an input$" err.txt ||
            { cat err.txt >&2; fail "$args: status $rc"; }
        [ "$(md5sum in.h5 model.h5)" = "$sums" ] || fail "$args changed an input"
        echo "status 2: $(grep error err.txt)"
    done
    # a full disk (a 16 KiB tmpfs in a private mount namespace; root only): one line with the
    # errno, status 1 on every rank, nothing left; HDF5 output used to crash at exit (139)
    if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
        skip_part "full disk: needs root and unshare -m"
        return 0
    fi
    "$make_data" blobs big.h5 5000 6 3 1
    for ext in h5 csv; do
        set +e
        unshare -m sh -c "mkdir -p $work/mnt && mount -t tmpfs -o size=16k tmpfs $work/mnt &&
            { OMPI_MCA_rmaps_base_oversubscribe=1 timeout 120 mpirun -np 2 $predict --model $ck \
              --data $work/big.h5 --split train --output $work/mnt/p.$ext >$work/out.txt \
              2>$work/err.txt; echo \$? >$work/rc.txt; }; ls -A $work/mnt >$work/left.txt"
        set -e
        rc=$(cat rc.txt)
        [ "$rc" = 1 ] && [ "$(grep -c error err.txt)" = 1 ] &&
            grep -q "^nn-predict: error: --output $work/mnt/p.$ext: writing $work/mnt/p.$ext.tmp failed: No space left on device$" err.txt ||
            { cat err.txt >&2; fail "--output .$ext on a full disk: status $rc"; }
        [ ! -s left.txt ] || fail "--output .$ext on a full disk left $(cat left.txt)"
        echo "full disk: $(grep error err.txt)"
    done
}

case_cli() {
    "$predict" --help >help.txt
    for flag in model data split output batch threads quiet help version; do
        grep -q -- "--$flag" help.txt || fail "--help does not list --$flag"
    done
    grep -q -- "--batch N .*\[256\]" help.txt || fail "--help does not show --batch's default"
    grep -q -- "--model FILE.h5 .*\[required\]" help.txt || fail "--help does not mark --model required"
    grep -q -- "--split NAME .*(auto|test|val|train) \[auto\]" help.txt || fail "--help: --split"
    "$predict" --version | grep -Eq '^nn-predict [0-9]+\.[0-9]+\.[0-9]+ \(git ' || fail "--version"
    # --quiet prints nothing on success, at 1 and 2 ranks
    "$make_data" blobs c.h5 200 4 2 1 50
    run_np 2 --data c.h5 --layers 4,8,2 --epochs 1 --checkpoint-dir ck --quiet
    for np in plain 2; do
        out=$(pred $np --model "$(newest ck)" --data c.h5 --output p.h5 --quiet 2>&1)
        [ -z "$out" ] || fail "--quiet printed: $out"
        [ -s p.h5 ] || fail "np $np: --quiet wrote no output"
    done
    # more ranks than rows: the idle ranks predict nothing and the output is still complete
    "$make_data" blobs t3.h5 1 4 2 1 3
    "$tool" copy-split t3.h5 val tiny3.h5 test
    pred 4 --model "$(newest ck)" --data tiny3.h5 --output t.csv --quiet
    [ "$(wc -l <t.csv)" = 4 ] || fail "4 ranks, 3 rows: expected a header and 3 rows, got $(cat t.csv)"
}

"case_$case_name"
echo "PASS [$case_name]"
