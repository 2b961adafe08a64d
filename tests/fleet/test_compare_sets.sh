#!/bin/sh
# test_compare_sets.sh: `servesim compare --sets A... -- B...`, the gate over
# seeds: the same configuration on other seeds is not a regression (where a
# one-seed compare reports several), a genuinely worse configuration is;
# Welch's one-sided p-value against a hand-computed one; usage errors.
#   test_compare_sets.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
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
run() { # DIR SEED SCHED
    "$S" run --workload default --requests 2000 --rate 40 --sched "$3" --seed "$2" --quiet \
        --no-requests-csv --sample-interval 0 --out "$1" || fails=$((fails + 1))
}
for seed in 1 2 3 4 5 6 7 8; do run "$T/base/s$seed" $seed vllm; done
for seed in 1 2 3 4; do run "$T/worse/s$seed" $seed vllm:max_num_seqs=64; done
# One seed against another of the same configuration: spurious "regressions"
# at the default tolerances (printed, not required: it is what --sets is for).
"$S" compare "$T/base/s1" "$T/base/s5" > "$T/out" 2>/dev/null
echo "info: seed 1 vs seed 5, one run each: $(tail -n 1 "$T/out")"
# Seeds 1-4 vs 5-8 of the same configuration: no regression.
expect 0 --sets "$T/base/s1" "$T/base/s2" "$T/base/s3" "$T/base/s4" -- \
    "$T/base/s5" "$T/base/s6" "$T/base/s7" "$T/base/s8"
grep -q "REGRESSION" "$T/out" && { echo "FAIL: same configuration flagged"; fails=$((fails + 1)); }
# ... and not warned as different inputs (the seeds differ on purpose).
grep -q "different inputs" "$T/out" && { echo "FAIL: seeds warned as inputs"; cat "$T/out"; fails=$((fails + 1)); }
# A genuinely worse configuration (max_num_seqs 64 instead of 256 near capacity): regression.
expect 1 --sets "$T/base/s1" "$T/base/s2" "$T/base/s3" "$T/base/s4" -- "$T/worse/s1" "$T/worse/s2" \
    "$T/worse/s3" "$T/worse/s4"
grep -q "p99_ttft_ms .*REGRESSION" "$T/out" || { echo "FAIL: p99_ttft_ms not a regression"; cat "$T/out"; fails=$((fails + 1)); }
# Two trees, no `--`: every run under each is one sample.
expect 1 --sets "$T/base" "$T/worse"
# Hand-computed Welch: A = 1, 2, 3 and B = 4, 5, 6 ms: t = 3 / sqrt(2/3) = 3.674, 4 degrees of
# freedom, one-sided p = 0.0106558 (numerical integration of the t density).
hand() { # DIR P99_TTFT_MS
    mkdir -p "$1"
    printf '{"metrics": {"request_throughput": 10.0, "p99_ttft_ms": %s, "std_ttft_ms": %s}}\n' "$2" "$2" > "$1/summary.json"
}
hand "$T/ha/1" 1; hand "$T/ha/2" 2; hand "$T/ha/3" 3
hand "$T/hb/1" 4; hand "$T/hb/2" 5; hand "$T/hb/3" 6
hand "$T/hc/1" 1.06; hand "$T/hc/2" 2.06; hand "$T/hc/3" 3.06  # +3 %: within the tolerance
hand "$T/hn/1" 10; hand "$T/hn/2" 11; hand "$T/hn/3" 12
hand "$T/hm/1" 11; hand "$T/hm/2" 12; hand "$T/hm/3" 13        # +9 %, p = 0.144: noise
"$S" compare --sets --json "$T/ha" -- "$T/hb" > "$T/json" 2> "$T/err"
st=$?
[ "$st" = 1 ] || { echo "FAIL: hand sets exited $st"; cat "$T/err"; fails=$((fails + 1)); }
python3 - "$T/json" <<'PY' || fails=$((fails + 1))
import json, sys
j = json.load(open(sys.argv[1]))
assert j["mode"] == "sets" and j["runs_a"] == 3 and j["runs_b"] == 3 and j["tests"] == 1, j
r = {m["metric"]: m for m in j["metrics"]}["p99_ttft_ms"]
assert abs(r["p"] - 0.0106558) < 1e-6, r
assert r["a"] == 2 and r["b"] == 5 and r["sd_a"] == 1 and r["n_b"] == 3, r
assert r["verdict"] == "regression" and j["verdict"] == "regression", r
print("ok: Welch p-value %.7f (hand: 0.0106558)" % r["p"])
PY
expect 0 --sets "$T/ha" -- "$T/hc"
expect 0 --sets "$T/hn" -- "$T/hm"
grep -q "p99_ttft_ms .*noise" "$T/out" || { echo "FAIL: +9 % at p = 0.14 is not 'noise'"; cat "$T/out"; fails=$((fails + 1)); }
expect 1 --sets --alpha 0.2 "$T/hn" -- "$T/hm"                  # at a looser level it counts
# Usage: 2.
expect 2 --sets "$T/ha/1" -- "$T/hb"                           # one run on a side
expect 2 "$T/ha" -- "$T/hb"                                    # `--` without --sets
expect 2 --sets --alpha 0 "$T/ha" -- "$T/hb"
expect 2 --alpha 0.1 "$T/ha/1" "$T/hb/1"                       # --alpha without --sets
expect 2 --sets "$T/ha" --
expect 2 --sets --tol 'p99_ttf=10%' "$T/ha" -- "$T/hb"
# The same seed twice on a side is one result, not two samples: a warning.
"$S" compare --sets "$T/base/s1" "$T/base/s1" -- "$T/base/s5" "$T/base/s6" > /dev/null 2> "$T/err"
grep -q "same seed 1" "$T/err" || { echo "FAIL: repeated seed not warned"; cat "$T/err"; fails=$((fails + 1)); }
[ "$fails" -eq 0 ] || { echo "$fails compare --sets checks failed"; exit 1; }
