// The time axis shorter than the window (BinningOptions::axis_us, --time-axis S): the exact
// rule of axis_view (a packet at S - 1 us in, at S out), and every CPU binning entry point
// (scalar dense float and u16, sparse, conv1 entries, AVX2 dense and sparse) on a 30 s
// window with a 15 s axis giving exactly the image of the same packets cut to 15 s and
// binned as a 15 s window; validation, format_options, the settings JSON and the flag.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <vector>

#include "apps/binning_flags.h"
#include "core/error.h"
#include "flowpic/settings.h"
#include "kernels/conv2d_sparse.h"
#include "kernels/cpu/binning.h"
#include "kernels/cpu/binning_avx2.h"
#include "synth/random_windows.h"
#include "tests/binning_modes.h"

using namespace flowpic;

namespace {

constexpr uint32_t kS = 15000000, kWindow = 30000000;

// Random packets over a 30 s window, plus packets exactly at S - 1 us, S (two), S + 1 us
// and the window's last microsecond; sorted by time.
std::vector<WindowPacket> long_window(uint64_t seed) {
    RandomWindowOptions o;
    o.length_us = kWindow;
    o.min_size = 0;
    o.max_size = 1600;  // some dropped by size
    o.hot_share = 0.3;
    o.hot = {40, 1500};
    o.seed = seed;
    std::vector<WindowPacket> p = random_window(o, 3000).packets[0];
    for (WindowPacket q : {WindowPacket{kS - 1, 1500, 1, 0}, WindowPacket{kS, 40, 0, 0}, WindowPacket{kS, 1500, 1, 0},
                           WindowPacket{kS + 1, 700, 0, 0}, WindowPacket{kWindow - 1, 0, 1, 0}})
        p.push_back(q);
    std::stable_sort(p.begin(), p.end(), [](const WindowPacket& a, const WindowPacket& b) { return a.t_us < b.t_us; });
    return p;
}

// The same packets cut by hand: t < S, as a window of length S.
std::vector<WindowPacket> cut(const std::vector<WindowPacket>& p) {
    std::vector<WindowPacket> out;
    for (const WindowPacket& q : p)
        if (q.t_us < kS) out.push_back(q);
    return out;
}

std::vector<BinningOptions> fixed_modes(int n) {
    std::vector<BinningOptions> out;
    for (BinningOptions o : all_binning_modes(n)) {
        if (o.normalize != Normalize::fixed) continue;
        for (BinArith a : {BinArith::flowpic, BinArith::tcbench})
            for (uint32_t cap : {0u, 3u}) {
                o.arith = a;
                o.max_count = cap;
                out.push_back(o);
            }
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(time_axis)

BOOST_AUTO_TEST_CASE(axis_view_keeps_packets_before_the_axis_only) {
    const std::vector<WindowPacket> p = {{0, 100, 1, 0}, {kS - 1, 100, 1, 0}, {kS, 100, 1, 0}, {kS, 100, 0, 0},
                                         {kS + 1, 100, 1, 0}};
    const PacketListView w{p.data(), uint32_t(p.size()), kWindow};
    BinningOptions o{32, Normalize::fixed};
    PacketListView v = axis_view(w, o);  // axis 0: the window itself
    BOOST_TEST(v.count == 5u);
    BOOST_TEST(v.length_us == kWindow);
    o.axis_us = kS;
    v = axis_view(w, o);
    BOOST_TEST(v.packets == p.data());
    BOOST_TEST(v.count == 2u);  // S - 1 us in, S out
    BOOST_TEST(v.length_us == kS);
    o.axis_us = kS + 1;
    BOOST_TEST(axis_view(w, o).count == 4u);
    o.axis_us = 1;
    BOOST_TEST(axis_view(w, o).count == 1u);  // only t = 0
    o.axis_us = 40000000;                     // longer than the window: every packet, length the axis
    BOOST_TEST(axis_view(w, o).count == 5u);
    BOOST_TEST(axis_view(w, o).length_us == 40000000u);
    const PacketListView empty{nullptr, 0, kWindow};
    BOOST_TEST(axis_view(empty, o).count == 0u);

    // A packet at S - 1 us lands in the last column, one at S in none (without the axis,
    // fixed normalisation's edge rule would put a packet at t == length there too).
    const std::vector<WindowPacket> two = {{kS - 1, 100, 1, 0}, {kS, 200, 1, 0}};
    const PacketListView tw{two.data(), 2, kS};
    BinningOptions b{32, Normalize::fixed};
    std::vector<float> with_edge(32 * 32), with_axis(32 * 32);
    bin_dense_ref(&tw, 1, b, with_edge.data());
    b.axis_us = kS;
    bin_dense_ref(&tw, 1, b, with_axis.data());
    BOOST_TEST(with_edge[size_t(100 * 32 / 1500) * 32 + 31] == 1.0f);
    BOOST_TEST(with_edge[size_t(200 * 32 / 1500) * 32 + 31] == 1.0f);  // t == length: the last column
    BOOST_TEST(with_axis[size_t(100 * 32 / 1500) * 32 + 31] == 1.0f);
    float sum = 0;
    for (float x : with_axis) sum += x;
    BOOST_TEST(sum == 1.0f);  // t == S: out
}

BOOST_AUTO_TEST_CASE(a_30s_window_with_axis_15_is_the_15s_window_binned) {
    for (uint64_t seed : {1u, 2u, 3u}) {
        const std::vector<WindowPacket> whole = long_window(seed), part = cut(whole);
        BOOST_TEST_REQUIRE(part.size() < whole.size());
        BOOST_TEST_REQUIRE(part.size() > 1000u);
        const PacketListView w{whole.data(), uint32_t(whole.size()), kWindow};
        const PacketListView c{part.data(), uint32_t(part.size()), kS};
        for (int n : {1, 32, 64, 1500}) {
            for (BinningOptions o : fixed_modes(n)) {
                BinningOptions a = o;
                a.axis_us = kS;
                const size_t sz = image_size(o);
                std::vector<float> want(sz), got(sz), avx(sz);
                bin_dense_ref(&c, 1, o, want.data());
                bin_dense_ref(&w, 1, a, got.data());
                BOOST_TEST_REQUIRE(got == want, format_options(a) << " seed " << seed);
                bin_dense_avx2(&w, 1, a, avx.data());
                BOOST_TEST_REQUIRE(avx == want, "avx2 " << format_options(a) << " seed " << seed);
                std::vector<uint16_t> w16(sz), g16(sz), a16(sz);
                bin_dense_u16_ref(&c, 1, o, w16.data());
                bin_dense_u16_ref(&w, 1, a, g16.data());
                BOOST_TEST_REQUIRE(g16 == w16, "u16 " << format_options(a));
                DenseBinner().bin(&w, 1, a, a16.data());
                BOOST_TEST_REQUIRE(a16 == w16, "avx2 u16 " << format_options(a));
                // Without the axis the 30 s window gives another image: the check can fail.
                std::vector<float> other(sz);
                bin_dense_ref(&w, 1, o, other.data());
                if (n > 1) BOOST_TEST(other != want, format_options(o));

                SparseBatch ws, gs, as;
                bin_sparse_ref(&c, 1, o, ws);
                bin_sparse_ref(&w, 1, a, gs);
                bin_sparse_avx2(&w, 1, a, as);
                auto same = [](const SparseBatch& x, const SparseBatch& y) {
                    if (x.offsets != y.offsets || x.pixels.size() != y.pixels.size()) return false;
                    for (size_t i = 0; i < x.pixels.size(); ++i)
                        if (x.pixels[i].channel != y.pixels[i].channel || x.pixels[i].row != y.pixels[i].row ||
                            x.pixels[i].col != y.pixels[i].col || x.pixels[i].value != y.pixels[i].value)
                            return false;
                    return true;
                };
                BOOST_TEST_REQUIRE(same(gs, ws), "sparse " << format_options(a));
                BOOST_TEST_REQUIRE(same(as, ws), "avx2 sparse " << format_options(a));

                if (o.values == ValueMode::count && o.direction != Direction::grey) {
                    std::vector<SparsePixel> we, ge;
                    std::vector<uint32_t> wo, go;
                    packets_to_entries_ref(&c, 1, o, we, wo);
                    packets_to_entries_ref(&w, 1, a, ge, go);
                    BOOST_TEST_REQUIRE(go == wo, "entries offsets " << format_options(a));
                    BOOST_TEST_REQUIRE(go.back() == part.size());  // one entry per packet on the axis
                    for (size_t i = 0; i < we.size(); ++i)
                        BOOST_TEST_REQUIRE((ge[i].channel == we[i].channel && ge[i].row == we[i].row &&
                                            ge[i].col == we[i].col && ge[i].value == we[i].value),
                                           "entry " << i << " " << format_options(a));
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(batches_mix_windows_and_each_is_cut) {
    // Windows of different lengths in one batch: each cut at the same axis.
    std::vector<std::vector<WindowPacket>> store = {long_window(7), long_window(8), cut(long_window(9))};
    std::vector<PacketListView> views = {{store[0].data(), uint32_t(store[0].size()), kWindow},
                                         {store[1].data(), uint32_t(store[1].size()), kWindow},
                                         {store[2].data(), uint32_t(store[2].size()), kS}};
    const std::vector<std::vector<WindowPacket>> cuts = {cut(store[0]), cut(store[1]), store[2]};
    std::vector<PacketListView> cviews;
    for (const auto& c : cuts) cviews.push_back({c.data(), uint32_t(c.size()), kS});
    BinningOptions o{32, Normalize::fixed, ValueMode::count, Direction::channels, 255, BinArith::tcbench};
    BinningOptions a = o;
    a.axis_us = kS;
    std::vector<float> want(3 * image_size(o)), got(want.size()), avx(want.size());
    bin_dense_ref(cviews.data(), 3, o, want.data());
    bin_dense_ref(views.data(), 3, a, got.data());
    DenseBinner().bin(views.data(), 3, a, avx.data());
    BOOST_TEST(got == want);
    BOOST_TEST(avx == want);
}

BOOST_AUTO_TEST_CASE(span_refuses_an_axis_and_the_axis_is_recorded) {
    BinningOptions o{32, Normalize::span};
    o.axis_us = kS;
    BOOST_CHECK_THROW(validate(o), UsageError);
    try {
        validate(o);
    } catch (const UsageError& e) {
        BOOST_TEST(std::string(e.what()).find("--time-axis needs --normalize fixed") != std::string::npos, e.what());
    }
    o.normalize = Normalize::fixed;
    validate(o);
    BOOST_TEST(format_options(o) == "resolution=32 normalize=fixed values=count direction=none axis_us=15000000");
    // JSON: written only when set, so files without an axis keep their bytes; read back.
    BOOST_TEST(to_json(o).find("\"axis_us\":15000000") != std::string::npos, to_json(o));
    BOOST_TEST(parse_binning_settings(to_json(o), "x").axis_us == kS);
    BinningOptions none{32, Normalize::fixed};
    BOOST_TEST(to_json(none).find("axis") == std::string::npos, to_json(none));
    BOOST_TEST(to_json(none) == R"({"direction":"none","normalize":"fixed","resolution":32,"values":"count"})");
    BOOST_TEST(parse_binning_settings(to_json(none), "x").axis_us == 0u);
    BOOST_CHECK_THROW(parse_binning_settings(R"({"normalize":"span","axis_us":5})", "m.safetensors"), InputError);
}

BOOST_AUTO_TEST_CASE(the_flag_takes_seconds) {
    auto parse = [](std::vector<std::string> args) {
        CLI::App app("t");
        BinningFlags f;
        f.add_to(app);
        std::vector<const char*> argv = {"t"};
        for (const auto& s : args) argv.push_back(s.c_str());
        app.parse(int(argv.size()), const_cast<char**>(argv.data()));
        return f.options();
    };
    BOOST_TEST(parse({"--normalize", "fixed", "--time-axis", "15"}).axis_us == kS);
    BOOST_TEST(parse({"--normalize", "fixed", "--time-axis", "0.0000014"}).axis_us == 1u);  // llround
    BOOST_TEST(parse({"--normalize", "fixed", "--time-axis", "4294"}).axis_us == 4294000000u);
    BOOST_TEST(parse({"--normalize", "fixed"}).axis_us == 0u);
    BOOST_CHECK_THROW(parse({"--normalize", "fixed", "--time-axis", "4295"}), CLI::ValidationError);
    BOOST_CHECK_THROW(parse({"--normalize", "fixed", "--time-axis", "-1"}), CLI::ParseError);
    BOOST_CHECK_THROW(parse({"--time-axis", "15"}), UsageError);  // span by default
}

BOOST_AUTO_TEST_SUITE_END()
