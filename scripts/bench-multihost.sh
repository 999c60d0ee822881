#!/bin/bash
# bench-multihost.sh: nn-train across 2 and 3 emulated hosts on links shaped to 1 and 10
# Gbit/s; the alpha-beta cost model of the gradient sum fitted to it, checked against it, and
# projected to 8-256 hosts (docs/performance.md, "Emulated networks"). Root only.
#
#   scripts/bench-multihost.sh [--quick] [OPTIONS] [BUILD_DIR]     (BUILD_DIR: build/)
#
#   --hosts "2 3"              host counts to run (2-8; --quick: "2")
#   --rates "1gbit 10gbit"     link rates, in tc's units (Nmbit or Ngbit)
#   --ranks-per-host N         ranks on each host [1]
#   --models "fmnist large"    fmnist = 784-256-128-10 at 128 samples per rank and step,
#                              large = 784-1024-1024-1024-10 at 256 (scripts/bench.sh's models)
#   --configs "NAME:FLAGS;..." nn-train flags per configuration, compared side by side; the
#                              first is the baseline the alpha-beta fit is measured with.
#                              Default: "plain:--grad-overlap off;overlap:--grad-overlap on;
#                              bf16:--grad-overlap off --grad-compression bf16;
#                              overlap+bf16:--grad-overlap on --grad-compression bf16"
#   --quick                    a smoke run: 2 hosts, short runs (about 2 minutes)
#
# Each "host" is a network namespace with its own host name (UTS namespace) and its own
# /dev/shm, as in tests/e2e_cluster.sh's case_multihost, on a bridge in a namespace of its
# own ("the switch"); mpirun starts in host 1 and reaches the others through an rsh agent
# that stands in for ssh. Each host's link is shaped by tc's tbf in both directions (see
# shape() for burst and latency). The script:
# 1. measures each shaped link with scripts/linkprobe.py (plain TCP): a stream for the rate,
#    beside the configured one, and a ping-pong at 1 B (alpha) and 1 and 4 MiB (beta);
# 2. times nn-train on 1 host (the weak-scaling reference) to size every run: the data set
#    and the number of epochs, so each run lasts a few seconds whatever the link;
# 3. fits alpha (s per message) and beta (s per byte) of nn-train's own gradient sum between
#    hosts: runs of 1,K,1 models (next to no compute, so nothing else is timed) of 4, 0.1 M
#    and 3 M parameters on every host count, under the first configuration's flags, and the ring
#    allreduce model  S(H, n) = 2 (H-1) alpha + 2 (H-1)/H n beta  (n: bytes of the gradient:
#    4 per parameter, 2 with --grad-compression bf16) by least squares on the relative error;
# 4. runs both models on 1 host and on each host count, link rate and configuration, weak
#    scaling (the same batch per rank: the global batch grows with the hosts), and reads
#    nn-train's --metrics: samples/s, the step, the gradient sum with its waits (allreduce_s,
#    rank 0; allreduce_max_s, the rank that waited most), epochs 2.. (epoch 1 is warm-up);
# 5. prints Markdown tables: the links, the runs, measured beside predicted sum, and the
#    model's projection to 8-256 hosts. Progress goes to stderr, the tables to stdout.
#
# All hosts share this machine's cores: 3 hosts x 1 rank on 2 cores compute slower than 3
# real hosts would, and compete with the network stack for the CPU. The fit is about the
# network part; the projection uses the compute time of the 1-host run. No timed assertions.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmdline="scripts/bench-multihost.sh${*:+ $*}"

die() { echo "bench-multihost: $*" >&2; exit 2; }
say() { echo "bench-multihost: $*" >&2; }

# ---- arguments -----------------------------------------------------------------------------
quick=0
hosts_list=""
rates="1gbit 10gbit"
rph=1
models="fmnist large"
configs="plain:--grad-overlap off;overlap:--grad-overlap on;bf16:--grad-overlap off --grad-compression bf16;overlap+bf16:--grad-overlap on --grad-compression bf16"
build=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --hosts | --rates | --ranks-per-host | --models | --configs)
        [ $# -ge 2 ] || die "$1 needs a value"
        case "$1" in
        --hosts) hosts_list=$2 ;;
        --rates) rates=$2 ;;
        --ranks-per-host) rph=$2 ;;
        --models) models=$2 ;;
        --configs) configs=$2 ;;
        esac
        shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [ -z "$build" ] || die "one build directory only, not '$build' and '$1'"
       build=$1 ;;
    esac
    shift
done
build=${build:-$root/build}
[ -n "$hosts_list" ] || { [ "$quick" = 1 ] && hosts_list="2" || hosts_list="2 3"; }
for h in $hosts_list; do
    [[ $h =~ ^[2-8]$ ]] || die "--hosts: '$h' is not a host count from 2 to 8"
done
[[ $rph =~ ^[1-4]$ ]] || die "--ranks-per-host: '$rph' is not a number from 1 to 4"
[ -n "${rates// /}" ] || die "--rates: no rate given"
for r in $rates; do
    [[ $r =~ ^[1-9][0-9]*[mg]bit$ ]] || die "--rates: '$r' is not a rate like 1gbit or 500mbit"
done
[ -n "${models// /}" ] || die "--models: no model given"
for m in $models; do
    case "$m" in fmnist | large) ;; *) die "--models: '$m' is not fmnist or large" ;; esac
done
cfg_names=() cfg_flags=()
IFS=';' read -r -a specs <<<"$configs"
for s in "${specs[@]}"; do
    [ -n "${s// /}" ] || continue
    [[ $s == *:* ]] || die "--configs: '$s' is not NAME:FLAGS"
    name=${s%%:*} flags=${s#*:}
    name=${name// /}
    [[ $name =~ ^[A-Za-z0-9._+-]+$ ]] || die "--configs: bad configuration name '$name'"
    # the flags pass through sh -c on the hosts: plain words only
    [[ $flags =~ ^[A-Za-z0-9\ ._=,:/+-]*$ ]] || die "--configs: '$flags' holds a character other than letters, digits, space and ._=,:/+-"
    for n in "${cfg_names[@]}"; do [ "$n" != "$name" ] || die "--configs: '$name' given twice"; done
    cfg_names+=("$name")
    cfg_flags+=("$flags")
done
[ "${#cfg_names[@]}" -gt 0 ] || die "--configs: no configuration given"

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, tc, mounts)"
for t in ip tc unshare mpirun python3 hostname; do
    command -v "$t" >/dev/null || die "needs $t (iproute2 for ip and tc, util-linux for unshare, openmpi-bin, python3)"
done
if [ ! -x "$build/nn-train" ] || [ ! -x "$build/tests/tools/make_data" ]; then
    say "building in $build"
    "$root/scripts/build.sh" "$build" >&2
fi
train=$build/nn-train
make_data=$build/tests/tools/make_data
probe=(python3 "$root/scripts/linkprobe.py")

export OPENBLAS_NUM_THREADS=1 OMPI_MCA_pml=ob1 OMPI_MCA_rmaps_base_oversubscribe=1 \
    OMPI_MCA_mpi_yield_when_idle=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
t_start=$SECONDS
cores=$(nproc)
hmax=0
for h in $hosts_list; do [ "$h" -gt "$hmax" ] && hmax=$h; done

# seconds of measured steps per run, and the length of an epoch on 1 host
# and the fewest steps an epoch has at the largest host count
if [ "$quick" = 1 ]; then measure_s=0.6 epoch_s=0.3 min_steps=4 ping_reps=20
else measure_s=4 epoch_s=1.0 min_steps=8 ping_reps=50; fi

calc() { awk "BEGIN { printf \"$1\", ($2) }"; }
params_of() { awk -F, '{ n = 0; for (i = 1; i < NF; i++) n += $i * $(i + 1) + $(i + 1); print n }' <<<"$1"; }
bytes_per_param() { [[ " $1 " == *" --grad-compression bf16 "* ]] && echo 2 || echo 4; }
overlapped() { [[ " $1 " == *" --grad-overlap off "* ]] && echo 0 || echo 1; }

# ---- the emulated hosts --------------------------------------------------------------------
tag=nnbm$$
work=$(mktemp -d /tmp/bench-multihost.XXXXXX)
made_ns=()
cleanup() {
    local rc=$? ns p
    trap - EXIT INT TERM
    # every process started inside our namespaces (mpirun, orted, ranks, the probe server)
    for ns in "${made_ns[@]}"; do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done
    done
    for ns in "${made_ns[@]}"; do
        # bounded: give them 5 s to go, then SIGKILL what is left (polls, not a fixed wait)
        for _ in $(seq 50); do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break; sleep 0.1; done
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true # takes the veths and the bridge with it
    done
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip_of() { echo "10.78.0.$1"; }
sw=${tag}sw
ip netns add "$sw" 2>/dev/null || die "cannot create a network namespace (no CAP_SYS_ADMIN?)"
made_ns+=("$sw")
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set br0 up
for ((i = 1; i <= hmax; i++)); do
    ns=${tag}h$i
    ip netns add "$ns"
    made_ns+=("$ns")
    # eth0 in the host, nb<pid>s<i> on the switch (15 characters at most)
    ip link add "nb$$h$i" type veth peer name "nb$$s$i"
    ip link set "nb$$h$i" netns "$ns"
    ip link set "nb$$s$i" netns "$sw"
    ip -n "$ns" link set "nb$$h$i" name eth0
    ip -n "$sw" link set "nb$$s$i" master br0
    ip -n "$ns" addr add "$(ip_of "$i")/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip -n "$sw" link set "nb$$s$i" up
done

# Shapes every host's link to RATE in both directions: the host's eth0 (what it sends) and
# its port on the switch (what it receives), like a full-duplex NIC; without the second,
# a host would receive from H-1 senders at up to (H-1) x RATE in the all-to-all.
# burst (the token bucket) = 1 ms at the rate: 125 KB at 1 Gbit/s, 1.25 MB at 10. veth hands
# tbf segments of up to 64 KiB (GSO); a bucket smaller than that makes tbf cut each into MTU
# packets, which costs CPU this machine does not have (16 KB at 1 Gbit/s delivered 426
# Mbit/s, 64 KB 882, 128 KB 957). The price: after an idle millisecond, up to one burst
# leaves at memory speed; the fitted alpha and beta include it.
# latency 5 ms bounds the queue (rate x 5 ms + burst: 750 KB at 1 Gbit/s): a switch port's
# buffer. The sender's own queue never fills (TCP small queues push back), and the switch
# side only queues when several hosts send to one at once.
shape() {
    local rate=$1 bits burst i
    bits=$(rate_bits "$rate")
    burst=$(calc %d "$bits / 8 / 1000")
    for ((i = 1; i <= hmax; i++)); do
        tc -n "${tag}h$i" qdisc replace dev eth0 root tbf rate "$rate" burst "$burst" latency 5ms ||
            die "tc tbf failed (is sch_tbf available?)"
        tc -n "$sw" qdisc replace dev "nb$$s$i" root tbf rate "$rate" burst "$burst" latency 5ms
    done
}
rate_bits() { awk -v r="$1" 'BEGIN { m = r ~ /gbit$/ ? 1e9 : 1e6; sub(/[mg]bit$/, "", r); printf "%.0f", r * m }'; }

# The rsh agent that stands in for ssh (Open MPI runs: rsh HOST orted ARGS...): each host's
# namespace, with its own host name and a fresh tmpfs on /dev/shm (ip netns exec gives each
# command a private mount namespace, so the mount stays inside it).
{
    echo '#!/bin/bash'
    echo 'host=$1; shift'
    echo 'case "$host" in'
    for ((i = 1; i <= hmax; i++)); do echo "    $(ip_of "$i")) ns=${tag}h$i name=nnbm-host-$i ;;"; done
    echo '    *) echo "rsh: unknown host $host" >&2; exit 255 ;;'
    echo 'esac'
    echo 'exec ip netns exec "$ns" unshare --uts /bin/sh -c "hostname $name && mount -t tmpfs -o size=1g nnbmshm /dev/shm && $*"'
} >"$work/rsh"
chmod +x "$work/rsh"
for ((h = 1; h <= hmax; h++)); do
    for ((i = 1; i <= h; i++)); do echo "$(ip_of "$i") slots=$rph"; done >"$work/hosts$h"
done

# Waits for a line matching PATTERN in FILE: a bounded poll (20 s), not a fixed sleep.
wait_line() {
    local f=$1 pat=$2 i
    for ((i = 0; i < 200; i++)); do
        grep -q "$pat" "$f" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
# Runs a command in the background and waits for it, so that Ctrl-C (a trap) is handled at
# once instead of after the command.
bg_wait() { "$@" & wait $!; }
kv() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# ---- 1. the links ----------------------------------------------------------------------------
declare -A link_mbit link_alpha link_beta
ip netns exec "${tag}h2" "${probe[@]}" serve 5299 >"$work/probe.out" 2>&1 &
wait_line "$work/probe.out" '^ready' || die "the link probe did not start: $(cat "$work/probe.out")"
for rate in $rates; do
    say "link at $rate: throughput and ping-pong, host 1 -> host 2"
    shape "$rate"
    bits=$(rate_bits "$rate")
    # 3 rounds, the best of each figure: other work on this machine only slows a round down
    link_mbit[$rate]=0 link_alpha[$rate]=1 link_beta[$rate]=1
    for _ in 1 2 3; do
        # about 0.8 s at the configured rate
        out=$(bg_wait ip netns exec "${tag}h1" "${probe[@]}" stream "$(ip_of 2)" 5299 "$(calc %d "$bits / 10")")
        link_mbit[$rate]=$(calc %.1f "$(kv mbit_s "$out") > ${link_mbit[$rate]} ? $(kv mbit_s "$out") : ${link_mbit[$rate]}")
        # alpha = the one-way time of 1 byte; beta = the time per byte between 1 and 4 MiB
        declare -A oneway=()
        for size in 1 1048576 4194304; do
            reps=$ping_reps
            [ "$size" = 1 ] || reps=$((ping_reps / 5))
            out=$(bg_wait ip netns exec "${tag}h1" "${probe[@]}" pingpong "$(ip_of 2)" 5299 "$size" "$reps")
            oneway[$size]=$(kv oneway_s "$out")
        done
        link_alpha[$rate]=$(calc %.9g "${oneway[1]} < ${link_alpha[$rate]} ? ${oneway[1]} : ${link_alpha[$rate]}")
        link_beta[$rate]=$(calc %.9g "(${oneway[4194304]} - ${oneway[1048576]}) / (3 * 1048576) < ${link_beta[$rate]} ? (${oneway[4194304]} - ${oneway[1048576]}) / (3 * 1048576) : ${link_beta[$rate]}")
        unset oneway
    done
done
ip netns exec "${tag}h1" "${probe[@]}" quit "$(ip_of 2)" 5299 || true

# ---- nn-train across the hosts -------------------------------------------------------------
# run_train TAG H DATA LAYERS BATCH_PER_RANK EPOCHS FLAGS...
# Prints: samples/s, compute_s, allreduce_s, allreduce_max_s (means over epochs 2..E),
# steps per epoch, bytes host 2 sent per step over the whole run (0 on 1 host), epochs.
run_train() {
    local id=$1 h=$2 data=$3 layers=$4 b=$5 e=$6
    shift 6
    local np=$((h * rph)) tx0=0 tx1=0 m=$work/$id.csv
    local cmd="cd $work && timeout 600 mpirun --hostfile $work/hosts$h -np $np"
    cmd+=" --mca plm_rsh_agent $work/rsh --mca btl_tcp_if_include 10.78.0.0/24"
    cmd+=" --mca oob_tcp_if_include 10.78.0.0/24 -x OPENBLAS_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle"
    cmd+=" $train --data $data --layers $layers --batch $((np * b)) --epochs $e --val-fraction 0"
    cmd+=" --quiet --metrics $m $*"
    [ "$h" -lt 2 ] || tx0=$(ip netns exec "${tag}h2" cat /sys/class/net/eth0/statistics/tx_bytes)
    if ! bg_wait "$work/rsh" "$(ip_of 1)" "$cmd" >"$work/$id.out" 2>&1; then
        tail -20 "$work/$id.out" >&2
        echo "bench-multihost: the run $id failed (its output above)" >&2
        exit 1
    fi
    [ "$h" -lt 2 ] || tx1=$(ip netns exec "${tag}h2" cat /sys/class/net/eth0/statistics/tx_bytes)
    local rows
    rows=$(cat "$data.rows")
    # columns: 6 samples_per_sec, 8 compute_s, 9 allreduce_s, 14 allreduce_max_s
    awk -F, -v st=$((rows / (np * b))) -v e="$e" -v tx=$((tx1 - tx0)) 'NR > 2 {
        s += $6; c += $8; a += $9; w += $14; k++ }
        END { printf "%.1f %.6f %.6f %.6f %d %.0f %d\n", s / k, c / k, a / k, w / k, st, tx / (st * e), e }' "$m"
}

# make_data with the row count kept beside the file (run_train reads it)
make_set() { # FILE ROWS blobs|regress D K
    local f=$1 n=$2 kind=$3 d=$4 k=$5
    if [ "$kind" = blobs ]; then
        "$make_data" blobs "$f" "$n" "$d" "$k" 3 0 8.0 >/dev/null
    else
        "$make_data" regress "$f" "$n" "$d" "$k" 3 >/dev/null
    fi
    echo "$n" >"$f.rows"
}

# Least common multiple of 1 and the host counts: the data sets hold a whole number of
# global batches at every host count, so no step is partial.
lcm=1
for h in $hosts_list; do
    a=$lcm bb=$h
    while [ "$bb" -gt 0 ]; do t=$((a % bb)); a=$bb; bb=$t; done
    lcm=$((lcm * h / a))
done

# The predicted time of the sum between H hosts of n bytes, for the rate's fit
ring() { calc %.9g "2 * ($1 - 1) * $3 + 2 * ($1 - 1) / $1 * $2 * $4"; } # H n alpha beta
# Epochs for a run of STEPS steps per epoch of about STEP_S seconds each: one of warm-up,
# then enough for $measure_s seconds of measured steps
epochs_for() { awk -v st="$1" -v t="$2" -v m="$measure_s" 'BEGIN {
    e = int(m / (st * t) + 0.5); if (e < 1) e = 1; if (e > 20) e = 20; print e + 1 }'; }

# ---- 2. the models on 1 host: the reference, and the sizes of every run --------------------
declare -A m_layers m_batch m_params m_rows m_t1 ref
m_layers[fmnist]=784,256,128,10 m_batch[fmnist]=128
m_layers[large]=784,1024,1024,1024,10 m_batch[large]=256
for m in $models; do
    m_params[$m]=$(params_of "${m_layers[$m]}")
    b=${m_batch[$m]}
    say "$m (${m_layers[$m]}, ${m_params[$m]} parameters): timing a step on 1 host"
    # a probe of 2 epochs of 6 steps on 1 host: the step time sizes the data set and the runs
    make_set "$work/probe-$m.h5" $((6 * rph * b)) blobs 784 10
    read -r _ c a _ st _ _ < <(run_train "probe-$m" 1 "$work/probe-$m.h5" "${m_layers[$m]}" "$b" 2 "${cfg_flags[0]}")
    m_t1[$m]=$(calc %.6f "($c + $a) / $st")
    # rows: an epoch of about $epoch_s s on 1 host, a whole number of global batches at every
    # host count, at least $min_steps steps at the largest, at most 200 steps and 40000 rows
    # on 1 host (memory: 784 floats a row)
    unit=$((rph * b * lcm))
    k=$(awk -v t="${m_t1[$m]}" -v e="$epoch_s" -v u="$unit" -v s=$((rph * b)) -v h="$hmax" \
        -v ms="$min_steps" 'BEGIN {
        k = int(e / (t * u / s) + 0.5); while (k * u / s / h < ms) k++;
        while (k > 1 && (k * u / s > 200 || k * u > 40000)) k--; print k }')
    m_rows[$m]=$((k * unit))
    make_set "$work/$m.h5" "${m_rows[$m]}" blobs 784 10
    st=$((m_rows[$m] / (rph * b)))
    e=$(epochs_for "$st" "${m_t1[$m]}")
    say "$m on 1 host: ${m_rows[$m]} rows, $st steps per epoch, $e epochs (step ${m_t1[$m]} s)"
    ref[$m]=$(run_train "ref-$m" 1 "$work/$m.h5" "${m_layers[$m]}" "$b" "$e" "${cfg_flags[0]}")
done

# ---- 3. alpha and beta of nn-train's sum between hosts --------------------------------------
# 1,K,1 models at one sample per rank: next to no compute, so allreduce_s is the sum itself.
# K = 1: 4 parameters, the latency alone; K = 33333 and 1000000: 0.10 M and 3.0 M
# parameters, around both models (0.24 M, 2.9 M). Each run is sized from the one before
# (its time per step, scaled by the bytes); the first from the link's own latency.
declare -A fit_alpha fit_beta
calib=() # rate H K n_bytes measured_s
make_set "$work/cal.h5" $((rph * lcm * 12)) regress 1 1
for rate in $rates; do
    shape "$rate"
    bits=$(rate_bits "$rate")
    for h in $hosts_list; do
        est=$(calc %.9g "4 * ($h - 1) * ${link_alpha[$rate]}") prev_n=0
        for K in 1 33333 1000000; do
            P=$(params_of "1,$K,1")
            n=$((P * $(bytes_per_param "${cfg_flags[0]}")))
            st=$((rph * lcm * 12 / (h * rph)))
            [ "$prev_n" = 0 ] || est=$(calc %.9g "$est * $n / $prev_n")
            e=$(epochs_for "$st" "$est")
            say "fit at $rate: $h hosts, 1,$K,1 ($P parameters), $e epochs of $st steps"
            read -r _ _ a _ _ _ _ < <(run_train "cal-$rate-$h-$K" "$h" "$work/cal.h5" "1,$K,1" 1 "$e" "${cfg_flags[0]}")
            calib+=("$rate $h $K $n $(calc %.9g "$a / $st")")
            est=$(calc %.9g "$a / $st") prev_n=$n
        done
    done
    # S = alpha x 2(H-1) + beta x 2(H-1)/H n, weighted least squares on the relative error;
    # a negative alpha (latency lost in the noise) is refitted as 0
    read -r fit_alpha[$rate] fit_beta[$rate] < <(printf '%s\n' "${calib[@]}" | awk -v r="$rate" '$1 == r {
        H = $2; n = $4; y = $5; x1 = 2 * (H - 1); x2 = 2 * (H - 1) / H * n; w = 1 / (y * y);
        s11 += w * x1 * x1; s12 += w * x1 * x2; s22 += w * x2 * x2; s1y += w * x1 * y; s2y += w * x2 * y }
        END { d = s11 * s22 - s12 * s12; a = d != 0 ? (s1y * s22 - s2y * s12) / d : 0;
              g = d != 0 ? (s11 * s2y - s12 * s1y) / d : s2y / s22;
              if (a < 0) { a = 0; g = s2y / s22 } printf "%.9g %.9g\n", a, g }')
done

# ---- 4. the runs -------------------------------------------------------------------------------
runs=() # model rate H config-index sps c a w st tx
for rate in $rates; do
    shape "$rate"
    for m in $models; do
        b=${m_batch[$m]}
        for h in $hosts_list; do
            st=$((m_rows[$m] / (h * rph * b)))
            for i in "${!cfg_names[@]}"; do
                n=$((m_params[$m] * $(bytes_per_param "${cfg_flags[$i]}")))
                # this machine's cores are shared by all the ranks
                est=$(calc %.6f "${m_t1[$m]} * ($h * $rph > $cores ? $h * $rph / $cores : 1) + $(ring "$h" "$n" "${fit_alpha[$rate]}" "${fit_beta[$rate]}")")
                e=$(epochs_for "$st" "$est")
                say "$m at $rate: $h hosts, ${cfg_names[$i]}, $e epochs of $st steps"
                runs+=("$m $rate $h $i $(run_train "run-$m-$rate-$h-$i" "$h" "$work/$m.h5" "${m_layers[$m]}" "$b" "$e" "${cfg_flags[$i]}")")
            done
        done
    done
done

# ---- 5. the tables -----------------------------------------------------------------------------
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] || commit+=" (tree with uncommitted changes)"
echo
echo "Emulated networks, $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $cores cores ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)), $(uname -r); commit $commit; nn-train: $("$train" --version 2>/dev/null | head -1)"
echo "command: $cmdline    ($((SECONDS - t_start)) s)"
echo "Hosts are network namespaces on a bridge, each link shaped by tc tbf in both directions"
echo "(burst 1 ms at the rate, latency 5 ms); $rph rank(s) per host, 1 OpenBLAS thread per rank."
echo "ALL HOSTS SHARE THIS MACHINE'S $cores CORES: with more ranks than cores, compute is slower than on"
echo "real hosts and competes with the network stack; the alpha-beta fit is about the network part."
echo
echo "links, host 1 -> host 2 (scripts/linkprobe.py, plain TCP; the best of 3 rounds): stream = about"
echo "0.8 s of data at the configured rate; link alpha = median one-way time of 1 B (half a ping-pong's"
echo "round trip), link beta = the one-way time per byte between 1 and 4 MiB. nn-train alpha, beta = the fit of S(H, n) ="
echo "2 (H-1) alpha + 2 (H-1)/H n beta to nn-train's own sum (allreduce_s) of 1,K,1 models under"
echo "'${cfg_names[0]}' (the next table)."
printf '| %s |\n' "rate | configured Mbit/s | stream Mbit/s | link alpha us | link 1/beta Mbit/s | nn-train alpha us | nn-train 1/beta Mbit/s"
echo "|---|---|---|---|---|---|---|"
for rate in $rates; do
    awk -v r="$rate" -v c="$(rate_bits "$rate")" -v s="${link_mbit[$rate]}" -v la="${link_alpha[$rate]}" \
        -v lb="${link_beta[$rate]}" -v fa="${fit_alpha[$rate]}" -v fb="${fit_beta[$rate]}" 'BEGIN {
        printf "| %s | %.0f | %.0f | %.1f | %.0f | %.1f | %.0f |\n", r, c / 1e6, s, la * 1e6,
            8 / lb / 1e6, fa * 1e6, 8 / fb / 1e6 }'
done
echo
echo "the fit's own points (1,K,1 models, one sample per rank; ms per step):"
printf '| %s |\n' "rate | hosts | parameters | bytes n (MB) | measured ms | fitted ms | error"
echo "|---|---|---|---|---|---|---|"
for l in "${calib[@]}"; do
    read -r rate h K n y <<<"$l"
    p=$(ring "$h" "$n" "${fit_alpha[$rate]}" "${fit_beta[$rate]}")
    awk -v r="$rate" -v h="$h" -v P="$(params_of "1,$K,1")" -v n="$n" -v y="$y" -v p="$p" 'BEGIN {
        printf "| %s | %d | %d | %.6g | %.3f | %.3f | %+.0f%% |\n", r, h, P, n / 1e6, y * 1e3, p * 1e3, 100 * (p - y) / y }'
done
echo
echo "the runs: weak scaling, ${rph} rank(s) per host, the same batch per rank at every host count"
echo "(fmnist = 784-256-128-10 at 128 per rank, large = 784-1024-1024-1024-10 at 256). From"
echo "--metrics, means of epochs 2..E: samples/s (all ranks), step = (compute_s + allreduce_s)"
echo "/ steps; sum + wait = allreduce_s / steps, rank 0 (the gradient sum after backward, waits"
echo "included; with overlap, only the part backward did not hide); worst = allreduce_max_s, the"
echo "rank that spent most in it; efficiency = samples/s / (hosts x 1 host's); wire = bytes host 2"
echo "sent per step over its link (whole run, start-up included) beside the ring's 2 (H-1)/H n;"
echo "steps = the steps measured (epochs 2..E)."
printf '| %s |\n' "model | rate | hosts | config | steps | samples/s | step ms | sum + wait ms | share | worst rank share | efficiency | wire MB/step (ring's)"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for m in $models; do
    read -r sps c a w st _ e <<<"${ref[$m]}"
    awk -v m="$m" -v s="$sps" -v c="$c" -v a="$a" -v w="$w" -v st="$st" -v e="$e" 'BEGIN {
        t = c + a; printf "| %s | - | 1 | - | %d | %.0f | %.2f | %.2f | %.0f%% | %.0f%% | 100%% | - |\n",
            m, st * (e - 1), s, t / st * 1e3, a / st * 1e3, 100 * a / t, 100 * w / t }'
done
for l in "${runs[@]}"; do
    read -r m rate h i sps c a w st tx e <<<"$l"
    n=$((m_params[$m] * $(bytes_per_param "${cfg_flags[$i]}")))
    read -r s1 _ <<<"${ref[$m]}"
    awk -v m="$m" -v r="$rate" -v h="$h" -v cf="${cfg_names[$i]}" -v s="$sps" -v c="$c" -v a="$a" \
        -v w="$w" -v st="$st" -v s1="$s1" -v tx="$tx" -v n="$n" -v e="$e" 'BEGIN {
        t = c + a; printf "| %s | %s | %d | %s | %d | %.0f | %.2f | %.2f | %.0f%% | %.0f%% | %.0f%% | %.2f (%.2f) |\n",
            m, r, h, cf, st * (e - 1), s, t / st * 1e3, a / st * 1e3, 100 * a / t, 100 * w / t, 100 * s / (h * s1),
            tx / 1e6, 2 * (h - 1) / h * n / 1e6 }'
done
echo
echo "measured beside predicted: the sum between hosts per step, rank 0 (allreduce_s / steps)"
echo "against the nn-train fit above, S(H, n) = 2 (H-1) alpha + 2 (H-1)/H n beta (n: 4 bytes per"
echo "parameter, 2 with --grad-compression bf16). With overlap the model gives the whole sum and"
echo "the measurement only what backward left exposed: there the last column gives that part."
printf '| %s |\n' "model | rate | hosts | config | n MB | measured ms | predicted ms | error (overlap: exposed)"
echo "|---|---|---|---|---|---|---|---|"
for l in "${runs[@]}"; do
    read -r m rate h i sps c a w st tx e <<<"$l"
    n=$((m_params[$m] * $(bytes_per_param "${cfg_flags[$i]}")))
    p=$(ring "$h" "$n" "${fit_alpha[$rate]}" "${fit_beta[$rate]}")
    awk -v m="$m" -v r="$rate" -v h="$h" -v cf="${cfg_names[$i]}" -v n="$n" -v y="$(calc %.9g "$a / $st")" \
        -v p="$p" -v ov="$(overlapped "${cfg_flags[$i]}")" 'BEGIN {
        printf "| %s | %s | %d | %s | %.2f | %.2f | %.2f | ", m, r, h, cf, n / 1e6, y * 1e3, p * 1e3;
        if (ov) printf "exposed %.0f%% of the sum |\n", 100 * y / p;
        else printf "%+.0f%% |\n", 100 * (p - y) / y }'
done
printf '%s\n' "${runs[@]}" | while read -r m rate h i _ _ a _ st _ _; do
    [ "$(overlapped "${cfg_flags[$i]}")" = 0 ] || continue
    n=$((m_params[$m] * $(bytes_per_param "${cfg_flags[$i]}")))
    calc "%s\n" "$(ring "$h" "$n" "${fit_alpha[$rate]}" "${fit_beta[$rate]}") / ($a / $st) - 1"
done | awk '{ e = $1 < 0 ? -$1 : $1; k++; if (e <= 0.2) ok++ }
    END { if (k) printf "without overlap: %d of %d predictions within 20%% of the measurement\n", ok, k }' 
echo
echo "projection with the fit: T(H) = t1 + S(H, n), t1 = the 1-host step above (this machine's"
echo "compute, every rank updating the whole model), S the ring model without overlap; share ="
echo "S / T; efficiency = t1 / T (weak scaling). bf16: n halved. link-bound: the same with beta"
echo "of the link itself (the first table), what hosts whose CPUs keep up with the link would see."
printf '| %s |\n' "model | rate | hosts | step ms | sum share | efficiency | bf16: step ms | bf16: sum share | bf16: efficiency | link-bound: efficiency | link-bound bf16: efficiency"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for m in $models; do
    read -r _ c a _ st _ _ <<<"${ref[$m]}"
    for rate in $rates; do
        for h in 8 16 32 64 128 256; do
            awk -v m="$m" -v r="$rate" -v h="$h" -v t1="$(calc %.9g "($c + $a) / $st")" \
                -v P="${m_params[$m]}" -v al="${fit_alpha[$rate]}" -v be="${fit_beta[$rate]}" \
                -v lb="${link_beta[$rate]}" 'BEGIN {
                s4 = 2 * (h - 1) * al + 2 * (h - 1) / h * 4 * P * be;
                s2 = 2 * (h - 1) * al + 2 * (h - 1) / h * 2 * P * be;
                l4 = 2 * (h - 1) * al + 2 * (h - 1) / h * 4 * P * lb;
                l2 = 2 * (h - 1) * al + 2 * (h - 1) / h * 2 * P * lb;
                printf "| %s | %s | %d | %.2f | %.0f%% | %.0f%% | %.2f | %.0f%% | %.0f%% | %.0f%% | %.0f%% |\n", m, r, h,
                    (t1 + s4) * 1e3, 100 * s4 / (t1 + s4), 100 * t1 / (t1 + s4),
                    (t1 + s2) * 1e3, 100 * s2 / (t1 + s2), 100 * t1 / (t1 + s2),
                    100 * t1 / (t1 + l4), 100 * t1 / (t1 + l2) }'
        done
    done
done
say "done in $((SECONDS - t_start)) s"
