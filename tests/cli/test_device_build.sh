#!/bin/sh
# test_device_build.sh: scripts/device-build-full, the GPU machine's build without meson, still
# finds every source and generated file meson uses. With this machine's -dev libraries and no
# CUDA part (SYSTEM_LIBS=1 NO_CUDA=1) it must link a servesim that writes the same files as the
# meson build's. It broke once unnoticed: a generated source and header were added to meson only.
#   test_device_build.sh SERVESIM SOURCE_DIR
set -u
S=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")  # absolute: the test changes directory
SRC=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$SRC" || exit 1
SYSTEM_LIBS=1 NO_CUDA=1 scripts/device-build-full "$T/b" > "$T/log" 2>&1 || { tail -20 "$T/log"; echo "FAIL: device-build-full"; exit 1; }
"$T/b/servesim" run --workload default --requests 500 --sched vllm --out "$T/a" --quiet 2> "$T/e" ||
    { cat "$T/e"; echo "FAIL: the device build's servesim"; exit 1; }
"$S" run --workload default --requests 500 --sched vllm --out "$T/m" --quiet 2> "$T/e" || { cat "$T/e"; exit 1; }
diff -r "$T/a" "$T/m" > "$T/d" || { head -20 "$T/d"; echo "FAIL: device build and meson build write different files"; exit 1; }
echo "device build: ok"
