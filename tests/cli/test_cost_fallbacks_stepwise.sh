#!/bin/sh
# test_cost_fallbacks_stepwise.sh: run.cost_fallbacks counts the iterations
# that left a measured table, whether spans are skipped in closed form or
# run one iteration per step (--stepwise).  A span used to count every one
# of its iterations as an attention fallback when either end left the
# table (issue #15: 2447 against 46 on this run); it now counts the ones
# that did.  The workload's long contexts leave the decode table.
#   test_cost_fallbacks_stepwise.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
for mode in skip step; do
    extra=""
    [ "$mode" = step ] && extra="--stepwise"
    # shellcheck disable=SC2086
    "$S" run --workload default --requests 4000 --sched vllm --sample-interval 0 --no-requests-csv \
        --out "$T/$mode" --force --quiet $extra 2>/dev/null || fail "$mode run exited $?"
done
fb() { # summary.json -> "steps of_steps attention", from run.cost_fallbacks
    python3 -c 'import json, sys
f = json.load(open(sys.argv[1]))["run"]["cost_fallbacks"]
print(f["steps"], f["of_steps"], f["by_op_group"].get("attention", 0))' "$1"
}
a=$(fb "$T/skip/summary.json") || fail "no run.cost_fallbacks in the skipping run"
b=$(fb "$T/step/summary.json") || fail "no run.cost_fallbacks in the stepwise run"
[ "$a" = "$b" ] || fail "cost_fallbacks (steps of_steps attention): skipping '$a', stepwise '$b'"
case "$b" in 0\ *) fail "no fallback at all: the run no longer leaves the table ('$b')";; esac
[ "$fails" = 0 ] && echo "ok: cost_fallbacks $a in both modes"
exit "$fails"
