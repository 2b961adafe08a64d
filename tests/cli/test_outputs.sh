#!/bin/sh
# test_outputs.sh: requests.csv rows in id order, one spelling of "absent"
# (empty), text columns never empty, and every column of requests.csv and
# timeseries.csv documented in docs/OUTPUTS.md (#16 item 13).
#   test_outputs.sh SERVESIM SOURCE_ROOT
set -u
S=$1
ROOT=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# requests finish out of order under continuous batching (short ones overtake)
"$S" run --workload default --requests 2000 --rate 40 --out "$T/r" --quiet || fail "run failed"
printf 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,10,5\n2023-11-16 18:15:47.0000000,5000,4\n2023-11-16 18:15:48.0000000,0,4\n2023-11-16 18:15:49.0000000,10,1\n' > "$T/t.csv"
"$S" run --trace "$T/t.csv" --out "$T/x" --quiet 2> /dev/null || fail "trace run failed"
python3 - "$T/r/requests.csv" "$T/x/requests.csv" "$T/r/timeseries.csv" "$ROOT/docs/OUTPUTS.md" <<'PY' || fails=$((fails + 1))
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ids = [int(r["id"]) for r in rows]
assert ids == list(range(len(rows))), "requests.csv is not in id order"
fin = [float(r["finish_s"]) for r in rows]
assert fin != sorted(fin), "no request overtook another: the order check proves nothing"
assert all(r["reason"] for r in rows), "an empty reason"
x = {r["id"]: r for r in csv.DictReader(open(sys.argv[2]))}
for i in ("1", "2"):  # rejected: never scheduled, no token
    r = x[i]
    assert r["state"] == "rejected", r
    for k in ("first_scheduled_s", "first_token_s", "ttft_s", "tpot_s", "e2e_s", "itl_max_s"):
        assert r[k] == "", "%s of a rejected request is %r, not empty" % (k, r[k])
assert x["3"]["state"] == "done" and x["3"]["tpot_s"] == "" and x["3"]["itl_max_s"] == "", "1-token request: %r" % x["3"]
assert x["0"]["reason"] == "none"
for path in sys.argv[1:4]:
    for r in csv.DictReader(open(path)):
        for k, v in r.items():
            assert v not in ("-1", "nan", "NaN") or k in ("kv_tokens_used", "kv_utilisation", "kv_cached_blocks"), (path, k, v)
doc = open(sys.argv[4]).read()
for path in (sys.argv[1], sys.argv[3]):
    for col in open(path).readline().strip().split(","):
        assert "| `%s` |" % col in doc, "column %s of %s is not in docs/OUTPUTS.md" % (col, path)
print("outputs: ok")
PY
[ "$fails" = 0 ] && echo "outputs: all ok"
exit "$fails"
