#!/usr/bin/python3
"""An independent reference of nn-data import-csv's encoder (docs/tabular.md), for
tests/e2e_tabular.sh. numpy and h5py only; the encoding is written from the documented rules,
not from the C code.

usage:
  tabular_ref.py make RAW.csv NEW.csv     a synthetic raw file (categories, rare values, gaps,
                                          an id and a free-text column) and new rows for
                                          prediction (columns in another order, no label,
                                          values never seen, gaps)
  tabular_ref.py check DATA.h5 RAW.csv IMPUTE MAXCAT INDICATORS
                                          /train/x and /test/x equal, bit for bit, the encoding
                                          of RAW.csv's rows with statistics from the rows in
                                          /train (found by their key column 'key')
  tabular_ref.py testrows DATA.h5 RAW.csv OUT.csv
                                          the raw rows that went to /test, in file order, with
                                          the columns reversed and no label column
"""
import csv
import sys

import h5py
import numpy as np

NA = {"", "na", "n/a", "null", "?", "nan"}
COLS = ["id", "key", "age", "city", "zip", "income", "note", "churn"]


def is_na(s):
    return s.strip().lower() in NA


def make(raw, new):
    rng = np.random.default_rng(7)
    cities = ["Oslo", "Bergen", "Lima", "Quito", "Hanoi", "Perth"]
    p = [0.4, 0.3, 0.15, 0.1, 0.03, 0.02]
    gaps = ["", "NA", "?", "null", " nan "]
    rows = []
    for i in range(240):
        age = rng.integers(18, 80)
        city = cities[rng.choice(6, p=p)]
        zipc = f"0{rng.integers(1, 4)}00"  # numbers that are categories: --categorical zip
        income = round(float(rng.normal(50, 15)), 3)
        score = (age - 45) / 15 + (city in ("Oslo", "Lima")) - 0.5 + (income - 50) / 30
        churn = "yes" if score + rng.normal(0, 0.5) > 0 else "no"
        r = [str(i + 1000), str(i * 0.25), str(age), city, zipc, str(income), f"note {i}", churn]
        if rng.random() < 0.12:
            r[2] = gaps[rng.integers(5)]
        if rng.random() < 0.08:
            r[3] = gaps[rng.integers(5)]
        if rng.random() < 0.1:
            r[5] = gaps[rng.integers(5)]
        rows.append(r)
    with open(raw, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLS)
        w.writerows(rows)
    order = ["income", "zip", "note", "city", "age", "key"]  # another order, no label, no id
    extra = [["61.5", "0200", "x", "Reykjavik", "33", "900"],   # a city never seen
             ["", "0900", "y", "", "", "901"],                  # gaps, a zip never seen
             ["40", "0100", "z", "Hanoi", "70", "902"]]         # a rare city
    with open(new, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(order)
        w.writerows(extra)


def read(raw):
    with open(raw, newline="") as f:
        r = list(csv.reader(f))
    return r[0], r[1:]


def stats(head, rows, impute, maxcat, indicators):
    """The encoder's columns from the training rows: [(name, kind, params)]."""
    cols = []
    for name in ["age", "city", "zip", "income"]:
        j = head.index(name)
        vals = [r[j] for r in rows]
        present = [v for v in vals if not is_na(v)]
        missing = len(vals) - len(present)
        if name in ("city", "zip"):
            counts = {}
            for v in present:
                counts[v.strip()] = counts.get(v.strip(), 0) + 1
            keys = sorted(counts, key=lambda k: (float(k), k) if name == "zip" else k)
            other = maxcat > 0 and len(keys) > maxcat
            if other:  # the most frequent maxcat, ties in vocabulary order
                keep = sorted(keys, key=lambda k: (-counts[k], keys.index(k)))[:maxcat]
                keys = [k for k in keys if k in keep]
            cols.append((name, "cat", (keys, other, missing > 0)))
        else:
            x = np.array([float(v) for v in present])
            if impute == "mean":  # summed in file order, in float64, as documented
                fill = np.float32(sum(float(v) for v in present) / len(present))
            elif impute == "median":
                fill = np.float32(np.median(x))
            else:
                u, c = np.unique(x, return_counts=True)
                fill = np.float32(u[np.argmax(c)])
            cols.append((name, "num", (fill, indicators and missing > 0)))
    return cols


def encode(head, r, cols):
    out = []
    for name, kind, p in cols:
        v = r[head.index(name)]
        if kind == "num":
            fill, ind = p
            out.append(fill if is_na(v) else np.float32(float(v)))
            if ind:
                out.append(np.float32(is_na(v)))
        else:
            keys, other, miss = p
            code = [0.0] * (len(keys) + other + miss)
            if is_na(v) and miss:
                code[-1] = 1.0
            elif not is_na(v) and v.strip() in keys:
                code[keys.index(v.strip())] = 1.0
            elif other:
                code[len(keys)] = 1.0
            out.extend(np.float32(c) for c in code)
    return np.array(out, dtype=np.float32)


def split(data, head, rows):
    """The raw rows of /train and /test, by the key column (feature 0 of the file)."""
    with h5py.File(data, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["meta/feature_names"][...]]
        k = names.index("key")
        tr, te = f["train/x"][...], f["test/x"][...]
    by_key = {np.float32(float(r[head.index("key")])): r for r in rows}
    return [by_key[x[k]] for x in tr], [by_key[x[k]] for x in te], tr, te


def check(data, raw, impute, maxcat, indicators):
    head, rows = read(raw)
    train, test, tr, te = split(data, head, rows)
    cols = [("key", "num", (None, False))] + stats(head, train, impute, int(maxcat),
                                                    indicators == "1")
    want_tr = np.array([encode(head, r, cols) for r in train])
    want_te = np.array([encode(head, r, cols) for r in test])
    unseen = sum(1 for r in test for n in ("city", "zip")
                 if not is_na(r[head.index(n)]) and
                 r[head.index(n)].strip() not in dict((c[0], c[2][0]) for c in cols)[n])
    ok = want_tr.shape == tr.shape and want_te.shape == te.shape and \
        want_tr.tobytes() == tr.tobytes() and want_te.tobytes() == te.tobytes()
    print(f"{data}: /train {tr.shape}, /test {te.shape}, {unseen} /test values outside the "
          f"training categories: {'equal' if ok else 'DIFFERENT'} to the reference")
    if not ok:
        for a, b, s in ((want_tr, tr, "train"), (want_te, te, "test")):
            if a.shape != b.shape:
                print(f"/{s}: shape {b.shape}, expected {a.shape}")
            else:
                i, j = np.argwhere(a != b)[0]
                print(f"/{s} row {i} column {j}: {b[i, j]}, expected {a[i, j]}")
        return 1
    return 0


def testrows(data, raw, out):
    head, rows = read(raw)
    _, test, _, _ = split(data, head, rows)
    keep = [c for c in reversed(head) if c != "churn"]
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keep)
        for r in test:
            w.writerow([r[head.index(c)] for c in keep])
    return 0


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "make" and len(sys.argv) == 4:
        sys.exit(make(*sys.argv[2:]))
    if cmd == "check" and len(sys.argv) == 7:
        sys.exit(check(*sys.argv[2:]))
    if cmd == "testrows" and len(sys.argv) == 5:
        sys.exit(testrows(*sys.argv[2:]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
