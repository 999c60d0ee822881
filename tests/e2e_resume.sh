#!/bin/bash
# e2e_resume.sh: checkpoints users can trust, tested on the real binary under mpirun.
#   e2e_resume.sh CASE BUILD_DIR
# Exactness is judged by state_checksum, which `nn-train --verify` recomputes from the file:
# FNV-1a over every parameter, optimizer moment and the run's position, so equal checksums
# mean bit-identical state.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "$2" resume-
# wait_for_checkpoint DIR: until the first checkpoint in DIR is complete, while the job in
# the background ($bg) runs. The event is polled with shell built-ins only, no sleep: how
# long it takes does not matter (ctest's timeout guards against a hang).
wait_for_checkpoint() {
    until [ -f "$1/latest" ]; do
        kill -0 "$bg" 2>/dev/null || fail "the job ended before a checkpoint appeared in $1"
    done
}

# 4000 samples, batch 64: 57 steps per epoch after the 10% holdout (partial last batch).
ARGS=(--layers 10,32,4 --epochs 3 --batch 64 --quiet --keep 1000)
setup_data() { "$make_data" blobs d.h5 4000 10 4 9 0 2.0; }

case_exact() {
    setup_data
    run_np 2 --data d.h5 "${ARGS[@]}" --checkpoint-dir full --checkpoint-every-steps 10 \
        --metrics full.csv
    want=$(checksum "$(newest full)")
    say "uninterrupted run: final state checksum $want"
    # Resume from an epoch boundary, from inside epoch 2 and from the first steps of epoch 1.
    for start in ckpt-e000001-s000000057.h5 ckpt-e000001-s000000090.h5 ckpt-e000000-s000000010.h5; do
        [ -f "full/$start" ] || fail "expected checkpoint full/$start; have: $(ls full | head -30)"
        rm -rf part && mkdir part && cp "full/$start" part/
        cp full.csv part.csv
        run_np 2 --data d.h5 "${ARGS[@]}" --checkpoint-dir part --resume auto --metrics part.csv
        got=$(checksum "$(newest part)")
        [ "$got" = "$want" ] || fail "resumed from $start: final checksum $got, expected $want"
        # the metrics of the resumed run equal the uninterrupted run's (time columns aside)
        diff <(cut -d, -f1-5 full.csv) <(cut -d, -f1-5 part.csv) >/dev/null ||
            fail "resumed from $start: metrics differ: $(diff <(cut -d, -f1-5 full.csv) <(cut -d, -f1-5 part.csv))"
        say "resumed from $start: bit-identical final state and metrics"
    done
    # --resume FILE works too, and a finished run has nothing left to do
    out=$(run_np 2 --data d.h5 --layers 10,32,4 --resume "$(newest full)" --checkpoint-dir fin 2>&1)
    grep -q "nothing to do" <<<"$out" || fail "resuming a finished run: $out"
}

case_signal() {
    # A longer run so that the signal lands inside it: 40000 samples, 563 steps per epoch.
    "$make_data" blobs big.h5 40000 64 8 3 0 3.0
    A=(--data big.h5 --layers 64,128,128,8 --epochs 5 --batch 64 --quiet --keep 100)
    run_np 2 "${A[@]}" --checkpoint-dir ref --metrics ref.csv
    want=$(checksum "$(newest ref)")
    rc=0
    # SIGUSR1 to mpirun (forwarded to the ranks, as Slurm's --signal=B:USR1 is by the job
    # script), twice in quick succession: the second arrives while the first is being saved.
    # Rank 1 sends them to its parent, mpirun, when it reaches step 700 (inside epoch 2;
    # NN_TEST_FREEZE_SIGNAL), so they land mid-run whatever the machine's speed.
    NN_TEST_FREEZE=allreduce:1:700 NN_TEST_FREEZE_SIGNAL=$(kill -l USR1):parent \
        mpirun -np 2 -x NN_TEST_FREEZE -x NN_TEST_FREEZE_SIGNAL "$train" "${A[@]}" \
        --checkpoint-dir u --metrics u.csv >u.out 2>&1 || rc=$?
    [ "$rc" = 75 ] || { cat u.out >&2; fail "mpirun after SIGUSR1: exit status $rc, expected 75"; }
    stopped=$(newest u)
    case $stopped in *ckpt-e000005-*) fail "the signal came too late to test" ;; esac
    run_np 2 "${A[@]}" --checkpoint-dir u --resume auto --metrics u.csv
    got=$(checksum "$(newest u)")
    [ "$got" = "$want" ] || fail "after SIGUSR1 at $(basename "$stopped") and resume: $got, expected $want"
    diff <(cut -d, -f1-5 ref.csv) <(cut -d, -f1-5 u.csv) >/dev/null || fail "metrics differ after SIGUSR1"
    say "SIGUSR1 x2 -> checkpoint $(basename "$stopped"), exit 75, resume: bit-identical"
    # SIGTERM to a plain single process, resumed on 1 rank.
    run_np plain "${A[@]}" --checkpoint-dir r1 >/dev/null
    want1=$(checksum "$(newest r1)")
    rc=0
    NN_TEST_FREEZE=allreduce:0:700 NN_TEST_FREEZE_SIGNAL=$(kill -l TERM):self \
        "$train" "${A[@]}" --checkpoint-dir t >t.out 2>&1 || rc=$?
    [ "$rc" = 75 ] || { cat t.out >&2; fail "plain process after SIGTERM: exit status $rc, expected 75"; }
    run_np plain "${A[@]}" --checkpoint-dir t --resume auto
    got=$(checksum "$(newest t)")
    [ "$got" = "$want1" ] || fail "after SIGTERM and resume: $got, expected $want1"
    say "SIGTERM (single process) -> exit 75, resume: bit-identical"
}

case_interval() {
    # --checkpoint-interval: rank 0's clock asks for a checkpoint, all ranks agree through the
    # step's allreduce. The interval is sized from this machine's speed, measured here: an
    # eighth of an epoch of the run itself, so that several time-based checkpoints land inside
    # the epochs (steps that are not multiples of 563) on a fast or a slow machine. A run
    # resumed from one of them still ends bit-identical.
    "$make_data" blobs big.h5 40000 64 8 3 0 3.0
    A=(--data big.h5 --layers 64,128,128,8 --epochs 3 --batch 64 --quiet --keep 100)
    run_np 2 "${A[@]}" --epochs 1 --metrics speed.csv
    epoch_s=$(tail -1 speed.csv | cut -d, -f7)
    interval=$(awk -v s="$epoch_s" 'BEGIN { printf "%.6f", s / 8 }')
    # (--checkpoint-every 1000: no epoch checkpoints resetting the clock, only the final one.)
    # A machine that sped up between the runs may give fewer; halve the interval and retry.
    for try in 1 2 3 4 5; do
        rm -rf iv
        run_np 2 "${A[@]}" --checkpoint-dir iv --checkpoint-interval "$interval" --checkpoint-every 1000
        ls iv | sed -n 's/ckpt-e[0-9]*-s0*\([0-9][0-9]*\)\.h5/\1/p' | awk '$1 % 563' >inside.txt
        inside=$(wc -l <inside.txt)
        [ "$inside" -ge 2 ] && break
        say "interval ${interval}s (epoch ${epoch_s}s): $inside checkpoints inside epochs; halving"
        interval=$(awk -v s="$interval" 'BEGIN { printf "%.6f", s / 2 }')
    done
    [ "$inside" -ge 2 ] || fail "expected time-based checkpoints inside the epochs: $(ls iv)"
    want=$(checksum "$(newest iv)")
    mid=$(ls iv/ckpt-*-s"$(printf %09d "$(head -1 inside.txt)")".h5)
    mkdir iv2 && cp "$mid" iv2/
    run_np 2 "${A[@]}" --checkpoint-dir iv2 --resume auto
    [ "$(checksum "$(newest iv2)")" = "$want" ] || fail "resumed from $mid: a different final state"
    say "interval ${interval}s (an epoch took ${epoch_s}s): $inside time-based checkpoints" \
        "inside epochs; resumed from $(basename "$mid"): bit-identical"
}

case_world() {
    # A checkpoint written by 2 ranks resumes on 1 and on 4; the change is logged. With
    # --no-shuffle the data order does not depend on the rank count, so the result matches
    # the 2-rank run to rounding.
    setup_data
    run_np 2 --data d.h5 "${ARGS[@]}" --no-shuffle --checkpoint-dir two --checkpoint-every-steps 30 \
        --metrics two.csv
    for np in plain 4; do
        rm -rf w && mkdir w && cp two/ckpt-e000001-s000000060.h5 w/
        cp two.csv w.csv
        out=$(run_np $np --data d.h5 --layers 10,32,4 --batch 64 --keep 1000 --checkpoint-dir w \
              --resume auto --metrics w.csv)
        grep -q "instead of 2" <<<"$out" || fail "np $np: the change of rank count is not logged: $out"
        a=$(tail -1 two.csv | cut -d, -f4); b=$(tail -1 w.csv | cut -d, -f4)
        awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-4 * a) }' ||
            fail "np $np: final val_loss $b, the 2-rank run's $a"
        say "2-rank checkpoint resumed at np $np: final val_loss $b (2 ranks: $a)"
    done
}

case_rules() {
    setup_data
    run_np 2 --data d.h5 "${ARGS[@]}" --epochs 1 --checkpoint-dir c
    ck=$(newest c)
    expect() { # expect STATUS PATTERN ARGS...
        local want=$1 pat=$2; shift 2
        rc=0; run_np 2 "$@" >o.txt 2>e.txt || rc=$?
        [ "$rc" = "$want" ] || { cat o.txt e.txt >&2; fail "$*: status $rc, expected $want"; }
        grep -q -- "$pat" o.txt e.txt || { cat o.txt e.txt >&2; fail "$*: no '$pat'"; }
        echo "  $(grep -h -- "$pat" o.txt e.txt | head -1)"
    }
    expect 2 "does not match the checkpoint's model 10,32,4" --data d.h5 --layers 10,16,4 --resume "$ck"
    expect 2 "activation tanh does not match" --data d.h5 --activation tanh --resume "$ck"
    expect 2 "seed 7 differs" --data d.h5 --seed 7 --resume "$ck"
    expect 2 "cannot resume a checkpoint of adam" --data d.h5 --optimizer sgd --resume "$ck"
    expect 0 "lr changed from 0.001 to 0.0005" --data d.h5 --lr 0.0005 --epochs 2 --resume "$ck"
    expect 0 "epochs changed from 1 to 2" --data d.h5 --epochs 2 --resume "$ck"
    # auto on an empty directory starts fresh (a batch script can always pass it)
    expect 0 "no checkpoint in fresh; starting fresh" --data d.h5 --layers 10,32,4 --epochs 1 \
        --checkpoint-dir fresh --resume auto
    # --keep: with a checkpoint every 5 steps, only the newest 3 stay
    run_np 2 --data d.h5 --layers 10,32,4 --epochs 2 --checkpoint-dir k --checkpoint-every-steps 5 --quiet
    [ "$(ls k/*.h5 | wc -l)" = 3 ] || fail "--keep 3: $(ls k)"
    [ "k/$(cat k/latest)" = "$(newest k)" ] || fail "latest names $(cat k/latest), newest is $(newest k)"
    say "resume rules, fresh start and --keep hold"
}

case_damaged() {
    setup_data
    run_np 2 --data d.h5 "${ARGS[@]}" --checkpoint-dir c --checkpoint-every-steps 20
    good=$(ls c/*.h5 | sort | tail -2 | head -1)
    last=$(newest c)
    # a truncated newest checkpoint: --resume auto warns, names it, and takes the previous one
    head -c 3000 "$last" >cut.h5 && cp cut.h5 "$last"
    out=$(run_np 2 --data d.h5 --layers 10,32,4 --batch 64 --keep 1000 --checkpoint-dir c \
          --resume auto --epochs 3 2>&1)
    grep -q "warning: $last: .*falling back" <<<"$out" || fail "no fallback warning: $out"
    grep -q "resume: $good" <<<"$out" || fail "did not resume from $good: $out"
    say "truncated newest checkpoint: warned and fell back to $(basename "$good")"
    # explicit bad checkpoints: one line, status 1, nothing written, the file untouched
    cp "$good" foreign.h5
    /usr/bin/python3 - <<'EOF'
import h5py
with h5py.File("foreign.h5", "r+") as f:
    f.attrs.modify("format_version", 99)
EOF
    for bad in "cut.h5:not a readable HDF5 file" "d.h5:not an nn-train checkpoint" \
               "foreign.h5:format_version 99; this nn-train reads versions 1 to 4" \
               "missing.h5:cannot open checkpoint"; do
        f=${bad%%:*} pat=${bad#*:}
        sum_before=$(md5sum "$f" 2>/dev/null || true)
        rc=0; run_np 2 --data d.h5 --resume "$f" --metrics m.csv --checkpoint-dir out >o.txt 2>e.txt || rc=$?
        [ "$rc" = 1 ] || fail "--resume $f: status $rc"
        [ "$(grep -c error e.txt)" = 1 ] && grep -q "$pat" e.txt || { cat e.txt >&2; fail "--resume $f: message"; }
        [ ! -e m.csv ] && [ ! -e out ] || fail "--resume $f: output written"
        [ "$sum_before" = "$(md5sum "$f" 2>/dev/null || true)" ] || fail "--resume $f: file changed"
        echo "  $(cat e.txt)"
    done
    # --verify on bad files
    rc=0; "$train" --verify cut.h5 >o.txt 2>e.txt || rc=$?
    [ "$rc" = 1 ] && grep -q "cut.h5" e.txt || fail "--verify cut.h5: status $rc $(cat e.txt)"
}

case_write_fail() {
    # A checkpoint write that fails (here: its temporary path is taken by a directory, as a
    # full disk or a lost permission would fail it) is reported, training goes on, the
    # previous checkpoint stays, and later writes succeed.
    setup_data
    mkdir -p c/ckpt-e000001-s000000057.h5.tmp/block
    run_np 2 --data d.h5 "${ARGS[@]}" --checkpoint-dir c >o.txt 2>e.txt ||
        fail "the run failed on a failed checkpoint write: $(cat e.txt)"
    grep -q "writing the checkpoint failed.*training goes on" e.txt || fail "not reported: $(cat e.txt)"
    [ ! -e c/ckpt-e000001-s000000057.h5 ] || fail "a checkpoint appeared despite the failure"
    checksum "$(newest c)" >/dev/null
    say "failed write reported ($(head -1 e.txt)); training went on; later checkpoints fine"
    # A file size limit (8 MiB) makes every write of a 22 MB checkpoint fail part-way with
    # EFBIG, as a full disk would: the checkpoint from before stays intact and still loads.
    "$make_data" blobs w.h5 500 784 4 1
    W=(--data w.h5 --layers 784,1024,1024,4 --quiet)
    run_np plain "${W[@]}" --epochs 1 --checkpoint-dir c2
    before=$(checksum "$(newest c2)")
    # The run trains on, but its final checkpoint fails too, so it must not report success.
    rc=0
    (trap '' XFSZ; ulimit -f 8192; run_np plain "${W[@]}" --epochs 3 --checkpoint-dir c2 \
        --resume auto >o.txt 2>e.txt) || rc=$?
    [ "$rc" = 1 ] || fail "a run whose final checkpoint failed exited $rc: $(cat e.txt)"
    grep -q "writing the checkpoint failed: File too large" e.txt || fail "size limit: $(cat e.txt)"
    grep -q "it was the run's final checkpoint (exit status 1)" e.txt ||
        fail "the failed final checkpoint is not named: $(cat e.txt)"
    [ "$(ls c2/*.h5)" = "$(newest c2)" ] && [ "$(checksum "$(newest c2)")" = "$before" ] ||
        fail "the previous checkpoint changed: $(ls c2)"
    ! ls c2 | grep -q '\.tmp$' || fail "a temporary file was left: $(ls c2)"
    say "writes failing part-way: reported, no temp file left, previous checkpoint intact"
}

case_crash() {
    # SIGKILL the writer at many points while it checkpoints after every step of a model
    # whose checkpoint takes tens of ms to write; after each kill the newest checkpoint must
    # verify and --resume auto must continue from it. Kill points are events, never delays:
    # two kills in three come as soon as a *.tmp shows that a write is under way (inside a
    # write), the third after the k-th complete checkpoint (k = 1..5, between writes).
    "$make_data" blobs c.h5 3000 784 10 5 0 4.0
    A=(--data c.h5 --layers 784,512,512,10 --batch 64 --epochs 1000000 --quiet --keep 2
       --checkpoint-every-steps 1)
    points=${NN_CRASH_POINTS:-30}
    mid=0 ok=0 resumed=0
    for i in $(seq 1 "$points"); do
        rm -rf k && mkdir k
        "$train" "${A[@]}" --checkpoint-dir k >/dev/null 2>&1 &
        bg=$!
        wait_for_checkpoint k
        if [ $((i % 3)) != 0 ]; then
            until compgen -G 'k/*.tmp' >/dev/null; do
                kill -0 "$bg" 2>/dev/null || fail "kill $i: the run ended by itself"
            done
        else
            want=$((i / 3 % 5 + 1))
            until [ "$(cat k/latest 2>/dev/null | sed -n 's/.*-s0*\([0-9]*\)\.h5/\1/p')" \
                    -ge "$want" ] 2>/dev/null; do
                kill -0 "$bg" 2>/dev/null || fail "kill $i: the run ended by itself"
            done
        fi
        kill -9 "$bg" 2>/dev/null || true
        wait "$bg" 2>/dev/null || true
        bg=""
        ls k | grep -q '\.tmp$' && mid=$((mid + 1))
        n=$(find k -name "ckpt-*.h5" | wc -l)
        [ "$n" -ge 1 ] || fail "kill $i: no complete checkpoint at all"
        checksum "$(newest k)" >/dev/null
        ok=$((ok + 1))
        [ -f k/latest ] && { [ -f "k/$(cat k/latest)" ] || fail "latest names a missing file"; }
        # every fifth kill: --resume auto takes the newest good checkpoint and trains on
        if [ $((i % 5)) = 0 ]; then
            from=$(basename "$(newest k)")
            out=$(run_np plain "${A[@]}" --epochs 1 --checkpoint-every-steps 0 --checkpoint-dir k \
                  --resume auto --quiet 2>&1) ||
                fail "kill $i: --resume auto failed: $out"
            case $(basename "$(newest k)") in "$from") fail "kill $i: resume from $from wrote nothing" ;; esac
            resumed=$((resumed + 1))
        fi
    done
    [ "$mid" -ge $((points / 2)) ] || fail "only $mid of $points kills landed inside a write"
    say "$points SIGKILLs, $mid of them during a write (a *.tmp present): the newest checkpoint" \
        "verified every time ($ok checked); --resume auto continued $resumed times of $resumed"
}

case_flip() {
    # Flip one byte at many places in a checkpoint: --verify must either reject the copy,
    # naming it, or report the very same state (a byte nobody reads, such as padding).
    # A model whose tensors fill most of the file (200 kB of 280 kB), so most flips hit data.
    setup_data
    run_np 2 --data d.h5 --layers 10,128,128,4 --epochs 1 --quiet --checkpoint-dir c
    ck=$(newest c)
    want=$(checksum "$ck")
    size=$(stat -c %s "$ck")
    flips=${NN_FLIP_POINTS:-80}
    caught=0 harmless=0
    for i in $(seq 0 $((flips - 1))); do
        off=$((i * size / flips + i % 7))
        cp "$ck" x.h5
        /usr/bin/python3 -c "
import sys
f = open('x.h5', 'r+b'); f.seek($off); b = f.read(1); f.seek($off); f.write(bytes([b[0] ^ 0xFF])); f.close()"
        rc=0; "$train" --verify x.h5 >o.txt 2>e.txt || rc=$?
        if [ "$rc" != 0 ]; then
            grep -q "x.h5" e.txt || fail "offset $off: rejected without naming the file: $(cat e.txt)"
            caught=$((caught + 1))
        else
            got=$(sed -n 's/.*state checksum \([0-9a-f]*\) verified.*/\1/p' o.txt)
            [ "$got" = "$want" ] || fail "offset $off: a changed state verified ($got vs $want)"
            harmless=$((harmless + 1))
        fi
    done
    [ "$caught" -ge $((flips * 2 / 3)) ] || fail "only $caught of $flips flips detected"
    say "$flips byte flips: $caught rejected with the file named, $harmless harmless (same state)"
}

# The job's exit is judged against a hang guard, not a speed: the guard only has to tell
# "ended" from "hung until a scheduler's limit", so it is generous for slow or loaded machines.
HANG_GUARD=120
# ended_within SECONDS: waits for the background job $bg to end (rc gets its status); 1 if it
# is still running after SECONDS (it is then left to the cleanup, which kills it).
ended_within() {
    timeout "$1" tail --pid="$bg" -f /dev/null || return 1
    set +e; wait "$bg"; rc=$?; set -e
    bg=""
}

case_rank_death() {
    # SIGKILL one rank mid-run: the job ends with a non-zero status, no hang, and the last
    # checkpoint stays intact. The run is far longer than any machine needs to reach the kill
    # (a million epochs of a small set), so the kill always lands mid-run.
    setup_data
    mpirun -np 2 "$train" --data d.h5 --layers 10,32,4 --epochs 1000000 --batch 64 --quiet \
        --checkpoint-dir c --checkpoint-every-steps 100 >o.txt 2>&1 &
    bg=$!
    wait_for_checkpoint c
    victim=$(pgrep -P "$bg" -f "$train" | tail -1)
    [ -n "$victim" ] || fail "no rank process found"
    t0=$(date +%s.%N)
    kill -9 "$victim"
    ended_within "$HANG_GUARD" || fail "the job was still running $HANG_GUARD s after a rank was killed"
    took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    [ "$rc" != 0 ] || fail "the job exited 0 after a rank was killed"
    checksum "$(newest c)" >/dev/null
    say "a rank SIGKILLed: job ended in $took s with status $rc; last checkpoint verifies"
}

# frozen NAME STEP RANK PATTERN [ARGS...]: with NN_TEST_FREEZE=NAME:RANK:STEP the rank stops
# itself (SIGSTOP) on reaching that wait, exactly there whatever the machine's speed; the job
# must then end with status 3 and a line naming PATTERN, within the --comm-timeout of 2 s
# plus whatever the machine needs to end the processes (bounded by HANG_GUARD).
frozen() {
    local name=$1 step=$2 rank=$3 pat=$4
    shift 4
    rm -rf fz
    local t0 took
    t0=$(date +%s.%N)
    NN_TEST_FREEZE="$name:$rank:$step" mpirun -np 2 -x NN_TEST_FREEZE "$train" --data d.h5 \
        --layers 10,32,4 --batch 64 --quiet --comm-timeout 2 --checkpoint-dir fz "$@" \
        >o.txt 2>e.txt &
    bg=$!
    if ! ended_within "$HANG_GUARD"; then
        pkill -9 -P "$bg" 2>/dev/null || true
        fail "$name: the job hung (still running after $HANG_GUARD s)"
    fi
    took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    [ "$rc" = 3 ] || { cat o.txt e.txt >&2; fail "$name: exit status $rc, expected 3"; }
    grep -q "$pat has not completed after 2 s (--comm-timeout)" e.txt ||
        { cat e.txt >&2; fail "$name: no line naming '$pat'"; }
    say "rank $rank frozen at '$name': $(grep -o "$pat" e.txt | head -1); ended in $took s"
}

case_comm_timeout() {
    # A rank that stops answering (SIGSTOP) at any point where the others wait for it turns
    # into one line naming the wait and the step, and status 3, instead of a hang.
    setup_data
    # the step's gradient sum: the shared-memory spins, and MPI_Allreduce
    frozen allreduce 30 1 "allreduce at step 30" --epochs 3
    frozen allreduce 30 1 "allreduce at step 30" --epochs 3 --allreduce mpi
    # rank 0 frozen as it starts writing a checkpoint: rank 1 waits for the write
    frozen "checkpoint write" 20 0 "checkpoint write at step 20" --epochs 3 \
        --checkpoint-every-steps 20
    # after the last collective: freeing the shared windows, and MPI_Finalize
    frozen "shared-memory release" 0 1 "shared-memory release at step 171" --epochs 3
    frozen MPI_Finalize 0 1 "MPI_Finalize at step 171" --epochs 3
    # before the first step: the shared-memory set-up
    frozen "shared-memory set-up" 0 1 "shared-memory set-up at step 0" --epochs 3
    # A real SIGSTOP from outside, once the run is under way (its first checkpoint exists);
    # the run is far longer than any machine needs to get there.
    mpirun -np 2 "$train" --data d.h5 --layers 10,32,4 --epochs 1000000 --batch 64 --quiet \
        --checkpoint-dir out --checkpoint-every-steps 50 --comm-timeout 2 >o.txt 2>e.txt &
    bg=$!
    wait_for_checkpoint out
    victim=$(pgrep -P "$bg" -f "$train" | tail -1)
    t0=$(date +%s.%N)
    kill -STOP "$victim"
    ended_within "$HANG_GUARD" || fail "the job was still running $HANG_GUARD s after a rank was stopped"
    kill -CONT "$victim" 2>/dev/null || true
    took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    [ "$rc" = 3 ] || { cat e.txt >&2; fail "external SIGSTOP: exit status $rc, expected 3"; }
    grep -q "at step [0-9]* has not completed after 2 s (--comm-timeout)" e.txt ||
        fail "no watchdog message: $(cat e.txt)"
    say "SIGSTOP from outside: $(grep -o '[a-z ]* at step [0-9]* has not completed after 2 s' e.txt |
        head -1); job ended in $took s (status $rc)"
}

"case_$case_name"
echo "PASS [$case_name]"
