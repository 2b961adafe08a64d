#!/bin/sh
# test_dropped.sh: requests rejected or cut before they run are counted by
# reason in summary.json (metrics.rejected_by_reason, run.length_capped), in
# the table, and in a warning on stderr (#16 item 3).
#   test_dropped.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# llama-2-7b's context is 4096 tokens: row 3's prompt cannot fit, row 4's is empty, row 5's output is cut
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,10,5\n2023-11-16 18:15:47.0000000,5000,4\n2023-11-16 18:15:48.0000000,0,4\n2023-11-16 18:15:49.0000000,10,5000\n' > "$T/t.csv"
"$S" run --trace "$T/t.csv" --sched vllm --out "$T/r" > "$T/out" 2> "$T/err" || fail "run exited $?: $(cat "$T/err")"
J="$T/r/summary.json"
grep -q '"too_long": 1' "$J" || fail "too_long is not 1"
grep -q '"empty_prompt": 1' "$J" || fail "empty_prompt is not 1 (a zero-token prompt is not 'too long')"
grep -q '"length_capped": 1' "$J" || fail "length_capped is not 1"
grep -q "warning: 2 requests rejected before they ran (too_long 1, empty_prompt 1)" "$T/err" || fail "no rejection warning: $(cat "$T/err")"
grep -q "warning: 1 outputs cut" "$T/err" || fail "no capped warning"
grep -q "rejected, empty_prompt:" "$T/out" || fail "the table does not name the rejections"
grep -q "Outputs cut at the model context:" "$T/out" || fail "the table does not say outputs were cut"
# a clean run says nothing of the kind
"$S" run --workload default --requests 50 --out "$T/ok" --quiet 2> "$T/err2" || fail "clean run failed"
grep -q "warning" "$T/err2" && fail "a clean run warns: $(cat "$T/err2")"
[ "$fails" = 0 ] && echo "dropped: all ok"
exit "$fails"
