#!/usr/bin/python3
"""serve_torch.py: the server a user would otherwise write, for scripts/bench-serve.sh.

    scripts/serve_torch.py serve --model CKPT [--name NAME] [--host H] [--port P] [--torch-threads T]
    scripts/serve_torch.py bodies DATA OUTDIR
    scripts/serve_torch.py same NAME OUTDIR URL...

serve: an nn-train checkpoint in PyTorch (Debian's python3-torch) behind Python's standard
library ThreadingHTTPServer (a thread per connection, HTTP/1.1 keep-alive), answering the URLs
and JSON shapes of nn-serve (docs/serving.md) that the benchmark sends:
  GET  /v2/health/live, /v2/health/ready
  POST /v2/models/NAME/infer      OIP v2, data in JSON or in the binary tensor data extension
                                  (Inference-Header-Content-Length), outputs in JSON or binary
                                  (parameters.binary_data_output)
  POST /v1/models/NAME:predict    TF Serving {"instances": [...]}
The checkpoint is read by torch_predict.py's load_checkpoint (the same reader the tests use as
nn-predict's reference), its /preprocess x scaling is applied as nn-predict does, and the model
is the torch.nn.Sequential of torch_predict.py's forward_torch. The startup line mirrors nn-serve's:
  serve_torch: model NAME (784-256-128-10 relu, softmax output) version STEP on http://H:PORT
The standard library rather than Flask: it is what every Python has, and Flask's development
server is this same http.server with routing added on top, so it could only be slower.

bodies: request bodies from DATA's /test rows (h5py): OUTDIR/json1 (1 row, JSON), json32 (32
rows, JSON), bin32 (32 rows, binary input and binary outputs) and bin32.hlen (its
Inference-Header-Content-Length).

same: sends every body to every URL (nn-serve's and this server's) and checks that they answer
the same classes (and probabilities within 1e-4); exits 1 with one FAIL line if not. A server
that answers a binary request with an error gets a line "unsupported bin32 URL: why" instead.
"""
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_predict  # noqa: E402  (load_checkpoint: the tests' reference reader)
from torch_predict import np  # noqa: E402

KINDS = {"json1": 1, "json32": 32, "bin32": 32}


def fail(msg):
    print(f"serve_torch: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def torch_net(m):
    """The Sequential torch_predict.forward_torch builds (weight = kernel.T), without the
    Softmax, built once rather than per call."""
    import torch
    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid,
            "linear": torch.nn.Identity}
    layers = []
    for i, (w, b) in enumerate(m["params"]):
        lin = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))  # [out, in]
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < len(m["params"]) - 1:
            layers.append(acts[m["activation"]]())
    return torch.nn.Sequential(*layers).eval()


class BadRequest(Exception):
    pass


class Model:
    """The checkpoint as a float32 torch module, with nn-predict's x scaling."""

    def __init__(self, path, name):
        import h5py
        import torch
        self.torch = torch
        m = torch_predict.load_checkpoint(path)
        with h5py.File(path, "r") as f:
            self.version = str(int(f.attrs["step"]))
        self.name, self.sizes, self.pre = name, m["sizes"], m["pre"]
        self.classify = m["output"] == "softmax"
        self.net = torch_net(m)  # logits; softmax below
        self.label = (f"{'-'.join(map(str, self.sizes))} {m['activation']}, "
                      f"{m['output']} output")

    def predict(self, x):
        """x [n, D] float32 -> the outputs of an answer: (name, datatype, array) each."""
        if x.ndim != 2 or x.shape[1] != self.sizes[0] or x.shape[0] == 0:
            raise BadRequest(f"shape {list(x.shape)}; expected [N, {self.sizes[0]}], N >= 1")
        if not np.isfinite(x).all():
            raise BadRequest("a value is not a finite float32")
        if self.pre is not None:
            x = (x - self.pre["x_shift"]) / self.pre["x_scale"]
        with self.torch.inference_mode():
            z = self.net(self.torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
            if not self.classify:
                y = z.numpy().astype(np.float32)
                if self.pre is not None and "y_shift" in self.pre:
                    y = y * self.pre["y_scale"] + self.pre["y_shift"]
                return [("predictions", "FP32", y)]
            p = self.torch.softmax(z, dim=1).numpy()
            c = z.argmax(dim=1).numpy().astype(np.int64)
        return [("probabilities", "FP32", p), ("class", "INT64", c)]


def parse_v2(body, hlen):
    """An OIP v2 body (JSON, or JSON then raw FP32 when hlen is given) -> (head, x [n, D])."""
    try:
        n = int(hlen) if hlen is not None else len(body)
        head = json.loads(body[:n])
        inp = head["inputs"][0]
        shape = [int(s) for s in inp["shape"]]
        if inp.get("datatype") != "FP32":
            raise BadRequest(f"datatype {inp.get('datatype')!r}; expected \"FP32\"")
        size = inp.get("parameters", {}).get("binary_data_size")
        if size is not None:
            if hlen is None or n + int(size) != len(body):
                raise BadRequest("binary_data_size does not match the body after the JSON")
            x = np.frombuffer(body, dtype="<f4", count=int(size) // 4, offset=n)
        else:
            x = np.asarray(inp["data"], dtype=np.float32)
        return head, x.reshape(shape)
    except BadRequest:
        raise
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise BadRequest(f"not an OIP v2 FP32 request: {type(e).__name__}: {e}")


def answer_v2(model, head, outs):
    """(body, extra headers): JSON data, or binary outputs after the JSON when asked."""
    ans = {"model_name": model.name, "model_version": model.version}
    if "id" in head:
        ans["id"] = head["id"]
    binary = bool(head.get("parameters", {}).get("binary_data_output", False))
    ans["outputs"], raw = [], []
    for name, dt, a in outs:
        o = {"name": name, "shape": list(a.shape), "datatype": dt}
        if binary:
            b = a.astype("<f4" if dt == "FP32" else "<i8").tobytes()
            o["parameters"] = {"binary_data_size": len(b)}
            raw.append(b)
        else:
            o["data"] = a.ravel().tolist()
        ans["outputs"].append(o)
    js = json.dumps(ans, separators=(",", ":")).encode()
    if not binary:
        return js, {"Content-Type": "application/json"}
    return js + b"".join(raw), {"Content-Type": "application/octet-stream",
                                "Inference-Header-Content-Length": str(len(js))}


def answer_tf(model, body):
    try:
        x = np.asarray(json.loads(body)["instances"], dtype=np.float32)
    except (ValueError, KeyError, TypeError) as e:
        raise BadRequest(f"not a TF Serving predict request: {type(e).__name__}: {e}")
    outs = dict((n, a) for n, _, a in model.predict(x))
    if "class" in outs:
        preds = [{"probabilities": p.tolist(), "class": int(c)}
                 for p, c in zip(outs["probabilities"], outs["class"])]
    else:
        preds = outs["predictions"].tolist()
    return json.dumps({"model_version": model.version, "predictions": preds}).encode(), \
        {"Content-Type": "application/json"}


def handler_for(model):
    infer = {f"/v2/models/{model.name}/infer", f"/v2/models/{model.name}/versions/{model.version}/infer"}
    predict = f"/v1/models/{model.name}:predict"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as wrk and nn-serve's clients use it
        # TCP_NODELAY: the headers and the body are two writes, and with Nagle's algorithm the
        # second waits for the client's delayed ACK (40 ms a request on Linux)
        disable_nagle_algorithm = True

        def log_message(self, *args):  # no access log, as nn-serve --quiet
            pass

        def reply(self, status, body, headers):
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("NN-Model-Version", model.version)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def error(self, status, msg):
            self.reply(status, json.dumps({"error": msg}).encode(),
                       {"Content-Type": "application/json"})

        def do_GET(self):
            if self.path in ("/v2/health/live", "/v2/health/ready"):
                self.reply(200, b"", {})
            else:
                self.error(404, f"no such path {self.path!r}")

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                if self.path in infer:
                    head, x = parse_v2(body, self.headers.get("Inference-Header-Content-Length"))
                    self.reply(200, *answer_v2(model, head, model.predict(x)))
                elif self.path == predict:
                    self.reply(200, *answer_tf(model, body))
                else:
                    self.error(404, f"no such path {self.path!r}")
            except BadRequest as e:
                self.error(400, str(e))

    return Handler


def serve(argv):
    import argparse
    ap = argparse.ArgumentParser(prog="serve_torch.py serve")
    ap.add_argument("--model", required=True)
    ap.add_argument("--name")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="torch's intra-op threads; the server already runs a thread per "
                         "connection [1]")
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(a.torch_threads)
    name = a.name or os.path.splitext(os.path.basename(a.model))[0]
    model = Model(a.model, name)
    # a listen backlog of 128 rather than socketserver's 5, so that 64 clients connecting at
    # once are not dropped and retried a second later (libmicrohttpd's default is SOMAXCONN)
    ThreadingHTTPServer.request_queue_size = 128
    httpd = ThreadingHTTPServer((a.host, a.port), handler_for(model))
    httpd.daemon_threads = True
    # SIGTERM: stop accepting and return from serve_forever (shutdown from another thread,
    # since it waits for the loop this thread runs), then exit 0 as nn-serve does.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=httpd.shutdown).start())
    host, port = httpd.server_address[:2]
    print(f"serve_torch: model {name} ({model.label}) version {model.version} on "
          f"http://{host}:{port} (torch {torch.__version__}, {a.torch_threads} intra-op "
          f"threads, ThreadingHTTPServer)", flush=True)
    httpd.serve_forever()
    httpd.server_close()


def bodies(data, outdir):
    """The request bodies of KINDS from DATA's /test rows (the first 32)."""
    import h5py
    with h5py.File(data, "r") as f:
        x = np.asarray(f["test/x"][:32], dtype=np.float32)
    if x.shape[0] < 32:
        fail(f"{data}: /test has {x.shape[0]} rows; the benchmark needs 32")
    os.makedirs(outdir, exist_ok=True)
    for kind, n in (("json1", 1), ("json32", 32)):
        # %.9g: float32 values survive the text round trip exactly
        data = "[" + ",".join("%.9g" % v for v in x[:n].ravel()) + "]"
        with open(os.path.join(outdir, kind), "w") as fh:
            fh.write('{"inputs":[{"name":"input","shape":[%d,%d],"datatype":"FP32","data":%s}]}'
                     % (n, x.shape[1], data))
    head = json.dumps({"inputs": [{"name": "input", "shape": list(x.shape), "datatype": "FP32",
                                   "parameters": {"binary_data_size": x.size * 4}}],
                       "parameters": {"binary_data_output": True}},
                      separators=(",", ":")).encode()
    with open(os.path.join(outdir, "bin32"), "wb") as fh:
        fh.write(head + x.astype("<f4").tobytes())
    with open(os.path.join(outdir, "bin32.hlen"), "w") as fh:
        fh.write(f"{len(head)}\n")


def post(url, body, headers):
    """(status, JSON answer or error text, {output name: array})."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, raw, h = r.status, r.read(), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read()[:200].decode(errors="replace"), {}
    except OSError as e:
        return 0, str(e), {}
    n = int(h.get("inference-header-content-length", len(raw)))
    ans, at, arrays = json.loads(raw[:n]), n, {}
    for o in ans["outputs"]:
        if "data" in o:
            arrays[o["name"]] = np.asarray(o["data"]).reshape(o["shape"])
        else:
            size = o["parameters"]["binary_data_size"]
            dt = "<f4" if o["datatype"] == "FP32" else "<i8"
            arrays[o["name"]] = np.frombuffer(raw[at:at + size], dtype=dt).reshape(o["shape"])
            at += size
    return status, ans, arrays


def same(name, outdir, urls):
    """Every body to every server: the same classes, probabilities within 1e-4."""
    for kind, n in KINDS.items():
        with open(os.path.join(outdir, kind), "rb") as fh:
            body = fh.read()
        headers = {"Content-Type": "application/json"}
        if kind.startswith("bin"):
            with open(os.path.join(outdir, kind + ".hlen")) as fh:
                headers["Inference-Header-Content-Length"] = fh.read().strip()
        ref, answered = None, 0
        for url in urls:
            status, ans, arrays = post(f"{url}/v2/models/{name}/infer", body, headers)
            if status != 200 and kind.startswith("bin"):
                print(f"unsupported {kind} {url}: status {status}: {str(ans)[:160]!r}")
                continue
            answered += 1
            if status != 200 or "class" not in arrays or arrays["class"].shape != (n,):
                fail(f"{kind} to {url}: status {status}, answer {str(ans)[:200]!r}; expected "
                     f"200 with {n} classes")
            if ref is None:
                ref = (url, arrays)
                continue
            if not np.array_equal(arrays["class"], ref[1]["class"]):
                fail(f"{kind}: {url} answers classes {arrays['class'].tolist()}, {ref[0]} "
                     f"answers {ref[1]['class'].tolist()}; expected the same")
            d = float(np.abs(arrays["probabilities"] - ref[1]["probabilities"]).max())
            if d > 1e-4:
                fail(f"{kind}: probabilities of {url} and {ref[0]} differ by {d:.3g}; "
                     "expected at most 1e-4")
        if ref is None:
            print(f"same {kind}: no server answers it")
            continue
        print(f"same {kind}: {n} rows, classes {ref[1]['class'][:8].tolist()}"
              f"{'...' if n > 8 else ''} from {answered} servers")


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("serve", "bodies", "same"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        serve(rest)
    elif cmd == "bodies" and len(rest) == 2:
        bodies(*rest)
    elif cmd == "same" and len(rest) >= 3:
        same(rest[0], rest[1], rest[2:])
    else:
        fail(f"{cmd}: wrong arguments; see the usage at the top of the file")


if __name__ == "__main__":
    main()
