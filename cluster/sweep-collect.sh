#!/bin/bash
# sweep-collect.sh: the results of a sweep (cluster/sweep.sbatch) as one table, one row per
# array task, from each task's config and metrics.csv.
#
#   cluster/sweep-collect.sh [--csv] SWEEP_DIR
#
# Columns: task, epochs (completed), val_loss and val_accuracy of the last epoch, seconds
# (the sum of the per-epoch seconds: training time, resumed runs included), config. Rows
# are sorted by task; a task without metrics yet shows "-". Sort by val_loss with
#   cluster/sweep-collect.sh DIR | tail -n +2 | sort -g -k3
# --csv writes CSV instead (the config quoted).
set -euo pipefail

csv=0
[ "${1:-}" = --csv ] && { csv=1; shift; }
if [ $# != 1 ] || [ ! -d "$1" ]; then echo "usage: $0 [--csv] SWEEP_DIR" >&2; exit 2; fi
dir=${1%/}

tasks=()
for d in "$dir"/task-*; do
    [ -d "$d" ] && tasks+=("${d##*/task-}")
done
[ ${#tasks[@]} -gt 0 ] || { echo "$0: no task-* directories in $dir" >&2; exit 1; }
mapfile -t tasks < <(printf '%s\n' "${tasks[@]}" | sort -n)

if [ "$csv" = 1 ]; then
    echo "task,epochs,val_loss,val_accuracy,seconds,config"
else
    printf '%-5s %6s %12s %12s %9s  %s\n' task epochs val_loss val_accuracy seconds config
fi
for t in "${tasks[@]}"; do
    d=$dir/task-$t
    config=$(cat "$d/config" 2>/dev/null || echo "?")
    # metrics.csv: epoch,train_loss,reg_loss,val_loss,val_accuracy,samples_per_sec,seconds,...
    # (columns found by name, so added columns do not break this)
    row="- - - -"
    [ -s "$d/metrics.csv" ] && row=$(awk -F, '
        NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        NF > 1 { e = $col["epoch"]; vl = $col["val_loss"]; va = $col["val_accuracy"]
                 s += $col["seconds"]; n++ }
        END { if (n) printf "%s %s %s %.3f", e, vl, va, s; else print "- - - -" }
    ' "$d/metrics.csv")
    read -r epochs vloss vacc secs <<<"$row"
    if [ "$csv" = 1 ]; then
        printf '%s,%s,%s,%s,%s,"%s"\n' "$t" "$epochs" "$vloss" "$vacc" "$secs" "${config//\"/\"\"}"
    else
        printf '%-5s %6s %12s %12s %9s  %s\n' "$t" "$epochs" "$vloss" "$vacc" "$secs" "$config"
    fi
done
