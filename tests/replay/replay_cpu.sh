#!/bin/sh
# The replay harness's CPU proof: replay a 300-request trace of the tiny
# model on the reference kernels under vllm and fcfs-static, calibrate a
# profile from those two, replay vllm once more with another seed (held out),
# and validate all three against the profile.  As a test (meson test) the
# profile's per-step median error must be under BOUND = 50 % and a tenth of
# the uncalibrated roofline's (calibration works); the 10 % accuracy target
# is a timing figure of the machine it runs on, so it is the benchmark
# `replay_cpu_accuracy` (meson test --benchmark; this script with BOUND=0.10):
# on this project's shared 2-core VMs the same replay read 5-8 % and then
# 20-23 % minutes apart.  The real figures are always printed.  A miss of the
# timing bound alone is measured once more from new replays; a second miss
# fails; every other check fails at once.  Under the sanitizers
# (ASAN_OPTIONS set) the instrumentation distorts kernel times unevenly: the
# run, the calibration and the files are checked there, no timing bound.
set -eu
SERVESIM=$1
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
T=$HERE/tiny-trace.csv
TIMING=1
[ -n "${ASAN_OPTIONS:-}" ] && TIMING=0
BOUND=${BOUND:-0.5}
# attempt DIR: replay, calibrate, validate; exit 0, 1 (a hard failure) or 3
# (only the timing bound missed).
attempt() {
    D=$1
    mkdir -p "$D"
    # (set -e does not reach into a function called under ||: each step says so itself)
    "$SERVESIM" replay --backend cpu --trace "$T" --sched vllm --out "$D/vllm" --quiet || return 1
    "$SERVESIM" replay --backend cpu --trace "$T" --sched fcfs-static:batch=8,window=0.02 \
        --out "$D/static" --quiet || return 1
    "$SERVESIM" calibrate "$D/vllm" "$D/static" --out "$D/profile.txt" || return 1
    "$SERVESIM" replay --backend cpu --trace "$T" --sched vllm --seed 2 \
        --cost profile:file="$D/profile.txt" --out "$D/heldout" --quiet || return 1
    for d in vllm static heldout; do
        echo "== validate $d"
        "$SERVESIM" validate "$D/$d" --cost profile:file="$D/profile.txt" || return 1
    done
    python3 - "$D" "$TIMING" "$BOUND" <<'PY'
import csv, json, sys
tmp, bad, timing_bad, timing, bound = sys.argv[1], 0, 0, sys.argv[2] == "1", float(sys.argv[3])
if not timing:
    print("replay_cpu: sanitized build: the timing bound is checked in the plain build only")
for d in ("vllm", "static", "heldout"):
    v = json.load(open(f"{tmp}/{d}/validation.json"))
    roof, prof = (m["per_step"]["all"] for m in v["models"])
    print(f"replay_cpu: {d}: per-step median error: roofline {100 * roof['median_abs_rel_err']:.1f} %, "
          f"profile {100 * prof['median_abs_rel_err']:.2f} % (P90 {100 * prof['p90_abs_rel_err']:.1f} %) "
          f"over {prof['iterations']} iterations")
    if timing and not (prof["median_abs_rel_err"] < bound and
                       prof["median_abs_rel_err"] < 0.1 * roof["median_abs_rel_err"]):
        print(f"replay_cpu: {d}: profile per-step median error is not under {100 * bound:g} % "
              f"and a tenth of the roofline's")
        timing_bad += 1
    s = json.load(open(f"{tmp}/{d}/summary.json"))
    if s["metrics"]["completed"] != 300 or s["replay"]["tokens_generated"] != s["metrics"]["total_output_tokens"]:
        print(f"replay_cpu: {d}: not every request generated its trace length")
        bad += 1
rows = list(csv.DictReader(open(f"{tmp}/heldout/steps.csv")))
if not rows or any(r["profile_s"] == "" for r in rows):
    print("replay_cpu: steps.csv lacks the profile's predictions under --cost profile")
    bad += 1
sys.exit(1 if bad else 3 if timing_bad else 0)
PY
}
rc=0
attempt "$TMP/1" || rc=$?
if [ $rc -eq 3 ]; then
    echo "replay_cpu: the timing bound alone missed: measuring once more from new replays"
    rc=0
    attempt "$TMP/2" || rc=$?
fi
exit $rc
