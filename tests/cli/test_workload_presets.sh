#!/bin/sh
# test_workload_presets.sh: --workload NAME[:k=v,...] through one registry
# (#17 item 4).  burstgpt-perf's defaults and an override round-trip through
# summary.json's manifest in run, plan, sweep and trace gen; an unknown
# workload, an unknown key, a key given twice and a bad value are exit 2 with
# the known names; --rate with scale= is refused; the rows follow the knobs.
#   test_workload_presets.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
"$S" run --workload burstgpt-perf --requests 3000 --out "$T/d" --quiet || fail "run burstgpt-perf"
"$S" run --workload burstgpt-perf:shape=0.25,zipf=1.3,max_tokens=100,log_type=api --requests 3000 --out "$T/o" --quiet \
    || fail "run with knobs"
"$S" run --workload burstgpt-perf:responses=by-type,log_type=both --rate 4 --requests 20000 --out "$T/b" --quiet \
    || fail "run by-type"
python3 - "$T" <<'PY' || fail "manifest / rows"
import csv, json, math, sys
t = sys.argv[1]
def params(d):
    return json.load(open(t + "/" + d + "/summary.json"))["manifest"]["input"]["params"]
d = params("d")
want = {"shape": 0.5, "scale": 2.0, "zipf": 1.1, "response_zipf": 1.1, "max_prompt_len": 1024, "max_gen_len": 1024,
        "max_tokens": 0, "responses": "zipf", "log_type": "conv", "gpt4_share": 0.2, "api_share": 0.38}
assert d["preset"] == {"name": "burstgpt-perf", "options": want}, d["preset"]
assert d["arrivals"] == {"gaps": "gamma", "rate": 1.0, "shape": 0.5, "diurnal": False}, d["arrivals"]
assert d["input_tokens"]["kmax"] == 1023 and d["output_tokens"]["max_tokens"] == 1023
assert [m["log_type"] for m in d["mix"]] == ["Conversation log"] * 2
o = params("o")
assert o["preset"]["options"]["shape"] == 0.25 and o["preset"]["options"]["zipf"] == 1.3, o["preset"]
assert abs(o["arrivals"]["rate"] - 1 / (0.25 * 2.0)) < 1e-12, o["arrivals"]
assert o["input_tokens"]["a"] == 1.3 and o["output_tokens"]["max_tokens"] == 100
rows = list(csv.DictReader(open(t + "/o/requests.csv")))
assert max(int(r["output_tokens"]) for r in rows) == 100, "max_tokens=100 not applied"
assert max(int(r["input_tokens"]) for r in rows) <= 1023
b = params("b")
assert b["preset"]["options"]["scale"] == 0.5, "--rate 4 at shape 0.5 ran scale 0.5: %r" % b["preset"]
rows = list(csv.DictReader(open(t + "/b/requests.csv")))
mean = sum(int(r["output_tokens"]) for r in rows) / len(rows)
# 62 % conversation (mean 272) + 38 % API (mean 69), cut at 1023: ~ 194
assert 175 < mean < 210, "by-type response mean %.1f" % mean
arr = [float(r["arrival_s"]) for r in rows]
gaps = [b_ - a_ for a_, b_ in zip(arr, arr[1:])]
m = sum(gaps) / len(gaps)
cv = math.sqrt(sum((g - m) ** 2 for g in gaps) / len(gaps)) / m
assert abs(1 / m - 4) < 0.2 and abs(cv - math.sqrt(2)) < 0.1, "rate %.3f, CV %.3f" % (1 / m, cv)
PY
# the same spec in plan, sweep and trace gen
"$S" plan --workload burstgpt-perf:zipf=1.2 --requests 300 --gpus h100-sxm --seeds 2 --out "$T/p.json" > /dev/null 2>&1 \
    || fail "plan burstgpt-perf"
python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["scenarios"][0]; assert s["workload"]["preset"]["options"]["zipf"] == 1.2 and s["run_args"].startswith("--workload burstgpt-perf:zipf=1.2 --rate 1 "), s["run_args"]' \
    "$T/p.json" || fail "plan manifest / run_args"
echo '{"workload": "burstgpt-perf:scale=4", "requests": 200, "seeds": 1}' > "$T/sw.json"
"$S" sweep "$T/sw.json" --out "$T/sw.csv" --quiet || fail "sweep burstgpt-perf"
python3 -c 'import csv, sys; r = next(csv.DictReader(open(sys.argv[1]))); assert float(r["rate"]) == 0.5, r["rate"]' "$T/sw.csv" \
    || fail "sweep: the rate axis defaults to the workload's (1 / (0.5 x 4))"
"$S" trace gen --workload burstgpt-perf:max_prompt_len=16 --requests 200 --out "$T/g.csv" 2> /dev/null || fail "trace gen"
python3 -c 'import csv, json, sys; assert max(int(r["Request tokens"]) for r in csv.DictReader(open(sys.argv[1]))) <= 15; assert json.load(open(sys.argv[1] + ".meta.json"))["params"]["preset"]["options"]["max_prompt_len"] == 16' \
    "$T/g.csv" || fail "trace gen rows / meta"
# usage errors: exit 2, one line naming what is wrong
check2() {
    want=$1; shift
    "$S" "$@" > /dev/null 2> "$T/err"
    rc=$?
    [ "$rc" = 2 ] || fail "$*: exit $rc, want 2"
    grep -q -- "$want" "$T/err" || fail "$*: message '$(cat "$T/err")' lacks '$want'"
}
check2 "unknown workload 'nope' (known: default, burstgpt-perf)" run --workload nope --out "$T/x"
check2 "unknown option 'zipff' (known: shape, scale" run --workload burstgpt-perf:zipff=1 --out "$T/x"
check2 "option 'zipf' given twice" run --workload burstgpt-perf:zipf=1,zipf=2 --out "$T/x"
check2 "'maybe' is not one of zipf|by-type" replay --workload burstgpt-perf:responses=maybe --out "$T/x"
check2 "unknown option 'shape' (known: sessions" run --workload default:shape=1 --out "$T/x"
check2 "both set the rate" run --workload burstgpt-perf:scale=1 --rate 3 --out "$T/x"
check2 "unknown workload 'nope'" plan --workload nope
check2 "unknown option 'bad'" trace gen --workload burstgpt-perf:bad=1 --requests 5 --out "$T/x.csv"
"$S" list workloads | grep -q "^  burstgpt-perf " || fail "servesim list workloads"
[ "$fails" = 0 ] && echo "workload presets: all ok"
exit "$fails"
