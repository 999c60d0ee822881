#!/usr/bin/python3
"""serve_load.py: keeps clients busy against nn-serve until told to stop (tests/e2e_serve.sh).

    serve_load.py URL NAME DATA.h5 STOPFILE REPORT.json [CLIENTS]

CLIENTS threads (default 8), each on its own keep-alive connection, send OIP v2 infer requests
of 1-20 rows from DATA.h5's val/x (JSON) and TF Serving :predict requests in turn, until the
file STOPFILE exists. Every answer is recorded: its HTTP status, the version it says answered
it (NN-Model-Version header and model_version in the body, which must agree) and whether its
shape is right. REPORT.json gets the totals and the versions each client saw in order. Exits 1
when any request failed (status other than 200, transport error, wrong shape, header and body
disagreeing), so that the caller also sees it in the exit status.
"""
import http.client
import itertools
import json
import os
import random
import sys
import threading
import urllib.parse

import h5py


def client(i, host, port, name, rows, stop, out):
    rng = random.Random(i)
    conn = http.client.HTTPConnection(host, port, timeout=60)
    seen, bad, n = [], [], 0
    while not os.path.exists(stop):
        k = rng.randint(1, 20)
        start = rng.randrange(0, len(rows) - k)
        batch = rows[start:start + k]
        if n % 2 == 0:
            path = f"/v2/models/{name}/infer"
            body = {"id": f"c{i}-{n}", "inputs": [{"name": "x", "shape": [k, len(batch[0])],
                                                   "datatype": "FP32", "data": batch}]}
        else:
            path = f"/v1/models/{name}:predict"
            body = {"instances": batch}
        n += 1
        try:
            conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            res = conn.getresponse()
            data = res.read()
            header = res.getheader("NN-Model-Version")
        except (OSError, http.client.HTTPException) as e:
            bad.append(f"{path}: {type(e).__name__}: {e}")
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=60)
            continue
        if res.status != 200:
            bad.append(f"{path}: HTTP {res.status}: {data[:200]!r}")
            continue
        ans = json.loads(data)
        version = ans.get("model_version")
        rows_back = len(ans["outputs"][0]["data"]) if "outputs" in ans else len(ans["predictions"])
        if "outputs" in ans:
            rows_back //= ans["outputs"][0]["shape"][1]
            if ans.get("id") != body["id"]:
                bad.append(f"{path}: id {ans.get('id')!r} for {body['id']!r}")
        if version != header:
            bad.append(f"{path}: body says version {version}, header {header}")
        if rows_back != k:
            bad.append(f"{path}: {rows_back} rows back for {k}")
        seen.append(int(version))
    conn.close()
    out[i] = {"requests": n, "versions": seen, "bad": bad}


def main():
    url, name, data, stop, report = sys.argv[1:6]
    clients = int(sys.argv[6]) if len(sys.argv) > 6 else 8
    u = urllib.parse.urlparse(url)
    with h5py.File(data, "r") as f:
        rows = [[float(v) for v in r] for r in f["val/x"][:]]
    out = [None] * clients
    threads = [threading.Thread(target=client, args=(i, u.hostname, u.port, name, rows, stop, out))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bad = [b for o in out for b in o["bad"]]
    summary = {
        "requests": sum(o["requests"] for o in out),
        "failed": len(bad),
        "failures": bad[:20],
        # versions each client saw, run-length compressed: [[version, count], ...]
        "versions": [[[v, sum(1 for _ in g)] for v, g in itertools.groupby(o["versions"])]
                     for o in out],
    }
    with open(report, "w") as f:
        json.dump(summary, f)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
