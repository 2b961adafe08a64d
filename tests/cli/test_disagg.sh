#!/bin/sh
# test_disagg.sh: disaggregated prefill/decode (#21 items 5 and 7): bad specs are
# usage errors; one request through prefill -> KV transfer -> decode, timed by
# hand (the transfer from the KV bytes and the link, with and without layer
# overlap); a transfer that waits for the decode instance's KV, and one that
# waits for the link; conservation across roles on random runs (one record per request,
# every transfer lands, the decode instances produce every later token).
#   test_disagg.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
st() { "$@" > "$T/out" 2> "$T/err"; echo $?; }
R="run --workload default --requests 200 --rate 10 --quiet"
D="prefill:1xh100-sxm,decode:2xh100-sxm"
[ "$(st "$S" $R --fleet prefill:1xh100-sxm,2xh100-sxm --out "$T/e1")" = 2 ] || fail "roles on some groups not exit 2"
grep -q "every group a role" "$T/err" || fail "mixed roles: message: $(cat "$T/err")"
[ "$(st "$S" $R --fleet prefill:1xh100-sxm,prefill:2xh100-sxm --out "$T/e2")" = 2 ] || fail "no decode group not exit 2"
grep -q "needs a prefill: group and a decode: group" "$T/err" || fail "no decode: message: $(cat "$T/err")"
[ "$(st "$S" $R --fleet $D --kv-link infiniband --out "$T/e3")" = 2 ] || fail "unknown link not exit 2"
grep -q "unknown link 'infiniband'" "$T/err" || fail "unknown link: message: $(cat "$T/err")"
[ "$(st "$S" $R --fleet $D --kv-link rdma:bogus=1 --out "$T/e4")" = 2 ] || fail "unknown link key not exit 2"
[ "$(st "$S" $R --fleet $D --kv-link rdma:overlap=sometimes --out "$T/e5")" = 2 ] || fail "bad overlap not exit 2"
[ "$(st "$S" $R --fleet $D --sched fcfs-static --out "$T/e6")" = 2 ] || fail "static batches not exit 2"
grep -q "continuous" "$T/err" || fail "static batches: message: $(cat "$T/err")"
[ "$(st "$S" $R --fleet $D --router central --out "$T/e7")" = 2 ] || fail "central router not exit 2"
[ "$(st "$S" $R --instances 2 --kv-link rdma --out "$T/e10")" = 2 ] || fail "--kv-link without roles not exit 2"
grep -q "no prefill:/decode: roles" "$T/err" || fail "--kv-link without roles: message: $(cat "$T/err")"

# One request: a 1000-token prompt, 3 output tokens, alone on the fleet.
printf 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n0,ChatGPT,1000,3,1003,Conversation log\n' \
    > "$T/one.csv"
C="--trace $T/one.csv --cost roofline --steps --quiet"
"$S" run $C --gpu h100-sxm --out "$T/colo" || fail "colocated run"
for ov in none layer; do
    "$S" run $C --fleet prefill:1xh100-sxm,decode:1xh100-sxm --kv-link rdma:gbps=8,latency_us=1000,overlap=$ov \
        --out "$T/dis_$ov" 2> "$T/err" || fail "disaggregated run ($ov): $(cat "$T/err")"
done
python3 - "$T" <<'PY' || fails=$((fails + 1))
import csv, json, sys
T = sys.argv[1]
kv_per_token = 2 * 32 * 32 * 128 * 2          # llama-2-7b: 2 x layers x kv_heads x head_dim x bf16 bytes
bw, lat, layers = 8e9 / 8, 1e-3, 32           # rdma:gbps=8 -> 1 GB/s; latency_us=1000
wire = 1000 * kv_per_token / bw                # 0.524288 s
colo = next(csv.DictReader(open(T + "/colo/requests.csv")))
for ov in ("none", "layer"):
    d = T + "/dis_" + ov
    s = json.load(open(d + "/summary.json"))
    assert s["run"]["kv_bytes_per_token"] == kv_per_token, s["run"]["kv_bytes_per_token"]
    steps = list(csv.DictReader(open(d + "/steps.csv")))
    pre = [x for x in steps if x["instance"] == "0"]
    dec = [x for x in steps if x["instance"] == "1"]
    assert len(pre) == 1 and int(pre[0]["prefill_tokens"]) == 1000 and pre[0]["iterations"] == "1", pre
    P = float(pre[0]["duration_s"])            # the prefill step: its first token at t = P
    transfer = lat + (wire if ov == "none" else max(wire / layers, wire - (layers - 1) / layers * P))
    r = next(csv.DictReader(open(d + "/requests.csv")))
    assert r["state"] == "done" and r["instance"] == "1" and r["output_tokens"] == "3", r
    ttft = float(r["ttft_s"])
    assert abs(ttft - (P + transfer)) < 1e-6, (ov, ttft, P, transfer)
    # The decode instance starts when the KV lands and decodes tokens 2 and 3.
    assert abs(float(dec[0]["start_s"]) - (P + transfer)) < 1e-6, dec
    assert sum(int(x["iterations"]) for x in dec) == 2 and all(x["prefill_tokens"] == "0" for x in dec), dec
    e2e = float(r["e2e_s"])
    assert abs(e2e - (P + transfer + sum(float(x["duration_s"]) for x in dec))) < 1e-6, (e2e, dec)
    # Colocated, the same GPU times the same prefill and decodes: the
    # transfer is the whole difference.
    assert abs(float(colo["ttft_s"]) - P) < 1e-9, (colo, P)
    assert abs((e2e - float(colo["e2e_s"])) - transfer) < 1e-6, (e2e, colo["e2e_s"], transfer)
    dg = s["run"]["disaggregation"]
    assert dg["transfers"] == 1 and dg["kv_bytes_transferred"] == 1000 * kv_per_token, dg
    assert abs(dg["transfer_s_mean"] - transfer) < 1e-9 and dg["overlap"] == ov, dg
    assert [f.get("role") for f in s["run"]["fleet"]] == ["prefill", "decode"], s["run"]["fleet"]
print("hand-computed request: ok")
PY

# Decode-side KV admission and link contention: two 4000-token prompts at
# t = 0, prefilled one after the other.  With a decode KV that holds one of
# them (432 blocks at --gpu-mem-util 0.2) the second is admitted (its blocks
# taken, its KV pulled) only when the first has finished: TTFT = the first's
# end + the pull.  With room for both (0.9) it is admitted at its hand-off,
# but its pull waits for the link the first one holds (contention=fifo) or
# not (contention=none).
printf 'Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n0,ChatGPT,4000,3,4003,Conversation log\n0,ChatGPT,4000,3,4003,Conversation log\n' \
    > "$T/two.csv"
for case in 0.2,fifo 0.9,fifo 0.9,none; do
    mem=${case%,*}; cont=${case#*,}
    "$S" run --trace "$T/two.csv" --cost roofline --steps --quiet --gpu-mem-util $mem \
        --fleet prefill:1xh100-sxm:tp=2,decode:1xh100-sxm --kv-link rdma:gbps=8,latency_us=1000,contention=$cont \
        --out "$T/wait_${mem}_$cont" 2> "$T/err" || fail "decode KV wait run ($case): $(cat "$T/err")"
done
"$S" run --trace "$T/two.csv" --cost roofline --steps --quiet --fleet prefill:1xh100-sxm:tp=2,decode:1xh100-sxm \
    --kv-link rdma:gbps=8,latency_us=1000,overlap=layer --out "$T/wait_layer" 2> "$T/err" || fail "layer run: $(cat "$T/err")"
python3 - "$T" <<'PY' || fails=$((fails + 1))
import csv, json, sys
T = sys.argv[1]
lat, wire = 1e-3, 4000 * 2 * 32 * 32 * 128 * 2 / 1e9   # prompt KV over 1 GB/s (one shard)
for mem, cont in (("0.2", "fifo"), ("0.9", "fifo"), ("0.9", "none")):
    d = "%s/wait_%s_%s" % (T, mem, cont)
    s = json.load(open(d + "/summary.json"))
    dg = s["run"]["disaggregation"]
    dec_stats = s["sched_stats"][1]
    pre = [x for x in csv.DictReader(open(d + "/steps.csv")) if x["instance"] == "0"]
    a, b = sorted(csv.DictReader(open(d + "/requests.csv")), key=lambda r: float(r["first_token_s"]))
    hand_a = float(pre[0]["start_s"]) + float(pre[0]["duration_s"])
    hand_b = float(pre[1]["start_s"]) + float(pre[1]["duration_s"])
    assert abs(float(a["ttft_s"]) - (hand_a + wire + lat)) < 1e-6, (a, hand_a)
    waits = mem == "0.2"
    admit_b = float(a["e2e_s"]) if waits else hand_b        # both arrived at t = 0
    start_b = max(admit_b, hand_a + wire) if cont == "fifo" else admit_b
    assert abs(float(b["ttft_s"]) - (start_b + wire + lat)) < 1e-6, (mem, cont, b, admit_b, start_b)
    assert dg["transfers"] == 2 and dec_stats["kv_pulls"] == 2 and dg["contention"] == cont, (dg, dec_stats)
    assert dg["transfers_waited_for_decode_kv"] == (1 if waits else 0), dg
    assert abs(dg["decode_kv_wait_s_max"] - (admit_b - hand_b)) < 1e-6, (dg, admit_b - hand_b)
    assert abs(dg["link_wait_s_max"] - (start_b - admit_b)) < 1e-6, (dg, start_b - admit_b)
    assert dec_stats["kv_peak_blocks"] <= dec_stats["kv_blocks"] and dec_stats["memory_preemptions"] == 0, dec_stats
    if waits: assert dec_stats["kv_blocks"] < 2 * 251, dec_stats   # the set-up: one prompt's blocks fit, not two
    else: assert start_b > admit_b or cont == "none", (start_b, admit_b)   # the link case does wait
# A layer-wise push claims the links from its prefill's first layer on.
d = T + "/wait_layer"
steps = [x for x in csv.DictReader(open(d + "/steps.csv")) if x["instance"] == "0"]
a, b = sorted(csv.DictReader(open(d + "/requests.csv")), key=lambda r: float(r["first_token_s"]))
L = 32
(sa, pa), (sb, pb) = [(float(x["start_s"]), float(x["duration_s"])) for x in steps]
end_a = max(sa + pa / L + wire, sa + pa + wire / L)
start_b = max(sb + pb / L, end_a)
pushed_b = max(start_b + wire, sb + pb + wire / L) + lat
assert abs(float(a["ttft_s"]) - (end_a + lat)) < 1e-6, (a, end_a + lat)
assert abs(float(b["ttft_s"]) - pushed_b) < 1e-6, (b, pushed_b)
print("decode-side KV admission and link contention: ok")
PY

# Clients on a split fleet: the first token is the client's when the KV
# lands, so a TTFT deadline between the prefill's token and the landing
# cancels the request (during the pull: its decode blocks are freed, the
# transfer's event is dropped); one after the landing does not.
for ttft in 0.3 0.8; do
    "$S" run --trace "$T/one.csv" --cost roofline --quiet --fleet prefill:1xh100-sxm,decode:1xh100-sxm \
        --kv-link rdma:gbps=8,latency_us=1000 --client deadline:ttft_timeout=$ttft --out "$T/cl_$ttft" 2> "$T/err" \
        || fail "client run ($ttft): $(cat "$T/err")"
done
python3 - "$T" <<'PY' || fails=$((fails + 1))
import csv, json, sys
T = sys.argv[1]
r = next(csv.DictReader(open(T + "/cl_0.3/requests.csv")))
assert r["state"] == "cancelled" and r["reason"] == "ttft_timeout" and r["instance"] == "1", r
assert abs(float(r["finish_s"]) - 0.3) < 1e-9 and r["ttft_s"] == "", r     # no first token reached the client
s = json.load(open(T + "/cl_0.3/summary.json"))
assert s["sched_stats"][1]["kv_pulls"] == 1 and s["run"]["disaggregation"]["transfers"] == 1, s["sched_stats"]
r = next(csv.DictReader(open(T + "/cl_0.8/requests.csv")))
assert r["state"] == "done" and float(r["ttft_s"]) < 0.8, r                 # P + 0.525 s < 0.8 s
print("client deadlines across the transfer: ok")
PY
# Bursty arrivals, impatient clients with retries, a small decode KV: requests
# give up in every place (prefill queue and step, decode queue, on the link,
# landed, decoding: seed 1 reaches each, checked once with counters); one
# record per attempt, and the run ends clean (CI runs this test under ASan).
for seed in 1 2; do
    o="$T/clb_$seed"
    "$S" run --workload default --requests 3000 --rate 40 --seed $seed --fleet prefill:1xh100-sxm,decode:2xh100-sxm \
        --gpu-mem-util 0.25 --kv-link rdma:gbps=50 --client deadline:ttft_timeout=1.5,patience=20,retries=2 \
        --admission max_queue_delay=10 --quiet --out "$o" 2> "$T/err" || fail "bursty client run: $(cat "$T/err")"
    python3 - "$o" <<'PY' || fails=$((fails + 1))
import collections, csv, json, sys
o = sys.argv[1]
s = json.load(open(o + "/summary.json")); m = s["metrics"]
rows = list(csv.DictReader(open(o + "/requests.csv")))
assert len(rows) == len({r["id"] for r in rows}) == m["arrived"], (len(rows), m["arrived"])
assert m["completed"] + m["failed"] + m["rejected"] + m["cancelled"] == m["arrived"], m
reasons = collections.Counter(r["reason"] for r in rows if r["state"] != "done")
roles = [f["role"] for f in s["run"]["fleet"]]
on_decode = collections.Counter(r["state"] for r in rows if r["instance"] and roles[int(r["instance"])] == "decode")
assert m["cancelled"] > 0 and on_decode["cancelled"] > 0, (m, on_decode)
assert all(r["ttft_s"] == "" for r in rows if r["reason"] == "ttft_timeout"), "a TTFT-timeout with a first token"
print("bursty clients on a split fleet:", dict(reasons), "decode-side", dict(on_decode))
PY
done

# Conservation across roles on random runs; seed 3 with a small KV cache, so
# that decode instances preempt and recompute (thousands of preemptions).
for seed in 1 2 3; do
    X=""; [ $seed = 3 ] && X="--gpu-mem-util 0.2 --rate 80"
    for spec in "prefill:1xh100-sxm,decode:3xh100-sxm" "prefill:3xh100-sxm,decode:1xh100-sxm:tp=2"; do
        for router in least-work round-robin; do
            o="$T/c_${seed}_$(echo "$spec" | tr ':,=' '___')_$router"
            "$S" run --workload default --requests 3000 --rate 25 --seed $seed --fleet "$spec" --router $router \
                --sched vllm:max_num_seqs=64 $X --quiet --out "$o" 2> "$T/err" || fail "conservation run: $(cat "$T/err")"
            "$S" run --workload default --requests 3000 --rate 25 --seed $seed --instances 4 --router $router \
                --sched vllm:max_num_seqs=64 $X --quiet --out "$o.colo" 2> "$T/err" || fail "colocated run"
            python3 - "$o" <<'PY' || fails=$((fails + 1))
import csv, json, sys
o = sys.argv[1]
s = json.load(open(o + "/summary.json")); c = json.load(open(o + ".colo/summary.json"))
m, dg = s["metrics"], s["run"]["disaggregation"]
rows = list(csv.DictReader(open(o + "/requests.csv")))
ids = [int(r["id"]) for r in rows]
assert len(ids) == len(set(ids)) == m["arrived"] == 3000, (len(ids), m["arrived"])   # one record each
assert m["completed"] + m["failed"] + m["rejected"] + m["cancelled"] == m["arrived"], m
roles = [f["role"] for f in s["run"]["fleet"]]
done = [r for r in rows if r["state"] == "done"]
multi = [r for r in done if int(r["output_tokens"]) > 1]
# Every request with more than one token crossed once and ended on a decode
# instance; one-token outputs ended on a prefill instance.
assert dg["transfers"] == len([r for r in rows if r["instance"] != "" and roles[int(r["instance"])] == "decode"]), dg
assert all(roles[int(r["instance"])] == "decode" for r in multi), "a multi-token request ended on a prefill instance"
assert all(roles[int(r["instance"])] == "prefill" for r in done if int(r["output_tokens"]) == 1)
assert sum(int(r["output_tokens"]) for r in done) == m["total_output_tokens"]
# The same trace on a colocated fleet: the same requests and tokens.
assert c["metrics"]["arrived"] == m["arrived"] and c["metrics"]["total_input_tokens"] == m["total_input_tokens"]
if m["rejected"] == c["metrics"]["rejected"] == 0:
    assert c["metrics"]["total_output_tokens"] == m["total_output_tokens"]
print("conservation:", o.rsplit("/", 1)[1], m["completed"], "done,", dg["transfers"], "transfers,", m["preemptions"], "preemptions")
PY
        done
    done
done
[ $fails -eq 0 ] && echo "test_disagg: ok"
exit $fails
