#!/usr/bin/python3
"""Aggregates the UCDavis-QUIC campaign of bench/bench_ucdavis.sh into results.json and a
markdown table (stdout): per (resolution, augmentation) the published IMC'23 mean (parsed
from the data README's table), flowpic's and the PyTorch reference's mean test accuracy
with the half-width of the 95% confidence interval of the mean (Student t, n - 1 degrees
of freedom, n = splits x seeds), macro-F1, mean wall time per run, and the campaign's wall
times and speed ratio; then the per-class confusion of one run of each tool.

Inputs: --flowpic RUNS.jsonl (one line per flowpic run: split, resolution, augment, seed,
accuracy, macro_f1, confusion, classes, train_s, eval_s), --flowpic-prep PREP.jsonl (one
line per split: split, seconds), --torch TORCH.json (bench/ucdavis_torch.py --json), any of
them absent or empty when that side did not run; --readme the data README (published means).
Usage: ucdavis_table.py --flowpic F --flowpic-prep P --torch T --readme R --json OUT.json
       [--note TEXT ...] > results.md"""
import argparse
import json
import math
import os
import re
import statistics
import sys

# Student t quantile 0.975 for 1..30 degrees of freedom.
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042]
AUG_README = {"none": "none", "rotate": "rotate", "horizontal flip": "hflip", "colour jitter": "colorjitter",
              "packet loss": "packetloss", "time shift": "timeshift", "change RTT": "changertt"}
AUG_ORDER = ["none", "changertt", "timeshift", "packetloss", "rotate", "hflip", "colorjitter"]


def t975(df):
    if df < 1:
        return float("nan")
    if df <= len(T975):
        return T975[df - 1]
    z = 1.959964  # Cornish-Fisher expansion of the t quantile in 1/df: within 1e-4 beyond 30
    return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def mean_ci(values):
    """(mean, half-width of the 95% CI of the mean, n); half-width NaN for n < 2."""
    n = len(values)
    if n == 0:
        return float("nan"), float("nan"), 0
    m = statistics.mean(values)
    if n < 2:
        return m, float("nan"), 1
    return m, t975(n - 1) * statistics.stdev(values) / math.sqrt(n), n


def published_means(readme):
    """{(resolution, aug): percent} from the README's IMC'23 table, {} when unreadable."""
    out = {}
    try:
        with open(readme, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return out
    part = text.split("IMC'23 replication", 1)
    if len(part) < 2:
        return out
    cols = None
    for line in part[1].splitlines():
        if not line.startswith("|"):
            if cols:
                break
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "augmentation":
            cols = [int(re.match(r"(\d+)", c).group(1)) for c in cells[1:]]
        elif cols and cells[0] in AUG_README:
            for res, v in zip(cols, cells[1:]):
                out[(res, AUG_README[cells[0]])] = float(v)
    return out


def load_jsonl(path):
    if not path or not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def fmt(m, h, n, scale=100.0, digits=2):
    if n == 0:
        return "not run"
    if n < 2 or math.isnan(h):
        return "%.*f (n=1)" % (digits, scale * m)
    return "%.*f ± %.*f (n=%d)" % (digits, scale * m, digits, scale * h, n)


def confusion_md(title, classes, cm):
    lines = ["%s (rows: true class, columns: predicted)" % title, "",
             "| true \\ predicted | " + " | ".join(classes) + " | recall |",
             "|---|" + "---:|" * (len(classes) + 1)]
    for c, row in zip(classes, cm):
        tot = sum(row)
        lines.append("| %s | %s | %.1f%% |" % (c, " | ".join(str(v) for v in row),
                                                100.0 * row[classes.index(c)] / tot if tot else 0.0))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flowpic")
    ap.add_argument("--flowpic-prep")
    ap.add_argument("--torch")
    ap.add_argument("--readme")
    ap.add_argument("--json", required=True)
    ap.add_argument("--note", action="append", default=[], help="a line printed under the title")
    args = ap.parse_args()

    fp_runs = load_jsonl(args.flowpic)
    fp_prep = load_jsonl(args.flowpic_prep)
    torch_res = None
    if args.torch and os.path.exists(args.torch):
        with open(args.torch) as f:
            torch_res = json.load(f)
    t_runs = torch_res["runs"] if torch_res else []
    published = published_means(args.readme) if args.readme else {}

    keys = sorted({(r["resolution"], r["augment"]) for r in fp_runs + t_runs},
                  key=lambda k: (k[0], AUG_ORDER.index(k[1]) if k[1] in AUG_ORDER else 99))
    rows = []
    for res, aug in keys:
        row = {"resolution": res, "augment": aug, "published_imc23": published.get((res, aug))}
        for tool, runs in (("flowpic", fp_runs), ("pytorch", t_runs)):
            rs = [r for r in runs if r["resolution"] == res and r["augment"] == aug]
            m, h, n = mean_ci([r["accuracy"] for r in rs])
            fm, fh, _ = mean_ci([r["macro_f1"] for r in rs])
            secs = [r["train_s"] + r.get("eval_s", r.get("test_s", 0.0)) + r.get("augment_bin_s", 0.0) for r in rs]
            row[tool] = {"runs": n, "accuracy_mean": m, "accuracy_ci95": h, "macro_f1_mean": fm, "macro_f1_ci95": fh,
                         "seconds_per_run": statistics.mean(secs) if secs else float("nan"),
                         "accuracies": [r["accuracy"] for r in rs]}
        rows.append(row)

    fp_prep_s = sum(p["seconds"] for p in fp_prep)
    fp_train_s = sum(r["train_s"] for r in fp_runs)
    fp_eval_s = sum(r["eval_s"] for r in fp_runs)
    fp_total = fp_prep_s + fp_train_s + fp_eval_s
    tt = torch_res["timing"] if torch_res else {}
    t_total = tt.get("process_s", tt.get("total_s", float("nan")))
    # The ratio compares like with like: only when both sides ran the same set of runs.
    same_runs = bool(fp_runs) and sorted((r["split"], r["resolution"], r["augment"], r["seed"]) for r in fp_runs) == \
        sorted((r["split"], r["resolution"], r["augment"], r["seed"]) for r in t_runs)
    ratio = t_total / fp_total if same_runs and fp_total > 0 else None
    summary = {
        "published_source": args.readme, "rows": rows,
        "flowpic": {"runs": len(fp_runs), "prep_s": fp_prep_s, "train_s": fp_train_s, "eval_s": fp_eval_s,
                    "campaign_s": fp_total, "prep": fp_prep},
        "pytorch": {"runs": len(t_runs), "timing": tt, "threads": torch_res["threads"] if torch_res else None,
                    "torch": torch_res["torch"] if torch_res else None,
                    "settings": torch_res["settings"] if torch_res else None,
                    "differences_from_flowpic": torch_res["differences_from_flowpic"] if torch_res else None},
        "speed_ratio": ratio, "same_runs": same_runs, "notes": args.note,
    }
    with open(args.json + ".tmp", "w") as f:
        json.dump(summary, f, indent=1, allow_nan=True)
    os.replace(args.json + ".tmp", args.json)

    out = ["### UCDavis-QUIC: the IMC'23 mini-FlowPic table reproduced (flowpic and PyTorch on the same splits)", ""]
    out += [n + "  " for n in args.note]
    if args.note:
        out.append("")
    out.append("Test accuracy on the leftover flows, %, mean ± half-width of the 95% confidence interval "
               "(t-distribution, n = splits × seeds); published: IMC'23 means from the data README.")
    out.append("")
    out.append("| augmentation | resolution | IMC'23 | flowpic | PyTorch | flowpic − PyTorch | macro-F1 flowpic | "
               "macro-F1 PyTorch | s/run flowpic | s/run PyTorch | speed-up |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        f, p = row["flowpic"], row["pytorch"]
        diff = "%+.2f" % (100 * (f["accuracy_mean"] - p["accuracy_mean"])) if f["runs"] and p["runs"] else ""
        sp = ("%.1f×" % (p["seconds_per_run"] / f["seconds_per_run"])
              if f["runs"] and p["runs"] and f["seconds_per_run"] > 0 else "")
        out.append("| %s | %d×%d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            row["augment"], row["resolution"], row["resolution"],
            "%.2f" % row["published_imc23"] if row["published_imc23"] is not None else "",
            fmt(f["accuracy_mean"], f["accuracy_ci95"], f["runs"]), fmt(p["accuracy_mean"], p["accuracy_ci95"], p["runs"]),
            diff, fmt(f["macro_f1_mean"], float("nan"), min(f["runs"], 1), 100, 2).replace(" (n=1)", ""),
            fmt(p["macro_f1_mean"], float("nan"), min(p["runs"], 1), 100, 2).replace(" (n=1)", ""),
            "%.1f" % f["seconds_per_run"] if f["runs"] else "", "%.1f" % p["seconds_per_run"] if p["runs"] else "", sp))
    out.append("")
    if fp_runs:
        out.append("flowpic campaign: %.1f s wall (flowpic-prep of %d split(s) %.1f s, flowpic-train %.1f s, "
                   "flowpic-infer --eval %.1f s; %d runs)." % (fp_total, len(fp_prep), fp_prep_s, fp_train_s,
                                                                  fp_eval_s, len(fp_runs)))
    if torch_res:
        out.append("PyTorch campaign: %.1f s wall (preparation %.1f s = reading %.1f s + binning %.1f s + augmenting "
                   "and binning the training samples %.1f s; training incl. validation %.1f s; testing %.1f s; "
                   "%d runs; torch %s on the CPU, %d thread(s))." % (
                       t_total, tt["preparation_s"], tt["read_s"], tt["bin_s"], tt["augment_bin_s"], tt["train_s"],
                       tt["test_s"], len(t_runs), torch_res["torch"], torch_res["threads"]))
        out.append("PyTorch reference vs flowpic: " + "; ".join(torch_res["differences_from_flowpic"]) + ".")
    if ratio is not None:
        out.append("")
        out.append("**Campaign speed ratio (PyTorch wall / flowpic wall): %.1f×** (goal: ≥ 10×: %s)." % (
            ratio, "met" if ratio >= 10 else "NOT met"))
    elif fp_runs and t_runs:
        out.append("")
        out.append("Speed ratio not given: the two sides did not run the same set of runs.")
    goals = []
    for aug, goal in (("none", 95.78), ("changertt", 98.38)):
        row = next((r for r in rows if r["resolution"] == 32 and r["augment"] == aug), None)
        if row and row["flowpic"]["runs"]:
            m = 100 * row["flowpic"]["accuracy_mean"]
            g = "32×32 %s: flowpic %.2f%% vs IMC'23 %.2f%%: %s" % (aug, m, goal, "met" if m >= goal else "NOT met")
            if row["pytorch"]["runs"]:
                d = m - 100 * row["pytorch"]["accuracy_mean"]
                g += ", %+.2f points from PyTorch (goal within 1: %s)" % (d, "met" if abs(d) <= 1 else "NOT met")
            goals.append(g)
    if goals:
        out.append("Goals: " + "; ".join(goals) + ".")
    # One run's confusion per tool: the first split, the first seed, 32x32 (else the first key), no augmentation.
    for tool, runs in (("flowpic", fp_runs), ("PyTorch", t_runs)):
        if not runs:
            continue
        pick = sorted(runs, key=lambda r: (r["augment"] != "none", r["resolution"] != 32, r["split"], r["seed"]))[0]
        classes = pick.get("classes") or (torch_res["classes"] if torch_res else [])
        out.append("")
        out.append(confusion_md("%s, split %d, seed %d, %d×%d, %s: accuracy %.2f%%, macro-F1 %.2f%%" % (
            tool, pick["split"], pick["seed"], pick["resolution"], pick["resolution"], pick["augment"],
            100 * pick["accuracy"], 100 * pick["macro_f1"]), classes, pick["confusion"]))
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
