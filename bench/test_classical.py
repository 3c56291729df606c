#!/usr/bin/python3
"""Tests of bench/classical.py on a tiny synthetic feature table (the CSV and .npy layouts
of flowpic-render --features): each model runs and writes every key, the .npy input gives
the CSV's results, seeds are reproducible, missing packages exit 3 (simulated by modules
that fail to import, first on PYTHONPATH), bad inputs exit 1 naming the file and line;
and bench_classical.sh end to end on synthetic captures (flowpic-synth, -prep, -render
--features from FLOWPIC_BIN, default build/bin) and without data.
Run: /usr/bin/python3 -m unittest bench/test_classical.py"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "classical.py")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
KEYS = {"model", "seed", "accuracy", "macro_f1", "per_class_f1", "train_s", "latency_us_per_window",
        "latency_us_batch1", "classes", "test_samples"}
CLASSES = ["chat", "file, big", "voip"]  # a comma in a name: the CSV quotes it


def have(module):
    return subprocess.run([PY, "-c", f"import {module}"], capture_output=True).returncode == 0


def synthetic_rows(seed=5):
    """(split, label, features) rows: 3 classes, 4 features, classes apart in feature 0
    and 1 with noise, 2 and 3 noise only; 24 train, 6 val, 15 test rows per class."""
    import random
    rnd = random.Random(seed)
    rows = []
    for label in range(len(CLASSES)):
        for split, n in (("train", 24), ("val", 6), ("test", 15)):
            for _ in range(n):
                rows.append((split, label, [label * 10 + rnd.gauss(0, 3), label * 100 + rnd.gauss(0, 40),
                                            rnd.random(), -1.0 if rnd.random() < 0.2 else rnd.random()]))
    rnd.shuffle(rows)
    return rows


def write_csv(path, rows):
    with open(path, "w") as f:
        f.write("split,label,class,duration_s,pkts_all,iat_all_mean,iat_rev_min\n")
        for split, label, x in rows:
            name = CLASSES[label]
            name = f'"{name}"' if "," in name else name
            f.write(f"{split},{label},{name}," + ",".join(repr(v) for v in x) + "\n")


def write_npy(path, rows):
    import numpy as np
    np.save(path, np.asarray([x for _, _, x in rows], dtype=np.float32))
    with open(path[:-4] + ".columns.json", "w") as f:
        json.dump({"format": "flowpic-features", "version": 1,
                   "columns": ["duration_s", "pkts_all", "iat_all_mean", "iat_rev_min"], "first_k": 0,
                   "classes": CLASSES, "rows": len(rows), "label": [r[1] for r in rows],
                   "split": [r[0] for r in rows]}, f)


def run(args, env_extra=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([PY, SCRIPT] + args, capture_output=True, text=True, env=env, timeout=300)


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.rows = synthetic_rows()
        self.csv = os.path.join(self.dir, "f.csv")
        write_csv(self.csv, self.rows)

    def tearDown(self):
        self.tmp.cleanup()

    def fake_modules(self, *names):
        """A PYTHONPATH directory whose `name` packages raise ImportError, as if absent."""
        fake = os.path.join(self.dir, "fake")
        for n in names:
            os.makedirs(os.path.join(fake, n), exist_ok=True)
            with open(os.path.join(fake, n, "__init__.py"), "w") as f:
                f.write(f"raise ImportError('simulated: no {n}')\n")
        return {"PYTHONPATH": fake}


@unittest.skipUnless(have("sklearn") and have("numpy"), "needs python3-sklearn and numpy")
class Models(Base):
    def test_every_model_every_key(self):
        out = os.path.join(self.dir, "r.jsonl")
        models = ["rf", "et", "bag"] + (["xgb"] if have("xgboost") else [])
        r = run(["--features", self.csv, "--models", ",".join(models), "--seeds", "1,2", "--json", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = read_jsonl(out)
        self.assertEqual([(x["model"], x["seed"]) for x in lines], [(m, s) for m in models for s in (1, 2)])
        for x in lines:
            self.assertTrue(KEYS <= set(x), KEYS - set(x))
            self.assertEqual(x["classes"], CLASSES)
            self.assertEqual(set(x["per_class_f1"]), set(CLASSES))
            self.assertEqual(x["test_samples"], 45)
            self.assertEqual(x["train_samples"], 72)
            self.assertEqual(x["features"], 4)
            self.assertGreater(x["accuracy"], 0.8, x)  # the classes are well apart in two features
            self.assertLessEqual(x["accuracy"], 1.0)
            for k in ("train_s", "latency_us_per_window", "latency_us_batch1"):
                self.assertGreater(x[k], 0)
            self.assertEqual(x["validation"], "early-stop" if x["model"] == "xgb" else "unused")
        for m in models:  # the markdown table names every model
            self.assertIn({"rf": "Random Forest", "et": "Extra Trees", "xgb": "XGBoost", "bag": "Bagging"}[m], r.stdout)
        self.assertTrue(r.stdout.startswith("| model |"), r.stdout)

    def test_npy_input_gives_the_csv_results_and_seeds_repeat(self):
        npy = os.path.join(self.dir, "f.npy")
        write_npy(npy, self.rows)
        a, b, c = (os.path.join(self.dir, n) for n in ("a.jsonl", "b.jsonl", "c.jsonl"))
        for feats, out in ((self.csv, a), (npy, b), (self.csv, c)):
            r = run(["--features", feats, "--models", "rf,et", "--seeds", "3", "--json", out, "-q"])
            self.assertEqual(r.returncode, 0, r.stderr)
        strip = lambda xs: [(x["model"], x["accuracy"], x["per_class_f1"]) for x in xs]  # noqa: E731
        self.assertEqual(strip(read_jsonl(a)), strip(read_jsonl(b)))
        self.assertEqual(strip(read_jsonl(a)), strip(read_jsonl(c)))

    def test_merge_val_trains_on_train_and_validation(self):
        out = os.path.join(self.dir, "m.jsonl")
        r = run(["--features", self.csv, "--models", "rf", "--merge-val", "--json", out, "-q"])
        self.assertEqual(r.returncode, 0, r.stderr)
        (x,) = read_jsonl(out)
        self.assertEqual((x["train_samples"], x["validation"]), (90, "merged"))

    def test_bad_inputs_exit_1_naming_file_and_line(self):
        bad = os.path.join(self.dir, "bad.csv")
        cases = [
            ("split,label,class,a\ntrain,0,x,1\ntest,0,x,zz\n", "bad.csv:3"),
            ("split,label,class,a\ntrain,0,x,1\nholdout,0,x,1\n", "bad.csv:3"),
            ("split,label,class,a\ntrain,0,x,1,2\n", "bad.csv:2"),
            ("split,label,class,a\ntrain,0,x,1\ntest,0,y,1\n", "bad.csv:3"),
            ("split,label,class,a\ntrain,0,x,nan\n", "bad.csv:2"),
            ("label,class,a\n", "bad.csv:1"),
            ("", "bad.csv"),
            ("split,label,class,a\ntrain,0,x,1\n", "no test rows"),
        ]
        for text, says in cases:
            with open(bad, "w") as f:
                f.write(text)
            r = run(["--features", bad, "--models", "rf"])
            self.assertEqual(r.returncode, 1, (text, r.stderr))
            self.assertIn(says, r.stderr, text)
            self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        r = run(["--features", os.path.join(self.dir, "none.csv")])
        self.assertEqual(r.returncode, 1)
        self.assertIn("none.csv: cannot open", r.stderr)
        npy = os.path.join(self.dir, "g.npy")
        write_npy(npy, self.rows)
        os.unlink(npy[:-4] + ".columns.json")
        r = run(["--features", npy])
        self.assertEqual(r.returncode, 1)
        self.assertIn("g.columns.json", r.stderr)

    def test_usage_errors_exit_2(self):
        for args in (["--models", "rf,svm"], ["--models", "rf,rf"], ["--seeds", "1,x"], ["--seeds", ""],
                     ["--threads", "0"], ["--json", self.dir]):
            r = run(["--features", self.csv] + args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
        r = run([])
        self.assertEqual(r.returncode, 2)


class MissingPackages(Base):
    def test_no_sklearn_exits_3_saying_what_to_install(self):
        r = run(["--features", self.csv], self.fake_modules("sklearn"))
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("apt-get install python3-sklearn", r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)

    def test_no_numpy_exits_3(self):
        r = run(["--features", self.csv], self.fake_modules("numpy"))
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("apt-get install python3-numpy", r.stderr)

    @unittest.skipUnless(have("sklearn") and have("numpy"), "needs python3-sklearn and numpy")
    def test_no_xgboost_skips_xgb_with_a_note(self):
        out = os.path.join(self.dir, "r.jsonl")
        r = run(["--features", self.csv, "--models", "rf,xgb", "--json", out], self.fake_modules("xgboost"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("skipping xgb (apt-get install python3-xgboost)", r.stderr)
        self.assertEqual([x["model"] for x in read_jsonl(out)], ["rf"])
        self.assertIn("XGBoost skipped", r.stdout)
        r = run(["--features", self.csv, "--models", "xgb"], self.fake_modules("xgboost"))
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("apt-get install python3-xgboost", r.stderr)


BIN = os.environ.get("FLOWPIC_BIN", os.path.join(HERE, "..", "build", "bin"))
TOOLS = all(os.access(os.path.join(BIN, "flowpic-" + t), os.X_OK) for t in ("synth", "prep", "render"))


class BenchScript(Base):
    def bench(self, data, extra=None):
        env = dict(os.environ, CLASSICAL_DATA=data, CLASSICAL_OUT=os.path.join(self.dir, "out"), **(extra or {}))
        return subprocess.run(["bash", os.path.join(HERE, "bench_classical.sh"), BIN], capture_output=True, text=True,
                              env=env, timeout=300)

    def test_without_data_says_so_and_succeeds(self):
        r = self.bench(os.path.join(self.dir, "nothing"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("skipped (no ", r.stdout)

    @unittest.skipUnless(TOOLS and have("sklearn"), "needs the flowpic tools (make) and python3-sklearn")
    def test_synthetic_dataset_end_to_end(self):
        caps, data = os.path.join(self.dir, "caps"), os.path.join(self.dir, "data")
        os.makedirs(data)
        for args in (["synth", "--out", caps, "--flows-per-class", "4", "--seed", "1"],
                     ["prep", caps, "-o", os.path.join(data, "split0.fpd"), "--label-from-dir", "--window", "10",
                      "--split", "0.5,0.25,0.25", "--seed", "1", "-q"]):
            p = subprocess.run([os.path.join(BIN, "flowpic-" + args[0])] + args[1:], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
        r = self.bench(data, {"CLASSICAL_MODELS": "rf,et", "CLASSICAL_SEEDS": "1,2"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("| Random Forest | 2 |", r.stdout)
        self.assertIn("| Extra Trees | 2 |", r.stdout)
        runs = read_jsonl(os.path.join(self.dir, "out", "runs.jsonl"))
        self.assertEqual(len(runs), 4)
        self.assertEqual(runs[0]["classes"], ["browsing", "chat", "file", "video", "voip"])
        self.assertEqual({x["split"] for x in runs}, {0})


if __name__ == "__main__":
    unittest.main()
