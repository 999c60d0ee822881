#!/bin/bash
# e2e_explain.sh: nn-predict --explain and --importance (docs/explain.md) under real mpirun.
#   tests/e2e_explain.sh CASE BUILD_DIR
# The data: 8 named features (CSV header through nn-data import-csv, so /meta/feature_names),
# of which three, income, debt and age, drive the label (2 income - 1.5 debt + age > 0) and
# five, n0..n4, are noise.
# CASE:
#   attrib      --explain ig at 1, 2 and 3 ranks: the same bytes; every attribution, f(x),
#               f(baseline) and the completeness gap against scripts/explain_reference.py
#               (float64 numpy, the chain rule written out); every row's attributions
#               add up to f(x) - f(baseline) within 1% at 64 steps (a tanh model), as the file's
#               gap column and the summary line both say; gradxinput (--class 1, --rows, HDF5)
#               and saliency against the reference; the CSV header carries the names
#   importance  --importance permutation at 1 and 3 ranks gives the same file, and ig at 2;
#               in both the three driving features rank first, and mean |IG| equals the
#               reference's; --repeats and --seed change the shuffles
#   regress     a regression model with target scaling (targets in the hundreds): IG of the
#               output in the targets' units from a FILE (64 steps) and from --baseline zero
#               (128 steps: a longer path), against the reference, complete within 1%
#   exact       IG of a relu model with two hidden layers, --ig-method auto (exact): the same
#               bytes at 1 and 3 ranks; every row complete to 1e-4 relative (the midpoint rule
#               at 64 steps misses by more on this model, so a breakpoint left out shows);
#               every attribution against the reference's own exact walk (float64); --ig-method
#               exact on a tanh model: one line, exit 2
#   errors      bad --rows, --class, --baseline (mean without zscore, a file of the wrong
#               length), --explain without --output, --explain with --importance: each one
#               line, exit 2 on every rank (mpirun -np 2 for the checks after loading), no
#               output file
#   plot        scripts/plot-attribution.sh: a 28x28 image beside its heatmap from an HDF5
#               attribution file, and a bar chart from an importance CSV: PNGs of the size asked
set -euo pipefail
. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "${2:-}" explain-
ref=$src/scripts/explain_reference.py
pred() { local np=$1; shift; mpi_run "$np" "$predict" "$@"; }

# syn.h5: /train 900 and /test 300 rows of the 8 named features (awk's own generator, seeded)
make_syn() {
    awk -v n=1200 'BEGIN { srand(7); print "n0,income,n1,n2,debt,n3,age,n4,label"
        for (i = 0; i < n; i++) { for (j = 0; j < 8; j++) v[j] = 2 * rand() - 1
            s = 2 * v[1] - 1.5 * v[4] + v[6]
            printf "%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%.5f,%d\n", v[0], v[1], v[2], v[3], v[4],
                v[5], v[6], v[7], (s > 0) } }' >syn.csv
    "$nndata" import-csv syn.csv --label label -o syn.h5 --test-fraction 0.25 >/dev/null ||
        fail "import-csv syn.csv"
}
# train ACT: a small classifier on syn.h5 into ck.h5
train_syn() {
    run_np plain --data syn.h5 --layers 8,16,2 --activation "$1" --epochs 10 --batch 32 \
        --lr 0.01 --optimizer adam --seed 1 --checkpoint-dir ck --quiet >train.log 2>&1 ||
        { cat train.log >&2; fail "nn-train"; }
    cp "$(newest ck)" ck.h5
}
# reference OUT ARGS...: the file against the float64 numpy reference (the chain rule written
# out; its torch engine, autograd, agrees to 1e-7 but takes seconds to import: docs/explain.md)
reference() {
    have_h5py || return 0
    local out=$1
    shift
    /usr/bin/python3 "$ref" ck.h5 "$data" "$out" "$@" --engine numpy ||
        fail "explain_reference.py --engine numpy $out $*"
}
# the largest value of the CSV column named $2 of $1
col_max() {
    awk -F, -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
        { if (m == "" || $k + 0 > m) m = $k + 0 } END { print m }' "$1"
}
# top3 FILE: the names of the first three features of an importance CSV, sorted
top3() { awk -F, 'NR > 1 && NR <= 4 { print $3 }' "$1" | sort | tr '\n' ' '; }
data=syn.h5

case $case_name in
attrib)
    make_syn
    train_syn tanh
    for np in plain 2 3; do
        pred "$np" --model ck.h5 --data syn.h5 --explain ig --output "ig_$np.csv" >"ig_$np.log" ||
            { cat "ig_$np.log" >&2; fail "--explain ig at $np"; }
    done
    cmp ig_plain.csv ig_2.csv || fail "--explain ig: 2 ranks wrote another file than 1"
    cmp ig_plain.csv ig_3.csv || fail "--explain ig: 3 ranks wrote another file than 1"
    head -1 ig_plain.csv | grep -qx 'row,class,f_x,f_baseline,attr_sum,gap,n0,income,n1,n2,debt,n3,age,n4' ||
        fail "header: $(head -1 ig_plain.csv); expected the feature names of /meta"
    [ "$(($(wc -l <ig_plain.csv) - 1))" = 300 ] || fail "expected 300 rows of /test"
    gap=$(col_max ig_plain.csv gap)
    awk -v g="$gap" 'BEGIN { exit !(g <= 0.01) }' ||
        fail "completeness: largest gap $gap > 1% at 64 steps"
    grep -q '^complete 300 of 300 rows within 1%' ig_plain.log ||
        fail "summary: $(grep complete ig_plain.log); expected 300 of 300 rows within 1%"
    say "ig: the same file at 1, 2 and 3 ranks; every row complete within 1% (largest gap $gap)"
    reference ig_plain.csv --method ig
    pred 2 --model ck.h5 --data syn.h5 --explain gradxinput --class 1 --rows 5,0-3,17 \
        --output gx.h5 >gx.log || { cat gx.log >&2; fail "--explain gradxinput"; }
    reference gx.h5 --method gradxinput --class 1 --rows 0-3,5,17
    pred 3 --model ck.h5 --data syn.h5 --explain saliency --rows 10-19 --output sal.csv >sal.log ||
        { cat sal.log >&2; fail "--explain saliency"; }
    reference sal.csv --method saliency --rows 10-19
    ;;
importance)
    make_syn
    train_syn relu
    for np in plain 3; do
        pred "$np" --model ck.h5 --data syn.h5 --importance permutation --output "perm_$np.csv" \
            >"perm_$np.log" || { cat "perm_$np.log" >&2; fail "--importance permutation at $np"; }
    done
    cmp perm_plain.csv perm_3.csv || fail "--importance permutation: 3 ranks differ from 1"
    [ "$(top3 perm_plain.csv)" = "age debt income " ] ||
        fail "permutation: top three $(top3 perm_plain.csv); expected age, debt and income"
    pred 2 --model ck.h5 --data syn.h5 --importance ig --output ig_imp.csv >ig.log ||
        { cat ig.log >&2; fail "--importance ig"; }
    [ "$(top3 ig_imp.csv)" = "age debt income " ] ||
        fail "ig: top three $(top3 ig_imp.csv); expected age, debt and income"
    reference ig_imp.csv --method importance-ig
    pred 2 --model ck.h5 --data syn.h5 --importance permutation --repeats 3 --seed 9 \
        --output perm_s9.csv >s9.log || fail "--importance permutation --seed 9"
    ! cmp -s perm_plain.csv perm_s9.csv || fail "--seed 9 --repeats 3 gave the same shuffles"
    say "permutation (1 and 3 ranks, the same bytes) and ig rank income, debt, age first"
    ;;
regress)
    awk -v n=600 'BEGIN { srand(3); print "a,b,c,d,y"
        for (i = 0; i < n; i++) { for (j = 0; j < 4; j++) v[j] = 2 * rand() - 1
            printf "%.5f,%.5f,%.5f,%.5f,%.4f\n", v[0], v[1], v[2], v[3],
                150 + 75 * (sin(2 * v[0]) + v[1] * v[2]) + 0.01 * i / n } }' >reg.csv
    "$nndata" import-csv reg.csv --label y --task regress -o reg.h5 --test-fraction 0.2 \
        >/dev/null || fail "import-csv reg.csv"
    data=reg.h5
    run_np 2 --data reg.h5 --layers 4,16,1 --activation tanh --epochs 8 --batch 32 --lr 0.01 \
        --optimizer adam --seed 2 --checkpoint-dir ck --quiet >train.log 2>&1 ||
        { cat train.log >&2; fail "nn-train regression"; }
    cp "$(newest ck)" ck.h5
    printf '0.5, -0.25\n0.1 0\n' >base.txt
    for b in zero base.txt; do # (from zero, a longer path: 128 steps)
        steps=64
        [ "$b" = zero ] && steps=128
        pred 2 --model ck.h5 --data reg.h5 --explain ig --baseline "$b" --steps $steps \
            --output "reg_$b.csv" >"reg_$b.log" ||
            { cat "reg_$b.log" >&2; fail "--explain ig --baseline $b"; }
        grep -q 'output --class in the targets' "reg_$b.log" ||
            fail "the banner does not say that the output is attributed in the targets' units"
        gap=$(col_max "reg_$b.csv" gap)
        awk -v g="$gap" 'BEGIN { exit !(g <= 0.01) }' || fail "--baseline $b: largest gap $gap"
        reference "reg_$b.csv" --method ig --baseline "$b" --steps $steps
    done
    fx=$(awk -F, 'NR == 2 { print $3 }' reg_zero.csv)
    awk -v f="$fx" 'BEGIN { exit !(f > 20) }' || fail "f(x) $fx: expected the targets' units (~150)"
    say "regression IG in the targets' units, complete within 1%, from zero and from a file"
    ;;
exact)
    make_syn
    run_np plain --data syn.h5 --layers 8,16,12,2 --activation relu --epochs 10 --batch 32 \
        --lr 0.01 --optimizer adam --seed 1 --checkpoint-dir ck --quiet >train.log 2>&1 ||
        { cat train.log >&2; fail "nn-train 8,16,12,2"; }
    cp "$(newest ck)" ck.h5
    for np in plain 3; do
        pred "$np" --model ck.h5 --data syn.h5 --explain ig --output "ex_$np.csv" >"ex_$np.log" ||
            { cat "ex_$np.log" >&2; fail "--explain ig (exact) at $np"; }
    done
    cmp ex_plain.csv ex_3.csv || fail "exact IG: 3 ranks wrote another file than 1"
    grep -q 'exact (the path' ex_plain.log || fail "auto did not take the exact method on relu"
    gap=$(col_max ex_plain.csv gap)
    awk -v g="$gap" 'BEGIN { exit !(g <= 1e-4) }' || fail "exact IG: largest gap $gap > 1e-4"
    grep -q '^complete 300 of 300 rows' ex_plain.log || fail "summary: $(grep complete ex_plain.log)"
    pred plain --model ck.h5 --data syn.h5 --explain ig --ig-method riemann --output rie.csv \
        >rie.log || { cat rie.log >&2; fail "--ig-method riemann"; }
    rgap=$(col_max rie.csv gap)
    awk -v g="$rgap" 'BEGIN { exit !(g > 1e-4) }' ||
        fail "the midpoint rule's largest gap $rgap: this model has too few kinks to test"
    say "exact IG: the same file at 1 and 3 ranks, largest gap $gap (64 midpoints: $rgap)"
    reference ex_plain.csv --method ig --ig-method exact
    run_np plain --data syn.h5 --layers 8,4,2 --activation tanh --epochs 1 --seed 1 \
        --checkpoint-dir ck_tanh --quiet >/dev/null 2>&1 || fail "nn-train tanh"
    rc=0
    pred plain --model "$(newest ck_tanh)" --data syn.h5 --explain ig --ig-method exact \
        --output t.csv >out.log 2>err.log || rc=$?
    [ "$rc" = 2 ] && [ "$(grep -c error err.log)" = 1 ] && grep -q 'not piecewise linear' err.log ||
        { cat err.log >&2; fail "--ig-method exact on tanh: exit $rc"; }
    [ ! -e t.csv ] || fail "a refused run left t.csv"
    ;;
errors)
    make_syn
    # a model without zscore, so --baseline mean has no training mean to take
    run_np plain --data syn.h5 --layers 8,4,2 --epochs 1 --normalize none --seed 1 \
        --checkpoint-dir ck --quiet >/dev/null 2>&1 || fail "nn-train --normalize none"
    cp "$(newest ck)" ck.h5
    # expect_usage NP PATTERN ARGS...: exit 2 (from every rank), one error line matching
    # PATTERN. Decisions after the model is loaded run at 2 ranks; the flags' own checks,
    # the same on every rank without a word between them, as one process.
    expect_usage() {
        local np=$1 pat=$2 rc=0
        shift 2
        pred "$np" --model ck.h5 --data syn.h5 "$@" >out.log 2>err.log || rc=$?
        [ "$rc" = 2 ] || { cat out.log err.log >&2; fail "$*: exit $rc, expected 2"; }
        [ "$(grep -c 'error' err.log)" = 1 ] || { cat err.log >&2; fail "$*: expected one error line"; }
        grep -q -- "$pat" err.log || { cat err.log >&2; fail "$*: expected '$pat'"; }
    }
    expect_usage 2 "below the split's 300 rows" --explain ig --rows 0,3-1 --output a.csv
    expect_usage plain "--class 2: expected pred or a class in \[0, 1\]" --explain saliency \
        --class 2 --output a.csv
    printf '1 2 3\n' >short.txt
    expect_usage 2 "3 numbers; expected 8" --explain ig --baseline short.txt --output a.csv
    expect_usage plain "holds no training mean" --importance ig
    expect_usage plain "expected --output" --explain saliency
    expect_usage plain "expected one of them" --explain ig --importance ig --output a.csv
    if have_h5py; then # a split without rows: the data's fault (exit 1), not a flag's
        /usr/bin/python3 -c 'import h5py, numpy as np
with h5py.File("empty.h5", "w") as f:
    f["test/x"] = np.zeros((0, 8), np.float32); f["test/y"] = np.zeros((0,), np.int32)'
        rc=0
        pred plain --model ck.h5 --data empty.h5 --explain ig --output a.csv 2>err.log || rc=$?
        [ "$rc" = 1 ] && grep -q '/test has no rows' err.log ||
            { cat err.log >&2; fail "an empty split: exit $rc"; }
    fi
    [ ! -e a.csv ] || fail "a refused run left a.csv"
    say "each bad flag: one line, exit 2 at 2 ranks, no output"
    ;;
plot)
    command -v gnuplot >/dev/null && command -v h5dump >/dev/null || skip "gnuplot or h5dump missing"
    "$make_data" blobs img.h5 120 784 3 5 >/dev/null || fail "make_data blobs"
    run_np plain --data img.h5 --layers 784,3 --epochs 1 --seed 1 --checkpoint-dir ck --quiet \
        >/dev/null 2>&1 || fail "nn-train on img.h5"
    cp "$(newest ck)" ck.h5
    pred plain --model ck.h5 --data img.h5 --explain ig --rows 0-2 --steps 8 --output a.h5 \
        >/dev/null || fail "--explain ig on img.h5"
    "$src/scripts/plot-attribution.sh" a.h5 img.h5 img.png 3 >/dev/null || fail "image panels"
    pred plain --model ck.h5 --data img.h5 --importance ig --steps 8 --output imp.csv \
        >/dev/null || fail "--importance ig"
    "$src/scripts/plot-attribution.sh" imp.csv bars.png 5 >/dev/null || fail "bar chart"
    # PNG signature, and the width and height from the IHDR chunk
    png_size() { od -An -v -t u1 -j 16 -N 8 "$1" | awk '{ print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8 }'; }
    for f in img.png bars.png; do
        [ "$(od -An -c -j 1 -N 3 "$f" | tr -d ' ')" = PNG ] || fail "$f is not a PNG"
    done
    [ "$(png_size img.png)" = 560x780 ] || fail "img.png is $(png_size img.png); expected 560x780 (3 rows)"
    [ "$(png_size bars.png)" = 900x520 ] || fail "bars.png is $(png_size bars.png); expected 900x520"
    say "image | heatmap panels (3 rows) and a bar chart"
    ;;
*) fail "unknown case (attrib importance regress exact errors plot)" ;;
esac
