#!/usr/bin/env python3
"""linkprobe.py: throughput and latency of one TCP link, for scripts/bench-multihost.sh.

    linkprobe.py serve PORT                 answer the two tests below, one connection at a
                                            time, until a client sends "quit"; prints
                                            "ready PORT" once it listens
    linkprobe.py stream HOST PORT BYTES     send BYTES, wait until the server has them all;
                                            prints: bytes=.. seconds=.. mbit_s=..
    linkprobe.py pingpong HOST PORT SIZE REPS
                                            SIZE bytes there and back REPS times; prints the
                                            median one-way time (half the round trip):
                                            size=.. reps=.. oneway_s=..
    linkprobe.py quit HOST PORT             stop the server

Plain sockets with TCP_NODELAY, nothing else: what the link gives a simple sender, not what
MPI makes of it (scripts/bench-multihost.sh measures that through nn-train itself).
"""
import socket
import statistics
import sys
import time

CHUNK = 1 << 20


def recv_exact(conn, n, buf):
    """Reads exactly n bytes into the scratch buffer buf (reused), returns n."""
    view = memoryview(buf)
    got = 0
    while got < n:
        k = conn.recv_into(view[: min(len(buf), n - got)])
        if k == 0:
            raise ConnectionError("peer closed after %d of %d bytes" % (got, n))
        got += k
    return got


def read_line(conn):
    line = b""
    while not line.endswith(b"\n"):
        c = conn.recv(1)
        if not c:
            raise ConnectionError("peer closed before its request line")
        line += c
    return line.decode().split()


def serve(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(4)
    print("ready %d" % port, flush=True)
    buf = bytearray(CHUNK)
    while True:
        conn, _ = s.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            req = read_line(conn)
            if req[0] == "quit":
                return
            if req[0] == "stream":  # stream N: take N bytes, then say so
                recv_exact(conn, int(req[1]), buf)
                conn.sendall(b"ok\n")
            elif req[0] == "ping":  # ping SIZE REPS: echo SIZE bytes REPS times
                size, reps = int(req[1]), int(req[2])
                echo = bytearray(size)
                for _ in range(reps):
                    recv_exact(conn, size, echo)
                    conn.sendall(echo)


def connect(host, port):
    c = socket.create_connection((host, port), timeout=60)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def stream(host, port, n):
    data = bytes(CHUNK)
    with connect(host, port) as c:
        c.sendall(b"stream %d\n" % n)
        t0 = time.perf_counter()
        left = n
        while left > 0:
            k = min(left, CHUNK)
            c.sendall(data[:k])
            left -= k
        if read_line(c) != ["ok"]:
            raise ConnectionError("no acknowledgement")
        t = time.perf_counter() - t0
    print("bytes=%d seconds=%.6f mbit_s=%.1f" % (n, t, n * 8 / t / 1e6))


def pingpong(host, port, size, reps):
    msg = bytes(size)
    buf = bytearray(size)
    times = []
    with connect(host, port) as c:
        c.sendall(b"ping %d %d\n" % (size, reps))
        for _ in range(reps):
            t0 = time.perf_counter()
            c.sendall(msg)
            recv_exact(c, size, buf)
            times.append((time.perf_counter() - t0) / 2)
    print("size=%d reps=%d oneway_s=%.9f" % (size, reps, statistics.median(times)))


def main(argv):
    try:
        if len(argv) == 3 and argv[1] == "serve":
            serve(int(argv[2]))
        elif len(argv) == 5 and argv[1] == "stream":
            stream(argv[2], int(argv[3]), int(argv[4]))
        elif len(argv) == 6 and argv[1] == "pingpong":
            pingpong(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
        elif len(argv) == 4 and argv[1] == "quit":
            with connect(argv[2], int(argv[3])) as c:
                c.sendall(b"quit\n")
        else:
            sys.exit("usage: linkprobe.py serve PORT | stream HOST PORT BYTES | "
                     "pingpong HOST PORT SIZE REPS | quit HOST PORT")
    except (OSError, ValueError) as e:
        sys.exit("linkprobe.py: %s" % e)


if __name__ == "__main__":
    main(sys.argv)
