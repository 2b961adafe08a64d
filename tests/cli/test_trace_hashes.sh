#!/bin/sh
# test_trace_hashes.sh: prefix block hashes at the command line (issue #19
# item 1): trace stats' ideal reuse on the Mooncake-style fixture (hand
# value 2560 / 6129), a wrong --hash-block as a file:line error, usage errors
# (exit 2), --sessions cumulative on a BurstGPT_3-style CSV, and trace gen
# --hashes reading back with the same reuse and the seed recorded.
#   test_trace_hashes.sh SERVESIM SOURCE_ROOT
set -u
S=$1
ROOT=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
MAP=arrival=timestamp:ms,input=input_length,output=output_length,hash_ids=hash_ids
FIX=$ROOT/tests/traces/data/mooncake_tiny.jsonl
share() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['prefix_reuse']['$2'])" "$1"; }

"$S" trace stats "$FIX" --map "$MAP" --json > "$T/m.json" || fail "stats on the fixture"
[ "$(share "$T/m.json" reused_tokens)" = 2560 ] || fail "reused tokens $(share "$T/m.json" reused_tokens) != 2560"
[ "$(share "$T/m.json" prompt_tokens)" = 6129 ] || fail "prompt tokens != 6129"
"$S" trace stats "$FIX" --map "$MAP" | grep -q "ideal reuse    41.77% of prompt tokens" || fail "table line"
"$S" trace stats "$FIX" --map "${MAP%,hash_ids=hash_ids}" | grep -q "ideal reuse    n/a" || fail "n/a without hashes"

"$S" trace stats "$FIX" --map "$MAP" --hash-block 256 > "$T/out" 2>&1
[ $? = 1 ] || fail "--hash-block 256 should fail the read (exit 1)"
grep -q "mooncake_tiny.jsonl:1: hash_ids: 3 hashes for a prompt of 1200 tokens at 256" "$T/out" || { fail "message"; cat "$T/out"; }

for bad in "--hash-block 0" "--hash-block x" "--sessions yes"; do
    # shellcheck disable=SC2086
    "$S" trace stats "$FIX" --map "$MAP" $bad > /dev/null 2>&1
    [ $? = 2 ] || fail "trace stats $bad should be a usage error"
done
"$S" trace gen --workload default --hashes --requests 10 --out "$T/x.jsonl" > /dev/null 2>&1
[ $? = 2 ] || fail "--hashes without shared prefixes should be a usage error"
"$S" trace gen --workload default:sessions=maybe --requests 10 --out "$T/x.jsonl" > /dev/null 2>&1
[ $? = 2 ] || fail "sessions=maybe should be a usage error"

# --sessions cumulative on a session CSV: turn 2 (700 tokens) keeps turn 1's
# one full block (512 of 600 tokens): 512 / (600 + 700) reused.
cat > "$T/s.csv" <<'CSV'
Timestamp,Session ID,Elapsed time,Model,Request tokens,Response tokens,Total tokens,Log Type
0,a,1,ChatGPT,600,50,650,Conversation log
10,a,1,ChatGPT,700,20,720,Conversation log
CSV
"$S" trace stats "$T/s.csv" --sessions cumulative --json > "$T/s.json" || fail "sessions stats"
[ "$(share "$T/s.json" reused_tokens)" = 512 ] || fail "sessions reused $(share "$T/s.json" reused_tokens) != 512"
"$S" trace stats "$T/s.csv" --json > "$T/s0.json"
[ "$(share "$T/s0.json" ideal_share)" = None ] || fail "no --sessions: no hashes"

# trace gen --hashes: JSONL that reads back with no --map; same seed, same bytes.
W=default:sessions=true,turns_mean=6,system_prompt=600
"$S" trace gen --workload "$W" --requests 2000 --seed 5 --hashes --out "$T/g.jsonl" 2> /dev/null || fail "gen --hashes"
"$S" trace gen --workload "$W" --requests 2000 --seed 5 --hashes --out "$T/g2.jsonl" 2> /dev/null
cmp -s "$T/g.jsonl" "$T/g2.jsonl" || fail "same seed, different bytes"
"$S" trace stats "$T/g.jsonl" --json > "$T/g.json" || fail "stats on gen output"
[ "$(share "$T/g.json" hashed_rows)" = 2000 ] || fail "every generated row hashed"
python3 -c "import json,sys; v=json.load(open(sys.argv[1]))['prefix_reuse']['ideal_share']; sys.exit(0 if 0.5 < v < 0.95 else 1)" "$T/g.json" \
    || fail "ideal reuse $(share "$T/g.json" ideal_share) outside (0.5, 0.95)"
python3 -c "import json,sys; m=json.load(open(sys.argv[1])); t=m['params']['turns']; sys.exit(0 if m['seed']==5 and m['format']=='jsonl' and t['sessions'] and t['turns_mean']==6 and t['system_prompt_tokens']==600 else 1)" "$T/g.jsonl.meta.json" \
    || fail "manifest does not record the multi-turn knobs"

[ $fails = 0 ] && echo "ok: trace hashes"
exit $fails
