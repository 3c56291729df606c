// Binning against numpy.histogram2d (fixtures from tests/make_binning_fixtures.py) and
// the properties every mode must have on random windows.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/binning.h"
#include "synth/random_windows.h"
#include "tests/binning_modes.h"
#include "tests/util.h"

using namespace flowpic;

namespace {

struct FixtureWindow {
    uint32_t length_us = 0;
    std::vector<WindowPacket> packets;
    PacketListView view() const {
        return PacketListView{packets.data(), uint32_t(packets.size()), length_us};
    }
};

// Per-direction numpy histograms of one window at one (N, normalize), sparse.
struct FixtureImage {
    size_t window = 0;
    int n = 0;
    Normalize normalize = Normalize::span;
    struct Px { int row, col; unsigned up, down; };
    std::vector<Px> pixels;
};

struct Fixtures {
    std::vector<FixtureWindow> windows;
    std::vector<FixtureImage> images;
};

Fixtures load_fixtures(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error(path + ": cannot open");
    Fixtures fx;
    std::string line, kind;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream ls(line);
        ls >> kind;
        if (kind == "window") {
            size_t id, count;
            FixtureWindow w;
            ls >> id >> w.length_us >> count;
            if (!ls || id != fx.windows.size()) throw std::runtime_error(path + ": bad " + line);
            for (size_t i = 0; i < count && std::getline(in, line); ++i) {
                std::istringstream ps(line);
                unsigned t, s, d;
                ps >> t >> s >> d;
                w.packets.push_back(WindowPacket{t, uint16_t(s), uint8_t(d), 0});
            }
            if (w.packets.size() != count) throw std::runtime_error(path + ": truncated window");
            fx.windows.push_back(std::move(w));
        } else if (kind == "image") {
            FixtureImage im;
            std::string norm;
            size_t count;
            ls >> im.window >> im.n >> norm >> count;
            if (!ls || im.window >= fx.windows.size()) throw std::runtime_error(path + ": bad " + line);
            im.normalize = parse_normalize(norm);
            for (size_t i = 0; i < count && std::getline(in, line); ++i) {
                std::istringstream ps(line);
                FixtureImage::Px p;
                ps >> p.row >> p.col >> p.up >> p.down;
                im.pixels.push_back(p);
            }
            if (im.pixels.size() != count) throw std::runtime_error(path + ": truncated image");
            fx.images.push_back(std::move(im));
        } else {
            throw std::runtime_error(path + ": unknown record " + line);
        }
    }
    return fx;
}

// The mode image as a function of the per-direction counts (documented in the script).
std::vector<SparsePixel> expected_pixels(const FixtureImage& im, const BinningOptions& o) {
    std::vector<SparsePixel> ch[2];
    auto val = [&](unsigned c) { return o.values == ValueMode::binary ? (c ? 1.0f : 0.0f) : float(c); };
    for (const auto& p : im.pixels) {
        auto px = [&](int c, float v) {
            if (v != 0) ch[c].push_back(SparsePixel{uint16_t(c), uint16_t(p.row), uint16_t(p.col), 0, v});
        };
        switch (o.direction) {
        case Direction::none: px(0, val(p.up + p.down)); break;
        case Direction::grey: px(0, p.up ? 200.0f : p.down ? 50.0f : 0.0f); break;
        case Direction::channels: px(0, val(p.up)); px(1, val(p.down)); break;
        }
    }
    ch[0].insert(ch[0].end(), ch[1].begin(), ch[1].end());
    return ch[0];
}

std::string describe(const SparsePixel& p) {
    std::ostringstream s;
    s << "(c" << p.channel << " r" << p.row << " c" << p.col << " = " << p.value << ")";
    return s.str();
}

// Empty when equal, else the first difference.
std::string diff_sparse(const std::vector<SparsePixel>& got, const std::vector<SparsePixel>& want) {
    for (size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
        if (i >= got.size()) return "missing " + describe(want[i]);
        if (i >= want.size()) return "extra " + describe(got[i]);
        const SparsePixel &a = got[i], &b = want[i];
        if (a.channel != b.channel || a.row != b.row || a.col != b.col || a.value != b.value ||
            a.reserved != 0)
            return "pixel " + std::to_string(i) + ": got " + describe(a) + " want " + describe(b);
    }
    return "";
}

template <typename T>
std::string diff_dense(const T* got, const std::vector<float>& want, int n) {
    for (size_t i = 0; i < want.size(); ++i)
        if (float(got[i]) != want[i]) {
            std::ostringstream s;
            size_t nn = size_t(n) * size_t(n);
            s << "c" << i / nn << " r" << i / n % n << " c" << i % n << ": got " << float(got[i])
              << " want " << want[i];
            return s.str();
        }
    return "";
}

// Every mode of every fixture image through dense float, dense uint16 and sparse.
void check_against_fixtures(const Fixtures& fx, const std::string& origin) {
    BOOST_REQUIRE(!fx.images.empty());
    size_t checked = 0;
    std::vector<float> dense, want;
    std::vector<uint16_t> dense16;
    std::vector<SparsePixel> sparse;
    for (const auto& im : fx.images) {
        for (auto values : {ValueMode::count, ValueMode::binary})
            for (auto dir : {Direction::none, Direction::grey, Direction::channels}) {
                BinningOptions o{im.n, im.normalize, values, dir};
                const PacketListView w = fx.windows[im.window].view();
                const auto exp = expected_pixels(im, o);
                const std::string where = origin + " window " + std::to_string(im.window) + " " +
                                          format_options(o) + ": ";
                sparse.clear();
                bin_sparse_ref(w, o, sparse);
                std::string d = diff_sparse(sparse, exp);
                BOOST_TEST(d.empty(), where << "sparse " << d);

                want.resize(image_size(o));
                densify(exp.data(), exp.size(), o, want.data());
                dense.assign(image_size(o), NAN);  // poison: unwritten pixels show
                bin_dense_ref(&w, 1, o, dense.data());
                d = diff_dense(dense.data(), want, o.resolution);
                BOOST_TEST(d.empty(), where << "dense " << d);
                dense16.assign(image_size(o), 0xBEEF);
                bin_dense_u16_ref(&w, 1, o, dense16.data());
                d = diff_dense(dense16.data(), want, o.resolution);
                BOOST_TEST(d.empty(), where << "dense u16 " << d);
                ++checked;
            }
    }
    BOOST_TEST_MESSAGE(origin << ": " << checked << " images equal to numpy");
}

struct NumpyAvailable {
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
        boost::test_tools::assertion_result r(
            std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0);
        r.message() << "skipped: /usr/bin/python3 has no numpy";
        return r;
    }
};

// Random windows (synth/random_windows.h): sorted times in [0, length], sizes 40..1500
// (none dropped), both directions.
std::vector<WindowPacket> random_window(std::mt19937& rng, uint32_t count, uint32_t length) {
    RandomWindowOptions o;
    o.length_us = length;
    o.max_time_us = length;
    o.seed = rng();
    return std::move(random_window(o, count).packets[0]);
}

double sum(const std::vector<float>& v, size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; ++i) s += v[i];
    return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(binning)

BOOST_AUTO_TEST_CASE(matches_numpy_fixtures) {
    check_against_fixtures(load_fixtures("tests/fixtures/binning/fixtures.txt"), "fixtures.txt");
}

// Fresh windows from another seed, when numpy is here to compute them.
BOOST_AUTO_TEST_CASE(matches_numpy_regenerated, *boost::unit_test::precondition(NumpyAvailable())) {
    TempDir dir;
    std::string cmd = "/usr/bin/python3 tests/make_binning_fixtures.py --seed 20240607 --random 4 --out " +
                      dir.path + " 2>/dev/null";
    BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
    check_against_fixtures(load_fixtures(dir.path + "/fixtures.txt"), "regenerated (seed 20240607)");
}

BOOST_AUTO_TEST_CASE(hand_computed_edges) {
    // N = 4, span over t = 0..4000 us: columns floor(t / 1000), the last edge inclusive;
    // sizes 0, 374 | 375 (= 1500 / 4 exactly), 1500 (right edge, last row), 1501 dropped.
    std::vector<WindowPacket> pk = {{0, 0, 1, 0},     {999, 374, 1, 0}, {1000, 375, 1, 0},
                                    {2500, 1125, 0, 0}, {3999, 1501, 0, 0}, {4000, 1500, 0, 0}};
    PacketListView w{pk.data(), uint32_t(pk.size()), 8000};
    BinningOptions o;
    o.resolution = 4;
    std::vector<SparsePixel> px;
    bin_sparse_ref(w, o, px);
    std::vector<std::pair<int, int>> got;
    for (auto& p : px) got.push_back({p.row, p.col});
    std::vector<std::pair<int, int>> want = {{0, 0}, {1, 1}, {3, 2}, {3, 3}};
    BOOST_TEST(got.size() == want.size());
    for (size_t i = 0; i < std::min(got.size(), want.size()); ++i)
        BOOST_TEST((got[i] == want[i]), "pixel " << i << " at " << got[i].first << "," << got[i].second);
    BOOST_TEST(px.at(0).value == 2.0f);  // (t 0, size 0) and (t 999, size 374) share pixel (0, 0)
    // fixed over 8000 us: t 4000 is the middle edge -> column 2; t 8000 would be column 3.
    o.normalize = Normalize::fixed;
    px.clear();
    bin_sparse_ref(w, o, px);
    BOOST_TEST(px.back().row == 3);
    BOOST_TEST(px.back().col == 2);
}

BOOST_AUTO_TEST_CASE(zero_span_puts_everything_in_column_zero) {
    std::vector<WindowPacket> pk = {{7000, 100, 1, 0}, {7000, 900, 0, 0}, {7000, 1500, 1, 0}};
    for (auto norm : {Normalize::span, Normalize::fixed}) {
        BinningOptions o{32, norm, ValueMode::count, Direction::none};
        // span: D = 0; fixed: a zero-length window
        PacketListView w{pk.data(), 3, norm == Normalize::span ? 60000u : 0u};
        std::vector<SparsePixel> px;
        bin_sparse_ref(w, o, px);
        BOOST_TEST(px.size() == 3u);
        for (auto& p : px) BOOST_TEST(p.col == 0);
    }
    PacketListView empty{nullptr, 0, 1000};
    std::vector<float> img(32 * 32, 5.0f);
    BinningOptions o{32, Normalize::span, ValueMode::count, Direction::none};
    bin_dense_ref(&empty, 1, o, img.data());
    BOOST_TEST(sum(img, 0, img.size()) == 0.0);
}

BOOST_AUTO_TEST_CASE(sparse_equals_dense_on_random_windows) {
    std::mt19937 rng(12345);
    for (int n : {1500, 300, 64, 32, 7, 1}) {
        for (uint32_t count : {1u, 2u, 37u, 400u}) {
            auto pk = random_window(rng, count, 1 + rng() % 60000000);
            PacketListView w{pk.data(), count, pk.back().t_us + uint32_t(rng() % 1000)};
            for (const auto& o : all_binning_modes(n)) {
                std::vector<SparsePixel> px;
                bin_sparse_ref(w, o, px);
                BOOST_TEST(!px.empty());
                bool sorted = true;
                for (size_t i = 1; i < px.size(); ++i) {
                    auto key = [](const SparsePixel& p) { return std::make_tuple(p.channel, p.row, p.col); };
                    sorted = sorted && key(px[i - 1]) < key(px[i]);
                }
                BOOST_TEST(sorted, format_options(o) << ": sparse pixels not strictly sorted");
                std::vector<float> a(image_size(o)), b(image_size(o), NAN);
                densify(px.data(), px.size(), o, a.data());
                bin_dense_ref(&w, 1, o, b.data());
                BOOST_TEST(diff_dense(b.data(), a, n).empty(), format_options(o) << " count " << count);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(batch_images_land_at_their_offsets) {
    std::mt19937 rng(99);
    BinningOptions o{64, Normalize::fixed, ValueMode::count, Direction::channels};
    std::vector<std::vector<WindowPacket>> pks;
    std::vector<PacketListView> views;
    for (uint32_t c : {50u, 3u, 200u}) pks.push_back(random_window(rng, c, 1000000));
    for (auto& pk : pks) views.push_back(PacketListView{pk.data(), uint32_t(pk.size()), 1000000});
    std::vector<float> batch(3 * image_size(o), NAN), one(image_size(o));
    bin_dense_ref(views.data(), 3, o, batch.data());
    SparseBatch sb;
    bin_sparse_ref(views.data(), 3, o, sb);
    BOOST_TEST(sb.size() == 3u);
    for (size_t b = 0; b < 3; ++b) {
        bin_dense_ref(&views[b], 1, o, one.data());
        BOOST_TEST(diff_dense(batch.data() + b * image_size(o), one, 64).empty(), "window " << b);
        std::vector<float> d(image_size(o));
        densify(sb.pixels.data() + sb.offsets[b], sb.offsets[b + 1] - sb.offsets[b], o, d.data());
        BOOST_TEST(diff_dense(d.data(), one, 64).empty(), "sparse window " << b);
        BOOST_TEST(sum(one, 0, one.size()) == double(pks[b].size()));
    }
}

BOOST_AUTO_TEST_CASE(value_and_direction_modes) {
    std::mt19937 rng(7);
    for (int n : {1500, 64}) {
        for (auto norm : {Normalize::span, Normalize::fixed}) {
            auto pk = random_window(rng, 3000, 60000000);
            PacketListView w{pk.data(), uint32_t(pk.size()), 60000000};
            size_t up = 0;
            for (auto& p : pk) up += p.dir == 1;
            const size_t nn = size_t(n) * n;
            auto image = [&](ValueMode v, Direction d) {
                BinningOptions o{n, norm, v, d};
                std::vector<float> img(image_size(o), NAN);
                bin_dense_ref(&w, 1, o, img.data());
                return img;
            };
            auto none = image(ValueMode::count, Direction::none);
            BOOST_TEST(sum(none, 0, nn) == double(pk.size()));  // every packet counted once

            auto binary = image(ValueMode::binary, Direction::none);
            bool zero_one = true, same_support = true;
            for (size_t i = 0; i < nn; ++i) {
                zero_one = zero_one && (binary[i] == 0 || binary[i] == 1);
                same_support = same_support && ((binary[i] != 0) == (none[i] != 0));
            }
            BOOST_TEST(zero_one);
            BOOST_TEST(same_support);
            if (n == 64) BOOST_TEST(sum(binary, 0, nn) < double(pk.size()));  // 3000 packets collide

            auto ch = image(ValueMode::count, Direction::channels);
            BOOST_TEST(sum(ch, 0, nn) == double(up));               // channel 0: client->server
            BOOST_TEST(sum(ch, nn, 2 * nn) == double(pk.size() - up));
            bool split = true;
            for (size_t i = 0; i < nn; ++i) split = split && ch[i] + ch[nn + i] == none[i];
            BOOST_TEST(split);

            auto grey = image(ValueMode::count, Direction::grey);
            auto grey_b = image(ValueMode::binary, Direction::grey);
            bool grey_ok = true;
            for (size_t i = 0; i < nn; ++i) {
                float want = ch[i] > 0 ? 200.0f : ch[nn + i] > 0 ? 50.0f : 0.0f;
                grey_ok = grey_ok && grey[i] == want && grey_b[i] == want;
            }
            BOOST_TEST(grey_ok);
        }
    }
}

BOOST_AUTO_TEST_CASE(uint16_counts_saturate) {
    std::vector<WindowPacket> pk(70000, WindowPacket{0, 1000, 1, 0});
    pk.push_back(WindowPacket{100, 100, 0, 0});
    PacketListView w{pk.data(), uint32_t(pk.size()), 100};
    BinningOptions o{32, Normalize::span, ValueMode::count, Direction::none};
    std::vector<uint16_t> img16(image_size(o));
    std::vector<float> img(image_size(o));
    bin_dense_u16_ref(&w, 1, o, img16.data());
    bin_dense_ref(&w, 1, o, img.data());
    const size_t hot = size_t(1000 * 32 / 1500) * 32;  // row 21, column 0
    BOOST_TEST(img16[hot] == 65535);
    BOOST_TEST(img[hot] == 70000.0f);
    BOOST_TEST(img16[size_t(100 * 32 / 1500) * 32 + 31] == 1);
}

BOOST_AUTO_TEST_CASE(option_strings) {
    BOOST_TEST((parse_normalize("fixed") == Normalize::fixed));
    BOOST_TEST((parse_values("binary") == ValueMode::binary));
    BOOST_TEST((parse_direction("channels") == Direction::channels));
    BOOST_TEST(parse_resolution("64") == 64);
    BOOST_TEST(parse_resolution("1500") == 1500);
    BinningOptions o;
    BOOST_TEST(format_options(o) == "resolution=1500 normalize=span values=count direction=none");
    BOOST_TEST(channels(o) == 1);
    o.direction = Direction::channels;
    BOOST_TEST(channels(o) == 2);
    for (const char* bad : {"", "Span", "spa", "span "}) BOOST_CHECK_THROW(parse_normalize(bad), UsageError);
    for (const char* bad : {"", "counts", "bin"}) BOOST_CHECK_THROW(parse_values(bad), UsageError);
    for (const char* bad : {"", "both", "channel"}) BOOST_CHECK_THROW(parse_direction(bad), UsageError);
    for (const char* bad : {"", "0", "1501", "-5", "+64", " 64", "64x", "1e3", "99999999999"})
        BOOST_CHECK_THROW(parse_resolution(bad), UsageError);
    try {
        parse_direction("rgb");
        BOOST_FAIL("no exception");
    } catch (const UsageError& e) {
        BOOST_TEST(std::string(e.what()).find("rgb") != std::string::npos);
    }
    BinningOptions big{1501, Normalize::span, ValueMode::count, Direction::none};
    std::vector<SparsePixel> px;
    BOOST_CHECK_THROW(bin_sparse_ref(PacketListView{}, big, px), UsageError);
}

BOOST_AUTO_TEST_SUITE_END()
