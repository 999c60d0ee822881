#!/bin/bash
# e2e_tabular.sh: tabular data as it comes (issue 14, docs/tabular.md).
#   tests/e2e_tabular.sh CASE BUILD_DIR
# CASE:
#   scaling       --normalize-targets: targets in the hundreds (x*5+3, y*75+150); at 1, 2 and
#                 4 ranks with --no-shuffle the checkpoints hold the same y_shift and y_scale
#                 bits, equal to numpy's float64 mean and standard deviation of the training
#                 targets rounded to float32, and the same model to float rounding; the metrics'
#                 val_loss is in the targets' units (check_checkpoint.py's numpy forward pass,
#                 mapped back); auto applies zscore, none does not
#   resume        a run stopped after 2 of 4 epochs and resumed (settings from the checkpoint)
#                 ends bit-identical to the uninterrupted run, for target scaling and for class
#                 weights; another --normalize-targets or --class-weight is refused (exit 2)
#   class_weight  --class-weight balanced on imbalanced classes (200/100/40): the weights are
#                 n / (3 * count_c) from numpy, the same bits at 1, 2 and 4 ranks, the models
#                 agree to float rounding, val_loss is sum(w_y loss) / sum(w_y) (numpy); a FILE
#                 of weights is used as written
#   report        nn-predict --report under mpirun -np 3 against scikit-learn on the same
#                 predictions: classification_report(digits=4) line for line, the confusion
#                 matrix, roc_auc_score (breast_cancer); mean_squared_error,
#                 mean_absolute_error, r2_score (diabetes)
#   diabetes      sklearn's diabetes set through nn-data import-csv and the issue's command:
#                 a linear model (--layers 10,1) matches LinearRegression on the same split
#                 (within 3%: 60 epochs of Adam stop short of least squares), and is 5x worse
#                 without target scaling; the issue's 10,32,1 network (which over-fits these
#                 354 rows: within 1.5x) and MLPRegressor are printed beside it; breast_cancer with
#                 --class-weight balanced against LogisticRegression
# The cases that need scikit-learn (report, diabetes) print SKIP without it, and fail under
# CI=true (scripts/install-deps.sh --tests installs python3-sklearn).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "${2:-}" tabular-
py=/usr/bin/python3
check=$src/scripts/check_checkpoint.py

need_sklearn() {
    "$py" -c 'import sklearn, h5py' 2>/dev/null ||
        skip "scikit-learn or h5py is not installed (apt-get install python3-sklearn python3-h5py)"
}
# close A B RTOL: |A - B| <= RTOL * max(|B|, 1e-30)
close() { awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { d = a - b; if (d < 0) d = -d;
    m = b < 0 ? -b : b; if (m < 1e-30) m = 1e-30; exit !(d <= r * m) }'; }
# The same state in two checkpoints: every tensor within RTOL (relative to the largest value).
same_model() {
    "$py" - "$@" <<'EOF'
import sys, h5py, numpy as np
a, b, rtol = sys.argv[1], sys.argv[2], float(sys.argv[3])
with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
    worst = 0.0
    def visit(name, obj):
        global worst
        if isinstance(obj, h5py.Dataset) and name.startswith("model/"):
            x, y = obj[...].astype(np.float64), fb[name][...].astype(np.float64)
            worst = max(worst, float(np.max(np.abs(x - y)) / max(np.max(np.abs(y)), 1e-30)))
    fa.visititems(visit)
print(f"max relative difference {worst:.3g}")
sys.exit(0 if worst <= rtol else 1)
EOF
}

case_scaling() {
    "$make_data" regress r.h5 600 5 1 6
    "$make_data" regress v.h5 150 5 1 7
    "$tool" copy-split v.h5 train r.h5 val # a /val: every /train row is a training row
    "$tool" affine r.h5 big.h5 3 5 150 75  # x*5+3, targets y*75+150: in the hundreds
    for np in 1 2 4; do
        run_np $np --data big.h5 --layers 5,16,1 --epochs 3 --batch 32 --no-shuffle \
            --checkpoint-dir ck$np --metrics m$np.csv >out$np.txt
    done
    grep -q "targets zscore" out2.txt || fail "no target scaling by default: $(sed -n 5p out2.txt)"
    "$py" - "$(newest ck1)" "$(newest ck2)" "$(newest ck4)" <<'EOF' ||
import sys, h5py, numpy as np
got = []
for path in sys.argv[1:]:
    with h5py.File(path, "r") as f:
        assert f.attrs["format_version"] == 3 and f.attrs["normalize_targets"] == b"zscore"
        got.append((f["preprocess/y_shift"][...], f["preprocess/y_scale"][...]))
assert all(a.tobytes() == got[0][0].tobytes() and b.tobytes() == got[0][1].tobytes()
           for a, b in got), got
y = h5py.File("big.h5", "r")["train/y"][...].astype(np.float64).ravel()
ref = np.float32(y.mean()), np.float32(y.std())
print("y_shift", got[0][0], "y_scale", got[0][1], "numpy", ref)
assert got[0][0][0] == ref[0] and got[0][1][0] == ref[1]
EOF
        fail "y_shift/y_scale differ between rank counts or from numpy"
    echo "y_shift and y_scale: the same bits at 1, 2 and 4 ranks"
    for np in 2 4; do
        same_model "$(newest ck1)" "$(newest ck$np)" 1e-4 || fail "np $np's model differs from np 1's"
        close "$(tail -1 m$np.csv | cut -d, -f4)" "$(tail -1 m1.csv | cut -d, -f4)" 1e-4 ||
            fail "val_loss at np $np: $(tail -1 m$np.csv | cut -d, -f4), np 1 $(tail -1 m1.csv | cut -d, -f4)"
    done
    "$py" "$check" "$(newest ck2)" big.h5 m2.csv || fail "check_checkpoint: val_loss not in the targets' units"
    run_np 2 --data big.h5 --layers 5,16,1 --epochs 1 --normalize-targets none --checkpoint-dir cn \
        --quiet
    "$py" -c '
import h5py, sys
f = h5py.File(sys.argv[1], "r")
assert f.attrs["normalize_targets"] == b"none" and "y_shift" not in f["preprocess"]
' "$(newest cn)" || fail "--normalize-targets none still scaled the targets"
    echo "val_loss in the targets' units; none leaves them as they are"
}

case_resume() {
    "$make_data" regress r.h5 400 5 1 6
    "$tool" affine r.h5 big.h5 3 5 150 75
    run_np 2 --data big.h5 --layers 5,16,1 --epochs 4 --batch 32 --checkpoint-dir full --quiet
    run_np 2 --data big.h5 --layers 5,16,1 --epochs 2 --batch 32 --checkpoint-dir part --quiet
    run_np 2 --data big.h5 --epochs 4 --resume auto --checkpoint-dir part >res.txt
    [ "$(checksum "$(newest full)")" = "$(checksum "$(newest part)")" ] ||
        fail "target scaling: the resumed run's state differs from the uninterrupted run's"
    set +e
    run_np 2 --data big.h5 --epochs 5 --resume auto --checkpoint-dir part \
        --normalize-targets none >bad.txt 2>&1
    rc=$?
    set -e
    [ $rc = 2 ] && grep -q "normalize-targets none differs from the checkpoint's zscore" bad.txt ||
        fail "another --normalize-targets on resume: exit $rc, $(cat bad.txt)"
    "$make_data" blobs c.h5 400 6 3 3
    run_np 2 --data c.h5 --layers 6,16,3 --epochs 4 --batch 32 --class-weight balanced \
        --checkpoint-dir cfull --quiet
    run_np 2 --data c.h5 --layers 6,16,3 --epochs 2 --batch 32 --class-weight balanced \
        --checkpoint-dir cpart --quiet
    run_np 2 --data c.h5 --epochs 4 --resume auto --checkpoint-dir cpart --quiet
    [ "$(checksum "$(newest cfull)")" = "$(checksum "$(newest cpart)")" ] ||
        fail "class weights: the resumed run's state differs from the uninterrupted run's"
    set +e
    run_np 2 --data c.h5 --epochs 5 --resume auto --checkpoint-dir cpart --class-weight none \
        >bad.txt 2>&1
    rc=$?
    set -e
    [ $rc = 2 ] && grep -q "class-weight none differs from the checkpoint's balanced" bad.txt ||
        fail "another --class-weight on resume: exit $rc, $(cat bad.txt)"
    echo "resumed runs end bit-identical; other values are refused"
}

# imbalanced.h5: blobs with classes 0, 1, 2 kept 200, 100 and 40 times (h5py)
make_imbalanced() {
    "$make_data" blobs c.h5 600 6 3 3 150
    "$py" - <<'EOF'
import h5py, numpy as np
with h5py.File("c.h5", "r") as f, h5py.File("imb.h5", "w") as g:
    for s in ("train", "val"):
        x, y = f[s + "/x"][...], f[s + "/y"][...]
        keep = np.concatenate([np.flatnonzero(y == c)[:n] for c, n in ((0, 200), (1, 100), (2, 40))]
                              if s == "train" else [np.arange(len(y))])
        keep.sort()
        g[s + "/x"], g[s + "/y"] = x[keep], y[keep].astype(np.int32)
EOF
}

case_class_weight() {
    make_imbalanced
    for np in 1 2 4; do
        run_np $np --data imb.h5 --layers 6,16,3 --epochs 3 --batch 32 --no-shuffle \
            --class-weight balanced --checkpoint-dir ck$np --metrics m$np.csv >out$np.txt
    done
    grep -q "weights balanced per class" out1.txt || fail "no weights in the banner"
    "$py" - "$(newest ck1)" "$(newest ck2)" "$(newest ck4)" <<'EOF' || fail "class weights"
import sys, h5py, numpy as np
w = [h5py.File(p, "r")["preprocess/class_weight"][...] for p in sys.argv[1:]]
assert all(x.tobytes() == w[0].tobytes() for x in w), w
y = h5py.File("imb.h5", "r")["train/y"][...]
cnt = np.bincount(y, minlength=3)
ref = (len(y) / (3 * cnt.astype(np.float64))).astype(np.float32)
assert w[0].tobytes() == ref.tobytes(), (w[0], ref)
print("class weights", w[0], "= n / (3 * count) for counts", cnt)
EOF
    for np in 2 4; do
        same_model "$(newest ck1)" "$(newest ck$np)" 1e-4 || fail "np $np's model differs from np 1's"
    done
    "$py" "$check" "$(newest ck4)" imb.h5 m4.csv || fail "weighted val_loss"
    printf '# heavy class 2\n1\n1\n4\n' >w.txt
    run_np 2 --data imb.h5 --layers 6,16,3 --epochs 1 --class-weight w.txt --checkpoint-dir cf \
        --metrics mf.csv --quiet
    "$py" -c '
import h5py, sys
w = h5py.File(sys.argv[1], "r")["preprocess/class_weight"][...]
assert list(w) == [1, 1, 4], w
' "$(newest cf)" || fail "--class-weight FILE: the weights stored are not the file's"
    "$py" "$check" "$(newest cf)" imb.h5 mf.csv || fail "weighted val_loss with a FILE"
}

case_report() {
    need_sklearn
    "$py" "$here/sklearn_data.py" breast_cancer b.csv
    "$nndata" import-csv b.csv --label target --test-fraction 0.2 -o b.h5 >/dev/null
    run_np 2 --data b.h5 --layers 30,16,2 --epochs 10 --batch 32 --checkpoint-dir cb --quiet
    mpi_run 3 "$predict" --model "$(newest cb)" --data b.h5 --report --output pb.csv >rb.txt
    "$py" "$here/sklearn_data.py" diabetes d.csv
    "$nndata" import-csv d.csv --label target --task regress --test-fraction 0.2 -o d.h5 >/dev/null
    run_np 2 --data d.h5 --layers 10,16,1 --epochs 20 --batch 32 --checkpoint-dir cd --quiet
    mpi_run 3 "$predict" --model "$(newest cd)" --data d.h5 --report --output pd.csv >rd.txt
    "$py" - <<'EOF' || fail "--report differs from scikit-learn"
import re, h5py, numpy as np
from sklearn import metrics
out = open("rb.txt").read()
y = h5py.File("b.h5", "r")["test/y"][...]
p = np.loadtxt("pb.csv", delimiter=",", skiprows=1)
pred = p[:, 1].astype(int)
want = metrics.classification_report(y, pred, digits=4).rstrip("\n").split("\n")
lines = out.split("\n")
start = next(i for i, l in enumerate(lines) if "precision" in l)
got = lines[start:start + len(want)]
assert got == want, "\n".join(["nn-predict:"] + got + ["scikit-learn:"] + want)
cm = metrics.confusion_matrix(y, pred)
rows = [l.split()[1:] for l in lines if re.match(r"^ +\d+( +\d+){2}$", l)]
assert np.array_equal(np.array(rows, dtype=int)[-2:], cm), (rows, cm)
auc = float(re.search(r"ROC AUC \(probability of class 1\) ([0-9.]+)", out).group(1))
ref = metrics.roc_auc_score(y, p[:, 3])
assert abs(auc - ref) <= 5e-7, (auc, ref)
print("classification report = scikit-learn's; confusion", cm.tolist(), "AUC", auc, ref)
out = open("rd.txt").read()
yd = h5py.File("d.h5", "r")["test/y"][...].astype(np.float64).ravel()
pd = np.loadtxt("pd.csv", delimiter=",", skiprows=1)[:, 1]
for name, fn in (("MSE", metrics.mean_squared_error), ("MAE", metrics.mean_absolute_error),
                 ("R2", metrics.r2_score)):
    got = float(re.search(rf"^  {name} +(\S+)$", out, re.M).group(1))
    ref = fn(yd, pd)
    assert abs(got - ref) <= 1e-6 * max(1, abs(ref)), (name, got, ref)
    print(f"{name} {got:.9g} (scikit-learn {ref:.9g})")
EOF
}

case_diabetes() {
    need_sklearn
    "$py" "$here/sklearn_data.py" diabetes d.csv
    "$nndata" import-csv d.csv --label target --task regress --test-fraction 0.2 -o d.h5 >/dev/null
    # the issue's command; --val-fraction 0: the same training rows as LinearRegression's
    local cmd=(--data d.h5 --lr 3e-3 --batch 32 --epochs 60 --val-fraction 0 --quiet)
    run_np 2 "${cmd[@]}" --layers 10,1 --checkpoint-dir lin
    run_np 2 "${cmd[@]}" --layers 10,1 --checkpoint-dir raw --normalize-targets none
    run_np 2 "${cmd[@]}" --layers 10,32,1 --checkpoint-dir mlp
    for m in lin raw mlp; do
        mpi_run plain "$predict" --model "$(newest $m)" --data d.h5 --output p_$m.csv --quiet
    done
    "$py" "$here/sklearn_data.py" breast_cancer b.csv
    "$nndata" import-csv b.csv --label target --test-fraction 0.2 -o b.h5 >/dev/null
    run_np 2 --data b.h5 --layers 30,16,2 --lr 3e-3 --batch 32 --epochs 30 --val-fraction 0 \
        --class-weight balanced --checkpoint-dir bc --quiet
    mpi_run plain "$predict" --model "$(newest bc)" --data b.h5 --output p_bc.csv --quiet
    "$py" - <<'EOF' || fail "nn-train against scikit-learn"
import warnings
import h5py, numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
warnings.simplefilter("ignore")
f = h5py.File("d.h5", "r")
xt, yt = f["train/x"][...].astype(np.float64), f["train/y"][...].astype(np.float64).ravel()
xs, ys = f["test/x"][...].astype(np.float64), f["test/y"][...].astype(np.float64).ravel()
mse = lambda p: float(np.mean((p - ys) ** 2))
nn = {m: mse(np.loadtxt(f"p_{m}.csv", delimiter=",", skiprows=1)[:, 1]) for m in ("lin", "raw", "mlp")}
lr = mse(LinearRegression().fit(xt, yt).predict(xs))
mlp = mse(make_pipeline(StandardScaler(), MLPRegressor((32,), max_iter=2000, random_state=0))
          .fit(xt, yt).predict(xs))
print(f"diabetes /test ({len(ys)} rows) MSE: LinearRegression {lr:.1f}; nn-train 10,1 {nn['lin']:.1f} "
      f"(--normalize-targets none {nn['raw']:.1f}); nn-train 10,32,1 {nn['mlp']:.1f}; "
      f"MLPRegressor(32) {mlp:.1f}")
# Adam at the issue's settings (60 epochs, 720 steps) stops short of the least-squares optimum
assert nn["lin"] <= 1.03 * lr, "the linear model does not match LinearRegression"
assert nn["raw"] >= 5 * nn["lin"], "without target scaling the linear model should under-fit"
assert nn["mlp"] <= 1.5 * lr, "the 10,32,1 network is far off LinearRegression"
g = h5py.File("b.h5", "r")
bt, bs = g["test/x"][...], g["test/y"][...]
acc = float(np.mean(np.loadtxt("p_bc.csv", delimiter=",", skiprows=1)[:, 1] == bs))
ref = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
    g["train/x"][...], g["train/y"][...]).score(bt, bs)
print(f"breast_cancer /test ({len(bs)} rows) accuracy: LogisticRegression {ref:.4f}; "
      f"nn-train 30,16,2 --class-weight balanced {acc:.4f}")
assert acc >= ref - 1.0 / len(bs) + 1e-12, "more than one test row worse than LogisticRegression"
EOF
}

"case_$case_name"
