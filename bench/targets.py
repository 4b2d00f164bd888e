#!/usr/bin/env python3
"""bench/targets.py FULLDIR QUICKDIR - issue 21's target table of
doc/performance.md from two runs' ratios.csv (bench/report.py): the full
run and the quick run side by side, for lfdict-h and lfdict, with a verdict
per implementation: met only where both runs meet the target, **split**
where they disagree.  Prints Markdown; standard library only.
"""
import csv
import os
import sys


def load(d):
    rows = {}
    path = os.path.join(d, "ratios.csv")
    if not os.path.exists(path):
        return rows
    for r in csv.DictReader(open(path)):
        rows[(r["measure"], r["against"], r["impl"])] = r
    return rows


full, quick = load(sys.argv[1]), load(sys.argv[2])
order = []
for k in list(full) + list(quick):
    if k[:2] not in order:
        order.append(k[:2])


def cell(r):
    if r is None or r["verdict"] == "not run":
        return "not run", None
    return f"{r['median']} [{r['min']}-{r['max']}]", r["verdict"] == "met"


def verdict(a, b):
    got = [x for x in (a, b) if x is not None]
    if not got:
        return ""
    if all(got):
        return "met"
    if not any(got):
        return "**not met**"
    return ("**split** (full " + ("met" if a else "not met") +
            ", quick " + ("met" if b else "not met") + ")")


target = {}
for rows in (full, quick):
    for (m, a, _), r in rows.items():
        target[(m, a)] = r["target"].replace(">=", ">= ").replace("<=", "<= ")
print("| measure | against | target | lfdict-h full | quick | verdict "
      "| lfdict full | quick | verdict |")
print("|---|---|---|---|---|---|---|---|---|")
met = {"lfdict-h": [0, 0], "lfdict": [0, 0]}
for m, a in order:
    cols = []
    for impl in ("lfdict-h", "lfdict"):
        f, q = full.get((m, a, impl)), quick.get((m, a, impl))
        if f is None and q is None:
            cols += ["", "", ""]
            continue
        (fs, fm), (qs, qm) = cell(f), cell(q)
        v = verdict(fm, qm)
        met[impl][1] += 1
        met[impl][0] += v == "met"
        cols += [fs, qs, v]
    print(f"| {m} | {a} | {target[(m, a)]} | " + " | ".join(cols) + " |")
print()
print(f"lfdict-h meets {met['lfdict-h'][0]} of its {met['lfdict-h'][1]} "
      f"targets, lfdict (the default hash) {met['lfdict'][0]} of its "
      f"{met['lfdict'][1]}.")
