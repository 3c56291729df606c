// flowpic's FlowPics against the tcbench protocol written literally in numpy
// (tests/tcbench_binning.py: first 15 s, sizes clipped to 1500, x = size / 1500 * dim,
// y = t / 15 * dim, numpy.histogram2d with bins range(dim + 1), clip 255), element by
// element, on UCDavis-format text flows.
//
// flowpic gets the same packets two ways that exist today (the time-series reader is
// another part of issue 12): (1) the text parsed here into packets (time = the file's
// "time since first" column in ns, as the reader must take it: the first column minus
// the first packet's differs from it by up to 0.5 ms), fed to the WindowCollector with
// --first 15 --clip-sizes and binned by the scalar reference and the fast CPU binning;
// (2) a pcap per flow with the same packet times and sizes through flowpic-prep --first 15
// --clip-sizes and flowpic-render --normalize fixed --max-count 255 --bin-arith tcbench.
//
// Crafted flows hold the edges: a packet at exactly 15 s and just before and after,
// sizes 1500 and above, times on every bin edge of 32, 64 and 1500, the sizes whose
// bins differ between size * N / 1500 and size / 1500 * N at 1500, > 255 packets in one
// pixel, times in exponent form.  The one residual difference (a time with sub-us digits
// just after a bin edge: flowpic stores whole microseconds) has its own case.  20 real
// flows from /work/out/ucdavis are compared too when that directory is there.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <pcap.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "flowpic/dataset_file.h"
#include "flowpic/npy.h"
#include "flowpic/windowing.h"
#include "kernels/cpu/binning.h"
#include "kernels/cpu/binning_avx2.h"
#include "tests/pcap_builder.h"
#include "tests/util.h"

using namespace flowpic;

namespace {

constexpr int64_t kT0 = 1522953991LL * 1000000000LL;  // the absolute base of the packets

struct TextPacket {
    std::string time;  // the "time since first" column as written
    uint32_t size;
    uint8_t dir;
};

// One flow file in the UCDavis format (absolute time, time since first, size, direction).
std::string flow_text(const std::vector<TextPacket>& pk) {
    std::string s;
    for (const TextPacket& p : pk) {
        char abs[64];
        std::snprintf(abs, sizeof abs, "%.9f", double(kT0) / 1e9 + std::strtod(p.time.c_str(), nullptr));
        s += std::string(abs) + "\t" + p.time + "\t" + std::to_string(p.size) + "\t" + std::to_string(p.dir) + "\n";
    }
    return s;
}

// The file's packets as flowpic takes them: time since first in whole nanoseconds.
std::vector<FlowPacket> parse_flow(const std::string& path) {
    std::ifstream in(path);
    std::vector<FlowPacket> out;
    std::string line;
    for (int k = 1; std::getline(in, line); ++k) {
        if (line.empty()) continue;
        std::istringstream cols(line);
        std::string abs, t, size, dir;
        std::getline(cols, abs, '\t');
        std::getline(cols, t, '\t');
        std::getline(cols, size, '\t');
        std::getline(cols, dir, '\t');
        BOOST_REQUIRE_MESSAGE(!dir.empty(), path << ":" << k << ": not 4 columns");
        // Exact for up to 9 decimals (|error| of the product < 1e-5 ns); rounded below 1 ns.
        out.push_back({kT0 + std::llround(std::strtod(t.c_str(), nullptr) * 1e9), uint32_t(std::stoul(size)),
                       uint8_t(std::stoi(dir))});
    }
    return out;
}

BinningOptions tcbench_binning(int dim) {
    BinningOptions o;
    o.resolution = dim;
    o.normalize = Normalize::fixed;
    o.values = ValueMode::count;
    o.direction = Direction::none;
    o.max_count = 255;
    o.arith = BinArith::tcbench;
    return o;
}

WindowOptions tcbench_windows() {
    WindowOptions w;
    w.first_s = 15;
    w.view = FlowView::kBi;
    w.sizes = SizeRule::kClip;
    w.min_packets = 1;
    w.validate();
    return w;
}

// flowpic's image of one flow file by path (1): the streaming collector with --first 15
// --clip-sizes, then binning.  An empty image when the flow gives no window.
std::vector<float> flowpic_image(const std::string& path, int dim, bool fast) {
    const BinningOptions b = tcbench_binning(dim);
    std::vector<float> img(image_size(b), 0.0f);
    std::vector<Window> got;
    WindowCollector col(tcbench_windows(), [&](Window&& w) { got.push_back(std::move(w)); });
    bool first = true;
    for (const FlowPacket& q : parse_flow(path)) {
        Packet p;
        p.ts_ns = q.ts_ns;
        p.ip_len = q.size;
        col.add(FlowHit{0, q.dir, kT0, first}, p);
        first = false;
    }
    FlowRecord r;
    col.end_flow(r);
    BOOST_REQUIRE(got.size() <= 1u);
    if (got.empty()) return img;
    const PacketListView v{got[0].packets.data(), uint32_t(got[0].packets.size()), got[0].length_us};
    BOOST_REQUIRE_EQUAL(v.length_us, 15000000u);
    if (fast) DenseBinner().bin(&v, 1, b, img.data());
    else bin_dense_ref(&v, 1, b, img.data());
    return img;
}

bool have_numpy() { return std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0; }

// The script's images (N x dim x dim uint8) for the flow files, in order.
NpyArray numpy_images(const std::vector<std::string>& paths, int dim, const std::string& dir) {
    const std::string list = dir + "/flows-" + std::to_string(dim) + ".txt", out = dir + "/np-" + std::to_string(dim) + ".npy";
    std::string names;
    for (const auto& p : paths) names += p + "\n";
    write_file(list, names);
    const std::string cmd = "/usr/bin/python3 tests/tcbench_binning.py --dim " + std::to_string(dim) + " --list '" + list +
                            "' --out '" + out + "'";
    BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
    NpyArray a = read_npy(out);
    BOOST_REQUIRE(a.dtype == NpyDtype::u8);
    BOOST_REQUIRE(a.shape == NpyShape({uint64_t(paths.size()), uint64_t(dim), uint64_t(dim)}));
    return a;
}

// Element by element; returns the number of differing pixels (the first few reported as
// errors unless `expected`).
size_t compare(const std::vector<float>& got, const uint8_t* want, int dim, const std::string& what,
               bool expected = false) {
    size_t diff = 0;
    for (size_t i = 0; i < size_t(dim) * size_t(dim); ++i)
        if (got[i] != float(want[i]) && ++diff <= 3 && !expected)
            BOOST_ERROR(what << ": pixel (size bin " << i / size_t(dim) << ", time bin " << i % size_t(dim)
                             << "): flowpic " << got[i] << ", numpy " << int(want[i]));
    return diff;
}

std::string fmt(const char* f, double v) {
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

// The crafted flows (sizes >= 28, so each is also a UDP/IPv4 capture).
std::vector<std::vector<TextPacket>> crafted_flows() {
    std::vector<std::vector<TextPacket>> flows;
    // 0: the 15 s boundary, sizes at and above 1500, > 255 packets in one pixel.
    std::vector<TextPacket> a = {{"0", 1500, 1}, {"14.9999", 1501, 0}, {"14.999999", 3000, 1}, {"15", 700, 1},
                                 {"15.000001", 700, 0}, {"15.5", 100, 1}, {"7.5", 65535, 0}};
    for (int i = 0; i < 400; ++i) a.push_back({"1", 750, uint8_t(i % 2)});
    for (int i = 0; i < 300; ++i) a.push_back({"2.00000" + std::to_string(i % 10), 1450, 1});
    std::stable_sort(a.begin(), a.end(), [](auto& x, auto& y) { return std::strtod(x.time.c_str(), nullptr) < std::strtod(y.time.c_str(), nullptr); });
    flows.push_back(a);
    // 1: a packet on every time bin edge of 32, 64 and 1500, in 6-significant-digit text.
    std::vector<double> edges;
    for (int dim : {32, 64, 1500})
        for (int k = 0; k < dim; ++k) edges.push_back(15.0 * k / dim);
    std::sort(edges.begin(), edges.end());
    std::vector<TextPacket> b;
    for (size_t i = 0; i < edges.size(); ++i) b.push_back({fmt("%.6g", edges[i]), uint32_t(28 + i % 1473), uint8_t(i % 2)});
    flows.push_back(b);
    // 2: every size 28..1500 once (row edges, and the 78 sizes whose bin at 1500 depends on
    // dividing first), at times spread over the 15 s, exponent form near 0.
    std::vector<TextPacket> c = {{"0", 40, 1}, {"6.69956e-05", 1412, 0}, {"3.2e-06", 87, 0}};
    for (uint32_t s = 28; s <= 1500; ++s) c.push_back({fmt("%.6g", 0.01 + (s - 28) * 0.0101), s, uint8_t(s % 2)});
    flows.push_back(c);
    // 3-5: random flows like the real ones (6 significant digits, hot sizes, bursts).
    uint64_t seed = 42;
    auto rnd = [&] { seed = seed * 6364136223846793005ULL + 1442695040888963407ULL; return double(seed >> 11) / 9007199254740992.0; };
    for (int f = 0; f < 3; ++f) {
        std::vector<TextPacket> r = {{"0", 1350, 1}};
        double t = 0;
        for (int i = 0; i < 3000; ++i) {
            t += rnd() < 0.05 ? rnd() * 0.5 : rnd() * 0.01;
            const double u = rnd();
            const uint32_t size = u < 0.3 ? 1412 : u < 0.5 ? 87 : u < 0.52 ? 1600 : uint32_t(28 + rnd() * 1472);
            r.push_back({fmt("%.6g", t), size, uint8_t(rnd() < 0.4)});
        }
        flows.push_back(r);
    }
    return flows;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tcbench_binning)

BOOST_AUTO_TEST_CASE(crafted_flows_equal_numpy) {
    if (!have_numpy()) {
        BOOST_TEST_MESSAGE("skipped: /usr/bin/python3 has no numpy");
        return;
    }
    TempDir d;
    const auto flows = crafted_flows();
    std::vector<std::string> paths;
    for (size_t i = 0; i < flows.size(); ++i) {
        paths.push_back(d.path + "/flow-" + std::to_string(i) + ".txt");
        write_file(paths.back(), flow_text(flows[i]));
    }
    for (int dim : {32, 64, 1500}) {
        const NpyArray want = numpy_images(paths, dim, d.path);
        size_t capped = 0;
        for (size_t i = 0; i < paths.size(); ++i) {
            const uint8_t* w = want.data.data() + i * size_t(dim) * size_t(dim);
            for (size_t k = 0; k < size_t(dim) * size_t(dim); ++k) capped += w[k] == 255;
            for (bool fast : {false, true})
                BOOST_TEST(compare(flowpic_image(paths[i], dim, fast), w, dim,
                                   "flow " + std::to_string(i) + " at " + std::to_string(dim) + (fast ? " fast" : " reference")) == 0u);
        }
        BOOST_TEST(capped >= 1u, "no pixel reaches the cap at " << dim);
    }
}

// The same packets as captures through the tools: prep --first 15 --clip-sizes, render
// --normalize fixed --max-count 255 --bin-arith tcbench (uint16 output, so a count above
// the cap would show).
BOOST_AUTO_TEST_CASE(prep_and_render_equal_numpy) {
    if (!have_numpy()) {
        BOOST_TEST_MESSAGE("skipped: /usr/bin/python3 has no numpy");
        return;
    }
    using namespace flowpic::testing;
    TempDir d;
    const auto flows = crafted_flows();
    std::vector<std::string> paths;
    const std::string caps = d.path + "/caps";
    BOOST_REQUIRE_EQUAL(std::system(("mkdir -p '" + caps + "'").c_str()), 0);
    for (size_t i = 0; i < flows.size(); ++i) {
        paths.push_back(d.path + "/flow-" + std::to_string(i) + ".txt");
        write_file(paths.back(), flow_text(flows[i]));
        PcapFile f(DLT_EN10MB, 64);
        for (const FlowPacket& q : parse_flow(paths.back())) {
            const bool up = q.dir == 1;
            L4 l4{17, up ? uint16_t(40000) : uint16_t(443), up ? uint16_t(443) : uint16_t(40000), q.size - 28};
            const std::string frame = ethernet(0x0800, up ? ipv4(l4) : ipv4(l4, 0xc0a80101, 0x0a000001));
            f.add(q.ts_ns, frame, std::min<int64_t>(64, int64_t(frame.size())), int64_t(frame.size()));
        }
        write_file(caps + "/flow-" + std::to_string(i) + ".pcap", f.bytes);
    }
    const std::string ds_path = d.path + "/d.fpd";
    auto r = run_tool("prep", "'" + caps + "' -o '" + ds_path + "' --label x --first 15 --clip-sizes --min-packets 1 "
                      "--split 1,0,0 -q");
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    DatasetReader ds(ds_path);
    BOOST_REQUIRE_EQUAL(ds.window_count(), flows.size());
    for (int dim : {32, 1500}) {
        const std::string out = d.path + "/np" + std::to_string(dim);
        r = run_tool("render", "'" + ds_path + "' --npy-dataset '" + out + "' --resolution " + std::to_string(dim) +
                     " --normalize fixed --max-count 255 --bin-arith tcbench -q");
        BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
        const NpyArray got = read_npy(out + "/X.npy");
        BOOST_REQUIRE(got.shape == NpyShape({uint64_t(flows.size()), 1, uint64_t(dim), uint64_t(dim)}));
        const std::vector<float> gotf = got.to_float();
        const NpyArray want = numpy_images(paths, dim, d.path);
        for (size_t i = 0; i < ds.window_count(); ++i) {
            // Window i's capture is flow-K.pcap: compare it with flow K's numpy image.
            const std::string cap = ds.captures()[ds.window(i).prov.capture];
            const size_t k = std::stoul(cap.substr(cap.rfind("flow-") + 5));
            const std::vector<float> img(gotf.begin() + std::ptrdiff_t(i * size_t(dim) * dim),
                                         gotf.begin() + std::ptrdiff_t((i + 1) * size_t(dim) * dim));
            BOOST_TEST(compare(img, want.data.data() + k * size_t(dim) * dim, dim,
                               cap + " at " + std::to_string(dim)) == 0u);
        }
    }
}

// The residual difference: flowpic keeps whole microseconds, so a time with sub-us digits
// just after an edge that numpy's double arithmetic puts in the lower bin at the edge
// itself (0.29 s at 1500: 0.29 / 15 * 1500 = 28.999999999999996) falls in that lower bin
// in flowpic (t_us = 290000 is the edge) and in the upper one in numpy (0.2900003 s).
// At 32 and 64 every edge is a whole microsecond and lands in its upper bin both ways,
// so there is no such case; in the UCDavis text (6 significant digits) sub-us digits
// occur only below 0.1 s, where 1500's edges are 0.01 .. 0.09 s.
BOOST_AUTO_TEST_CASE(the_one_residual_difference) {
    if (!have_numpy()) {
        BOOST_TEST_MESSAGE("skipped: /usr/bin/python3 has no numpy");
        return;
    }
    TempDir d;
    const std::string path = d.path + "/flow.txt";
    write_file(path, flow_text({{"0", 100, 1}, {"0.2900003", 700, 1}}));
    const NpyArray want = numpy_images({path}, 1500, d.path);
    const std::vector<float> got = flowpic_image(path, 1500, false);
    const size_t row = 700;
    BOOST_TEST(want.data[row * 1500 + 29] == 1);
    BOOST_TEST(got[row * 1500 + 28] == 1.0f);
    BOOST_TEST(compare(got, want.data.data(), 1500, "", true) == 2u);  // that pixel, each way
    for (int dim : {32, 64}) {  // no difference there
        const NpyArray w = numpy_images({path}, dim, d.path);
        BOOST_TEST(compare(flowpic_image(path, dim, false), w.data.data(), dim, "at " + std::to_string(dim)) == 0u);
    }
}

// 20 real flows (the first 4 files of each class, by name), when extracted.
BOOST_AUTO_TEST_CASE(real_ucdavis_flows_equal_numpy) {
    const std::string root = "/work/out/ucdavis";
    if (!file_exists(root + "/.complete") || !have_numpy()) {
        BOOST_TEST_MESSAGE("skipped: no " << root << " (or no numpy)");
        return;
    }
    std::vector<std::string> paths;
    for (const char* cls : {"Google Doc", "Google Drive", "Google Music", "Google Search", "Youtube"}) {
        std::vector<std::string> files = list_dir(root + "/" + cls);
        std::sort(files.begin(), files.end());
        for (size_t i = 0; i < files.size() && i < 4; ++i) paths.push_back(root + "/" + cls + "/" + files[i]);
    }
    BOOST_REQUIRE_EQUAL(paths.size(), 20u);
    TempDir d;
    for (int dim : {32, 64, 1500}) {
        const NpyArray want = numpy_images(paths, dim, d.path);
        size_t counts = 0;
        for (size_t i = 0; i < paths.size(); ++i) {
            const std::vector<float> got = flowpic_image(paths[i], dim, true);
            for (float v : got) counts += size_t(v);
            BOOST_TEST(compare(got, want.data.data() + i * size_t(dim) * dim, dim, paths[i] + " at " + std::to_string(dim)) == 0u);
        }
        BOOST_TEST(counts > 1000u);
        BOOST_TEST_MESSAGE(dim << "x" << dim << ": 20 real flows equal to numpy (pixel values sum to " << counts << ")");
    }
}

BOOST_AUTO_TEST_SUITE_END()
