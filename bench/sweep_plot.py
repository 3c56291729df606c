#!/usr/bin/python3
"""flowpic-sweep's plots, from its results.csv (docs/SWEEP.md).

    /usr/bin/python3 bench/sweep_plot.py DIR/results.csv DIR

writes DIR/accuracy_vs_latency.png (test accuracy against batch-1 latency, log x, one marker
per row with its 95% interval, the Pareto front drawn and its rows labelled) and
DIR/accuracy_vs_window.png (accuracy against window length, one line per resolution; rows
of one window per flow, --first S, are placed at S).  Exits 3 with one line naming the
package when matplotlib is missing, 1 for an unreadable table.
"""
import csv
import math
import os
import sys


def number(s):
    try:
        v = float(s)
        return v if math.isfinite(v) else None
    except (TypeError, ValueError):
        return None


def label_of(row, varying):
    parts = []
    for a in varying:
        v = row.get(a, "")
        if v in ("", None):
            continue
        parts.append(v if a in ("arch", "augment", "direction", "values", "flows", "normalize") else f"{a} {v}")
    return " ".join(parts) or row["key"][:6]


def main(argv):
    if len(argv) != 3:
        print("usage: sweep_plot.py RESULTS.csv OUT_DIR", file=sys.stderr)
        return 2
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing: apt-get install python3-matplotlib (or make deps)")
        return 3
    path, out = argv[1], argv[2]
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        print(f"{path}: {e.strerror}")
        return 1
    rows = [r for r in rows if number(r.get("accuracy_mean")) is not None]
    if not rows:
        print(f"{path}: no rows with an accuracy")
        return 1
    axes = ["arch", "window", "overlap", "first", "flows", "resolution", "normalize", "values", "direction",
            "max-count", "class-weights", "augment", "epochs", "batch", "lr"]
    varying = [a for a in axes if len({r.get(a, "") for r in rows}) > 1]

    # Accuracy against batch-1 latency.
    fig, ax = plt.subplots(figsize=(8, 5.5))
    kinds = {"cnn": ("o", "tab:blue", "CNN (flowpic)"), "classical": ("s", "tab:orange", "classical (per window)")}
    for kind, (marker, color, name) in kinds.items():
        pts = [r for r in rows if r["kind"] == kind and number(r.get("b1_p50_us"))]
        if not pts:
            continue
        x = [number(r["b1_p50_us"]) for r in pts]
        y = [100 * number(r["accuracy_mean"]) for r in pts]
        e = [100 * (number(r.get("accuracy_ci95")) or 0) for r in pts]
        # Two seeds give wide t-intervals: clip them to the possible 0..100 %.
        lo = [min(ei, yi) for ei, yi in zip(e, y)]
        hi = [min(ei, 100 - yi) for ei, yi in zip(e, y)]
        ax.errorbar(x, y, yerr=[lo, hi], fmt=marker, color=color, label=name, capsize=2, alpha=0.8)
    front = sorted((r for r in rows if r.get("pareto") == "true" and number(r.get("b1_p50_us"))),
                   key=lambda r: number(r["b1_p50_us"]))
    if front:
        ax.step([number(r["b1_p50_us"]) for r in front], [100 * number(r["accuracy_mean"]) for r in front],
                "--", where="post", color="tab:red", label="Pareto front")
        for r in front:
            ax.annotate(label_of(r, varying), (number(r["b1_p50_us"]), 100 * number(r["accuracy_mean"])),
                        textcoords="offset points", xytext=(5, -10), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("batch-1 latency, packets to class (µs, p50; log scale)")
    ax.set_ylabel("test accuracy (%), mean over seeds ± 95% CI")
    ax.set_title("flowpic-sweep: accuracy vs latency")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "accuracy_vs_latency.png"), dpi=120)
    plt.close(fig)

    # Accuracy against window length, one line per resolution.
    fig, ax = plt.subplots(figsize=(8, 5.5))
    cnn = [r for r in rows if r["kind"] == "cnn"]
    by_res = {}
    for r in cnn:
        w = number(r.get("window")) or number(r.get("first"))
        if w is None:
            continue
        by_res.setdefault(r.get("resolution", ""), []).append((w, 100 * number(r["accuracy_mean"])))
    for res, pts in sorted(by_res.items(), key=lambda kv: number(kv[0]) or 0):
        # The best cell per window length: other axes vary too.
        best = {}
        for w, a in pts:
            best[w] = max(a, best.get(w, -1))
        xs = sorted(best)
        ax.plot(xs, [best[w] for w in xs], "o-", label=f"{res}x{res} (best cell per window)")
        ax.scatter([w for w, _ in pts], [a for _, a in pts], s=10, alpha=0.4)
    ax.set_xlabel("window length (s; --first S at S)")
    ax.set_ylabel("test accuracy (%), mean over seeds")
    ax.set_title("flowpic-sweep: accuracy vs window length per resolution")
    ax.grid(True, alpha=0.3)
    if by_res:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "accuracy_vs_window.png"), dpi=120)
    plt.close(fig)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
