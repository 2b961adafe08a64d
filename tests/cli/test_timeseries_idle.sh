#!/bin/sh
# timeseries.csv is run-length (#16 item 8, docs/OUTPUTS.md): an instance's row
# is written at the first tick and then only when one of its values changes,
# and the ticks of an idle stretch (nothing in the system until the next
# arrival) are skipped, so the rows and the work are bounded by what happens,
# not by the simulated time:
#  1. a trace with a three-year gap (a mistyped year) writes a handful of rows
#     (it wrote 94 million: 2 GB) and the rows after the gap are on the grid;
#  2. --rate 1e-9 with 5 requests (arrivals ~1e9 s apart) the same, with
#     distinct, exact times past 1e9 s;
#  3. with 40 instances, no instance repeats an unchanged row, every instance
#     has a row at the first tick, and the reconstruction (each instance
#     holds its last row) ends with every request finished and none in the
#     system, as summary.json says.
set -eu
SERVESIM=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "timeseries: $*"; exit 1; }
# Never GBs: 4 MB per file at most (512- or 1024-byte blocks), 60 s at most.
limited() { (ulimit -f 8192; exec timeout 60 "$@"); }

printf 'ts,in,out\n0,100,50\n1,100,50\n94608000,100,50\n' > "$TMP/gap.csv"
limited "$SERVESIM" run --trace "$TMP/gap.csv" --map arrival=ts,input=in,output=out --out "$TMP/gap" --quiet ||
    fail "the three-year gap: run failed ($?)"
rows=$(($(wc -l < "$TMP/gap/timeseries.csv") - 1))
[ "$rows" -le 8 ] || fail "the three-year gap wrote $rows rows, want <= 8"
grep -q '^94608000,0,1,' "$TMP/gap/timeseries.csv" || fail "no row at the arrival after the gap"
tail -n 1 "$TMP/gap/timeseries.csv" | grep -q ',0,3,0,-1$' || fail "the last row is not the end: $(tail -n 1 "$TMP/gap/timeseries.csv")"

limited "$SERVESIM" run --workload default --rate 1e-9 --requests 5 --out "$TMP/rate" --quiet ||
    fail "--rate 1e-9: run failed ($?)"
rows=$(($(wc -l < "$TMP/rate/timeseries.csv") - 1))
[ "$rows" -le 40 ] || fail "--rate 1e-9 with 5 requests wrote $rows rows, want <= 40"
python3 - "$TMP/rate" <<'PY'
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(f"{d}/timeseries.csv")))
t = [float(r["time_s"]) for r in rows]
assert t == sorted(t) and len(set(t)) == len(t), f"times not distinct and increasing: {t}"
dt = json.load(open(f"{d}/summary.json"))["manifest"]["sample_interval_s"]
late = [x for x in t if x > 1e9]
assert late, "no tick past 1e9 s"
for x in t:  # the grid: first row's time + k intervals (within float rounding)
    k = round((x - t[0]) / dt)
    assert abs(t[0] + k * dt - x) <= 1e-3, f"{x} is off the grid"
assert int(rows[-1]["finished"]) == 5 and int(rows[-1]["in_system"]) == 0, rows[-1]
PY

limited "$SERVESIM" run --workload default --requests 200 --rate 2 --instances 40 --out "$TMP/fleet" --quiet ||
    fail "40 instances: run failed ($?)"
python3 - "$TMP/fleet" <<'PY'
import csv, json, sys
d = sys.argv[1]
rows = list(csv.DictReader(open(f"{d}/timeseries.csv")))
keys = ("queued", "running", "kv_tokens_used", "kv_utilisation", "in_system", "finished", "failed", "kv_cached_blocks")
last, first_t = {}, rows[0]["time_s"]
for r in rows:
    v = tuple(r[k] for k in keys)
    i = r["instance"]
    assert last.get(i) != v, f"instance {i} repeats an unchanged row at {r['time_s']}"
    assert i in last or r["time_s"] == first_t, f"instance {i} has no row at the first tick"
    last[i] = v
assert len(last) == 40, f"{len(last)} instances have rows, want 40"
m = json.load(open(f"{d}/summary.json"))["metrics"]
finished = sum(int(v[5]) for v in last.values())
in_system = sum(int(v[4]) for v in last.values())
want = m["completed"] + m["failed"] + m["rejected"]
assert finished == want and in_system == 0, f"reconstructed finished {finished} (want {want}), in system {in_system}"
# Bounded: far fewer rows than one per instance per tick.
ticks = len({r["time_s"] for r in rows})
assert len(rows) < 40 * ticks / 4, f"{len(rows)} rows for {ticks} ticks of 40 instances"
PY
echo "timeseries: 3 passed, 0 failed"
