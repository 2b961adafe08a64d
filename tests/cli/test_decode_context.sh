#!/bin/sh
# test_decode_context.sh: the decode context a step is costed with is the
# one cost.h defines, the KV tokens cached before the fed token (issue #18
# item 5: span.c used to count the fed token too, one token per sequence).
# By hand: prompts of 100 and 40 tokens, 5 and 3 output tokens.  Iteration
# 1 computes both prompts and emits token 1 of each; iteration 2 feeds those
# on 100 + 40 cached tokens (140), iteration 3 on 101 + 41 (142); the short
# one is then done, and iterations 4 and 5 feed the long one on 102 and 103.
# Listed members (--stepwise: one step per iteration) and riders (event
# skipping: the second step is the long one riding) must both say so.
#   test_decode_context.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.0000000,100,5\n2023-11-16 18:15:46.0000000,40,3\n' > "$T/t.csv"
ctx() { # steps.csv -> the decode_context column, one line
    awk -F, 'NR > 1 { printf "%s%s", sep, $9; sep = " " } END { print "" }' "$1"
}
"$S" run --trace "$T/t.csv" --cost roofline --steps --stepwise --out "$T/slow" --force --quiet || fail "stepwise run exited $?"
got=$(ctx "$T/slow/steps.csv")
[ "$got" = "0 140 142 102 103" ] || fail "stepwise decode contexts '$got', by hand '0 140 142 102 103'"
"$S" run --trace "$T/t.csv" --cost roofline --steps --out "$T/fast" --force --quiet || fail "run exited $?"
got=$(ctx "$T/fast/steps.csv")
[ "$got" = "0 102" ] || fail "event-skipping decode contexts '$got' (the rider's first iteration), by hand '0 102'"
# Skipping costs the same iterations: its spans sum to the stepwise steps (closed forms: to rounding).
a=$(awk -F, 'NR > 1 { s += $4 } END { printf "%.12f", s }' "$T/slow/steps.csv")
b=$(awk -F, 'NR > 1 { s += $4 } END { printf "%.12f", s }' "$T/fast/steps.csv")
awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit d > 1e-9 * a }' || fail "stepwise steps take $a s, event skipping $b s"
# A static batch: two prompts padded to 100 tokens, 3 tokens each: iteration 1
# prefills both, iterations 2 and 3 feed tokens on 100 and then 101 cached
# tokens per slot.  The batch's one step takes what `servesim cost` gives those
# three shapes (cost.h's definition on both sides).
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.0000000,100,3\n2023-11-16 18:15:46.0000000,40,3\n' > "$T/s.csv"
"$S" run --trace "$T/s.csv" --cost roofline --sched fcfs-static:batch=2,window=1 --steps --out "$T/st" --force --quiet \
    || fail "static run exited $?"
printf 'kind,batch,tokens,context\nprefill,2,100,0\ndecode,2,1,100\ndecode,2,1,101\n' > "$T/shapes.csv"
"$S" cost --cost roofline --shapes "$T/shapes.csv" > "$T/cost.csv" || fail "servesim cost failed"
want=$(awk -F, 'NR > 1 { s += $NF } END { printf "%.12f", s / 1e3 }' "$T/cost.csv")
got=$(awk -F, 'NR == 2 { printf "%.12f", $4 }' "$T/st/steps.csv")
# to the printed digits (steps.csv %.9g, cost's ms): an off-by-one context is ~3e-5 here
awk -v a="$want" -v b="$got" 'BEGIN { d = a - b; if (d < 0) d = -d; exit d > 1e-6 * a }' \
    || fail "the static batch took $got s; its shapes by hand (servesim cost) $want s"
[ "$fails" -eq 0 ] && echo "ok: decode contexts as counted by hand"
exit $((fails > 0))
