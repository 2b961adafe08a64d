#!/bin/sh
# test_exit_codes.sh: every command's exit status is 0 (success), 1 (failure
# at run time) or 2 (usage: unknown option, bad value, missing argument), as
# README "Using it" and docs/CI_GATE.md say.
#   test_exit_codes.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
expect() { # STATUS ARGS...
    want=$1; shift
    "$S" "$@" > "$T/out" 2>&1 < /dev/null
    got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL: servesim $* exited $got, expected $want"; cat "$T/out"; fails=$((fails + 1))
    else
        echo "ok: servesim $* -> $got"
    fi
}
printf 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n1,a,5,6,11,x\n2,a,7,8,15,x\n3,a,9,3,12,x\n' > "$T/t.csv"
# usage errors: 2
expect 2
expect 2 bogus
expect 2 run --bogus
expect 2 run
expect 2 run --workload default --out "$T/r" --rate fast
expect 2 run --workload default --out "$T/r" --sched vllm:bogus=1
expect 2 run --workload default --out "$T/r" --sched nope
expect 2 run --workload default --out "$T/r" --predict oracle:x=1
expect 2 run --workload default --out "$T/r" --router nope
expect 2 run --workload default --out "$T/r" --cost nope
expect 2 run --workload default --out "$T/r" extra
expect 2 trace bogus
expect 2 trace stats
expect 2 trace stats "$T/t.csv" --bogus
expect 2 trace stats "$T/t.csv" --window-s -1
expect 2 trace stats "$T/t.csv" --bad-rows maybe
expect 2 trace fit --bogus
expect 2 trace gen --out "$T/g.csv" --requests 5 --gaps foo
expect 2 trace gen --requests 5
expect 2 predict
expect 2 predict train --bogus x
expect 2 predict eval --data "$T/t.csv"
expect 2 plan --bogus
expect 2 plan --workload default --sched nope
expect 2 sweep
expect 2 sweep --threads 0 spec.json --out -
expect 2 compare --bogus
expect 2 compare onlyone
expect 2 replay --bogus
expect 2 replay --workload default --out "$T/rr" --clock sometimes
expect 2 validate
expect 2 calibrate
expect 2 calibrate --out "$T/p.txt" --min-rows 0 x
expect 2 list bogus
expect 2 list schedulers extra
expect 2 version extra
# failures at run time: 1
expect 1 run --trace "$T/missing.csv" --out "$T/r1"
expect 1 run --workload default --requests 10 --model "$T/no-such-model.txt" --out "$T/r2"
expect 2 run --workload default --requests 10 --model no-such-model --out "$T/r2b"
expect 2 run --workload default --requests 10 --gpu no-such-gpu --out "$T/r2c"
expect 1 trace stats "$T/missing.csv"
expect 1 sweep "$T/missing.json" --out -
expect 1 validate "$T/missing"
expect 1 calibrate --out "$T/p.txt" "$T/missing"
# success: 0
expect 0 --help
expect 0 list
expect 0 version
expect 0 trace stats "$T/t.csv"
expect 0 run --workload default --requests 20 --quiet --no-requests-csv --sample-interval 0 --out "$T/ok"
# conflicting or repeated options are refused, not "the last one wins" (#16 item 2)
R="run --workload default --requests 20 --quiet --no-requests-csv --sample-interval 0"
expect 2 $R --sched vllm:max_num_seqs=4,max_num_seqs=8 --out "$T/d1"
expect 2 $R --slo ttft=1,ttft=2 --out "$T/d2"
expect 2 $R --fleet 2xh100-sxm --gpu a100-80g --out "$T/d3"
expect 2 $R --fleet 2xh100-sxm --instances 3 --out "$T/d4"
expect 2 $R --tp 3 --out "$T/d5"
expect 2 $R --router length-aware:short_share=0 --instances 2 --out "$T/d6"
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,10,5\n2023-11-16 18:15:47.0000000,12,4\n' > "$T/az.csv"
expect 2 run --trace "$T/az.csv" --rate 150 --quiet --out "$T/d8"
expect 2 plan --trace "$T/az.csv" --rate 150 --gpus h100-sxm --out "$T/d9.json"
expect 0 $R --fleet 2xh100-sxm --out "$T/d7"
grep -q '"gpu": null' "$T/d7/summary.json" || { echo "FAIL: --fleet run's manifest records a gpu that did not run"; fails=$((fails + 1)); }
[ "$fails" -eq 0 ] || { echo "$fails exit-status checks failed"; exit 1; }
