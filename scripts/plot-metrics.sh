#!/bin/bash
# plot-metrics.sh: plots an nn-train metrics CSV (--metrics FILE) to a PNG with gnuplot.
#   scripts/plot-metrics.sh METRICS_CSV OUT.png [TITLE]
# Left panel: train_loss and val_loss per epoch (log scale when they span more than two
# decades), and the learning rate on the right-hand axis when an lr column changes (a
# schedule). Right panel: val_accuracy per epoch; for regression, where val_accuracy is NaN,
# the validation MSE instead. Columns are found by their header names, so extra or reordered
# columns are fine. Non-finite values (nan, inf, empty) leave gaps. Uses the pngcairo terminal
# when gnuplot has it, else png. The layout is in scripts/plot-metrics.gp.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "plot-metrics: error: $*" >&2; exit 1; }

if [ $# -lt 2 ] || [ $# -gt 3 ] || [ "${1:-}" = -h ] || [ "${1:-}" = --help ]; then
    echo "usage: scripts/plot-metrics.sh METRICS_CSV OUT.png [TITLE]" >&2
    exit 2
fi
csv=$1 out=$2 title=${3:-$(basename "$1")}
if [ ! -f "$csv" ] || [ ! -r "$csv" ]; then die "$csv: no such readable file"; fi
command -v gnuplot >/dev/null ||
    die "gnuplot is not installed (Debian: apt-get install gnuplot-nox)"
outdir=$(dirname "$out")
[ -d "$outdir" ] || die "$out: directory $outdir does not exist"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/plot-metrics.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The columns by name -> data.txt: "epoch train_loss val_loss val_accuracy lr" per row, NaN
# where a value is not a finite number or the optional lr column is absent. summary.txt: the
# row count, the counts of finite val_loss and val_accuracy values, the smallest and largest
# positive loss, whether lr changes; then the second panel's title.
awk -F, -v data="$tmp/data.txt" -v csv="$csv" '
function trim(s) { gsub(/^[ \t"]+|[ \t"\r]+$/, "", s); return s }
function num(s) {
    s = trim(s)
    if (s !~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/) return "NaN"
    return s + 0
}
function track(v) {
    if (v != "NaN" && v > 0) { if (lo == "" || v < lo) lo = v; if (hi == "" || v > hi) hi = v }
}
NR == 1 {
    for (i = 1; i <= NF; i++) col[trim($i)] = i
    need = "epoch train_loss val_loss val_accuracy"
    n = split(need, names, " ")
    for (i = 1; i <= n; i++) if (!(names[i] in col)) missing = missing " " names[i]
    if (missing != "") {
        hdr = $0; gsub(/\r/, "", hdr)
        printf "plot-metrics: error: %s: missing column(s):%s; expected an nn-train metrics CSV whose header names epoch, train_loss, val_loss and val_accuracy (header: %s)\n", csv, missing, hdr > "/dev/stderr"
        bad = 1; exit 1
    }
    next
}
/^[ \t\r]*$/ { next }
{
    e = num($col["epoch"])
    if (e == "NaN") {
        printf "plot-metrics: error: %s:%d: epoch %s is not a number\n", csv, NR, trim($col["epoch"]) > "/dev/stderr"
        bad = 1; exit 1
    }
    tl = num($col["train_loss"]); vl = num($col["val_loss"]); va = num($col["val_accuracy"])
    lr = ("lr" in col) ? num($col["lr"]) : "NaN"
    print e, tl, vl, va, lr > data
    if (lr != "NaN") { if (lrlo == "" || lr < lrlo) lrlo = lr; if (lrhi == "" || lr > lrhi) lrhi = lr }
    rows++
    if (vl != "NaN") { nvl++; lastvl = vl; if (bestvl == "" || vl < bestvl) { bestvl = vl; bestvle = e } }
    if (va != "NaN") { nva++; lastva = va; if (bestva == "" || va > bestva) { bestva = va; bestvae = e } }
    track(tl); track(vl)
}
END {
    if (bad) exit 1
    if (NR == 0) { printf "plot-metrics: error: %s is empty; expected a header and one row per epoch\n", csv > "/dev/stderr"; exit 1 }
    print rows + 0, nvl + 0, nva + 0, (lo == "" ? 0 : lo), (hi == "" ? 0 : hi), (lrlo != lrhi ? 1 : 0)
    if (nva) printf "validation accuracy: last %.4f, best %.4f (epoch %d)\n", lastva, bestva, bestvae
    else if (nvl) printf "validation MSE: last %.4g, best %.4g (epoch %d)\n", lastvl, bestvl, bestvle
    else print "no validation values in this file"
}' "$csv" >"$tmp/summary.txt"

read -r rows nval nacc lo hi lrvaries <"$tmp/summary.txt"
panel2=$(sed -n 2p "$tmp/summary.txt")
[ "$rows" -gt 0 ] || die "$csv has a header but no rows; expected one row per epoch"
if [ "$nacc" -gt 0 ]; then mode=accuracy
elif [ "$nval" -gt 0 ]; then mode=mse
else mode=none; fi
logy=$(awk -v lo="$lo" -v hi="$hi" 'BEGIN { print (lo > 0 && hi / lo > 100) ? 1 : 0 }')
term=png
gnuplot -e 'set terminal pngcairo' </dev/null >/dev/null 2>&1 && term=pngcairo

gnuplot -c "$here/plot-metrics.gp" "$tmp/data.txt" "$out.tmp" "$title" "$term" "$mode" "$logy" \
    "$panel2" "$rows" "$lrvaries" \
    || { rm -f "$out.tmp"; die "gnuplot failed on $csv"; }
[ -s "$out.tmp" ] || { rm -f "$out.tmp"; die "gnuplot wrote nothing to $out"; }
mv -f "$out.tmp" "$out"
case $mode in
    accuracy) what="loss and validation accuracy" ;;
    mse) what="loss and validation MSE (no accuracy: regression)" ;;
    *) what="training loss (no validation values in the file)" ;;
esac
lrnote=""
[ "$lrvaries" = 1 ] && lrnote=", with the learning rate"
echo "plot-metrics: wrote $out: $what over $rows epoch(s)$lrnote ($term); $panel2"
