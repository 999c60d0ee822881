#!/bin/bash
# e2e_serve.sh: end-to-end tests of nn-serve against a running server (docs/serving.md).
#   e2e_serve.sh CASE BUILD_DIR     CASE: endpoints concurrency sigterm auth bad_input live_update
# Each case trains a small model, starts its own server on 127.0.0.1 with --port 0, reads the
# port from the startup line, and talks to it with curl and Python's urllib (serve_client.py).
set -euo pipefail

. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "$2" e2e-serve-
serve=$build/nn-serve
client=$here/serve_client.py
need_h5py
command -v curl >/dev/null || skip "curl is not installed"

# model KIND: trains a classifier (c) or a regressor with target scaling (r); sets ck and data.
model() {
    if [ "$1" = c ]; then
        "$make_data" blobs d.h5 600 12 3 4 120 3.0
        run_np plain --data d.h5 --layers 12,32,3 --epochs 3 --checkpoint-dir ck --quiet
    else
        "$make_data" regress d.h5 600 10 2 6
        "$make_data" regress v.h5 150 10 2 7
        "$tool" copy-split v.h5 train d.h5 val
        run_np plain --data d.h5 --layers 10,24,2 --activation tanh --epochs 3 \
            --checkpoint-dir ck --quiet
    fi
    ck=$(newest ck)
    data=d.h5
    mpi_run plain "$predict" --model "$ck" --data d.h5 --split val --output p.csv --quiet
}

# start ARGS...: starts nn-serve in the background ($bg) and waits for its startup line (or
# its exit); sets url, name, version.
start() {
    local src=(--model "$ck")
    [ -z "${follow:-}" ] || src=(--model-dir "$follow")
    # The previous server's log goes first: the new one truncates it only once its process
    # runs, and until then the wait below would read the old startup line.
    rm -f serve.log
    "$serve" "${src[@]}" --host 127.0.0.1 --port 0 "$@" >serve.log 2>&1 &
    bg=$!
    until grep -q '^nn-serve .* on http://' serve.log 2>/dev/null; do
        kill -0 "$bg" 2>/dev/null || fail "nn-serve exited before listening: $(cat serve.log)"
        sleep 0.05 # polling for the line, not a delay the test depends on
    done
    line=$(grep '^nn-serve .* on http://' serve.log)
    url=$(sed -n 's|.* on \(http://[0-9.]*:[0-9]*\).*|\1|p' <<<"$line")
    name=$(sed -n 's|.*: model \([^ ]*\) .*|\1|p' <<<"$line")
    version=$(sed -n 's|.* version \([0-9]*\) on .*|\1|p' <<<"$line")
    url=${url%,}
    say "$line"
}
# stop: SIGTERM, and the server must exit 0.
stop() {
    kill -TERM "$bg"
    local rc=0
    wait "$bg" || rc=$?
    bg=""
    [ "$rc" = 0 ] || fail "nn-serve exited $rc after SIGTERM: $(tail -5 serve.log)"
}
py() { /usr/bin/python3 "$client" "$@" || fail "serve_client.py $1"; }

case_endpoints() {
    for kind in c r; do
        rm -rf ck
        model $kind
        start --threads 2
        py endpoints "$url" "$name" "$version" "$data" val p.csv
        # curl: the same as urllib, and the version header
        curl -sf "$url/v2/health/live" -o /dev/null || fail "curl live"
        curl -sf "$url/v2/models/$name" | grep -q "\"versions\":\[\"$version\"\]" ||
            fail "curl model metadata"
        row=$(/usr/bin/python3 -c "import h5py; print(','.join('%.9g' % v for v in h5py.File('d.h5')['val/x'][0]))")
        curl -sf -D h.txt "$url/v1/models/$name:predict" -d "{\"instances\": [[$row]]}" >a.json ||
            fail "curl :predict"
        grep -qi "^NN-Model-Version: $version" h.txt || fail "no version header: $(cat h.txt)"
        grep -q '"predictions":\[' a.json || fail "curl :predict: $(cat a.json)"
        grep -q '^POST /v1/models/.*:predict 200' serve.log || fail "no access log line"
        stop
    done
}

case_concurrency() {
    model c
    start --threads 4
    py concurrency "$url" "$name" "$data" val p.csv 32
    stop
    # --max-connections over all workers (the acceptor hands each to the least loaded)
    start --threads 2 --max-connections 3
    py limit "$url" 3
    stop
}

case_sigterm() {
    # Clients send large requests in a loop; SIGTERM arrives while they are in flight. Every
    # request the server accepted is answered 200; later ones find no listener (curl exit 7,
    # or 56 for one that sat in the listen backlog, never accepted, when the listener closed).
    model c
    start --threads 2 --quiet --max-batch 100000
    /usr/bin/python3 -c "
import h5py, json, numpy as np
x = np.tile(np.asarray(h5py.File('d.h5')['val/x']), (200, 1))
json.dump({'inputs': [{'name': 'x', 'shape': list(x.shape), 'datatype': 'FP32', 'data': x.ravel().tolist()}]}, open('big.json', 'w'))"
    for k in 1 2 3 4 5 6; do
        (for j in $(seq 1 200); do
            rc=0
            code=$(curl -s -o "o$k.json" -w '%{http_code}' --data-binary @big.json \
                   "$url/v2/models/$name/infer") || rc=$?
            echo "$rc $code" >>"c$k.txt"
            [ "$rc" = 7 ] && break
            [ "$code" = 200 ] && echo >>started
        done) &
    done
    until [ "$(cat started 2>/dev/null | wc -l)" -ge 6 ]; do sleep 0.05; done
    stop
    wait
    if grep -hv '^0 200$' c*.txt | grep -Ev '^(7|56) 000$' >bad.txt; then
        fail "requests lost at SIGTERM (curl status, HTTP code): $(sort bad.txt | uniq -c)"
    fi
    echo "$(cat c*.txt | grep -c '^0 200$') requests answered 200, the rest refused after the stop"
}

case_auth() {
    model c
    printf 'secret-key-0123456789\n' >key.txt
    start --api-key-file key.txt
    py auth "$url" "$name" secret-key-0123456789
    curl -s -o /dev/null -w '%{http_code}' "$url/v2" | grep -q 401 || fail "curl without key"
    curl -sf -H 'Authorization: Bearer secret-key-0123456789' "$url/v2" >/dev/null ||
        fail "curl with the key"
    stop
}

# until_log PATTERN WHAT: waits for a line in serve.log (or the server's exit).
until_log() {
    until grep -q "$1" serve.log; do
        kill -0 "$bg" 2>/dev/null || fail "nn-serve exited while waiting for $2: $(tail -5 serve.log)"
        sleep 0.05 # polling for the line
    done
}
# metric NAME_AND_LABELS: one value from /metrics.
metric() { curl -sf "$url/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
# point FILE: makes ck/latest name FILE the way nn-train does (a rename).
point() { echo "$1" >ck/latest.tmp && mv ck/latest.tmp ck/latest; }

stop_clients() { touch "$loadstop"; }
case_live_update() {
    # nn-train writes new checkpoints into the directory the server follows while 8 clients
    # keep it busy: not one request fails, each client sees the versions only go up, and the
    # server ends on the last checkpoint. Then a damaged checkpoint and one of another shape
    # are refused with one line each, and the old model keeps serving.
    model c
    "$make_data" regress r.h5 200 10 2 6
    run_np plain --data r.h5 --layers 10,8,2 --epochs 1 --checkpoint-dir other --quiet
    follow=ck start --quiet
    [ "$name" = ck ] || fail "--model-dir ck serves '$name'; expected the directory's name, ck"
    /usr/bin/python3 "$here/serve_load.py" "$url" "$name" d.h5 stop load.json 8 &
    load=$!
    loadstop=$PWD/stop
    nn_on_exit stop_clients
    until [ "$(metric 'nn_serve_requests_total{endpoint="infer",code="200"}')" -gt 20 ] 2>/dev/null; do
        kill -0 "$load" 2>/dev/null || fail "the clients stopped early: $(cat load.json)"
        sleep 0.05 # polling the metrics
    done
    run_np plain --data d.h5 --layers 12,32,3 --epochs 9 --checkpoint-dir ck --resume auto --quiet
    last=$(sed -n 's/.*-s0*\([0-9]*\)\.h5$/\1/p' ck/latest)
    until_log "now serving ck version $last " "the last checkpoint (version $last)"
    echo "not a checkpoint" >ck/ckpt-e000090-s000009000.h5
    point ckpt-e000090-s000009000.h5
    until_log "refused a new model: .*ckpt-e000090" "the damaged checkpoint's refusal"
    cp "$(newest other)" ck/ckpt-e000091-s000009100.h5
    point ckpt-e000091-s000009100.h5
    until_log "refused a new model: it takes 10 inputs" "the other shape's refusal"
    got=$(curl -sf -o /dev/null -D - "$url/v2/models/ck" | tr -d '\r' | sed -n 's/^NN-Model-Version: //p')
    [ "$got" = "$last" ] || fail "after the refusals the server answers as version '$got'; expected $last"
    touch stop
    wait "$load" || fail "requests failed during the updates: $(cat load.json)"
    /usr/bin/python3 - "$last" "$version" <<'PY' || fail "versions: $(cat load.json)"
import json, sys
last, first = int(sys.argv[1]), int(sys.argv[2])
r = json.load(open("load.json"))
assert r["failed"] == 0, r["failures"]
seen = set()
for runs in r["versions"]:
    vs = [v for v, _ in runs]
    assert vs == sorted(vs), f"a client saw versions go back: {vs}"
    seen.update(vs)
assert first in seen and last in seen and len(seen) >= 2, f"versions seen {sorted(seen)}"
print(f"[live_update] {r['requests']} requests, 0 failed, versions {sorted(seen)}")
PY
    [ "$(metric 'nn_serve_reloads_total{result="refused"}')" = 2 ] ||
        fail "refused reloads in /metrics: $(metric 'nn_serve_reloads_total{result="refused"}'); expected 2"
    [ "$(metric nn_serve_model_version)" = "$last" ] || fail "nn_serve_model_version is not $last"
    [ "$(grep -c 'refused a new model' serve.log)" = 2 ] || fail "expected 2 refusal lines: $(cat serve.log)"
    stop
}

case_bad_input() {
    model c
    start --max-body 200000 --max-batch 50
    py bad "$url" "$name" "$here/serve_bad.cases"
    stop
}

"case_$case_name"
