#!/bin/bash
# e2e_cluster.sh: the batch scripts of cluster/ on a real (throw-away, single-node) Slurm, and
# nn-train across two "hosts" made of network namespaces.
#   e2e_cluster.sh CASE BUILD_DIR
# Cases:
#   complete_mpirun, complete_srun   a job runs to the end: checkpoint, metrics, same result
#                                    as a direct mpirun (srun: also plain srun is refused)
#   preempt_mpirun, preempt_srun     SIGUSR1 to the batch shell mid-run: checkpoint, exit 75,
#                                    requeue, resume; the final state is bit-identical to an
#                                    uninterrupted run (mpirun: also the MAX_RESTARTS cap)
#   sweep                            a job array: one result per task, collected in one table
#   serve                            cluster/nn-serve.sbatch: the address file, an answer there,
#                                    scancel: nn-serve exits 0 and the file is removed
#   multihost                        mpirun over TCP across two network namespaces, -np 4 with
#                                    2 ranks per host: identical to the 4-rank run on one host
# Each Slurm case starts its own cluster/slurm-local.sh instance on free, non-default ports
# in its own temporary directory and always stops it. Without Slurm (or without root, or
# without iproute2 for multihost) a case prints SKIP and counts as skipped, unless CI=true.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "$2" cluster-
slurm_local=$src/cluster/slurm-local.sh
slurm_dir=$work/slurm
slurm_up=0
netns=()
# at exit: stop our Slurm, remove our namespaces and, on a failure, show the logs' tails
cluster_cleanup() {
    local rc=$1 ns f
    if [ "$slurm_up" = 1 ]; then
        "$slurm_local" stop "$slurm_dir" >/dev/null 2>&1 || true
    fi
    for ns in "${netns[@]}"; do
        # whatever still runs in our namespaces (a timed-out mpirun, its orted) is ours
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
    if [ "$rc" != 0 ] && [ -z "${NN_KEEP:-}" ]; then
        # the logs help more than the files: show the tail of each
        for f in "$work"/*.out "$slurm_dir"/log/slurmctld.log; do
            [ -f "$f" ] && { echo "--- tail of $f" >&2; tail -25 "$f" >&2; }
        done
    fi
}
nn_on_exit cluster_cleanup
# More ranks than cores: ranks that spin while they wait starve the others (a 40x slowdown)
export OMPI_MCA_mpi_yield_when_idle=1

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- Slurm -----------------------------------------------------------------------------

start_slurm() {
    [ "$(id -u)" = 0 ] || skip "needs root to run a local Slurm"
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        skip "slurm-wlm and munge are not installed (apt-get install slurm-wlm munge)"
    fi
    # Ports from this process's id, so that parallel cases do not collide; another pair if
    # they are taken. Job ids differ per instance too (srun --mpi=pmix scratch dirs).
    local try port t0
    t0=$(date +%s.%N)
    for try in 1 2 3 4 5; do
        port=$((20000 + ($$ * 7 + try * 1009) % 6000 * 2)) # 20000-31999, below the ephemeral range
        if SLURM_LOCAL_CTLD_PORT=$port SLURM_LOCAL_FIRST_JOB_ID=$((port * 10)) \
            "$slurm_local" start "$slurm_dir" >slurm-start.log 2>&1; then
            slurm_up=1
            # shellcheck source=/dev/null
            . "$slurm_dir/env.sh"
            say "Slurm up on ports $port/$((port + 1)) in $(elapsed "$t0") s"
            return
        fi
        say "Slurm did not start on port $port (try $try): $(grep -m1 error slurm-start.log || true)"
    done
    cat slurm-start.log >&2
    fail "could not start a local Slurm"
}

job_field() { # JOBID FIELD: one field of scontrol show job
    scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}
wait_state() { # JOBID SECONDS STATE...: wait until the job is in one of the states
    local id=$1 t=$2 st
    shift 2
    local end=$((SECONDS + t))
    while :; do
        st=$(job_field "$id" JobState)
        for s in "$@"; do [ "$st" = "$s" ] && return 0; done
        case "$st" in FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL)
            fail "job $id is $st (exit $(job_field "$id" ExitCode)), waiting for $*" ;;
        esac
        [ "$SECONDS" -lt "$end" ] || fail "job $id still $st after ${t}s, waiting for $*"
        sleep 0.2
    done
}
submit() { # LAUNCH CKPT_DIR EXTRA_ENV SBATCH-SCRIPT ARGS...: submit, print the job id
    local launch=$1 ck=$2 extra=$3 script=$4
    shift 4
    sbatch --parsable --chdir="$work" --output="$work/job-%j.out" \
        --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --time=5 \
        --export="ALL,NN_TRAIN=$train,LAUNCH=$launch,CKPT_DIR=$ck$extra" "$script" "$@"
}

# preempt_after_first_epoch JOBID CKPT_DIR: once the job runs and has finished its first epoch
# (so the signal lands mid-run, with nn-train's handlers in place), SIGUSR1 to its batch
# shell: what --signal=B:USR1@N does before the time limit, but now (Slurm's timer is coarse).
preempt_after_first_epoch() {
    local id=$1 ck=$2 end
    wait_state "$id" 60 RUNNING
    end=$((SECONDS + 60))
    until [ "$(tail -n +2 "$ck/metrics.csv" 2>/dev/null | wc -l)" -ge 1 ]; do
        [ "$SECONDS" -lt "$end" ] || fail "no epoch finished within 60 s"
        sleep 0.1
    done
    scancel --batch --signal=USR1 "$id"
}

# 20000 samples of 32 features, 8 classes: 282 steps per epoch at 2 ranks, batch 64
setup_data() { "$make_data" blobs d.h5 20000 32 8 3 0 3.0 >/dev/null; }
ARGS=(--data d.h5 --layers "32,64,8" --batch 64 --keep 100)
reference() { # EPOCHS: the uninterrupted 2-rank run, by a direct mpirun; prints its checksum
    run_np 2 "${ARGS[@]}" --epochs "$1" --checkpoint-dir ref --metrics ref.csv --quiet \
        >ref.out 2>&1 || { cat ref.out >&2; fail "reference run failed"; }
    checksum "$(newest ref)"
}

complete() { # LAUNCH
    local launch=$1 id t0 want got
    start_slurm
    setup_data
    want=$(reference 3)
    t0=$(date +%s.%N)
    id=$(submit "$launch" "$work/ck" "" "$src/cluster/nn-train.sbatch" "${ARGS[@]}" --epochs 3)
    wait_state "$id" 60 COMPLETED
    [ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job $id: exit code $(job_field "$id" ExitCode)"
    log=job-$id.out
    grep -q "launched by $launch" "$log" || fail "the job did not use $launch: $(cat "$log")"
    grep -q "nn-train exited with status 0" "$log" || fail "no clean exit in $log"
    got=$(checksum "$(newest ck)")
    grep -q "2 ranks, data d.h5" v.txt || fail "the checkpoint was not written by one 2-rank job: $(cat v.txt)"
    [ "$got" = "$want" ] || fail "job checksum $got, direct mpirun $want"
    [ "$(tail -n +2 ck/metrics.csv | wc -l)" = 3 ] || fail "metrics: $(cat ck/metrics.csv)"
    say "sbatch + $launch: COMPLETED in $(elapsed "$t0") s; checkpoint $(basename "$(newest ck)")" \
        "(2 ranks, checksum $got = direct mpirun), metrics with 3 epochs"
}

case_complete_mpirun() { complete mpirun; }
case_complete_srun() {
    complete srun
    # The pitfall: plain srun (no --mpi=pmix). Debian's Open MPI aborts in MPI_Init ("not
    # built with SLURM's PMI support"); an MPI that falls back to singletons would start N
    # one-rank copies, which nn-train refuses. Either way the job fails and trains nothing.
    local id
    id=$(sbatch --parsable --chdir="$work" --output="$work/plain-%j.out" -n 2 --time=2 \
        --wrap "srun $train ${ARGS[*]} --epochs 1 --checkpoint-dir plain")
    wait_state "$id" 60 FAILED COMPLETED
    [ "$(job_field "$id" JobState)" = FAILED ] || fail "plain srun: the job succeeded"
    local why
    why=$(grep -m1 -o -e "srun needs --mpi=pmix" -e "OMPI was not built with SLURM's PMI support" \
        "plain-$id.out") || fail "plain srun: no explanation in $(cat "plain-$id.out")"
    [ ! -e plain ] || fail "plain srun wrote checkpoints"
    say "plain srun without --mpi=pmix: job FAILED, nothing trained (\"$why\")"
}

preempt() { # LAUNCH
    local launch=$1 id t0 want got e
    start_slurm
    setup_data
    e=12
    want=$(reference $e)
    say "uninterrupted reference (direct mpirun, $e epochs): checksum $want"
    t0=$(date +%s.%N)
    id=$(submit "$launch" "$work/ck" "" "$src/cluster/nn-train.sbatch" "${ARGS[@]}" --epochs $e)
    preempt_after_first_epoch "$id" ck
    wait_state "$id" 60 PENDING
    [ "$(job_field "$id" Restarts)" = 1 ] || fail "job $id pending but Restarts=$(job_field "$id" Restarts)"
    local stopped
    stopped=$(newest ck)
    log=job-$id.out
    grep -q "nn-train exited with status 75" "$log" || fail "no exit status 75 in $log"
    grep -q "requeueing job $id" "$log" || fail "the job did not requeue itself"
    say "SIGUSR1 after $(elapsed "$t0") s: checkpoint $(basename "$stopped"), exit 75, requeued" \
        "($(job_field "$id" Reason); EligibleTime $(job_field "$id" EligibleTime))"
    # Skip the ~120 s EligibleTime that Slurm gives a requeued job, but not all of it: slurmd
    # refuses to start a job id whose credential it revoked within the same second ("Job
    # credential revoked", and the job FAILs), so leave it 2 s.
    sleep 2
    scontrol update JobId="$id" StartTime=now
    wait_state "$id" 60 COMPLETED
    [ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job $id: exit code $(job_field "$id" ExitCode)"
    grep -q "run 2 (restart 1 of" "$log" || fail "no second run in $log"
    grep -q "resume: .*$(basename "$stopped")" "$log" || fail "the second run did not resume from $stopped"
    got=$(checksum "$(newest ck)")
    [ "$got" = "$want" ] || fail "pre-empted and resumed: checksum $got, uninterrupted $want"
    diff <(cut -d, -f1-5 ref.csv) <(cut -d, -f1-5 ck/metrics.csv) >/dev/null ||
        fail "metrics differ from the uninterrupted run's"
    say "sbatch + $launch: pre-empted, requeued, resumed, COMPLETED in $(elapsed "$t0") s;" \
        "final state bit-identical to the uninterrupted run ($got), metrics equal"
}

case_preempt_mpirun() {
    preempt mpirun
    # MAX_RESTARTS: a job that has used its restarts ends with status 75 instead of requeueing
    local id
    id=$(submit mpirun "$work/cap" ",MAX_RESTARTS=0" "$src/cluster/nn-train.sbatch" \
        "${ARGS[@]}" --epochs 12)
    preempt_after_first_epoch "$id" cap
    local st="" end=$((SECONDS + 60))
    while :; do
        st=$(job_field "$id" JobState)
        case "$st" in FAILED | COMPLETED | PENDING) break ;; esac
        [ "$SECONDS" -lt "$end" ] || fail "job $id still $st"
        sleep 0.2
    done
    if [ "$st" != FAILED ] || [ "$(job_field "$id" ExitCode)" != 75:0 ]; then
        fail "MAX_RESTARTS=0: job $id is $st with exit code $(job_field "$id" ExitCode), expected FAILED 75:0"
    fi
    grep -q "not requeueing" "job-$id.out" || fail "no 'not requeueing' in the log"
    say "MAX_RESTARTS=0: checkpointed and ended with 75 (FAILED 75:0), not requeued"
}
case_preempt_srun() { preempt srun; }

case_sweep() {
    start_slurm
    "$make_data" blobs s.h5 2000 8 3 1 200 >/dev/null
    cat >configs.txt <<'EOF'
# a learning-rate and width sweep
--lr 1e-3

--lr 1e-2 --layers 8,32,3
--lr 3e-2 --optimizer sgd --momentum 0.9
EOF
    local id t0 n
    t0=$(date +%s.%N)
    id=$(sbatch --parsable --chdir="$work" --output="$work/sweep-%A_%a.out" --array=0-2 \
        --ntasks=2 --cpus-per-task=1 --time=5 \
        --export="ALL,NN_TRAIN=$train,LAUNCH=srun,SWEEP_DIR=$work/sw" \
        "$src/cluster/sweep.sbatch" configs.txt --data s.h5 --layers 8,16,3 --epochs 4 --quiet)
    for t in 0 1 2; do wait_state "${id}_$t" 60 COMPLETED; done
    "$src/cluster/sweep-collect.sh" sw | tee table.txt
    "$src/cluster/sweep-collect.sh" --csv sw >table.csv
    n=$(tail -n +2 table.csv | wc -l)
    [ "$n" = 3 ] || fail "$n rows, expected 3: $(cat table.csv)"
    local t
    for t in 0 1 2; do
        # task, epochs 4, a numeric val_loss and val_accuracy, seconds, and its config
        awk -F, -v t="$t" '$1 == t && $2 == 4 && $3 + 0 > 0 && $4 + 0 >= 0 && $4 + 0 <= 1' table.csv |
            grep -q . || fail "task $t: no complete row in $(cat table.csv)"
        checksum "$(newest "sw/task-$t/ckpt")" >/dev/null
    done
    grep -q '^1,4,.*,"--lr 1e-2 --layers 8,32,3"$' table.csv || fail "task 1's config: $(cat table.csv)"
    checksum "$(newest sw/task-1/ckpt)" >/dev/null
    grep -q "model *8-32-3" v.txt || fail "task 1 did not train its own --layers: $(cat v.txt)"
    grep -q "optimizer *sgd" < <("$train" --verify "$(newest sw/task-2/ckpt)") ||
        fail "task 2 did not use its own --optimizer"
    say "array of 3 configurations: 3 tasks COMPLETED in $(elapsed "$t0") s, one row each"
}

case_serve() {
    # cluster/nn-serve.sbatch serving a checkpoint directory: the address file appears once
    # the server listens, the server answers there, and scancel stops it cleanly (nn-serve
    # exits 0, the file is removed)
    start_slurm
    "$make_data" blobs s.h5 400 8 3 1 100 >/dev/null
    run_np 2 --data s.h5 --layers 8,16,3 --epochs 2 --checkpoint-dir ck --quiet >train.out 2>&1 ||
        { cat train.out >&2; fail "training the served model failed"; }
    local id addr t0 row
    t0=$(date +%s.%N)
    id=$(sbatch --parsable --chdir="$work" --output="$work/serve-%j.out" --ntasks=1 \
        --cpus-per-task=1 --time=5 --export="ALL,NN_SERVE=$build/nn-serve" \
        "$src/cluster/nn-serve.sbatch" --model-dir ck --quiet)
    wait_state "$id" 60 RUNNING
    # the job writes the address file, then says "serving at" (cluster/nn-serve.sbatch)
    wait_line "serve-$id.out" "serving at http://" 60 ||
        fail "job $id ($(job_field "$id" JobState)) did not start serving within 60 s: $(tail -5 "serve-$id.out" 2>/dev/null)"
    [ -s "nn-serve-$id.addr" ] || fail "the job serves but wrote no nn-serve-$id.addr"
    addr=$(cat "nn-serve-$id.addr")
    [[ $addr =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail "the address file holds '$addr'; expected 127.0.0.1:PORT"
    curl -sf "http://$addr/v2/health/ready" >/dev/null || fail "no answer at $addr"
    row=$(printf '0.5,%.0s' 1 2 3 4 5 6 7)0.5
    curl -sf "http://$addr/v1/models/ck:predict" -d "{\"instances\": [[$row]]}" >p.json ||
        fail "no prediction at $addr"
    grep -q '"predictions"' p.json || fail "not a prediction: $(cat p.json)"
    scancel "$id"
    # its last line, once the address file is gone
    wait_line "serve-$id.out" "nn-serve exited with status" 60 ||
        fail "the job did not say how nn-serve ended within 60 s of scancel: $(tail -5 "serve-$id.out")"
    [ ! -e "nn-serve-$id.addr" ] || fail "nn-serve-$id.addr still there after the job's last line"
    grep -q "nn-serve exited with status 0" "serve-$id.out" ||
        fail "nn-serve did not exit 0 after scancel: $(tail -5 "serve-$id.out")"
    say "sbatch nn-serve.sbatch: served at $addr, answered, stopped by scancel (exit 0, address file removed) in $(elapsed "$t0") s"
}

# ---- two hosts: network namespaces joined by a veth pair -----------------------------------

case_multihost() {
    [ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
    if ! command -v ip >/dev/null || ! command -v unshare >/dev/null; then
        skip "needs iproute2 and unshare"
    fi
    local a=nnt_a_$$ b=nnt_b_$$ va=nntva$$ vb=nntvb$$
    ip netns add "$a" || skip "cannot create a network namespace (no CAP_SYS_ADMIN?)"
    netns+=("$a")
    ip netns add "$b"
    netns+=("$b")
    ip link add "$va" type veth peer name "$vb" # deleting the namespaces deletes the pair
    ip link set "$va" netns "$a"
    ip link set "$vb" netns "$b"
    ip -n "$a" addr add 10.77.0.1/24 dev "$va"
    ip -n "$b" addr add 10.77.0.2/24 dev "$vb"
    local n
    for n in "$a" "$b"; do ip -n "$n" link set lo up; done
    ip -n "$a" link set "$va" up
    ip -n "$b" link set "$vb" up
    # The rsh agent that stands in for ssh: each "host" is a network namespace with its own
    # host name (UTS namespace) and its own /dev/shm, as real hosts have. (With one shared
    # host name, Open MPI takes both for one node: MPI_Comm_split_type disagrees across
    # ranks and the job hangs or crashes.) Open MPI calls it as: rsh HOST orted ARGS...
    cat >rsh <<EOF
#!/bin/bash
echo "\$*" >>"$work/rsh.log"
host=\$1
shift
case "\$host" in
    10.77.0.1) ns=$a name=nnt-host-a ;;
    10.77.0.2) ns=$b name=nnt-host-b ;;
    *) echo "rsh: unknown host \$host" >&2; exit 255 ;;
esac
exec ip netns exec "\$ns" unshare --uts /bin/sh -c "hostname \$name && mount -t tmpfs -o size=256m nntshm /dev/shm && \$*"
EOF
    chmod +x rsh
    printf '10.77.0.1 slots=2\n10.77.0.2 slots=2\n' >hosts
    local mpi="mpirun --hostfile $work/hosts -np 4 --mca plm_rsh_agent $work/rsh"
    mpi+=" --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24"
    mpi+=" -x OPENBLAS_NUM_THREADS -x OMPI_MCA_mpi_yield_when_idle"
    # where the ranks run: 2 in each namespace (mpirun itself starts on host A)
    timeout 60 ./rsh 10.77.0.1 "$mpi sh -c 'echo \$(hostname) \$(readlink /proc/self/ns/net)'" \
        >where.txt 2>&1 || { cat where.txt >&2; fail "mpirun across the namespaces failed"; }
    [ "$(sort where.txt | uniq -c | awk '$1 == 2' | wc -l)" = 2 ] ||
        fail "expected 2 ranks in each of 2 namespaces: $(cat where.txt)"
    grep -q "^10.77.0.2 .*orted" rsh.log || fail "no orted started on 10.77.0.2: $(cat rsh.log)"
    say "4 ranks, 2 per host: $(sort where.txt | uniq -c | awk '{print $2 " " $3 " x" $1}' | paste -sd' ')"

    "$make_data" blobs d.h5 4000 10 4 9 0 2.0 >/dev/null
    local A=(--data d.h5 --layers "10,32,4" --epochs 3 --batch 64 --no-shuffle)
    local t0 tx0 tx1
    tx0=$(ip netns exec "$b" cat "/sys/class/net/$vb/statistics/tx_bytes")
    t0=$(date +%s.%N)
    timeout 120 ./rsh 10.77.0.1 "cd $work && $mpi $train ${A[*]} --step-log mh.csv --checkpoint-dir mh" \
        >mh.out 2>&1 || { cat mh.out >&2; fail "the two-host run failed"; }
    tx1=$(ip netns exec "$b" cat "/sys/class/net/$vb/statistics/tx_bytes")
    # 171 allreduces of 484 floats: hundreds of kB must cross the veth pair
    [ $((tx1 - tx0)) -gt 100000 ] || fail "only $((tx1 - tx0)) bytes left host B over the veth"
    say "two hosts over TCP: $(elapsed "$t0") s, $(((tx1 - tx0) / 1024)) kB sent by host B;" \
        "$(head -1 mh.out)"
    grep -q "4 ranks on 2 hosts" mh.out || fail "the banner does not show 2 hosts: $(head -2 mh.out)"
    grep -q "shared memory within each node (2 ranks.*between 2 nodes" mh.out ||
        fail "the two-host run did not sum in shared memory within each host and MPI between: $(grep '^reduce' mh.out)"
    # The one-host run groups its ranks two by two as well (NN_TEST_RANKS_PER_NODE), so both
    # add the gradients in the same order: (r0 + r1) + (r2 + r3).
    NN_TEST_RANKS_PER_NODE=2 run_np 4 "${A[@]}" --step-log sh.csv \
        --checkpoint-dir sh --quiet >sh.out 2>&1 || { cat sh.out >&2; fail "the one-host run failed"; }
    # per-step losses within 1e-6 relative (the documented promise), and in fact identical
    awk -F, 'NR == FNR { l[$1] = $3; next }
             FNR > 1 { n++; d = $3 - l[$1]; if (d < 0) d = -d
                       if (!($1 in l) || d > 1e-6 * ($3 < 0 ? -$3 : $3)) { bad++; print "step " $1 ": " l[$1] " vs " $3 } }
             END { if (bad || n < 171) { print bad + 0 " steps differ of " n; exit 1 } }' \
        mh.csv sh.csv || fail "per-step losses differ between two hosts and one host"
    cmp -s mh.csv sh.csv || fail "step logs agree to 1e-6 but are not identical"
    local c1 c2
    c1=$(checksum "$(newest mh)")
    c2=$(checksum "$(newest sh)")
    [ "$c1" = "$c2" ] || fail "final state: two hosts $c1, one host $c2"
    say "2 hosts x 2 ranks (TCP between hosts) = 1 host x 4 ranks: $(($(wc -l <mh.csv) - 1)) step" \
        "losses identical, final state checksum $c1 on both"

    # --grad-compression bf16 across the hosts: half the bytes of the gradient sum cross the
    # link (a model of 270,000 parameters, so that the gradients dominate what is sent), and
    # the same bits as one host whose ranks are grouped as the two hosts are.
    local B=(--data d.h5 --layers "10,512,512,4" --epochs 1 --batch 64 --no-shuffle --quiet)
    local sent=()
    for c in none bf16; do
        tx0=$(ip netns exec "$b" cat "/sys/class/net/$vb/statistics/tx_bytes")
        timeout 120 ./rsh 10.77.0.1 "cd $work && $mpi $train ${B[*]} --grad-compression $c --step-log mh-$c.csv" \
            >"mh-$c.out" 2>&1 || { cat "mh-$c.out" >&2; fail "the two-host run with $c failed"; }
        tx1=$(ip netns exec "$b" cat "/sys/class/net/$vb/statistics/tx_bytes")
        sent+=($((tx1 - tx0)))
    done
    awk -v n="${sent[0]}" -v h="${sent[1]}" 'BEGIN { exit !(h < 0.6 * n) }' ||
        fail "bf16: host B sent ${sent[1]} bytes against ${sent[0]} without compression; expected about half"
    NN_TEST_RANKS_PER_NODE=2 run_np 4 "${B[@]}" --grad-compression bf16 --step-log sh-bf16.csv \
        >sh-bf16.out 2>&1 || { cat sh-bf16.out >&2; fail "the one-host bf16 run failed"; }
    cmp -s mh-bf16.csv sh-bf16.csv || fail "bf16: step losses differ between two hosts and one host"
    say "bf16 between the hosts: $((sent[1] / 1024)) kB sent by host B against $((sent[0] / 1024)) kB;" \
        "step losses identical to one host's"
}

"case_$case_name"
echo "PASS [$case_name]"
