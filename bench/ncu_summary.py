#!/usr/bin/env python3
"""Summarise `ncu --metrics gpu__time_duration.sum --csv` output: mean time per kernel.
Usage: ncu_summary.py NCU_CSV LABEL"""
import csv
import sys

rows = list(csv.reader(l for l in open(sys.argv[1]) if l.startswith('"')))
if not rows:
    print("%s: no ncu rows (see %s)" % (sys.argv[2], sys.argv[1]))
    sys.exit()
h = rows[0]
ki, vi, ui = h.index("Kernel Name"), h.index("Metric Value"), h.index("Metric Unit")
scale = {"nsecond": 1e-3, "usecond": 1.0, "msecond": 1e3}
times = {}
for r in rows[1:]:
    name = r[ki].split("(")[0].split("<")[0][-44:]
    times.setdefault(name, []).append(float(r[vi].replace(",", "")) * scale.get(r[ui], 1.0))
print("%s: kernel times, us (mean over launches)" % sys.argv[2])
for k, v in sorted(times.items(), key=lambda kv: -sum(kv[1]) / len(kv[1])):
    print("  %-44s %9.2f  x%d" % (k, sum(v) / len(v), len(v)))
