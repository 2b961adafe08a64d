#!/bin/sh
# test_sessions.sh: BurstGPT _3 Session ID is an opaque text key that reaches
# requests.csv's `session` column whole (#17 item 6): letters, leading zeros,
# commas and quotes survive (CSV-quoted), a row without one and a trace
# without the column give an empty field, a key of 64+ bytes is a bad row
# naming file:line (skipped under --bad-rows skip).  The threaded metrics
# path carrying the keys is held to the at-once one in test_metrics_pipe.
#   test_sessions.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
{
    echo 'Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type'
    echo '0,7,0.5,ChatGPT,10,20,30,Conversation log'
    echo '1,a1b2-c3,1.0,ChatGPT,11,21,32,Conversation log'
    echo '2,,1.0,ChatGPT,12,22,34,API log'
    echo '3,"x,""y""",2.0,GPT-4,13,23,36,Conversation log'
    echo '4,7,0.25,ChatGPT,14,24,38,Conversation log'
    echo '5,007,0.25,ChatGPT,15,25,40,Conversation log'
} > "$T/s3.csv"
"$S" run --trace "$T/s3.csv" --out "$T/r" --quiet || fail "run on a _3 trace with text sessions"
python3 - "$T/r/requests.csv" <<'PY' || fail "session column"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
got = [r["session"] for r in rows]
want = ["7", "a1b2-c3", "", 'x,"y"', "7", "007"]
assert got == want, "sessions %r, want %r" % (got, want)
head = open(sys.argv[1]).readline().strip().split(",")
assert head.index("session") == head.index("preemptions") + 1, head  # later columns may follow
PY
# no Session ID column (the _1/_2 schema): the column is there, empty
printf 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n0,ChatGPT,10,20,30,API log\n' > "$T/s1.csv"
"$S" run --trace "$T/s1.csv" --out "$T/r1" --quiet || fail "run on a _1 trace"
python3 -c 'import csv, sys; r = list(csv.DictReader(open(sys.argv[1]))); assert len(r) == 1 and r[0]["session"] == "", r' \
    "$T/r1/requests.csv" || fail "_1 trace: session not empty"
# a key of 64 bytes: refused with file:line, or skipped and counted
long=$(printf 'k%.0s' $(seq 64))
cp "$T/s3.csv" "$T/long.csv"
echo "6,$long,0,ChatGPT,10,20,30,API log" >> "$T/long.csv"
"$S" run --trace "$T/long.csv" --out "$T/l" --quiet 2> "$T/err"
rc=$?
[ "$rc" = 1 ] || fail "64-byte session: exit $rc, want 1"
grep -q "long.csv:8: Session ID: 64 bytes, longer than 63" "$T/err" || fail "64-byte session message: $(cat "$T/err")"
[ ! -e "$T/l/summary.json" ] || fail "a refused trace left summary.json"
"$S" run --trace "$T/long.csv" --bad-rows skip --out "$T/l2" --quiet 2> /dev/null || fail "--bad-rows skip"
[ "$(($(wc -l < "$T/l2/requests.csv") - 1))" = 6 ] || fail "--bad-rows skip kept $(($(wc -l < "$T/l2/requests.csv") - 1)) rows, want 6"
[ "$fails" = 0 ] && echo "sessions: all ok"
exit "$fails"
