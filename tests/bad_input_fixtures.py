"""bad_input_fixtures.py: the hostile input files of tests/bad_input.sh that make_data and a
shell cannot write: odd HDF5 layouts (with h5py), IDX files, and CSV files with odd bytes.

    python3 bad_input_fixtures.py DIR

Writes into DIR, which already holds ok.h5 (make_data blobs 200 4 3) and ck.h5 (a 4-8-3
checkpoint of it). Without h5py only
the IDX and CSV files are written; the shell script then skips the cases that need the rest
(or fails under CI=true).
"""
import os
import shutil
import struct
import sys

os.chdir(sys.argv[1])


def write(name, data):
    with open(name, "wb") as f:
        f.write(data)


# ------------------------------------------------------------------------------------ IDX
def idx(magic_type, dims, body=None):
    """An IDX file: magic 0x0000TTNN, big-endian sizes, then the bytes (default: a ramp)."""
    head = struct.pack(">BBBB", 0, 0, magic_type, len(dims)) + b"".join(
        struct.pack(">I", d) for d in dims)
    if body is None:
        n = 1
        for d in dims:
            n *= d
        body = bytes(i * 7 % 256 for i in range(n))
    return head + body


write("img.idx", idx(0x08, [40, 4, 4]))
write("lab.idx", idx(0x08, [40], bytes(i % 3 for i in range(40))))
write("lab30.idx", idx(0x08, [30], bytes(i % 3 for i in range(30))))
write("timg.idx", idx(0x08, [10, 4, 4]))
write("tlab.idx", idx(0x08, [10], bytes(i % 3 for i in range(10))))
write("timg5.idx", idx(0x08, [10, 5, 5]))
write("img0.idx", idx(0x08, [0, 4, 4]))
write("lab0.idx", idx(0x08, [0], b""))
write("imgbadmagic.idx", b"\x12\x34\x08\x03" + idx(0x08, [40, 4, 4])[4:])
write("imgfloat.idx", idx(0x0D, [40, 4, 4], bytes(40 * 16 * 4)))
write("imgtrunc.idx", idx(0x08, [40, 4, 4])[:16 + 16 * 25 + 5])
write("imglong.idx", idx(0x08, [40, 4, 4]) + b"\x00" * 7)
write("imghead.idx", idx(0x08, [40, 4, 4])[:10])
write("img1d.idx", idx(0x08, [40]))
write("imgtiny.idx", b"\x00\x00")
write("imgzerowidth.idx", idx(0x08, [40, 4, 0]))
write("imghuge.idx", idx(0x08, [0xFFFFFFFF, 0xFFFF, 0xFFFF], b"\x00" * 64))
write("labbad.idx", idx(0x08, [40, 4], bytes(160)))
# a damaged gzip stream: a valid header, then garbage
import gzip
gz = gzip.compress(idx(0x08, [40, 4, 4]))
write("imgbadgz.idx.gz", gz[:20] + bytes(b ^ 0x5A for b in gz[20:60]) + gz[60:])
write("imgcutgz.idx.gz", gz[: len(gz) // 2])
write("imggzgz.idx.gz", gzip.compress(gz))  # gzipped twice
def random_bytes(n, seed=12345):
    """n bytes from a 64-bit LCG (high bits): incompressible enough that deflate keeps the
    float32 output larger than the input."""
    out, s = bytearray(n), seed
    for i in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out[i] = s >> 56
    return bytes(out)


# a larger image set for the full-disk cases (its output is larger than the input)
n_big = 4000
write("bigimg.idx", idx(0x08, [n_big, 8, 8], random_bytes(n_big * 64)))
write("biglab.idx", idx(0x08, [n_big], bytes(i % 10 for i in range(n_big))))

# ------------------------------------------------------------------------------------ CSV
csv = {
    "good.csv": b"a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n",
    "empty.csv": b"",
    "header_only.csv": b"a,b,label\n",
    "onecol.csv": b"1\n2\n",
    "ragged.csv": b"a,b,label\n1,2,x\n3,4,y\n5,y\n6,7,x\n",
    "open_quote.csv": b'a,b,label\n1,"2,x\n3,4,y\n',
    "nonnum.csv": b"id,name,age,label\n1,2,30,a\n2,3,31,b\n3,4,abc,a\n",
    "regbad.csv": b"a,b,price\n1,2,3.5\n3,4,cheap\n",
    "mixed_eol.csv": b"a,b,label\r\n1,2,x\n3,4,y\r5,6,x\n",
    "quoted_newline.csv": b'a,b,label\n1,"2\n3",x\n',
    "ansi.csv": b"a,b,label\n1,2,x\n3,\x1b[31mred,y\n",
    "utf16.csv": b"\xff\xfe" + "a,b,label\n1,2,x\n3,4,y\n".encode("utf-16-le"),
    "cr_only.csv": b"a,b,label\r1,2,x\r3,4,y\r",
    "bom_mid.csv": b"a,b,label\n1,2,x\n\xef\xbb\xbf3,4,y\n",
    "nul.csv": b"a,b,label\n1,2,x\n3,2\x00junk,y\n",
    "nul_label.csv": b"a,b,label\n1,2,x\n3,4,y\x00z\n",
    "huge.csv": b"a,b,label\n1,2,0\n3,1e999999999999,1\n",
    "hugeint.csv": b"a,b,label\n1,2,0\n3," + b"9" * 5000 + b",1\n",
    "dupnames.csv": b"a,a,label\n1,2,x\n3,4,y\n",
    "duplabel.csv": b"a,label,label\n1,2,x\n3,4,y\n",
    "quote_junk.csv": b'a,b,label\n1,"2"x,y\n',
    "latin1.csv": b"a,b,label\n1,2,x\n3,\xe94,y\n",
    "decimal_comma.csv": b"a;b;label\n1;2,5;x\n",
    "na.csv": b"a,b,label\n1,2,x\n3,NA,y\n",
    "binary.csv": bytes(range(256)) * 4,
    "only_blank.csv": b"\n\n\n",
    "all_dropped.csv": b"a,b,label\n1,,x\nnan,4,y\n",
    "header_num.csv": b"1,2,3\n4,5,6\n",
    "manyclasses.csv": b"a,label\n" + b"".join(b"%d,c%d\n" % (i, i) for i in range(70000)),
}
for name, data in csv.items():
    write(name, data)
# a larger CSV for the full-disk cases
with open("big.csv", "w") as f:
    f.write("a,b,c,d,label\n")
    for i in range(6000):
        f.write("%d.%03d,%d,%d.5,%d,%d\n" % (i, i % 997, i * 7 % 1013, i % 101, i * 3, i % 5))

# ----------------------------------------------------------------------------------- HDF5
# garbage after a valid HDF5 signature
write("garbage.h5", b"\x89HDF\r\n\x1a\n" + bytes((i * 37 + 11) % 256 for i in range(4000)))

try:
    import h5py
    import numpy as np
except ImportError:
    sys.exit(0)

rng = np.random.default_rng(5)
N, D = 64, 4


def xs(n=N, d=D):
    return rng.normal(size=(n, d)).astype(np.float32)


def ys(n=N, k=3):
    return (np.arange(n) % k).astype(np.int32)


def h5(name, build):
    with h5py.File(name, "w") as f:
        build(f)


h5("x1d.h5", lambda f: (f.create_dataset("train/x", data=xs()[:, 0]),
                        f.create_dataset("train/y", data=ys())))
h5("x3d.h5", lambda f: (f.create_dataset("train/x", data=xs().reshape(N, 2, 2)),
                        f.create_dataset("train/y", data=ys())))
h5("xstr.h5", lambda f: (f.create_dataset("train/x", data=np.array([[b"ab"] * D] * N)),
                         f.create_dataset("train/y", data=ys())))
cmpd = np.zeros((N, D), dtype=[("a", "<f4"), ("b", "<f4")])
h5("xcompound.h5", lambda f: (f.create_dataset("train/x", data=cmpd),
                              f.create_dataset("train/y", data=ys())))
h5("zerorows.h5", lambda f: (f.create_dataset("train/x", shape=(0, D), dtype="f4"),
                             f.create_dataset("train/y", shape=(0,), dtype="i4")))
h5("zerocols.h5", lambda f: (f.create_dataset("train/x", shape=(N, 0), dtype="f4"),
                             f.create_dataset("train/y", data=ys())))
h5("xscalar.h5", lambda f: (f.create_dataset("train/x", data=np.float32(1)),
                            f.create_dataset("train/y", data=ys())))
h5("xnull.h5", lambda f: (f.create_dataset("train/x", data=h5py.Empty("f4")),
                          f.create_dataset("train/y", data=ys())))
xi = xs()
xi[7, 3] = np.inf
h5("inf.h5", lambda f: (f.create_dataset("train/x", data=xi), f.create_dataset("train/y", data=ys())))
xv = xs(20)
xv[3, 1] = -np.inf
h5("valinf.h5", lambda f: (f.create_dataset("train/x", data=xs()),
                           f.create_dataset("train/y", data=ys()),
                           f.create_dataset("val/x", data=xv), f.create_dataset("val/y", data=ys(20))))
yt = rng.normal(size=(N, 2)).astype(np.float32)
yt[9, 1] = np.nan
h5("ynan.h5", lambda f: (f.create_dataset("train/x", data=xs()), f.create_dataset("train/y", data=yt)))
h5("reg2.h5", lambda f: (f.create_dataset("train/x", data=xs()),
                         f.create_dataset("train/y", data=rng.normal(size=(N, 2)).astype(np.float32))))
h5("y2dint.h5", lambda f: (f.create_dataset("train/x", data=xs()),
                           f.create_dataset("train/y", data=ys().reshape(N // 2, 2))))
h5("y3d.h5", lambda f: (f.create_dataset("train/x", data=xs()),
                        f.create_dataset("train/y", data=np.zeros((N, 2, 2), np.float32))))
# a bad value in the last row only: at 3 ranks the last rank finds it, not rank 0
ylast = ys()
ylast[N - 1] = -1
h5("lastlabel.h5", lambda f: (f.create_dataset("train/x", data=xs()), f.create_dataset("train/y", data=ylast)))
xlast = xs()
xlast[N - 1, 0] = np.nan
h5("lastnan.h5", lambda f: (f.create_dataset("train/x", data=xlast), f.create_dataset("train/y", data=ys())))
yneg = ys()
yneg[4] = -1
h5("neglabel.h5", lambda f: (f.create_dataset("train/x", data=xs()), f.create_dataset("train/y", data=yneg)))
ybig = ys().astype(np.int64)
ybig[6] = 1 << 40
h5("hugelabel.h5", lambda f: (f.create_dataset("train/x", data=xs()), f.create_dataset("train/y", data=ybig)))
# sizes that no memory holds: 2^40 rows (sparse, nothing written), 2^33 features
h5("hugerows.h5", lambda f: (f.create_dataset("train/x", shape=(1 << 40, D), dtype="f4", chunks=(1024, D)),
                             f.create_dataset("train/y", shape=(1 << 40,), dtype="i4", chunks=(1024,))))
h5("hugecols.h5", lambda f: (f.create_dataset("train/x", shape=(4, 1 << 33), dtype="f4", chunks=(1, 1024)),
                             f.create_dataset("train/y", shape=(4,), dtype="i4")))
h5("notrain.h5", lambda f: (f.create_dataset("val/x", data=xs()), f.create_dataset("val/y", data=ys())))
h5("trainds.h5", lambda f: f.create_dataset("train", data=xs()))
h5("xgroup.h5", lambda f: (f.create_group("train/x"), f.create_dataset("train/y", data=ys())))
h5("xdangling.h5", lambda f: (f.create_group("train"),
                              f["train"].__setitem__("x", h5py.SoftLink("/nowhere/x")),
                              f.create_dataset("train/y", data=ys())))
h5("xexternal.h5", lambda f: (f.create_group("train"),
                              f["train"].__setitem__("x", h5py.ExternalLink("gone.h5", "/x")),
                              f.create_dataset("train/y", data=ys())))
h5("valshape.h5", lambda f: (f.create_dataset("train/x", data=xs()), f.create_dataset("train/y", data=ys()),
                             f.create_dataset("val/x", data=xs(20, D + 1)),
                             f.create_dataset("val/y", data=ys(20))))
h5("valnoy.h5", lambda f: (f.create_dataset("train/x", data=xs()), f.create_dataset("train/y", data=ys()),
                           f.create_dataset("val/x", data=xs(20))))
h5("valkind.h5", lambda f: (f.create_dataset("train/x", data=xs()), f.create_dataset("train/y", data=ys()),
                            f.create_dataset("val/x", data=xs(20)),
                            f.create_dataset("val/y", data=rng.normal(size=(20, 3)).astype(np.float32))))
# no /test, so --split test fails; a split whose y is missing is predictable (no metrics)
h5("testnox.h5", lambda f: (f.create_dataset("train/x", data=xs()), f.create_dataset("train/y", data=ys()),
                            f.create_dataset("test/y", data=ys())))
# Fletcher32-checksummed x with one data byte flipped on disk
h5("badsum.h5", lambda f: (f.create_dataset("train/x", data=xs(), fletcher32=True, chunks=(N, D)),
                           f.create_dataset("train/y", data=ys())))
with h5py.File("badsum.h5", "r") as f:
    off = f["train/x"].id.get_offset() if f["train/x"].chunks is None else \
        f["train/x"].id.get_chunk_info(0).byte_offset
with open("badsum.h5", "r+b") as f:
    f.seek(off + 10)
    b = f.read(1)
    f.seek(off + 10)
    f.write(bytes([b[0] ^ 0xFF]))


# checkpoints that do not load (ck.h5 is nn-train's: 4-8-3, relu, adam)
def edit(name, fn):
    shutil.copy("ck.h5", name)
    with h5py.File(name, "r+") as f:
        fn(f)


def scale(f):  # one weight changed: the state checksum no longer matches
    k = f["model/dense_0/kernel"]
    a = k[...]
    a[0, 0] = a[0, 0] * 2 + 1
    k[...] = a


def nan(f):
    k = f["model/dense_0/bias"]
    a = k[...]
    a[2] = np.nan
    k[...] = a


def reshape(f):
    del f["model/dense_0/kernel"]
    f.create_dataset("model/dense_0/kernel", data=np.zeros((5, 8), np.float32))


edit("ckflip.h5", scale)
edit("cknan.h5", nan)
edit("ckshape.h5", reshape)
edit("cknolayer.h5", lambda f: f.__delitem__("model/dense_1"))
edit("ckact.h5", lambda f: f["model"].attrs.modify("activation", "gelu"))
edit("cknoopt.h5", lambda f: f.__delitem__("optimizer"))
edit("cknover.h5", lambda f: f.attrs.__delitem__("format_version"))
edit("ckepochs.h5", lambda f: f.attrs.modify("epochs", np.int64(-5)))

# a well-formed HDF5 file holding nothing
h5("nothing.h5", lambda f: None)
