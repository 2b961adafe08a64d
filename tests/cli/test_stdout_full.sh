#!/bin/sh
# test_stdout_full.sh: a command whose stdout cannot be written (/dev/full:
# every write fails with ENOSPC) fails with exit 1 and a message naming
# stdout, instead of exiting 0 with its output lost.
#   test_stdout_full.sh SERVESIM
set -u
S=$1
[ -w /dev/full ] || { echo "no /dev/full: skipped"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
full() { # ARGS...: stdout to /dev/full -> exit 1, "stdout" on stderr
    "$S" "$@" > /dev/full 2> "$T/err" < /dev/null
    got=$?
    if [ "$got" != 1 ] || ! grep -q "stdout" "$T/err"; then
        echo "FAIL: servesim $* > /dev/full exited $got:"; cat "$T/err"; fails=$((fails + 1))
    else
        echo "ok: servesim $* > /dev/full -> 1 ($(head -n 1 "$T/err"))"
    fi
}
printf 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n1,a,5,6,11,x\n2,a,7,8,15,x\n3,a,9,3,12,x\n' > "$T/t.csv"
"$S" run --workload default --requests 50 --quiet --no-requests-csv --sample-interval 0 --out "$T/a" || fails=$((fails + 1))
full list
full version
full --version
full --help
full run --help
full trace stats "$T/t.csv"
full trace stats "$T/t.csv" --json
full run --workload default --requests 50 --no-requests-csv --sample-interval 0 --json --out "$T/r1"
full run --workload default --requests 50 --no-requests-csv --sample-interval 0 --out "$T/r2"
full compare "$T/a" "$T/a"
full compare --json "$T/a" "$T/a"
full plan --workload default --rate 2 --duration 30 --gpus h100-sxm --seeds 1 --json
# the same commands with a working stdout succeed
"$S" list > /dev/null || { echo "FAIL: list > /dev/null"; fails=$((fails + 1)); }
"$S" compare "$T/a" "$T/a" > /dev/null || { echo "FAIL: compare > /dev/null"; fails=$((fails + 1)); }
[ "$fails" -eq 0 ] || { echo "$fails stdout checks failed"; exit 1; }
