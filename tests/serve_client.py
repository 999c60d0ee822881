#!/usr/bin/env python3
"""serve_client.py: the checks tests/e2e_serve.sh runs against a running nn-serve, with urllib.
  serve_client.py endpoints URL NAME VERSION DATA.h5 SPLIT PREDICTIONS.csv
  serve_client.py concurrency URL NAME DATA.h5 SPLIT PREDICTIONS.csv CLIENTS
  serve_client.py bad URL NAME CASES_FILE
  serve_client.py auth URL NAME KEY
Every failure prints what was expected and what came, and exits 1."""
import json, sys, threading, urllib.error, urllib.request

import h5py
import numpy as np


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def call(url, method="GET", body=None, headers=None):
    if isinstance(body, str):
        body = body.encode()
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def rows_and_ref(data, split, csv):
    x = np.asarray(h5py.File(data, "r")[split + "/x"], dtype=np.float32)
    ref = np.loadtxt(csv, delimiter=",", skiprows=1, ndmin=2)
    classify = open(csv).readline().strip().split(",")[1] == "class"
    # columns: classify: class, p0.. (the row number dropped); else row, y0..
    return x, (ref[:, 1:] if classify else ref), classify


def close(got, want, what):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        fail("%s: shape %s, expected %s" % (what, got.shape, want.shape))
    bad = np.abs(got - want) > 1e-6 * np.maximum(np.abs(want), 1e-6)
    if bad.any():
        i = np.argwhere(bad)[0]
        fail("%s: at %s got %r, nn-predict %r" % (what, i, got[tuple(i)], want[tuple(i)]))


def check_v2(ans, ref, classify, lo, n, what):
    out = {o["name"]: o for o in ans["outputs"]}
    if classify:
        p = np.array(out["probabilities"]["data"]).reshape(out["probabilities"]["shape"])
        close(p, ref[lo:lo + n, 1:], what + " probabilities")
        if out["class"]["data"] != [int(c) for c in ref[lo:lo + n, 0]]:
            fail(what + ": classes differ from nn-predict's")
    else:
        p = np.array(out["predictions"]["data"]).reshape(out["predictions"]["shape"])
        close(p, ref[lo:lo + n, 1:], what + " values")


def check_tf(ans, ref, classify, lo, n, what):
    pr = ans["predictions"]
    if classify:
        close([r["probabilities"] for r in pr], ref[lo:lo + n, 1:], what)
        if [r["class"] for r in pr] != [int(c) for c in ref[lo:lo + n, 0]]:
            fail(what + ": classes differ from nn-predict's")
    else:
        close(pr, ref[lo:lo + n, 1:], what)


def v2_body(x, nested, rid=None):
    d = {"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                     "data": x.tolist() if nested else x.ravel().tolist()}]}
    if rid is not None:
        d["id"] = rid
    return json.dumps(d)


def binary(head, values, extra=b"", cut=0, header=None):
    """A binary tensor data request: the JSON text head, then values as little-endian FP32, then
    extra bytes, less the last cut bytes. Returns (body, headers), the header being the JSON's
    length unless given."""
    js = head.encode() if isinstance(head, str) else head
    body = js + np.asarray(values, dtype="<f4").tobytes() + extra
    body = body[:len(body) - cut]
    return body, {"Inference-Header-Content-Length": str(len(js) if header is None else header)}


def binary_split(body, headers):
    """An answer with binary outputs: (its JSON, {output name: array}) from the bytes after the
    JSON part, in output order (FP32 or INT64, little-endian)."""
    h = {k.lower(): v for k, v in headers.items()}
    if "inference-header-content-length" not in h:
        return json.loads(body), {}
    n = int(h["inference-header-content-length"])
    ans, at, arrays = json.loads(body[:n]), n, {}
    for o in ans["outputs"]:
        size = o.get("parameters", {}).get("binary_data_size")
        if size is None:
            continue
        dt = {"FP32": "<f4", "INT64": "<i8"}[o["datatype"]]
        arrays[o["name"]] = np.frombuffer(body[at:at + size], dtype=dt).reshape(o["shape"])
        at += size
    if at != len(body):
        fail("binary answer: %d bytes after the outputs it announces" % (len(body) - at))
    return ans, arrays


def check_v2_binary(url, name, x, ref, classify, what):
    """x in binary, every output asked in binary; the answer equals nn-predict's."""
    head = json.dumps({"id": "bin", "inputs": [{"name": "input", "shape": list(x.shape),
                       "datatype": "FP32", "parameters": {"binary_data_size": x.size * 4}}],
                       "parameters": {"binary_data_output": True}})
    body, headers = binary(head, x)
    s, b, h = call(url + "/v2/models/%s/infer" % name, "POST", body, headers)
    if s != 200:
        fail("%s: status %d; body %r" % (what, s, b[:300]))
    ans, arrays = binary_split(b, h)
    if ans["id"] != "bin" or any("data" in o for o in ans["outputs"]):
        fail("%s: %r" % (what, ans))
    values = arrays["probabilities" if classify else "predictions"]
    close(values, ref[:len(x), 1:], what + (" probabilities" if classify else " values"))
    if classify and list(arrays["class"]) != [int(c) for c in ref[:len(x), 0]]:
        fail(what + ": classes differ from nn-predict's")


def expect(st, body, want, what):
    if st != want:
        fail("%s: status %d, expected %d; body %r" % (what, st, want, body[:300]))
    return json.loads(body) if body else None


def endpoints(url, name, version, data, split, csv):
    x, ref, classify = rows_and_ref(data, split, csv)
    for p in ("/v2/health/live", "/v2/health/ready", "/v2/models/%s/ready" % name,
              "/v2/models/%s/versions/%s/ready" % (name, version)):
        expect(*call(url + p)[:2], 200, p)
    meta = expect(*call(url + "/v2")[:2], 200, "/v2")
    if meta["name"] != "nn-serve" or "extensions" not in meta:
        fail("/v2: %r" % meta)
    for p in ("/v2/models/" + name, "/v2/models/%s/versions/%s" % (name, version)):
        m = expect(*call(url + p)[:2], 200, p)
        if m["name"] != name or m["versions"] != [version] or \
                m["inputs"][0]["shape"] != [-1, x.shape[1]]:
            fail("%s: %r" % (p, m))
    st = expect(*call(url + "/v1/models/" + name)[:2], 200, "/v1/models")
    if st["model_version_status"][0]["version"] != version:
        fail("/v1/models: %r" % st)
    n = len(x)
    for nested in (False, True):
        for p in ("/v2/models/%s/infer" % name, "/v2/models/%s/versions/%s/infer" % (name, version)):
            s, b, h = call(url + p, "POST", v2_body(x, nested, "req-%d" % nested))
            a = expect(s, b, 200, p)
            if a["id"] != "req-%d" % nested or a["model_version"] != version or \
                    a["model_name"] != name or h.get("NN-Model-Version") != version:
                fail("%s: id/version/name: %r %r" % (p, {k: a[k] for k in a if k != "outputs"}, h))
            check_v2(a, ref, classify, 0, n, p)
    for lo in range(0, n, 37):  # many small requests: every row's answer at any position
        s, b, _ = call(url + "/v2/models/%s/infer" % name, "POST", v2_body(x[lo:lo + 37], False))
        check_v2(expect(s, b, 200, "infer"), ref, classify, lo, min(37, n - lo), "rows %d.." % lo)
    check_v2_binary(url, name, x, ref, classify, "binary infer")
    if "binary_tensor_data" not in meta["extensions"]:
        fail("/v2: binary_tensor_data is not among the extensions: %r" % meta)
    s, b, _ = call(url + "/v1/models/%s:predict" % name, "POST",
                   json.dumps({"instances": x.tolist()}))
    a = expect(s, b, 200, ":predict")
    if a.get("model_version") != version:
        fail(":predict: no model_version %s" % version)
    check_tf(a, ref, classify, 0, n, ":predict")
    print("endpoints: %d rows through /v2 infer (flat, nested, versions, binary) and :predict "
          "equal nn-predict's to 1e-6" % n)


def concurrency(url, name, data, split, csv, clients):
    x, ref, classify = rows_and_ref(data, split, csv)
    errors = []

    def client(k):
        try:
            for j in range(8):
                lo = (k * 13 + j * 29) % (len(x) - 5)
                n = 1 + (k + j) % 5
                rid = "c%d-%d" % (k, j)
                s, b, _ = call(url + "/v2/models/%s/infer" % name, "POST", v2_body(x[lo:lo + n],
                                                                                   j % 2, rid))
                a = expect(s, b, 200, rid)
                if a["id"] != rid:
                    fail("%s answered with id %s" % (rid, a["id"]))
                check_v2(a, ref, classify, lo, n, rid)
        except SystemExit:
            errors.append(k)
        except Exception as e:  # a connection failure is a failure too
            print("client %d: %r" % (k, e), file=sys.stderr)
            errors.append(k)

    ts = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        fail("clients %s failed" % errors)
    print("concurrency: %d clients x 8 requests, each answer its own" % clients)


def bad(url, name, cases):
    n = 0
    for line in open(cases):
        if not line.strip() or line.startswith("#"):
            continue
        method, path, hdr, body, status, sub = line.rstrip("\n").split("\t")
        path = path.replace("NAME", name)
        headers = dict(h.split(": ", 1) for h in hdr.split(";")) if hdr != "-" else {}
        body = None if body == "-" else (eval(body[3:]) if body.startswith("py:") else body)
        if isinstance(body, tuple):  # binary(...): the body and its headers
            body, more = body
            headers = dict(headers, **more)
        s, b, h = call(url + path, method, body, headers)
        if s != int(status):
            fail("%s %s %r: status %d, expected %s; body %r" % (method, path, str(body)[:80], s,
                                                                status, b[:300]))
        try:
            err = json.loads(b)["error"]
        except Exception:
            fail("%s %s: the answer is not {\"error\": ...}: %r" % (method, path, b[:300]))
        if sub not in err:
            fail("%s %s %r: error %r does not contain %r" % (method, path, str(body)[:80], err, sub))
        n += 1
        expect(*call(url + "/v2/health/ready")[:2], 200, "ready after case %d" % n)
    if n < 30:
        fail("only %d cases" % n)
    print("bad input: %d cases, each its status and error; the server answers after each" % n)


def auth(url, name, key):
    infer = url + "/v2/models/%s" % name
    for p in ("/v2/health/live", "/v2/health/ready"):
        expect(*call(url + p)[:2], 200, p + " without a key")
    for h in ({}, {"Authorization": "Bearer wrong-key-123"}, {"Authorization": "Basic " + key},
              {"Authorization": "Bearer " + key + "x"}, {"Authorization": "Bearer " + key[:-1]}):
        s, b, hh = call(infer, headers=h)
        if "missing or wrong API key" not in expect(s, b, 401, "key %r" % h)["error"]:
            fail("401 without the error")
    for p in ("/v2", "/v2/models/" + name, "/v1/models/" + name):
        expect(*call(url + p, headers={"Authorization": "Bearer " + key})[:2], 200, p + " with key")
        expect(*call(url + p)[:2], 401, p + " without key")
    print("auth: health open, everything else 401 without the right key, 200 with it")


def limit(url, n):
    """--max-connections n: n keep-alive connections are served, one more is closed at once,
    and once one of the n closes a new one is served again."""
    import socket
    import time
    host, port = url.split("//")[1].split(":")
    req = b"GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n"

    def ask(sock):
        sock.settimeout(30)  # a hang guard only
        try:
            sock.sendall(req)
            return sock.recv(64)
        except (ConnectionResetError, BrokenPipeError):
            return b""
        except socket.timeout:
            return None  # neither served nor closed
    open_ = [socket.create_connection((host, int(port))) for _ in range(n)]
    for k, sock in enumerate(open_):
        if not ask(sock).startswith(b"HTTP/1.1 200"):
            fail("connection %d of %d (the limit) not served" % (k + 1, n))
    extra = socket.create_connection((host, int(port)))
    if ask(extra) != b"":
        fail("connection %d beyond --max-connections %d was served" % (n + 1, n))
    extra.close()
    open_.pop().close()
    # the server counts the closed one out when its worker sees the close: retry until then
    tries, until = 0, time.monotonic() + 30
    while True:
        tries += 1
        sock = socket.create_connection((host, int(port)))
        ok = ask(sock).startswith(b"HTTP/1.1 200")
        sock.close()
        if ok:
            break
        if time.monotonic() > until:
            fail("no connection served after one of the %d closed (%d tries)" % (n, tries))
    for sock in open_:
        sock.close()
    print("limit: %d connections served, the next closed at once, a new one served after one "
          "closed (%d tries)" % (n, tries))


if __name__ == "__main__":
    a = sys.argv
    {"endpoints": lambda: endpoints(a[2], a[3], a[4], a[5], a[6], a[7]),
     "concurrency": lambda: concurrency(a[2], a[3], a[4], a[5], a[6], int(a[7])),
     "bad": lambda: bad(a[2], a[3], a[4]),
     "auth": lambda: auth(a[2], a[3], a[4]),
     "limit": lambda: limit(a[2], int(a[3]))}[a[1]]()
