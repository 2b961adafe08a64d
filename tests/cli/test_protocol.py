#!/usr/bin/env python3
"""scripts/experiments/lib/protocol.py: intervals, the steady-state window, the accounting check
and the capacity search (docs/EXPERIMENTS.md).   test_protocol.py SOURCE_ROOT"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(sys.argv[1], "scripts", "experiments", "lib"))
import protocol as P  # noqa: E402

fails = 0


def check(cond, what):
    global fails
    if not cond:
        print("FAIL:", what)
        fails += 1


# Mean and 95 % t interval: 1..5 has mean 3, sd sqrt(2.5), t(4) = 2.776.
m, h = P.mean_ci([1, 2, 3, 4, 5])
check(abs(m - 3) < 1e-12 and abs(h - 2.776 * (2.5 ** 0.5) / 5 ** 0.5) < 1e-9, "mean_ci %r %r" % (m, h))
check(P.percentile([1, 2, 3, 4, 5], 0.5) == 3 and P.percentile([0, 10], 0.99) == 9.9, "percentile")


def write_run(d, rows, arrived=None, completed=None):
    os.makedirs(d, exist_ok=True)
    done = sum(1 for r in rows if r[2] == "done")
    m = {"arrived": len(rows) if arrived is None else arrived, "completed": done if completed is None else completed,
         "failed": len(rows) - done, "rejected": 0, "padding_share": 0.0, "preemptions": 0, "duration": 100.0}
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump({"metrics": m}, f)
    with open(os.path.join(d, "requests.csv"), "w") as f:
        f.write("id,arrival_s,state,finish_s,e2e_s,generated_tokens,ttft_s,tpot_s,first_scheduled_s\n")
        for i, (arr, e2e, state) in enumerate(rows):
            fin = "" if state != "done" else "%g" % (arr + e2e)
            f.write("%d,%g,%s,%s,%s,10,0.1,0.01,%g\n" % (i, arr, state, fin, "%g" % e2e if fin else "", arr))


with tempfile.TemporaryDirectory() as t:
    # 10 requests, one a second; the first (e2e 1000 s, warm-up) and the last (cool-down) are out.
    rows = [(float(i), 1000.0 if i == 0 else 2.0, "done") for i in range(10)]
    rows[9] = (9.0, 500.0, "done")
    rows[4] = (4.0, 0.0, "failed")
    write_run(os.path.join(t, "a"), rows)
    s = P.steady_state(os.path.join(t, "a"), "test")
    check(s["mean_e2e_s"] == 2.0 and s["p99_e2e_s"] == 2.0, "warm-up/cool-down excluded: %r" % s["mean_e2e_s"])
    check(abs(s["failed_share"] - 1 / 8) < 1e-12, "failed share %r" % s["failed_share"])
    # Window arrivals span 1..8 s; done requests finishing in [1, 8]: ids 1, 2, 3, 5, 6 (finish 3..8).
    check(abs(s["throughput"] - 5 / 7) < 1e-12, "window throughput %r" % s["throughput"])
    check(abs(s["arrival_rate"] - 1.0) < 1e-12, "window arrival rate %r" % s["arrival_rate"])
    # A request unaccounted for stops the script with the run named.
    write_run(os.path.join(t, "b"), rows, arrived=11)
    r = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, %r); import protocol as P; "
                        "P.steady_state(%r, 'test')" % (os.path.dirname(P.__file__), os.path.join(t, "b"))],
                       capture_output=True, text=True)
    check(r.returncode != 0 and "11 arrived" in r.stderr, "accounting check: %r" % r.stderr)


class FakeRunner:
    """A server of capacity CAP req/s: below it P99 is flat and it keeps up; above it the queue
    grows, so P99 grows with the run's length and completions stay at CAP."""
    CAP = 7.3

    def __init__(self):
        self.count = 0

    def run_many(self, jobs):
        out = []
        for rate, n, seed in jobs:
            self.count += 1
            over = rate > self.CAP
            out.append({"p99_e2e_s": 10.0 * (n / 1000.0 if over else 1.0) + 0.01 * seed,
                        "throughput": min(rate, self.CAP), "arrival_rate": rate})
        return out


for upper in (3.0, 7.3, 20.0, 500.0):
    fr = FakeRunner()
    cap, pts = P.search_capacity(fr, lambda r, n, s: (r, n, s), upper, 5, 1000)
    check(cap <= FakeRunner.CAP + 1e-9 and cap >= FakeRunner.CAP / P.SCAN_FACTOR ** (1 / 2 ** P.BISECTIONS) - 1e-9,
          "capacity from upper %g: %g" % (upper, cap))
    check(any(not p.bounded and p.rate > cap for p in pts), "the curve reaches past capacity (upper %g)" % upper)
    check(all(p.bounded == (p.rate <= FakeRunner.CAP) for p in pts), "bounded iff below capacity (upper %g)" % upper)

# A policy whose P99 grows slowly under overload (batches grow with the queue) but whose
# completions fall behind arrivals is unbounded too.
pt = P.Point(10.0, [{"p99_e2e_s": 10.0}] * 5, [{"p99_e2e_s": 12.0, "throughput": 8.0, "arrival_rate": 10.0}] * 5)
check(not pt.bounded, "keep-up below %.2f is unbounded" % P.KEEP_UP)

print("protocol: all ok" if not fails else "protocol: %d failures" % fails)
sys.exit(1 if fails else 0)
