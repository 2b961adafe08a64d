#!/bin/sh
# --clock wall: the same replay in real time (arrivals released on schedule)
# must serve every request and agree with the virtual clock on the trace's
# span (never shorter; loosely longer on a shared, loaded machine).
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
v = json.load(open(sys.argv[1])); w = json.load(open(sys.argv[2]))
mv, mw = v["metrics"], w["metrics"]
checks = [
    ("all requests completed", mw["completed"] == mv["completed"] == 60),
    # real time cannot run ahead of the arrivals; it may lag on a loaded machine
    ("duration not shorter than the virtual one", mw["duration"] >= 0.95 * mv["duration"]),
    ("duration within 3x (the machine kept up at all)", mw["duration"] <= 3 * mv["duration"]),
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
