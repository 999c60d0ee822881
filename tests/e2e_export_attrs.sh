#!/bin/bash
# e2e_export_attrs.sh: an exported model's attributes of the wrong type or shape (docs/export.md),
# read through nn_h5attr.h's readers.
#   tests/e2e_export_attrs.sh CASE BUILD_DIR
# CASE:
#   types  copies of one export, each with one attribute rewritten (h5py) as another class,
#          rank or length than nn-predict --export writes: nnq_format a string; layers floats;
#          activation a variable-length string; loss a string longer than the reader keeps;
#          checksum a float; source_step two numbers; a layer's storage two strings (which
#          the reader before nn_h5attr.h's read into a buffer of one). Each is refused with its
#          one line (exit 1).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "${2:-}" export-attrs-
py=/usr/bin/python3
need_h5py

case_types() {
    "$make_data" blobs d.h5 200 8 3 1 40 >/dev/null
    mpi_run plain "$train" --data d.h5 --layers 8,16,3 --epochs 1 --checkpoint-dir ck --quiet
    mpi_run plain "$predict" --model "$(newest ck)" --export m.nnq --quiet
    "$py" - <<'EOF'
import shutil, h5py, numpy as np
cases = {  # name: (object, attribute, its new value; a str becomes a variable-length string)
    "format": ("/", "nnq_format", np.bytes_("1")),
    "layers_f": ("/", "layers", np.array([8, 16, 3], dtype=np.float32)),
    "act_vlen": ("/", "activation", "relu"),
    "loss_long": ("/", "loss", np.bytes_("cross-entropy-" * 3)),
    "sum_f": ("/", "checksum", np.float64(1.0)),
    "step_2": ("/", "source_step", np.array([1, 2], dtype=np.int64)),
    "storage_2": ("/model/dense_0", "storage", np.array([b"int8", b"int8"], dtype="S5")),
}
for name, (obj, attr, value) in cases.items():
    shutil.copy("m.nnq", name + ".nnq")
    with h5py.File(name + ".nnq", "r+") as f:
        del f[obj].attrs[attr]
        f[obj].attrs[attr] = value
EOF
    local name want
    while read -r name want; do
        set +e
        mpi_run plain "$predict" --model "$name.nnq" --data d.h5 >out.txt 2>err.txt
        local rc=$?
        set -e
        [ $rc = 1 ] && [ "$(grep -c error err.txt)" = 1 ] && grep -q -- "$want" err.txt ||
            { cat err.txt >&2; fail "$name: exit status $rc; expected 1 and one line with '$want'"; }
    done <<'EOF'
format not an exported model (no nnq_format attribute
layers_f the layers, activation or loss attribute is missing or malformed
act_vlen the layers, activation or loss attribute is missing or malformed
loss_long the layers, activation or loss attribute is missing or malformed
sum_f a root attribute (checksum, source, source_checksum, source_step) is missing or malformed
step_2 a root attribute (checksum, source, source_checksum, source_step) is missing or malformed
storage_2 /model/dense_0 is missing, of the wrong type or shape, or unreadable
EOF
    say "7 attributes of the wrong type or shape refused, each with its line"
}

"case_$case_name"
