#!/bin/sh
# The cuda replay backend end to end on a few requests of llama-2-7b shapes
# (random bf16 weights drawn on the device).  Exits 77 (meson's skip) when the
# build has no CUDA or there is no GPU.
set -eu
SERVESIM=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if ! "$SERVESIM" replay --backend cuda --workload default --requests 24 --rate 4 \
        --sched vllm --gpu-mem-util 0.85 --out "$TMP/cuda" --quiet 2> "$TMP/err"; then
    if grep -q "has no CUDA\|no CUDA device\|cannot load libservesim_cuda" "$TMP/err"; then
        echo "replay_cuda: skipped: $(cat "$TMP/err")"
        exit 77
    fi
    cat "$TMP/err"
    exit 1
fi
"$SERVESIM" validate "$TMP/cuda"
