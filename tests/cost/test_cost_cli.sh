#!/bin/sh
# test_cost_cli.sh: `servesim cost` step times for a shapes CSV (golden
# output, measured backend), its input errors (file:line: field, exit 1;
# usage, exit 2), `servesim cost check` and `cost fit`, and what a run
# records of its cost model (run.cost_model, run.cost_fallbacks).
#   test_cost_cli.sh SERVESIM SOURCE_DIR
set -u
S=$1
D=$2/tests/cost
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

for c in "llama-2-7b h100-sxm 1" "llama-2-70b a100-80g 4"; do
    set -- $c
    "$S" cost --model "$1" --gpu "$2" --tp "$3" --shapes "$D/shapes.csv" --breakdown > "$T/out.csv" 2> "$T/err" ||
        fail "cost $1 $2: exit $?: $(cat "$T/err")"
    grep -q "cost model measured" "$T/err" || fail "cost $1 $2: not the measured model: $(cat "$T/err")"
    if [ "$3" = 1 ]; then exp="$D/$1-$2.expected.csv"; else exp="$D/$1-$2-tp$3.expected.csv"; fi
    diff -u "$exp" "$T/out.csv" || fail "cost $1 $2: output differs from $exp"
done
# every row's groups add up to its step time
awk -F, 'NR > 1 { s = 0; for (i = 6; i <= 11; i++) s += $i; d = s - $5; if (d > 1e-5 || d < -1e-5) bad++ }
         END { exit bad > 0 }' "$T/out.csv" || fail "breakdown columns do not sum to step_ms"

expect() { # STATUS PATTERN ARGS...
    want=$1 pat=$2; shift 2
    "$S" "$@" > "$T/o" 2> "$T/e" < /dev/null
    got=$?
    [ "$got" = "$want" ] || fail "servesim $* exited $got, expected $want: $(cat "$T/e")"
    grep -q -- "$pat" "$T/e" || fail "servesim $*: stderr lacks '$pat': $(cat "$T/e")"
}
printf 'kind,batch,tokens,context\ndecode,1,1,10\nsideways,1,1,1\n' > "$T/bad-kind.csv"
expect 1 "bad-kind.csv:3: kind" cost --shapes "$T/bad-kind.csv"
printf 'kind,batch,tokens,context\ndecode,1,1,10,7\n' > "$T/wide.csv"
expect 1 "wide.csv:2: more fields" cost --shapes "$T/wide.csv"
printf 'kind,batch,tokens\ndecode,1,1\n' > "$T/narrow.csv"
expect 1 "missing column 'context'" cost --shapes "$T/narrow.csv"
printf 'kind,batch,tokens,context\ndecode,x,1,10\n' > "$T/nan.csv"
expect 1 "nan.csv:2: batch" cost --shapes "$T/nan.csv"
printf 'kind,batch,tokens,context\ndecode,4,1,10\n' > "$T/ok.csv"
expect 2 "not op-level" cost --shapes "$T/ok.csv" --cost roofline:legacy=true --breakdown
expect 2 "does not divide" cost --shapes "$T/ok.csv" --tp 3
expect 2 "required" cost
expect 2 "unknown" cost --bogus
expect 1 "unknown cost model" cost --shapes "$T/ok.csv" --cost nope
expect 1 "no-such-file" cost --shapes "$T/ok.csv" --cost measured:tables=/no-such-file.txt
# h200 has no tables: auto is the calibrated roofline; asking for measured says so
"$S" cost --gpu h200 --shapes "$T/ok.csv" > /dev/null 2> "$T/e" || fail "cost --gpu h200: $(cat "$T/e")"
grep -q "cost model roofline" "$T/e" || fail "h200 auto is not the roofline: $(cat "$T/e")"
expect 1 "h200.txt" cost --gpu h200 --shapes "$T/ok.csv" --cost measured

# a model whose head layout no table has (tiny: 4 / 2 heads) still runs: attention falls back
"$S" cost --model tiny --gpu h100-sxm --shapes "$T/ok.csv" > /dev/null 2> "$T/e" || fail "cost tiny: $(cat "$T/e")"

# cost check: the error tables, whatever the verdict (0 met, 1 not met)
"$S" cost check > "$T/check.txt" 2>&1
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "cost check exited $rc"
for pat in "op group" "composed GPU step" "measured, held out" "calibrated, other GPU's fit" \
           "calib. + stream bw, other's" "targets:" "measured stream bandwidth"; do
    grep -q "$pat" "$T/check.txt" || fail "cost check output lacks '$pat'"
done
# cost fit writes a parameter file the roofline loads
"$S" cost fit --gpus h100-sxm --out "$T/cal.txt" 2> "$T/e" || fail "cost fit: $(cat "$T/e")"
"$S" cost --shapes "$T/ok.csv" --cost "roofline:calib=$T/cal.txt" > /dev/null 2> "$T/e" || fail "calib=: $(cat "$T/e")"
# --bandwidth measured: stream_fraction recorded; a GPU without stream_bandwidth cannot be fitted so
"$S" cost fit --gpus h100-sxm --bandwidth measured --out "$T/calbw.txt" 2> "$T/e" || fail "cost fit --bandwidth: $(cat "$T/e")"
grep -q "^stream_fraction" "$T/calbw.txt" || fail "cost fit --bandwidth measured wrote no stream_fraction"
grep -q "^stream_fraction" "$T/cal.txt" && fail "cost fit (datasheet) wrote a stream_fraction"
"$S" cost --shapes "$T/ok.csv" --cost "roofline:calib=$T/calbw.txt" > /dev/null 2> "$T/e" ||
    fail "calib= stream on h100-sxm: $(cat "$T/e")"
expect 1 "GPU h200 has none" cost --shapes "$T/ok.csv" --gpu h200 --cost "roofline:calib=$T/calbw.txt"
# efficiency= scales the measured bandwidth as it does the datasheet's
for e in 1 0.5; do
    "$S" cost --shapes "$T/ok.csv" --cost "roofline:calib=$T/calbw.txt,efficiency=$e" 2> /dev/null | sed -n 2p | cut -d, -f5 > "$T/eff$e"
done
awk -v a="$(cat "$T/eff1")" -v b="$(cat "$T/eff0.5")" 'BEGIN { exit !(b > 1.3 * a) }' ||
    fail "efficiency=0.5 on a stream calibration: $(cat "$T/eff0.5") ms against $(cat "$T/eff1") ms"
mkdir -p "$T/tabs" && cp "$D/../../models/profiles/measured/h100-sxm.txt" "$T/tabs/h200.txt"
expect 1 "no GPU of the fit has a stream_bandwidth" cost fit --gpus h200 --tables "$T/tabs" --bandwidth measured
expect 2 "datasheet or measured" cost fit --bandwidth sometimes
# cost check takes every GPU whose tables are in the directory: a third (H100's numbers under
# H200's datasheet: a code path, not data) is fitted without and predicted; one GPU is refused
cp "$D/../../models/profiles/measured/a100-80g.txt" "$D/../../models/profiles/measured/h100-sxm.txt" "$T/tabs/"
echo "not a GPU" > "$T/tabs/notes.txt"
"$S" cost check --tables "$T/tabs" > "$T/check3.txt" 2> "$T/e"
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "cost check, 3 GPUs, exited $rc: $(cat "$T/e")"
grep -q "tables $T/tabs/{a100-80g,h100-sxm,h200}.txt" "$T/check3.txt" || fail "cost check, 3 GPUs: $(head -1 "$T/check3.txt")"
sed 's/^stream_bandwidth .*/stream_bandwidth = 2.692e13/' "$D/../../models/gpus/h100-sxm.txt" > "$T/fast.txt"
expect 1 "stream_bandwidth: 2.692e+13 bytes/s is above hbm_bandwidth" cost --shapes "$T/ok.csv" --gpu "$T/fast.txt"
mkdir -p "$T/one" && cp "$T/tabs/h200.txt" "$T/one/"
expect 1 "needs two GPUs' tables" cost check --tables "$T/one"
echo "gemm_floor_cycles = -1" > "$T/badcal.txt"
expect 1 "badcal.txt:1: gemm_floor_cycles" cost --shapes "$T/ok.csv" --cost "roofline:calib=$T/badcal.txt"

# a run records the cost model that ran and its fallbacks
"$S" run --workload default --requests 300 --rate 4 --sched vllm --out "$T/r" --quiet 2> "$T/e" || fail "run: $(cat "$T/e")"
grep -q '"cost_model": "measured"' "$T/r/summary.json" || fail "run.cost_model is not measured"
grep -q '"cost_fallbacks": {' "$T/r/summary.json" || fail "run.cost_fallbacks missing"
"$S" run --workload default --requests 100 --gpu h200 --sched vllm --out "$T/r2" --quiet 2> "$T/e" || fail "run h200: $(cat "$T/e")"
grep -q '"cost_model": "roofline"' "$T/r2/summary.json" || fail "h200 run.cost_model is not roofline"
grep -q '"cost_fallbacks": null' "$T/r2/summary.json" || fail "h200 run.cost_fallbacks is not null"

[ "$fails" = 0 ] && echo "cost cli: all ok"
exit "$fails"
