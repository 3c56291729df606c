// flowpic-render end to end: PNGs, per-window .npy and the --npy-dataset arrays from a
// dataset made by flowpic-prep (and from captures directly), checked against the C++
// reference binning on the same windows read through DatasetReader, and against numpy
// itself when /usr/bin/python3 has it; then the bad inputs.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <pcap.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "flowpic/dataset_file.h"
#include "flowpic/labels.h"
#include "flowpic/npy.h"
#include "kernels/cpu/binning.h"
#include "tests/pcap_builder.h"
#include "tests/util.h"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

constexpr int64_t kT0 = 1700000000LL * 1000000000LL;

std::string q(const std::string& s) { return "'" + s + "'"; }

// A two-way UDP flow 10.0.0.1:sport <-> 192.168.1.1:5000 with varied sizes and times
// (a small LCG, so pictures are not trivial but the same on every run): a request about
// every 0.5 s for `seconds`, each answered 20 ms later; records keep 64 bytes.
std::string busy_capture(uint32_t seed, double seconds, uint16_t sport) {
    uint32_t x = seed * 2654435761u + 1;
    auto next = [&]() { return x = x * 1664525u + 1013904223u, x >> 8; };
    PcapFile f(DLT_EN10MB, 64);
    auto add = [&](int64_t ts, bool up, uint32_t size) {
        L4 l4{17, up ? sport : uint16_t(5000), up ? uint16_t(5000) : sport, size - 28};
        std::string frame = ethernet(0x0800, up ? ipv4(l4) : ipv4(l4, 0xc0a80101, 0x0a000001));
        f.add(ts, frame, std::min<int64_t>(64, frame.size()), int64_t(frame.size()));
    };
    for (int64_t t = 0; t < int64_t(seconds * 1e9);) {
        add(kT0 + t, true, 40 + next() % 400);
        add(kT0 + t + 20000000, false, 100 + next() % 1400);
        t += 250000000 + int64_t(next() % 500) * 1000000;
    }
    return f.bytes;
}

// root/<class>/<class>_<k>.pcap for classes a and b, 3 captures each, 2-3 windows each.
void write_tree(const std::string& root) {
    mkdir(root.c_str(), 0755);
    uint32_t seed = 1;
    for (const char* c : {"alpha", "beta"}) {
        mkdir((root + "/" + c).c_str(), 0755);
        for (int k = 0; k < 3; ++k, ++seed)
            write_file(root + "/" + c + "/" + c + "_" + std::to_string(k) + ".pcap",
                       busy_capture(seed, 120 + 60 * (k % 2) + 5, uint16_t(40000 + seed)));
    }
}

// A dataset of the tree above, bi flows (so both directions are in each window), split so
// that every split gets captures.
std::string make_dataset(const TempDir& d) {
    write_tree(d.path + "/caps");
    const std::string out = d.path + "/d.fpd";
    auto r = run_tool("prep", q(d.path + "/caps") + " -o " + q(out) +
                                  " --label-from-dir --flows bi --split 0.34,0.33,0.33 -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    return out;
}

// The name render gives window i (its footer: <class>_<capture>-c<index>_f<flow>_<view>_w<window>).
std::string expected_stem(const DatasetReader& ds, size_t i) {
    DatasetWindow w = ds.window(i);
    return ds.classes()[w.label] + "_" + capture_stem(ds.captures()[w.prov.capture]) + "-c" +
           std::to_string(w.prov.capture) + "_f" +
           std::to_string(w.prov.flow_id) + "_" + dir_view_name(w.prov.view) + "_w" + std::to_string(w.prov.index);
}

std::vector<float> reference_image(const DatasetReader& ds, size_t i, const BinningOptions& b) {
    std::vector<float> img(image_size(b));
    DatasetWindow w = ds.window(i);
    bin_dense_ref(&w.packets, 1, b, img.data());
    return img;
}

// The header dict of a .npy file (the text between the length field and the data).
std::string npy_header(const std::string& bytes) {
    if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) return "";
    size_t len = uint8_t(bytes[8]) | size_t(uint8_t(bytes[9])) << 8;
    return bytes.substr(10, len);
}

uint32_t be32(const std::string& s, size_t at) {
    return uint32_t(uint8_t(s[at])) << 24 | uint32_t(uint8_t(s[at + 1])) << 16 | uint32_t(uint8_t(s[at + 2])) << 8 |
           uint8_t(s[at + 3]);
}

bool has_numpy() {
    return file_exists("/usr/bin/python3") &&
           std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(render_cli)

BOOST_AUTO_TEST_CASE(png_one_per_window_named_by_class_capture_and_window) {
    TempDir d;
    const std::string ds_path = make_dataset(d);
    DatasetReader ds(ds_path);
    BOOST_TEST_REQUIRE(ds.window_count() >= 8u);
    auto r = run_tool("render", q(ds_path) + " --png " + q(d.path + "/png") + " --resolution 64 -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    std::set<std::string> want, got;
    for (size_t i = 0; i < ds.window_count(); ++i) want.insert(expected_stem(ds, i) + ".png");
    for (const auto& n : list_dir(d.path + "/png")) got.insert(n);
    BOOST_TEST(want.size() == ds.window_count());  // names are unique
    BOOST_TEST((got == want));
    for (const auto& n : got) {
        BOOST_TEST_CONTEXT(n) {
            std::string png = read_file(d.path + "/png/" + n);
            BOOST_TEST_REQUIRE(png.size() > 33u);
            BOOST_TEST(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
            BOOST_TEST(png.compare(12, 4, "IHDR") == 0);
            // 64 x 64 bins at the automatic scale (8 px per bin, pictures up to 512 px).
            BOOST_TEST(be32(png, 16) == 512u);
            BOOST_TEST(be32(png, 20) == 512u);
        }
    }

    // --limit 1: one per class, still PNGs of the right class.
    auto l = run_tool("render", q(ds_path) + " --png " + q(d.path + "/one") + " --resolution 32 --limit 1 -q");
    BOOST_TEST_REQUIRE(l.exit_code == 0, l.err);
    auto names = list_dir(d.path + "/one");
    BOOST_TEST(names.size() == 2u);
    std::map<std::string, int> per_class;
    for (const auto& n : names) per_class[n.substr(0, n.find('_'))]++;
    BOOST_TEST(per_class["alpha"] == 1);
    BOOST_TEST(per_class["beta"] == 1);
    auto l2 = run_tool("render", q(ds_path) + " --png " + q(d.path + "/two") + " --resolution 32 --limit 2 -q");
    BOOST_TEST_REQUIRE(l2.exit_code == 0, l2.err);
    BOOST_TEST(list_dir(d.path + "/two").size() == 4u);
}

BOOST_AUTO_TEST_CASE(npy_per_window_shape_dtype_and_values) {
    TempDir d;
    const std::string ds_path = make_dataset(d);
    DatasetReader ds(ds_path);
    auto r = run_tool("render", q(ds_path) + " --npy " + q(d.path + "/npy") + " --resolution 32 -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST_REQUIRE(list_dir(d.path + "/npy").size() == ds.window_count());
    BinningOptions b;
    b.resolution = 32;
    for (size_t i = 0; i < ds.window_count(); ++i) {
        const std::string path = d.path + "/npy/" + expected_stem(ds, i) + ".npy";
        BOOST_TEST_CONTEXT(path) {
            std::string bytes = read_file(path);
            std::string h = npy_header(bytes);
            BOOST_TEST_REQUIRE(!h.empty());
            BOOST_TEST(h.find("'descr': '<u2'") != std::string::npos, h);  // counts: uint16 by default
            BOOST_TEST(h.find("'shape': (1, 32, 32)") != std::string::npos, h);
            BOOST_TEST(h.find("'fortran_order': False") != std::string::npos, h);
            BOOST_TEST(bytes.size() == 10 + h.size() + 32 * 32 * 2);
            BOOST_TEST((10 + h.size()) % 64 == 0u);
            std::vector<float> want = reference_image(ds, i, b);
            std::vector<float> got = read_npy(path).to_float();
            BOOST_TEST_REQUIRE(got.size() == want.size());
            BOOST_TEST((got == want));
            BOOST_TEST(*std::max_element(got.begin(), got.end()) > 1.f);  // real counts, not a blank
        }
    }

    // Two channels and binary values: C = 2, uint8 under --npy-dtype auto.
    auto c = run_tool("render", q(ds_path) + " --npy " + q(d.path + "/ch") +
                                    " --resolution 16 --direction channels --values binary --normalize fixed -q");
    BOOST_TEST_REQUIRE(c.exit_code == 0, c.err);
    b.resolution = 16;
    b.direction = Direction::channels;
    b.values = ValueMode::binary;
    b.normalize = Normalize::fixed;
    for (size_t i = 0; i < ds.window_count(); ++i) {
        const std::string path = d.path + "/ch/" + expected_stem(ds, i) + ".npy";
        BOOST_TEST_CONTEXT(path) {
            std::string bytes = read_file(path);
            std::string h = npy_header(bytes);
            BOOST_TEST(h.find("'descr': '|u1'") != std::string::npos, h);
            BOOST_TEST(h.find("'shape': (2, 16, 16)") != std::string::npos, h);
            BOOST_TEST(bytes.size() == 10 + h.size() + 2 * 16 * 16);
            std::vector<float> got = read_npy(path).to_float();
            BOOST_TEST((got == reference_image(ds, i, b)));
            // Both directions are present in a bi window: both channels hold ones.
            BOOST_TEST(std::count(got.begin(), got.begin() + 256, 1.f) > 0);
            BOOST_TEST(std::count(got.begin() + 256, got.end(), 1.f) > 0);
        }
    }
    // grey is one channel of uint8 too.
    auto g = run_tool("render", q(ds_path) + " --npy " + q(d.path + "/grey") + " --resolution 8 --direction grey --limit 1 -q");
    BOOST_TEST_REQUIRE(g.exit_code == 0, g.err);
    for (const auto& n : list_dir(d.path + "/grey")) {
        std::string h = npy_header(read_file(d.path + "/grey/" + n));
        BOOST_TEST(h.find("'descr': '|u1'") != std::string::npos, h);
        BOOST_TEST(h.find("'shape': (1, 8, 8)") != std::string::npos, h);
    }
}

BOOST_AUTO_TEST_CASE(npy_dataset_arrays_agree_with_the_dataset_and_numpy) {
    TempDir d;
    const std::string ds_path = make_dataset(d);
    DatasetReader ds(ds_path);
    const size_t n = ds.window_count();
    const std::string out = d.path + "/np";
    auto r = run_tool("render", q(ds_path) + " --npy-dataset " + q(out) + " --resolution 32 -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);

    NpyArray x = read_npy(out + "/X.npy"), y = read_npy(out + "/y.npy"), s = read_npy(out + "/split.npy");
    BOOST_TEST((x.shape == NpyShape{n, 1, 32, 32}));
    BOOST_TEST((x.dtype == NpyDtype::u16));
    BOOST_TEST((y.shape == NpyShape{n}));
    BOOST_TEST((y.dtype == NpyDtype::i64));
    BOOST_TEST((s.shape == NpyShape{n}));
    BOOST_TEST((s.dtype == NpyDtype::u8));
    // X.npy's count sits in a space-padded field (it is written last); numpy ignores the spaces.
    std::string xh = npy_header(read_file(out + "/X.npy"));
    xh.erase(std::remove(xh.begin(), xh.end(), ' '), xh.end());
    BOOST_TEST(xh.find("'shape':(" + std::to_string(n) + ",1,32,32)") != std::string::npos, xh);
    std::string classes;
    for (const auto& c : ds.classes()) classes += c + "\n";
    BOOST_TEST(read_file(out + "/classes.txt") == classes);

    BinningOptions b;
    b.resolution = 32;
    std::vector<float> xf = x.to_float(), yf = y.to_float(), sf = s.to_float();
    std::set<int> splits_seen;
    for (size_t i = 0; i < n; ++i) {
        BOOST_TEST_CONTEXT("window " << i) {
            std::vector<float> want = reference_image(ds, i, b);
            BOOST_TEST(std::equal(want.begin(), want.end(), xf.begin() + i * want.size()));
            BOOST_TEST(yf[i] == float(ds.label(i)));
            BOOST_TEST(sf[i] == float(ds.split(i)));
            splits_seen.insert(ds.split(i));
        }
    }
    BOOST_TEST(splits_seen.size() == 3u);  // the filter test below needs every split

    if (!has_numpy()) {
        BOOST_TEST_MESSAGE("render_cli: /usr/bin/python3 with numpy not found; numpy check skipped");
        return;
    }
    // numpy reads the files as we mean them: X against the C++ reference (raw float32,
    // not through our .npy writer) and against numpy.histogram2d on the packet lists, the
    // authors' own binning; y and split against the dataset.
    std::string ref_x, ref_y, ref_s, packets;
    for (size_t i = 0; i < n; ++i) {
        std::vector<float> img = reference_image(ds, i, b);
        ref_x.append(reinterpret_cast<const char*>(img.data()), img.size() * sizeof(float));
        ref_y += std::to_string(ds.label(i)) + " ";
        ref_s += std::to_string(ds.split(i)) + " ";
    }
    for (size_t i : {size_t(0), n - 1}) {
        DatasetWindow w = ds.window(i);
        packets += std::to_string(i);
        for (uint32_t k = 0; k < w.packets.count; ++k)
            packets += " " + std::to_string(w.packets.packets[k].t_us) + ":" + std::to_string(w.packets.packets[k].size);
        packets += "\n";
    }
    write_file(d.path + "/ref_x.f32", ref_x);
    write_file(d.path + "/ref_y.txt", ref_y);
    write_file(d.path + "/ref_s.txt", ref_s);
    write_file(d.path + "/packets.txt", packets);
    write_file(d.path + "/check.py", R"(import sys
import numpy as np
d, out, n = sys.argv[1], sys.argv[2], 32
X = np.load(out + '/X.npy'); y = np.load(out + '/y.npy'); s = np.load(out + '/split.npy')
assert X.dtype == np.uint16 and X.ndim == 4 and X.shape[1:] == (1, n, n), (X.dtype, X.shape)
assert y.dtype == np.int64 and s.dtype == np.uint8, (y.dtype, s.dtype)
ref = np.fromfile(d + '/ref_x.f32', dtype='<f4').reshape(X.shape)
assert np.array_equal(X.astype(np.float32), ref), 'X differs from the C++ reference'
assert np.array_equal(y, np.array(open(d + '/ref_y.txt').read().split(), dtype=np.int64)), 'y differs'
assert np.array_equal(s, np.array(open(d + '/ref_s.txt').read().split(), dtype=np.uint8)), 'split differs'
classes = open(out + '/classes.txt').read().split('\n')[:-1]
assert y.min() >= 0 and y.max() < len(classes)
for line in open(d + '/packets.txt'):
    f = line.split()
    i = int(f[0])
    t = np.array([int(p.split(':')[0]) for p in f[1:]], dtype=np.int64)
    size = np.array([int(p.split(':')[1]) for p in f[1:]], dtype=np.int64)
    ts = (t - t[0]) / (t[-1] - t[0]) * n
    H, _, _ = np.histogram2d(size * n / 1500, ts, bins=(range(0, n + 1), range(0, n + 1)))
    assert np.array_equal(X[i, 0].astype(np.float64), H), 'window %d differs from numpy.histogram2d' % i
print('ok', X.shape[0])
)");
    const std::string cmd = "/usr/bin/python3 " + q(d.path + "/check.py") + " " + q(d.path) + " " + q(out) + " >" +
                            q(d.path + "/py.log") + " 2>&1";
    int status = std::system(cmd.c_str());
    const std::string log = read_file(d.path + "/py.log");
    BOOST_TEST(status == 0, log);
    BOOST_TEST(log == "ok " + std::to_string(n) + "\n", log);
}

BOOST_AUTO_TEST_CASE(split_filter_and_limit_select_windows) {
    TempDir d;
    const std::string ds_path = make_dataset(d);
    DatasetReader ds(ds_path);
    std::vector<size_t> test;
    for (size_t i = 0; i < ds.window_count(); ++i)
        if (ds.split(i) == kSplitTest) test.push_back(i);
    BOOST_TEST_REQUIRE(!test.empty());
    BOOST_TEST_REQUIRE(test.size() < ds.window_count());
    const std::string out = d.path + "/test";
    auto r = run_tool("render", q(ds_path) + " --npy-dataset " + q(out) + " --resolution 16 --values binary --split test -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    NpyArray x = read_npy(out + "/X.npy"), y = read_npy(out + "/y.npy"), s = read_npy(out + "/split.npy");
    BOOST_TEST((x.shape == NpyShape{test.size(), 1, 16, 16}));
    BOOST_TEST((x.dtype == NpyDtype::u8));
    BOOST_TEST_REQUIRE(s.shape[0] == test.size());
    BOOST_TEST_REQUIRE(y.shape[0] == test.size());
    BinningOptions b;
    b.resolution = 16;
    b.values = ValueMode::binary;
    std::vector<float> xf = x.to_float(), yf = y.to_float(), sf = s.to_float();
    for (size_t k = 0; k < test.size(); ++k) {
        BOOST_TEST(sf[k] == float(kSplitTest));
        BOOST_TEST(yf[k] == float(ds.label(test[k])));
        std::vector<float> want = reference_image(ds, test[k], b);
        BOOST_TEST(std::equal(want.begin(), want.end(), xf.begin() + k * want.size()));
    }
    // The class table is the dataset's whole table, even when a split lacks a class.
    std::string classes;
    for (const auto& c : ds.classes()) classes += c + "\n";
    BOOST_TEST(read_file(out + "/classes.txt") == classes);

    // --limit counts per class among the selected windows.
    auto l = run_tool("render", q(ds_path) + " --npy-dataset " + q(d.path + "/lim") + " --resolution 8 --limit 2 -q --json");
    BOOST_TEST_REQUIRE(l.exit_code == 0, l.err);
    NpyArray ly = read_npy(d.path + "/lim/y.npy");
    std::vector<float> lyf = ly.to_float();
    BOOST_TEST(lyf.size() == 4u);
    BOOST_TEST(std::count(lyf.begin(), lyf.end(), 0.f) == 2);
    BOOST_TEST(std::count(lyf.begin(), lyf.end(), 1.f) == 2);
    BOOST_TEST(l.out.find("\"windows\":4") != std::string::npos, l.out);
}

BOOST_AUTO_TEST_CASE(from_captures_directly_class_capture_same_images_as_via_prep) {
    TempDir d;
    const std::string cap = d.path + "/call.pcap";
    write_file(cap, busy_capture(7, 185, 45000));
    // The same capture through prep (one class, everything in train) and rendered.
    auto p = run_tool("prep", q(cap) + " -o " + q(d.path + "/d.fpd") + " --label x --split 1,0,0 -q");
    BOOST_TEST_REQUIRE(p.exit_code == 0, p.err);
    DatasetReader ds(d.path + "/d.fpd");
    BOOST_TEST_REQUIRE(ds.window_count() >= 4u);  // 3 windows per direction, uni flows
    auto viads = run_tool("render", q(d.path + "/d.fpd") + " --npy-dataset " + q(d.path + "/a") + " --resolution 24 -q");
    BOOST_TEST_REQUIRE(viads.exit_code == 0, viads.err);

    auto r = run_tool("render", q(cap) + " --npy-dataset " + q(d.path + "/b") + " --png " + q(d.path + "/png") +
                                    " --resolution 24 -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST(read_file(d.path + "/b/classes.txt") == "capture\n");
    NpyArray y = read_npy(d.path + "/b/y.npy"), s = read_npy(d.path + "/b/split.npy");
    BOOST_TEST_REQUIRE(y.shape[0] == ds.window_count());
    for (float v : y.to_float()) BOOST_TEST(v == 0.f);
    for (float v : s.to_float()) BOOST_TEST(v == float(kSplitTrain));
    // Same windows, same order, same pixels as the dataset route.
    BOOST_TEST((read_file(d.path + "/b/X.npy") == read_file(d.path + "/a/X.npy")));
    auto pngs = list_dir(d.path + "/png");
    BOOST_TEST(pngs.size() == ds.window_count());
    for (const auto& n : pngs) BOOST_TEST(n.rfind("capture_call-c0_f", 0) == 0u, n);

    // The window flags apply: 30 s windows give more of them.
    auto w = run_tool("render", q(cap) + " --npy " + q(d.path + "/w30") + " --resolution 8 --window 30 -q");
    BOOST_TEST_REQUIRE(w.exit_code == 0, w.err);
    BOOST_TEST(list_dir(d.path + "/w30").size() > ds.window_count());
}

// Two captures with one base name in different directories (flow ids restart in every
// capture) must not overwrite each other's pictures: names carry the capture index.
BOOST_AUTO_TEST_CASE(same_capture_name_in_two_directories_loses_no_picture) {
    TempDir d;
    mkdir((d.path + "/day1").c_str(), 0755);
    mkdir((d.path + "/day2").c_str(), 0755);
    write_file(d.path + "/day1/call.pcap", busy_capture(11, 125, 47000));
    write_file(d.path + "/day2/call.pcap", busy_capture(12, 125, 47000));
    auto p = run_tool("prep", q(d.path) + " -o " + q(d.path + "/d.fpd") + " --label voip -q");
    BOOST_TEST_REQUIRE(p.exit_code == 0, p.err);
    DatasetReader ds(d.path + "/d.fpd");
    BOOST_TEST_REQUIRE(ds.captures().size() == 2u);
    for (const char* kind : {"--png", "--npy"}) {
        BOOST_TEST_CONTEXT(kind) {
            const std::string out = d.path + "/out" + kind;
            auto r = run_tool("render", q(d.path + "/d.fpd") + " " + kind + " " + q(out) + " --resolution 8 -q");
            BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
            BOOST_TEST(list_dir(out).size() == ds.window_count());
        }
    }
}

BOOST_AUTO_TEST_CASE(bad_inputs_exit_codes_and_messages) {
    TempDir d;
    const std::string cap = d.path + "/c.pcap";
    write_file(cap, busy_capture(3, 65, 46000));
    const std::string out = q(d.path + "/out");
    struct Bad {
        std::string what, args;
        int code;
        std::string message;
    };
    const std::vector<Bad> bad = {
        {"nothing to write", q(cap), 2, "nothing to write"},
        {"resolution 0", q(cap) + " --npy " + out + " --resolution 0", 2, "--resolution"},
        {"resolution 1501", q(cap) + " --npy " + out + " --resolution 1501", 2, "--resolution"},
        {"bad normalize", q(cap) + " --npy " + out + " --normalize sideways", 2, "--normalize"},
        {"bad values", q(cap) + " --npy " + out + " --values many", 2, "--values"},
        {"bad direction", q(cap) + " --npy " + out + " --direction up", 2, "--direction"},
        {"bad npy dtype", q(cap) + " --npy " + out + " --npy-dtype f64", 2, "--npy-dtype"},
        {"bad split", q(cap) + " --npy " + out + " --split holdout", 2, "--split"},
        {"missing input", q(d.path + "/nope.fpd") + " --npy " + out, 1, "nope.fpd"},
        {"not a capture", q(d.path + "/notes.txt") + " --npy " + out, 1, "notes.txt"},
    };
    write_file(d.path + "/notes.txt", "not a capture\n");
    for (const Bad& b : bad) {
        BOOST_TEST_CONTEXT(b.what << ": " << b.args) {
            auto r = run_tool("render", b.args);
            BOOST_TEST(r.exit_code == b.code);
            BOOST_TEST(count_lines(r.err) == 1u, r.err);
            BOOST_TEST(r.err.find(b.message) != std::string::npos, r.err);
            BOOST_TEST(r.err.rfind("flowpic-render: ", 0) == 0u, r.err);
            BOOST_TEST(list_dir(d.path + "/out").empty());  // nothing written
        }
    }
    BOOST_TEST(run_tool("render", "--npy " + out).exit_code == 2);  // no input at all

    // A dataset with a flipped byte past its magic: a clear error, not a crash.
    auto p = run_tool("prep", q(cap) + " -o " + q(d.path + "/d.fpd") + " --label x -q");
    BOOST_TEST_REQUIRE(p.exit_code == 0, p.err);
    std::string bytes = read_file(d.path + "/d.fpd");
    bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 0x01);
    write_file(d.path + "/bad.fpd", bytes);
    auto c = run_tool("render", q(d.path + "/bad.fpd") + " --npy-dataset " + q(d.path + "/np"));
    BOOST_TEST(c.exit_code == 1);
    BOOST_TEST(count_lines(c.err) == 1u, c.err);
    BOOST_TEST(c.err.find("bad.fpd") != std::string::npos, c.err);
    BOOST_TEST(!file_exists(d.path + "/np/X.npy"));
}

BOOST_AUTO_TEST_SUITE_END()
