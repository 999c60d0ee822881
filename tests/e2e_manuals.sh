#!/bin/bash
# e2e_manuals.sh: the man pages, bash completions and --version of every program.
#   e2e_manuals.sh CASE BUILD_DIR      CASE: man | completion | version | readme
# man: every page the build wrote (BUILD/man/man1) renders with groff -ww without a warning,
#   has man(7)'s sections, and lists every flag that the program's --help lists.
# completion: each script the build wrote (BUILD/completions) is loaded into a real bash and
#   driven as bash drives it (COMP_WORDS, COMP_CWORD, the function that `complete -p` names):
#   flags, choice values, files filtered by kind, --flag=value, nn-data's commands.
# version: --version names the version, a commit of this repository, and each library as
#   built against and as run.
# readme: README's "Every flag" block is nn-train --help's list of flags, line for line.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
nn_test_setup "${1:?usage: $0 CASE BUILD_DIR}" "${2:-}" manuals-
# Under AddressSanitizer (scripts/test.sh --sanitize runs the unit label with leak checks on):
# nn-train and nn-predict start MPI for --help and --version, whose plugins LeakSanitizer
# cannot follow (as tests/lib.sh's mpi_run says); leaks of --help do not matter here.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
progs=(nn-train nn-predict nn-serve nn-data)

# help_flags PROG [COMMAND]: the long flags --help lists, one per line, sorted.
help_flags() {
    "$build/$1" ${2:+"$2"} --help | grep -oE '^ +(-[a-z], )?--[a-z0-9-]+' |
        sed -E 's/.*--/--/' | sort -u
}

case_man() {
    local page n=0 err
    command -v groff >/dev/null || skip "groff is not installed (scripts/install-deps.sh --tests)"
    for page in "$build"/man/man1/*.1; do
        n=$((n + 1))
        err=$(groff -man -ww -z "$page" 2>&1) || fail "groff failed on $page: $err"
        [ -z "$err" ] || fail "groff -ww warns on $(basename "$page"): $err"
        local s
        for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
            grep -q "^\.SH \"\?$s\"\?$" "$page" || fail "$(basename "$page") has no $s section"
        done
    done
    [ "$n" = 7 ] || fail "expected 7 pages in $build/man/man1 (4 programs, 3 nn-data commands), found $n"
    # Every flag of --help is on the page (rendered: man's own output, hyphens and all).
    local p cmd text missing
    for p in nn-train nn-predict nn-serve "nn-data import-idx" "nn-data import-csv" "nn-data info"; do
        read -r prog cmd <<<"$p"
        page=$build/man/man1/$prog${cmd:+-$cmd}.1
        [ -f "$page" ] || fail "no page $page"
        text=$(MANWIDTH=200 groff -man -Tutf8 -P-c -P-u -P-b "$page" 2>/dev/null |
            sed 's/\xe2\x80\x90/-/g; s/\xe2\x88\x92/-/g')
        missing=$(help_flags "$prog" "$cmd" | while read -r f; do
            grep -qE -- "(^|[ ,])$f( |$)" <<<"$text" || echo "$f"
        done)
        [ -z "$missing" ] || fail "$(basename "$page") lacks flags that --help lists: $missing"
    done
    # The environment the programs read is documented where it applies.
    grep -q 'SLURM_JOB_ID' "$build/man/man1/nn-train.1" || fail "nn-train.1 does not name SLURM_JOB_ID"
    grep -q 'OPENBLAS_NUM_THREADS' "$build/man/man1/nn-train.1" ||
        fail "nn-train.1 does not name OPENBLAS_NUM_THREADS"
    say "7 pages: groff -ww clean, every section, every flag of --help"
}

# complete_words PROG WORD...: what bash's completion offers for the command line PROG
# WORD... with the cursor on the last word (split at '=' as bash splits it), one per line.
complete_words() {
    local prog=$1
    shift
    bash --norc --noprofile -c '
        . "$1"; prog=$2; shift 2
        spec=$(complete -p "$prog") || { echo "no completion for $prog" >&2; exit 3; }
        fn=$(sed -E "s/.*-F ([^ ]+) .*/\1/" <<<"$spec")
        COMP_WORDS=("$prog" "$@"); COMP_CWORD=$(($# ))
        COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
        "$fn" "$prog" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}"' bash "$build/completions/$prog" "$prog" "$@" | sort
}

# expect WANT PROG WORD...: the offers are exactly WANT (space separated, any order).
expect() {
    local want got
    want=$(tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort)
    shift
    got=$(complete_words "$@")
    [ "$got" = "$want" ] ||
        fail "completing '$*': expected [$(echo $want)], got [$(echo $got)]"
}

case_completion() {
    local p
    for p in "${progs[@]}"; do
        [ -f "$build/completions/$p" ] || fail "no completion script $build/completions/$p"
        bash -n "$build/completions/$p" || fail "$build/completions/$p is not valid bash"
    done
    mkdir -p sub ck && touch a.h5 b.h5 c.csv notes.txt
    # Every flag of --help, offered for "--"; and only those.
    for p in nn-train nn-predict nn-serve; do
        [ "$(complete_words "$p" --)" = "$(help_flags "$p")" ] ||
            fail "$p: completing '--' does not offer exactly the flags of --help"
    done
    expect "--optimizer" nn-train --optim
    expect "sgd gd adam adamw" nn-train --optimizer ""
    expect "adam adamw" nn-train --optimizer ad
    expect "a.h5 b.h5 sub ck" nn-train --data ""      # .h5 files and directories to reach them
    expect "a.h5" nn-train --data = a                 # --data=a
    expect "a.h5 b.h5 sub ck auto" nn-train --resume ""
    expect "sub ck" nn-train --checkpoint-dir ""
    expect "a.h5 b.h5 c.csv notes.txt sub ck" nn-train --metrics ""
    expect "" nn-train --lr ""                       # a number: nothing to offer
    expect "a.h5 b.h5 sub ck" nn-predict --model ""
    expect "auto test val train" nn-predict --split ""
    expect "a.h5 b.h5 sub ck" nn-serve --model ""
    expect "sub ck" nn-serve --model-dir ""
    expect "import-idx import-csv info --help --version" nn-data ""
    expect "import-csv" nn-data import-c
    expect "c.csv sub ck" nn-data import-csv ""
    expect "--task --test-fraction" nn-data import-csv c.csv --t
    expect "auto classify regress" nn-data import-csv c.csv --task ""
    expect "a.h5 b.h5 sub ck" nn-data import-csv c.csv -o ""
    expect "a.h5 b.h5 sub ck" nn-data info ""
    [ "$(complete_words nn-data import-csv --)" = "$(help_flags nn-data import-csv)" ] ||
        fail "nn-data import-csv: completing '--' does not offer exactly the flags of its --help"
    say "4 scripts: flags, choices, files by kind, --flag=value, nn-data's commands"
}

case_version() {
    local p out commit
    for p in "${progs[@]}"; do
        out=$("$build/$p" --version) || fail "$p --version failed"
        head -1 <<<"$out" | grep -qE "^$p [0-9]+\.[0-9]+\.[0-9]+ \(git ([0-9a-f]{12}(-dirty)?|unknown)\)$" ||
            fail "$p --version's first line: '$(head -1 <<<"$out")'; expected '$p X.Y.Z (git COMMIT)'"
        commit=$(head -1 <<<"$out" | sed -E 's/.*\(git ([0-9a-f]+).*/\1/')
        if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
            git -C "$src" cat-file -e "$commit^{commit}" 2>/dev/null ||
                fail "$p --version names commit $commit, which is not in $src"
        fi
        local lib
        for lib in HDF5 zlib OpenBLAS; do
            grep -qE "^  $lib +built against [0-9][^,]*, runs .*[0-9]" <<<"$out" ||
                fail "$p --version has no '$lib built against X, runs Y' line: $out"
        done
    done
    for p in nn-train nn-predict; do
        grep -qE "^  MPI +built against Open MPI [0-9.]+ \(MPI [0-9.]+\), runs Open MPI v[0-9]" <<<"$("$build/$p" --version)" ||
            fail "$p --version does not name MPI as built and as run"
    done
    for p in nn-data nn-serve; do # serial programs say so rather than leave MPI out
        grep -qE "^  MPI +not linked: $p runs as one process$" <<<"$("$build/$p" --version)" ||
            fail "$p --version does not say that it does not link MPI"
    done
    grep -qE "^  libmicrohttpd +built against [0-9.]+, runs [0-9.]+$" <<<"$("$build/nn-serve" --version)" ||
        fail "nn-serve --version does not name libmicrohttpd"
    # The run-time line is the loaded library's: the HDF5 one matches h5dump's, say.
    if command -v h5dump >/dev/null; then
        local h5
        h5=$(grep -oE '[0-9]+\.[0-9]+\.[0-9]+' <<<"$(h5dump --version)" | head -1)
        grep -q "HDF5 .* runs $h5" <<<"$("$build/nn-train" --version)" ||
            fail "nn-train --version's HDF5 does not match h5dump's $h5"
    fi
    say "4 programs: version, commit, and each library as built and as run"
}

case_readme() {
    local readme=$here/../README.md
    "$build/nn-train" --help | grep '^      --' >help.txt
    awk '/^### Every flag/ { f = 1; next } f && /^```/ { if (++n == 2) exit; next } f && n == 1' \
        "$readme" >readme.txt
    [ -s readme.txt ] || fail "no \"### Every flag\" code block in $readme"
    diff -u readme.txt help.txt >d.txt ||
        fail "README's \"Every flag\" block differs from nn-train --help (update it from the help): $(head -20 d.txt)"
}

"case_$case_name"
