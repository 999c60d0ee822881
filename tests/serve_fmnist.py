#!/usr/bin/env python3
"""serve_fmnist.py: a data set's split through a running nn-serve, checked against nn-predict.
  serve_fmnist.py URL NAME DATA.h5 SPLIT PREDICTIONS.csv CORRECT MODE [ROWS [THREADS [FIRST]]]
MODE: json   POST /v2/models/NAME/infer, the rows as JSON (the Open Inference Protocol v2)
      binary the same with the binary tensor data extension both ways: the request's JSON
             header (Inference-Header-Content-Length) then the rows as little-endian float32;
             the answer's outputs as raw bytes after its JSON (probabilities FP32, class INT64)
      tf     POST /v1/models/NAME:predict, {"instances": [...]} (TensorFlow Serving)
The split goes in requests of ROWS rows [250], THREADS clients at once [4]. Every class must
equal nn-predict's (PREDICTIONS.csv: row,class,p0,...), every probability equal it to 1e-6
of the row's largest probability, and the number of correct classes (against the split's y) must be CORRECT, the
count nn-predict's result line reports. FIRST sends only the split's first FIRST rows (then the
count is not checked: CORRECT is over the whole split). Written from the protocols' specs with
urllib only.
Prints one line; every failure says what was expected and what came, and exits 1."""
import json, struct, sys, threading, time, urllib.error, urllib.request

import h5py
import numpy as np


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def post(url, body, headers):
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def json_request(x):
    body = {"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                        "data": x.ravel().tolist()}]}
    return json.dumps(body).encode(), {"Content-Type": "application/json"}


def binary_request(x):
    raw = x.astype("<f4").tobytes()
    head = json.dumps({"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                                   "parameters": {"binary_data_size": len(raw)}}],
                       "parameters": {"binary_data_output": True}}).encode()
    return head + raw, {"Content-Type": "application/octet-stream",
                        "Inference-Header-Content-Length": str(len(head))}


def tf_request(x):
    return json.dumps({"instances": x.tolist()}).encode(), {"Content-Type": "application/json"}


def v2_outputs(body, headers, n, what):
    """{name: array} from a v2 answer, its outputs as JSON data or as binary after the JSON."""
    hl = headers.get("Inference-Header-Content-Length")
    head = json.loads(body[:int(hl)] if hl is not None else body)
    rest, out = (body[int(hl):] if hl is not None else b""), {}
    for o in head.get("outputs", []):
        size = o.get("parameters", {}).get("binary_data_size")
        if size is None:
            out[o["name"]] = np.array(o["data"]).reshape(o["shape"])
            continue
        dt = {"FP32": "<f4", "INT64": "<i8"}.get(o["datatype"])
        if dt is None or len(rest) < size:
            fail("%s: output %s: datatype %s, %d bytes of %d left; expected FP32 or INT64 and "
                 "binary_data_size bytes" % (what, o["name"], o["datatype"], len(rest), size))
        out[o["name"]] = np.frombuffer(rest[:size], dtype=dt).reshape(o["shape"])
        rest = rest[size:]
    if rest:
        fail("%s: %d bytes after the last binary output" % (what, len(rest)))
    return out["probabilities"], out["class"]


def parse(mode, status, body, headers, n, what):
    """(probabilities [n, K], classes [n]) from one answer."""
    if status != 200:
        fail("%s: status %d, expected 200; body %r" % (what, status, body[:300]))
    if mode == "binary" and headers.get("Inference-Header-Content-Length") is None:
        fail("%s: no Inference-Header-Content-Length in the answer to binary_data_output; "
             "body %r" % (what, body[:300]))
    if mode == "tf":
        pr = json.loads(body)["predictions"]
        return (np.array([r["probabilities"] for r in pr]),
                np.array([r["class"] for r in pr]))
    return v2_outputs(body, headers, n, what)


def check(p, c, ref, lo, what):
    n = len(c)
    want_p, want_c = ref[lo:lo + n, 1:], ref[lo:lo + n, 0].astype(np.int64)
    if p.shape != want_p.shape or c.shape != want_c.shape:
        fail("%s: shapes %s and %s, expected %s and %s" % (what, p.shape, c.shape,
                                                             want_p.shape, want_c.shape))
    if (c != want_c).any():
        i = int(np.argmax(c != want_c))
        fail("%s: row %d class %d, nn-predict %d" % (what, lo + i, c[i], want_c[i]))
    # relative to the row's largest probability: where BLAS computes a row alike in any batch
    # (nn_gemm_plan) the two are the same bits; elsewhere they agree to rounding (about 1e-7)
    top = np.max(np.abs(want_p), axis=1, keepdims=True)
    bad = np.abs(p - want_p) > 1e-6 * top
    if bad.any():
        i, k = np.argwhere(bad)[0]
        fail("%s: row %d p%d %r, nn-predict %r (1e-6 of the row's largest, %r)"
             % (what, lo + i, k, p[i, k], want_p[i, k], top[i, 0]))


def main(url, name, data, split, csv, correct, mode, rows=250, threads=4, first=None):
    f = h5py.File(data, "r")
    x = np.asarray(f[split + "/x"], dtype=np.float32)
    y = np.asarray(f[split + "/y"]).astype(np.int64).ravel()
    ref = np.loadtxt(csv, delimiter=",", skiprows=1, ndmin=2)[:, 1:]  # class, p0.. (row dropped)
    if len(ref) != len(x):
        fail("%s has %d rows, the split %d" % (csv, len(ref), len(x)))
    if first is not None:
        x, y, ref = x[:first], y[:first], ref[:first]
    make, path = {"json": (json_request, "/v2/models/%s/infer"),
                  "binary": (binary_request, "/v2/models/%s/infer"),
                  "tf": (tf_request, "/v1/models/%s:predict")}[mode]
    target = url + path % name
    classes = np.full(len(x), -1, dtype=np.int64)
    starts = list(range(0, len(x), rows))
    errors = []

    def client(k):
        try:  # a thread's failure ends the whole check: fail() in the thread would not
            for lo in starts[k::threads]:
                what = "%s rows %d-%d" % (mode, lo, min(lo + rows, len(x)) - 1)
                body, headers = make(x[lo:lo + rows])
                st, ans, h = post(target, body, headers)
                p, c = parse(mode, st, ans, h, len(x[lo:lo + rows]), what)
                check(p, c, ref, lo, what)
                classes[lo:lo + len(c)] = c
        except SystemExit:
            errors.append("see above")
        except Exception as e:  # an unreadable answer: name it, the thread must not vanish
            errors.append("%s: %r" % (mode, e))

    t0 = time.monotonic()
    ts = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.monotonic() - t0
    if errors:
        fail("; ".join(errors))
    if (classes < 0).any():
        fail("%s: %d rows never answered" % (mode, int((classes < 0).sum())))
    got = int((classes == y).sum())
    if first is not None:
        print("%s: the first %d rows in requests of %d from %d clients, %.2f s: every class and "
              "probability equal to nn-predict's" % (mode, len(x), rows, threads, wall))
        return
    if got != correct:
        fail("%s: %d of %d correct, nn-predict %d" % (mode, got, len(x), correct))
    print("%s: %d rows in %d requests of %d from %d clients, %.2f s: every class and "
          "probability equal to nn-predict's, accuracy %.4f (%d/%d) as nn-predict's"
          % (mode, len(x), len(starts), rows, threads, wall, got / len(x), got, len(x)))


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) < 7 or a[6] not in ("json", "binary", "tf"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    main(a[0], a[1], a[2], a[3], a[4], int(a[5]), a[6], *(int(v) for v in a[7:10]))
