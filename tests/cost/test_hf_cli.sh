#!/bin/sh
# test_hf_cli.sh SERVESIM SRCDIR: every shipped config.json runs (`run --model
# <config.json>`), `list models` shows them, `plan` answers for Mixtral-8x7B on
# H100 tp2 and DeepSeek-V3 on 8 x H200 with the model assumptions printed, and
# a config with a field the mapping does not understand is refused naming it.
set -eu
S=$1; SRC=$2
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
for cfg in "$SRC"/models/hf/*/config.json; do
    tp=1
    case $cfg in *deepseek-v3*) tp=8;; *mixtral*) tp=2;; esac
    gpu=h100-sxm; [ $tp = 8 ] && gpu=h200
    "$S" run --workload default --requests 100 --rate 2 --model "$cfg" --gpu $gpu --tp $tp --out "$T/r" --force --quiet \
        || fail "run --model $cfg"
    grep -q '"model_deploy"' "$T/r/manifest.json" || grep -rq '"model_deploy"' "$T/r" || fail "no model_deploy in $cfg's results"
done
"$S" list models > "$T/list" || fail "list models"
grep -Eq 'mixtral-8x7b-v0.1 +mixtral +46.70 +12.75' "$T/list" || fail "list: mixtral row"
grep -Eq 'deepseek-v3 +deepseek_v3 +671.03 +36.63 +61 +8/256\+1 +MLA 512\+64 +fp8 +68.6' "$T/list" || fail "list: deepseek-v3 row"
"$S" plan --model mixtral-8x7b-v0.1 --gpus h100-sxm --tp 2 --workload default --rate 5 --requests 2000 --seeds 1 > "$T/p1" 2>&1 \
    || fail "plan mixtral"
grep -q '^model: mixtral-8x7b-v0.1 (mixtral): 46.70 B parameters, 12.75 B active.*top-2 of 8 experts' "$T/p1" || fail "plan mixtral assumptions"
grep -q '^answer: 1 x h100-sxm (tp 2)' "$T/p1" || fail "plan mixtral answer"
"$S" plan --model deepseek-v3 --gpus h200 --tp 8 --ep 8 --workload default --rate 5 --requests 2000 --seeds 1 > "$T/p2" 2>&1 \
    || fail "plan deepseek-v3"
grep -q '^model: deepseek-v3 (deepseek_v3): 671.03 B.*fp8 (FP8 GEMMs).*MLA latent.*top-8 of 256 experts + 1 shared.*ep 8' "$T/p2" \
    || fail "plan deepseek assumptions"
grep -q '^answer: 1 x h200 (tp 8)' "$T/p2" || fail "plan deepseek answer"
# a field not understood: an error naming it, exit 2
mkdir -p "$T/bad"
sed 's/"vocab_size"/"num_widgets": 3, "vocab_size"/' "$SRC/models/hf/meta-llama-3-8b/config.json" > "$T/bad/config.json"
if "$S" run --workload default --requests 10 --model "$T/bad" --out "$T/b" --force --quiet 2> "$T/err"; then fail "bad config accepted"; fi
grep -q "field 'num_widgets' is not understood" "$T/err" || fail "bad config message: $(cat "$T/err")"
# --ep that does not divide tp; --weights fp8 on an A100 runs weight-only, said
if "$S" run --workload default --requests 10 --model mixtral-8x7b-v0.1 --tp 2 --ep 3 --out "$T/b" --force --quiet 2> "$T/err"; then
    fail "--ep 3 accepted"; fi
"$S" run --workload default --requests 50 --model mixtral-8x7b-v0.1 --gpu a100-80g --tp 2 --weights fp8 --out "$T/a" --force --quiet \
    || fail "fp8 on a100"
grep -rq "weight-only" "$T/a" || fail "A100 fp8 note missing"
echo ok
