#!/bin/bash
# e2e_serve_fmnist.sh: the Fashion-MNIST test set through a running nn-serve gives nn-predict's
# answers (issue 13, "Tested for real").
#   e2e_serve_fmnist.sh fmnist BUILD_DIR
# Imports Debian's dataset-fashion-mnist (FMNIST_DIR, default /usr/share/datasets/fashion-mnist)
# with nn-data, trains a small model (784-64-10, 1 epoch), runs nn-predict on the 10,000 test
# images, serves the checkpoint directory as the recipe does (--model-dir), and sends every test
# image through /v2/models/NAME/infer as JSON, the same with the binary tensor data extension,
# and /v1/models/NAME:predict (tests/serve_fmnist.py: requests of 250 rows, 4 clients at once),
# then the first 500 images one per request (a row alone in a forward pass, where BLAS takes
# other kernels: nn_gemm_plan). Every class must equal nn-predict's and every probability to
# 1e-6 of the row's largest, and so the accuracy.
# All three protocols run even when one fails; the test fails naming each that did.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "$2" e2e-serve-
fm=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
[ -f "$fm/t10k-images-idx3-ubyte.gz" ] ||
    skip "no Fashion-MNIST in $fm (apt-get install dataset-fashion-mnist, or set FMNIST_DIR)"
need_h5py

"$nndata" import-idx --images "$fm/train-images-idx3-ubyte.gz" \
    --labels "$fm/train-labels-idx1-ubyte.gz" --test-images "$fm/t10k-images-idx3-ubyte.gz" \
    --test-labels "$fm/t10k-labels-idx1-ubyte.gz" -o fm.h5 >import.log 2>&1 ||
    fail "nn-data import-idx: $(cat import.log)"
run_np plain --data fm.h5 --layers 784,64,10 --epochs 1 --seed 7 --checkpoint-dir ck --quiet ||
    fail "nn-train"
mpi_run plain "$predict" --model "ck/$(cat ck/latest)" --data fm.h5 --split test --output p.csv \
    >predict.log 2>&1 || fail "nn-predict: $(cat predict.log)"
# "result /test: 10000 samples  loss ... accuracy 0.8522 (8522/10000)": the correct count
correct=$(sed -n 's|^result .*accuracy [0-9.]* (\([0-9]*\)/10000).*|\1|p' predict.log)
[ -n "$correct" ] || fail "no accuracy over 10000 rows in nn-predict's result line: $(cat predict.log)"
say "$(grep '^result ' predict.log)"

"$build/nn-serve" --model-dir ck --name fmnist --host 127.0.0.1 --port 0 --threads 4 --quiet \
    >serve.log 2>&1 &
bg=$!
until grep -q '^nn-serve .* on http://' serve.log 2>/dev/null; do
    kill -0 "$bg" 2>/dev/null || fail "nn-serve exited before listening: $(cat serve.log)"
    sleep 0.05 # polling for the startup line, not a delay the test depends on
done
url=$(sed -n 's|.* on \(http://[0-9.]*:[0-9]*\).*|\1|p' serve.log)
say "$(head -1 serve.log)"

failed=()
for mode in json binary tf; do
    /usr/bin/python3 "$here/serve_fmnist.py" "$url" fmnist fm.h5 test p.csv "$correct" "$mode" ||
        failed+=("$mode")
done
/usr/bin/python3 "$here/serve_fmnist.py" "$url" fmnist fm.h5 test p.csv "$correct" json 1 4 500 ||
    failed+=("json-single-rows")

kill -TERM "$bg"
rc=0
wait "$bg" || rc=$?
bg=""
[ "$rc" = 0 ] || failed+=("nn-serve exited $rc after SIGTERM: $(tail -3 serve.log)")
[ ${#failed[@]} = 0 ] || fail "the test set through nn-serve differs from nn-predict: ${failed[*]}"
