#!/bin/bash
# robustness.sh: the Fashion-MNIST figures of docs/robustness.md. Trains two 784-256-128-10
# models on 2 MPI ranks with the standard recipe's flags (scripts/fashion-mnist.sh): the recipe
# itself (20 epochs) and the same with PGD adversarial training (--adversarial pgd --adv-eps 0.1
# --adv-steps 7, 10 epochs: each step costs about 8 of a normal one). Then attacks the 10,000
# test images of each with nn-predict --attack fgsm and pgd (10 steps) at eps 0.1, in pixel
# units (fmnist.h5 holds pixel / 255 in [0, 1]), and prints the table docs/robustness.md
# shows, and whether the adversarially trained model gains at least 40 points of PGD-10
# accuracy (exit 1 if not).
#   scripts/robustness.sh [OUTDIR]                    (default out/robustness)
# Environment: BUILD (the build directory, default build/; scripts/build.sh makes it),
# DATA (default out/fashion-mnist/fmnist.h5, which scripts/fashion-mnist.sh imports), NP (2).
# OUTDIR receives standard/ and pgd/ (checkpoints, train.log), the attacks' logs, the
# adversarial test images of the PGD attack on each model (adv-*.h5, nn-predict --data
# reads them) and summary.md (the table).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/out/robustness}
bin=${BUILD:-$root/build}
data=${DATA:-$root/out/fashion-mnist/fmnist.h5}
np=${NP:-2}
eps=0.1
die() { echo "robustness: error: $*" >&2; exit 1; }
[ -x "$bin/nn-train" ] && [ -x "$bin/nn-predict" ] ||
    die "no nn-train and nn-predict in $bin (scripts/build.sh $bin, or set BUILD)"
[ -f "$data" ] || die "no $data: scripts/fashion-mnist.sh imports Fashion-MNIST there (or set DATA)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$out"
out=$(cd "$out" && pwd)

recipe=(--data "$data" --layers 784,256,128,10 --activation relu --optimizer adam --lr 1e-3
        --lr-schedule cosine --dropout 0.2 --batch 128 --seed 42)
train() { # NAME FLAGS...: trains into OUTDIR/NAME unless its final checkpoint is there
    local name=$1
    shift
    if [ -f "$out/$name/done" ]; then
        echo "robustness: $name: kept $out/$name (remove it to train again)"
        return
    fi
    rm -rf "${out:?}/$name"
    mkdir -p "$out/$name"
    echo "robustness: training $name: mpirun -np $np nn-train ${recipe[*]} $*"
    mpirun -np "$np" --oversubscribe "$bin/nn-train" "${recipe[@]}" "$@" \
        --checkpoint-dir "$out/$name/ckpt" >"$out/$name/train.log"
    touch "$out/$name/done"
}
train standard --epochs 20
train pgd --epochs 10 --adversarial pgd --adv-eps $eps --adv-steps 7

# attack NAME KIND: nn-predict --attack KIND on NAME's final checkpoint; sets clean, adv
attack() {
    local ck=$out/$1/ckpt/$(cat "$out/$1/ckpt/latest") log=$out/$1-$2.log
    local extra=()
    [ "$2" = pgd ] && extra=(--attack-steps 10 --attack-output "$out/adv-$1.h5")
    mpirun -np "$np" --oversubscribe "$bin/nn-predict" --model "$ck" --data "$data" \
        --split test --attack "$2" --eps $eps "${extra[@]}" >"$log"
    grep -q "range  the training data's" "$log" || die "$log: not the training data's range"
    clean=$(sed -n 's/.*clean loss [0-9.e+-]* accuracy \([0-9.e+-]*\) .*/\1/p' "$log")
    adv=$(sed -n "s/.* $2 loss [0-9.e+-]* accuracy \([0-9.e+-]*\) .*/\1/p" "$log")
    [ -n "$clean" ] && [ -n "$adv" ] || die "$log: no result line"
}
pct() { awk -v a="$1" 'BEGIN { printf "%.2f%%", 100 * a }'; }
{
    echo "| model | training | training time | clean | FGSM | PGD-10 |"
    echo "|---|---|---|---|---|---|"
    for m in standard pgd; do
        attack $m fgsm
        fgsm=$adv
        attack $m pgd
        eval "pgd_$m=$adv"
        [ $m = standard ] && how="the recipe, 20 epochs" ||
            how="the recipe + --adversarial pgd --adv-eps $eps --adv-steps 7, 10 epochs"
        # the epochs' wall times as train.log prints them ("epoch ... 12.345s (compute ...")
        secs=$(awk '/^epoch / { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+s$/ && $(i + 1) == "(compute")
                   t += $i } END { printf "%.0f s", t }' "$out/$m/train.log")
        echo "| $m | $how | $secs | $(pct "$clean") | $(pct "$fgsm") | $(pct "$adv") |"
    done
} >"$out/summary.md"
cat "$out/summary.md"
gain=$(awk -v a="$pgd_pgd" -v b="$pgd_standard" 'BEGIN { printf "%.2f", 100 * (a - b) }')
echo
echo "Test accuracy on the 10,000 Fashion-MNIST test images, clean and under attack at eps $eps"
echo "(pixels in [0, 1], clipped to the training images' per-pixel range); PGD-10: 10 steps of"
echo "0.025 from the FGSM point. Adversarial training gains $gain points of PGD-10 accuracy."
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $np ranks; logs in $out"
awk -v g="$gain" 'BEGIN { exit !(g >= 40) }' ||
    die "the adversarially trained model gains $gain points of PGD-10 accuracy; expected >= 40"
