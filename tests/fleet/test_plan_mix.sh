#!/bin/sh
# plan --mix: at 110 req/s of the embedded workload on llama-2-7b, 3 H100
# (9.00 USD/h) or 5 A100 (9.00) are needed pure, but 2 H100 + 1 A100 (7.80)
# meets the same SLOs: the mix must be found, be cheaper than every pure
# answer, and use fewer of its first kind than that kind's pure answer.
set -eu
SERVESIM=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$SERVESIM" plan --workload default --rate 110 --duration 120 --gpus h100-sxm,a100-80g \
    --seeds 2 --mix --json --out "$TMP/plan.json" >/dev/null 2>&1
python3 - "$TMP/plan.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["scenarios"][0]
pure = {c["gpu"]: c for c in s["candidates"] if c["found"]}
mix = s["mix"]
checks = [("a mix is found", mix["found"])]
if mix["found"]:
    a, b = mix["fleet"]
    checks += [
        ("cheaper than every pure fleet", all(mix["cost_per_hour"] < c["cost_per_hour"] for c in pure.values())),
        ("fewer of its first kind than pure", a["instances"] < pure[a["gpu"]]["instances"]),
        ("meets the P99 TTFT SLO", mix["metrics"]["p99_ttft_s"]["mean"] <= 2.0),
    ]
    print("plan --mix: %d x %s + %d x %s = %.2f USD/h (pure: %s)" % (a["instances"], a["gpu"],
          b["instances"], b["gpu"], mix["cost_per_hour"],
          ", ".join("%d x %s = %.2f" % (c["instances"], g, c["cost_per_hour"]) for g, c in pure.items())))
bad = [n for n, ok in checks if not ok]
for n in bad: print("plan_mix: FAILED:", n)
print("%d passed, %d failed" % (len(checks) - len(bad), len(bad)))
sys.exit(1 if bad else 0)
PY
