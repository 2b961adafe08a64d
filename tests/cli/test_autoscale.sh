#!/bin/sh
# test_autoscale.sh: --autoscale (#21): bad specs are usage errors; a fixed
# schedule equals a fixed fleet byte for byte; a hand-made burst triggers one
# scale-up whose cold start is computed here by hand, the new instance takes
# requests only once ready, and the scale-down drains it (no request routed
# after the drain began, it leaves after its last request); conservation of
# requests and instance-seconds; failures during the scale-up lag counted.
#   test_autoscale.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
st() { "$@" > "$T/out" 2> "$T/err"; echo $?; }
R="run --workload default --requests 300 --rate 40 --quiet"
[ "$(st "$S" $R --autoscale nope --out "$T/e1")" = 2 ] || fail "--autoscale nope not exit 2"
grep -q "autoscal" "$T/err" || fail "--autoscale nope: no message"
[ "$(st "$S" $R --autoscale queue:bogus=1 --out "$T/e2")" = 2 ] || fail "unknown key not exit 2"
[ "$(st "$S" $R --autoscale queue:min=4,max=2 --out "$T/e3")" = 2 ] || fail "min > max not exit 2"
grep -q "min=4 exceeds max=2" "$T/err" || fail "min > max: message: $(cat "$T/err")"
[ "$(st "$S" $R --autoscale schedule:counts=1/2/3,max=4 --out "$T/e4")" = 2 ] || fail "3 counts not exit 2"
[ "$(st "$S" $R --autoscale schedule:counts=9,max=4 --out "$T/e5")" = 2 ] || fail "count > max not exit 2"
[ "$(st "$S" $R --autoscale schedule --out "$T/e6")" = 2 ] || fail "schedule without counts not exit 2"
[ "$(st "$S" $R --autoscale queue --instances 3 --out "$T/e7")" = 2 ] || fail "--instances + --autoscale not exit 2"
[ "$(st "$S" $R --autoscale queue --fleet 2xh100-sxm --out "$T/e8")" = 2 ] || fail "--fleet + --autoscale not exit 2"
[ "$(st "$S" $R --autoscale queue:initial=9,max=4 --out "$T/e9")" = 2 ] || fail "initial > max not exit 2"
"$S" list autoscalers | grep -q "^  target-utilisation" || fail "list autoscalers lacks target-utilisation"

# A schedule that never changes is the fixed fleet: same requests, same rows.
for router in least-work round-robin; do
    "$S" run --workload default --requests 2000 --rate 60 --instances 3 --router $router --quiet --out "$T/f_$router" \
        || fail "fixed fleet run"
    "$S" run --workload default --requests 2000 --rate 60 --router $router --autoscale schedule:counts=3,min=3,max=3 \
        --quiet --out "$T/s_$router" || fail "schedule run: $(cat "$T/err")"
    cmp -s "$T/f_$router/requests.csv" "$T/s_$router/requests.csv" || fail "$router: schedule:counts=3 changed requests.csv"
    cmp -s "$T/f_$router/timeseries.csv" "$T/s_$router/timeseries.csv" || fail "$router: schedule:counts=3 changed timeseries.csv"
done

# The burst: 300 req/s for 10 s (one H100 serves ~30), then 0.5 req/s of long
# generations (~20 s each, so a drained instance still holds some) to 300 s.
python3 - "$T/burst.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n")
    for i in range(3000):
        f.write("%.6f,ChatGPT,500,200,700,Conversation log\n" % (i / 300))
    for i in range(145):
        f.write("%.6f,ChatGPT,500,2000,2500,Conversation log\n" % (10.5 + 2 * i))
PY
AS="queue:min=1,max=2,initial=1,interval=1,boot=10,load_gbps=1,down_delay=5,up_queue=4,up_delay=0"
"$S" run --trace "$T/burst.csv" --autoscale "$AS" --slo ttft=2 --quiet --out "$T/b" 2> "$T/err" \
    || fail "burst run: $(cat "$T/err")"
"$S" run --trace "$T/burst.csv" --autoscale "$AS" --client deadline:ttft_timeout=5 --quiet --out "$T/c" 2> "$T/err" \
    || fail "burst run with a client: $(cat "$T/err")"
python3 - "$T" <<'PY' || fails=$((fails + 1))
import csv, json, sys
T = sys.argv[1]
s = json.load(open(T + "/b/summary.json"))
a, m = s["run"]["autoscale"], s["metrics"]
W = s["run"]["weight_bytes"]
cold = 10 + W / 1e9                       # boot + weights at 1 GB/s, by hand
assert abs(a["cold_start_s"] - cold) < 1e-9, (a["cold_start_s"], cold)
assert a["boots"] == 1 and a["drains"] == 1 and a["peak_instances"] == 2, a
tl = a["timeline"]                        # [t, ready, booting, draining]
t_boot = next(r[0] for r in tl if r[2] == 1)
assert t_boot == int(t_boot) and 0 < t_boot <= 2, t_boot   # a decision on the 1 s grid, early in the burst
i1 = a["instances"][1]
assert abs(i1["first_ready_s"] - (t_boot + cold)) < 1e-9, (i1, t_boot, cold)
t_drain = next(r[0] for r in tl if r[3] == 1)
t_left = next(r[0] for r in tl if r[0] > t_drain and r[3] == 0)
rows = list(csv.DictReader(open(T + "/b/requests.csv")))
on1 = [r for r in rows if r["instance"] == "1"]
assert on1, "the new instance served nothing"
assert min(float(r["arrival_s"]) for r in on1) >= i1["first_ready_s"], "routed to instance 1 before it was ready"
assert max(float(r["arrival_s"]) for r in on1) < t_drain, "routed to instance 1 after its drain began"
last = max(float(r["finish_s"]) for r in on1)
assert abs(t_left - last) < 1e-6, (last, t_left)  # it leaves when its last request finishes (printed to 10 digits)
assert abs(i1["time_up_s"] - (t_left - t_boot)) < 1e-6, (i1, t_left, t_boot)
assert abs(i1["time_serving_s"] - (t_left - i1["first_ready_s"])) < 1e-6, i1
assert i1["state_at_end"] == "off" and a["instances"][0]["state_at_end"] == "ready"
# Conservation: every request in one hour; instance-seconds add up; USD = hours x price.
assert sum(h["finished"] for h in a["per_hour"]) == m["arrived"] == len(rows) == 3145
up = sum(i["time_up_s"] for i in a["instances"])
assert abs(up - a["instance_hours"] * 3600) < 1e-6 and abs(up - a["end_s"] - (t_left - t_boot)) < 1e-6
price = s["run"]["fleet"][0]["price_per_hour"]
assert abs(a["usd"] - up / 3600 * price) < 1e-6
met = sum(1 for r in rows if r["state"] == "done" and float(r["ttft_s"]) <= 2)
assert a["per_hour"][0]["slo_met"] == met and abs(a["slo_attainment"] - met / len(rows)) < 1e-9
assert a["failures"] == 0
c = json.load(open(T + "/c/summary.json"))["run"]["autoscale"]
assert c["failures"] > 0 and 0 < c["failures_during_scale_up"] <= c["failures"], c
assert sum(h["failed_during_scale_up"] for h in c["per_hour"]) == c["failures_during_scale_up"]
PY
[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "autoscale: ok"
