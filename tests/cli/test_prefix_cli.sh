#!/bin/sh
# test_prefix_cli.sh: prefix caching from the command line (#19): with a
# cache larger than the trace, every request's cached tokens are exactly
# the leading blocks an earlier request had computed by its admission (the
# trace's reuse under the in-flight rule, recomputed here from the trace
# and requests.csv); caching off is byte-identical to no option; stepwise
# equals event skipping with caching on; prefix-affinity routing runs.
#   test_prefix_cli.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
W="default:sessions=true,turns_mean=4,think_s=20,system_prompt=100,hash_block=16,max_context=4000"
"$S" trace gen --workload "$W" --requests 400 --rate 0.5 --seed 3 --hashes --out "$T/t.jsonl" > /dev/null 2>&1 \
    || fail "trace gen --hashes failed"
"$S" trace stats "$T/t.jsonl" --hash-block 16 --json > "$T/stats.json" || fail "trace stats failed"
R="run --trace $T/t.jsonl --hash-block 16 --gpu h200 --quiet --sample-interval 0"
"$S" $R --sched vllm:prefix_caching=true --out "$T/on" || fail "caching run failed"
python3 - "$T/t.jsonl" "$T/on" "$T/stats.json" <<'PY' || fails=$((fails + 1))
import csv, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
reqs = list(csv.DictReader(open(sys.argv[2] + "/requests.csv")))
s = json.load(open(sys.argv[2] + "/summary.json"))
assert len(rows) == len(reqs)
assert s["sched_stats"]["prefix_cache"]["evictions"] == 0, "the cache was meant to hold the whole trace"
computed = {}  # block hash -> time its KV exists (the end of the prefill that wrote it)
want_total = got_total = prompt_total = 0
for row, q in zip(rows, reqs):
    if q["first_scheduled_s"] == "":
        continue
    start = float(q["first_scheduled_s"])
    prompt, hashes = row["prompt_tokens"], row["hash_ids"]
    full = min(prompt // 16, len(hashes), (prompt - 1) // 16)   # full blocks; the last token is always computed
    hit = 0
    while hit < full and computed.get(hashes[hit], float("inf")) <= start:
        hit += 1
    want, got = 16 * hit, int(q["cached_tokens"])
    assert want == got, "request %s: cached %d tokens, the trace says %d" % (q["id"], got, want)
    done = float(q["first_token_s"]) if q["first_token_s"] else float("inf")
    for h in hashes[:prompt // 16]:
        computed.setdefault(h, done)
    want_total += want
    prompt_total += prompt
got_rate = s["metrics"]["prefix_cache_hit_rate"]
assert abs(got_rate - want_total / prompt_total) < 1e-9, (got_rate, want_total / prompt_total)
ideal = json.load(open(sys.argv[3]))["prefix_reuse"]
print("prefix: hit rate %.4f (ideal reuse of the trace %s); every request exact" % (got_rate, ideal))
PY
# off: byte-identical to a run without the option
"$S" $R --sched vllm --out "$T/a" || fail "plain run failed"
"$S" $R --sched vllm:prefix_caching=false --out "$T/b" || fail "caching=false run failed"
cmp -s "$T/a/requests.csv" "$T/b/requests.csv" || fail "prefix_caching=false changes requests.csv"
# stepwise == event skipping with caching on (per-request times)
"$S" $R --sched vllm:prefix_caching=true --stepwise --out "$T/step" || fail "stepwise run failed"
python3 - "$T/on/requests.csv" "$T/step/requests.csv" <<'PY' || fails=$((fails + 1))
import csv, sys
a, b = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
for x, y in zip(a, b):
    assert x["cached_tokens"] == y["cached_tokens"] and x["state"] == y["state"], (x["id"], x, y)
    for k in ("first_token_s", "finish_s"):
        if x[k] or y[k]:
            assert abs(float(x[k]) - float(y[k])) <= 1e-6 * max(1.0, float(x[k])), (x["id"], k, x[k], y[k])
print("prefix: stepwise == event skipping")
PY
# chunked prefill: 256-token chunks register their blocks chunk by chunk; stepwise ==
# skipping, and with this slow trace every request caches what it did under vllm
"$S" $R --sched chunked-prefill:prefix_caching=true,chunk=256 --out "$T/ch" || fail "chunked run failed"
"$S" $R --sched chunked-prefill:prefix_caching=true,chunk=256 --stepwise --out "$T/chs" || fail "chunked stepwise run failed"
python3 - "$T/ch/requests.csv" "$T/chs/requests.csv" "$T/on/requests.csv" <<'PY' || fails=$((fails + 1))
import csv, sys
a, b, v = (list(csv.DictReader(open(p))) for p in sys.argv[1:4])
for x, y, z in zip(a, b, v):
    assert x["cached_tokens"] == y["cached_tokens"] == z["cached_tokens"], (x["id"], x["cached_tokens"], y["cached_tokens"], z["cached_tokens"])
    assert abs(float(x["finish_s"]) - float(y["finish_s"])) <= 1e-6 * max(1.0, float(x["finish_s"])), x["id"]
print("prefix: chunked prefill exact (stepwise == skipping, hits as vllm's)")
PY
# prefix-affinity routing over 3 instances; a swap + caching set-up is refused
"$S" $R --instances 3 --router prefix-affinity --sched vllm:prefix_caching=true --out "$T/pa" || fail "prefix-affinity run failed"
"$S" $R --sched vllm:prefix_caching=true,preempt=swap --out "$T/sw" 2> /dev/null; st=$?
[ "$st" = 2 ] || fail "prefix caching with preempt=swap exited $st, not 2"
# a Mooncake-format JSONL trace with hash_ids runs with caching from the CLI
HERE=$(cd "$(dirname "$0")" && pwd)
"$S" run --trace "$HERE/../traces/data/mooncake_tiny.jsonl" --format jsonl \
    --map arrival=timestamp:ms,input=input_length,output=output_length,hash_ids=hash_ids \
    --sched vllm:prefix_caching=true --quiet --out "$T/mc" || fail "the Mooncake fixture did not run"
python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['metrics']['prefix_cache_hit_rate']; sys.exit(0 if 0.3 < r < 0.4177 + 1e-9 else 1)" \
    "$T/mc/summary.json" || fail "Mooncake fixture: hit rate not in (0.3, its ideal reuse 0.4177]"
[ "$fails" = 0 ] && echo "prefix_cli: all ok"
exit "$fails"
