#!/bin/sh
# test_sweep.sh: a sweep's CSV is byte-identical on 1 and 2 threads, has one
# row per run in spec order, and a bad spec is one clear error.
#   test_sweep.sh SERVESIM SOURCE_ROOT
set -eu
S=$1
SPEC=$2/tests/fleet/sweep_small.json
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
"$S" sweep "$SPEC" --out "$T/t1.csv" --threads 1 --quiet
"$S" sweep "$SPEC" --out "$T/t2.csv" --threads 2 --quiet
"$S" sweep "$SPEC" --out "$T/t3.csv" --threads 3 --quiet
cmp "$T/t1.csv" "$T/t2.csv"
cmp "$T/t1.csv" "$T/t3.csv"
rows=$(($(wc -l < "$T/t1.csv") - 1))
[ "$rows" -eq 12 ] || { echo "expected 12 rows, got $rows"; exit 1; }
# Rows in spec order: run indices 0..11 in the first column.
[ "$(cut -d, -f1 "$T/t1.csv" | tail -n +2 | tr '\n' ' ')" = "0 1 2 3 4 5 6 7 8 9 10 11 " ]
echo '{"sched": ["vllm"], "rates": [1]}' > "$T/bad.json"
if "$S" sweep "$T/bad.json" --out "$T/bad.csv" 2> "$T/err"; then echo "bad spec accepted"; exit 1; fi
grep -q "unknown field 'rates'" "$T/err"
echo "sweep: 12 runs identical on 1, 2 and 3 threads"
