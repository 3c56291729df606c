// The tcbench rule's two binning options (kernels/cpu/binning.h): the count cap
// (max_count, --max-count) and the tcbench arithmetic (arith, --bin-arith).  The exact
// rule on crafted windows in the scalar reference (dense float, dense uint16, sparse
// pixels, conv1 entries); the fast CPU binning against the reference on random windows
// with hot pixels for every mode, cap and arithmetic; the settings' round trip.  (The
// backends, CUDA included, are in test_backend_ops' bin_dense / packet_entries rows; numpy's
// own answer is test_tcbench_binning.)
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "apps/binning_flags.h"
#include "core/error.h"
#include "flowpic/settings.h"
#include "kernels/conv2d_sparse.h"
#include "kernels/cpu/binning.h"
#include "kernels/cpu/binning_avx2.h"
#include "synth/random_windows.h"
#include "tests/binning_modes.h"
#include "tests/conv2d_cases.h"

using namespace flowpic;

namespace {

// Pixel (ch, row, col) of a C x N x N image.
template <typename T>
T at(const std::vector<T>& img, int n, int ch, int row, int col) {
    return img[(size_t(ch) * size_t(n) + size_t(row)) * size_t(n) + size_t(col)];
}

// 32 x 32, fixed over 15 s: 200 client->server and 100 server->client packets of 750 B
// at t = 1 s (row 16, col 2), and 2 packets of 100 B at 14 s (row 2, col 29), interleaved.
std::vector<WindowPacket> crowded() {
    std::vector<WindowPacket> p;
    for (int i = 0; i < 300; ++i) p.push_back({1000000, 750, uint8_t(i % 3 != 2), 0});
    p.push_back({14000000, 100, 1, 0});
    p.push_back({14000000, 100, 0, 0});
    return p;
}

BinningOptions tcbench32(uint32_t cap) {
    BinningOptions o;
    o.resolution = 32;
    o.normalize = Normalize::fixed;
    o.max_count = cap;
    return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(binning_cap)

BOOST_AUTO_TEST_CASE(reference_caps_counts_after_counting) {
    const std::vector<WindowPacket> p = crowded();
    const PacketListView w{p.data(), uint32_t(p.size()), 15000000};
    for (uint32_t cap : {0u, 1u, 150u, 255u, 300u, 65535u}) {
        BOOST_TEST_CONTEXT("max_count " << cap) {
            const uint32_t want = cap && cap < 300 ? cap : 300;  // min(count, cap)
            BinningOptions o = tcbench32(cap);
            std::vector<float> img(image_size(o), -1.0f);
            bin_dense_ref(&w, 1, o, img.data());
            BOOST_TEST(at(img, 32, 0, 16, 2) == float(want));
            BOOST_TEST(at(img, 32, 0, 2, 29) == (cap == 1 ? 1.0f : 2.0f));
            float sum = 0;
            for (float v : img) sum += v;
            BOOST_TEST(sum == float(want + (cap == 1 ? 1 : 2)));  // nothing else written
            std::vector<uint16_t> img16(image_size(o), 7);
            bin_dense_u16_ref(&w, 1, o, img16.data());
            BOOST_TEST(at(img16, 32, 0, 16, 2) == want);
            std::vector<SparsePixel> px;
            bin_sparse_ref(w, o, px);
            BOOST_REQUIRE_EQUAL(px.size(), 2u);
            BOOST_TEST(px[1].value == float(want));  // (2, 29) comes first
            // Channels: each direction's count capped on its own (200 up, 100 down).
            o.direction = Direction::channels;
            std::vector<float> ch(image_size(o));
            bin_dense_ref(&w, 1, o, ch.data());
            BOOST_TEST(at(ch, 32, 0, 16, 2) == float(cap ? std::min(cap, 200u) : 200u));
            BOOST_TEST(at(ch, 32, 1, 16, 2) == float(cap ? std::min(cap, 100u) : 100u));
            // Binary and grey are not counts: the cap leaves them alone.
            o.direction = Direction::grey;
            bin_dense_ref(&w, 1, o, img.data());
            BOOST_TEST(at(img, 32, 0, 16, 2) == 200.0f);
            o.direction = Direction::none;
            o.values = ValueMode::binary;
            bin_dense_ref(&w, 1, o, img.data());
            BOOST_TEST(at(img, 32, 0, 16, 2) == 1.0f);
        }
    }
    BinningOptions bad = tcbench32(65536);
    BOOST_CHECK_THROW(validate(bad), UsageError);
}

// Entries stay one per packet; the packets of a pixel past its first max_count (in packet
// order) carry 0, so the densified entries are the capped image.
BOOST_AUTO_TEST_CASE(entries_zero_the_packets_past_the_cap) {
    const std::vector<WindowPacket> p = crowded();
    const PacketListView w{p.data(), uint32_t(p.size()), 15000000};
    for (Direction dir : {Direction::none, Direction::channels}) {
        BinningOptions o = tcbench32(150);
        o.direction = dir;
        std::vector<SparsePixel> entries;
        std::vector<uint32_t> offsets;
        packets_to_entries_ref(&w, 1, o, entries, offsets);
        BOOST_REQUIRE_EQUAL(entries.size(), p.size());
        uint32_t ones[2] = {0, 0};  // per channel, in the crowded pixel
        for (size_t i = 0; i < 300; ++i) {
            const SparsePixel& e = entries[i];
            BOOST_TEST(e.row == 16u);
            BOOST_TEST(e.col == 2u);
            const uint32_t before = ones[e.channel];
            BOOST_TEST(e.value == (before < 150 ? 1.0f : 0.0f), "packet " << i);
            ones[e.channel] += e.value == 1.0f;
        }
        BOOST_TEST(entries[300].value == 1.0f);
        BOOST_TEST(entries[301].value == 1.0f);
        const Conv2dShape s = conv_same(1, channels(o), 32, 32, 1, 1, 1, 1);
        std::vector<float> dense(image_size(o)), want(image_size(o));
        sparse_to_dense_ref(s, entries.data(), offsets.data(), dense.data());
        bin_dense_ref(&w, 1, o, want.data());
        BOOST_TEST(dense == want);
    }
}

// Over a batch of random windows with hot pixels (the per-pixel counts must start from
// zero in every window and every call), densified entries are the capped dense images.
BOOST_AUTO_TEST_CASE(entries_densify_to_the_capped_images_over_batches) {
    RandomWindowOptions ro;
    ro.windows = 9;
    ro.min_packets = 1;
    ro.max_packets = 3000;
    ro.hot = {40, 1500};
    ro.hot_share = 0.6;
    ro.oversize_share = 0.02;
    ro.ties_share = 0.3;
    ro.seed = 99;
    const RandomWindows ws = random_windows(ro);
    const std::vector<PacketListView> views = ws.views();
    size_t zeroed = 0;
    for (int n : {32, 300})
        for (uint32_t cap : {1u, 5u, 255u})
            for (Direction dir : {Direction::none, Direction::channels})
                for (int call = 0; call < 2; ++call) {
                    BinningOptions o{n, call ? Normalize::fixed : Normalize::span, ValueMode::count, dir, cap,
                                     call ? BinArith::tcbench : BinArith::flowpic};
                    std::vector<SparsePixel> entries;
                    std::vector<uint32_t> offsets;
                    packets_to_entries_ref(views.data(), views.size(), o, entries, offsets);
                    const Conv2dShape s = conv_same(int(views.size()), channels(o), n, n, 1, 1, 1, 1);
                    std::vector<float> got(views.size() * image_size(o)), want(got.size());
                    sparse_to_dense_ref(s, entries.data(), offsets.data(), got.data());
                    bin_dense_ref(views.data(), views.size(), o, want.data());
                    BOOST_TEST(got == want, format_options(o));
                    for (const SparsePixel& e : entries) zeroed += e.value == 0.0f && (e.row || e.col);
                }
    BOOST_TEST(zeroed > 10000u);
}

// Values numpy gives (tests/tcbench_binning.py's arithmetic, checked there against numpy
// itself): at N = 1500, size 27 is 27 / 1500 * 1500 = 26.999999999999996 (bin 26) for
// tcbench and 27 * 1500 / 1500 = 27 for flowpic; in a fixed 15 s window, 0.27 s is
// 0.27 / 15 * 1500 = 27.000000000000004 (bin 27) in seconds and 270000 / 15e6 * 1500 =
// 26.999999999999996 (26) in microseconds; 0.29 s the other way (28 against 29).
BOOST_AUTO_TEST_CASE(tcbench_arithmetic_on_the_edges_where_it_differs) {
    const std::vector<WindowPacket> p = {{270000, 27, 1, 0}, {290000, 750, 1, 0}};
    const PacketListView w{p.data(), uint32_t(p.size()), 15000000};
    BinningOptions o;
    o.resolution = 1500;
    o.normalize = Normalize::fixed;
    std::vector<SparsePixel> flowpic, tcbench;
    bin_sparse_ref(w, o, flowpic);
    o.arith = BinArith::tcbench;
    bin_sparse_ref(w, o, tcbench);
    BOOST_REQUIRE_EQUAL(flowpic.size(), 2u);
    BOOST_REQUIRE_EQUAL(tcbench.size(), 2u);
    BOOST_TEST(flowpic[0].row == 27u);
    BOOST_TEST(flowpic[0].col == 26u);
    BOOST_TEST(tcbench[0].row == 26u);
    BOOST_TEST(tcbench[0].col == 27u);
    BOOST_TEST(flowpic[1].col == 29u);
    BOOST_TEST(tcbench[1].col == 28u);
    BOOST_TEST(flowpic[1].row == 750u);
    BOOST_TEST(tcbench[1].row == 750u);
}

// The fast CPU binning (sparse pixels, dense float and uint16, the batch binner) equals
// the reference with every cap and both arithmetics, on windows with hot pixels.
BOOST_AUTO_TEST_CASE(fast_binning_equals_the_reference) {
    RandomWindowOptions ro;
    ro.windows = 12;
    ro.min_packets = 1;
    ro.max_packets = 4000;
    ro.length_us = 1;
    ro.max_length_us = 20000000;
    ro.hot = {40, 52, 1500};
    ro.hot_share = 0.5;
    ro.oversize_share = 0.03;
    ro.late_share = 0.05;
    ro.ties_share = 0.3;
    ro.seed = 1212;
    const RandomWindows ws = random_windows(ro);
    const std::vector<PacketListView> views = ws.views();
    SparseBinner sparse;
    SparseBatchBinner batcher;
    DenseBinner dense;
    size_t capped = 0, images = 0;
    for (int n : {1500, 64, 32, 7})
        for (uint32_t cap : {0u, 1u, 3u, 255u})
            for (BinArith arith : {BinArith::flowpic, BinArith::tcbench})
                for (BinningOptions o : all_binning_modes(n)) {
                    o.max_count = cap;
                    o.arith = arith;
                    const std::string what = format_options(o);
                    SparseBatch want, got;
                    bin_sparse_ref(views.data(), views.size(), o, want);
                    batcher.bin(views.data(), views.size(), o, got);
                    BOOST_TEST(got.offsets == want.offsets, what);
                    bool same = got.pixels.size() == want.pixels.size();
                    for (size_t i = 0; same && i < got.pixels.size(); ++i) {
                        const SparsePixel &a = got.pixels[i], &b = want.pixels[i];
                        same = a.channel == b.channel && a.row == b.row && a.col == b.col && a.value == b.value;
                    }
                    BOOST_TEST(same, what << ": batch sparse differs");
                    for (const SparsePixel& px : want.pixels) capped += cap && px.value == float(cap) && count_cap(o);
                    for (size_t b = 0; b < views.size(); b += 5) {
                        std::vector<SparsePixel> one;
                        sparse.bin(views[b], o, one);
                        BOOST_TEST(one.size() == size_t(want.offsets[b + 1] - want.offsets[b]), what);
                        std::vector<float> ref(image_size(o)), fast(image_size(o), -1.0f);
                        bin_dense_ref(&views[b], 1, o, ref.data());
                        dense.bin(&views[b], 1, o, fast.data());
                        BOOST_TEST(fast == ref, what << " window " << b << ": dense differs");
                        if (n <= 64) {
                            std::vector<uint16_t> r16(image_size(o)), f16(image_size(o), 0xBEEF);
                            bin_dense_u16_ref(&views[b], 1, o, r16.data());
                            dense.bin(&views[b], 1, o, f16.data());
                            BOOST_TEST(f16 == r16, what << " window " << b << ": dense u16 differs");
                        }
                        ++images;
                    }
                }
    BOOST_TEST(capped > 1000u);  // the caps did bite
    BOOST_TEST_MESSAGE(images << " dense images and " << capped << " capped pixels compared");
}

BOOST_AUTO_TEST_CASE(settings_and_flags) {
    // Unset, they leave the JSON as it was (four keys); set, they round-trip.
    BOOST_TEST(to_json(BinningOptions{}) == R"({"direction":"none","normalize":"span","resolution":1500,"values":"count"})");
    BinningOptions o = tcbench32(255);
    o.arith = BinArith::tcbench;
    const BinningOptions back = parse_binning_settings(to_json(o), "m.safetensors");
    BOOST_TEST(back.max_count == 255u);
    BOOST_TEST(int(back.arith) == int(BinArith::tcbench));
    BOOST_TEST(format_options(back) == "resolution=32 normalize=fixed values=count direction=none max_count=255 arith=tcbench");
    BOOST_CHECK_THROW(parse_binning_settings(R"({"arith":"numpy"})", "m.safetensors"), InputError);

    auto parse = [](std::vector<std::string> args) {
        CLI::App app;
        BinningFlags f;
        f.add_to(app);
        std::reverse(args.begin(), args.end());
        app.parse(args);
        return f.options();
    };
    BOOST_TEST(int(parse({"--bin-arith", "tcbench"}).arith) == int(BinArith::tcbench));
    BOOST_TEST(int(parse({}).arith) == int(BinArith::flowpic));
    BOOST_CHECK_THROW(parse({"--bin-arith", "numpy"}), UsageError);
}

BOOST_AUTO_TEST_SUITE_END()
