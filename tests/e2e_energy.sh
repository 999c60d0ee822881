#!/bin/bash
# e2e_energy.sh: the energy figures of nn-train and nn-predict (docs/energy.md).
#   tests/e2e_energy.sh CASE BUILD_DIR
# CASE:
#   estimate  no RAPL counters (NN_TEST_POWERCAP_DIR names an empty directory): at 2 ranks,
#             every output says "estimate": the banner, each epoch line, the --metrics column
#             energy_source and the summary; each epoch's energy_j is its cpu_s x
#             --watts-per-core and co2e_g is energy_j / 3.6e6 x --grid-intensity; the summary's
#             joules are the epochs' sum and its J per 1,000 training samples that sum over
#             the samples; nn-predict's summary the same per 1,000 predictions
#   rapl      a fake powercap tree whose package counter is a FIFO fed one value per read, with
#             a wrap-around between epochs: at 2 ranks on one host, only one rank reads it
#             (a second reader would take values or hang), each epoch's energy_j is exactly the
#             counter's increase, the source is rapl and no output says estimate; nn-predict's
#             summary likewise
set -euo pipefail
. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "${2:-}" energy-

"$make_data" blobs b.h5 400 8 3 5 100 >/dev/null || fail "make_data"
# col FILE NAME: the values of the --metrics column NAME, one per line
col() { awk -F, -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next } { print $k }' "$1"; }
# close A B RTOL
close() { awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { d = a - b; if (d < 0) d = -d;
    m = b < 0 ? -b : b; if (m < 1e-12) m = 1e-12; exit !(d <= r * m) }'; }
summary_j() { sed -n 's/^energy \([0-9.e+-]*\) J for .*/\1/p' "$1"; }
per_1000() { sed -n 's/.*): \([0-9.e+-]*\) J per 1,000 .*/\1/p' "$1"; }
samples() { sed -n 's/^energy [0-9.e+-]* J for \([0-9]*\) .*/\1/p' "$1"; }

case $case_name in
estimate)
    mkdir empty
    export NN_TEST_POWERCAP_DIR=$PWD/empty
    run_np 2 --data b.h5 --layers 8,16,3 --epochs 3 --batch 32 --metrics m.csv \
        --watts-per-core 20 --grid-intensity 400 >train.log 2>&1 || { cat train.log >&2; fail "nn-train"; }
    grep -q '^energy estimate: CPU seconds x 20 W/core' train.log || fail "banner: $(grep ^energy train.log)"
    [ "$(grep -c '^epoch .* J (estimate)$' train.log)" = 3 ] || fail "epoch lines without '(estimate)'"
    [ "$(col m.csv energy_source | sort -u)" = estimate ] || fail "energy_source: $(col m.csv energy_source | sort -u)"
    paste -d' ' <(col m.csv energy_j) <(col m.csv cpu_s) <(col m.csv co2e_g) >rows.txt
    while read -r j c g; do
        close "$j" "$(awk -v c="$c" 'BEGIN { printf "%.9g", c * 20 }')" 1e-6 ||
            fail "energy_j $j is not cpu_s $c x 20 W"
        close "$g" "$(awk -v j="$j" 'BEGIN { printf "%.9g", j / 3.6e6 * 400 }')" 1e-6 ||
            fail "co2e_g $g is not $j J at 400 gCO2e/kWh"
    done <rows.txt
    sum=$(col m.csv energy_j | awk '{ s += $1 } END { printf "%.9g", s }')
    grep '^energy .* training samples' train.log >s.txt || fail "no energy summary: $(tail -3 train.log)"
    total=$(summary_j s.txt)
    grep -q 'estimate: CPU seconds x 20 W/core' s.txt || fail "summary not labelled: $(cat s.txt)"
    grep -q 'gCO2e at 400 gCO2e/kWh (estimate)' s.txt || fail "emissions not labelled: $(cat s.txt)"
    close "$total" "$sum" 1e-3 || fail "summary $total J, the epochs add up to $sum J"
    n=$(samples s.txt)
    [ "$n" = 1200 ] || fail "summary: $n training samples; expected 3 epochs x 400"
    close "$(per_1000 s.txt)" "$(awk -v t="$total" -v n="$n" 'BEGIN { print 1000 * t / n }')" 1e-3 ||
        fail "J per 1,000 training samples: $(per_1000 s.txt)"
    run_np 2 --data b.h5 --layers 8,16,3 --epochs 1 --checkpoint-dir ck --quiet || fail "nn-train ck"
    mpi_run 2 "$predict" --model "$(newest ck)" --data b.h5 --watts-per-core 20 >p.log 2>&1 ||
        { cat p.log >&2; fail "nn-predict"; }
    grep '^energy ' p.log >ps.txt || fail "nn-predict: no energy line"
    grep -q 'J for 100 predictions (estimate: CPU seconds x 20 W/core' ps.txt ||
        fail "nn-predict: $(cat ps.txt)"
    close "$(per_1000 ps.txt)" "$(awk -v t="$(summary_j ps.txt)" 'BEGIN { print 10 * t }')" 1e-3 ||
        fail "nn-predict: J per 1,000 predictions $(per_1000 ps.txt)"
    say "estimate: labelled everywhere, cpu_s x W per epoch, sums and rates consistent"
    ;;
rapl)
    command -v mkfifo >/dev/null || skip "mkfifo missing"
    mkdir -p pc/intel-rapl:0
    printf 'package-0\n' >pc/intel-rapl:0/name
    printf '1000000000\n' >pc/intel-rapl:0/max_energy_range_uj
    mkfifo pc/intel-rapl:0/energy_uj
    export NN_TEST_POWERCAP_DIR=$PWD/pc
    # feed VALUES...: the counter's values, one per read, in the background ($feeder is its
    # pid). The feeder holds the FIFO open for writing the whole time (so a reader needs no
    # end of file: fscanf stops at the newline) and writes the next value only when the pipe
    # is empty again (FIONREAD 0: a reader's one read() took the last one); a reader that
    # comes early waits in read() for it. A read too many waits for ever (mpi_run's hang guard);
    # a read too few leaves values unread (fed fails).
    feed() {
        /usr/bin/python3 - pc/intel-rapl:0/energy_uj "$@" <<'PY' &
import array, fcntl, os, sys, termios, time
fd = os.open(sys.argv[1], os.O_RDWR)  # never blocks; this process only writes
def pending():
    n = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, n)
    return n[0]
for v in sys.argv[2:]:
    os.write(fd, (v + "\n").encode())
    while pending():  # until a reader has taken it
        time.sleep(0.0005)
PY
        feeder=$!
    }
    # fed: every value was taken (the feeder is gone), else fail naming what
    fed() {
        timeout 20 tail --pid="$feeder" -f /dev/null ||
            { kill "$feeder" 2>/dev/null; fail "$1 read the counter fewer times than expected"; }
    }
    # the start, then epochs of +0.5 J, +0.8 J (wrapping at 1e9 uJ) and +1 J
    feed 999000000 999500000 300000 1300000
    mpi_run 2 "$train" --data b.h5 --layers 8,16,3 --epochs 3 \
        --batch 32 --metrics m.csv --checkpoint-dir ck >train.log 2>&1 ||
        { cat train.log >&2; kill "$feeder" 2>/dev/null; fail "nn-train with the fake counter (a hang: a second reader?)"; }
    fed nn-train
    grep -q '^energy RAPL, 1 host' train.log || fail "banner: $(grep ^energy train.log)"
    ! grep -q estimate train.log m.csv || fail "an output says estimate: $(grep -h estimate train.log m.csv | head -2)"
    [ "$(col m.csv energy_j | tr '\n' ' ')" = "0.5 0.8 1 " ] ||
        fail "energy_j per epoch: $(col m.csv energy_j | tr '\n' ' '); expected 0.5 0.8 1 (the wrap)"
    [ "$(col m.csv energy_source | sort -u)" = rapl ] || fail "energy_source: $(col m.csv energy_source | sort -u)"
    grep '^energy .* training samples' train.log >s.txt || fail "no summary"
    [ "$(summary_j s.txt)" = 2.3 ] || fail "summary: $(cat s.txt); expected 2.3 J"
    close "$(per_1000 s.txt)" "$(awk 'BEGIN { print 1000 * 2.3 / 1200 }')" 1e-3 ||
        fail "J per 1,000 training samples: $(cat s.txt)"
    feed 5000000 5250000
    mpi_run 2 "$predict" --model "$(newest ck)" --data b.h5 >p.log 2>&1 ||
        { cat p.log >&2; kill "$feeder" 2>/dev/null; fail "nn-predict with the fake counter"; }
    fed nn-predict
    grep -q '^energy 0.25 J for 100 predictions (RAPL, 1 host' p.log || fail "nn-predict: $(grep ^energy p.log)"
    say "RAPL: read by one rank of the host, 0.5 + 0.8 (wrapped) + 1 J = 2.3 J; nn-predict 0.25 J"
    ;;
*) fail "unknown case (estimate rapl)" ;;
esac
