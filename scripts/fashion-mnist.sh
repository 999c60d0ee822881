#!/bin/bash
# fashion-mnist.sh: the Fashion-MNIST recipe on a fresh Debian machine. Installs the
# dependencies and Debian's dataset-fashion-mnist and gnuplot-nox, builds, imports the IDX
# files, trains 784-256-128-10 data-parallel on 2 MPI ranks, evaluates the final checkpoint
# on the 10,000 test images with nn-predict, plots the loss and accuracy curves, and prints
# one Markdown table row, then the commands that serve the model with nn-serve and classify
# one test image over HTTP. Exits 1 when the test accuracy is below 0.89.
#   scripts/fashion-mnist.sh [OUTDIR]          (default out/fashion-mnist)
# Installed (cmake --install, the .deb: PREFIX/share/nn-train/examples/fashion-mnist.sh) it
# installs and builds nothing: it runs the programs of PREFIX/bin (else those on PATH), needs
# the data set (apt-get install dataset-fashion-mnist, or FMNIST_DIR), plots only when gnuplot
# is there, and OUTDIR defaults to ./fashion-mnist.
# OUTDIR receives fmnist.h5 (kept and reused by later runs), ckpt/, metrics.csv, train.log,
# test-preds.csv, predict.log, metrics.png, summary.md and image0.json (test image 0 as an
# inference request). docs/fashion-mnist.md has the results; docs/serving.md, serving them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# In the source tree (scripts/ beside CMakeLists.txt), or installed in PREFIX/share/nn-train/examples.
installed=1
[ -f "$root/CMakeLists.txt" ] && [ -x "$root/scripts/install-deps.sh" ] && installed=0
if [ $installed = 0 ]; then out=${1:-$root/out/fashion-mnist}; else out=${1:-fashion-mnist}; fi
min_accuracy=0.89
data_dir=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
say() { echo "fashion-mnist: $*"; }
die() { echo "fashion-mnist: error: $*" >&2; exit 1; }

# Dependencies: nn-train's own, the data set (unless FMNIST_DIR names a copy) and gnuplot
# (unless one is installed); install-deps.sh skips what is already there.
if [ $installed = 0 ]; then
    extra=()
    [ -n "${FMNIST_DIR:-}" ] || extra+=(dataset-fashion-mnist)
    command -v gnuplot >/dev/null || extra+=(gnuplot-nox)
    "$root/scripts/install-deps.sh" "${extra[@]}"
    "$root/scripts/build.sh" "$root/build"
    bin=$root/build
    plot=$root/scripts/plot-metrics.sh
else
    # PREFIX/share/nn-train/examples -> PREFIX/bin; else the programs on PATH
    bin=$(cd "$here/../../.." && pwd)/bin
    if [ ! -x "$bin/nn-train" ]; then
        bin=$(dirname "$(command -v nn-train)") || die "nn-train is neither in $bin nor on PATH"
    fi
    plot=$here/plot-metrics.sh
    [ -d "$data_dir" ] || die "no data set in $data_dir: apt-get install dataset-fashion-mnist," \
        "or set FMNIST_DIR to a directory with the four IDX files"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
# idx NAME: the IDX file NAME in the data set, gzipped or not; idx_bytes NAME SKIP COUNT: COUNT
# of its bytes after SKIP, as unsigned decimal numbers, one per line (od stops reading early,
# so gzip's SIGPIPE, 141, is no error).
idx() { if [ -f "$data_dir/$1.gz" ]; then echo "$data_dir/$1.gz"; else echo "$data_dir/$1"; fi; }
idx_bytes() {
    { gzip -dcf "$(idx "$1")"; local r=$?; [ "$r" = 0 ] || [ "$r" = 141 ]; } |
        od -An -v -tu1 -j "$2" -N "$3" | tr -s ' ' '\n' | sed '/^$/d'
}

# Import: 60,000 training and 10,000 test images, pixels scaled to x/255 (docs/nn-data.md).
if [ -f "$out/fmnist.h5" ]; then
    say "reusing $out/fmnist.h5 (delete it to import again)"
else
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte \
             t10k-labels-idx1-ubyte; do
        [ -f "$data_dir/$f.gz" ] || [ -f "$data_dir/$f" ] || die "$data_dir/$f(.gz) is missing"
    done
    "$bin/nn-data" import-idx --images "$(idx train-images-idx3-ubyte)" \
        --labels "$(idx train-labels-idx1-ubyte)" --test-images "$(idx t10k-images-idx3-ubyte)" \
        --test-labels "$(idx t10k-labels-idx1-ubyte)" -o "$out/fmnist.h5"
fi

# Train from scratch: nn-train holds out 10% of /train (6,000 images) for validation.
if [ "$(id -u)" = 0 ]; then # Open MPI refuses root unless told twice
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1} OMPI_MCA_pml=${OMPI_MCA_pml:-ob1}
rm -rf "$out/ckpt" "$out/metrics.csv" "$out/test-preds.csv" "$out/summary.md"
# Adam with a cosine decay of the learning rate to 0 over the 20 epochs, and dropout 0.2 on
# the hidden layers; inputs are z-scored by nn-train (--normalize zscore, the default).
# Without the schedule and dropout the final model overfits: 88.6-89.0% (docs/fashion-mnist.md).
# shellcheck disable=SC2054 # the commas are in --layers
train=(mpirun -np 2 --oversubscribe "$bin/nn-train" --data "$out/fmnist.h5"
       --layers 784,256,128,10 --activation relu --optimizer adam --lr 1e-3
       --lr-schedule cosine --dropout 0.2 --batch 128 --epochs 20 --seed 42
       --checkpoint-dir "$out/ckpt" --metrics "$out/metrics.csv")
say "${train[*]}"
t0=$(date +%s.%N)
"${train[@]}" 2>&1 | tee "$out/train.log"
t1=$(date +%s.%N)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

# Evaluate the final checkpoint on /test.
ckpt=$out/ckpt/$(cat "$out/ckpt/latest")
"$bin/nn-predict" --model "$ckpt" --data "$out/fmnist.h5" --split test \
    --output "$out/test-preds.csv" 2>&1 | tee "$out/predict.log"
result=$(grep '^result ' "$out/predict.log") || die "no result line from nn-predict"
acc=$(sed -n 's/.* accuracy \([0-9.]*\) .*/\1/p' <<<"$result")
loss=$(sed -n 's/.* loss \([^ ]*\) .*/\1/p' <<<"$result")
[ -n "$acc" ] || die "no accuracy in nn-predict's result line: $result"

# Epochs trained and mean samples/s, from the metrics CSV by column name.
read -r epochs sps < <(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    { n++; e = $c["epoch"]; s += $c["samples_per_sec"] }
    END { printf "%d %.0f\n", e, n ? s / n : 0 }' "$out/metrics.csv")

plotted=$out/metrics.png
if [ $installed = 0 ] || command -v gnuplot >/dev/null; then
    "$plot" "$out/metrics.csv" "$out/metrics.png" \
        "Fashion-MNIST 784-256-128-10, Adam 1e-3 cosine, dropout 0.2, batch 128, 2 ranks: test accuracy $acc"
else
    say "gnuplot is not installed: no plot (apt-get install gnuplot-nox)"
    plotted=""
fi

pct=$(awk -v a="$acc" 'BEGIN { printf "%.2f%%", 100 * a }')
sps_fmt=$(awk -v n="$sps" 'BEGIN { s = sprintf("%d", n); r = ""
    while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
    print s r }')
shown=${train[*]//$root\//} # the command as run from the checkout
{
    echo "| test accuracy | epochs | wall time (training) | samples/s (mean over epochs) |"
    echo "|---|---|---|---|"
    echo "| $pct | $epochs | $wall s | $sps_fmt |"
    echo
    echo "Test loss $loss (cross-entropy) on 10,000 images; checkpoint $(basename "$ckpt");"
    echo "$(nproc) cores, $(date -u +%Y-%m-%d). Command: \`scripts/fashion-mnist.sh\`; training:"
    echo "\`$shown\`"
} >"$out/summary.md"
echo
head -3 "$out/summary.md"
echo
say "wrote $out/summary.md,${plotted:+ $plotted,} $out/test-preds.csv"
# Test image 0 as an Open Inference Protocol v2 request, scaled as the import scales it: x/255
# (%.17g: the double that rounds to the same float32 as the importer's (float)x / 255.0f).
# The IDX images start after a 16-byte header, the labels after an 8-byte one.
idx_bytes t10k-images-idx3-ubyte 16 784 | awk '
    BEGIN { printf "{\"inputs\": [{\"name\": \"image\", \"shape\": [1, 784], "
            printf "\"datatype\": \"FP32\", \"data\": [" }
    { printf "%s%.17g", (NR > 1 ? "," : ""), $1 / 255 }
    END { print "]}]}"; exit (NR != 784) }' >"$out/image0.json" ||
    die "could not read test image 0 from $(idx t10k-images-idx3-ubyte)"
label=$(idx_bytes t10k-labels-idx1-ubyte 8 1)
[ -n "$label" ] || die "could not read test label 0 from $(idx t10k-labels-idx1-ubyte)"
names=(T-shirt/top Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag "Ankle boot")
echo
say "serve the model (it follows new checkpoints in $out/ckpt; Ctrl-C stops it):"
echo "  $bin/nn-serve --model-dir $out/ckpt --name fmnist --port 8080"
say "then classify test image 0 (true class $label, ${names[label]}; the answer's \"class\"):"
echo "  curl -s -d @$out/image0.json http://127.0.0.1:8080/v2/models/fmnist/infer"
echo
if awk -v a="$acc" -v m="$min_accuracy" 'BEGIN { exit !(a < m) }'; then
    die "test accuracy $acc is below the target $min_accuracy"
fi
