#!/bin/sh
# test_plan_honest.sh: a plan says why it found no fleet, leaves out the
# requests no fleet can serve (and says how many), runs one seed when the
# seeds cannot differ, records a run's manifest, keeps its intervals inside
# each quantity's range and counts throughput over offered time (#16 item 4).
#   test_plan_honest.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# A steady Azure-format trace: 400 requests at 20 req/s; every 50th prompt
# (8 of them, 2 %) is over llama-2-7b's 4096-token context.
python3 - "$T/t.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("TIMESTAMP,ContextTokens,GeneratedTokens\n")
    for i in range(400):
        s = i * 0.05
        prompt = 5000 if i % 50 == 7 else 200 + (i * 37) % 600
        f.write("2023-11-16 18:%02d:%09.6f,%d,%d\n" % (15 + int(s // 60), s % 60, prompt, 20 + (i * 13) % 200))
PY
# 1. Unservable prompts are left out of the failure share and flagged; the
#    deterministic trace runs one seed per size, not five identical ones.
"$S" plan --trace "$T/t.csv" --gpus h100-sxm --seeds 5 --out "$T/p.json" > "$T/out" 2> "$T/err" \
    || fail "plan on a trace with 2 % over-long prompts exited $?: $(cat "$T/err")"
grep -q "8 requests per run (2.00 %) no fleet of this kind can serve" "$T/out" || fail "the table does not flag the unservable requests: $(cat "$T/out")"
grep -q "seeds gave identical results" "$T/out" || fail "the table does not say the seeds were identical"
grep -q "servesim .* plan: model llama-2-7b, sched vllm, router least-work" "$T/out" || fail "the table does not name the set-up"
python3 - "$T/p.json" <<'PY' || fails=$((fails + 1))
import json, sys
p = json.load(open(sys.argv[1]))
m = p["manifest"]
for k in ("servesim_version", "command", "input", "model", "sched", "router", "predict", "cost", "seed"):
    assert k in m, "manifest lacks %s" % k
assert len(m["input"]["sha256"]) == 64, "no trace sha256 in the manifest"
c = p["scenarios"][0]["candidates"][0]
assert c["found"], "no answer although every servable request can be served"
assert c["seeds_identical"] is True, "identical seeds not detected"
at = c["at_answer"]
assert at["seeds_run"] == 1 and at["unservable_requests"] == 8, at
sizes = len(c["search"])
assert c["simulations"] == sizes + 1, "ran %d simulations for %d sizes: identical seeds were rerun" % (c["simulations"], sizes)
assert at["metrics"]["p99_ttft_s"]["ci95"] is None, "an interval from one seed"
# offered time: 400 requests over 19.95 s of arrivals is 20.05 req/s; the drain does not dilute it
thr = at["metrics"]["request_throughput"]["mean"]
assert abs(thr - 392 / 19.95) < 0.05, "throughput %.3f is not completions over offered time (%.3f)" % (thr, 392 / 19.95)
print("plan on a trace: ok")
PY
# 2. No fleet meets an impossible TPOT: the plan says which metric, by how
#    much, and stops once more instances change nothing (not at 1024); exit 1.
"$S" plan --trace "$T/t.csv" --gpus h100-sxm --slo tpot=0.001 --out "$T/q.json" > "$T/out2" 2> "$T/err2"; st=$?
[ "$st" = 1 ] || fail "a plan with no answer exited $st, not 1"
grep -q "no fleet meets the SLO: p99_tpot_s .* > 0.001 s at both" "$T/out2" || fail "no reason given: $(cat "$T/out2")"
python3 - "$T/q.json" <<'PY' || fails=$((fails + 1))
import json, sys
c = json.load(open(sys.argv[1]))["scenarios"][0]["candidates"][0]
assert not c["found"] and "p99_tpot_s" in c["why_none"], c.get("why_none")
assert len(c["search"]) <= 12, "searched %d sizes for an SLO no size meets" % len(c["search"])
print("plan without an answer: ok")
PY
# 3. Intervals stay inside each quantity's range: shares in [0, 1], latencies > 0.
"$S" plan --workload default --rate 60 --requests 600 --gpus h100-sxm --seeds 4 --json > "$T/w.json" 2> "$T/err3" \
    || fail "plan on the workload exited $?: $(cat "$T/err3")"
python3 - "$T/w.json" <<'PY' || fails=$((fails + 1))
import json, sys
c = json.load(open(sys.argv[1]))["scenarios"][0]["candidates"][0]
assert c["seeds_identical"] is False
n = 0
for ev in c["search"]:
    assert ev["seeds_run"] == 4, ev["seeds_run"]
    for name, x in ev["metrics"].items():
        ci = x["ci95"]
        if ci is None or x["mean"] is None: continue
        n += 1
        lo, hi = ci
        assert lo <= x["mean"] <= hi, (name, ci, x["mean"])
        if name.endswith("share"): assert 0 <= lo and hi <= 1, (name, ci)
        else: assert lo > 0, (name, ci)
assert n > 0
print("plan intervals: ok (%d checked)" % n)
PY
[ "$fails" = 0 ] && echo "plan_honest: all ok"
exit "$fails"
