#!/bin/sh
# --clock wall: the same replay in real time (arrivals released on schedule)
# must serve every request, and its span must cover the arrivals (real time
# never runs ahead of them; it may batch differently from the virtual clock).
set -eu
SERVESIM=$1
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for clock in virtual wall; do
    "$SERVESIM" replay --backend cpu --trace "$HERE/tiny-trace.csv" --max-requests 60 \
        --sched vllm --clock "$clock" --timer monotonic --out "$TMP/$clock" --quiet
done
python3 - "$TMP/virtual/summary.json" "$TMP/wall/summary.json" <<'PY'
import json, sys
import csv, os
v = json.load(open(sys.argv[1])); w = json.load(open(sys.argv[2]))
rows = list(csv.DictReader(open(os.path.join(os.path.dirname(sys.argv[2]), "requests.csv"))))
arrivals = [float(r["arrival_s"]) for r in rows]
span = max(arrivals) - min(arrivals)
mv, mw = v["metrics"], w["metrics"]
checks = [
    ("all requests completed", mw["completed"] == mv["completed"] == 60),
    # real time cannot run ahead of the arrivals (it may batch differently from
    # the virtual clock when iterations run late, so no closer bound holds)
    ("duration covers the arrivals", mw["duration"] >= span),
    ("duration within 5x the virtual one", mw["duration"] <= 5 * mv["duration"]),
    ("lateness recorded", w["run"].get("wall_late_s", -1) >= 0),
]
print("wall vs virtual: duration %.3f vs %.3f s, median TTFT %.2f vs %.2f ms, late %.3f s" %
      (mw["duration"], mv["duration"], mw["median_ttft_ms"], mv["median_ttft_ms"],
       w["run"].get("wall_late_s", -1)))
bad = [n for n, ok in checks if not ok]
for n in bad: print("replay_wall: FAILED:", n)
print("%d passed, %d failed" % (len(checks) - len(bad), len(bad)))
sys.exit(1 if bad else 0)
PY
