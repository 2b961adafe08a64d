#!/bin/sh
# test_plan_autoscale.sh: `servesim plan --autoscale` (#21 item 3) on a short
# day: 960 s (a 40 s "hour"), the embedded workload at 60 req/s mean, one
# kind (h100-sxm, 3 USD/GPU-hour), 2 seeds, 120 s static plans.
# The answer we expect, and why: the mean hour needs 2 instances and the
# peak hour (x 1.839) 3, so static-mean costs 2 x 24 x 3 = 144 USD/day and
# fails the peak hours, static-peak 3 x 24 x 3 = 216 USD/day and passes.
# The per-hour schedule (counts from one instance's share of the peak rate,
# 48 instance-hours) passes at ~145 USD/day: the cheapest.  The reactive
# rows fail: a 40 s hour is shorter than a decision (60 s) plus a cold start
# (66.7 s), so they chase the load.  Also checked: every row's run_args
# replay it with `servesim run` (same USD/day and P99 TTFT, mean of the two
# seeds), exit 1 with why when no setting passes, and usage errors exit 2.
#   test_plan_autoscale.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
DAY="--workload default --rate 60 --autoscale --day-s 960 --duration 120 --gpus h100-sxm --seeds 2 --threads 2"

# 1. The answer, its table and JSON.
"$S" plan $DAY --out "$T/p.json" > "$T/out" 2> "$T/err" || fail "plan --autoscale exited $?: $(cat "$T/err")"
grep -q "^== autoscale: h100-sxm" "$T/out" || fail "no autoscale table: $(cat "$T/out")"
grep -q "^schedule .*pass  <- cheapest" "$T/out" || fail "the table does not mark schedule the cheapest: $(cat "$T/out")"
grep -q "^autoscale: the cheapest setting meeting the SLOs over the day (960 s, compressed): schedule on h100-sxm" "$T/out" \
    || fail "no answer line: $(cat "$T/out")"
python3 - "$T/p.json" "$T/runs.txt" <<'PY' || fails=$((fails + 1))
import json, sys
p = json.load(open(sys.argv[1]))
a = p["autoscale"]
for k in ("day_s", "hour_s", "per_day_scale", "day_run_args", "cost", "grid", "candidates", "found", "answer"):
    assert k in a, "autoscale lacks %s" % k
assert a["day_s"] == 960 and a["hour_s"] == 40 and a["per_day_scale"] == 90, a
assert [s["name"] for s in p["scenarios"]] == ["mean-hour", "peak-hour"], "static plans: %s" % p["scenarios"]
c = a["candidates"][0]
assert c["static_mean_instances"] == 2 and c["static_peak_instances"] == 3, c
names = [s["name"] for s in c["settings"]]
assert names == ["static-mean", "static-peak", "schedule", "schedule-x1.2", "target-util-0.3", "target-util-0.45",
                 "target-util-0.6", "queue-2", "queue-4", "queue-8"], names
by = {s["name"]: s for s in c["settings"]}
for s in c["settings"]:
    for k in ("pass", "seeds_run", "failing", "metrics", "autoscale", "run_args", "usd_per_day"):
        assert k in s, "%s lacks %s" % (s["name"], k)
    assert s["seeds_run"] == 2, s["name"]
    for k in ("usd_per_day", "gpu_hours_per_day", "slo_attainment", "worst_hour_attainment", "peak_instances",
              "p99_ttft_s", "p99_tpot_s", "failure_share"):
        m = s["metrics"][k]
        assert m["ci95"] is not None and m["ci95"][0] <= m["mean"] <= m["ci95"][1], (s["name"], k, m)
    u = s["metrics"]["usd_per_day"]
    assert u["ci95"][0] > 0, "USD interval crosses zero: %s" % u
    w = s["metrics"]["worst_hour_attainment"]["ci95"]
    assert 0 <= w[0] and w[1] <= 1, "a share's interval leaves [0, 1]: %s" % w
# The static rows cost N x 24 h x 3 USD exactly (the drain tail is not counted).
assert abs(by["static-mean"]["usd_per_day"] - 144) < 1e-6, by["static-mean"]["usd_per_day"]
assert abs(by["static-peak"]["usd_per_day"] - 216) < 1e-6, by["static-peak"]["usd_per_day"]
assert not by["static-mean"]["pass"] and "p99_ttft_s" in by["static-mean"]["failing"]
assert by["static-peak"]["pass"]
# The schedule: its counts' instance-hours at 3 USD, give or take the drains.
counts = c["schedule_counts"]
assert len(counts) == 24 and max(counts) == 3 and min(counts) == 1, counts
sched = by["schedule"]["usd_per_day"]
assert 0.95 * 3 * sum(counts) < sched < 1.05 * 3 * sum(counts), (sched, sum(counts))
# The answer is the cheapest passing row.
passing = [s for s in c["settings"] if s["pass"]]
cheapest = min(passing, key=lambda s: s["usd_per_day"])
assert cheapest["name"] == "schedule" == c["answer"] == a["answer"]["setting"], (cheapest["name"], c.get("answer"))
assert a["answer"]["usd_per_day"] == cheapest["usd_per_day"] < a["answer"]["static_peak_usd_per_day"] == 216
assert all(not by[n]["pass"] for n in names if n.startswith(("target-util", "queue"))), \
    "a reactive row passed a 40 s hour: %s" % [n for n in names if by[n]["pass"]]
assert a["answer"]["run_args"] == cheapest["run_args"] and "--autoscale " + cheapest["autoscale"] in cheapest["run_args"]
with open(sys.argv[2], "w") as f:
    f.write("%s\n%.17g\n%.17g\n" % (cheapest["run_args"], cheapest["metrics"]["usd_per_day"]["mean"],
                                   cheapest["metrics"]["p99_ttft_s"]["mean"]))
PY

# 2. run_args replay the answer: the mean over seeds 1 and 2 of `servesim run`.
if [ -s "$T/runs.txt" ]; then
    args=$(sed -n 1p "$T/runs.txt")
    for seed in 1 2; do
        "$S" run $args --seed $seed --out "$T/r$seed" --no-requests-csv --quiet --force 2> "$T/rerr" \
            || fail "replaying run_args (seed $seed) exited $?: $(cat "$T/rerr")"
    done
    python3 - "$T/runs.txt" "$T/r1/summary.json" "$T/r2/summary.json" <<'PY' || fails=$((fails + 1))
import json, sys
lines = open(sys.argv[1]).read().split("\n")
usd_plan, ttft_plan = float(lines[1]), float(lines[2])
usd, ttft = [], []
for f in sys.argv[2:]:
    s = json.load(open(f))
    usd.append(sum(h["usd"] for h in s["run"]["autoscale"]["per_hour"][:24]) * 90)
    ttft.append(s["metrics"]["p99_ttft_ms"] / 1e3)
u, t = sum(usd) / 2, sum(ttft) / 2
assert abs(u - usd_plan) <= 1e-5 * usd_plan, "replayed USD/day %.9g != the plan's %.9g" % (u, usd_plan)
assert abs(t - ttft_plan) <= 1e-5 * ttft_plan, "replayed P99 TTFT %.9g != the plan's %.9g" % (t, ttft_plan)
PY
fi

# 3. No setting passes (every hour at 100 % within TTFT 60 ms): exit 1, why.
"$S" plan $DAY --slo ttft=0.06,tpot=0.1 --hour-attainment 1 --out "$T/n.json" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 1 ] || fail "no passing setting: exit $rc, want 1"
grep -q "no setting meets the SLOs over the day" "$T/err" || fail "no clear message: $(cat "$T/err")"
grep -q "autoscale answer: none: .*even static-peak (3 instances all day) fails: worst_hour_attainment .* < 1" "$T/out" \
    || fail "the table does not say why: $(cat "$T/out")"
python3 - "$T/n.json" <<'PY' || fails=$((fails + 1))
import json, sys
a = json.load(open(sys.argv[1]))["autoscale"]
assert a["found"] is False and a["answer"] is None, a["answer"]
c = a["candidates"][0]
assert "worst_hour_attainment" in c["why_none"] and not any(s["pass"] for s in c["settings"]), c["why_none"]
assert a["candidates"][0]["settings"][1]["failing"] == ["worst_hour_attainment"]
PY

# 4. No static fleet at all (TPOT 1 ms): no grid, exit 1.
"$S" plan $DAY --slo ttft=2,tpot=0.001 --out "$T/z.json" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 1 ] || fail "no static fleet: exit $rc, want 1"
grep -q "no grid: no static peak-hour fleet to derive the grid from: p99_tpot_s" "$T/out" || fail "no why: $(cat "$T/out")"

# 5. Usage errors exit 2.
for bad in "--workload default --day-s 900" "--workload default --hour-attainment 0.9" \
           "--trace x.csv --autoscale" "--workload default --autoscale --requests 5" \
           "--workload default --autoscale --day-s 10"; do
    "$S" plan $bad > /dev/null 2> "$T/err"
    rc=$?
    [ $rc -eq 2 ] || fail "plan $bad: exit $rc, want 2"
    [ -s "$T/err" ] || fail "plan $bad: no message"
done

[ $fails -eq 0 ] && echo "plan_autoscale: ok"
exit $fails
