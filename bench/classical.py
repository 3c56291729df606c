#!/usr/bin/python3
"""Classical baselines on flowpic's per-window features: Random Forest, Extra Trees,
XGBoost and Bagging (the seed study's third), trained on the dataset's own train split and
tested on its test split, so they sit in the same table as flowpic's CNN.

Input: `flowpic-render DATA.fpd --features F.csv` (or F.npy with its sidecar
F.columns.json); docs/FEATURES.md defines the columns.  Only per-window statistics reach
the models: the features carry no address, port or capture name.

Protocol (what each model trains on):
- rf, et, bag: the train split; the validation split is not used (the CNN uses its
  validation split only to pick the epoch, these models have nothing to pick).
- xgb: the train split, with the validation split for early stopping (up to 1000 rounds,
  stop after 20 without a validation log-loss gain; the best round predicts).
- --merge-val: every model trains on train + validation (xgb then runs 300 rounds).
- Hyper-parameters are the libraries' defaults except the ensemble sizes (100 trees for
  rf, et, bag; sklearn's Bagging default is 10) and xgb's tree_method "hist".
- Seeds: each (model, seed) run passes the seed as random_state.
- Timing: train_s is the fit's wall time on --threads threads; latency_us_per_window is
  one predict() of the whole test split on one thread divided by its windows;
  latency_us_batch1 (p50, and _p99) times predict() of one window at a time on one
  thread over the first 200 test windows (after one warm-up call).

Output: one JSON line per (model, seed) in --json FILE (written whole at the end, via a
temp file and a rename): model, seed, accuracy, macro_f1, per_class_f1 {class: f1},
train_s, latency_us_per_window, latency_us_batch1, latency_us_batch1_p99, classes,
test_samples, train_samples, features, threads, validation ("early-stop", "unused" or
"merged"); progress on stderr; a markdown table on stdout (mean and 95% confidence
interval over the seeds, Student's t).

Exit codes: 0 done, 1 bad input (one line naming the file), 2 usage error, 3 a package is
missing (the line says what to apt-get install; without xgboost alone, xgb is skipped with
a note and the others run).

Usage:
  /usr/bin/python3 bench/classical.py --features F.csv --models rf,et,xgb,bag --seeds 1,2,3 --json OUT.jsonl
  /usr/bin/python3 bench/classical.py --features F.npy --models rf --threads 2
Tests: /usr/bin/python3 -m unittest bench/test_classical.py"""
import argparse
import csv
import json
import math
import os
import sys
import tempfile
import time

MODELS = ("rf", "et", "xgb", "bag")
MODEL_NAMES = {"rf": "Random Forest", "et": "Extra Trees", "xgb": "XGBoost", "bag": "Bagging"}
SPLITS = ("train", "val", "test")
LEAD = ["split", "label", "class"]
BATCH1_SAMPLE = 200
PROG = "classical.py"


class InputProblem(Exception):
    """Bad input: one line naming the file (exit 1)."""


def die(code, msg):
    print(f"{PROG}: {msg}", file=sys.stderr)
    sys.exit(code)


def import_libraries(models):
    """numpy and sklearn are needed for anything; xgboost only for xgb (skipped without)."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        die(3, "needs numpy: apt-get install python3-numpy")
    try:
        import sklearn  # noqa: F401
        import sklearn.ensemble  # noqa: F401
        import sklearn.metrics  # noqa: F401
    except ImportError:
        die(3, "needs scikit-learn: apt-get install python3-sklearn")
    xgb = None
    if "xgb" in models:
        try:
            import xgboost as xgb
        except ImportError:
            print(f"{PROG}: note: xgboost is not installed, skipping xgb (apt-get install python3-xgboost)",
                  file=sys.stderr)
    return xgb


def parse_list(text, what, allowed=None, number=False):
    items = [t.strip() for t in text.split(",")]
    if not items or any(not t for t in items):
        raise argparse.ArgumentTypeError(f"{what}: empty item in '{text}'")
    out = []
    for t in items:
        if number:
            try:
                v = int(t)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{what}: '{t}' is not an integer")
            if v < 0 or v > 2**32 - 1:
                raise argparse.ArgumentTypeError(f"{what}: {v} must be in 0 .. 4294967295")
            out.append(v)
        else:
            if allowed and t not in allowed:
                raise argparse.ArgumentTypeError(f"{what}: unknown '{t}' (expected {', '.join(allowed)})")
            out.append(t)
    if len(set(out)) != len(out):
        raise argparse.ArgumentTypeError(f"{what}: '{text}' repeats an item")
    return out


def load_csv(path, np):
    """Rows of split,label,class,features... (flowpic-render --features OUT.csv)."""
    try:
        f = open(path, newline="", encoding="utf-8")
    except OSError as e:
        raise InputProblem(f"{path}: cannot open: {e.strerror}")
    with f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise InputProblem(f"{path}: empty file (expected a header line split,label,class,...)")
        except (csv.Error, UnicodeDecodeError) as e:
            raise InputProblem(f"{path}:1: {e}")
        if header[:3] != LEAD or len(header) < 4:
            raise InputProblem(f"{path}:1: header must start with split,label,class and name at least one feature")
        columns = header[3:]
        rows, labels, splits, names = [], [], [], {}
        try:
            for row in reader:
                line = reader.line_num
                if len(row) != len(header):
                    raise InputProblem(f"{path}:{line}: {len(row)} fields, the header has {len(header)}")
                if row[0] not in SPLITS:
                    raise InputProblem(f"{path}:{line}: split '{row[0]}' is not train, val or test")
                try:
                    label = int(row[1])
                except ValueError:
                    raise InputProblem(f"{path}:{line}: label '{row[1]}' is not an integer")
                if label < 0:
                    raise InputProblem(f"{path}:{line}: label {label} is negative")
                if names.setdefault(label, row[2]) != row[2]:
                    raise InputProblem(f"{path}:{line}: label {label} is '{row[2]}' here but '{names[label]}' before")
                try:
                    values = [float(v) for v in row[3:]]
                except ValueError:
                    raise InputProblem(f"{path}:{line}: a feature is not a number")
                if not all(math.isfinite(v) for v in values):
                    raise InputProblem(f"{path}:{line}: a feature is not finite")
                rows.append(values)
                labels.append(label)
                splits.append(SPLITS.index(row[0]))
        except (csv.Error, UnicodeDecodeError) as e:
            raise InputProblem(f"{path}:{reader.line_num}: {e}")
    if not rows:
        raise InputProblem(f"{path}: no rows after the header")
    k = max(names) + 1
    classes = [names.get(i, f"class{i}") for i in range(k)]
    X = np.asarray(rows, dtype=np.float32)
    return X, np.asarray(labels, dtype=np.int64), np.asarray(splits, dtype=np.int64), classes, columns


def load_npy(path, np):
    """F.npy (float32 rows x features) and its sidecar F.columns.json."""
    side = path[:-4] + ".columns.json"
    try:
        X = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise InputProblem(f"{path}: cannot read as .npy: {e}")
    try:
        with open(side, encoding="utf-8") as f:
            meta = json.load(f)
    except OSError as e:
        raise InputProblem(f"{side}: cannot open the sidecar of {path}: {e.strerror}")
    except ValueError as e:
        raise InputProblem(f"{side}: not JSON: {e}")
    if not isinstance(meta, dict) or meta.get("format") != "flowpic-features":
        raise InputProblem(f"{side}: not a flowpic-features sidecar")
    try:
        columns, classes = list(meta["columns"]), list(meta["classes"])
        labels = np.asarray(meta["label"], dtype=np.int64)
        splits = np.asarray([SPLITS.index(s) for s in meta["split"]], dtype=np.int64)
    except (KeyError, TypeError, ValueError) as e:
        raise InputProblem(f"{side}: missing or bad key ({e})")
    if X.ndim != 2 or X.shape[1] != len(columns):
        raise InputProblem(f"{path}: shape {X.shape}, the sidecar names {len(columns)} columns")
    if X.shape[0] != len(labels) or X.shape[0] != len(splits):
        raise InputProblem(f"{path}: {X.shape[0]} rows, the sidecar has {len(labels)} labels and {len(splits)} splits")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise InputProblem(f"{side}: a label is outside the {len(classes)} classes")
    if X.shape[0] == 0:
        raise InputProblem(f"{path}: no rows")
    if not np.isfinite(X).all():
        raise InputProblem(f"{path}: a feature is not finite")
    return X.astype(np.float32, copy=False), labels, splits, classes, columns


def load_features(path, np):
    if path.lower().endswith(".npy"):
        return load_npy(path, np)
    return load_csv(path, np)


def make_model(name, seed, threads, xgb, early_stop):
    from sklearn.ensemble import BaggingClassifier, ExtraTreesClassifier, RandomForestClassifier
    if name == "rf":
        return RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=threads)
    if name == "et":
        return ExtraTreesClassifier(n_estimators=100, random_state=seed, n_jobs=threads)
    if name == "bag":
        return BaggingClassifier(n_estimators=100, random_state=seed, n_jobs=threads)
    if early_stop:
        return xgb.XGBClassifier(n_estimators=1000, early_stopping_rounds=20, tree_method="hist",
                                 random_state=seed, n_jobs=threads, eval_metric="mlogloss")
    return xgb.XGBClassifier(n_estimators=300, tree_method="hist", random_state=seed, n_jobs=threads)


def single_thread(model):
    if "n_jobs" in model.get_params():
        model.set_params(n_jobs=1)


def percentile(values, p):
    v = sorted(values)
    r = (len(v) - 1) * p / 100.0
    lo = math.floor(r)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (r - lo)


def run_one(name, seed, data, classes, threads, xgb, merge_val, np):
    from sklearn.metrics import accuracy_score, f1_score
    X, y, split = data
    tr = split == 0
    va = split == 1
    te = split == 2
    if merge_val:
        tr = tr | va
    Xtr, ytr, Xte, yte = X[tr], y[tr], X[te], y[te]
    early = name == "xgb" and not merge_val and va.any()
    validation = "merged" if merge_val else ("early-stop" if early else "unused")
    model = make_model(name, seed, threads, xgb, early)
    # xgboost wants classes 0..K-1 in training: train labels are encoded, predictions decoded.
    known = np.unique(ytr)
    encode = {int(c): i for i, c in enumerate(known)}
    t0 = time.perf_counter()
    if name == "xgb":
        fit_y = np.asarray([encode[int(c)] for c in ytr])
        if early:
            keep = np.isin(y[va], known)  # a validation class unseen in training cannot be scored
            Xva, yva = X[va][keep], np.asarray([encode[int(c)] for c in y[va][keep]])
            model.fit(Xtr, fit_y, eval_set=[(Xva, yva)], verbose=False)
        else:
            model.fit(Xtr, fit_y, verbose=False)
    else:
        model.fit(Xtr, ytr)
    train_s = time.perf_counter() - t0

    single_thread(model)

    def predict(rows):
        p = model.predict(rows)
        return known[np.asarray(p, dtype=np.int64)] if name == "xgb" else p

    t0 = time.perf_counter()
    pred = predict(Xte)
    whole_s = time.perf_counter() - t0
    sample = Xte[:BATCH1_SAMPLE]
    predict(sample[:1])  # warm-up
    lat = []
    for i in range(len(sample)):
        t = time.perf_counter_ns()
        predict(sample[i:i + 1])
        lat.append((time.perf_counter_ns() - t) / 1000.0)
    labels = list(range(len(classes)))
    per_class = f1_score(yte, pred, labels=labels, average=None, zero_division=0)
    present = sorted(set(int(c) for c in yte) | set(int(c) for c in pred))
    return {
        "model": name,
        "seed": seed,
        "accuracy": float(accuracy_score(yte, pred)),
        # macro over the classes of the test split and the predictions (sklearn's default)
        "macro_f1": float(f1_score(yte, pred, labels=present, average="macro", zero_division=0)),
        "per_class_f1": {classes[i]: float(per_class[i]) for i in labels},
        "train_s": train_s,
        "latency_us_per_window": whole_s * 1e6 / len(Xte),
        "latency_us_batch1": percentile(lat, 50),
        "latency_us_batch1_p99": percentile(lat, 99),
        "classes": classes,
        "test_samples": int(len(Xte)),
        "train_samples": int(len(Xtr)),
        "features": int(X.shape[1]),
        "threads": threads,
        "validation": validation,
    }


def mean_ci(values):
    n = len(values)
    m = sum(values) / n
    if n < 2:
        return m, 0.0
    s = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    try:
        from scipy.stats import t
        q = float(t.ppf(0.975, n - 1))
    except ImportError:
        q = 1.96
    return m, q * s / math.sqrt(n)


def table(results, order):
    lines = ["| model | seeds | accuracy (95% CI) | macro-F1 | train s | µs/window (whole test split) | batch-1 µs p50 |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name in order:
        rs = [r for r in results if r["model"] == name]
        if not rs:
            continue
        acc, ci = mean_ci([100 * r["accuracy"] for r in rs])
        f1 = sum(r["macro_f1"] for r in rs) / len(rs)
        tr = sum(r["train_s"] for r in rs) / len(rs)
        lw = sum(r["latency_us_per_window"] for r in rs) / len(rs)
        lb = sum(r["latency_us_batch1"] for r in rs) / len(rs)
        lines.append(f"| {MODEL_NAMES[name]} | {len(rs)} | {acc:.2f}% ± {ci:.2f} | {f1:.4f} | {tr:.2f} | {lw:.2f} | {lb:.0f} |")
    return "\n".join(lines)


def write_jsonl(path, results):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".tmp.", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for r in results:
                f.write(json.dumps(r) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None):
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", required=True, help="F.csv or F.npy (+ F.columns.json) from flowpic-render --features")
    ap.add_argument("--models", default="rf,et,xgb", type=lambda s: parse_list(s, "--models", MODELS),
                    help="comma-separated: rf, et, xgb, bag (default rf,et,xgb)")
    ap.add_argument("--seeds", default="1", type=lambda s: parse_list(s, "--seeds", number=True),
                    help="comma-separated seeds, one run per model and seed (default 1)")
    ap.add_argument("--json", help="write one JSON line per (model, seed) to this file")
    ap.add_argument("--threads", type=int, default=1, help="training threads (default 1); prediction is timed on 1")
    ap.add_argument("--merge-val", action="store_true", help="train every model on train + validation")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    args = ap.parse_args(argv)
    if not 1 <= args.threads <= 1024:
        ap.error(f"--threads: must be in 1 .. 1024, not {args.threads}")
    if args.json is not None:
        if args.json == "" or os.path.isdir(args.json):
            ap.error(f"--json: '{args.json}' is not a file path")
        if os.path.abspath(args.json) == os.path.abspath(args.features):
            ap.error("--json is the --features file")
    # Libraries use this many threads at most (xgboost and sklearn also take it as n_jobs).
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    xgb = import_libraries(args.models)
    import numpy as np
    models = [m for m in args.models if m != "xgb" or xgb is not None]
    if not models:
        die(3, "no model left to run (xgboost missing: apt-get install python3-xgboost)")
    try:
        X, y, split, classes, columns = load_features(args.features, np)
        for s, what in ((0, "train"), (2, "test")):
            if not (split == s).any():
                raise InputProblem(f"{args.features}: no {what} rows (the dataset's split has no {what} windows)")
        if args.json:
            d = os.path.dirname(os.path.abspath(args.json))
            if not os.access(d, os.W_OK):
                raise InputProblem(f"{args.json}: directory {d} is not writable")
    except InputProblem as e:
        die(1, str(e))
    log = (lambda *a: None) if args.quiet else (lambda msg: print(f"{PROG}: {msg}", file=sys.stderr, flush=True))
    log(f"{args.features}: {len(X)} windows x {X.shape[1]} features, {len(classes)} classes; "
        f"train {int((split == 0).sum())}, val {int((split == 1).sum())}, test {int((split == 2).sum())}")
    results = []
    total = len(models) * len(args.seeds)
    for name in models:
        for seed in args.seeds:
            r = run_one(name, seed, (X, y, split), classes, args.threads, xgb, args.merge_val, np)
            results.append(r)
            log(f"[{len(results)}/{total}] {name} seed {seed}: accuracy {100 * r['accuracy']:.2f}% "
                f"macro-F1 {r['macro_f1']:.4f} train {r['train_s']:.2f} s "
                f"{r['latency_us_per_window']:.2f} us/window, batch 1 {r['latency_us_batch1']:.0f} us")
    if args.json:
        try:
            write_jsonl(args.json, results)
        except OSError as e:
            die(1, f"{args.json}: cannot write: {e.strerror}")
    print(table(results, models))
    if xgb is None and "xgb" in args.models:
        print("\nXGBoost skipped: python3-xgboost is not installed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
