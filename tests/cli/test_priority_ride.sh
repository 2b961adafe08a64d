#!/bin/sh
# test_priority_ride.sh: sjf and srpt ride (their rank kept lazily,
# sim/sched/continuous_rank.c) and decide as when every runner is listed at
# every iteration (--stepwise): memory tight enough that plans take every
# rider back, srpt preempting riders for newcomers, swap with a small pool
# (a swapped-out rider must move the blocks a listed runner would have held).
#   test_priority_ride.sh SERVESIM
set -u
S=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
stat() { # summary.json, key -> integer
    sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p" "$1" | head -1
}
for spec in sjf srpt "sjf:aging=0,preempt=swap,swap_gib=0.05" "srpt:preempt=swap,swap_gib=0.05" \
    "srpt:margin=0,preempt_limit=3,preempt=swap,swap_gib=0.4" "srpt:aging=0,max_num_seqs=64"; do
    A="--workload default --requests 600 --rate 60 --gpu-mem-util 0.25 --predict noisy:sigma=0.5 --sched $spec"
    # shellcheck disable=SC2086
    "$S" run $A --out "$T/fast" --force --quiet 2> "$T/err" || { fail "$spec: run exited $?: $(cat "$T/err")"; continue; }
    # shellcheck disable=SC2086
    "$S" run $A --stepwise --out "$T/slow" --force --quiet 2> "$T/err" || { fail "$spec: stepwise exited $?"; continue; }
    tb=$(stat "$T/fast/summary.json" rider_take_backs)
    [ "${tb:-0}" -gt 0 ] || fail "$spec: no rider was taken back (rider_take_backs ${tb:-none}): sjf/srpt do not ride"
    case $spec in srpt*)
        pp=$(stat "$T/fast/summary.json" priority_preemptions)
        [ "${pp:-0}" -gt 0 ] || fail "$spec: no priority preemption";;
    esac
    # id, generated, state, preemptions exactly; first scheduled, first token, finish within 1e-6
    paste -d, "$T/fast/requests.csv" "$T/slow/requests.csv" | awk -F, -v spec="$spec" '
        NR == 1 { n = NF / 2; next }
        { for (k = 1; k <= n; k++) b[k] = $(k + n)
          if ($1 != b[1] || $7 != b[7] || $8 != b[8] || $17 != b[17]) { bad++; if (bad == 1) print spec ": request " $1 " differs: " $0 }
          for (k = 10; k <= 12; k++) { d = $k - b[k]; if (d < 0) d = -d; if (d > 1e-6 * (1 + ($k < 0 ? -$k : $k))) { bad++; if (bad == 1) print spec ": request " $1 " times differ" } } }
        END { exit bad > 0 }' || fail "$spec: event skipping with riders differs from --stepwise"
done
[ "$fails" -eq 0 ] && echo "ok: sjf/srpt riding == stepwise"
exit $((fails > 0))
