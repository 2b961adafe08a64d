#!/bin/sh
# test_experiments.sh: the experiment scripts write where --out says, leave
# the curated results/ alone unless it is named, and predictors --quick runs
# to its report (it used to stop at min() of an empty list) (#16 item 15).
#   test_experiments.sh SERVESIM SOURCE_ROOT
set -u
S=$1
ROOT=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
for x in magnus continuous predictors burstgpt prefix autoscale disaggregation; do
    python3 "$ROOT/scripts/experiments/$x" --help > "$T/help" 2>&1 || fail "$x --help failed"
    grep -q -- "--out" "$T/help" || fail "$x has no --out"
    grep -q "results/runs/$x/report" "$T/help" || fail "$x's default report is not results/runs/$x/report"
done
DATA="${SERVESIM_SHARED:-$ROOT/../shared}/datasets/lmaas_apps.jsonl.gz"
if [ ! -f "$DATA" ]; then
    echo "skip: predictors --quick needs $DATA"
    [ "$fails" = 0 ] && exit 77
    exit "$fails"
fi
before=$(cat "$ROOT"/results/predictors/* 2>/dev/null | sha256sum)
python3 "$ROOT/scripts/experiments/predictors" --quick --servesim "$S" --out "$T/report" --jobs 2 > "$T/log" 2>&1 \
    || fail "predictors --quick failed: $(tail -5 "$T/log")"
for f in table.md table.csv; do [ -s "$T/report/$f" ] || fail "predictors --quick wrote no $f"; done
after=$(cat "$ROOT"/results/predictors/* 2>/dev/null | sha256sum)
[ "$before" = "$after" ] || fail "predictors --quick changed the curated results/predictors/"
# magnus --quick on the default workload (the protocol end to end: capacity searches, the
# baseline's selection, the report): its files, no absolute path, results/magnus untouched.
before=$(cat "$ROOT"/results/magnus/* 2>/dev/null | sha256sum)
python3 "$ROOT/scripts/experiments/magnus" --quick --workloads default --servesim "$S" --out "$T/magnus" --jobs 2 \
    > "$T/mlog" 2>&1 || fail "magnus --quick failed: $(tail -5 "$T/mlog")"
for f in table.md table.csv default-load.png; do [ -s "$T/magnus/$f" ] || fail "magnus --quick wrote no $f"; done
grep -q "$ROOT" "$T/magnus/table.csv" "$T/magnus/table.md" && fail "magnus report holds an absolute path"
after=$(cat "$ROOT"/results/magnus/* 2>/dev/null | sha256sum)
[ "$before" = "$after" ] || fail "magnus --quick changed the curated results/magnus/"
[ "$fails" = 0 ] && echo "experiments: all ok"
exit "$fails"
