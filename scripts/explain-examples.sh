#!/bin/bash
# explain-examples.sh: every figure of docs/explain.md, from the commands it shows.
#   scripts/explain-examples.sh BUILD_DIR OUT_DIR [FMNIST_DIR]
# 1. Fashion-MNIST (FMNIST_DIR, default out/fashion-mnist, as scripts/fashion-mnist.sh leaves
#    it: fmnist.h5 and ckpt/latest): integrated gradients of test rows 0-3 from the training
#    mean and from zero (black), pictured by plot-attribution.sh (OUT_DIR/fmnist-ig-mean.png,
#    fmnist-ig-zero.png); IG's completeness over test rows 0-999: the exact method (the
#    default on this relu model) and, in the same run, the midpoint rule at 32, 64, 128 and
#    256 steps, with each one's time; the exact attributions against explain_reference.py's
#    float64 walk over the same rows (numpy; about 2 minutes).
# 2. Tabular: scikit-learn's breast_cancer set (tests/sklearn_data.py; 30 named features)
#    through nn-data import-csv and nn-train 30,16,2, then --importance permutation and ig on
#    /test, each as a bar chart (OUT_DIR/cancer-permutation.png, cancer-ig.png).
# Runs with 2 ranks; prints each command and nn-predict's summary lines.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: scripts/explain-examples.sh BUILD_DIR OUT_DIR [FMNIST_DIR]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
fm=${3:-$here/../out/fashion-mnist}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
export OPENBLAS_NUM_THREADS=1 OMPI_MCA_rmaps_base_oversubscribe=1
# the command as docs/explain.md shows it: programs by name, files relative to OUT_DIR
run() {
    echo "\$ $*" | sed "s|$build/||g; s|$out/||g; s|$fm/|FMNIST_DIR/|g; s|$here/\.\./||g; s|$here/|scripts/|g"
    "$@"
}
summary() { grep -E '^(\$ |explain|importance|complete|score|wrote|time|  *[0-9]+\.)' || true; }

cd "$out"

# ---- 1. Fashion-MNIST
ck=$fm/ckpt/$(cat "$fm/ckpt/latest")
classes="T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"
for b in mean zero; do
    run mpirun -np 2 "$build/nn-predict" --model "$ck" --data "$fm/fmnist.h5" --explain ig \
        --rows 0-3 --baseline $b --output fmnist-ig-$b.h5 | summary
    run "$here/plot-attribution.sh" fmnist-ig-$b.h5 "$fm/fmnist.h5" fmnist-ig-$b.png 4 \
        "$classes"
done
run mpirun -np 2 "$build/nn-predict" --model "$ck" --data "$fm/fmnist.h5" --explain ig \
    --rows 0-999 --output fmnist-ig-1000-exact.h5 | summary
for s in 32 64 128 256; do
    run mpirun -np 2 "$build/nn-predict" --model "$ck" --data "$fm/fmnist.h5" --explain ig \
        --ig-method riemann --rows 0-999 --steps $s --output fmnist-ig-1000-$s.h5 | summary
done
if /usr/bin/python3 -c 'import h5py, numpy' 2>/dev/null; then
    run /usr/bin/python3 "$here/explain_reference.py" "$ck" "$fm/fmnist.h5" \
        fmnist-ig-1000-exact.h5 --method ig --rows 0-999 --engine numpy
fi

# ---- 2. breast_cancer
run /usr/bin/python3 "$here/../tests/sklearn_data.py" breast_cancer cancer.csv
run "$build/nn-data" import-csv cancer.csv --label target --test-fraction 0.3 -o cancer.h5 |
    tail -1
rm -rf cancer-ck
run mpirun -np 2 "$build/nn-train" --data cancer.h5 --layers 30,16,2 --epochs 30 --batch 32 \
    --optimizer adam --lr 1e-3 --seed 1 --checkpoint-dir cancer-ck --quiet
cck=cancer-ck/$(cat cancer-ck/latest)
run mpirun -np 2 "$build/nn-predict" --model "$cck" --data cancer.h5 | grep '^result'
run mpirun -np 2 "$build/nn-predict" --model "$cck" --data cancer.h5 --importance permutation \
    --repeats 10 --output cancer-permutation.csv | summary
run mpirun -np 2 "$build/nn-predict" --model "$cck" --data cancer.h5 --importance ig \
    --output cancer-ig.csv | summary
run "$here/plot-attribution.sh" cancer-permutation.csv cancer-permutation.png 15
run "$here/plot-attribution.sh" cancer-ig.csv cancer-ig.png 15
