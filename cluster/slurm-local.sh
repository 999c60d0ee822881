#!/usr/bin/env bash
# slurm-local.sh: a throw-away single-node Slurm (munged, slurmctld, slurmd) on localhost,
# with its configuration, state, logs and munge key all inside one directory. It is meant
# for testing the batch scripts in cluster/ (tests/e2e_cluster.sh uses it) on a machine or
# container without systemd or cgroups, as root.
#
#   cluster/slurm-local.sh start  DIR   wipe DIR, write the configuration, start the daemons,
#                                       wait until the node is idle
#   cluster/slurm-local.sh stop   DIR   cancel every job, then stop only the daemons that
#                                       'start' recorded in DIR/pids (never anything else)
#   cluster/slurm-local.sh status DIR   exit 0 when all three daemons run
#
# After start, every Slurm client command needs SLURM_CONF:   . DIR/env.sh
#
# Settings (environment):
#   SLURM_LOCAL_CTLD_PORT    slurmctld port (6817); tests pick free, non-default ports
#   SLURM_LOCAL_SLURMD_PORT  slurmd port (ctld port + 1)
#   SLURM_LOCAL_CPUS         CPUs the node advertises (max(4, nproc)); may exceed the cores
#   SLURM_LOCAL_FIRST_JOB_ID first job id (1); distinct ids keep two instances' srun --mpi=pmix
#                            scratch directories (/tmp/spmix_appdir_*_JOB.STEP) apart
#   SLURM_LOCAL_TIMEOUT      seconds to wait for the daemons (60)
#   SLURM_LOCAL_CLEAN=1      'stop' also deletes DIR
# Needs: apt-get install -y --no-install-recommends slurm-wlm munge   (Debian 12: Slurm 22.05)
set -euo pipefail

usage() { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }
[ $# = 2 ] || usage
cmd=$1
DIR=$2
case "$DIR" in /*) ;; *) DIR="$PWD/$DIR" ;; esac
DIR=${DIR%/}
CONF=$DIR/etc/slurm.conf
PIDS=$DIR/pids
SOCK=$DIR/munge/munge.socket.2
CTLD_PORT=${SLURM_LOCAL_CTLD_PORT:-6817}
SLURMD_PORT=${SLURM_LOCAL_SLURMD_PORT:-$((CTLD_PORT + 1))}
TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}

log() { printf '[slurm-local] %s\n' "$*" >&2; }
starting=0
die() {
    log "error: $*"
    if [ "$starting" = 1 ]; then
        starting=0
        log "start failed; stopping what it started (logs kept in $DIR/log)"
        SLURM_LOCAL_CLEAN=0 do_stop || true
    fi
    exit 1
}

# A live process: it exists and is not a zombie (kill -0 succeeds on a zombie, and daemons
# reparented to a slow init stay zombies for a while).
alive() {
    local st
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
# ...and still the program we started (guards against a reused PID)
is_ours() { alive "$1" && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }

start_daemon() { # NAME LOGFILE COMMAND...: start it in its own session, record "PID NAME"
    local name=$1 out=$2
    shift 2
    setsid "$@" </dev/null >"$out" 2>&1 &
    echo "$! $name" >>"$PIDS"
    log "started $name (pid $!)"
}

check_daemons() { # die when a recorded daemon has died
    local pid name
    while read -r pid name; do
        is_ours "$pid" "$name" || die "$name (pid $pid) died; see $DIR/log/$name.log"
    done <"$PIDS"
}

wait_until() { # SECONDS COMMAND...: poll COMMAND until it succeeds
    local end=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        [ -f "$PIDS" ] && check_daemons
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.2
    done
}

node_idle() { [ "$(sinfo -h -N -n "$HOST" -o %T 2>/dev/null)" = idle ]; }

do_start() {
    [ "$(id -u)" = 0 ] || die "run as root (the configuration has SlurmUser=root)"
    local b
    for b in munged munge unmunge slurmctld slurmd sinfo scontrol; do
        command -v "$b" >/dev/null ||
            die "$b not found: apt-get install -y --no-install-recommends slurm-wlm munge"
    done
    if [ -f "$PIDS" ]; then
        local pid name
        while read -r pid name; do
            is_ours "$pid" "$name" && die "already running in $DIR ($name pid $pid); stop it first"
        done <"$PIDS"
    fi
    starting=1
    local t0=$SECONDS cpus n
    HOST=$(hostname -s)
    n=$(nproc)
    cpus=${SLURM_LOCAL_CPUS:-$((n > 4 ? n : 4))}

    rm -rf "$DIR"
    mkdir -p "$DIR"/etc "$DIR"/state "$DIR"/spool "$DIR"/log "$DIR"/run "$DIR"/munge
    : >"$PIDS"
    # munged refuses a socket directory that is not a+x or that group/other may write
    chmod 755 "$DIR" "$DIR/munge"

    # munge with a key, socket, pid file and seed of its own: nothing under /etc or /run
    if ! mungekey --create --keyfile="$DIR/munge/munge.key" 2>/dev/null; then
        dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
    fi
    chmod 600 "$DIR/munge/munge.key"
    start_daemon munged "$DIR/log/munged.log" munged --foreground --force \
        --socket="$SOCK" --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/run/munged.pid" --seed-file="$DIR/munge/munged.seed"
    # shellcheck disable=SC2016 # $1 expands in the inner shell
    wait_until 15 bash -c 'munge -n -S "$1" | unmunge -S "$1"' _ "$SOCK" ||
        die "munged does not answer; see $DIR/log/munged.log"

    cat >"$CONF" <<EOF
# written by cluster/slurm-local.sh: a single-node Slurm for tests, everything under $DIR
ClusterName=nnlocal
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
FirstJobId=${SLURM_LOCAL_FIRST_JOB_ID:-1}
# srun needs --mpi=pmix for Debian's Open MPI; none is the default on purpose (the tests
# check that the scripts ask for it)
MpiDefault=none
# no cgroups, no systemd: track processes by their parent links
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# the node may advertise more CPUs than it has cores
SlurmdParameters=config_overrides
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
InactiveLimit=0
KillWait=5
MinJobAge=300
OverTimeLimit=0
Waittime=0
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=local Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
    # slurmd 22.05 loads a cgroup plugin even with proctrack/linuxproc and task/none, and
    # 'autodetect' dies without a cgroup filesystem or on a hybrid layout; v1 loads in every
    # layout and never creates a cgroup.
    echo "CgroupPlugin=cgroup/v1" >"$DIR/etc/cgroup.conf"
    printf 'export SLURM_CONF=%q\n' "$CONF" >"$DIR/env.sh"
    export SLURM_CONF=$CONF

    # -D: stay in the foreground (so the recorded PID is the daemon); -c: fresh state
    start_daemon slurmctld "$DIR/log/slurmctld.out" slurmctld -D -c -f "$CONF"
    wait_until "$TIMEOUT" scontrol ping ||
        die "slurmctld does not answer on port $CTLD_PORT; see $DIR/log/slurmctld.log"
    start_daemon slurmd "$DIR/log/slurmd.out" slurmd -D -f "$CONF"
    wait_until "$TIMEOUT" node_idle ||
        die "node $HOST not idle after ${TIMEOUT}s; see $DIR/log/slurmd.log"
    starting=0
    log "ready in $((SECONDS - t0)) s: node $HOST idle with $cpus CPUs, ports $CTLD_PORT/$SLURMD_PORT; now: . $DIR/env.sh"
}

do_stop() {
    [ -s "$PIDS" ] || { log "nothing recorded in $PIDS: not running"; return 0; }
    export SLURM_CONF=$CONF
    local pid name order end jobs
    # 1. let Slurm end the jobs (and their slurmstepd) while the daemons still run
    if scontrol ping >/dev/null 2>&1; then
        jobs=$(squeue -h -o %A 2>/dev/null | tr '\n' ' ')
        if [ -n "${jobs// /}" ]; then
            log "cancelling jobs $jobs"
            # shellcheck disable=SC2086 # a list of job ids
            scancel $jobs 2>/dev/null || true
            end=$((SECONDS + 30))
            while [ -n "$(squeue -h -o %A 2>/dev/null)" ] && [ "$SECONDS" -lt "$end" ]; do
                sleep 0.3
            done
        fi
    fi
    # 2. the recorded daemons, newest first (slurmd, slurmctld, munged): TERM, then KILL
    order=$(tac "$PIDS")
    while read -r pid name; do
        [ -n "$pid" ] || continue
        is_ours "$pid" "$name" || continue
        kill -TERM "$pid" 2>/dev/null || true
        end=$((SECONDS + 15))
        while alive "$pid" && [ "$SECONDS" -lt "$end" ]; do sleep 0.1; done
        if alive "$pid"; then
            log "$name (pid $pid) ignored SIGTERM; SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped $name (pid $pid)"
    done <<<"$order"
    rm -f "$PIDS"
    if [ "${SLURM_LOCAL_CLEAN:-0}" = 1 ]; then
        rm -rf "$DIR"
        log "removed $DIR"
    fi
}

do_status() {
    [ -s "$PIDS" ] || { echo "not running (nothing recorded in $PIDS)"; return 1; }
    local pid name rc=0
    while read -r pid name; do
        if is_ours "$pid" "$name"; then echo "$name $pid running"; else echo "$name $pid DEAD"; rc=1; fi
    done <"$PIDS"
    SLURM_CONF=$CONF sinfo -N -o '%N %T %c' 2>/dev/null || rc=1
    return $rc
}

case "$cmd" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *) usage ;;
esac
