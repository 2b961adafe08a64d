#!/bin/sh
# test_client_cli.sh: --client and --admission through the command line:
# bad specs are usage errors (exit 2, named), failures are in the table,
# summary.json (failures_by_reason, run.client) and requests.csv, and the
# default client leaves a run's files as they were (#17).
#   test_client_cli.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
st() { "$@" > "$T/out" 2> "$T/err"; echo $?; }
R="run --workload default --requests 300 --rate 40 --quiet"
[ "$(st "$S" $R --client nope --out "$T/a")" = 2 ] || fail "--client nope not exit 2"
grep -q "client" "$T/err" || fail "--client nope: no message"
[ "$(st "$S" $R --client deadline:bogus=1 --out "$T/b")" = 2 ] || fail "unknown client key not exit 2"
[ "$(st "$S" $R --client deadline:timeout=1,timeout=2 --out "$T/c")" = 2 ] || fail "a client key twice not exit 2"
[ "$(st "$S" $R --admission max_queue=x --out "$T/d")" = 2 ] || fail "bad --admission not exit 2"
[ "$(st "$S" $R --client deadline:timeout=1 --router central --instances 2 --out "$T/e")" = 2 ] || fail "central + client not refused"
"$S" list clients | grep -q "^  deadline" || fail "list clients lacks deadline"
# An overloaded memory-limited instance: clients give up and retry.
"$S" run --workload default --requests 1500 --rate 30 --gpu-mem-util 0.2 --client deadline:ttft_timeout=5,retries=2,backoff=0.5 \
    --admission max_preemptions=0 --out "$T/f" > "$T/out" 2> "$T/err" || fail "client run failed: $(cat "$T/err")"
grep -q "cancelled, ttft_timeout:" "$T/out" || fail "the table does not show the cancellations"
grep -q "amplification" "$T/out" || fail "the table does not show the retries"
python3 - "$T/f" <<'PY' || fails=$((fails + 1))
import csv, json, sys
d = sys.argv[1]
s = json.load(open(d + "/summary.json"))
m, c = s["metrics"], s["run"]["client"]
assert m["failures_by_reason"]["ttft_timeout"] > 0 and m["failures_by_reason"]["preempted"] > 0, m["failures_by_reason"]
assert m["arrived"] == m["completed"] + m["failed"] + m["rejected"] + m["cancelled"]
assert c["attempts"] == m["arrived"] and c["original_requests"] == 1500 and c["retries"] == m["arrived"] - 1500
assert c["amplification"] > 1 and m["wasted_tokens"] > 0
rows = list(csv.DictReader(open(d + "/requests.csv")))
assert len(rows) == m["arrived"]
ok = {}
for r in rows:
    if r["state"] == "done": ok[r["original_id"]] = True
assert len(ok) == c["originals_completed"], (len(ok), c["originals_completed"])
assert s["manifest"]["client"].startswith("deadline:") and s["manifest"]["admission"] == "max_preemptions=0"
ts = list(csv.DictReader(open(d + "/timeseries.csv")))
assert max(int(r["failed"]) for r in ts) > 0
print("client run: ok")
PY
# --client none writes what a run without it writes
"$S" run --workload default --requests 300 --rate 40 --quiet --out "$T/g1" || fail "run failed"
"$S" run --workload default --requests 300 --rate 40 --quiet --client none --out "$T/g2" || fail "none run failed"
cmp -s "$T/g1/requests.csv" "$T/g2/requests.csv" || fail "--client none changes requests.csv"
cmp -s "$T/g1/timeseries.csv" "$T/g2/timeseries.csv" || fail "--client none changes timeseries.csv"
[ "$fails" = 0 ] && echo "client_cli: all ok"
exit "$fails"
