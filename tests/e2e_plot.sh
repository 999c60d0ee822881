#!/bin/bash
# e2e_plot.sh: scripts/plot-metrics.sh on real nn-train metrics files.
#   e2e_plot.sh BUILD_DIR
# Trains a tiny classifier under mpirun -np 2 and the built-in regression example, plots both
# metrics CSVs (also with the columns reordered, and with an lr column), and checks each PNG
# (signature, size).
# A CSV without the needed columns, an empty one and a missing one must fail with a message
# and leave no PNG. Without gnuplot it prints SKIP, except in CI (CI=true), where it fails.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
nn_test_setup plot "${1:-}" e2e-
plot=$src/scripts/plot-metrics.sh
command -v gnuplot >/dev/null ||
    skip "gnuplot is not installed (scripts/install-deps.sh --tests installs gnuplot-nox)"

# is_png FILE: exists, is not empty, and starts with the 8-byte PNG signature.
is_png() {
    [ -s "$1" ] || fail "$1: missing or empty"
    local sig
    sig=$(od -An -tx1 -N8 "$1" | tr -d ' \n')
    [ "$sig" = 89504e470d0a1a0a ] || fail "$1: signature $sig; expected 89504e470d0a1a0a (PNG)"
}
# plot_ok CSV PNG WHAT: plots, and the message names WHAT.
plot_ok() {
    "$plot" "$1" "$2" "e2e $1" >plot.log 2>&1 || { cat plot.log >&2; fail "plot-metrics.sh $1 $2 exited non-zero"; }
    is_png "$2"
    grep -q "$3" plot.log || { cat plot.log >&2; fail "plot-metrics.sh $1: expected '$3' in its message"; }
    echo "ok: $1 -> $2 ($(stat -c %s "$2") bytes): $(cat plot.log)"
}
# plot_fails CSV MESSAGE: exits non-zero, names MESSAGE on stderr, writes no PNG.
plot_fails() {
    local rc=0
    "$plot" "$1" bad.png >plot.log 2>&1 || rc=$?
    [ "$rc" != 0 ] || fail "plot-metrics.sh $1: exit 0; expected a failure"
    grep -q "$2" plot.log || { cat plot.log >&2; fail "plot-metrics.sh $1: expected '$2' in the message"; }
    if [ -e bad.png ] || [ -e bad.png.tmp ]; then fail "plot-metrics.sh $1 left bad.png behind"; fi
    echo "ok: $1 fails: $(head -1 plot.log)"
}

# Classification: 600 training and 200 validation samples, 8 features, 3 classes.
"$make_data" blobs c.h5 600 8 3 1 200
run_np 2 --data c.h5 --layers 8,16,3 --epochs 2 --metrics cls.csv --quiet || fail "nn-train on c.h5"
[ "$(wc -l <cls.csv)" = 3 ] || fail "cls.csv has $(wc -l <cls.csv) lines; expected a header and 2 epochs"
plot_ok cls.csv cls.png "validation accuracy"

# The same file with its columns in reverse order: found by name, same figures.
awk -F, 'BEGIN { OFS = "," } { for (i = NF; i > 1; i--) printf "%s,", $i; print $1 }' cls.csv >rev.csv
plot_ok rev.csv rev.png "validation accuracy"
a=$(sed -n 's/.*\(validation accuracy: .*\)/\1/p' plot.log)
"$plot" cls.csv cls2.png >plot.log 2>&1
b=$(sed -n 's/.*\(validation accuracy: .*\)/\1/p' plot.log)
if [ -z "$a" ] || [ "$a" != "$b" ]; then fail "reordered columns: '$a'; expected '$b'"; fi

# An lr column that changes (a schedule) is drawn on the loss panel's second axis.
awk -F, 'NR == 1 { print $0 ",lr"; next } { print $0 "," 0.001 / NR }' cls.csv >lr.csv
plot_ok lr.csv lr.png "with the learning rate"

# Regression (the built-in example): val_accuracy is nan, so the second panel is the MSE.
run_np plain --epochs 5 --metrics reg.csv --quiet || fail "nn-train built-in example"
grep -q nan reg.csv || fail "reg.csv: expected nan accuracies for regression"
plot_ok reg.csv reg.png "validation MSE"

# Bad inputs.
printf 'epoch,loss\n1,0.5\n2,0.4\n' >nocols.csv
plot_fails nocols.csv "missing column(s): train_loss val_loss val_accuracy"
cut -d, -f1-4 cls.csv >noacc.csv
plot_fails noacc.csv "missing column(s): val_accuracy"
: >empty.csv
plot_fails empty.csv "is empty"
head -1 cls.csv >header.csv
plot_fails header.csv "no rows"
plot_fails nosuch.csv "no such readable file"
echo "PASS e2e_plot"
