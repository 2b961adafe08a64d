"""The measurement protocol every scripts/experiments/* script shares (docs/EXPERIMENTS.md).

- Steady state: a run's first WARMUP_SHARE and last COOLDOWN_SHARE of requests (by arrival)
  are excluded; latencies are taken over the requests between, throughput is the completions
  that finish while those requests arrive, over that span.  Every request of the run is
  accounted for (arrived = completed + failed + rejected) or the script stops.
- Seeds: every point is run with SEEDS seeds; figures are means with 95 % Student-t intervals.
- Capacity: the highest offered rate whose P99 E2E and queue stay bounded as the run gets
  longer: the same point at N and LONG_FACTOR x N requests, bounded when the seeds' mean P99
  grows by at most GROWTH_LIMIT and completions keep up with arrivals (KEEP_UP).  Found the same way for every policy: a geometric scan down from an
  upper bracket until a bounded rate, then bisection in log rate (search_capacity).
- Outputs: a script writes its report to --out (default results/runs/NAME/report, git-ignored);
  the curated results/NAME/ only when --out names it.  Checked-in files hold no absolute path.
"""
import argparse
import concurrent.futures as cf
import csv
import hashlib
import json
import math
import os
import subprocess
import sys
import threading

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
WARMUP_SHARE = 0.1
COOLDOWN_SHARE = 0.1
SEEDS = 5
LONG_FACTOR = 2
GROWTH_LIMIT = 1.5      # P99 E2E at LONG_FACTOR x N over P99 at N: above this, unbounded
KEEP_UP = 0.95          # long runs' completions / arrivals in the window: below this, unbounded
SCAN_FACTOR = 1.5       # capacity scan: rate steps down by this factor
BISECTIONS = 3          # then bisection in log rate: resolution SCAN_FACTOR ** (1 / 2**3) ~ 5 %
# Student t, 97.5 % quantile, by degrees of freedom (n - 1).
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042}


def rel(path):
    """A path as checked-in files show it: relative to the repository root."""
    return os.path.relpath(os.path.abspath(path), ROOT)


def arg_parser(name, doc, requests):
    """The options every experiment takes; `requests` is N, the short run's length."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servesim", default=os.path.join(ROOT, "build", "servesim"))
    ap.add_argument("--out", help="report directory (default results/runs/%s/report, git-ignored; "
                    "the curated results/%s only when named here)" % (name, name))
    ap.add_argument("--requests", type=int, default=requests,
                    help="requests of a short run (the long one has %dx; default %d)" % (LONG_FACTOR, requests))
    ap.add_argument("--seeds", type=int, default=SEEDS, help="seeds per point (default %d)" % SEEDS)
    ap.add_argument("--jobs", type=int, default=2, help="runs at a time (default 2)")
    ap.add_argument("--quick", action="store_true", help="a smoke test: fewer requests and 2 seeds")
    return ap


def finish_args(a, name):
    if a.quick:
        a.requests = min(a.requests, 400)
        a.seeds = min(a.seeds, 2)
    if a.seeds < 2:
        sys.exit("%s experiment: --seeds must be >= 2 (intervals need them)" % name)
    if a.requests < 50:
        sys.exit("%s experiment: --requests must be >= 50" % name)
    if not os.access(a.servesim, os.X_OK):
        sys.exit("%s experiment: no %s (build: scripts/setup build && ninja -C build)" % (name, a.servesim))
    a.servesim = os.path.abspath(a.servesim)
    a.runs = os.path.join(ROOT, "results", "runs", name)
    a.out = os.path.abspath(a.out) if a.out else os.path.join(a.runs, "quick" if a.quick else "report")
    os.makedirs(a.runs, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)
    return a


def sh(cmd, what):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit("%s: %s failed:\n%s" % (what, " ".join(cmd), r.stderr.strip()))
    return r


def mean_ci(xs):
    """Mean and the half-width of its 95 % Student-t interval."""
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    n = len(xs)
    if n == 0:
        return float("nan"), float("nan")
    m = sum(xs) / n
    if n == 1:
        return m, float("nan")
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (n - 1))
    t = T975.get(n - 1) or T975[max(k for k in T975 if k <= n - 1)]
    return m, t * sd / math.sqrt(n)


def percentile(sorted_xs, q):
    if not sorted_xs:
        return float("nan")
    k = (len(sorted_xs) - 1) * q
    lo = int(math.floor(k))
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (k - lo)


def steady_state(out_dir, what, slo_ttft_s=float("inf"), slo_tpot_s=float("inf")):
    """A run's steady-state figures from summary.json and requests.csv; slo_share counts the
    window's requests that completed within both SLOs (seconds)."""
    with open(os.path.join(out_dir, "summary.json")) as f:
        s = json.load(f)
    m = s["metrics"]
    if m["arrived"] != m["completed"] + m["failed"] + m["rejected"]:
        sys.exit("%s: %s: %d arrived but %d completed + %d failed + %d rejected"
                 % (what, rel(out_dir), m["arrived"], m["completed"], m["failed"], m["rejected"]))
    with open(os.path.join(out_dir, "requests.csv")) as f:
        rows = [(int(r["id"]), float(r["arrival_s"]), r["state"], r["finish_s"], r["e2e_s"],
                 int(r["generated_tokens"] or 0), r["ttft_s"], r["tpot_s"], r["first_scheduled_s"])
                for r in csv.DictReader(f)]
    rows.sort()
    n = len(rows)
    if n != m["arrived"]:
        sys.exit("%s: %s: requests.csv has %d rows, summary %d arrived" % (what, rel(out_dir), n, m["arrived"]))
    a, b = int(n * WARMUP_SHARE), n - int(n * COOLDOWN_SHARE)
    win = rows[a:b]
    t0, t1 = win[0][1], win[-1][1]
    done = sorted(float(r[4]) for r in win if r[2] == "done")
    span_s = max(t1 - t0, 1e-9)
    fin = [r for r in rows if r[2] == "done" and t0 <= float(r[3]) <= t1]
    st = s.get("sched_stats", {})
    if isinstance(st, list):  # a fleet: one object per instance; the first stands for them
        st = st[0] if st else {}
    ttft = sorted(float(r[6]) for r in win if r[2] == "done" and r[6])
    tpot = sorted(float(r[7]) for r in win if r[2] == "done" and r[7])
    waits = [float(r[8]) - r[1] for r in win if r[8]]
    good = sum(1 for r in win if r[2] == "done" and r[6] and float(r[6]) <= slo_ttft_s
               and (not r[7] or float(r[7]) <= slo_tpot_s))
    return {
        "p50_ttft_s": percentile(ttft, 0.5),
        "p99_ttft_s": percentile(ttft, 0.99),
        "p50_tpot_s": percentile(tpot, 0.5),
        "p99_tpot_s": percentile(tpot, 0.99),
        "max_wait_s": max(waits) if waits else float("nan"),   # arrival to first scheduling
        "slo_share": good / len(win),                          # window requests meeting the SLO
        "throughput": len(fin) / span_s,                      # req/s
        "arrival_rate": (len(win) - 1) / span_s,              # req/s, as drawn in the window
        "valid_tok_s": sum(r[5] for r in fin) / span_s,
        "mean_e2e_s": sum(done) / len(done) if done else float("nan"),
        "p50_e2e_s": percentile(done, 0.5),
        "p99_e2e_s": percentile(done, 0.99),
        "failed_share": sum(1 for r in win if r[2] != "done") / len(win),
        "mean_batch": st.get("mean_batch_size", float("nan")),
        "padding_share": m["padding_share"],
        "preemptions": m["preemptions"],
        "whole_run_throughput": m["completed"] / m["duration"] if m["duration"] > 0 else 0.0,
    }


class Runner:
    """Runs servesim, one directory per distinct command, memoised: the capacity search,
    the load curves and the baseline's selection ask for the same points more than once."""

    def __init__(self, a, name, slo_ttft_s=float("inf"), slo_tpot_s=float("inf")):
        self.a, self.name = a, name
        self.slo = (slo_ttft_s, slo_tpot_s)
        self.memo, self.lock = {}, threading.Lock()
        self.pool = cf.ThreadPoolExecutor(a.jobs)
        self.count = 0

    def run(self, args):
        key = tuple(args)
        with self.lock:
            if key in self.memo:
                return self.memo[key]
        h = hashlib.sha1("\0".join(args).encode()).hexdigest()[:16]
        out = os.path.join(self.a.runs, "runs", h)
        sh([self.a.servesim, "run"] + list(args) + ["--out", out, "--force", "--quiet",
                                                      "--sample-interval", "1e6"], self.name)
        res = steady_state(out, self.name, *self.slo)
        with self.lock:
            self.memo[key] = res
            self.count += 1
        return res

    def run_many(self, arg_lists):
        return list(self.pool.map(self.run, arg_lists))


class Point:
    """One policy at one offered rate: seeds x {N, LONG_FACTOR x N} runs, aggregated."""

    def __init__(self, rate, short, long):
        self.rate, self.short, self.long = rate, short, long
        p_s = mean_ci([r["p99_e2e_s"] for r in short])[0]
        p_l = mean_ci([r["p99_e2e_s"] for r in long])[0]
        self.growth = p_l / p_s if p_s > 0 else float("inf")
        # The queue keeps up: completions over the window's own arrival rate (the draws'
        # burstiness cancels out).  Overload shows here even when a policy's P99 grows slowly
        # (Magnus's batches grow with its queue).
        self.keep_up = mean_ci([r["throughput"] / r["arrival_rate"] for r in long])[0]
        self.bounded = self.growth <= GROWTH_LIMIT and self.keep_up >= KEEP_UP

    def agg(self, key, runs="long"):
        return mean_ci([r[key] for r in getattr(self, runs)])


def measure_point(runner, make_args, rate, seeds, n, long_only=False):
    """make_args(rate, n_requests, seed) -> servesim run arguments."""
    lens = [LONG_FACTOR * n] if long_only else [n, LONG_FACTOR * n]
    jobs = [make_args(rate, k, s) for k in lens for s in range(1, seeds + 1)]
    res = runner.run_many(jobs)
    if long_only:
        return Point(rate, res, res)
    return Point(rate, res[:seeds], res[seeds:])


def search_capacity(runner, make_args, upper, seeds, n):
    """The highest bounded rate below `upper` (req/s), and every point measured on the way.
    Scan down from `upper` by SCAN_FACTOR until a bounded rate; if `upper` itself is bounded,
    scan up.  Then BISECTIONS bisections in log rate between the bounded and unbounded rates."""
    pts = {}

    def at(r):
        r = float("%.4g" % r)
        if r not in pts:
            pts[r] = measure_point(runner, make_args, r, seeds, n)
        return pts[r]

    r = upper
    if at(r).bounded:
        lo = at(r).rate
        for _ in range(6):
            r *= SCAN_FACTOR
            if not at(r).bounded:
                break
            lo = at(r).rate
        else:
            return lo, sorted(pts.values(), key=lambda p: p.rate)  # never unbounded: a floor
        hi = r
    else:
        hi = r
        for _ in range(12):
            r /= SCAN_FACTOR
            if at(r).bounded:
                break
            hi = r
        else:
            return 0.0, sorted(pts.values(), key=lambda p: p.rate)
        lo = at(r).rate
    for _ in range(BISECTIONS):
        mid = math.sqrt(lo * hi)
        if at(mid).bounded:
            lo = at(mid).rate
        else:
            hi = mid
    return lo, sorted(pts.values(), key=lambda p: p.rate)


def fmt_ci(m, h, digits=3):
    if m is None or math.isnan(m):
        return "-"
    f = "%%.%dg" % digits
    if h is None or math.isnan(h):
        return f % m
    return (f + " ± " + f) % (m, h)
