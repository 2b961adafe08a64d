#!/bin/sh
# test_compare.sh: `servesim compare` exits 0 (no regression), 1 (regression)
# and 2 (bad input) as documented, direction-aware, with --tol overrides; a
# gated metric missing or not a number on either side is an error (1), a --tol
# pattern that matches nothing is refused (2), results of different inputs
# are compared with a warning, --json is machine-readable.
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
expect_msg() { # STATUS TEXT ARGS...: the status, and TEXT in stdout/stderr
    want_text=$2
    st=$1; shift 2
    expect "$st" "$@"
    if ! grep -qF -- "$want_text" "$T/out"; then
        echo "FAIL: compare $* does not say '$want_text':"; cat "$T/out"; fails=$((fails + 1))
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
# A gated metric missing or not a number on either side: an error naming it
# and the file, never a quiet pass.
mkdir -p "$T/empty" "$T/str" "$T/null" "$T/nothr"
echo '{"metrics": {}}' > "$T/empty/summary.json"
printf '{"metrics": {"request_throughput": 10.0, "p99_ttft_ms": "fast", "failure_rate": 0.0}}\n' > "$T/str/summary.json"
printf '{"metrics": {"request_throughput": 10.0, "p99_ttft_ms": null, "failure_rate": 0.0}}\n' > "$T/null/summary.json"
printf '{"metrics": {"p99_ttft_ms": 100.0, "failure_rate": 0.0}}\n' > "$T/nothr/summary.json"
expect_msg 1 "$T/empty/summary.json" "$T/a" "$T/empty"
expect_msg 1 "request_throughput" "$T/a" "$T/empty"
expect_msg 1 "p99_ttft_ms" "$T/a" "$T/str"
expect_msg 1 "$T/str/summary.json" "$T/a" "$T/str"
expect_msg 1 "p99_ttft_ms" "$T/a" "$T/null"
expect_msg 1 "$T/nothr/summary.json" "$T/nothr" "$T/a"   # missing on A's side
expect_msg 1 "no gated metric" "$T/empty" "$T/empty"
expect 0 "$T/a" "$T/nothr" --tol request_throughput=off  # ungated: may be absent
# A --tol pattern that matches no metric is a typo, not a rule: refused.
expect_msg 2 "'p99_ttf'" "$T/a" "$T/same" --tol 'p99_ttf=10%'
expect_msg 2 "matches no metric" "$T/a" "$T/same" --tol 'p99_*=10%,p90_*=10%'
# Results of different inputs: compared, with a warning on stderr.
manifest() { # DIR SHA256 MODEL GPU P99
    mkdir -p "$1"
    printf '{"manifest": {"input": {"trace": "t.csv", "sha256": "%s"}, "model": "%s", "gpu": "%s"},\n' "$2" "$3" "$4" > "$1/summary.json"
    printf ' "metrics": {"request_throughput": 10.0, "p99_ttft_ms": %s, "failure_rate": 0.0}}\n' "$5" >> "$1/summary.json"
}
manifest "$T/m1" aaaa llama-2-7b h100-sxm 100.0
manifest "$T/m2" aaaa llama-2-7b h100-sxm 100.0
manifest "$T/m3" bbbb llama-2-7b h100-sxm 100.0
manifest "$T/m4" aaaa llama-2-13b a100-80g 100.0
expect 0 "$T/m1" "$T/m2"
if grep -q warning "$T/out"; then echo "FAIL: same inputs warned:"; cat "$T/out"; fails=$((fails + 1)); fi
expect_msg 0 "warning: " "$T/m1" "$T/m3"
expect_msg 0 "input" "$T/m1" "$T/m3"
expect_msg 0 "model (llama-2-7b vs llama-2-13b), gpu (h100-sxm vs a100-80g)" "$T/m1" "$T/m4"
"$S" compare "$T/m1" "$T/m3" 2> "$T/err" > /dev/null
grep -q "warning" "$T/err" || { echo "FAIL: the different-input warning is not on stderr"; fails=$((fails + 1)); }
# --json: the comparison as JSON on stdout, same exit status.
"$S" compare --json "$T/a" "$T/lat_6pct" > "$T/json" 2> "$T/err"
st=$?
[ "$st" = 1 ] || { echo "FAIL: compare --json exited $st, expected 1"; fails=$((fails + 1)); }
python3 - "$T/json" <<'PY' || fails=$((fails + 1))
import json, sys
j = json.load(open(sys.argv[1]))
assert j["regressions"] == 1 and j["verdict"] == "regression", j
rows = {r["metric"]: r for r in j["metrics"]}
p = rows["p99_ttft_ms"]
assert p["a"] == 100.0 and p["b"] == 106.0 and p["verdict"] == "regression", p
assert p["direction"] == "lower" and abs(p["allowed"] - 5.0) < 1e-9, p
assert rows["std_ttft_ms"]["direction"] == "info", rows["std_ttft_ms"]
assert rows["request_throughput"]["verdict"] == "same"
print("ok: compare --json")
PY
"$S" compare --json "$T/m1" "$T/m4" > "$T/json" 2> /dev/null
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["verdict"]=="pass" and len(j["warnings"])==1, j' "$T/json" \
    || { echo "FAIL: compare --json: warnings"; fails=$((fails + 1)); }
# Real runs: identical inputs and seed compare clean.
for d in r1 r2; do
    "$S" run --workload default --requests 500 --sched fcfs-static --seed 3 --quiet \
        --no-requests-csv --sample-interval 0 --out "$T/$d" || fails=$((fails + 1))
done
expect 0 "$T/r1" "$T/r2"
"$S" run --workload default --requests 500 --sched fcfs-static --seed 4 --quiet \
    --no-requests-csv --sample-interval 0 --out "$T/r3" || fails=$((fails + 1))
"$S" compare "$T/r1" "$T/r3" > /dev/null 2> "$T/err"
grep -q "warning: .*different inputs.*input (workload seed 3 vs 4)" "$T/err" \
    || { echo "FAIL: seed 3 vs 4 not warned:"; cat "$T/err"; fails=$((fails + 1)); }
[ "$fails" -eq 0 ] || { echo "$fails compare checks failed"; exit 1; }
