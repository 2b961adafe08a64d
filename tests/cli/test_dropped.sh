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
# --max-prompt-tokens: a longer prompt is rejected (too_long), or trimmed with --long-prompts trim
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,10,5\n2023-11-16 18:15:47.0000000,300,4\n2023-11-16 18:15:48.0000000,5000,4\n' > "$T/m.csv"
"$S" run --trace "$T/m.csv" --sched vllm --max-prompt-tokens 100 --out "$T/m1" > /dev/null 2> "$T/err" || fail "max-prompt run exited $?"
grep -q '"too_long": 2' "$T/m1/summary.json" || fail "--max-prompt-tokens 100 did not reject the 300- and 5000-token prompts"
"$S" run --trace "$T/m.csv" --sched vllm --max-prompt-tokens 100 --long-prompts trim --out "$T/m2" > "$T/out" 2> "$T/err" || fail "trim run exited $?"
grep -q '"prompts_trimmed": 2' "$T/m2/summary.json" || fail "trim did not count 2 trimmed prompts"
grep -q '"too_long": 0' "$T/m2/summary.json" || fail "trim still rejected a prompt"
grep -q '"completed": 3' "$T/m2/summary.json" || fail "trim did not serve all 3 requests"
grep -q '"long_prompts": "trim"' "$T/m2/summary.json" || fail "the summary does not record the trim policy"
grep -q "warning: 2 prompts trimmed to 100 tokens" "$T/err" || fail "no trim warning: $(cat "$T/err")"
grep -q "Prompts trimmed" "$T/out" || fail "the table does not say prompts were trimmed"
# without a limit, trim cuts to the context less one token: the 5000-token prompt runs
"$S" run --trace "$T/m.csv" --sched vllm --long-prompts trim --out "$T/m3" > /dev/null 2>&1 || fail "trim-to-context run failed"
grep -q '"prompts_trimmed": 1' "$T/m3/summary.json" || fail "trim to the context did not count 1"
grep -q '"max_prompt_tokens": 4095' "$T/m3/summary.json" || fail "the prompt limit is not the context less one"
"$S" run --trace "$T/m.csv" --long-prompts maybe --out "$T/m4" > /dev/null 2>&1; st=$?
[ "$st" = 2 ] || fail "--long-prompts maybe exited $st, not 2"
# set-ups that could never serve a request are refused at start-up (exit 2), as vLLM does
"$S" run --workload default --requests 20 --sched vllm:max_num_batched_tokens=2048 --out "$T/n1" > /dev/null 2> "$T/err"; st=$?
[ "$st" = 2 ] || fail "vllm max_num_batched_tokens below the context exited $st, not 2"
grep -q "below the model context" "$T/err" || fail "no budget message: $(cat "$T/err")"
[ -e "$T/n1" ] && fail "a refused run created its --out directory"
"$S" run --workload default --requests 20 --sched chunked-prefill:chunk=2048 --out "$T/n2" > /dev/null 2>&1 || fail "chunked prefill with a 2048 chunk is refused"
"$S" run --workload default --requests 20 --sched fcfs-static --gpu-mem-util 0.18 --out "$T/n3" > /dev/null 2> "$T/err"; st=$?
[ "$st" = 2 ] || fail "fcfs-static with a KV cache below one slot exited $st, not 2"
grep -q "no request could ever run" "$T/err" || fail "no slot message: $(cat "$T/err")"
"$S" run --workload default --requests 20 --sched fcfs-static:max_new_tokens=256 --gpu-mem-util 0.18 --out "$T/n4" > /dev/null 2>&1 || fail "fcfs-static with max_new_tokens that fits is refused"
# a clean run says nothing of the kind
"$S" run --workload default --requests 50 --out "$T/ok" --quiet 2> "$T/err2" || fail "clean run failed"
grep -q "warning" "$T/err2" && fail "a clean run warns: $(cat "$T/err2")"
[ "$fails" = 0 ] && echo "dropped: all ok"
exit "$fails"
