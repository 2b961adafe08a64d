#!/bin/sh
# test_compare_vllm.sh: real results.  `compare` and `validate --measured`
# read a `vllm bench serve --save-result --save-detailed` JSON; against a
# simulation compare is accuracy mode (errors in % of the real value,
# within/beyond the tolerance, never REGRESSION; metrics on one side only
# named); `run --result-format vllm` writes summary.vllm.json that compare
# reads back; a malformed vllm result is one message naming the field, exit 2.
#
# The fixture tests/fleet/vllm_bench_result.json is hand-made from the
# schema vllm/benchmarks/serve.py writes (vllm-project/vllm, `benchmark()`'s
# result dict merged under main()'s date/backend/model_id/num_prompts/
# request_rate/burstiness/max_concurrency): 4 requests, one failed (its
# errors[] entry set, ttft 0.0, no gaps), summary keys for vLLM's defaults
# --percentile-metrics ttft,tpot,itl --metric-percentiles 99 (so no e2el and
# no P90 keys: those come from the per-request arrays).  Its numbers, worked
# by hand over the 3 successful requests (ttft 0.1/0.2/0.3 s, latencies
# 0.16/0.26/0.34 s, output lengths 4/3/5, gaps 3x20, 2x30, 4x10 ms):
#   TTFT mean 200, median 200, P90 280, P99 298 ms
#   TPOT (latency - ttft) / (len - 1): 20, 30, 10 ms: median 20, P90 28, P99 29.8
#   ITL pooled: mean 160/9, median 20, P90 30, P99 30 ms
#   E2E 160, 260, 340 ms: median 260, P90 324, P99 338.4
#   test_compare_vllm.sh SERVESIM SOURCE_ROOT
set -u
S=$1
F=$2/tests/fleet/vllm_bench_result.json
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() { # STATUS ARGS...: compare's exit status (output in $T/out)
    want=$1; shift
    "$S" compare "$@" > "$T/out" 2>&1
    got=$?
    if [ "$got" != "$want" ]; then fail "compare $* exited $got, expected $want"; cat "$T/out"
    else echo "ok: compare $* -> $got"; fi
}
says() { # TEXT: in the last output
    grep -qF -- "$1" "$T/out" || { fail "output does not say '$1':"; cat "$T/out"; }
}
[ -f "$F" ] || { echo "FAIL: no fixture $F"; exit 1; }

# A hand-made simulation of the same 4 requests: mean TTFT +10 %,
# throughput -10 % (both beyond the default 5 % / 2 %), the rest within.
mkdir -p "$T/sim"
cat > "$T/sim/summary.json" <<'EOF'
{"manifest": {"seed": 7, "model": "llama-2-7b"},
 "metrics": {"duration": 1.1, "completed": 3, "failed": 1, "request_throughput": 2.7, "output_throughput": 12.0,
  "mean_ttft_ms": 220.0, "median_ttft_ms": 210.0, "std_ttft_ms": 80.0, "p90_ttft_ms": 280.0, "p99_ttft_ms": 298.0,
  "median_tpot_ms": 20.0, "p90_tpot_ms": 28.0, "p99_tpot_ms": 29.8, "median_itl_ms": 19.0, "p99_itl_ms": 31.5,
  "median_e2el_ms": 260.0, "p99_e2el_ms": 338.4, "arrived": 4, "padding_share": 0.0, "request_goodput": null}}
EOF
expect 1 "$F" "$T/sim"
says "accuracy: the simulation (B) against a real vllm bench serve result"
says "+10.00%"
says "-10.00%"
says "beyond"
says "missing in B"
says "only in A (missing in B): total_input_tokens, total_output_tokens, total_token_throughput, mean_tpot_ms"
says "only in B (missing in A): arrived, padding_share"
says "2 beyond tolerance"
grep -q "REGRESSION\|regression" "$T/out" && fail "accuracy mode speaks of regressions"
# The simulation on the A side: the error is still simulated vs real.
expect 1 "$T/sim/summary.json" "$F"
says "accuracy: the simulation (A) against a real"
grep -q "^mean_ttft_ms .* +10.00% " "$T/out" || fail "A = sim: mean_ttft_ms error is not +10.00%"
expect 0 "$F" "$T/sim" --tol 'mean_ttft_ms=15%,request_throughput=12%'
says "0 beyond tolerance"
# --json: every row, errors as fractions, the derived metrics (P90s and E2E
# from the per-request arrays) with the hand-worked values.
"$S" compare --json "$F" "$T/sim" > "$T/json" 2> "$T/err"
[ $? = 1 ] || fail "compare --json: exit status is not 1"
python3 - "$T/json" <<'PY' || fails=$((fails + 1))
import json, sys
j = json.load(open(sys.argv[1]))
assert j["mode"] == "accuracy" and j["real"] == "a" and j["verdict"] == "beyond_tolerance" and j["beyond"] == 2, j
rows = {r["metric"]: r for r in j["metrics"]}
def near(x, y): return abs(x - y) < 1e-6 * max(1, abs(y))
m = rows["mean_ttft_ms"]
assert m["real"] == 200 and m["simulated"] == 220 and near(m["error"], 0.1) and m["verdict"] == "beyond", m
assert near(rows["request_throughput"]["error"], -0.1) and rows["request_throughput"]["verdict"] == "beyond"
for k, v in {"p90_ttft_ms": 280, "p90_tpot_ms": 28, "p90_itl_ms": 30, "median_e2el_ms": 260, "p99_e2el_ms": 338.4,
             "mean_itl_ms": 160 / 9, "p99_ttft_ms": 298}.items():
    assert near(rows[k]["real"], v), (k, rows[k])
assert rows["median_itl_ms"]["verdict"] == "within" and near(rows["median_itl_ms"]["error"], -0.05)
assert rows["total_input_tokens"]["verdict"] == "missing" and rows["total_input_tokens"]["missing_in"] == "b"
assert rows["padding_share"]["missing_in"] == "a"
assert "total_token_throughput" in j["missing_in_b"] and j["missing_in_a"] == ["arrived", "padding_share"], j
assert rows["request_goodput"]["verdict"] == "n/a"       # null on both sides
print("ok: compare --json accuracy")
PY
# Two real results: gated like two runs (the same file: identical).
expect 0 "$F" "$F"
says "0 regressions"

# Round trip: run --result-format vllm -> summary.vllm.json (vLLM's keys,
# the seed and inputs under servesim_manifest) -> compare reads it back.
"$S" run --workload default --requests 200 --seed 3 --quiet --result-format vllm --out "$T/r1" \
    || fail "run --result-format vllm"
"$S" run --workload default --requests 200 --seed 3 --quiet --result-format vllm --out "$T/r2" \
    || fail "run --result-format vllm (again)"
cmp -s "$T/r1/summary.vllm.json" "$T/r2/summary.vllm.json" || fail "summary.vllm.json differs between equal runs"
python3 - "$T/r1/summary.vllm.json" "$T/r1/summary.json" <<'PY' || fails=$((fails + 1))
import json, sys
v, s = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for k in ["backend", "model_id", "num_prompts", "request_rate", "burstiness", "duration", "completed",
          "request_throughput", "output_throughput", "mean_ttft_ms", "median_ttft_ms", "p99_ttft_ms",
          "mean_tpot_ms", "p99_itl_ms", "p99_e2el_ms"]:
    assert k in v, k
assert "metrics" not in v
assert v["servesim_manifest"]["seed"] == 3 and v["servesim_manifest"]["input"] == s["manifest"]["input"]
assert v["num_prompts"] == 200 and v["request_rate"] == 2.0 and v["burstiness"] == 0.5, v
assert v["p99_ttft_ms"] == s["metrics"]["p99_ttft_ms"] and v["servesim_metrics"]["preemptions"] == s["metrics"]["preemptions"]
print("ok: summary.vllm.json schema")
PY
expect 0 "$T/r1/summary.json" "$T/r1/summary.vllm.json"
grep -q "compare: 1 run, \([0-9]*\) gated metrics (\1 identical), 0 regressions" "$T/out" \
    || { fail "round trip is not identical"; cat "$T/out"; }
# A flat file servesim wrote is a simulation: gated like a run, REGRESSION and all.
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["p99_ttft_ms"]*=1.1; json.dump(d,open(sys.argv[2],"w"))' \
    "$T/r1/summary.vllm.json" "$T/slower.json"
expect 1 "$T/r1/summary.json" "$T/slower.json"
says "REGRESSION"
"$S" run --workload default --requests 200 --seed 4 --quiet --result-format vllm --out "$T/r3" || fail "run seed 4"
"$S" compare "$T/r1/summary.vllm.json" "$T/r3/summary.vllm.json" > /dev/null 2> "$T/err"
grep -q "workload seed 3 vs 4" "$T/err" || { fail "the flat files' manifests are not compared"; cat "$T/err"; }
# Real against the flat file: accuracy, and a warning that 4 requests are not 200.
expect 1 "$F" "$T/r1/summary.vllm.json"
says "accuracy: the simulation (B)"
says "sent 4 requests (num_prompts) but the simulation"
# --force without --result-format vllm leaves no stale summary.vllm.json.
"$S" run --workload default --requests 20 --quiet --force --out "$T/r1" || fail "run --force"
[ -e "$T/r1/summary.vllm.json" ] && fail "--force left the old summary.vllm.json"
"$S" run --workload default --requests 20 --quiet --result-format csv --out "$T/r9" > "$T/out" 2>&1
[ $? = 2 ] || fail "run --result-format csv is not a usage error"
says "--result-format 'csv': give servesim or vllm"

# Malformed vllm results: one message naming the file and field, exit 2.
python3 - "$F" "$T" <<'PY'
import json, sys
src, t = sys.argv[1], sys.argv[2]
def bad(name, edit):
    d = json.load(open(src)); edit(d); json.dump(d, open(f"{t}/{name}.json", "w"))
bad("completed_str", lambda d: d.update(completed="3"))
bad("ttft_str", lambda d: d["ttfts"].__setitem__(1, "fast"))
bad("itls_short", lambda d: d.update(itls=d["itls"][:3]))
bad("itl_flat", lambda d: d["itls"].__setitem__(0, 0.02))
bad("mean_str", lambda d: d.update(mean_ttft_ms="200"))
bad("no_duration", lambda d: d.pop("duration"))
PY
expect 2 "$T/completed_str.json" "$T/sim"; says '"completed" is a string'
expect 2 "$T/ttft_str.json" "$T/sim"; says '"ttfts"[1] is a string, not seconds'
expect 2 "$T/itls_short.json" "$T/sim"; says '"itls" has 3 entries but the other per-request arrays 4'
expect 2 "$T/itl_flat.json" "$T/sim"; says '"itls"[0] is a number, not a list of inter-token gaps'
expect 2 "$T/mean_str.json" "$T/sim"; says '"mean_ttft_ms" is a string, not a number'
expect 2 "$T/no_duration.json" "$T/sim"; says '"duration" is missing'
cat "$F" "$F" > "$T/appended.json"
expect 2 "$T/appended.json" "$T/sim"; says "vllm bench serve --append-result"
head -c 300 "$F" > "$T/cut.json"
expect 2 "$T/cut.json" "$T/sim"; says "cut.json:"
mkdir -p "$T/tree/x" "$T/tree/y"
cp "$T/sim/summary.json" "$T/tree/x/"; cp "$T/sim/summary.json" "$T/tree/y/"
expect 2 "$F" "$T/tree"; says "compare it with one simulation"
expect 2 --sets "$F" "$F" -- "$T/tree"; says "sets pool runs of one kind"

# validate --measured: the real result as the measured side of DIR's run.
"$S" validate "$T/sim" --measured "$F" > "$T/out" 2>&1 || { fail "validate --measured"; cat "$T/out"; }
says "against the real vllm bench serve result"
grep -q "^E2E P99 (ms) *338.4 *338.4 *+0.0%" "$T/out" || { fail "validate: E2E P99 from the arrays"; cat "$T/out"; }
grep -q "^TTFT P50 (ms) *200 *210 *+5.0%" "$T/out" || { fail "validate: TTFT P50"; cat "$T/out"; }
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["measured_requests"]==4 and "p99_e2el_ms" in j["derived_from_per_request"] and "median_ttft_ms" not in j["derived_from_per_request"], j' \
    "$T/sim/validation.json" || fail "validation.json"
"$S" validate "$T/r2" --measured "$T/r2/summary.vllm.json" > "$T/out" 2>&1 && fail "validate took a simulation as measured"
says "a simulation, not a measurement"
"$S" validate "$T/sim" --measured "$T/ttft_str.json" > "$T/out" 2>&1 && fail "validate took a malformed result"
says '"ttfts"[1] is a string'

[ "$fails" -eq 0 ] || { echo "$fails vllm result checks failed"; exit 1; }
echo "all vllm result checks passed"
