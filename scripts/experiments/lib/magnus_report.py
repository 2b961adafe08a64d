"""table.md, table.csv and the load-latency plots of scripts/experiments/magnus."""
import csv
import math
import os
import sys

import protocol as P


def pct(x, base):
    if base is None or not base or math.isnan(base) or x is None or math.isnan(x):
        return "-"
    return "%+.0f %%" % (100 * (x / base - 1))


def cfg_name(cap, b, window=0.0):
    s = "B=%d, %s" % (b, "cap %d" % cap if cap else "no cap")
    if window:
        s += ", window %g s" % window
    return s


def csv_rows(results):
    keys = ["throughput", "valid_tok_s", "mean_e2e_s", "p99_e2e_s", "failed_share", "mean_batch"]
    for wl, r in results.items():
        b = r["baseline"]
        sets = [("fcfs-static " + cfg_name(b["cap"], b["B"]), "search", b["points"], b["capacity"])]
        for x, (k, pt) in r["base_at"].items():
            sets.append(("fcfs-static best at load: " + cfg_name(*k), "load", [pt], b["capacity"]))
        for v in r["variants"]:
            sets.append((v["label"], "search", v["points"], v["capacity"]))
            sets.append((v["label"], "load", list(v["at"].values()), v["capacity"]))
        for label, kind, pts, cap in sets:
            for p in pts:
                row = {"workload": wl, "policy": label, "kind": kind, "rate": p.rate, "capacity": cap,
                       "share_of_baseline_capacity": p.rate / b["capacity"] if b["capacity"] else "",
                       "p99_growth_2x": "%.3f" % p.growth if kind == "search" else "",
                       "keep_up": "%.3f" % p.keep_up,
                       "bounded": p.bounded if kind == "search" else ""}
                for k in keys:
                    m, h = p.agg(k)
                    row[k] = "%.6g" % m
                    row[k + "_ci95"] = "%.3g" % h
                yield row


def capacity_table(wl, r, cap_point):
    b = r["baseline"]
    bp = cap_point(b)
    L = ["### %s: capacity (highest rate whose P99 E2E and queue stay bounded from N to 2N requests)" % wl, "",
         "| policy | capacity (req/s) | vs baseline | throughput at capacity (req/s) | valid tok/s | "
         "P99 E2E at capacity (s) | mean batch |", "| --- | --- | --- | --- | --- | --- | --- |"]

    def line(label, cap, p):
        L.append("| %s | %.3g | %s | %s | %s | %s | %s |" % (
            label, cap, pct(cap, b["capacity"]), P.fmt_ci(*p.agg("throughput")),
            P.fmt_ci(*p.agg("valid_tok_s")), P.fmt_ci(*p.agg("p99_e2e_s")),
            "%.1f" % p.agg("mean_batch")[0] if not math.isnan(p.agg("mean_batch")[0]) else "-"))
    line("fcfs-static, best (%s)" % cfg_name(b["cap"], b["B"]), b["capacity"], bp)
    for v in r["variants"]:
        line(v["label"], v["capacity"], cap_point(v))
    L += ["", "Baseline saturation screen (all requests queued at once, seed 1; best B per cap): " +
          "; ".join("%s: B=%d, %.3g req/s, %.1f %% cut%s" % (
              "cap %d" % c if c else "no cap", bb, sat, 100 * fs, "" if fs <= 0.01 else " (not eligible)")
              for c, (sat, bb, fs) in sorted(b["screen"].items())) + ".", ""]
    return L


def load_table(wl, r, key, title):
    loads = r["loads"]
    C = r["baseline"]["capacity"]
    L = ["### %s: %s at 50 / 80 / 95 %% of the baseline's capacity (%.3g req/s)" % (wl, title, C), "",
         "| policy | " + " | ".join("%.3g req/s (%d %%)" % (x, round(100 * x / C)) for x in loads) + " |",
         "| --- |" + " --- |" * len(loads)]
    base = {x: r["base_at"][x][1].agg(key)[0] for x in loads}
    L.append("| fcfs-static, best at each load | " + " | ".join(
        "%s (%s)" % (P.fmt_ci(*r["base_at"][x][1].agg(key)), cfg_name(*r["base_at"][x][0])) for x in loads) + " |")
    for v in r["variants"]:
        L.append("| %s | " % v["label"] + " | ".join(
            "%s (%s)" % (P.fmt_ci(*v["at"][x].agg(key)), pct(v["at"][x].agg(key)[0], base[x]))
            for x in loads) + " |")
    return L + [""]


def summary_table(results, cap_point):
    L = ["## Summary: throughput at capacity and mean response time, Magnus against the best baseline",
         "", "| workload | baseline capacity (req/s) | Magnus (trained predictor) | oracle | constant | "
         "mean resp. at 50 / 80 / 95 % (trained vs baseline) |", "| --- | --- | --- | --- | --- | --- |"]
    for wl, r in results.items():
        C = r["baseline"]["capacity"]
        v = r["variants"]
        rt = []
        for x in r["loads"]:
            b = r["base_at"][x][1].agg("mean_e2e_s")[0]
            m = v[0]["at"][x].agg("mean_e2e_s")[0]
            rt.append("%.3g -> %.3g s (%s)" % (b, m, pct(m, b)))
        L.append("| %s | %.3g | %.3g (%s) | %.3g (%s) | %.3g (%s) | %s |" % (
            wl, C, v[0]["capacity"], pct(v[0]["capacity"], C), v[1]["capacity"], pct(v[1]["capacity"], C),
            v[2]["capacity"], pct(v[2]["capacity"], C), "; ".join(rt)))
    return L + [""]


def plot(a, wl, r):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    b = r["baseline"]
    curves = [("fcfs-static " + cfg_name(b["cap"], b["B"]), b["points"], b["capacity"])]
    for v in r["variants"][:7]:
        pts = sorted(v["points"] + list(v["at"].values()), key=lambda p: p.rate)
        curves.append((v["label"], pts, v["capacity"]))
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for i, (label, pts, cap) in enumerate(curves):
        xs = [p.rate for p in pts]
        for ax, key in zip(axes, ("mean_e2e_s", "throughput")):
            ys = [p.agg(key)[0] for p in pts]
            es = [p.agg(key)[1] for p in pts]
            ax.errorbar(xs, ys, yerr=[0 if math.isnan(e) else e for e in es], marker="o", ms=3,
                        capsize=2, color="C%d" % i, ls="--" if i == 0 else "-", label=label, alpha=0.85)
            ax.axvline(cap, color="C%d" % i, lw=0.6, ls=":")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("mean response time, steady state (s)")
    axes[1].set_ylabel("throughput, steady state (req/s)")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("offered load (req/s); dotted: each policy's capacity")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("%s workload, ChatGLM-6B on V100-32GB: load-latency curves (2N-request runs, "
                 "95 %% intervals over seeds)" % wl, fontsize=10)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "%s-load.png" % wl), dpi=80)
    plt.close(fig)


def write(a, results, n_runs, cap_point):
    rows = list(csv_rows(results))
    with open(os.path.join(a.out, "table.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    L = ["# Magnus against fixed-batch FCFS, re-run fairly (generated by scripts/experiments/magnus; "
         "do not edit)", "",
         "ChatGLM-6B on one V100-32GB, roofline ground truth, request-level batching. Protocol "
         "(docs/EXPERIMENTS.md): the first %d %% and last %d %% of each run's requests are excluded; "
         "N = %d requests (2N for the long runs), %d seeds, 95 %% Student-t intervals; capacity = the "
         "highest rate whose seeds' mean P99 E2E grows by at most %.1fx from N to 2N requests and whose "
         "completions keep up with arrivals (>= %.2f), found by "
         "the same scan (x%.2g steps) and %d bisections for every policy. Response time = E2E of completed "
         "requests; changes are against the best baseline configuration at that load. Baseline: "
         "fcfs-static, best (max_new_tokens cap, B, window) by the rule of docs/MAGNUS.md; a cap that cuts "
         "more than 1 %% of answers is not eligible. %d servesim runs."
         % (100 * P.WARMUP_SHARE, 100 * P.COOLDOWN_SHARE, a.requests, a.seeds, P.GROWTH_LIMIT, P.KEEP_UP,
            P.SCAN_FACTOR, P.BISECTIONS, n_runs), ""]
    L += summary_table(results, cap_point)
    for wl, r in results.items():
        L += ["## %s" % wl, ""] + capacity_table(wl, r, cap_point)
        L += load_table(wl, r, "mean_e2e_s", "mean response time (s)")
        L += load_table(wl, r, "p99_e2e_s", "P99 response time (s)")
        if wl in ("default", "apps"):
            plot(a, wl, r)
    with open(os.path.join(a.out, "table.md"), "w") as f:
        f.write("\n".join(L) + "\n")
    print("magnus experiment: wrote %s/table.md, table.csv and plots" % P.rel(a.out), file=sys.stderr)
