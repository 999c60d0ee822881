#!/bin/bash
# bench-serve.sh: nn-serve against the Python server a user would otherwise write, side by side
# on loopback (docs/serving.md, "Speed"). A measurement: no pass or fail on speed.
#
#   scripts/bench-serve.sh [--quick] [--duration S] [--model CKPT|DIR] [--data FILE.h5]
#                          [--build DIR] [--serve-only | --python-only]
#                          [--serve-args "FLAGS"] [--kinds "json1 json32 bin32"] [--rounds N]
#
# --model: a checkpoint, or a --checkpoint-dir (its 'latest'); --data: a file with /test rows
# (the request bodies). Both default to out/fashion-mnist/ (scripts/fashion-mnist.sh is run
# when they are absent). --build: where nn-serve is built (default build/, brought up to date).
# --duration: seconds per measurement [10]; --quick: 2 s, a smoke run. --serve-args: flags
# added to nn-serve's (--threads 2, say); --kinds: which request kinds to measure. --rounds N:
# every cell measured N times, in N rounds over all of them [1]; the table then shows each
# cell's medians (requests/s, p50 and p99 each on their own) and its errors summed, so that
# one slow spell of a virtual machine does not decide a cell.
#
# Both servers run at once on 127.0.0.1 (the idle one costs nothing): nn-serve with its
# defaults and --quiet, and scripts/serve_torch.py serve (ThreadingHTTPServer + PyTorch, the
# same checkpoint, the same scaling, the same URLs and answers). Before any timing, the same
# requests go to both and their classes must agree (the script stops if not).
#
# Three request kinds, bodies from the first /test rows: json1 (1 row, OIP v2 JSON), json32
# (32 rows, JSON), bin32 (32 rows in the binary tensor data extension, outputs asked in binary).
# For each kind and concurrency 1, 16, 64: wrk -t1 -cC -dS --latency with one Lua script per
# kind that both servers get, nn-serve first and then Python, so a slow spell of a shared
# machine falls on both alike; before each, both servers are let finish what the previous
# one queued (their CPU time still for 0.2 s). The load generator: one wrk thread, not pinned, so it takes at
# most one core and the server and wrk share the machine's cores as the kernel schedules them;
# the same for both servers (pinning the server to one core and wrk to the other would measure
# the server on half of a 2-core machine). A 1 s warm-up per server and kind is not counted.
# A server that answers the binary request with an error gets "binary: not supported by this
# server" in its rows. Prints the machine, versions and a Markdown table to stdout; progress to
# stderr.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=10
model=""
data=""
build=$root/build
only=""
py=${TORCH_PYTHON:-/usr/bin/python3}
serve_args=""
kinds_arg="json1 json32 bin32"
rounds=1
usage() { sed -n '4,5p' "$0" | sed 's/^# *//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
    --quick) secs=2 ;;
    --duration) secs=${2:?--duration needs seconds}; shift ;;
    --model) model=${2:?--model needs a checkpoint}; shift ;;
    --data) data=${2:?--data needs a file}; shift ;;
    --build) build=${2:?--build needs a directory}; shift ;;
    --serve-only) only=nn-serve ;;
    --serve-args) serve_args=${2?--serve-args needs flags}; shift ;;
    --kinds) kinds_arg=${2:?--kinds needs kinds}; shift ;;
    --rounds) rounds=${2:?--rounds needs a count}; shift ;;
    --python-only) only=python ;;
    -h | --help) usage ;;
    *) echo "bench-serve: unknown argument '$1'; expected the flags at the top of $0" >&2; exit 2 ;;
    esac
    shift
done
say() { echo "bench-serve: $*" >&2; }
die() { echo "bench-serve: error: $*" >&2; exit 1; }
[[ $secs =~ ^[0-9]+$ ]] && [ "$secs" -gt 0 ] || die "--duration $secs; expected whole seconds >= 1"
[[ $rounds =~ ^[0-9]+$ ]] && [ "$rounds" -gt 0 ] || die "--rounds $rounds; expected a count >= 1"
command -v wrk >/dev/null || die "wrk is not installed (scripts/install-deps.sh --bench)"
"$py" -c 'import torch, h5py, numpy' 2>/dev/null ||
    die "$py cannot import torch, h5py and numpy (scripts/install-deps.sh --bench)"

# The model and data: given, or the Fashion-MNIST recipe's (run once when missing).
fm=$root/out/fashion-mnist
if [ -z "$model" ] || [ -z "$data" ]; then
    if [ ! -f "$fm/ckpt/latest" ] || [ ! -f "$fm/fmnist.h5" ]; then
        say "no $fm/ckpt/latest or fmnist.h5: running scripts/fashion-mnist.sh"
        "$root/scripts/fashion-mnist.sh" "$fm" >&2
    fi
    model=${model:-$fm/ckpt}
    data=${data:-$fm/fmnist.h5}
fi
[ ! -d "$model" ] || model=$model/$(cat "$model/latest") ||
    die "$model: a directory without 'latest'; expected a checkpoint or a --checkpoint-dir"
[ -f "$model" ] || die "--model $model: no such file"
[ -f "$data" ] || die "--data $data: no such file"

# nn-serve, built or brought up to date (it changes often; an incremental build is quick)
if [ -f "$build/CMakeCache.txt" ]; then
    cmake --build "$build" --target nn-serve nn-train sgemm_ceiling serve_parse -j "$(nproc)" >/dev/null
else
    say "building in $build"
    "$root/scripts/build.sh" "$build" >&2
fi
serve=$build/nn-serve

load0=$(cut -d' ' -f1-3 /proc/loadavg) # the machine may be shared: say how busy it was
work=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
export OPENBLAS_NUM_THREADS=1 # as nn-serve documents: one BLAS thread per request
# PyTorch loads the same OpenBLAS: give it the kernels nn-serve chooses (scripts/blas-coretype.sh)
coretype=$("$root/scripts/blas-coretype.sh" "$build")
[ -z "$coretype" ] || export OPENBLAS_CORETYPE=$coretype

# start SERVER CMD...: starts a server in the background, logging to $work/SERVER.log, waits (at
# most 60 s) for its startup line "... on http://HOST:PORT", sets url[SERVER], then polls
# /v2/health/ready (at most 30 s).
start() {
    local s=$1 log=$work/$1.log i u
    shift
    "$@" >"$log" 2>&1 &
    pids+=($!)
    for ((i = 0; i < 600; i++)); do
        grep -q ' on http://' "$log" && break
        kill -0 "${pids[-1]}" 2>/dev/null || die "$1 exited before listening: $(tail -3 "$log")"
        sleep 0.1 # polling for the line, bounded by the loop
    done
    u=$(grep -o ' on http://[0-9.]*:[0-9]*' "$log" | head -1 | sed 's/ on //')
    [ -n "$u" ] || die "$s printed no address in 60 s: $(tail -3 "$log")"
    for ((i = 0; i < 300; i++)); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$u/v2/health/ready")" = 200 ] && break
        sleep 0.1
    done
    [ "$i" -lt 300 ] || die "$u/v2/health/ready did not answer 200 within 30 s"
    url[$s]=$u
    servers+=("$s")
    say "$(head -1 "$log")"
}
# stop PID: SIGTERM and wait; both servers exit 0 on SIGTERM.
stop() {
    local rc=0
    kill -TERM "$1"
    wait "$1" || rc=$?
    [ "$rc" = 0 ] || say "warning: server $1 exited $rc after SIGTERM"
}

name=fmnist
servers=()
declare -A url=()
# shellcheck disable=SC2086 # serve_args: flags, split on purpose
[ "$only" = python ] || start nn-serve "$serve" --model "$model" --name $name \
    --host 127.0.0.1 --port 0 --quiet $serve_args
[ "$only" = nn-serve ] || start python "$py" "$root/scripts/serve_torch.py" serve \
    --model "$model" --name $name --host 127.0.0.1 --port 0

# The bodies, then the same requests to every server: the same classes, or stop here.
"$py" "$root/scripts/serve_torch.py" bodies "$data" "$work/b"
urls=()
for s in "${servers[@]}"; do urls+=("${url[$s]}"); done
same=$("$py" "$root/scripts/serve_torch.py" same $name "$work/b" "${urls[@]}" 2>&1) ||
    die "the servers disagree before timing: $same"
say "${same//$'\n'/; }"
declare -A skip=()
for s in "${servers[@]}"; do
    grep -q "^unsupported bin32 ${url[$s]}:" <<<"$same" && skip[$s:bin32]=1
done

read -r -a kinds <<<"$kinds_arg"
for k in "${kinds[@]}"; do
    case $k in json1 | json32 | bin32) ;; *) die "--kinds: '$k'; expected json1, json32, bin32" ;; esac
done
declare -A rows=([json1]=1 [json32]=32 [bin32]=32)
for k in "${kinds[@]}"; do
    {
        echo "-- $k: POST with the body of $work/b/$k (the URL carries the path)"
        echo "local f = assert(io.open(\"$work/b/$k\", \"rb\"))"
        echo 'wrk.body = f:read("*a")'
        echo 'f:close()'
        echo 'wrk.method = "POST"'
        echo 'wrk.headers["Content-Type"] = "application/json"'
        [ "$k" != bin32 ] ||
            echo "wrk.headers[\"Inference-Header-Content-Length\"] = \"$(cat "$work/b/bin32.hlen")\""
    } >"$work/$k.lua"
done

# measure SERVER KIND C SECONDS: wrk's figures as "requests/s p50_ms p99_ms errors", errors
# being non-2xx answers plus socket errors (a 10 s timeout, so that slow answers are timed
# rather than dropped).
measure() {
    local out
    out=$(wrk -t1 -c "$3" -d "${4}s" --timeout 10s --latency -s "$work/$2.lua" \
        "${url[$1]}/v2/models/$name/infer") || die "wrk against $1 failed: $out"
    awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                          if (v ~ /m$/) return v * 60000; return v * 1000 }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { err += $NF }
        /Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
        END { printf "%s %.3f %.3f %d\n", rps, p50, p99, err }' <<<"$out"
}

# settle: waits until every server has stopped using the CPU (its user + system time the same
# over 0.2 s; at most 10 s): a server still working through the requests queued in the cell
# before would take cores from the next cell's server.
settle() {
    local p t0 t1 i
    for p in "${pids[@]}"; do
        for ((i = 0; i < 50; i++)); do
            t0=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || break
            sleep 0.2 # sampling the counter, not a delay a figure depends on
            t1=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || break
            [ "$t0" != "$t1" ] || break
        done
    done
}

declare -A fig=() runs=()
for ((r = 1; r <= rounds; r++)); do
    for k in "${kinds[@]}"; do
        for s in "${servers[@]}"; do
            [ -z "${skip[$s:$k]:-}" ] || continue
            measure "$s" "$k" 16 1 >/dev/null # warm-up, not counted
        done
        for c in 1 16 64; do
            for s in "${servers[@]}"; do
                [ -z "${skip[$s:$k]:-}" ] || continue
                settle
                m=$(measure "$s" "$k" "$c" "$secs")
                say "$s $k c$c (${secs} s, round $r of $rounds): requests/s p50 p99 errors: $m"
                runs[$s:$k:$c]+="$m"$'\n'
            done
        done
    done
done
# a cell's figure: the median of its rounds per column (errors: the sum)
for key in "${!runs[@]}"; do
    fig[$key]=$(printf '%s' "${runs[$key]}" | awk '
        { for (c = 1; c <= 3; c++) v[c, NR] = $c; e += $4 }
        END { for (c = 1; c <= 3; c++) {
                  for (i = 1; i <= NR; i++) a[i] = v[c, i];
                  for (i = 2; i <= NR; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
                      t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
                  m[c] = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }
              printf "%s %.3f %.3f %d\n", m[1], m[2], m[3], e }')
done
# The HTTP floor: nn-serve's health check (no body, no model) one request at a time.
floor=""
if [ -n "${url[nn-serve]:-}" ]; then
    floor=$(wrk -t1 -c1 -d "${secs}s" --latency "${url[nn-serve]}/v2/health/ready" |
        awk '/^Requests\/sec:/ { r = $2 } $1 == "50%" { p = $2 } END { print r, p }')
fi
for s in "${servers[@]}"; do
    stop "${pids[0]}"
    pids=("${pids[@]:1}")
done
# The parse alone (tests/tools/serve_parse): the JSON bodies as nn-serve reads them.
parse=""
if [ "$only" != python ]; then
    d=$(sed -n 's/.*(\([0-9]*\)-[0-9-]* [a-z]*, .*/\1/p' "$work/nn-serve.log" | head -1)
    for k in json1 json32; do
        parse+="$k $("$build/tests/tools/serve_parse" "$work/b/$k" "$d" |
            sed -n 's/.*best_parse_us=\([0-9.]*\).*/\1/p') us; "
    done
fi

# The ceiling: the model's inference pass alone (nn_forward, the products, bias and
# activations; no HTTP, parsing, softmax or answer), one thread, 1 and 32 rows at a time.
layers=$(sed -n 's/.*(\([0-9-]*\) [a-z]*, .*/\1/p' "$work/nn-serve.log" | head -1 | tr - ,)
declare -A ceil=()
if [ -n "$layers" ] && [ "$only" != python ]; then
    for r in 1 32; do
        ceil[$r]=$("$build/tests/tools/sgemm_ceiling" --forward "$layers" "$r" 1 |
            sed -n 's/.* samples_per_sec=\([0-9.]*\) .*/\1/p')
    done
fi

# The report: machine, versions, settings, the table, then the issue's targets.
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)
echo "machine: $(nproc) cores, $cpu, Linux $(uname -r); load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "BLAS: OpenBLAS's ${OPENBLAS_CORETYPE:-own choice of} kernels for both servers (OPENBLAS_CORETYPE${OPENBLAS_CORETYPE:+=$OPENBLAS_CORETYPE})"
echo "versions: $("$serve" --version 2>&1 | head -1) (libmicrohttpd $(ver libmicrohttpd12), jsmn $(ver libjsmn-dev), OpenBLAS $(ver libopenblas0-pthread)); Python $("$py" -c 'import platform; print(platform.python_version())'), torch $("$py" -c 'import torch; print(torch.__version__)'), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "model: $model ($(sed -n 's/.*(\(.*\)) version \([0-9]*\) on .*/\1, version \2/p' "$work/${servers[0]}.log" | head -1))"
echo "nn-serve: defaults (--threads and --model-threads = cores, --max-batch 1024, --batch-delay-us 0) and --quiet${serve_args:+ $serve_args};" \
    "python: scripts/serve_torch.py, ThreadingHTTPServer, HTTP/1.1 keep-alive, torch 1 intra-op thread, no access log"
echo "load: wrk -t1 -cC -d${secs}s --latency, 1 thread, not pinned (server and wrk share the cores);" \
    "one fixed body per kind, from the first /test rows; both servers measured in turn per cell$([ "$rounds" = 1 ] || echo "; medians of $rounds rounds over every cell (errors summed)")"
echo
echo "| server | request | concurrency | requests/s | rows/s | p50 ms | p99 ms | errors | nn-serve / Python |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for k in "${kinds[@]}"; do
    for c in 1 16 64; do
        for s in "${servers[@]}"; do
            if [ -n "${skip[$s:$k]:-}" ]; then
                echo "| $s | $k | $c | binary: not supported by this server | | | | | |"
                continue
            fi
            read -r rps p50 p99 err <<<"${fig[$s:$k:$c]}"
            ratio=-
            if [ "$s" = nn-serve ] && [ -n "${fig[python:$k:$c]:-}" ]; then
                ratio=$(awk -v a="$rps" -v b="${fig[python:$k:$c]%% *}" \
                    'BEGIN { if (b > 0) printf "%.1fx", a / b; else printf "-" }')
            fi
            awk -v s="$s" -v k="$k" -v c="$c" -v r="$rps" -v n="${rows[$k]}" -v p50="$p50" \
                -v p99="$p99" -v e="$err" -v x="$ratio" 'BEGIN {
                printf "| %s | %s | %d | %.0f | %.0f | %.3f | %.3f | %d | %s |\n",
                    s, k, c, r, r * n, p50, p99, e, x }'
        done
    done
done
echo
if [ -n "${fig[nn-serve:json1:16]:-}" ]; then
    read -r rps _ p99 _ <<<"${fig[nn-serve:json1:16]}"
    best=0
    for c in 1 16 64; do
        [ -z "${fig[nn-serve:bin32:$c]:-}" ] || best=$(awk -v a="$best" -v b="${fig[nn-serve:bin32:$c]%% *}" \
            'BEGIN { print (b * 32 > a ? b * 32 : a) }')
    done
    awk -v r="$rps" -v p="$p99" -v b="$best" 'function m(ok) { return ok ? "met" : "not met" }
        BEGIN { printf "targets (issue 13, on 2 cores): json1 at c16 %.0f requests/s (>= 10000: %s), p99 %.3f ms (<= 3: %s); bin32 best %.0f rows/s (>= 150000: %s)",
            r, m(r >= 10000), p, m(p <= 3), b, m(b >= 150000) }'
    if [ "$only" = "" ] && [ -n "${fig[python:json1:16]:-}" ]; then
        # the 10x target at the first target's operating point (one-row JSON, 16 connections):
        # at one connection both servers wait on the loopback round trip (the HTTP floor line)
        awk -v a="$rps" -v b="${fig[python:json1:16]%% *}" 'BEGIN { if (b > 0)
            printf "; json1 at c16 %.1fx the Python server (>= 10: %s)", a / b, (a / b >= 10 ? "met" : "not met") }'
    fi
    if [ "$only" = "" ]; then
        for k in "${kinds[@]}"; do for c in 1 16 64; do
            [ -z "${fig[nn-serve:$k:$c]:-}" ] || [ -z "${fig[python:$k:$c]:-}" ] ||
                echo "${fig[nn-serve:$k:$c]%% *} ${fig[python:$k:$c]%% *}"
        done; done | awk '$2 > 0 { x = $1 / $2; if (!n++ || x < lo) lo = x }
            END { if (n) printf "; smallest nn-serve / Python ratio of any cell %.1fx", lo }'
    fi
    echo
    [ -z "$floor" ] || echo "HTTP floor: GET /v2/health/ready one request at a time: ${floor% *} requests/s, p50 ${floor#* }"
    [ -z "$parse" ] || echo "parse alone (tests/tools/serve_parse, best of 5 rounds): ${parse%; }"
    if [ -n "${ceil[32]:-}" ]; then
        awk -v c1="${ceil[1]}" -v c32="${ceil[32]}" -v n="$(nproc)" -v r="$rps" -v b="$best" 'BEGIN {
            printf "ceiling: the inference pass alone (tests/tools/sgemm_ceiling --forward, 1 thread) %.0f rows/s 1 row at a time, %.0f rows/s 32 at a time; %d cores at most %dx that: json1 at c16 is %.0f%% and bin32 best %.0f%% of it\n",
                c1, c32, n, n, 100 * r / (n * c1), 100 * b / (n * c32) }'
    fi
fi
