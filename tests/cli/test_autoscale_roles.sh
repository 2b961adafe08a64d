#!/bin/sh
# test_autoscale_roles.sh: --autoscale on a prefill:/decode: fleet (#21): one
# pool per role, each its fleet count; bad combinations are usage errors;
# constant schedules equal the fixed split fleet byte for byte; a decode-side
# burst scales the decode pool alone, its new instance gets hand-offs only
# once ready (cold start by hand); per-role accounts add up to the run's.
#   test_autoscale_roles.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
st() { "$@" > "$T/out" 2> "$T/err"; echo $?; }
R="run --workload default --requests 300 --rate 20 --quiet"
D="prefill:2xh100-sxm,decode:3xh100-sxm"
[ "$(st "$S" $R --fleet $D --autoscale queue:max=4 --out "$T/e1")" = 2 ] || fail "max= with roles not exit 2"
grep -q "drop max=" "$T/err" || fail "max= with roles: message: $(cat "$T/err")"
[ "$(st "$S" $R --autoscale-decode queue --out "$T/e2")" = 2 ] || fail "--autoscale-decode alone not exit 2"
[ "$(st "$S" $R --autoscale queue --autoscale-decode queue --out "$T/e3")" = 2 ] || fail "--autoscale-decode colocated not exit 2"
[ "$(st "$S" $R --fleet 2xh100-sxm,1xa100-80g --autoscale queue --out "$T/e4")" = 2 ] || fail "colocated --fleet + --autoscale not exit 2"
[ "$(st "$S" $R --fleet $D --autoscale queue:min=3 --out "$T/e5")" = 2 ] || fail "min over the prefill pool not exit 2"
grep -q "exceeds the prefill pool of 2" "$T/err" || fail "min over pool: message: $(cat "$T/err")"
[ "$(st "$S" $R --fleet $D --autoscale queue --autoscale-decode schedule:counts=4 --out "$T/e6")" = 2 ] \
    || fail "decode schedule over its pool not exit 2"
[ "$(st "$S" $R --fleet $D --autoscale queue --autoscale-decode queue:hour=60 --out "$T/e7")" = 2 ] \
    || fail "two hours not exit 2"

# Constant schedules per role are the fixed split fleet.
"$S" run --workload default --requests 2000 --rate 30 --fleet $D --quiet --out "$T/fixed" || fail "fixed split run"
"$S" run --workload default --requests 2000 --rate 30 --fleet $D --autoscale schedule:counts=2 \
    --autoscale-decode schedule:counts=3 --quiet --out "$T/sched" 2> "$T/err" || fail "schedule split run: $(cat "$T/err")"
cmp -s "$T/fixed/requests.csv" "$T/sched/requests.csv" || fail "constant schedules changed requests.csv"
cmp -s "$T/fixed/timeseries.csv" "$T/sched/timeseries.csv" || fail "constant schedules changed timeseries.csv"

# A decode-heavy burst: 40 req/s of 100-token prompts and 1500-token outputs
# for 20 s, then 1 req/s to 200 s.  Prefill: one instance of two, constant.
# Decode: queue policy from one instance, booting a second (10 s + weights at
# 1 GB/s) when hand-offs queue for its KV.
python3 - "$T/burst.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n")
    for i in range(800):
        f.write("%.6f,ChatGPT,100,1500,1600,Conversation log\n" % (i / 40))
    for i in range(180):
        f.write("%.6f,ChatGPT,100,300,400,Conversation log\n" % (20.5 + i))
PY
"$S" run --trace "$T/burst.csv" --fleet prefill:2xh100-sxm,decode:2xh100-sxm --gpu-mem-util 0.3 \
    --autoscale schedule:counts=1 \
    --autoscale-decode queue:min=1,initial=1,interval=1,boot=10,load_gbps=1,down_delay=5,up_queue=4,up_delay=0 \
    --quiet --out "$T/b" 2> "$T/err" || fail "burst run: $(cat "$T/err")"
python3 - "$T" <<'PY' || fails=$((fails + 1))
import csv, json, sys
T = sys.argv[1]
s = json.load(open(T + "/b/summary.json"))
a, m = s["run"]["autoscale"], s["metrics"]
pre, dec = a["roles"]["prefill"], a["roles"]["decode"]
assert pre["pool"] == 2 and dec["pool"] == 2 and pre["policy"] == "schedule" and dec["policy"] == "queue", a["roles"]
assert pre["boots"] == 0 and pre["peak_instances"] == 1, pre          # the prefill pool never moved
assert dec["boots"] >= 1 and dec["peak_instances"] == 2, dec
cold = 10 + s["run"]["weight_bytes"] / 1e9                             # boot + weights at 1 GB/s
assert abs(dec["cold_start_s"] - cold) < 1e-9, (dec["cold_start_s"], cold)
inst = {i["index"]: i for i in a["instances"]}
assert [inst[i]["role"] for i in range(4)] == ["prefill", "prefill", "decode", "decode"], inst
assert inst[1]["boots"] == 0 and inst[1]["time_up_s"] == 0, inst[1]   # the second prefill instance stayed off
ready = inst[3]["first_ready_s"]
assert ready is not None and ready >= cold, inst[3]
# The booted decode instance got hand-offs only once ready: every request
# ending there got its first token (its KV landed) after it was ready.
rows = list(csv.DictReader(open(T + "/b/requests.csv")))
on3 = [r for r in rows if r["instance"] == "3"]
assert on3 and min(float(r["first_token_s"]) for r in on3) >= ready - 1e-9, (len(on3), ready)
assert not [r for r in rows if r["instance"] == "1"], "a request on the prefill instance that was off"
# Per-role accounts add up to the run's.
for k in ("instance_hours", "gpu_hours", "usd", "boots", "drains"):
    assert abs(pre[k] + dec[k] - a[k]) < 1e-9 * max(1, abs(a[k])), (k, pre[k], dec[k], a[k])
assert abs(sum(i["time_up_s"] for i in a["instances"]) / 3600 - a["instance_hours"]) < 1e-9
assert m["completed"] + m["failed"] + m["rejected"] + m["cancelled"] == m["arrived"] == len(rows), m
print("roles autoscaled: decode boots", dec["boots"], "ready at %.1f s (cold start %.1f s);" % (ready, cold),
      len(on3), "requests on it; USD prefill %.3f decode %.3f" % (pre["usd"], dec["usd"]))
PY
[ $fails -eq 0 ] && echo "test_autoscale_roles: ok"
exit $fails
