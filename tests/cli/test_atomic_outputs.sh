#!/bin/sh
# Results appear whole or not at all (#16 item 9, sim/out_file.h):
#  1. SIGINT / SIGTERM during `run` and `trace gen` exit 130 / 143 and leave
#     neither a file under a final name nor a temporary file (nor the new
#     directory); in an existing directory (--force) nothing of the run stays;
#  2. a full disk (ulimit -f: EFBIG, like ENOSPC) fails the command, names
#     the file and errno, and leaves nothing under the final name: run, trace
#     gen (plain and gzip), trace fit --out, plan --out, sweep --out;
#  3. summary.json is written last: an interrupted or failed run never leaves
#     a summary.json beside missing or partial data files.
set -eu
SERVESIM=$1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail() { echo "atomic: $*"; exit 1; }

# Background jobs of a non-interactive shell start with SIGINT ignored (and
# servesim keeps an ignored signal ignored, as nohup expects): env resets it.
# $1: signal, $2: the path whose temporary file must appear first, then the command.
interrupt() {
    sig=$1 watch=$2
    shift 2
    env --default-signal=INT "$@" 2>"$TMP/sig.err" &
    pid=$!
    dir=$(dirname "$watch") base=$(basename "$watch")
    i=0
    until ls -A "$dir" 2>/dev/null | grep -q "^\.$base\.tmp\."; do
        i=$((i + 1))
        [ $i -lt 200 ] || { kill -KILL $pid; fail "no temporary file for $watch appeared in 20 s"; }
        sleep 0.1
    done
    kill -"$sig" $pid
    rc=0
    wait $pid || rc=$?
}

interrupt INT "$TMP/r1/requests.csv" timeout 120 "$SERVESIM" run --workload default --requests 50000000 --out "$TMP/r1" --quiet
[ "$rc" = 130 ] || fail "run under SIGINT exited $rc, want 130"
[ ! -e "$TMP/r1" ] || fail "run under SIGINT left $(ls -A "$TMP/r1")"
grep -q "interrupted" "$TMP/sig.err" || fail "run under SIGINT said nothing"
pass=$((pass + 1))

mkdir "$TMP/r2"
touch "$TMP/r2/notes.txt" # not the run's: must stay
interrupt TERM "$TMP/r2/requests.csv" timeout 120 "$SERVESIM" run --workload default --requests 50000000 --out "$TMP/r2" --force --quiet
[ "$rc" = 143 ] || fail "run under SIGTERM exited $rc, want 143"
[ "$(ls -A "$TMP/r2")" = notes.txt ] || fail "run under SIGTERM left: $(ls -A "$TMP/r2")"
pass=$((pass + 1))

interrupt TERM "$TMP/t.csv" timeout 120 "$SERVESIM" trace gen --workload default --requests 500000000 --out "$TMP/t.csv"
[ "$rc" = 143 ] || fail "trace gen under SIGTERM exited $rc, want 143"
[ -z "$(ls -A "$TMP" | grep 't\.csv')" ] || fail "trace gen under SIGTERM left: $(ls -A "$TMP")"
pass=$((pass + 1))

# A full disk.  The limit is per process (512- or 1024-byte blocks by shell);
# stderr goes through a pipe, which the limit does not cover.
full() { # $1: blocks, then the command; prints its stderr, sets rc
    blocks=$1
    shift
    rc=0
    err=$( (ulimit -f "$blocks"; exec "$@") 2>&1 >/dev/null) || rc=$?
}
full 200 "$SERVESIM" run --workload default --requests 20000 --out "$TMP/full" --quiet
[ "$rc" = 1 ] || fail "run on a full disk exited $rc"
echo "$err" | grep -q "full/requests.csv: write failed: File too large" || fail "run on a full disk said: $err"
[ ! -e "$TMP/full" ] || fail "run on a full disk left: $(ls -A "$TMP/full")"
pass=$((pass + 1))

for out in t.csv t.csv.gz; do
    full 50 "$SERVESIM" trace gen --workload default --requests 100000 --out "$TMP/$out"
    [ "$rc" = 1 ] || fail "trace gen --out $out on a full disk exited $rc"
    echo "$err" | grep -q "$out.*File too large" || fail "trace gen --out $out on a full disk said: $err"
    [ -z "$(ls -A "$TMP" | grep '^\.\?t\.csv')" ] || fail "trace gen --out $out on a full disk left: $(ls -A "$TMP")"
done
pass=$((pass + 1))

"$SERVESIM" trace gen --workload default --requests 2000 --out "$TMP/small.csv" 2>/dev/null
full 1 "$SERVESIM" trace fit "$TMP/small.csv" --out "$TMP/fit.json"
[ "$rc" = 1 ] && echo "$err" | grep -q "fit.json: write failed: File too large" ||
    fail "trace fit --out on a full disk: exit $rc, said: $err"
[ ! -e "$TMP/fit.json" ] || fail "trace fit left a partial fit.json"
full 2 "$SERVESIM" plan --workload default --requests 300 --gpus h100-sxm --seeds 1 --out "$TMP/plan.json"
[ "$rc" = 1 ] && echo "$err" | grep -q "plan.json: write failed: File too large" ||
    fail "plan --out on a full disk: exit $rc, said: $err"
[ ! -e "$TMP/plan.json" ] || fail "plan left a partial plan.json"
cat > "$TMP/sweep.json" <<'EOF'
{"workload": "default", "requests": 200, "sched": ["vllm", "sjf"], "rate": [5, 10], "seeds": 2}
EOF
full 0 "$SERVESIM" sweep "$TMP/sweep.json" --out "$TMP/sweep.csv" --quiet
[ "$rc" = 1 ] && echo "$err" | grep -q "sweep.csv: write failed: File too large" ||
    fail "sweep --out on a full disk: exit $rc, said: $err"
[ ! -e "$TMP/sweep.csv" ] || fail "sweep left a partial sweep.csv"
"$SERVESIM" sweep "$TMP/sweep.json" --out "$TMP/sweep.csv" --quiet
[ "$(wc -l < "$TMP/sweep.csv")" = 9 ] || fail "sweep --out wrote $(wc -l < "$TMP/sweep.csv") lines, want 9"
pass=$((pass + 1))

# No temporary file survives anything above.
left=$(find "$TMP" -name '.*.tmp.*')
[ -z "$left" ] || fail "temporary files left: $left"
pass=$((pass + 1))
echo "atomic: $pass passed, 0 failed"
