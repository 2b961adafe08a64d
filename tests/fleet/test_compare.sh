#!/bin/sh
# test_compare.sh: `servesim compare` exits 0 (no regression), 1 (regression)
# and 2 (bad input) as documented, direction-aware, with --tol overrides.
#   test_compare.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
summary() { # DIR THROUGHPUT P99_TTFT_MS FAILURE_RATE
    mkdir -p "$1"
    printf '{"metrics": {"request_throughput": %s, "p99_ttft_ms": %s, "failure_rate": %s, "std_ttft_ms": 1.0}}\n' \
        "$2" "$3" "$4" > "$1/summary.json"
}
expect() { # STATUS ARGS...
    want=$1; shift
    "$S" compare "$@" > "$T/out" 2>&1
    got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL: compare $* exited $got, expected $want"; cat "$T/out"; fails=$((fails + 1))
    else
        echo "ok: compare $* -> $got"
    fi
}
summary "$T/a" 10.0 100.0 0.0
summary "$T/same" 10.0 100.0 0.0
summary "$T/tp_1pct" 9.9 100.0 0.0       # throughput -1 %: within -2 %
summary "$T/tp_3pct" 9.7 100.0 0.0       # throughput -3 %: regression
summary "$T/tp_up" 12.0 100.0 0.0        # higher throughput is better
summary "$T/lat_4pct" 10.0 104.0 0.0     # p99 TTFT +4 %: within +5 %
summary "$T/lat_6pct" 10.0 106.0 0.0     # +6 %: regression
summary "$T/lat_down" 10.0 50.0 0.0      # lower latency is better
summary "$T/fail" 10.0 100.0 0.002       # failure rate +0.002 > +0.001
summary "$T/std" 10.0 100.0 0.0
sed -i 's/"std_ttft_ms": 1.0/"std_ttft_ms": 9.0/' "$T/std/summary.json"   # informational only
expect 0 "$T/a" "$T/same"
expect 0 "$T/a/summary.json" "$T/same/summary.json"
expect 0 "$T/a" "$T/tp_1pct"
expect 1 "$T/a" "$T/tp_3pct"
expect 0 "$T/a" "$T/tp_up"
expect 0 "$T/a" "$T/lat_4pct"
expect 1 "$T/a" "$T/lat_6pct"
expect 0 "$T/a" "$T/lat_down"
expect 1 "$T/a" "$T/fail"
expect 0 "$T/a" "$T/std"
expect 0 "$T/a" "$T/lat_6pct" --tol 'p99_*=10%'
expect 1 "$T/a" "$T/tp_1pct" --tol 'request_throughput=0.5%'
expect 0 "$T/a" "$T/fail" --tol failure_rate=0.01
expect 0 "$T/a" "$T/tp_3pct" --tol request_throughput=off
# Trees of runs pair by relative path.
mkdir -p "$T/setA" "$T/setB" "$T/setC"
cp -r "$T/a" "$T/setA/x"; cp -r "$T/a" "$T/setA/y"
cp -r "$T/same" "$T/setB/x"; cp -r "$T/lat_6pct" "$T/setB/y"
cp -r "$T/same" "$T/setC/x"
expect 1 "$T/setA" "$T/setB"
expect 0 "$T/setA" "$T/setA"
expect 2 "$T/setA" "$T/setC"             # run y missing in C
# Bad input.
echo 'not json' > "$T/bad.json"
echo '{"nometrics": 1}' > "$T/nom.json"
expect 2 "$T/a" "$T/missing"
expect 2 "$T/a" "$T/bad.json"
expect 2 "$T/a" "$T/nom.json"
expect 2 "$T/a" "$T/same" --tol 'p99_ttft_ms=fast'
expect 2 "$T/a"
expect 2 "$T/a" "$T/same" --no-such-option
# Real runs: identical inputs and seed compare clean.
for d in r1 r2; do
    "$S" run --workload default --requests 500 --sched fcfs-static --seed 3 --quiet \
        --no-requests-csv --sample-interval 0 --out "$T/$d" || fails=$((fails + 1))
done
expect 0 "$T/r1" "$T/r2"
[ "$fails" -eq 0 ] || { echo "$fails compare checks failed"; exit 1; }
