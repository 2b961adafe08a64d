#!/bin/sh
# test_consistency.sh: one set of defaults and one meaning per option name
# across commands (#16 item 12): run defaults to vllm + least-work as plan
# does; a plan scenario replays exactly with `run` (its run_args); --model is
# the served model everywhere (predictor files and the trace filter have
# their own flags); `list models|gpus|cost` work; unknown names list the
# known ones.
#   test_consistency.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
status() { "$@" > "$T/out" 2> "$T/err"; echo $?; }

# 1. run's defaults are plan's: vllm, least-work
"$S" run --workload default --requests 50 --out "$T/d" --quiet || fail "default run failed"
python3 - "$T/d/summary.json" <<'PY' || fails=$((fails + 1))
import json, sys
m = json.load(open(sys.argv[1]))["manifest"]
assert m["sched"]["name"] == "vllm", m["sched"]
assert m["router"] == "least-work", m["router"]
PY
# 2. a plan scenario replays with run: same p99 TTFT at the answer's size
"$S" plan --workload default --rate 60 --requests 2000 --gpus h100-sxm --seeds 1 --json > "$T/p.json" 2> "$T/err" \
    || fail "plan failed: $(cat "$T/err")"
args=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['scenarios'][0]['run_args'])" "$T/p.json")
n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['scenarios'][0]['candidates'][0]['instances'])" "$T/p.json")
# shellcheck disable=SC2086
"$S" run $args --seed 1 --instances "$n" --out "$T/r" --quiet --no-requests-csv --sample-interval 0 || fail "run $args failed"
python3 - "$T/p.json" "$T/r/summary.json" <<'PY' || fails=$((fails + 1))
import json, sys
plan = json.load(open(sys.argv[1]))["scenarios"][0]["candidates"][0]["at_answer"]["metrics"]["p99_ttft_s"]["mean"]
run = json.load(open(sys.argv[2]))["metrics"]["p99_ttft_ms"] / 1e3
assert abs(plan - run) <= 1e-6 * max(1, run), "plan p99 TTFT %r, run %r" % (plan, run)
print("plan scenario replayed by run: ok")
PY
# run takes the workload's arrival shape; a trace refuses it
[ "$(status "$S" run --workload default --requests 50 --burstiness 1 --diurnal --day-s 60 --out "$T/b" --quiet)" = 0 ] \
    || fail "run --burstiness/--diurnal refused: $(cat "$T/err")"
grep -q '"shape": 1' "$T/b/summary.json" || fail "--burstiness 1 not in the manifest's workload"
grep -q '"diurnal": true' "$T/b/summary.json" || fail "--diurnal not in the manifest's workload"
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,10,5\n' > "$T/t.csv"
[ "$(status "$S" run --trace "$T/t.csv" --burstiness 1 --out "$T/c")" = 2 ] || fail "--burstiness with a trace accepted"
# 3. --model is the served model: elsewhere it is refused with the right flag named
[ "$(status "$S" trace stats "$T/t.csv" --model ChatGPT)" = 2 ] || fail "trace stats --model accepted"
grep -q -- "--trace-model" "$T/err" || fail "trace stats --model does not name --trace-model"
[ "$(status "$S" trace stats "$T/t.csv" --trace-model ChatGPT)" = 0 ] || fail "trace stats --trace-model failed"
[ "$(status "$S" predict train --data "$T/t.csv" --model forest)" = 2 ] || fail "predict train --model accepted"
grep -q -- "--learner" "$T/err" || fail "predict --model does not name --learner"
# 4. list models|gpus|cost; unknown names list the known ones
for k in models gpus cost backends schedulers; do
    [ "$(status "$S" list $k)" = 0 ] || fail "list $k failed"
done
"$S" list models | grep -q "llama-2-7b" || fail "list models lacks llama-2-7b"
"$S" list gpus | grep -q "h100-sxm" || fail "list gpus lacks h100-sxm"
"$S" list cost | grep -q "^cost models" || fail "list cost does not say cost models"
[ "$(status "$S" run --workload default --requests 5 --model llama-9 --out "$T/u")" = 2 ] || fail "unknown model not exit 2"
grep -q "known: .*llama-2-7b" "$T/err" || fail "unknown model does not list the known: $(cat "$T/err")"
[ "$(status "$S" run --workload default --requests 5 --gpu b300 --out "$T/u2")" = 2 ] || fail "unknown gpu not exit 2"
grep -q "known: .*h100-sxm" "$T/err" || fail "unknown gpu does not list the known"
[ "$fails" = 0 ] && echo "consistency: all ok"
exit "$fails"
