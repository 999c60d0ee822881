#!/bin/bash
# check-layers.sh: what CMake cannot enforce about the layers (CMakeLists.txt, "the layers").
#   scripts/check-layers.sh [BUILD_DIR]   check the tree and the objects of BUILD_DIR [build]
#   scripts/check-layers.sh --self-test   show that each check catches what it is for
# Prints one line per violation and exits 1, or one summary line and exits 0.
#
# Includes, in src/, include/ and tests/ (levels read from CMakeLists.txt's NN_LEVEL_*):
#   <mpi.h> only in src/comm/; <hdf5.h> only in src/io/ and tests/; <cblas.h> only in
#   src/core/kernels.c; <zlib.h> only in src/io/ and tests/ (tests/fuzz/fuzz_idx.c gzips its
#   inputs); a file of src/<layer>/ or include/<layer>/ includes "..." only headers of its own
#   folder or of include/<layer>/ for the same layer or a lower level; a program (src/nn-*/)
#   includes any layer's header.
# Objects (BUILD_DIR/libnn*.a and the programs' objects under BUILD_DIR/CMakeFiles/), with nm:
#   "file A uses a symbol that file B defines" is a dependency A -> B. No cycle between files,
#   none between folders, and no file that uses a symbol of a higher layer (or of another
#   layer of the same level, or of a program).
# The logic is Python (python3; a check, not something the programs need).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exec python3 - "$root" "$@" <<'PYTHON'
import glob, os, re, subprocess, sys, tempfile

USAGE = "usage: check-layers.sh [BUILD_DIR] | --self-test"

# (header name pattern, where it may be included (path prefixes), rule in words)
SYSTEM_RULES = [
    (r"mpi(-ext)?\.h", ["src/comm/"], "MPI only in src/comm/"),
    (r"(hdf5(_hl)?|H5[A-Za-z]*)\.h", ["src/io/", "tests/"], "HDF5 only in src/io/ and tests/"),
    (r"(cblas|openblas_config)\.h", ["src/core/kernels.c"], "BLAS only in src/core/kernels.c"),
    (r"(zlib|zconf)\.h", ["src/io/", "tests/"], "zlib only in src/io/ and tests/"),
]
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
PROGRAM = "(program)"  # the "layer" of src/nn-*/


def levels(root):
    """{layer: level} from CMakeLists.txt's set(NN_LEVEL_<layer> <n>)."""
    text = open(os.path.join(root, "CMakeLists.txt")).read()
    lv = {m.group(1): int(m.group(2))
          for m in re.finditer(r"^\s*set\(\s*NN_LEVEL_(\w+)\s+(\d+)\s*\)", text, re.M)}
    if not lv:
        sys.exit("check-layers: no set(NN_LEVEL_<layer> N) in %s/CMakeLists.txt" % root)
    return lv


def layer_of(path, lv):
    """The layer of a source path (relative to the root): a layer name, PROGRAM, or None
    with the reason it is neither."""
    parts = path.split("/")
    if parts[0] not in ("src", "include") or len(parts) < 3:
        return None, "not in a folder src/<layer>/, include/<layer>/ or src/nn-*/"
    if parts[0] == "src" and parts[1].startswith("nn-"):
        return PROGRAM, None
    if parts[1] in lv:
        return parts[1], None
    return None, "%s/%s/ is no layer (no NN_LEVEL_%s in CMakeLists.txt)" % (parts[0], parts[1], parts[1])


def sources(root, top, exts):
    out = []
    for dirpath, dirs, files in os.walk(os.path.join(root, top)):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if f.endswith(exts):
                out.append(os.path.relpath(os.path.join(dirpath, f), root))
    return out


def check_includes(root):
    """(violations, number of files, number of includes)"""
    lv = levels(root)
    bad, nfiles, nincl = [], 0, 0
    headers = {}  # name -> [layer folders of include/ that hold it] (any file: .h, .def tables)
    for h in sources(root, "include", ("",)):
        headers.setdefault(os.path.basename(h), []).append(h.split("/")[1])
    files = sources(root, "src", (".c", ".h")) + sources(root, "include", (".h",))
    layered = set(files)
    for path in files + sources(root, "tests", (".c", ".h")):
        nfiles += 1
        if path in layered:
            layer, why = layer_of(path, lv)
            if layer is None:
                bad.append("%s: %s: every source file belongs to a layer or a program" % (path, why))
        with open(os.path.join(root, path), errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                nincl += 1
                kind, name = m.groups()
                where = "%s:%d" % (path, n)
                if kind == "<":
                    for pat, allowed, rule in SYSTEM_RULES:
                        if re.fullmatch(pat, name) and not any(
                                path == a or (a.endswith("/") and path.startswith(a)) for a in allowed):
                            bad.append("%s: includes <%s>: %s" % (where, name, rule))
                    continue
                if path not in layered or layer is None:
                    continue  # tests include what they test; an unplaced file is reported above
                own = os.path.normpath(os.path.join(os.path.dirname(path), name))
                if own.startswith(os.path.dirname(path) + "/") and os.path.exists(os.path.join(root, own)):
                    continue  # its own folder (not "../", which leaves it)
                homes = headers.get(name, [])
                if not homes:
                    bad.append('%s: includes "%s", which is in neither include/<layer>/ nor the'
                               " file's own folder: a file includes only layers' headers and its"
                               " own folder's"
                               % (where, name))
                elif layer != PROGRAM:
                    ok = [h for h in homes if h == layer or (h in lv and lv[h] < lv[layer])]
                    if not ok:
                        h = homes[0]
                        bad.append('%s: includes "%s" (include/%s/, level %s): a file of %s'
                                   " (level %d) includes only headers of %s or of a lower level"
                                   % (where, name, h, lv.get(h, "?"), layer, lv[layer], layer))
    return bad, nfiles, nincl


# ---- objects -------------------------------------------------------------------------

NM_LINE = re.compile(r"^(.*):\s*([0-9a-fA-F]*)\s+([A-Za-z?])\s+(\S+)$")


def nm(path):
    """[(member or '', symbol, is_definition)] for the external symbols of an object or archive."""
    out = subprocess.run(["nm", "-A", "-g", path], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("check-layers: nm %s failed: %s" % (path, out.stderr.strip()))
    syms = []
    for line in out.stdout.splitlines():
        m = NM_LINE.match(line)
        if not m:
            continue
        where, value, kind, sym = m.groups()
        member = where[len(path) + 1:] if where.startswith(path + ":") else ""
        undefined = kind in "Uwv" and not value  # w, v: weak and not defined here
        syms.append((member, sym, not undefined))
    return syms


def objects(build):
    """{source path: (defined symbols, used symbols)} for the libraries libnn*.a and the
    programs' objects (CMakeFiles/nn-*.dir, only those named in link.txt where there is one)."""
    objs = {}

    def add(name, syms):
        d, u = objs.setdefault(name, (set(), set()))
        for sym, defined in syms:
            (d if defined else u).add(sym)

    def source(target_dir, obj):
        return os.path.relpath(obj, target_dir)[:-2]  # src/base/args.c.o -> src/base/args.c

    archives = sorted(glob.glob(os.path.join(build, "libnn*.a")))
    if not archives:
        sys.exit("check-layers: no libnn*.a in %s (build it first)" % build)
    for a in archives:
        tdir = os.path.join(build, "CMakeFiles", os.path.basename(a)[3:-2] + ".dir")
        where = {}
        for o in glob.glob(os.path.join(tdir, "**", "*.o"), recursive=True):
            where.setdefault(os.path.basename(o), []).append(source(tdir, o))
        members = {}
        for member, sym, defined in nm(a):
            members.setdefault(member, []).append((sym, defined))
        for member, syms in members.items():
            cands = where.get(member, [])
            add(cands[0] if len(cands) == 1 else "%s(%s)" % (os.path.basename(a), member), syms)
    for tdir in sorted(glob.glob(os.path.join(build, "CMakeFiles", "nn-*.dir"))):
        link = os.path.join(tdir, "link.txt")
        linked = open(link).read() if os.path.exists(link) else None
        for o in sorted(glob.glob(os.path.join(tdir, "**", "*.o"), recursive=True)):
            if linked is not None and os.path.relpath(o, build) not in linked:
                continue  # a stale object, no longer linked
            add(source(tdir, o), [(s, d) for _, s, d in nm(o)])
    return objs


def folder(path):
    return os.path.dirname(path) if "/" in path else path


def dependencies(objs):
    """{A: {B: example symbol}}: A uses a symbol B defines. A program's file resolves a symbol
    in the layers or its own program, never in another program (they are not linked together)."""
    defs = {}
    for f, (d, _) in objs.items():
        for s in d:
            defs.setdefault(s, []).append(f)
    deps = {f: {} for f in objs}
    for a, (_, used) in objs.items():
        prog_a = folder(a) if folder(a).startswith("src/nn-") else None
        for s in sorted(used):
            for b in defs.get(s, []):
                if b == a:
                    continue
                fb = folder(b)
                if fb.startswith("src/nn-") and fb != prog_a and prog_a is not None:
                    continue
                deps[a].setdefault(b, s)
    return deps


def components(graph):
    """Strongly connected components of {node: iterable of nodes} (Tarjan, iterative)."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = n; n += 1
        stack.append(start); on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = n; n += 1
                    stack.append(w); on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop(); on.discard(w); comp.append(w)
                        if w == v:
                            break
                    out.append(sorted(comp))
    return out


def witness(graph, comp):
    """A shortest cycle through comp[0] inside comp, as a list of nodes (first = last)."""
    inside, start = set(comp), comp[0]
    prev, frontier = {start: None}, [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v]):
                if w not in inside:
                    continue
                if w == start:
                    path = [v]  # back from v to start, then turned around
                    while prev[path[-1]] is not None:
                        path.append(prev[path[-1]])
                    return path[::-1] + [start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return comp + [comp[0]]


def cycle_lines(graph, what, rule):
    lines = []
    for comp in components(graph):
        if len(comp) < 2:
            continue
        cyc = witness(graph, comp)
        steps = cyc[0] + "".join(" -> %s (%s)" % (b, graph[a][b]) for a, b in zip(cyc, cyc[1:]))
        lines.append("cycle of %d %s {%s}: %s: %s" % (len(comp), what, ", ".join(comp), steps, rule))
    return lines


def check_objects(root, build):
    """(violations, number of objects, number of file dependencies)"""
    lv = levels(root)
    objs = objects(build)
    deps = dependencies(objs)
    bad = cycle_lines(deps, "files", "no file needs a file that needs it back")
    fdeps = {}
    for a, bs in deps.items():
        fdeps.setdefault(folder(a), {})
        for b, s in bs.items():
            if folder(a) != folder(b):
                fdeps[folder(a)].setdefault(folder(b), "%s uses %s" % (os.path.basename(a), s))
    bad += cycle_lines(fdeps, "folders", "no folder needs a folder that needs it back")

    def level(f):
        layer, _ = layer_of(f, lv)
        return layer, (float("inf") if layer == PROGRAM else lv.get(layer))

    for a in sorted(deps):
        la, va = level(a)
        for b, s in sorted(deps[a].items()):
            lb, vb = level(b)
            if va is None or vb is None or la == lb or la == PROGRAM:
                continue
            if vb >= va:
                bad.append("%s: uses %s, defined in %s (%s, level %s): a file of %s (level %d)"
                           " uses only %s and lower levels"
                           % (a, s, b, lb, "top" if vb == float("inf") else vb, la, va, la))
    return bad, len(objs), sum(len(v) for v in deps.values())


def check(root, build):
    bad, nfiles, nincl = check_includes(root)
    obad, nobj, ndeps = check_objects(root, build)
    bad += obad
    for line in bad:
        print(line)
    if bad:
        print("check-layers: %d violation(s)" % len(bad), file=sys.stderr)
        return 1
    lv = levels(root)
    print("check-layers: ok: %d includes in %d files (layers %s), %d dependencies among %d"
          " objects: no cycle between files or folders, no use of a higher layer"
          % (nincl, nfiles, " < ".join("%s %d" % (k, v) for k, v in sorted(lv.items(), key=lambda kv: kv[1])),
             ndeps, nobj))
    return 0


# ---- self-test -----------------------------------------------------------------------

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def expect(what, bad, want):
    """How many of the lines in want (beginnings) are not reported exactly once, plus the
    reported lines that are not wanted (a clean file reported); each one printed."""
    failed = 0
    for w in want:
        hits = [b for b in bad if b.startswith(w)]
        if len(hits) != 1:
            print("FAIL self-test: %s: expected one line starting %r, got %d" % (what, w, len(hits)))
            failed += 1
    for b in bad:
        if not any(b.startswith(w) for w in want):
            print("FAIL self-test: %s: reported, but clean: %s" % (what, b))
            failed += 1
    return failed


def self_test(real_root):
    """A synthetic tree with the real levels, each kind of violation once, and clean files
    that must not be reported; objects compiled with cc and archived as CMake lays them out."""
    t = tempfile.mkdtemp(prefix="nn-check-layers.")
    try:
        text = open(os.path.join(real_root, "CMakeLists.txt")).read()
        write(t + "/CMakeLists.txt",
              "".join(m.group(0) + "\n" for m in re.finditer(r"^\s*set\(\s*NN_LEVEL_\w+\s+\d+\s*\)", text, re.M)))
        lv = levels(t)
        for need in ("base", "core", "io", "comm", "train"):
            if need not in lv:
                print("FAIL self-test: no NN_LEVEL_%s in CMakeLists.txt" % need)
                return 1
        for layer in lv:
            write("%s/include/%s/nn_%s.h" % (t, layer, layer), "void %s_api(void);\n" % layer)
        write(t + "/include/io/nn_fields.def", "X(a)\n")  # an X-macro table is a header too
        src = {
            # clean: own header, lower layers' headers, its allowed system header
            "src/base/ok.c": '#include "nn_base.h"\n#include <stdio.h>\n',
            "src/core/kernels.c": '#include <cblas.h>\n#include "nn_base.h"\n#include "nn_core.h"\n',
            "src/comm/ok.c": '#include <mpi.h>\n#include "nn_comm.h"\n#include "local.h"\n',
            "src/comm/local.h": "\n",
            "src/io/ok.c": '#include <hdf5.h>\n#include <zlib.h>\n#include "nn_core.h"\n',
            "src/train/ok.c": '#include "nn_io.h"\n#include "nn_comm.h"\n#include "nn_fields.def"\n',
            "src/nn-tool/main.c": '#include "nn_train.h"\n#include "nn_base.h"\n',
            "include/io/nn_io2.h": '#include "nn_core.h"\n',
            "tests/test_x.c": '#include <hdf5.h>\n#include "nn_train.h"\n',
            # violations
            "src/core/model.c": "#include <mpi.h>\n",
            "src/base/hash.c": "#  include <hdf5.h>\n",
            "src/io/csv.c": "#include <cblas.h>\n",
            "src/comm/report.c": "#include <zlib.h>\n",
            "tests/test_y.c": "#include <mpi.h>\n",
            "src/core/rows.c": '#include "nn_train.h"\n',
            "src/io/same.c": '#include "nn_comm.h"\n',
            "src/core/table.c": '#include "nn_fields.def"\n',
            "include/core/nn_up.h": '#include "nn_io.h"\n',
            "src/base/lost.c": '#include "nowhere.h"\n',
            "src/misc/stray.c": "\n",
            "src/core/sneak.c": '#include "../train/t.h"\n',
            "src/train/t.h": "\n",
        }
        for p, body in src.items():
            write(os.path.join(t, p), body)
        want_incl = [
            "src/core/model.c:1: includes <mpi.h>",
            "src/base/hash.c:1: includes <hdf5.h>",
            "src/io/csv.c:1: includes <cblas.h>",
            "src/comm/report.c:1: includes <zlib.h>",
            "tests/test_y.c:1: includes <mpi.h>",
            'src/core/rows.c:1: includes "nn_train.h"',
            'src/io/same.c:1: includes "nn_comm.h"',
            'src/core/table.c:1: includes "nn_fields.def"',
            'include/core/nn_up.h:1: includes "nn_io.h"',
            'src/base/lost.c:1: includes "nowhere.h"',
            "src/misc/stray.c: src/misc/ is no layer",
            'src/core/sneak.c:1: includes "../train/t.h"',
        ]
        failed = expect("includes", check_includes(t)[0], want_incl)

        # objects: build/<lib>.a from CMakeFiles/<lib>.dir/src/<layer>/<f>.c.o, programs' objects
        funcs = {  # file: (defines, uses)
            "src/train/a.c": ("train_a", ["train_b", "core_ok"]),   # a <-> b: a file cycle
            "src/train/b.c": ("train_b", ["train_a"]),
            "src/core/c1.c": ("core_c1", ["core_c2"]),              # c1 -> c2 -> c3 -> c1
            "src/core/c2.c": ("core_c2", ["core_c3"]),
            "src/core/c3.c": ("core_c3", ["core_c1", "base_ok"]),
            "src/core/ok.c": ("core_ok", ["base_ok"]),              # clean: uses a lower layer
            "src/base/ok.c": ("base_ok", []),
            "src/base/up.c": ("base_up", ["core_ok"]),              # base uses core: upward
            "src/io/x.c": ("io_x", ["comm_y"]),                     # io <-> comm: a folder cycle
            "src/comm/y.c": ("comm_y", ["io_w"]),                   # without a file cycle
            "src/io/w.c": ("io_w", []),
            "src/nn-tool/main.c": ("tool_main", ["train_a", "tool_helper", "other_helper"]),
            "src/nn-tool/helper.c": ("tool_helper", ["base_ok"]),
            # another program, not linked with nn-tool: no dependency either way
            "src/nn-other/main.c": ("other_helper", ["tool_main"]),
        }
        b = os.path.join(t, "build")
        libs = {}
        for path, (defines, uses) in funcs.items():
            layer = path.split("/")[1]
            target = "nn-tool" if path == "src/nn-tool/main.c" else \
                     "nn-other" if layer == "nn-other" else "nn" + layer.replace("nn-", "")
            obj = os.path.join(b, "CMakeFiles", target + ".dir", path + ".o")
            c = "".join("void %s(void);\n" % u for u in uses)
            c += "void %s(void) { %s }\n" % (defines, " ".join("%s();" % u for u in uses))
            write(obj[:-2], c)
            subprocess.run(["cc", "-c", "-o", obj, obj[:-2]], check=True)
            os.remove(obj[:-2])
            if not target.startswith("nn-"):
                libs.setdefault(target, []).append(obj)
        for target, objs_ in libs.items():
            subprocess.run(["ar", "qc", os.path.join(b, "lib%s.a" % target)] + objs_, check=True)
        want_obj = [
            "cycle of 2 files {src/train/a.c, src/train/b.c}",
            "cycle of 3 files {src/core/c1.c, src/core/c2.c, src/core/c3.c}",
            "cycle of 2 folders {src/base, src/core}",  # up.c -> ok.c -> base/ok.c
            "cycle of 2 folders {src/comm, src/io}",
            "src/base/up.c: uses core_ok, defined in src/core/ok.c",
            "src/io/x.c: uses comm_y, defined in src/comm/y.c",
            "src/comm/y.c: uses io_w, defined in src/io/w.c",
        ]
        bad, nobj, _ = check_objects(t, b)
        if nobj != len(funcs):
            print("FAIL self-test: objects: %d of %d objects read" % (nobj, len(funcs)))
            failed += 1
        failed += expect("objects", bad, want_obj)
        if failed:
            print("check-layers: self-test FAILED")
            return 1
        print("check-layers: self-test ok: %d include violations and %d object violations"
              " (file cycles of 2 and 3, a folder cycle, uses of higher layers) reported, clean"
              " files not" % (len(want_incl), len(want_obj)))
        return 0
    finally:
        subprocess.run(["rm", "-rf", t])


def main(argv):
    root, args = argv[1], argv[2:]
    if args[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    if args == ["--self-test"]:
        return self_test(root)
    if len(args) > 1 or (args and args[0].startswith("-")):
        print(USAGE, file=sys.stderr)
        return 2
    build = args[0] if args else os.path.join(root, "build")
    if not os.path.isdir(build):
        print("check-layers: no build directory %s" % build, file=sys.stderr)
        return 2
    return check(root, os.path.abspath(build))


sys.exit(main(sys.argv))
PYTHON
