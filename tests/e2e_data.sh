#!/bin/bash
# e2e_data.sh: end-to-end tests of the nn-data tool (docs/nn-data.md).
#   e2e_data.sh CASE BUILD_DIR
# ctest runs each CASE as its own test (tests/CMakeLists.txt). Every check prints what it
# expected and what it got, and any failure exits non-zero. Input files are written here
# with printf and awk; values are read back with h5dump.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
nn_test_setup "$1" "$2" e2e-data-

# vals FILE DATASET: the dataset's values, comma-separated (floats with 6 significant digits).
vals() {
    h5dump -d "$2" -y -w 65535 -m %.6g "$1" | sed -n '/DATA {/,/^ *}/p' | sed '1d;$d' |
        tr -d ' \n'
}
# shape FILE DATASET: e.g. "5,6" (current extent).
shape() {
    h5dump -H -d "$2" "$1" | sed -n 's/.*DATASPACE *SIMPLE { ( \([^)]*\) ).*/\1/p' | tr -d ' '
}
# check_eq WHAT GOT WANT
check_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"; }

# idx_images FILE N ROWS COLS AWK_EXPR: an IDX image file whose pixel (i, j) is AWK_EXPR
# (in terms of i, the image, and j, the pixel), taken modulo 256.
idx_images() {
    local f=$1 n=$2 r=$3 c=$4 expr=$5
    printf '\x00\x00\x08\x03' >"$f"
    printf "$(awk -v n="$n" -v r="$r" -v c="$c" 'BEGIN {
        printf "\\x%02x\\x%02x\\x%02x\\x%02x", int(n / 16777216) % 256, int(n / 65536) % 256, int(n / 256) % 256, n % 256
        printf "\\x00\\x00\\x00\\x%02x\\x00\\x00\\x00\\x%02x", r, c }')" >>"$f"
    awk -v n="$n" -v d="$((r * c))" "BEGIN { for (i = 0; i < n; i++) { s = \"\";
        for (j = 0; j < d; j++) s = s sprintf(\"\\\\x%02x\", ($expr) % 256); print s } }" |
        while read -r line; do printf "$line"; done >>"$f"
}
# idx_labels FILE N AWK_EXPR: an IDX label file whose label i is AWK_EXPR.
idx_labels() {
    local f=$1 n=$2 expr=$3
    printf '\x00\x00\x08\x01' >"$f"
    awk -v n="$n" "BEGIN {
        printf \"\\\\x%02x\\\\x%02x\\\\x%02x\\\\x%02x\\n\", int(n / 16777216) % 256, int(n / 65536) % 256, int(n / 256) % 256, n % 256
        for (i = 0; i < n; i++) printf \"\\\\x%02x\\n\", ($expr) % 256 }" |
        while read -r line; do printf "$line"; done >>"$f"
}

# expect_fail STATUS PATTERN OUT ARGS...: nn-data must exit with STATUS, print exactly one
# line on stderr, "nn-data: error: ...", that contains PATTERN, and leave neither OUT nor
# OUT.tmp behind.
expect_fail() {
    local want=$1 pattern=$2 out=$3; shift 3
    set +e
    "$nndata" "$@" >stdout.txt 2>err.txt
    local rc=$?
    set -e
    [ "$rc" = "$want" ] || { cat err.txt >&2; fail "nn-data $*: exit status $rc; expected $want"; }
    [ "$(wc -l <err.txt)" = 1 ] || { cat err.txt >&2; fail "nn-data $*: expected one line on stderr"; }
    grep -q '^nn-data: error: ' err.txt || fail "nn-data $*: '$(cat err.txt)' lacks the prefix"
    grep -qF -- "$pattern" err.txt || fail "nn-data $*: '$(cat err.txt)' lacks '$pattern'"
    [ ! -e "$out" ] || fail "nn-data $*: $out exists after the error"
    [ ! -e "$out.tmp" ] || fail "nn-data $*: $out.tmp was left behind"
    echo "exit $rc: $(cat err.txt)"
}

case_idx() {
    # 5 training images of 2x3 pixels; pixel (i, j) = 51 * (6 i + j) mod 256, so image 0 is
    # 0, 51, ..., 255 = 0, 0.2, ..., 1 after scaling; label i = i mod 3. 3 test images.
    idx_images img 5 2 3 '51 * (6 * i + j)'
    idx_labels lab 5 'i % 3'
    idx_images timg 3 2 3 '7 * i + j'
    idx_labels tlab 3 '2'
    [ "$(wc -c <img)" = $((16 + 30)) ] && [ "$(wc -c <lab)" = $((8 + 5)) ] ||
        fail "the IDX writer made $(wc -c <img) and $(wc -c <lab) bytes"
    gzip -k img lab timg tlab
    "$nndata" import-idx --images img --labels lab -o plain.h5 >out.txt
    cat out.txt
    check_eq "x shape" "$(shape plain.h5 /train/x)" "5,6"
    check_eq "y shape" "$(shape plain.h5 /train/y)" "5"
    check_eq "image 0" "$(vals plain.h5 /train/x | cut -d, -f1-6)" "0,0.2,0.4,0.6,0.8,1"
    # image 1, pixel 2: 51 * 8 mod 256 = 152 -> 152/255
    check_eq "image 1 pixel 2" "$(vals plain.h5 /train/x | cut -d, -f9)" \
        "$(awk 'BEGIN { printf "%.6g", 152 / 255 }')"
    check_eq "labels" "$(vals plain.h5 /train/y)" "0,1,2,0,1"
    grep -q 'H5T_STD_I32LE' <<<"$(h5dump -H plain.h5)" || fail "y is not int32"
    grep -q 'H5T_IEEE_F32LE' <<<"$(h5dump -H plain.h5)" || fail "x is not float32"
    h5dump -p -H plain.h5 >props.txt
    grep -q 'DEFLATE' props.txt && grep -q 'LEVEL 4' props.txt && grep -q 'SHUFFLE' props.txt &&
        grep -q 'CHUNKED' props.txt && grep -q 'H5S_UNLIMITED' props.txt ||
        fail "expected chunked, extendible, shuffle + deflate(4) datasets: $(cat props.txt)"
    # gzipped inputs (detected by their magic) give the same data; gzip and plain may mix
    "$nndata" import-idx --images img.gz --labels lab.gz -o gz.h5 >out.txt
    grep -q 'img.gz (gzip)' out.txt || fail "the summary does not say img.gz is gzipped: $(cat out.txt)"
    check_eq "gzipped x" "$(vals gz.h5 /train/x)" "$(vals plain.h5 /train/x)"
    check_eq "gzipped y" "$(vals gz.h5 /train/y)" "$(vals plain.h5 /train/y)"
    "$nndata" import-idx --images img.gz --labels lab --test-images timg --test-labels tlab.gz \
        -o both.h5
    check_eq "test x shape" "$(shape both.h5 /test/x)" "3,6"
    check_eq "test labels" "$(vals both.h5 /test/y)" "2,2,2"
    check_eq "test image 2" "$(vals both.h5 /test/x | cut -d, -f13-18)" \
        "$(awk 'BEGIN { for (j = 0; j < 6; j++) printf "%s%.6g", j ? "," : "", (14 + j) / 255 }')"
    grep -q 'pixel / 255' <<<"$(h5dump -A both.h5)" || fail "the scaling is not recorded in /meta"
    # broken inputs: nothing is written
    head -c 40 img >trunc
    expect_fail 1 "trunc: truncated: the data ends in item 4; expected 5 items of 6 byte(s)" \
        o.h5 import-idx --images trunc --labels lab -o o.h5
    head -c 40 img | gzip >trunc.gz
    expect_fail 1 "trunc.gz: truncated" o.h5 import-idx --images trunc.gz --labels lab -o o.h5
    cat img lab >long
    expect_fail 1 "long: data continues after the 5 items" o.h5 \
        import-idx --images long --labels lab -o o.h5
    idx_labels lab4 4 'i'
    expect_fail 1 "lab4 has 4 labels but img has 5 images" o.h5 \
        import-idx --images img --labels lab4 -o o.h5
    expect_fail 1 "lab: magic 0x00000801 has 1 dimension(s); expected an IDX image file" o.h5 \
        import-idx --images lab --labels img -o o.h5
    printf 'P5\n2 3\n255\n' >notidx
    expect_fail 1 "notidx: magic 0x50350a32 is not IDX" o.h5 \
        import-idx --images notidx --labels lab -o o.h5
    expect_fail 1 "missing.gz: cannot open: No such file" o.h5 \
        import-idx --images missing.gz --labels lab -o o.h5
    idx_images wide 3 3 3 'i'
    expect_fail 1 "wide: images of 3x3; expected 2x3 as in img" o.h5 \
        import-idx --images img --labels lab --test-images wide --test-labels tlab -o o.h5
    expect_fail 2 "--test-images needs --test-labels" o.h5 \
        import-idx --images img --labels lab --test-images timg -o o.h5
    expect_fail 2 "import-idx needs --labels FILE" o.h5 import-idx --images img -o o.h5
    expect_fail 2 "-o img is also an input" img.h5 import-idx --images img --labels lab -o img
}

# The CSV used by several cases: a header with a quoted name holding a comma, quoted fields,
# string labels (one with a doubled quote), CRLF line ends.
write_iris_like() {
    printf '%s\r\n' \
        'sepal,"petal, len",width,species' \
        '5.1,1.4,0.2,setosa' \
        '"7.0",4.7,1.4,"versi""color"' \
        '6.3,6.0,2.5,virginica' \
        '4.9,1.5,0.1,"setosa"' \
        '6.4,4.5,1.5,"versi""color"' >"$1"
}

case_csv() {
    write_iris_like iris.csv
    "$nndata" import-csv iris.csv --label species -o iris.h5 | tee out.txt
    check_eq "x shape" "$(shape iris.h5 /train/x)" "5,3"
    check_eq "row 1 (a quoted number)" "$(vals iris.h5 /train/x | cut -d, -f4-6)" "7,4.7,1.4"
    # classes sorted bytewise: setosa 0, versi"color 1, virginica 2
    check_eq "labels" "$(vals iris.h5 /train/y)" "0,1,2,0,1"
    check_eq "class names" "$(vals iris.h5 /meta/class_names)" '"setosa","versi"color","virginica"'
    check_eq "feature names" "$(vals iris.h5 /meta/feature_names)" '"sepal","petal,len","width"'
    grep -q "task classify (3 classes" out.txt || fail "summary: $(cat out.txt)"
    # the same by index, and counted from the end
    "$nndata" import-csv iris.csv --label 3 -o i3.h5 >/dev/null
    "$nndata" import-csv iris.csv --label -1 -o im1.h5 >/dev/null
    check_eq "--label 3" "$(vals i3.h5 /train/y)" "0,1,2,0,1"
    check_eq "--label -1" "$(vals im1.h5 /train/x)" "$(vals iris.h5 /train/x)"
    # label first, no header (all numbers), integer labels 1..3 become classes 0..2
    printf '%s\n' 3,0.5,1 1,1.5,2 2,2.5,3 3,3.5,4 1.0,4.5,5 >nohead.csv
    "$nndata" import-csv nohead.csv --label 0 -o nohead.h5 | tee out.txt
    grep -q "no header row" out.txt || fail "a header was detected in nohead.csv"
    check_eq "integer classes" "$(vals nohead.h5 /train/y)" "2,0,1,2,0"
    check_eq "integer class names" "$(vals nohead.h5 /meta/class_names)" '"1","2","3"'
    check_eq "no-header x" "$(vals nohead.h5 /train/x | cut -d, -f1-4)" "0.5,1,1.5,2"
    # --header yes keeps the first row out even when it is numeric
    "$nndata" import-csv nohead.csv --label 0 --header yes -o yes.h5 >/dev/null
    check_eq "--header yes rows" "$(shape yes.h5 /train/x)" "4,2"
    # a non-integer label means regression: float32 [N, 1] targets
    printf '%s\n' a,b,price 1,2,10.5 3,4,20 5,6,30.25 >reg.csv
    "$nndata" import-csv reg.csv --label price -o reg.h5 | tee out.txt
    grep -q "task regress" out.txt || fail "reg.csv was not detected as regression"
    check_eq "targets shape" "$(shape reg.h5 /train/y)" "3,1"
    check_eq "targets" "$(vals reg.h5 /train/y)" "10.5,20,30.25"
    grep -q H5T_IEEE_F32LE <<<"$(h5dump -H -d /train/y reg.h5)" || fail "targets are not float32"
    [ "$(vals reg.h5 /meta/class_names 2>/dev/null)" = "" ] || fail "regression has class names"
    # ... unless --task classify; and integer labels can be forced to regression
    "$nndata" import-csv reg.csv --label price --task classify -o regc.h5 >/dev/null
    check_eq "forced classes" "$(vals regc.h5 /meta/class_names)" '"10.5","20","30.25"'
    "$nndata" import-csv nohead.csv --label 0 --task regress -o nr.h5 >/dev/null
    check_eq "forced regression" "$(vals nr.h5 /train/y)" "3,1,2,3,1"
    # another delimiter, with quotes
    printf '%s\n' 'x;y;lab' '"1,5";2;a' '3;4;b' >semi.csv
    expect_fail 1 "semi.csv:2: column 0 ('x'): '1,5' is not a number" s.h5 \
        import-csv semi.csv --label lab --delimiter ';' -o s.h5
    printf '%s\n' 'x;y;lab' '1.5;2;a' '3;4;b' >semi.csv
    "$nndata" import-csv semi.csv --label lab --delimiter ';' -o s.h5 >/dev/null
    check_eq "';' values" "$(vals s.h5 /train/x)" "1.5,2,3,4"
    printf 'x\ty\tlab\n1\t2\tz\n' >tab.tsv
    "$nndata" import-csv tab.tsv --label lab --delimiter tab -o t.h5 >/dev/null
    check_eq "tab values" "$(vals t.h5 /train/x)" "1,2"
    # --test-fraction: exactly floor(F * rows) rows, a seeded subset; train + test = all rows
    awk 'BEGIN { print "id,f,label"; for (i = 0; i < 40; i++) print i "," i * 0.5 "," i % 4 }' \
        >ids.csv
    "$nndata" import-csv ids.csv --label label --test-fraction 0.25 -o s1.h5 | tee out.txt
    grep -q "/train 30 rows, /test 10 rows (seed 42)" out.txt || fail "split: $(cat out.txt)"
    "$nndata" import-csv ids.csv --label label --test-fraction 0.25 -o s2.h5 >/dev/null
    "$nndata" import-csv ids.csv --label label --test-fraction 0.25 --seed 7 -o s3.h5 >/dev/null
    check_eq "same seed, same test rows" "$(vals s2.h5 /test/x)" "$(vals s1.h5 /test/x)"
    [ "$(vals s3.h5 /test/x)" != "$(vals s1.h5 /test/x)" ] || fail "--seed 7 chose the same rows"
    ids=$(for part in train test; do vals s1.h5 /$part/x | tr , '\n' | awk 'NR % 2 == 1'; done |
        sort -n | tr '\n' ' ')
    check_eq "train + test ids" "$ids" "$(seq 0 39 | tr '\n' ' ')"
    # each row keeps its own label: label = id mod 4
    paste -d' ' <(vals s1.h5 /test/x | tr , '\n' | awk 'NR % 2 == 1') \
        <(vals s1.h5 /test/y | tr , '\n') | awk '$1 % 4 != $2 { exit 1 }' ||
        fail "a /test row lost its label"
    echo "test rows (seed 42): $(vals s1.h5 /test/x | tr , '\n' | awk 'NR % 2 == 1' | tr '\n' ' ')"
}

case_clean() {
    # Missing and non-finite values drop the row (counted); the first of each kind is named.
    # 'nan' and 'NaN' are missing values (--na-values), inf and 1e39 (beyond float32) not finite.
    printf '%s\n' 'a,b,c,label' '1,2,3,x' '4,,6,y' '7,8,9,' 'nan,1,1,x' '2,inf,2,y' \
        '3,-Infinity,3,x' '4,1e39,4,y' '5,5,5,NaN' '" 6 ",6,6,y' '7,7, ,x' >dirty.csv
    "$nndata" import-csv dirty.csv --label label -o clean.h5 | tee out.txt
    grep -q "10 data rows; dropped 8; 5 with a missing value (first: line 3, column 1 ('b')); 3 with a non-finite value (first: line 6, column 1 ('b'))" out.txt ||
        fail "dropped-row report: $(cat out.txt)"
    check_eq "kept rows" "$(vals clean.h5 /train/x)" "1,2,3,6,6,6"
    check_eq "kept labels" "$(vals clean.h5 /train/y)" "0,1"
    check_eq "classes (of kept rows only)" "$(vals clean.h5 /meta/class_names)" '"x","y"'
    h5dump -A -g /meta clean.h5 >meta.txt
    grep -A4 'rows_dropped_missing' meta.txt | grep -q '(0): 5' &&
        grep -A4 'rows_dropped_nonfinite' meta.txt | grep -q '(0): 3' ||
        fail "/meta lacks the drop counts: $(cat meta.txt)"
    # --bad-rows fail stops at the first bad row, naming it
    expect_fail 1 "dirty.csv:3: column 1 ('b'): a missing value (empty, or one of --na-values)" c.h5 \
        import-csv dirty.csv --label label --bad-rows fail -o c.h5
    printf '%s\n' 'a,label' '1,x' 'inf,y' >nf.csv
    expect_fail 1 "nf.csv:3: column 0 ('a'): not finite" c.h5 \
        import-csv nf.csv --label label --bad-rows fail -o c.h5
    # every row dropped is an error, not an empty file
    printf '%s\n' 'a,label' ',x' 'nan,y' >alldropped.csv
    expect_fail 1 "all 2 data rows were dropped (2 with a missing value, 0 with a non-finite value)" \
        c.h5 import-csv alldropped.csv --label label -o c.h5
}

case_errors() {
    write_iris_like good.csv
    # a non-numeric feature names file, line, column and value
    printf '%s\n' 'id,name,age,label' '1,2,30,a' '2,3,31,b' '3,4,abc,a' >nonnum.csv
    expect_fail 1 "nonnum.csv:4: column 2 ('age'): 'abc' is not a number" o.h5 \
        import-csv nonnum.csv --label label -o o.h5
    printf '%s\n' '1,2,30,a' '2,x,31,b' >nonnum2.csv
    expect_fail 1 "nonnum2.csv:2: column 1: 'x' is not a number" o.h5 \
        import-csv nonnum2.csv --label 3 -o o.h5
    # a ragged row names its line and both field counts
    printf '%s\n' 'a,b,label' '1,2,x' '3,4,y' '5,y' '6,7,x' >ragged.csv
    expect_fail 1 "ragged.csv:4: 2 field(s); expected 3 as on line 1" o.h5 \
        import-csv ragged.csv --label label -o o.h5
    printf 'a,b,label\n1,"2,x\n3,4,y\n' >openq.csv
    expect_fail 1 "openq.csv:2: field 1: the quote opened on line 2 never closes" o.h5 \
        import-csv openq.csv --label label -o o.h5
    printf '%s\n' 'a,b,price' '1,2,3.5' '3,4,cheap' >regbad.csv
    expect_fail 1 "regbad.csv:3: column 2 ('price'), the label: 'cheap' is not a number; expected a number with --task regress" \
        o.h5 import-csv regbad.csv --label price --task regress -o o.h5
    : >empty.csv
    expect_fail 1 "empty.csv: no records" o.h5 import-csv empty.csv --label 0 -o o.h5
    printf 'a,b,label\n' >headonly.csv
    expect_fail 1 "headonly.csv: a header but no data rows" o.h5 \
        import-csv headonly.csv --label label -o o.h5
    printf '1\n2\n' >onecol.csv
    expect_fail 1 "onecol.csv:1: 1 field; expected a label column and at least one feature" o.h5 \
        import-csv onecol.csv --label 0 -o o.h5
    # bytes that are not CSV text: a NUL in a field, CR-only line ends, a byte-order mark
    # after the start
    printf 'a,b,label\n1,2,x\n3,2\0junk,y\n' >nul.csv
    expect_fail 1 "nul.csv:3: column 1: a NUL byte (0x00) in the field" o.h5 \
        import-csv nul.csv --label label -o o.h5
    printf 'a,b,label\r1,2,x\r3,4,y\r' >cr.csv
    expect_fail 1 "cr.csv:1: a carriage return (CR) without a line feed: the file uses CR-only line ends (old Mac)" \
        o.h5 import-csv cr.csv --label label -o o.h5
    printf 'a,b,label\n1,2,x\n\357\273\2773,4,y\n' >bom.csv
    expect_fail 1 "bom.csv:3: column 0: a byte-order mark (U+FEFF) in the middle of the file at line 3" \
        o.h5 import-csv bom.csv --label label -o o.h5
    printf 'a,a,label\n1,2,x\n' >dup.csv
    expect_fail 2 "--label 'a' names two columns of dup.csv, 0 and 1" o.h5 \
        import-csv dup.csv --label a -o o.h5
    expect_fail 1 "missing.csv: cannot open: No such file or directory" o.h5 \
        import-csv missing.csv --label 0 -o o.h5
    expect_fail 1 "nodir/o.h5: cannot create the output" nodir/o.h5 \
        import-csv good.csv --label species -o nodir/o.h5
    # usage errors: exit 2
    expect_fail 2 "--label 'kind': no such column in the first row of good.csv" o.h5 \
        import-csv good.csv --label kind -o o.h5
    expect_fail 2 "--label 4: good.csv has 4 columns; expected an index in [0, 3]" o.h5 \
        import-csv good.csv --label 4 -o o.h5
    expect_fail 2 "--label 'species' is a column name but --header no" o.h5 \
        import-csv good.csv --label species --header no -o o.h5
    expect_fail 2 "import-csv needs --label COLUMN" o.h5 import-csv good.csv -o o.h5
    expect_fail 2 "import-csv needs --output FILE" o.h5 import-csv good.csv --label species
    expect_fail 2 "import-csv needs a FILE argument" o.h5 import-csv --label species -o o.h5
    expect_fail 2 "--task 'cluster': expected one of auto|classify|regress" o.h5 \
        import-csv good.csv --label species --task cluster -o o.h5
    expect_fail 2 "--test-fraction '1.5': expected a number in [0, 0.99]" o.h5 \
        import-csv good.csv --label species --test-fraction 1.5 -o o.h5
    expect_fail 2 "--seed 'x': expected an integer" o.h5 \
        import-csv good.csv --label species --seed x -o o.h5
    expect_fail 2 "--delimiter 'ab': expected one character" o.h5 \
        import-csv good.csv --label species --delimiter ab -o o.h5
    expect_fail 2 "unknown flag '--bogus' (see nn-data import-csv --help)" o.h5 \
        import-csv good.csv --label species --bogus -o o.h5
    expect_fail 2 "unexpected argument 'extra.csv'" o.h5 \
        import-csv good.csv extra.csv --label species -o o.h5
    expect_fail 2 "--label: missing value" o.h5 import-csv good.csv -o o.h5 --label
    expect_fail 2 "-o good.csv is the input file" good.csv.h5 \
        import-csv good.csv --label species -o good.csv
    expect_fail 2 "unknown command 'import-json'" o.h5 import-json good.csv
    # an existing output is untouched by a failed run, and no temporary file remains
    "$nndata" import-csv good.csv --label species -o keep.h5 >/dev/null
    cp keep.h5 keep.orig
    set +e
    "$nndata" import-csv nonnum.csv --label label -o keep.h5 >/dev/null 2>err.txt
    rc=$?
    set -e
    [ $rc = 1 ] || fail "a failing import over keep.h5 exited $rc"
    cmp -s keep.h5 keep.orig || fail "a failing import changed the existing keep.h5"
    [ ! -e keep.h5.tmp ] || fail "keep.h5.tmp was left behind"
    # an interrupted import (SIGTERM) removes its temporary file
    # The signal goes in once int.h5.tmp exists (the writing pass has begun). A machine fast
    # enough to finish the import before that is seen gets a file four times larger.
    rows=1000000 rc=0
    for _ in 1 2 3 4; do
        awk -v n=$rows 'BEGIN { print "a,b,label"; for (i = 0; i < n; i++) print i "," i "," i % 2 }' >big.csv
        "$nndata" import-csv big.csv --label label -o int.h5 >/dev/null 2>&1 &
        pid=$!
        until [ -e int.h5.tmp ] || ! kill -0 $pid 2>/dev/null; do :; done
        kill -TERM $pid 2>/dev/null || true
        set +e
        wait $pid
        rc=$?
        set -e
        [ $rc = 0 ] || break
        rm -f int.h5
        rows=$((rows * 4))
    done
    [ $rc = $((128 + 15)) ] || fail "the interrupted import exited $rc; expected 143 (SIGTERM)"
    [ ! -e int.h5.tmp ] && [ ! -e int.h5 ] || fail "an interrupted import left $(ls int.h5*)"
    echo "an interrupted import left no file"
    full_disk
}

# full_disk: each importer onto a full disk (a small tmpfs in a private mount namespace; root
# only) fails with one line naming the output and the errno, status 1, leaves nothing
# behind, and does not crash at exit (HDF5 1.10 did, after a failed close). The tmpfs sizes
# come from the size of the same import on the real disk: half of it (fails while
# appending) and 97% (fails when the last chunks are written; those were lost in an
# unchecked H5Dclose, and a file of zero rows was renamed into place with status 0).
full_disk() {
    if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
        skip_part "full disk: needs root and unshare -m"
        return 0
    fi
    { printf '\x00\x00\x08\x03\x00\x00\x4e\x20\x00\x00\x00\x08\x00\x00\x00\x08'
      head -c 1280000 /dev/urandom; } >fimg
    { printf '\x00\x00\x08\x01\x00\x00\x4e\x20'; head -c 20000 /dev/urandom; } >flab
    awk 'BEGIN { print "a,b,c,d,label"; for (i = 0; i < 20000; i++)
        printf "%d.%d,%d,%d,%d,%d\n", i, i % 7, i % 13, i * 3, i % 101, i % 3 }' >fbig.csv
    local cmd size kib
    for cmd in "import-idx --images $work/fimg --labels $work/flab" \
               "import-csv $work/fbig.csv --label label"; do
        $nndata $cmd -o whole.h5 >/dev/null
        kib=$(( $(stat -c %s whole.h5) / 1024 ))
        rm whole.h5
        for size in $((kib / 2)) $((kib * 97 / 100)); do
            set +e
            unshare -m sh -c "mkdir -p $work/mnt && mount -t tmpfs -o size=${size}k tmpfs $work/mnt &&
                { $nndata $cmd -o $work/mnt/o.h5 >$work/stdout.txt 2>$work/err.txt; echo \$? >$work/rc.txt; }
                ls -A $work/mnt >$work/left.txt"
            set -e
            rc=$(cat rc.txt)
            [ "$rc" = 1 ] || { cat err.txt >&2; fail "$cmd on a full ${size}k disk: status $rc"; }
            [ "$(wc -l <err.txt)" = 1 ] || { cat err.txt >&2; fail "$cmd on ${size}k: expected one line"; }
            grep -q "^nn-data: error: $work/mnt/o.h5: .*No space left on device$" err.txt ||
                fail "$cmd on ${size}k: '$(cat err.txt)' lacks the file or the cause"
            [ ! -s left.txt ] || fail "$cmd on ${size}k left $(cat left.txt)"
            echo "full ${size}k of ${kib}k: $(cat err.txt)"
        done
    done
}

case_info() {
    write_iris_like iris.csv
    "$nndata" import-csv iris.csv --label species --test-fraction 0.4 -o iris.h5 >/dev/null
    "$nndata" info iris.h5 | tee info.txt
    grep -q '^/train: 3 samples, 3 features, integer class labels' info.txt &&
        grep -q '^/test: 2 samples' info.txt || fail "info: split sizes"
    grep -q 'x  float32 \[3, 3\]  chunks \[1024, 3\]  shuffle+deflate(4)' info.txt ||
        fail "info: x's type, shape and storage"
    grep -q 'non-finite values: 0 in x' info.txt || fail "info: non-finite count"
    grep -qE '^ +[0-9]+ +[0-9]+ +[0-9.]+% +virginica$' info.txt || fail "info: class names"
    grep -q 'task classify; 5 rows read, 0 dropped at import' info.txt || fail "info: provenance"
    # the per-class counts over both splits add up to the 5 rows: setosa 2, versi"color 2, virginica 1
    awk '$NF == "setosa" { s += $2 } $NF == "versi\"color" { v += $2 } $NF == "virginica" { g += $2 }
         END { exit !(s == 2 && v == 2 && g == 1) }' info.txt || fail "info: label counts"
    grep -qE '^ +0 +[0-9.]+ +[0-9.]+ +[0-9.]+  sepal$' info.txt || fail "info: feature 0 line"
    # many features: the first N, then one summary line; a file nn-data did not write
    "$make_data" blobs blobs.h5 300 40 3 1 50
    "$nndata" info blobs.h5 --features 3 | tee info.txt
    grep -q '^/val: 50 samples, 40 features' info.txt || fail "info: /val"
    grep -q '\.\.\. 37 more features' info.txt || fail "info: feature summary"
    grep -q '^  all 40 features: min .*, max .*; means from .* to .*' info.txt ||
        fail "info: overall range line"
    [ "$(grep -cE '^ +[0-9]+ +-?[0-9.e+-]+ +-?[0-9.e+-]+ +-?[0-9.e+-]+ *$' info.txt)" -ge 6 ] ||
        fail "info: feature lines"
    # exact figures: x = (i, 0) for rows i = 0..9, labels i % 2
    "$make_data" rowid rows.h5 10
    "$nndata" info rows.h5 >info.txt
    grep -qE '^ +0 +0 +9 +4.5 *$' info.txt || fail "info: min/max/mean of feature 0: $(cat info.txt)"
    grep -qE '^ +1 +5 +50.00%' info.txt || fail "info: label 1 count"
    # regression targets and non-finite values
    "$make_data" regress reg.h5 100 3 2 5
    "$nndata" info reg.h5 | tee info.txt
    grep -q 'float targets' info.txt && grep -q 'target' info.txt || fail "info: targets"
    "$make_data" bad-nan nan.h5
    "$nndata" info nan.h5 >info.txt
    grep -q 'non-finite values: 1 in x' info.txt || fail "info: NaN not counted: $(cat info.txt)"
    echo "not hdf5" >text.h5
    expect_fail 1 "text.h5: not an HDF5 file" none info text.h5
    expect_fail 1 "missing.h5: cannot open" none info missing.h5
    expect_fail 2 "info needs a FILE argument" none info
}

case_train() {
    # An imported CSV (3 separable clusters, string labels, a few bad rows) trains to high
    # accuracy under mpirun -np 2; so does an imported IDX set and a regression CSV.
    awk 'BEGIN { srand(3); print "f1,f2,f3,f4,kind"
        split("alpha beta gamma", names, " ")
        for (i = 0; i < 900; i++) { c = i % 3; s = ""
            for (j = 0; j < 4; j++) s = s sprintf("%.4f,", (j == c ? 4 : 0) + rand() - 0.5)
            print s "\"" names[c + 1] "\"" }
        print "1,,1,1,alpha"; print "nan,1,1,1,beta" }' >blobs.csv
    "$nndata" import-csv blobs.csv --label kind --test-fraction 0.1 -o blobs.h5 | tee out.txt
    grep -q "dropped 2" out.txt || fail "expected 2 dropped rows"
    timeout 120 mpirun -np 2 --oversubscribe "$train" --data blobs.h5 --layers 4,16,3 \
        --epochs 10 --batch 32 --lr 0.01 --metrics m.csv
    acc=$(tail -1 m.csv | cut -d, -f5)
    awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }' || fail "CSV import: validation accuracy $acc"
    echo "imported CSV, np 2: validation accuracy $acc"
    # IDX: 4x4 images, label = the bright quadrant, gzipped
    idx_images img 400 4 4 '(int(j / 8) * 2 + int((j % 4) / 2) == i % 4 ? 200 + (i * 7 + j) % 56 : (i * 13 + j * 5) % 60)'
    idx_labels lab 400 'i % 4'
    gzip img lab
    "$nndata" import-idx --images img.gz --labels lab.gz -o img.h5
    timeout 120 mpirun -np 2 --oversubscribe "$train" --data img.h5 --layers 16,16,4 \
        --epochs 15 --batch 32 --lr 0.01 --metrics m.csv --quiet
    acc=$(tail -1 m.csv | cut -d, -f5)
    awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }' || fail "IDX import: validation accuracy $acc"
    echo "imported IDX, np 2: validation accuracy $acc"
    awk 'BEGIN { srand(5); print "a,b,y"
        for (i = 0; i < 600; i++) { a = rand(); b = rand(); printf "%.5f,%.5f,%.5f\n", a, b, a + 2 * b + 0.25 } }' >reg.csv
    grep -q "task regress" <<<"$("$nndata" import-csv reg.csv --label y -o reg.h5)" || fail "reg.csv task"
    timeout 120 mpirun -np 2 --oversubscribe "$train" --data reg.h5 --layers 2,16,1 \
        --epochs 40 --batch 32 --lr 0.01 --metrics m.csv --quiet
    mse=$(tail -1 m.csv | cut -d, -f4)
    awk -v m="$mse" 'BEGIN { exit !(m < 0.01) }' || fail "regression import: validation MSE $mse"
    echo "imported regression CSV, np 2: validation MSE $mse"
}

case_stream() {
    # 200k rows x 20 features (+ a label): the importer's memory must not grow with the file.
    gen() {
        awk -v n="$1" 'BEGIN { srand(11); s = "f0"; for (j = 1; j < 20; j++) s = s ",f" j
            print s ",label"
            for (i = 0; i < n; i++) { s = ""
                for (j = 0; j < 20; j++) s = s sprintf("%.6f,", rand() * 200 - 100)
                print s (i % 7) } }'
    }
    gen 200000 >big.csv
    gen 100 >tiny.csv
    size=$(wc -c <big.csv)
    # Under AddressSanitizer, freed memory waits in a quarantine (256 MB by default), which
    # would make any program's peak RSS grow with the work done; turn it off here.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
    # peak_rss (tests/tools/peak_rss.c) reports what `/usr/bin/time -f '%M %e'` would, from wait4
    "$peak_rss" time_tiny.txt "$nndata" import-csv tiny.csv --label label \
        --test-fraction 0.1 -o tiny.h5 >/dev/null
    "$peak_rss" time_big.txt "$nndata" import-csv big.csv --label label \
        --test-fraction 0.1 -o big.h5 | tee out.txt
    read -r rss_tiny _ <time_tiny.txt
    read -r rss t <time_big.txt
    echo "csv: $size bytes, 200000 rows; peak RSS $rss KiB (100 rows: $rss_tiny KiB); $t s"
    check_eq "train rows" "$(shape big.h5 /train/x)" "180000,20"
    check_eq "test rows" "$(shape big.h5 /test/x)" "20000,20"
    # What the rows add to the peak RSS stays below 1/5 of the CSV's size (8 MB here; holding
    # x alone in memory would take 16 MB, the CSV's text 42 MB). Measured: ~3.3 MB, ~5.6 MB
    # under AddressSanitizer.
    awk -v a="$rss_tiny" -v b="$rss" -v s="$size" 'BEGIN { exit !((b - a) * 1024 < s / 5) }' ||
        fail "200000 rows raised the peak RSS from $rss_tiny to $rss KiB; expected less than 1/5 of $size bytes"
    # And the whole peak below half the CSV's size, except under the sanitizers, whose
    # runtime alone takes ~25 MB.
    if grep -q '^NN_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
        echo "sanitizer build: the absolute bound (half the CSV size) is not checked"
    else
        awk -v r="$rss" -v s="$size" 'BEGIN { exit !(r * 1024 < s / 2) }' ||
            fail "peak RSS $rss KiB is not below half the CSV size ($size bytes)"
    fi
    ls -l big.h5 | awk '{ print "big.h5: " $5 " bytes" }'
}

case_cli() {
    "$nndata" --help >help.txt
    for flag in images labels test-images test-labels output label task test-fraction seed \
                bad-rows header delimiter features classes help version; do
        grep -q -- "--$flag" help.txt || fail "--help does not list --$flag"
    done
    for c in import-idx import-csv info; do
        grep -q "^$c: " help.txt || fail "--help does not describe $c"
        "$nndata" $c --help >c.txt
        grep -q "^usage: nn-data $c" c.txt || fail "$c --help: $(head -1 c.txt)"
    done
    "$nndata" import-csv --help >c.txt
    grep -q -- "--test-fraction F .*\[0\]$" c.txt && grep -q -- "--seed N .*\[42\]$" c.txt &&
        grep -q -- "--bad-rows WHAT .*(drop|fail) \[drop\]$" c.txt &&
        grep -q -- "--task NAME .*(auto|classify|regress) \[auto\]$" c.txt &&
        grep -q -- "-o, --output FILE.h5 .*\[required\]$" c.txt || fail "import-csv --help defaults"
    # every line of a command's help shows a default or [required]
    ! grep -- '--' c.txt | grep -vqE '\[[^]]+\]$' || fail "a flag without a default: $(cat c.txt)"
    "$nndata" --version | grep -Eq '^nn-data [0-9]+\.[0-9]+\.[0-9]+ \(git ' || fail "--version"
    expect_fail 2 "expected a command" none
    # both spellings of a value
    write_iris_like iris.csv
    "$nndata" import-csv iris.csv --label=species --output=a.h5 >/dev/null
    [ -f a.h5 ] || fail "--flag=value spelling"
}

"case_$case_name"
echo "PASS [$case_name]"
