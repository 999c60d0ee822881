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
#   encode        categorical columns and gaps through nn-data import-csv (tests/tabular_ref.py
#                 writes the raw file): /train/x and /test/x equal, bit for bit, an independent
#                 numpy encoding with the statistics of the /train rows only, for --impute mean
#                 (with --max-categories and --missing-indicators), median and most-frequent;
#                 nn-data info's columns; a model trained on it predicts the raw /test rows
#                 (nn-predict --csv, columns reordered, no label) exactly as their encoded form,
#                 and new rows with values never seen and gaps; nn-serve answers the same rows,
#                 given as records by feature name, with the same probabilities
#   encode_errors every new flag's bad values and every malformed column or raw row: one line
#                 naming the flag, or the file, line and column; exit 1 or 2, no output left
#   vocab         --max-categories keeps the most frequent categories of a column with more
#                 distinct values than the importer's first tables hold (a value that fills
#                 the first 200 rows, then 40 others: it must be kept)
#   ranks         a file with categories and gaps imported once: the same model at 1, 2 and 4
#                 ranks with --no-shuffle, each checkpoint's /encoder the file's /meta/encoder
#   real          scikit-learn's iris, wine, breast_cancer, digits, diabetes and linnerud through
#                 import-csv (test fraction 0.2, seed 42) and the recipes of docs/tabular.md:
#                 at least LogisticRegression's test accuracy, LinearRegression's test MSE to
#                 0.001% (the least-squares optimum in float32); with NN_TABULAR_MLP=1,
#                 MLPClassifier / MLPRegressor with as many epochs printed beside them
# The cases that need scikit-learn (report, diabetes, real) print SKIP without it, and fail under
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
        assert f.attrs["format_version"] >= 3 and f.attrs["normalize_targets"] == b"zscore"
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

ref() { "$py" "$here/tabular_ref.py" "$@"; }
imp() { "$nndata" import-csv raw.csv --label churn --drop-columns id,note --categorical zip \
    --test-fraction 0.25 "$@"; }
need_numpy() { "$py" -c 'import numpy, h5py' 2>/dev/null || skip "numpy or h5py is not installed"; }
width() { "$nndata" info "$1" | sed -n 's|^/train: [0-9]* samples, \([0-9]*\) features.*|\1|p'; }

case_encode() {
    need_numpy
    ref make raw.csv new.csv
    imp --impute mean --max-categories 4 --missing-indicators -o e.h5 | tee imp.txt
    ref check e.h5 raw.csv mean 4 1
    imp --impute median -o m.h5 >/dev/null
    ref check m.h5 raw.csv median 0 0
    imp --impute most-frequent --max-categories 3 --missing-indicators -o f.h5 | tee impf.txt
    ref check f.h5 raw.csv most-frequent 3 1 | tee reff.txt
    local n d
    n=$(sed -n 's/.* \([0-9]*\) \/test values outside.*/\1/p' reff.txt)
    grep -q "/test: $n values outside the training categories" impf.txt ||
        fail "the importer's count of values outside the vocabulary is not $n: $(cat impf.txt)"
    [ "$n" -gt 0 ] || fail "no /test value outside the 3 kept categories: the case tests nothing"
    # nn-data info: each column's kind and cardinality
    "$nndata" info f.h5 >info.txt
    grep -Eq '^  city +categorical +3\+other +5  category \(missing\)' info.txt &&
        grep -Eq '^  zip +categorical +3 +3  all zeros' info.txt &&
        grep -Eq '^  age +numeric +- +2  [0-9.]+, indicator 1' info.txt &&
        grep -q 'columns: 5 encoded into' info.txt || { cat info.txt; fail "nn-data info columns"; }
    # a raw row and its encoded form: the same prediction, bit for bit
    d=$(width e.h5)
    mpi_run plain "$train" --data e.h5 --layers "$d,8,2" --epochs 5 --batch 16 --checkpoint-dir ck \
        --quiet
    mpi_run 2 "$predict" --model "$(newest ck)" --data e.h5 --split test --output enc.csv --quiet
    ref testrows e.h5 raw.csv rawtest.csv
    mpi_run 2 "$predict" --model "$(newest ck)" --csv rawtest.csv --output raw.out.csv | tee p.txt
    grep -q 'no label column (predictions only)' p.txt || fail "--csv without the label: $(cat p.txt)"
    cmp enc.csv raw.out.csv || fail "raw rows and their encoded form predict differently"
    # with the label column: the metrics too
    mpi_run plain "$predict" --model "$(newest ck)" --csv raw.csv --output all.csv >p2.txt
    grep -q 'raw rows  raw.csv: 240 rows, 5 columns encoded' p2.txt &&
        grep -q 'accuracy' p2.txt || fail "--csv with the label: $(cat p2.txt)"
    # new rows: columns in another order, values never seen (a city, a zip), a city cut by
    # --max-categories 4, gaps
    mpi_run plain "$predict" --model "$(newest ck)" --csv new.csv --output new.out.csv | tee p3.txt
    grep -q "3 rows, 5 columns encoded into $d features, no label column" p3.txt &&
        grep -q '3 values outside the training categories in 3 rows' p3.txt ||
        fail "new rows: $(cat p3.txt)"
    [ "$(wc -l <new.out.csv)" = 4 ] || fail "new rows: $(cat new.out.csv)"
    # nn-serve: the same new rows as records by feature name (a number as a string, null, an
    # absent name, an extra name) answer the same probabilities, bit for bit
    "$build/nn-serve" --model "$(newest ck)" --host 127.0.0.1 --port 0 >serve.log 2>&1 &
    bg=$!
    wait_line serve.log '^nn-serve .* on http://' 60 || fail "nn-serve did not start: $(cat serve.log)"
    local url name
    url=$(sed -n 's|.* on \(http://[0-9.]*:[0-9]*\).*|\1|p' serve.log | head -1)
    name=$(sed -n 's|.*: model \([^ ]*\) .*|\1|p' serve.log | head -1)
    curl -sf "${url%,}/v1/models/$name:predict" -o served.json -d '{"instances": [
        {"income": 61.5, "zip": "0200", "note": "x", "city": "Reykjavik", "age": 33, "key": 900},
        {"income": null, "zip": "0900", "city": "", "key": 901},
        {"income": "40", "zip": "0100", "city": "Hanoi", "age": 70, "key": 902}]}' ||
        fail "nn-serve: records by name refused: $(cat served.json 2>/dev/null)"
    code=$(curl -s -o bad.json -w '%{http_code}' "${url%,}/v1/models/$name:predict" \
        -d '{"instances": [{"age": "old"}]}')
    [ "$code" = 400 ] && grep -q "instance 0: .*age.*: 'old' is not a number" bad.json ||
        fail "nn-serve: a bad record: $code $(cat bad.json)"
    kill -TERM "$bg"
    wait "$bg" || true
    bg=""
    "$py" - <<'EOF' || fail "nn-serve and nn-predict --csv disagree on the new rows"
import csv, json
served = [r["probabilities"] for r in json.load(open("served.json"))["predictions"]]
want = [[float(v) for v in r[2:]] for r in list(csv.reader(open("new.out.csv")))[1:]]
assert [[float(v) for v in p] for p in served] == want, (served, want)
print(f"nn-serve by feature name = nn-predict --csv on {len(want)} new rows")
EOF
    echo "raw /test rows and /test/x: the same predictions ($(($(wc -l <enc.csv) - 1)) rows)"
}

# expect_err STATUS PATTERN OUT COMMAND...: exit STATUS, one error line with PATTERN, no OUT
expect_err() {
    local want=$1 pattern=$2 out=$3 rc=0
    shift 3
    "$@" >stdout.txt 2>err.txt || rc=$?
    [ "$rc" = "$want" ] || { cat err.txt >&2; fail "$*: exit status $rc; expected $want"; }
    # one line from the program (mpirun adds its own notice of the exit status)
    [ "$(grep -c '^nn-' err.txt)" = 1 ] && [ "$(grep -c 'error' err.txt)" = 1 ] ||
        { cat err.txt >&2; fail "$*: expected one error line"; }
    grep -qF -- "$pattern" err.txt || fail "$*: '$(cat err.txt)' lacks '$pattern'"
    [ ! -e "$out" ] || fail "$*: $out exists after the error"
    echo "exit $rc: $(cat err.txt)"
}

case_encode_errors() {
    need_numpy
    ref make raw.csv new.csv
    local d=("$nndata" import-csv raw.csv --label churn)
    expect_err 2 "--categorical 'town': no such column in raw.csv (8 columns, header names" o.h5 \
        "${d[@]}" --categorical town -o o.h5
    expect_err 2 "--numeric '9': no such column" o.h5 "${d[@]}" --numeric 9 -o o.h5
    expect_err 2 "--drop-columns 'churn': column 7 ('churn') is the label; expected feature columns only" \
        o.h5 "${d[@]}" --drop-columns churn -o o.h5
    expect_err 2 "--categorical 'city': column 3 ('city') is --numeric; expected each column in one list only" \
        o.h5 "${d[@]}" --categorical city --numeric city -o o.h5
    expect_err 2 "--categorical ',': no column named" o.h5 "${d[@]}" --categorical , -o o.h5
    expect_err 2 "drops every feature column of raw.csv" o.h5 \
        "${d[@]}" --drop-columns id,key,age,city,zip,income,note -o o.h5
    expect_err 2 "--max-categories 1: expected 0 (no limit) or at least 2" o.h5 \
        "${d[@]}" --max-categories 1 -o o.h5
    expect_err 2 "--max-categories" o.h5 "${d[@]}" --max-categories -3 -o o.h5
    expect_err 2 "--impute" o.h5 "${d[@]}" --impute zero -o o.h5
    expect_err 2 "--missing-indicators with --impute drop" o.h5 "${d[@]}" --missing-indicators -o o.h5
    # a malformed column: a word among numbers (file, line, column, value)
    awk -F, 'NR == 3 { $3 = "old" } 1' OFS=, raw.csv >typo.csv
    expect_err 1 "typo.csv:3: column 2 ('age'): 'old' is not a number; expected a number (the column holds" \
        o.h5 "$nndata" import-csv typo.csv --label churn -o o.h5
    # ... or text in a column forced numeric
    expect_err 1 "raw.csv:2: column 3 ('city'): 'Quito' is not a number" o.h5 \
        "${d[@]}" --numeric city -o o.h5
    # --impute with a column that has no value in the training rows
    awk -F, 'NR > 1 { $3 = "" } 1' OFS=, raw.csv >empty.csv
    expect_err 1 "empty.csv: column 2 ('age') has no value in the 240 training rows" o.h5 \
        "$nndata" import-csv empty.csv --label churn --impute mean -o o.h5
    # nn-predict --csv: every raw-row error names the file, line and column
    imp --impute drop -o e.h5 >/dev/null
    mpi_run plain "$train" --data e.h5 --layers "$(width e.h5),2" --epochs 1 --checkpoint-dir ck \
        --quiet
    local p=(mpi_run plain "$predict" --model "$(newest ck)")
    cut -d, -f1-3,5- raw.csv >nocity.csv
    # (under mpirun once: rank 0 reads the raw file, every rank exits with its error)
    expect_err 1 "--csv nocity.csv:1: no column 'city' in the header; expected every column the model was trained on: 'key', 'age', 'city', 'zip', 'income'" \
        o.csv mpi_run 2 "$predict" --model "$(newest ck)" --csv nocity.csv --output o.csv
    printf '%s\n' 'key,age,city,zip,income' '1,30,Oslo,0100,50' '2,old,Oslo,0100,50' >word.csv
    expect_err 1 "--csv word.csv:3: column 1 ('age'): 'old' is not a number" o.csv \
        "${p[@]}" --csv word.csv --output o.csv
    printf '%s\n' 'key,age,city,zip,income' '1,,Oslo,0100,50' >gap.csv
    expect_err 1 "--csv gap.csv:2: column 1 ('age'): '' is a missing value, and the model's data was imported with --impute drop" \
        o.csv "${p[@]}" --csv gap.csv --output o.csv
    printf '%s\n' 'key,age,city,zip,income' '1,1e39,Oslo,0100,50' >inf.csv
    expect_err 1 "--csv inf.csv:2: column 1 ('age'): '1e39' is not finite" o.csv \
        "${p[@]}" --csv inf.csv --output o.csv
    printf '%s\n' 'key,age,city,zip,income,churn' '1,30,Oslo,0100,50,maybe' >lab.csv
    expect_err 1 "--csv lab.csv:2: column 5 ('churn'), the label: 'maybe' is not one of the model's 2 classes" \
        o.csv "${p[@]}" --csv lab.csv --output o.csv
    expect_err 1 "--csv missing.csv: cannot open" o.csv "${p[@]}" --csv missing.csv --output o.csv
    expect_err 2 "--csv raw.csv and --data e.h5: expected one input" o.csv \
        "${p[@]}" --csv raw.csv --data e.h5 --output o.csv
    expect_err 2 "--csv raw.csv goes with predictions; --attack reads a data file" o.csv \
        "${p[@]}" --csv raw.csv --attack fgsm --eps 1
    # a checkpoint without an encoder (its data did not come from import-csv)
    printf '%s\n' 'a,b,y' '1,2,0' '3,4,1' '5,6,0' '7,8,1' >plain.csv
    "$nndata" import-csv plain.csv --label y -o plain.h5 >/dev/null
    "$py" -c 'import h5py; f = h5py.File("plain.h5", "a"); del f["meta/encoder"]'
    mpi_run plain "$train" --data plain.h5 --layers 2,2 --epochs 1 --checkpoint-dir ck2 --quiet
    expect_err 1 "--csv needs a model trained on a file from nn-data import-csv" o.csv \
        mpi_run plain "$predict" --model "$(newest ck2)" --csv plain.csv --output o.csv
    if ls -a | grep -q '^\.nn-predict-csv'; then fail "a temporary file of --csv was left behind"; fi
}

case_ranks() {
    need_numpy
    ref make raw.csv new.csv
    imp --impute median --max-categories 4 --missing-indicators -o e.h5 >/dev/null
    local d np
    d=$(width e.h5)
    for np in 1 2 4; do
        run_np "$np" --data e.h5 --layers "$d,8,2" --epochs 3 --batch 16 --no-shuffle \
            --checkpoint-dir ck$np --quiet
    done
    for np in 1 2 4; do
        "$py" -c 'import sys, h5py; sys.exit(h5py.File(sys.argv[1])["meta/encoder"][0] !=
                  h5py.File(sys.argv[2])["encoder"][0])' e.h5 "$(newest ck$np)" ||
            fail "np $np: /encoder is not the data file's /meta/encoder"
    done
    for np in 2 4; do
        same_model "$(newest ck1)" "$(newest ck$np)" 2e-6 || fail "np $np: another model"
    done
}

case_real() {
    need_sklearn
    local s
    "$py" "$here/sklearn_data.py" all .
    for s in iris wine breast_cancer digits; do
        "$nndata" import-csv $s.csv --label target --test-fraction 0.2 -o $s.h5 >/dev/null
    done
    for s in diabetes linnerud; do
        "$nndata" import-csv $s.csv --label target --task regress --test-fraction 0.2 -o $s.h5 >/dev/null
    done
    # the recipes of docs/tabular.md ("Real data sets"); the final checkpoint only; one process
    # each (the rank counts are e2e_tabular_ranks' business)
    local c=(--val-fraction 0 --quiet --checkpoint-every 1000000)
    local lin=(--batch 0 --lr 0.01 --epochs 300) reg=(--batch 0 --lr 0.1 --epochs 2000 --lr-schedule cosine)
    local t=(mpi_run plain "$train")
    "${t[@]}" --data iris.h5 --layers 4,3 "${lin[@]}" "${c[@]}" --checkpoint-dir iris
    "${t[@]}" --data wine.h5 --layers 13,3 "${lin[@]}" "${c[@]}" --checkpoint-dir wine
    "${t[@]}" --data breast_cancer.h5 --layers 30,2 "${lin[@]}" "${c[@]}" --checkpoint-dir breast_cancer
    "${t[@]}" --data digits.h5 --layers 64,64,10 --optimizer adamw --lr 1e-3 --batch 32 --epochs 100 \
        "${c[@]}" --checkpoint-dir digits
    "${t[@]}" --data diabetes.h5 --layers 10,1 "${reg[@]}" "${c[@]}" --checkpoint-dir diabetes
    "${t[@]}" --data linnerud.h5 --layers 3,1 "${reg[@]}" "${c[@]}" --checkpoint-dir linnerud
    for s in iris wine breast_cancer digits diabetes linnerud; do
        mpi_run plain "$predict" --model "$(newest $s)" --data $s.h5 --output p_$s.csv --quiet
    done
    # NN_TABULAR_MLP=1 also fits MLPClassifier / MLPRegressor((32,)) with as many epochs (about
    # 6 s more), the third column of docs/tabular.md's table
    NN_TABULAR_MLP=${NN_TABULAR_MLP:-0} "$py" - <<'EOF' || fail "nn-train against scikit-learn"
import os, warnings
import h5py, numpy as np
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
warnings.simplefilter("ignore")
epochs = {"iris": 300, "wine": 300, "breast_cancer": 300, "digits": 100, "diabetes": 2000,
          "linnerud": 2000}
bad = []
for s in epochs:
    f = h5py.File(f"{s}.h5", "r")
    xt, yt = f["train/x"][...].astype(np.float64), f["train/y"][...]
    xs, ys = f["test/x"][...].astype(np.float64), f["test/y"][...]
    p = np.loadtxt(f"p_{s}.csv", delimiter=",", skiprows=1)
    if yt.ndim == 1:
        nn = float(np.mean(p[:, 1] == ys))
        ref = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(xt, yt).score(xs, ys)
        mlp = ""
        if os.environ["NN_TABULAR_MLP"] == "1":
            mlp = "  MLPClassifier(32) %.4f" % make_pipeline(
                StandardScaler(), MLPClassifier((32,), max_iter=epochs[s], random_state=0)
            ).fit(xt, yt).score(xs, ys)
        print(f"{s:13s} /test {len(ys):3d} rows  accuracy: LogisticRegression {ref:.4f}  "
              f"nn-train {nn:.4f}{mlp}")
        if nn < ref:
            bad.append(s)
    else:
        yt, ys = yt.ravel().astype(np.float64), ys.ravel().astype(np.float64)
        mse = lambda q: float(np.mean((q - ys) ** 2))
        nn, ref = mse(p[:, 1]), mse(LinearRegression().fit(xt, yt).predict(xs))
        mlp = ""
        if os.environ["NN_TABULAR_MLP"] == "1":
            mlp = "  MLPRegressor(32) %.4f" % mse(make_pipeline(
                StandardScaler(), MLPRegressor((32,), max_iter=epochs[s], random_state=0)
            ).fit(xt, yt).predict(xs))
        print(f"{s:13s} /test {len(ys):3d} rows  MSE: LinearRegression {ref:.4f}  "
              f"nn-train {nn:.4f}{mlp}")
        if nn > ref * (1 + 1e-5):  # the least-squares optimum, reached in float32
            bad.append(s)
assert not bad, f"worse than scikit-learn's linear model: {bad}"
EOF
}

case_vocab() {
    # 200 rows of "hot" first, then v00..v39 ten times each (v39 eleven): the 3 most frequent
    # are hot, v39, and v00 (ties in vocabulary order). The counting table grows twice on the way
    # (at 32 and 64 values); a growth that lost the counts so far would drop "hot".
    {
        echo "colour,x,label"
        local i k r n=0
        for i in $(seq 200); do echo "hot,$i,$((n++ % 2))"; done
        for k in $(seq -w 0 39); do
            for r in $(seq $((10 + (k == 39)))); do echo "v$k,$r,$((n++ % 2))"; done
        done
    } >hot.csv
    "$nndata" import-csv hot.csv --label label --max-categories 3 --test-fraction 0 -o hot.h5 \
        >/dev/null || fail "import of hot.csv"
    "$nndata" info hot.h5 >info.txt
    local kept
    kept=$(sed -n 's/.*colour=\([a-z0-9]*\)$/\1/p' info.txt | sort | tr '\n' ' ')
    [ "$kept" = "hot v00 v39 " ] || { cat info.txt; fail "--max-categories 3 kept '$kept', expected 'hot v00 v39 '"; }
}

"case_$case_name"
