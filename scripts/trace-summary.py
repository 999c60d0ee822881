#!/usr/bin/python3
"""trace-summary.py: what a timeline written by nn-train --trace says, in a table.

    scripts/trace-summary.py TRACE.json

For each rank, the mean time per traced step of each kind of span (step, forward, loss,
backward per layer, and the gradient sum's wait, add, allreduce and optimizer), in ms, and
each kind's share of the step. The spans of the sum follow one another inside it, so their
shares add up to the sum's part of the step; forward, loss and backward to the compute's.
"""
import json
import sys
from collections import defaultdict


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: trace-summary.py TRACE.json")
    doc = json.load(open(sys.argv[1]))
    total = defaultdict(float)  # (pid, name) -> microseconds
    steps = defaultdict(set)
    names = []
    for e in doc["traceEvents"]:
        if e.get("ph") != "X":
            continue
        total[(e["pid"], e["name"])] += e["dur"]
        steps[e["pid"]].add(e["args"]["step"])
        if e["name"] not in names:
            names.append(e["name"])
    order = ["step", "forward", "loss"] + sorted(n for n in names if n.startswith("backward"))[::-1]
    order += [n for n in ("wait", "add", "allreduce", "optimizer") if n in names]
    print("| rank | steps | " + " | ".join(order) + " |")
    print("|---:|---:|" + "---:|" * len(order))
    for pid in sorted(steps):
        n = len(steps[pid])
        step = total[(pid, "step")] / n
        cells = []
        for k in order:
            ms = total[(pid, k)] / n / 1000.0
            cells.append("%.3f" % ms if k == "step" else "%.3f (%.0f%%)" % (ms, 100.0 * ms * 1000.0 / step))
        print("| %d | %d | %s |" % (pid, n, " | ".join(cells)))
    print("\nmean ms per step (share of the step); dropped events: %s"
          % doc.get("otherData", {}).get("dropped_events"))


main()
