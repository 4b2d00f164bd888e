#!/usr/bin/env python3
"""bench/report.py OUTDIR [quick|full] - tables, ratios and plots from raw.csv.

Writes OUTDIR/summary.csv (median and spread per cell), OUTDIR/ratios.csv
(lfdict/peer per target, computed pair by pair within each repetition, then
the median and min-max of those ratios), OUTDIR/report.md, and PNG plots
with gnuplot (throughput vs threads per workload; throughput vs N).
Standard library only.
"""
import csv
import math
import os
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict

out = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "full"
rows = list(csv.DictReader(open(os.path.join(out, "raw.csv"))))

# cell -> rep -> mops ; cell = (wl, n, t, impl)
mops = defaultdict(dict)
mem = defaultdict(dict)
failed = set()
timeouts = set()
for r in rows:
    cell = (r["wl"], int(r["n"]), int(r["threads"]), r["impl"])
    if r["mops"] == "timeout":
        # the cell ran out of time: a collapse; counts as 0 Mops/s, so a
        # ratio against it is infinite (shown as inf)
        timeouts.add(cell)
        mops[cell][int(r["rep"])] = 0.0
        continue
    m = float(r["mops"])
    if math.isnan(m):
        failed.add(cell)
        continue
    mops[cell][int(r["rep"])] = m
    mem[cell][int(r["rep"])] = float(r["mem_bytes_per_entry"])


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs):
    return (min(xs), max(xs)) if xs else (float("nan"), float("nan"))


def fmt(x, nd=2):
    if x is None or math.isnan(x):
        return "n/a"
    return "inf" if math.isinf(x) else f"{x:.{nd}f}"


# --- summary ---------------------------------------------------------------
impl_order = ["lfdict-h", "lfdict", "lfdict-memb", "lfdict-sparse", "rcu-auto", "rcu-pre",
              "ck_ht", "libcuckoo", "tbb-chm", "tbb-cum", "ghash-mutex", "ghash-rwlock",
              "absl", "seq"]
# every implementation in raw.csv: the known ones in this order, then any other
impls = [i for i in impl_order if any(c[3] == i for c in mops)]
impls += sorted({c[3] for c in mops} - set(impls))
configs = sorted({c[:3] for c in mops}, key=lambda c: ("RGMUCB".index(c[0]), c[1], c[2]))

with open(os.path.join(out, "summary.csv"), "w") as f:
    w = csv.writer(f)
    w.writerow(["wl", "n", "threads", "impl", "reps", "median_mops",
                "min_mops", "max_mops", "median_bytes_per_entry"])
    for c in configs:
        for i in impls:
            xs = list(mops.get(c + (i,), {}).values())
            if not xs:
                continue
            lo, hi = spread(xs)
            w.writerow([c[0], c[1], c[2], i, len(xs), f"{med(xs):.3f}",
                        f"{lo:.3f}", f"{hi:.3f}",
                        f"{med(list(mem[c + (i,)].values())):.1f}"])

# --- ratios, pair by pair within a repetition -------------------------------


def paired(a, b, f=lambda x, y: x / y):
    """ratios f(a[rep], b[rep]) over the repetitions both cells have."""
    ra, rb = mops.get(a, {}), mops.get(b, {})
    return [f(ra[k], rb[k]) if rb[k] > 0 else float("inf")
            for k in sorted(ra) if k in rb]


targets = []  # (measure, against, op, threshold, fn, the lfdict columns)
LFD = ("lfdict-h", "lfdict")


def T(measure, peer_label, thr, fn, op=">=", cols=LFD):
    targets.append((measure, peer_label, op, thr, fn, cols))


def vs(wl, n, t, peer, label, thr):
    """target: lfdict (each column) / peer in the cell (wl, n, t)"""
    T(f"{wl}, N={n:,}, {t} thread{'s' if t > 1 else ''}", label, thr,
      lambda L: paired((wl, n, t, L), (wl, n, t, peer)))


# issue 21's targets
M = 1000000
vs("U", 1000, 2, "libcuckoo", "libcuckoo", 1.0)
vs("U", 1000, 2, "rcu-auto", "rculfhash auto-resize", 2.0)
for t in (8, 64):
    vs("U", 1000, t, "libcuckoo", "libcuckoo", 1.5)
    vs("U", 1000, t, "tbb-chm", "oneTBB concurrent_hash_map", 1.5)
vs("R", 1000, 1, "ck_ht", "ck_ht", 1.0)
vs("R", 1000, 1, "rcu-auto", "rculfhash auto-resize", 1.5)
vs("R", 1000, 1, "libcuckoo", "libcuckoo", 1.5)
vs("R", 1000, 1, "absl", "absl flat_hash_map (1 thread)", 0.6)
vs("R", M, 2, "ck_ht", "ck_ht", 0.75)
vs("R", M, 2, "libcuckoo", "libcuckoo", 1.5)
vs("R", M, 2, "tbb-chm", "oneTBB concurrent_hash_map", 2.0)
# many keys per call (G: lfd_get_many, 32 keys) against ck_ht's one-key gets
T(f"R, N={M:,}, 2 threads, many keys per call (G)", "ck_ht's one-key gets", 1.5,
  lambda L: paired(("G", M, 2, L), ("R", M, 2, "ck_ht")))
vs("M", M, 2, "libcuckoo", "libcuckoo", 1.0)
vs("M", M, 2, "ck_ht", "ck_ht", 1.0)
vs("B", M, 1, "libcuckoo", "libcuckoo", 1.5)
vs("B", M, 1, "rcu-auto", "rculfhash auto-resize", 3.0)
# the default keyed hash against the peers' hash: lfdict / lfdict-h
for n, t, thr in ((1000, 1, 0.85), (M, 2, 0.9)):
    T(f"R, N={n:,}, {t} thread{'s' if t > 1 else ''}: default keyed hash",
      "lfdict-h", thr,
      lambda L, n=n, t=t: paired(("R", n, t, L), ("R", n, t, "lfdict-h")),
      cols=("lfdict",))
# growth of the per-op cost from 1,000 to 16,000,000 keys (R, 1 thread),
# against absl's growth: (lfdict's mops at 1e3 / at 1.6e7) / (absl's);
# the 16M cells come from a slice run (doc/performance.md)
G16 = 16000000


def growth(L):
    """per repetition: L's slowdown from 1e3 to 1.6e7 over absl's"""
    a = paired(("R", 1000, 1, L), ("R", G16, 1, L))
    b = paired(("R", 1000, 1, "absl"), ("R", G16, 1, "absl"))
    return [x / y for x, y in zip(a, b)]


T(f"growth of per-op cost N=1,000 -> {G16:,} (R, 1 thread)",
  "x absl's growth", 1.5, growth, op="<=")
T("memory at N=1,000,000 (B, 1 thread)", "bytes/entry", 36.0,
  lambda L: list(mem.get(("B", M, 1, L), {}).values()), op="<=",
  cols=("lfdict-h",))


def verdict(xs, op, thr):
    if not xs:
        return "not run"
    m = med(xs)
    ok = m >= thr if op == ">=" else m <= thr
    return "met" if ok else "**not met**"


lines = []
csvrows = []
lines.append(f"| measure | against | target | lfdict-h (peer hash) median [min-max] | | lfdict (default) median [min-max] | |")
lines.append("|---|---|---|---|---|---|---|")
for measure, peer, op, thr, fn, which in targets:
    cols = []
    for L in LFD:
        if L not in which:
            cols += ["", ""]
            continue
        xs = fn(L)
        lo, hi = spread(xs)
        cols.append(f"{fmt(med(xs))} [{fmt(lo)}-{fmt(hi)}] (n={len(xs)})")
        cols.append(verdict(xs, op, thr) if "(info)" not in peer else "info")
        csvrows.append([measure, peer, f"{op}{thr}", L, len(xs),
                        fmt(med(xs), 3), fmt(lo, 3), fmt(hi, 3),
                        verdict(xs, op, thr).strip("*")])
    lines.append(f"| {measure} | {peer} | {op} {thr} | " + " | ".join(cols) + " |")
with open(os.path.join(out, "ratios.csv"), "w") as f:
    w = csv.writer(f)
    w.writerow(["measure", "against", "target", "impl", "reps", "median",
                "min", "max", "verdict"])
    w.writerows(csvrows)

# --- throughput table --------------------------------------------------------
tab = ["| wl | N | threads | " + " | ".join(impls) + " |",
       "|---|---|---|" + "---|" * len(impls)]
for c in configs:
    cells = []
    for i in impls:
        xs = list(mops.get(c + (i,), {}).values())
        if c + (i,) in failed:
            cells.append("FAIL")
        elif c + (i,) in timeouts:
            xs = [x for x in xs if x > 0]
            cells.append(f"timeout x{len(mops[c + (i,)]) - len(xs)}" +
                         (f", {med(xs):.2f}" if xs else ""))
        elif xs:
            lo, hi = spread(xs)
            cells.append(f"{med(xs):.2f} [{lo:.2f}-{hi:.2f}]")
        else:
            cells.append("")
    tab.append(f"| {c[0]} | {c[1]:,} | {c[2]} | " + " | ".join(cells) + " |")

memtab = ["| impl | bytes/entry at N=1,000,000 (B, 1 thread) median [min-max] |",
          "|---|---|"]
for i in impls:
    xs = list(mem.get(("B", 1000000, 1, i), {}).values())
    if xs:
        lo, hi = spread(xs)
        memtab.append(f"| {i} | {med(xs):.1f} [{lo:.1f}-{hi:.1f}] |")

# --- plots -------------------------------------------------------------------
plots = []
if shutil.which("gnuplot"):
    for wl in "RGMUCB":
        for n in sorted({c[1] for c in configs if c[0] == wl}):
            ts = sorted({c[2] for c in configs if c[0] == wl and c[1] == n})
            if len(ts) < 2:
                continue
            dat = os.path.join(out, f"thr_{wl}_{n}.dat")
            series = [i for i in impls if any((wl, n, t, i) in mops for t in ts)]
            with open(dat, "w") as f:
                f.write("threads " + " ".join(series) + "\n")
                for t in ts:
                    vals = [med(list(mops.get((wl, n, t, i), {}).values()))
                            for i in series]
                    f.write(f"{t} " + " ".join("NaN" if math.isnan(v) else f"{v:.3f}"
                                                for v in vals) + "\n")
            png = f"threads_{wl}_{n}.png"
            gp = ["set terminal png noenhanced size 800,500",
                  f"set output '{os.path.join(out, png)}'",
                  f"set title 'workload {wl}, N={n:,}: throughput vs threads (median)'",
                  "set logscale x 2", "set xlabel 'threads'", "set ylabel 'Mops/s'",
                  "set key outside right", "set grid", "set datafile missing 'NaN'",
                  "plot " + ", ".join(f"'{dat}' using 1:{k + 2} with linespoints title '{s}'"
                                      for k, s in enumerate(series))]
            subprocess.run(["gnuplot"], input="\n".join(gp), text=True, check=False)
            plots.append(png)
    for wl in "RGMUCB":
        for t in (1, 2):
            ns = sorted({c[1] for c in configs if c[0] == wl and c[2] == t})
            if len(ns) < 2:
                continue
            dat = os.path.join(out, f"n_{wl}_{t}.dat")
            series = [i for i in impls if sum((wl, n, t, i) in mops for n in ns) >= 2]
            with open(dat, "w") as f:
                f.write("n " + " ".join(series) + "\n")
                for n in ns:
                    vals = [med(list(mops.get((wl, n, t, i), {}).values()))
                            for i in series]
                    f.write(f"{n} " + " ".join("NaN" if math.isnan(v) else f"{v:.3f}"
                                                for v in vals) + "\n")
            png = f"size_{wl}_t{t}.png"
            gp = ["set terminal png noenhanced size 800,500",
                  f"set output '{os.path.join(out, png)}'",
                  f"set title 'workload {wl}, {t} thread(s): throughput vs N (median)'",
                  "set logscale x 10", "set xlabel 'N'", "set ylabel 'Mops/s'",
                  "set key outside right", "set grid", "set datafile missing 'NaN'",
                  "plot " + ", ".join(f"'{dat}' using 1:{k + 2} with linespoints title '{s}'"
                                      for k, s in enumerate(series))]
            subprocess.run(["gnuplot"], input="\n".join(gp), text=True, check=False)
            plots.append(png)

log = open(os.path.join(out, "run.log")).read() if os.path.exists(os.path.join(out, "run.log")) else ""
md = [f"# lfd-bench {mode} run", "", "```", log.strip(), "```", "",
      "## Targets (ratios lfdict/peer, pair by pair within each repetition)", ""]
md += lines
md += ["", "## Throughput, Mops/s, median [min-max] over repetitions", ""] + tab
md += ["", "## Memory", ""] + memtab
if failed:
    md += ["", "## Failed cells", ""] + [f"- {c}" for c in sorted(failed)]
md += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
open(os.path.join(out, "report.md"), "w").write("\n".join(md) + "\n")

print("\n".join(["", "Targets (ratio lfdict/peer; median [min-max] over repetitions):"] + lines))
if failed:
    print("\nFAILED cells:", sorted(failed))
    sys.exit(1)
