#!/bin/bash
# e2e_export.sh: nn-predict --export and the exported int8 model (docs/export.md), as a plain
# process and under real mpirun.
#   e2e_export.sh CASE BUILD_DIR
#   roundtrip  a model trained here, pruned to 90% zeros (tests/tools/prune_ckpt), exported
#              with each storage: the file is what the formula gives (tests/export_ref.py:
#              scales, codes, dequantised weights bit for bit, CSC exactly the nonzero codes);
#              at least 8x smaller than the float32 weights; nn-predict runs it at 1 and 2
#              ranks with the same bits, int8 and CSC storage alike; classes and probabilities
#              as numpy's int8 pass gives them; accuracy and predictions within the stated
#              tolerance of the float model's; nn-serve answers with the same probabilities
#   tabular    a model of nn-data import-csv's data: the export carries /encoder and the
#              training range, and nn-predict --csv runs raw rows through it
#   bad        truncated, damaged and foreign files (at 1 and 2 ranks), and misused flags: one
#              error line, exit 1 or 2
set -euo pipefail

. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "$2" e2e-export-
prune=$build/tests/tools/prune_ckpt
ref=$here/export_ref.py
pred() { local np=$1; shift; mpi_run "$np" "$predict" "$@"; }
result() { grep '^result' "$1"; }
acc_of() { sed -n 's/^result .* accuracy \([^ ]*\) .*/\1/p' "$1"; }

# A small classifier, wide enough that the pruned export shows the size ratio: 384-256-128-4.
model() {
    "$make_data" blobs d.h5 1200 384 4 5 400 2.5
    mpi_run plain "$train" --data d.h5 --layers 384,256,128,4 --epochs 3 --batch 64 --seed 3 \
        --checkpoint-dir ck --quiet
    "$prune" "$(newest ck)" pr.h5 0.9 | tee prune.txt
}

case_roundtrip() {
    model
    local s
    for s in auto int8 csc; do
        pred plain --model pr.h5 --export "pr_$s.nnq" --export-storage "$s" | tee "x_$s.txt"
    done
    grep -q "layer  0: 384x256 csc" x_auto.txt || fail "auto did not store the pruned layer 0 as CSC"
    ! grep -q " csc " x_int8.txt || fail "--export-storage int8 stored a layer as CSC"
    # The size: the file against the float32 weights, from stat and the layer sizes.
    local bytes weights
    bytes=$(stat -c %s pr_auto.nnq)
    weights=$(( (384 * 256 + 256 * 128 + 128 * 4 + 256 + 128 + 4) * 4 ))
    [ $((bytes * 8)) -le "$weights" ] ||
        fail "pr_auto.nnq is $bytes bytes; expected at most 1/8 of the float weights' $weights"
    grep -q "^size   file $bytes bytes, .* float32 weights $weights bytes" x_auto.txt ||
        fail "the size line does not say $bytes and $weights bytes: $(grep '^size' x_auto.txt)"
    echo "pruned model: file $bytes bytes, float32 weights $weights bytes ($(awk -v a="$weights" -v b="$bytes" 'BEGIN { printf "%.2f", a / b }')x)"
    if have_h5py; then
        for s in auto int8 csc; do /usr/bin/python3 "$ref" file pr.h5 "pr_$s.nnq" || fail "export_ref.py file $s"; done
    fi
    # The same predictions for every storage and at 1 and 2 ranks, bit for bit; one row at a
    # time (--batch 1) and in batches (CSC's batches take 16 rows at once).
    for s in auto int8 csc; do
        pred plain --model "pr_$s.nnq" --data d.h5 --split val --output "p_${s}_plain.csv" >"o_${s}_plain.txt"
        cmp -s p_auto_plain.csv "p_${s}_plain.csv" || fail "$s storage predicts other bits than auto's"
        grep -q "exported int8" "o_${s}_plain.txt" || fail "nn-predict's banner does not name the export"
    done
    pred 2 --model pr_auto.nnq --data d.h5 --split val --output p_auto_2.csv --quiet
    cmp -s p_auto_plain.csv p_auto_2.csv || fail "2 ranks predict other bits than 1"
    pred plain --model pr_csc.nnq --data d.h5 --split val --batch 1 --output p_csc_1.csv --quiet
    cmp -s p_auto_plain.csv p_csc_1.csv || fail "CSC one row at a time predicts other bits than in batches"
    if have_h5py; then
        /usr/bin/python3 "$ref" predict pr_auto.nnq d.h5 val p_auto_plain.csv || fail "export_ref.py predict"
    fi
    # Against the float model: accuracy within 1 point, 98% of the classes the same, no
    # probability further than 0.05 (the tolerance docs/export.md states).
    pred plain --model pr.h5 --data d.h5 --split val --output p_float.csv >o_float.txt
    local a8 af
    a8=$(acc_of o_auto_plain.txt)
    af=$(acc_of o_float.txt)
    awk -v a="$a8" -v b="$af" 'BEGIN { d = a - b; exit !(d <= 0.01 && d >= -0.01) }' ||
        fail "int8 accuracy $a8 against float $af: more than 1 point apart"
    paste -d, p_float.csv p_auto_plain.csv | awk -F, -v K=4 'NR > 1 {
        n++; same += ($2 == $(K + 4)); for (k = 0; k < K; k++) { d = $(3 + k) - $(K + 5 + k);
        if (d < 0) d = -d; if (d > m) m = d } }
        END { printf "classes agree on %d of %d rows, largest probability change %.4f\n", same, n, m;
              exit !(same >= 0.98 * n && m <= 0.05) }' || fail "int8 predictions too far from the float model's"
    echo "accuracy: float $af, int8 $a8"
    # nn-serve runs the file directly: the same probabilities as nn-predict for a row.
    serve_check
}

# nn-serve --model FILE.nnq: one row of the validation split, its probabilities as nn-predict's.
serve_check() {
    local serve=$build/nn-serve port
    # (the server's startup line, then one request: no fixed wait)
    [ -x "$serve" ] || return 0
    have_h5py || return 0
    "$serve" --model pr_auto.nnq --name m --host 127.0.0.1 --port 0 >serve.log 2>&1 &
    bg=$!
    wait_line serve.log '^nn-serve .* on http://' 60 || { cat serve.log >&2; fail "nn-serve did not start on pr_auto.nnq"; }
    port=$(sed -n 's|^nn-serve .* on http://[0-9.]*:\([0-9]*\).*|\1|p' serve.log)
    /usr/bin/python3 - "$port" <<'EOF' || fail "nn-serve's answer differs from nn-predict's"
import json, sys, urllib.request
import h5py, numpy as np
x = h5py.File("d.h5", "r")["val/x"][3].tolist()
body = json.dumps({"inputs": [{"name": "x", "shape": [1, len(x)], "datatype": "FP32", "data": x}]})
r = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/v2/models/m/infer", body.encode())
out = {o["name"]: o["data"] for o in json.load(r)["outputs"]}
row = open("p_auto_plain.csv").read().splitlines()[4].split(",")
want = [float(v) for v in row[2:]]
d = max(abs(a - b) for a, b in zip(out["probabilities"], want))
assert out["class"][0] == int(row[1]) and d <= 1e-6, (out, row)
print(f"nn-serve on the export: class {out['class'][0]}, probabilities within {d:.1e} of nn-predict's")
EOF
    kill "$bg" && wait "$bg" 2>/dev/null || true
    bg=""
}

# A tabular model (nn-data import-csv with a categorical column): the export carries the
# checkpoint's /encoder and training range, so nn-predict --csv runs raw rows through it.
case_tabular() {
    local i colors=(red green blue)
    { echo "x,color,y"
      for i in $(seq 0 119); do
          echo "$(( (i * 37) % 11 )).5,${colors[$((i % 3))]},$(( (i % 3 == 0 || (i * 37) % 11 > 6) ? 1 : 0 ))"
      done; } >t.csv
    "$nndata" import-csv t.csv --label y -o t.h5 >/dev/null
    mpi_run plain "$train" --data t.h5 --layers 4,16,2 --epochs 20 --batch 16 --checkpoint-dir ck --quiet
    local ck
    ck=$(newest ck)
    pred plain --model "$ck" --export t.nnq --quiet
    pred plain --model "$ck" --csv t.csv --output f.csv >f.txt
    pred plain --model t.nnq --csv t.csv --output q.csv >q.txt
    grep -q "raw rows  t.csv: 120 rows, 2 columns encoded" q.txt || fail "--csv on the export: $(cat q.txt)"
    [ "$(cut -d, -f2 f.csv)" = "$(cut -d, -f2 q.csv)" ] ||
        fail "raw rows through the export are classed otherwise than through the checkpoint"
    have_h5py || return 0
    /usr/bin/python3 - "$ck" <<'EOF' || fail "the export's /encoder or training range differs from the checkpoint's"
import sys, h5py
c, e = h5py.File(sys.argv[1], "r"), h5py.File("t.nnq", "r")
assert c["encoder"][0] == e["encoder"][0]
for n in ("x_min", "x_max"):
    assert c["preprocess"][n][...].tobytes() == e["preprocess"][n][...].tobytes(), n
print("t.nnq: /encoder and /preprocess/x_min, x_max as in the checkpoint; --csv classes as the checkpoint's")
EOF
}

expect_error() {
    local np=$1 want_rc=$2 pattern=$3; shift 3
    set +e
    pred "$np" "$@" >out.txt 2>err.txt
    local rc=$?
    set -e
    [ $rc = "$want_rc" ] || { cat err.txt >&2; fail "np $np $*: exit status $rc; expected $want_rc"; }
    [ "$(grep -c 'error' err.txt)" = 1 ] || { cat err.txt >&2; fail "np $np $*: expected exactly one error line"; }
    grep -q -- "$pattern" err.txt || { cat err.txt >&2; fail "np $np $*: message lacks '$pattern'"; }
    echo "np $np: $(grep error err.txt)"
}

case_bad() {
    "$make_data" blobs d.h5 300 8 3 1 60
    mpi_run plain "$train" --data d.h5 --layers 8,16,3 --epochs 1 --checkpoint-dir ck --quiet
    local ck
    ck=$(newest ck)
    pred plain --model "$ck" --export m.nnq --quiet
    pred plain --model m.nnq --data d.h5 --quiet || fail "the undamaged export does not run"
    head -c $(($(stat -c %s m.nnq) / 2)) m.nnq >trunc.nnq
    cp "$ck" ckpt.nnq
    cp m.nnq flip.nnq
    if have_h5py; then # one code changed in place: only the checksum can tell
        /usr/bin/python3 -c 'import h5py, sys; f = h5py.File("flip.nnq", "r+"); d = f["model/dense_1/kernel_q"]; v = d[0, 0]; d[0, 0] = v + 1 if v < 127 else v - 1'
    fi
    # the damaged files at 1 and 2 ranks (rank 0 reads, every rank exits); the flags at 1
    for np in plain 2; do
        expect_error $np 1 "trunc.nnq: not a readable HDF5 file (truncated or damaged exported model?)" \
            --model trunc.nnq --data d.h5
        if have_h5py; then
            expect_error $np 1 "flip.nnq: checksum does not match the contents (damaged exported model)" \
                --model flip.nnq --data d.h5
        fi
    done
    expect_error plain 1 "ckpt.nnq: not an exported model (no nnq_format attribute" \
        --model ckpt.nnq --data d.h5
    expect_error plain 1 "is an exported model already; export from the checkpoint it came from" \
        --model m.nnq --export again.nnq
    expect_error plain 2 "\-\-export-storage 'dense': expected one of" \
        --model "$ck" --export x.nnq --export-storage dense
    expect_error plain 2 "\-\-export x.nnq writes the model; --output goes with predictions" \
        --model "$ck" --export x.nnq --output p.csv
    expect_error plain 2 "nn-predict needs --data FILE.h5" --model "$ck"
    [ ! -e again.nnq ] && [ ! -e x.nnq ] || fail "a refused export left a file behind"
    ! ls | grep -q '\.tmp$' || fail "a temporary file was left behind"
}

"case_$case_name"
