"""trace_check.py: checks a timeline written by nn-train --trace (tests/e2e_trace.sh).

    trace_check.py FILE RANKS FIRST LAST LAYERS SUM

FILE must be Chrome trace-event JSON with, for each of RANKS ranks (pid 0..RANKS-1, each named
by a process_name record), for each step FIRST..LAST and no other: one "step" span, and inside
it one "forward", one "loss", one "backward L" for each layer L = 1..LAYERS (from the last layer
to the first, in time order, after the loss) and at least one "optimizer" span (under shm: on
some rank, since a rank whose blocks the others took updates nothing). SUM says which
spans the gradient sum must show: none (one process: no add, wait or allreduce), shm (one node:
no allreduce, and some rank adds in every step: a rank whose blocks the others took adds
nothing), nodes (several nodes: every rank adds its slice and sums it between nodes), mpi
(MPI between all ranks: allreduce on every rank, no add). No event may be dropped. Prints what is wrong and exits 1.
"""
import json
import sys
from collections import defaultdict


def main():
    path, ranks, first, last, layers, kind = sys.argv[1:7]
    ranks, first, last, layers = int(ranks), int(first), int(last), int(layers)
    doc = json.load(open(path))
    errors = []
    if doc.get("otherData", {}).get("dropped_events") != 0:
        errors.append("dropped events: %r" % doc.get("otherData"))
    events = doc["traceEvents"]
    named = {e["pid"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
    if named != set(range(ranks)):
        errors.append("process_name records for pids %s, expected 0..%d" % (sorted(named), ranks - 1))
    spans = defaultdict(list)  # (pid, step) -> spans
    for e in events:
        if e["ph"] != "X":
            continue
        if e["dur"] < 0 or e["ts"] < 0:
            errors.append("a span with negative time: %r" % e)
        spans[(e["pid"], e["args"]["step"])].append(e)
    steps = sorted({s for (_, s) in spans})
    if steps != list(range(first, last + 1)):
        errors.append("steps %s traced, expected %d..%d" % (steps, first, last))
    want_bw = ["backward %d" % l for l in range(layers, 0, -1)]
    if kind == "shm":
        for s in range(first, last + 1):
            for what in ("add", "optimizer"):
                if not any(e["name"] == what for r in range(ranks) for e in spans.get((r, s), [])):
                    errors.append("step %d: no rank has a '%s' span" % (s, what))
    for r in range(ranks):
        for s in range(first, last + 1):
            ev = spans.get((r, s), [])
            names = [e["name"] for e in ev]
            for one in ["step", "forward", "loss"] + want_bw:
                if names.count(one) != 1:
                    errors.append("rank %d step %d: %d '%s' spans, expected 1" % (r, s, names.count(one), one))
            if names.count("optimizer") < 1 and kind != "shm":
                errors.append("rank %d step %d: no optimizer span" % (r, s))
            has = {n: n in names for n in ("add", "allreduce")}
            expect = {"none": (False, False), "shm": (has["add"], False), "nodes": (True, True),
                      "mpi": (False, True)}[kind]
            if (has["add"], has["allreduce"]) != expect:
                errors.append("rank %d step %d: add %s, allreduce %s; expected %s for '%s'"
                              % (r, s, has["add"], has["allreduce"], expect, kind))
            if kind == "none" and "wait" in names:
                errors.append("rank %d step %d: a wait span in a single process" % (r, s))
            step = [e for e in ev if e["name"] == "step"]
            if not step:
                continue
            a, b = step[0]["ts"], step[0]["ts"] + step[0]["dur"]
            for e in ev:  # inside the step, to the microsecond the file rounds to
                if e["ts"] < a - 0.002 or e["ts"] + e["dur"] > b + 0.002:
                    errors.append("rank %d step %d: '%s' [%.3f, %.3f] outside the step [%.3f, %.3f]"
                                  % (r, s, e["name"], e["ts"], e["ts"] + e["dur"], a, b))
            order = [e["name"] for e in sorted(ev, key=lambda e: e["ts"])
                     if e["name"] in ["forward", "loss"] + want_bw]
            if order != ["forward", "loss"] + want_bw:
                errors.append("rank %d step %d: order %s, expected forward, loss, then the layers "
                              "last to first" % (r, s, order))
    for e in errors[:20]:
        print("trace_check: " + e)
    if errors:
        sys.exit(1)
    print("trace_check: %s: %d ranks, steps %d-%d, %d spans, sum '%s'"
          % (path, ranks, first, last, sum(len(v) for v in spans.values()), kind))


main()
