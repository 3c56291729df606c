#!/usr/bin/python3
"""Tests of the UCDavis campaign's Python side (bench/ucdavis_torch.py, bench/ucdavis_table.py):
binning against a per-packet loop of the README's rule, each augmentation's exact effect on
a crafted packet list or image, the metrics on a hand-counted confusion, manifest and flow
file errors, the numpy draw, the nets' shapes, the t-interval, and one tiny end-to-end
campaign on crafted flows (two classes a LeNet separates).
Run: /usr/bin/python3 -m unittest bench/test_ucdavis.py   (or: /usr/bin/python3 bench/test_ucdavis.py)"""
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ucdavis_table as table  # noqa: E402
import ucdavis_torch as ut  # noqa: E402


class FixedRng:
    """Stands in for numpy's Generator: uniform() returns the given values in turn."""

    def __init__(self, *values):
        self.values = list(values)

    def uniform(self, lo, hi, size=None):
        if size is None:
            v = self.values.pop(0)
            assert lo <= v <= hi, (lo, v, hi)
            return v
        return np.array([self.values.pop(0) for _ in range(size)])

    def random(self, size):
        return np.array([self.values.pop(0) for _ in range(size)])


def loop_flowpic(t, s, dim, window, cap):
    """The README's rule one packet at a time: bin = floor of the normalised value, the last
    edge belonging to the last bin, t outside [0, window) dropped."""
    h = np.zeros((dim, dim), dtype=np.int64)
    for ti, si in zip(t, s):
        if not (0 <= ti < window):
            continue
        x = min(max(si, 0), 1500) / 1500 * dim
        y = ti / window * dim
        h[min(int(math.floor(x)), dim - 1), min(int(math.floor(y)), dim - 1)] += 1
    return np.minimum(h, cap).astype(np.uint8)


class Binning(unittest.TestCase):
    def test_crafted_packets(self):
        t = np.array([0.0, 0.0, 7.5, 14.999, 15.0, 20.0])
        s = np.array([0.0, 1500.0, 750.0, 1600.0, 100.0, 100.0])
        h = ut.flowpic(t, s, 32, 15.0, 255)
        self.assertEqual(h.dtype, np.uint8)
        self.assertEqual(int(h.sum()), 4)  # t = 15 and t = 20 fall outside the window
        self.assertEqual(h[0, 0], 1)        # size 0 at t 0
        self.assertEqual(h[31, 0], 1)       # size 1500: the last edge belongs to the last row
        self.assertEqual(h[16, 16], 1)      # 750 / 1500 * 32 = 16, 7.5 / 15 * 32 = 16
        self.assertEqual(h[31, 31], 1)      # 1600 clipped to 1500; 14.999 s in the last column

    def test_cap(self):
        t = np.full(300, 1.0)
        s = np.full(300, 400.0)
        self.assertEqual(ut.flowpic(t, s, 32, 15.0, 255)[8, 2], 255)
        self.assertEqual(ut.flowpic(t, s, 32, 15.0, 100)[8, 2], 100)

    def test_random_flows_match_the_loop(self):
        rng = np.random.default_rng(7)
        for dim in (32, 64, 1500):
            t = np.sort(rng.uniform(0, 20, 3000))
            s = rng.integers(0, 1700, 3000).astype(np.float64)
            t[:200] = 1.0  # a crowded pixel, over the cap
            s[:200] = 1000.0
            got, want = ut.flowpic(t, s, dim, 15.0, 255), loop_flowpic(t, s, dim, 15.0, 255)
            self.assertTrue(np.array_equal(got, want), dim)
            self.assertGreater(int(want.astype(np.int64).sum()), 1000)


class PacketAugmentations(unittest.TestCase):
    t = np.array([0.0, 0.5, 0.95, 1.0, 1.1, 1.2, 3.0])
    s = np.array([10.0, 20, 30, 40, 50, 60, 70])

    def test_changertt_scales_times(self):
        t, s = ut.aug_changertt(self.t, self.s, FixedRng(1.5))
        np.testing.assert_array_equal(t, self.t * 1.5)
        np.testing.assert_array_equal(s, self.s)

    def test_changertt_pulls_later_packets_into_the_window(self):
        t = np.array([0.0, 20.0, 29.0, 31.0])
        s = np.array([100.0, 100, 100, 100])
        a, b = ut.aug_changertt(t, s, FixedRng(0.5))
        self.assertEqual(int(ut.flowpic(a, b, 32, 15.0, 255).sum()), 3)  # 0, 10, 14.5 s

    def test_timeshift_drops_negative_times(self):
        t, s = ut.aug_timeshift(self.t, self.s, FixedRng(-0.96))
        np.testing.assert_allclose(t, self.t[3:] - 0.96)
        np.testing.assert_array_equal(s, self.s[3:])
        t, s = ut.aug_timeshift(self.t, self.s, FixedRng(0.25))
        np.testing.assert_allclose(t, self.t + 0.25)

    def test_packetloss_drops_exactly_the_packets_within_the_width(self):
        t, s = ut.aug_packetloss(self.t, self.s, FixedRng(1.02), 0.1)
        np.testing.assert_array_equal(t, [0.0, 0.5, 1.2, 3.0])  # 0.95, 1.0 and 1.1 are within 0.1 s of 1.02
        np.testing.assert_array_equal(s, [10.0, 20, 60, 70])

    def test_packetloss_span(self):
        # t0 is drawn from [first, last]: FixedRng asserts the bounds it is given
        ut.aug_packetloss(self.t, self.s, FixedRng(3.0), 0.1)
        with self.assertRaises(AssertionError):
            ut.aug_packetloss(self.t, self.s, FixedRng(3.5), 0.1)
        ut.aug_packetloss(self.t, self.s, FixedRng(100.0), 0.1, 0.0, 120.0)


class Args:
    rotate_degrees = 10.0
    jitter_brightness = 0.5
    jitter_contrast = 0.5
    max_count = 255


class ImageAugmentations(unittest.TestCase):
    def img(self, n=2, dim=8):
        g = torch.Generator().manual_seed(3)
        return torch.randint(0, 256, (n, 1, dim, dim), generator=g).float()

    def test_hflip_mirrors_the_time_axis_of_the_drawn_images(self):
        x = self.img(3)
        y = ut.aug_image("hflip", x, FixedRng(0.2, 0.7, 0.1), Args)
        self.assertTrue(torch.equal(y[0], x[0].flip(-1)))
        self.assertTrue(torch.equal(y[1], x[1]))
        self.assertTrue(torch.equal(y[2], x[2].flip(-1)))

    def test_rotate(self):
        x = self.img(2)
        a = Args()
        a.rotate_degrees = 90.0
        y = ut.aug_image("rotate", x, FixedRng(0.0, 90.0), a)
        self.assertTrue(torch.equal(y[0], x[0]))  # no rotation: nearest neighbour gives the image back
        # 90 degrees about the centre of an even-sided image maps pixels onto pixels
        r = y[1, 0]
        self.assertTrue(torch.equal(r, torch.rot90(x[1, 0], 1, (0, 1))) or torch.equal(r, torch.rot90(x[1, 0], -1, (0, 1))))
        z = ut.aug_image("rotate", x, FixedRng(10.0, -10.0), Args)
        self.assertFalse(torch.equal(z, x))
        self.assertEqual(z.shape, x.shape)

    def test_colorjitter(self):
        x = self.img(3)
        y = ut.aug_image("colorjitter", x, FixedRng(1.0, 1.5, 0.5, 1.0, 1.0, 0.5), Args)
        self.assertTrue(torch.allclose(y[0], x[0]))                   # factors 1, 1
        self.assertTrue(torch.allclose(y[1], (x[1] * 1.5).clamp(0, 255)))  # brightness 1.5, contrast 1
        m = x[2].mean()
        self.assertTrue(torch.allclose(y[2], m * 0.5 + 0.5 * (x[2] * 0.5 - m * 0.5)))  # 0.5 and 0.5


class Metrics(unittest.TestCase):
    def test_hand_counted(self):
        y = [0, 0, 0, 1, 1, 2]
        p = [0, 0, 1, 1, 1, 0]
        m = ut.metrics(y, p, 3)
        self.assertEqual(m["confusion"], [[2, 1, 0], [0, 2, 0], [1, 0, 0]])
        self.assertAlmostEqual(m["accuracy"], 4 / 6)
        f0 = 2 * (2 / 3) * (2 / 3) / (4 / 3)
        f1 = 2 * (2 / 3) * 1 / (5 / 3)
        self.assertAlmostEqual(m["macro_f1"], (f0 + f1 + 0) / 3)
        self.assertEqual(m["support"], [3, 2, 1])

    def test_absent_class_not_averaged(self):
        m = ut.metrics([0, 1], [0, 1], 3)
        self.assertAlmostEqual(m["macro_f1"], 1.0)


class Files(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        p = os.path.join(self.d, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_read_flow(self):
        p = self.write("a/f.txt", "1.0\t0\t1412\t1\n1.1\t0.1\t60\t0\n")
        t, s = ut.read_flow(p)
        np.testing.assert_array_equal(t, [0.0, 0.1])
        np.testing.assert_array_equal(s, [1412, 60])

    def test_bad_flows_name_file_and_line(self):
        cases = [("", "empty file"), ("1.0\t0\t10\t1\n1.0\t0.1\t10\t2\n", ":2: direction"),
                 ("1.0\t0\t10\t1\n1.0\t0.1\t-5\t0\n", ":2: size"), ("1.0\t0\tbig\t1\n", "not a packet time series"),
                 ("1.0\t0\t10\n", "not a packet time series"), ("1.0\t-1\t10\t1\n", ":1: time")]
        for i, (text, msg) in enumerate(cases):
            p = self.write("bad%d.txt" % i, text)
            with self.assertRaises(ut.InputError) as e:
                ut.read_flow(p)
            self.assertIn(p, str(e.exception))
            self.assertIn(msg, str(e.exception))
        with self.assertRaises(ut.InputError):
            ut.read_flow(os.path.join(self.d, "missing.txt"))

    def test_manifest(self):
        p = self.write("m.tsv", "capture\tclass\tsplit\twindows\nA/1.txt\tA\ttrain\t1\n/abs/2.txt\tB\ttest\t1\n"
                                "A/3.txt\tA\tval\t0\n")
        rows, skipped = ut.read_manifest(p, "/data")
        self.assertEqual(rows, [("/data/A/1.txt", "A", "train"), ("/abs/2.txt", "B", "test")])
        self.assertEqual(skipped, 1)

    def test_bad_manifests(self):
        h = "capture\tclass\tsplit\twindows\n"
        cases = [("capture\tclass\tsplit\n", ":1: expected the header"), (h + "a\tA\tdev\t1\n", ":2: split 'dev'"),
                 (h + "a\tA\ttrain\n", ":2: expected 4"), (h + "a\tA\ttrain\t1\nb\tA\ttest\tx\n", ":3: windows"),
                 (h + "a\tA\ttrain\t1\na\tA\ttest\t1\n", ":3: capture a listed twice"),
                 (h + "a\tA\ttrain\t1\n", "the test split is empty")]
        for i, (text, msg) in enumerate(cases):
            p = self.write("m%d.tsv" % i, text)
            with self.assertRaises(ut.InputError) as e:
                ut.read_manifest(p, None)
            self.assertIn(p, str(e.exception))
            self.assertIn(msg, str(e.exception))

    def test_draw_manifest_disjoint_draws(self):
        for c in ("A", "B"):
            for k in range(30):
                self.write("%s/%s-%d.txt" % (c, c, k), "1\t0\t10\t1\n")
        draws = [ut.draw_manifest(self.d, 10, 0.2, k, 5) for k in range(3)]
        picked = []
        for rows in draws:
            self.assertEqual(len(rows), 60)
            for c in ("A", "B"):
                self.assertEqual(sum(r[1] == c and r[2] == "train" for r in rows), 8)
                self.assertEqual(sum(r[1] == c and r[2] == "val" for r in rows), 2)
            picked.append({r[0] for r in rows if r[2] != "test"})
        self.assertFalse(picked[0] & picked[1] or picked[1] & picked[2] or picked[0] & picked[2])
        self.assertEqual(draws[0], ut.draw_manifest(self.d, 10, 0.2, 0, 5))  # reproducible from the seed
        with self.assertRaises(ut.InputError):
            ut.draw_manifest(self.d, 10, 0.2, 3, 5)  # 4 x 10 > 30 flows


class Nets(unittest.TestCase):
    def test_shapes(self):
        for res, arch, fc1 in ((32, "lenet", 400), (64, "lenet", 2704), (1500, "flowpic", 4500)):
            net, a = ut.make_net(res, 5, "auto")
            self.assertEqual(a, arch)
            self.assertEqual(net.fc1.in_features, fc1)
            net.eval()
            with torch.no_grad():
                self.assertEqual(tuple(net(torch.zeros(2, 1, res, res)).shape), (2, 5))
        # flowpic's LeNet (nn/network.h): 6@5x5, 16@5x5, 400-120-84-K
        net, _ = ut.make_net(32, 5, "lenet")
        n = sum(p.numel() for p in net.parameters())
        self.assertEqual(n, (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 5 + 5))


    def test_init(self):
        torch.manual_seed(4)
        for how in ("kaiming", "glorot"):
            net, _ = ut.make_net(32, 5, "lenet")
            ut.init_weights(net, how)
            w = net.fc1.weight  # 120 x 400
            bound = math.sqrt(6 / 400) if how == "kaiming" else math.sqrt(6 / 520)
            self.assertLessEqual(float(w.abs().max()), bound)
            self.assertGreater(float(w.abs().max()), 0.95 * bound)
            for m in (net.conv1, net.conv2, net.fc1, net.fc2, net.fc3):
                self.assertEqual(float(m.bias.abs().max()), 0.0)
        net, _ = ut.make_net(32, 5, "lenet")
        self.assertGreater(float(ut.init_weights(net, "torch").fc1.bias.abs().max()), 0.0)  # torch's defaults kept


class Table(unittest.TestCase):
    def test_t_interval(self):
        m, h, n = table.mean_ci([0.95, 0.96, 0.97, 0.98, 0.99])
        self.assertAlmostEqual(m, 0.97)
        self.assertAlmostEqual(h, 2.776 * math.sqrt(0.00025) / math.sqrt(5), places=6)
        self.assertEqual(n, 5)
        self.assertTrue(math.isnan(table.mean_ci([0.9])[1]))
        self.assertAlmostEqual(table.t975(40), 2.021, places=3)
        self.assertAlmostEqual(table.t975(100), 1.984, places=3)

    def test_published_means_from_the_readme(self):
        readme = os.path.join(HERE, "..", "..", "shared", "data", "ucdavis-quic", "README.md")
        if not os.path.exists(readme):
            self.skipTest("no data README at " + readme)
        p = table.published_means(readme)
        self.assertEqual(p[(32, "none")], 95.78)
        self.assertEqual(p[(32, "changertt")], 98.38)
        self.assertEqual(p[(1500, "timeshift")], 97.67)
        self.assertEqual(len(p), 21)


class EndToEnd(unittest.TestCase):
    def test_tiny_campaign(self):
        """Two crafted classes (small packets early vs large packets late) through the whole
        script: reading, the manifest, training, the JSON."""
        with tempfile.TemporaryDirectory() as d:
            rng = np.random.default_rng(1)
            for c, (size, t_hi) in (("Small", (100, 5.0)), ("Large", (1400, 14.0))):
                os.makedirs(os.path.join(d, c))
                for k in range(30):
                    n = 1000
                    t = np.sort(rng.uniform(0, t_hi, n))
                    t[0] = 0.0
                    s = rng.integers(size - 50, size + 50, n)
                    with open(os.path.join(d, c, "%s-%d.txt" % (c, k)), "w") as f:
                        for ti, si in zip(t, s):
                            f.write("%.9f\t%.6f\t%d\t%d\n" % (1e9 + ti, ti, si, int(rng.integers(0, 2))))
            m = os.path.join(d, "m.tsv")
            script = os.path.join(HERE, "ucdavis_torch.py")
            subprocess.run([sys.executable, script, "--data-dir", d, "--draw-manifest", m, "--per-class", "10"],
                           check=True, capture_output=True)
            out = os.path.join(d, "r.json")
            r = subprocess.run([sys.executable, script, "--data-dir", d, "--manifest", m, "--grid",
                                "32:none,changertt", "--epochs", "10", "--batch", "4", "--augment-copies", "3", "--seeds", "1", "--json", out, "-q"],
                               check=True, capture_output=True, text=True)
            self.assertIn("2 thread(s)", r.stdout)
            with open(out) as f:
                res = json.load(f)
            self.assertEqual(res["threads"], 2)
            self.assertEqual([x["augment"] for x in res["runs"]], ["none", "changertt"])
            self.assertEqual(res["runs"][0]["train_samples"], 16)
            self.assertEqual(res["runs"][1]["train_samples"], 48)
            for x in res["runs"]:
                self.assertEqual(x["test_samples"], 40)
                self.assertGreaterEqual(x["accuracy"], 0.9)
                self.assertEqual(sum(map(sum, x["confusion"])), 40)
            for k in ("read_s", "bin_s", "augment_bin_s", "train_s", "preparation_s", "total_s"):
                self.assertGreater(res["timing"][k], 0.0)
            # a bad manifest path: one clear line, exit 1
            r = subprocess.run([sys.executable, script, "--manifest", os.path.join(d, "none.tsv")],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 1)
            self.assertIn("none.tsv", r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1)


STUB_PREP = r"""#!/usr/bin/env bash
# flowpic-prep stand-in: --help lists the campaign's flags; DIR -o OUT ... --split-index K writes
# a numpy-drawn manifest (10 flows per class) as "the dataset"; --stats OUT --captures prints it.
if [ "$1" = --help ]; then echo "--first --clip-sizes --split-per-class --split-index --captures"; exit 0; fi
if [ "$1" = --stats ]; then cat "$2"; exit 0; fi
dir=$1; shift; out=; k=
while [ $# -gt 0 ]; do case $1 in -o) out=$2; shift;; --split-index) k=$2; shift;; esac; shift; done
exec /usr/bin/python3 "$UT_SCRIPT" --data-dir "$dir" --draw-manifest "$out" --per-class 10 --split-index "$k" --seed 1
"""
STUB_TRAIN = r"""#!/usr/bin/env bash
if [ "$1" = --help ]; then echo "--preset --augment --augment-copies"; exit 0; fi
while [ $# -gt 0 ]; do case $1 in -o) : > "$2"; shift;; esac; echo "$1" >> "$UT_LOG"; shift; done
echo '{"model": "m", "best_epoch": 3, "epochs": 8, "stopped_early": true}'
"""
STUB_INFER = r"""#!/usr/bin/env bash
if [ "$1" = --help ]; then echo "--eval"; exit 0; fi
echo '{"accuracy": 0.9, "macro_f1": 0.8, "windows": 50, "classes": ["Google Doc", "Google Drive", "Google Music", "Google Search", "Youtube"], "confusion": [[9,1,0,0,0],[0,10,0,0,0],[0,0,10,0,0],[0,0,0,10,0],[0,0,0,4,6]]}'
"""


class BenchScript(unittest.TestCase):
    def test_quick_campaign_with_stand_in_tools(self):
        """bench_ucdavis.sh's plumbing: the flowpic side's flags, its JSON lines, the PyTorch side
        on the same manifests, the aggregation (flowpic's figures here are the stand-ins')."""
        with tempfile.TemporaryDirectory() as d:
            data = os.path.join(d, "data")
            rng = np.random.default_rng(2)
            for ci, c in enumerate(("Google Doc", "Google Drive", "Google Music", "Google Search", "Youtube")):
                os.makedirs(os.path.join(data, c))
                for k in range(20):
                    t = np.sort(rng.uniform(0, 3 * (ci + 1), 500))
                    t[0] = 0.0
                    sz = rng.integers(ci * 250 + 50, ci * 250 + 150, 500)
                    with open(os.path.join(data, c, "f%d.txt" % k), "w") as f:
                        f.writelines("1\t%.6f\t%d\t1\n" % (ti, si) for ti, si in zip(t, sz))
            bin_dir = os.path.join(d, "bin")
            os.makedirs(bin_dir)
            for name, text in (("flowpic-prep", STUB_PREP), ("flowpic-train", STUB_TRAIN), ("flowpic-infer", STUB_INFER)):
                with open(os.path.join(bin_dir, name), "w") as f:
                    f.write(text)
                os.chmod(os.path.join(bin_dir, name), 0o755)
            out = os.path.join(d, "out")
            env = dict(os.environ, CAMPAIGN="quick", UCDAVIS_DIR=data, UCDAVIS_OUT=out, UCDAVIS_ARCHIVES=d,
                       UT_SCRIPT=os.path.join(HERE, "ucdavis_torch.py"), UT_LOG=os.path.join(d, "train-args.txt"))
            r = subprocess.run(["bash", os.path.join(HERE, "bench_ucdavis.sh"), bin_dir], env=env,
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(out, "results.json")) as f:
                res = json.load(f)
            self.assertEqual(res["flowpic"]["runs"], 2)
            self.assertEqual(res["pytorch"]["runs"], 2)
            self.assertTrue(res["same_runs"])
            self.assertGreater(res["speed_ratio"], 0)
            rows = {(x["resolution"], x["augment"]): x for x in res["rows"]}
            self.assertEqual(sorted(rows), [(32, "changertt"), (32, "none")])
            self.assertAlmostEqual(rows[(32, "none")]["flowpic"]["accuracy_mean"], 0.9)
            self.assertEqual(rows[(32, "none")]["pytorch"]["runs"], 1)
            with open(os.path.join(d, "train-args.txt")) as f:
                targs = f.read().split()
            for flag in ("--preset", "tcbench", "--augment", "changertt", "--augment-copies", "10"):
                self.assertIn(flag, targs)
            self.assertIn("| none | 32×32 |  | 90.00 (n=1) |", r.stdout)  # no README here: no published mean
            self.assertIn("Campaign speed ratio", r.stdout)


if __name__ == "__main__":
    unittest.main()
