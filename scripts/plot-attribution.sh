#!/bin/bash
# plot-attribution.sh: pictures of nn-predict's explanations (docs/explain.md), with gnuplot.
#   scripts/plot-attribution.sh ATTR.h5 DATA.h5 OUT.png [N [NAMES]]   28x28 inputs: for the
#       first N rows of ATTR.h5 (nn-predict --explain ... --output ATTR.h5; default 4), the
#       image from DATA.h5 beside its attribution heatmap (red: raises the attributed
#       probability, blue: lowers it; the colour range is symmetric, +-max|attribution| of that
#       row). The classes are named from NAMES (comma-separated, class 0 first), else from
#       DATA.h5's /meta/class_names when it has them, else by number.
#   scripts/plot-attribution.sh IMPORTANCE.csv OUT.png [N]   tabular data: a bar chart of the
#       N most important features (default 15) with their spread as error bars, from
#       nn-predict --importance ... --output IMPORTANCE.csv
# The split, rows, classes and f(x) come from ATTR.h5's attributes and datasets, read with
# h5dump (Debian's hdf5-tools) as raw little-endian binary. Uses the pngcairo terminal when
# gnuplot has it, else png. The PNG is written to OUT.png.tmp and renamed when complete.
set -euo pipefail
die() { echo "plot-attribution: error: $*" >&2; exit 1; }
usage() {
    echo "usage: scripts/plot-attribution.sh ATTR.h5 DATA.h5 OUT.png [N [NAMES]]" >&2
    echo "       scripts/plot-attribution.sh IMPORTANCE.csv OUT.png [N]" >&2
    exit 2
}
[ $# -ge 2 ] && [ "${1:-}" != -h ] && [ "${1:-}" != --help ] || usage
command -v gnuplot >/dev/null || die "gnuplot is not installed (Debian: apt-get install gnuplot-nox)"
[ -f "$1" ] && [ -r "$1" ] || die "$1: no such readable file"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/plot-attribution.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
term=png
gnuplot -e 'set terminal pngcairo' </dev/null >/dev/null 2>&1 && term=pngcairo

# ---------------------------------------------------------------- tabular: a bar chart
if [[ $1 == *.csv ]]; then
    [ $# -le 3 ] || usage
    csv=$1 out=$2 top=${3:-15}
    head -1 "$csv" | grep -q '^rank,feature,name,importance,spread' ||
        die "$csv: expected nn-predict --importance's CSV (header rank,feature,name,importance,spread)"
    # name, importance, spread of the first $top rows (names may be quoted and hold commas)
    awk -v top="$top" 'NR > 1 && NR <= top + 1 {
        line = $0; sub(/^[0-9]+,[0-9]+,/, "", line)
        n = split(line, f, ","); imp = f[n - 1]; sp = f[n]
        name = substr(line, 1, length(line) - length(imp) - length(sp) - 2)
        gsub(/^"|"$/, "", name); gsub(/""/, "\"", name); gsub(/"/, "\\\"", name)
        printf "\"%s\" %s %s\n", name, imp, sp }' "$csv" >"$tmp/bars.txt"
    [ -s "$tmp/bars.txt" ] || die "$csv: no features"
    ymax=$(awk '{ v = $(NF - 1) + $NF; if (v > m) m = v } END { print (m > 0 ? 1.05 * m : 1) }' "$tmp/bars.txt")
    gnuplot <<EOF || { rm -f "$out.tmp"; die "gnuplot failed on $csv"; }
set terminal $term size 900,520 font ",10"
set output "$out.tmp"
set title "$(basename "$csv"): the $(wc -l <"$tmp/bars.txt") most important features (error bars: spread)"
set style fill solid 0.6 border -1
set boxwidth 0.7
set xtics rotate by -40 left nomirror
set grid ytics
set yrange [0:$ymax]
set key off
set ylabel "importance"
plot "$tmp/bars.txt" using 0:2:3:xtic(1) with boxerrorbars lc rgb "#4c72b0"
EOF
    mv "$out.tmp" "$out"
    echo "wrote $out"
    exit 0
fi

# ---------------------------------------------------------------- 28x28: image | heatmap
[ $# -ge 3 ] && [ $# -le 5 ] || usage
attr=$1 data=$2 out=$3 n=${4:-4}
command -v h5dump >/dev/null || die "h5dump is not installed (Debian: apt-get install hdf5-tools)"
[ -f "$data" ] || die "$data: no such file"
dims=$(h5dump -H -d /attributions "$attr" 2>/dev/null | sed -n 's/.*DATASPACE  SIMPLE { ( \([0-9]*\), \([0-9]*\) ).*/\1 \2/p')
[ -n "$dims" ] || die "$attr: no /attributions; expected nn-predict --explain's HDF5 output"
read -r rows d <<<"$dims"
[ "$d" = 784 ] || die "$attr: $d features per row; images need 784 (28x28); for tabular data plot an --importance CSV"
[ "$n" -le "$rows" ] || n=$rows
split=$(h5dump -a /split "$attr" | sed -n 's/.*(0): "\(.*\)".*/\1/p')
method=$(h5dump -a /method "$attr" | sed -n 's/.*(0): "\(.*\)".*/\1/p')
h5dump -d /rows -b LE -o "$tmp/rows.bin" "$attr" >/dev/null
h5dump -d /classes -b LE -o "$tmp/classes.bin" "$attr" >/dev/null
h5dump -d /f_x -b LE -o "$tmp/fx.bin" "$attr" >/dev/null
mapfile -t R < <(od -An -v -t d8 -w8 "$tmp/rows.bin" | tr -d ' ')
mapfile -t C < <(od -An -v -t d4 -w4 "$tmp/classes.bin" | tr -d ' ')
mapfile -t F < <(od -An -v -t f4 -w4 "$tmp/fx.bin" | tr -d ' ')
names=()
if [ -n "${5:-}" ]; then
    IFS=, read -r -a names <<<"$5"
elif h5dump -d /meta/class_names -y -w 0 "$data" >"$tmp/cn.txt" 2>/dev/null; then
    mapfile -t names < <(sed -n 's/^ *"\(.*\)",\{0,1\} *$/\1/p' "$tmp/cn.txt")
fi
{
    echo "set terminal $term size 560,$((260 * n)) font ',9'"
    echo "set output '$out.tmp'"
    echo "set multiplot layout $n,2 title '$method attributions, $(basename "$attr")'"
    echo "unset xtics; unset ytics; set size ratio -1; unset key"
    for ((i = 0; i < n; i++)); do
        r=${R[$i]}
        h5dump -d "/$split/x" -s "$r,0" -c "1,784" -b LE -o "$tmp/x$i.bin" "$data" >/dev/null ||
            die "$data: cannot read /$split/x row $r"
        h5dump -d /attributions -s "$i,0" -c "1,784" -b LE -o "$tmp/a$i.bin" "$attr" >/dev/null
        m=$(od -An -v -t f4 -w4 "$tmp/a$i.bin" | awk '{ v = $1 < 0 ? -$1 : $1; if (v > m) m = v } END { print (m > 0 ? m : 1) }')
        c=${C[$i]}
        label=${names[$c]:-class $c}
        label=${label//\'/\'\'} # gnuplot's single quotes
        echo "set title 'row $r: $label (p = $(printf '%.3f' "${F[$i]}"))'"
        echo "set palette gray; set cbrange [*:*]; unset colorbox"
        echo "plot '$tmp/x$i.bin' binary array=(28,28) format='%float32' flipy with image"
        echo "set title 'attribution (+-$(printf '%.2g' "$m"))'"
        echo "set palette defined (-1 '#2166ac', 0 'white', 1 '#b2182b'); set cbrange [-$m:$m]; set colorbox"
        echo "plot '$tmp/a$i.bin' binary array=(28,28) format='%float32' flipy with image"
    done
    echo "unset multiplot"
} >"$tmp/plot.gp"
gnuplot "$tmp/plot.gp" || { rm -f "$out.tmp"; die "gnuplot failed on $attr"; }
mv "$out.tmp" "$out"
echo "wrote $out"
