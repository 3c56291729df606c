// Augmentations at loading (flowpic/augment.h, nn/loader.h): the exact effect of each on
// crafted packet lists and images, the parameter draws, the loader's copies (count,
// determinism, copy 0 untouched, validation untouched unless asked), and the images
// every backend computes from an augmented batch.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <set>

#include "core/error.h"
#include "flowpic/augment.h"
#include "flowpic/dataset_file.h"
#include "kernels/cpu/binning.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cuda/device.h"
#include "nn/backend.h"
#include "nn/loader.h"
#include "nn/network.h"
#include "synth/random_windows.h"
#include "tests/small_dataset.h"
#include "tests/util.h"

using namespace flowpic;

namespace {

WindowPacket pkt(uint32_t t, uint16_t size = 100, uint8_t dir = 1) { return WindowPacket{t, size, dir, 0}; }

PacketListView view(const std::vector<WindowPacket>& p, uint32_t length_us) {
    return {p.data(), uint32_t(p.size()), length_us};
}

std::vector<uint32_t> times(const std::vector<WindowPacket>& p) {
    std::vector<uint32_t> t;
    for (const auto& q : p) t.push_back(q.t_us);
    return t;
}

// A host image with pixel (c, i, j) = value(c, i, j).
template <typename F>
std::vector<float> image(int channels, int n, F value) {
    std::vector<float> img(size_t(channels) * size_t(n) * size_t(n));
    for (int c = 0; c < channels; ++c)
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) img[(size_t(c) * size_t(n) + size_t(i)) * size_t(n) + size_t(j)] = value(c, i, j);
    return img;
}

float at(const std::vector<float>& img, int n, int c, int i, int j) {
    return img[(size_t(c) * size_t(n) + size_t(i)) * size_t(n) + size_t(j)];
}

BinningOptions fixed32() {
    BinningOptions b;
    b.resolution = 32;
    b.normalize = Normalize::fixed;
    return b;
}

AugmentOptions aug(AugmentKind k, int copies, uint64_t seed = 7) {
    AugmentOptions a;
    a.kind = k;
    a.copies = copies;
    a.seed = seed;
    return a;
}

std::vector<WindowPacket> copy_of(const PacketListView& v) { return {v.packets, v.packets + v.count}; }

}  // namespace

BOOST_AUTO_TEST_SUITE(augment)

// ---- packet lists ---------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(changertt_scales_every_time_and_drops_past_the_window_end) {
    const std::vector<WindowPacket> p = {pkt(0), pkt(1), pkt(3, 200, 0), pkt(1000000), pkt(7000000), pkt(7500000),
                                         pkt(14999999)};
    std::vector<WindowPacket> out;
    BOOST_TEST(change_rtt(view(p, 15000000), 2.0, out) == 5u);
    // alpha = 2 doubles every t; 7.5 s -> 15 s is the window end: dropped, as is 30 s.
    BOOST_TEST(times(out) == (std::vector<uint32_t>{0, 2, 6, 2000000, 14000000}), boost::test_tools::per_element());
    BOOST_TEST(out[2].size == 200);  // size and direction ride along
    BOOST_TEST(out[2].dir == 0);
    out.clear();
    // alpha = 0.5: halves, to the nearest microsecond, halves away from zero (1.5 -> 2).
    BOOST_TEST(change_rtt(view(p, 15000000), 0.5, out) == p.size());
    BOOST_TEST(times(out) == (std::vector<uint32_t>{0, 1, 2, 500000, 3500000, 3750000, 7500000}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(timeshift_adds_b_and_keeps_only_the_window) {
    const std::vector<WindowPacket> p = {pkt(0), pkt(400000), pkt(500000), pkt(2000000), pkt(14499999), pkt(14500000)};
    std::vector<WindowPacket> out;
    // +0.5 s: 14.5 s lands on the 15 s end (dropped), 14.499999 s just before it (kept).
    BOOST_TEST(time_shift(view(p, 15000000), 500000, out) == 5u);
    BOOST_TEST(times(out) == (std::vector<uint32_t>{500000, 900000, 1000000, 2500000, 14999999}),
               boost::test_tools::per_element());
    out.clear();
    // -0.5 s: the packets before 0.5 s fall at negative times (dropped); 0.5 s lands on 0.
    BOOST_TEST(time_shift(view(p, 15000000), -500000, out) == 4u);
    BOOST_TEST(times(out) == (std::vector<uint32_t>{0, 1500000, 13999999, 14000000}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(packetloss_drops_exactly_the_packets_within_the_gap) {
    const double t0 = 5000000;  // 5 s; the gap is [4.9 s, 5.1 s], both ends included
    const std::vector<WindowPacket> p = {pkt(0),       pkt(4899999), pkt(4900000), pkt(5000000),
                                         pkt(5100000), pkt(5100001), pkt(9000000)};
    std::vector<WindowPacket> out;
    BOOST_TEST(packet_loss(view(p, 15000000), t0, 100000, out) == 4u);
    BOOST_TEST(times(out) == (std::vector<uint32_t>{0, 4899999, 5100001, 9000000}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(draws_stay_in_their_ranges_and_follow_the_state) {
    AugmentParams prm;
    const std::vector<WindowPacket> p = {pkt(1000000), pkt(2000000), pkt(4000000)};
    std::set<double> alphas;
    for (uint32_t copy = 1; copy < 200; ++copy) {
        uint64_t s = augment_state(3, 11, copy), s2 = s;
        const double alpha = uniform(s2, prm.alpha_min, prm.alpha_max);
        BOOST_TEST((alpha >= 0.5 && alpha < 1.5));
        alphas.insert(alpha);
        std::vector<WindowPacket> out, want;
        augment_packets(view(p, 15000000), AugmentKind::changertt, prm, s, out);
        change_rtt(view(p, 15000000), alpha, want);
        BOOST_TEST(times(out) == times(want), boost::test_tools::per_element());
        BOOST_TEST(s == s2);  // exactly one draw
        // timeshift: b in [-1, 1) s; packetloss: t0 in [first, last]
        uint64_t t = augment_state(3, 11, copy), t2 = t;
        out.clear();
        augment_packets(view(p, 15000000), AugmentKind::timeshift, prm, t, out);
        const int64_t b = std::llround(uniform(t2, -1.0, 1.0) * 1e6);
        BOOST_TEST((b >= -1000000 && b <= 1000000));
        BOOST_TEST(out.size() == 3u);  // the first packet is at 1 s: no shift in range drops it
        BOOST_TEST(out[0].t_us == uint32_t(int64_t(p[0].t_us) + b));
        uint64_t l = augment_state(3, 11, copy), l2 = l;
        out.clear();
        augment_packets(view(p, 15000000), AugmentKind::packetloss, prm, l, out);
        const double t0 = uniform(l2, 1000000, 4000000);
        want.clear();
        packet_loss(view(p, 15000000), t0, 100000, want);
        BOOST_TEST(times(out) == times(want), boost::test_tools::per_element());
    }
    BOOST_TEST(alphas.size() == 199u);  // a fresh draw per copy
    // The uniform draw covers its range: the 199 alphas spread over [0.5, 1.5).
    BOOST_TEST(*alphas.begin() < 0.6);
    BOOST_TEST(*alphas.rbegin() > 1.4);
    BOOST_TEST(augment_state(3, 11, 1) != augment_state(4, 11, 1));
    BOOST_TEST(augment_state(3, 11, 1) != augment_state(3, 12, 1));
}

BOOST_AUTO_TEST_CASE(params_parse_and_bad_ones_are_named) {
    AugmentParams p;
    set_augment_param(p, AugmentKind::changertt, "alpha=0.25:2");
    BOOST_TEST(p.alpha_min == 0.25);
    BOOST_TEST(p.alpha_max == 2.0);
    set_augment_param(p, AugmentKind::timeshift, "shift=0.5");
    BOOST_TEST(p.shift_s == 0.5);
    set_augment_param(p, AugmentKind::packetloss, "loss=0.2");
    BOOST_TEST(p.loss_s == 0.2);
    set_augment_param(p, AugmentKind::rotate, "degrees=5");
    BOOST_TEST(p.degrees == 5.0);
    set_augment_param(p, AugmentKind::hflip, "p=1");
    BOOST_TEST(p.flip_p == 1.0);
    set_augment_param(p, AugmentKind::colorjitter, "brightness=0.5");
    set_augment_param(p, AugmentKind::colorjitter, "contrast=0.25");
    BOOST_TEST(p.brightness == 0.5);
    BOOST_TEST(p.contrast == 0.25);
    BOOST_TEST(format_augment(AugmentKind::changertt, p) == "changertt alpha=0.25:2");
    BOOST_TEST(format_augment(AugmentKind::rotate, AugmentParams{}) == "rotate degrees=10");
    BOOST_TEST(format_augment(AugmentKind::packetloss, AugmentParams{}) == "packetloss loss=0.1");
    BOOST_TEST(augment_params_json(AugmentKind::colorjitter, p) == "{\"brightness\":0.5,\"contrast\":0.25}");
    auto message = [&](AugmentKind k, const std::string& kv) {
        try {
            set_augment_param(p, k, kv);
        } catch (const UsageError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    BOOST_TEST(message(AugmentKind::changertt, "alpha=1.5:0.5").find("0 < MIN <= MAX") != std::string::npos);
    BOOST_TEST(message(AugmentKind::changertt, "alpha=x:1").find("not a number") != std::string::npos);
    BOOST_TEST(message(AugmentKind::changertt, "alpha=1").find("MIN:MAX") != std::string::npos);
    BOOST_TEST(message(AugmentKind::rotate, "alpha=0.5:1").find("belongs to --augment changertt") != std::string::npos);
    BOOST_TEST(message(AugmentKind::hflip, "p=2").find("probability") != std::string::npos);
    BOOST_TEST(message(AugmentKind::hflip, "q=2").find("unknown key 'q'") != std::string::npos);
    BOOST_TEST(message(AugmentKind::hflip, "p").find("KEY=VALUE") != std::string::npos);
    BOOST_TEST(message(AugmentKind::timeshift, "shift=nan").find("not a number") != std::string::npos);
    BOOST_CHECK_THROW(parse_augment("flip"), UsageError);
    BOOST_TEST(int(parse_augment("colorjitter")) == int(AugmentKind::colorjitter));
    BinningOptions binary = fixed32();
    binary.values = ValueMode::binary;
    BOOST_CHECK_THROW(validate(aug(AugmentKind::colorjitter, 10), binary), UsageError);
    BOOST_CHECK_NO_THROW(validate(aug(AugmentKind::rotate, 10), binary));
    BOOST_CHECK_THROW(validate(aug(AugmentKind::rotate, 1001), binary), UsageError);
}

// ---- images ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(rotate_by_0_90_180_degrees_moves_pixels_exactly) {
    const int n = 6;
    auto src = image(2, n, [](int c, int i, int j) { return float(100 * c + 10 * i + j + 1); });
    std::vector<float> out(src.size());
    rotate_image(src.data(), 2, n, 0.0, out.data());
    BOOST_TEST(out == src, boost::test_tools::per_element());
    // +90: clockwise, so the top-left pixel goes to the top-right: out[i][j] = in[n-1-j][i].
    rotate_image(src.data(), 2, n, 90.0, out.data());
    for (int c = 0; c < 2; ++c)
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) BOOST_TEST(at(out, n, c, i, j) == at(src, n, c, n - 1 - j, i));
    rotate_image(src.data(), 2, n, -90.0, out.data());
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) BOOST_TEST(at(out, n, 0, i, j) == at(src, n, 0, j, n - 1 - i));
    rotate_image(src.data(), 2, n, 180.0, out.data());
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) BOOST_TEST(at(out, n, 1, i, j) == at(src, n, 1, n - 1 - i, n - 1 - j));
}

BOOST_AUTO_TEST_CASE(rotate_by_10_degrees_fills_the_corners_with_zeros) {
    const int n = 32;
    auto ones = image(1, n, [](int, int, int) { return 1.f; });
    std::vector<float> out(ones.size());
    rotate_image(ones.data(), 1, n, 10.0, out.data());
    // Corner (0, 0) samples x = 15.5 - 15.5 (cos + sin) = -2.45 (outside): zero.  The
    // centre stays.  Every pixel is 0 or 1 (nearest neighbour: no blending).
    BOOST_TEST(at(out, n, 0, 0, 0) == 0.f);
    BOOST_TEST(at(out, n, 0, 0, n - 1) == 0.f);
    BOOST_TEST(at(out, n, 0, n - 1, 0) == 0.f);
    BOOST_TEST(at(out, n, 0, n - 1, n - 1) == 0.f);
    BOOST_TEST(at(out, n, 0, n / 2, n / 2) == 1.f);
    size_t zeros = 0;
    for (float v : out) {
        BOOST_TEST((v == 0.f || v == 1.f));
        zeros += v == 0.f;
    }
    BOOST_TEST(zeros > 0u);
    BOOST_TEST(zeros < size_t(n * n) / 4);
    // A single lit pixel right of the centre, (15, 25): turned clockwise by 10 degrees it
    // moves down.  Output (i, j) samples (x, y) = (c xo + s yo, -s xo + c yo) + 15.5;
    // for (i, j) = (17, 25): xo = 9.5, yo = 1.5: x = 9.356 + 0.260 + 15.5 = 25.12 -> 25,
    // y = -1.650 + 1.477 + 15.5 = 15.33 -> 15.
    auto dot = image(1, n, [](int, int i, int j) { return i == 15 && j == 25 ? 7.f : 0.f; });
    rotate_image(dot.data(), 1, n, 10.0, out.data());
    BOOST_TEST(at(out, n, 0, 17, 25) == 7.f);
    BOOST_TEST(at(out, n, 0, 15, 25) == 0.f);
}

BOOST_AUTO_TEST_CASE(hflip_mirrors_the_time_axis) {
    const int n = 5;
    auto src = image(2, n, [](int c, int i, int j) { return float(100 * c + 10 * i + j); });
    auto img = src;
    hflip_image(img.data(), 2, n);
    for (int c = 0; c < 2; ++c)
        for (int i = 0; i < n; ++i)
            for (int j = 0; j < n; ++j) BOOST_TEST(at(img, n, c, i, j) == at(src, n, c, i, n - 1 - j));
    // p = 0 never flips, p = 1 always.
    BinningOptions b = fixed32();
    b.resolution = n;
    b.direction = Direction::channels;
    AugmentParams p;
    std::vector<float> scratch;
    for (uint32_t copy = 1; copy < 20; ++copy) {
        uint64_t s = augment_state(1, 2, copy);
        auto never = src;
        p.flip_p = 0;
        augment_image(never.data(), b, AugmentKind::hflip, p, s, scratch);
        BOOST_TEST(never == src, boost::test_tools::per_element());
        auto always = src;
        p.flip_p = 1;
        augment_image(always.data(), b, AugmentKind::hflip, p, s, scratch);
        BOOST_TEST(always == img, boost::test_tools::per_element());
    }
    // p = 0.5 flips about half of the copies.
    p.flip_p = 0.5;
    int flipped = 0;
    for (uint32_t copy = 1; copy <= 400; ++copy) {
        uint64_t s = augment_state(1, 2, copy);
        auto x = src;
        augment_image(x.data(), b, AugmentKind::hflip, p, s, scratch);
        flipped += x == img;
    }
    BOOST_TEST((flipped > 150 && flipped < 250), flipped);
}

BOOST_AUTO_TEST_CASE(brightness_and_contrast_as_torchvision_does_on_uint8) {
    std::vector<float> img = {0, 1, 3, 255};
    adjust_brightness(img.data(), img.size(), 0.5, 255.f);
    BOOST_TEST(img == (std::vector<float>{0, 0, 1, 127}), boost::test_tools::per_element());  // truncated
    img = {0, 1, 3, 200};
    adjust_brightness(img.data(), img.size(), 2.0, 255.f);
    BOOST_TEST(img == (std::vector<float>{0, 2, 6, 255}), boost::test_tools::per_element());  // clamped at hi
    // contrast: g v + (1 - g) mean, mean = 2 over every pixel.
    img = {0, 0, 0, 8};
    adjust_contrast(img.data(), img.size(), 0.5, 255.f);
    BOOST_TEST(img == (std::vector<float>{1, 1, 1, 5}), boost::test_tools::per_element());
    img = {0, 0, 0, 8};
    adjust_contrast(img.data(), img.size(), 2.0, 255.f);
    BOOST_TEST(img == (std::vector<float>{0, 0, 0, 14}), boost::test_tools::per_element());  // -2 clamps to 0
    img = {0, 0, 0, 8};
    adjust_contrast(img.data(), img.size(), 2.0, 10.f);
    BOOST_TEST(img == (std::vector<float>{0, 0, 0, 10}), boost::test_tools::per_element());
    // Factors of exactly 1 (brightness = contrast = 0) leave an integer image as it is.
    BinningOptions b = fixed32();
    b.resolution = 4;
    b.max_count = 255;
    BOOST_TEST(pixel_ceiling(b) == 255.f);
    auto src = image(1, 4, [](int, int i, int j) { return float((i * 7 + j * 3) % 11); });
    auto x = src;
    AugmentParams p;
    p.brightness = p.contrast = 0;
    std::vector<float> scratch;
    uint64_t s = augment_state(1, 1, 1);
    augment_image(x.data(), b, AugmentKind::colorjitter, p, s, scratch);
    BOOST_TEST(x == src, boost::test_tools::per_element());
    // The drawn case: order and factors from the state, then the two rules.
    p = AugmentParams{};
    for (uint32_t copy = 1; copy < 50; ++copy) {
        uint64_t st = augment_state(5, 6, copy), st2 = st;
        auto got = src;
        augment_image(got.data(), b, AugmentKind::colorjitter, p, st, scratch);
        const bool brightness_first = uniform(st2, 0, 1) < 0.5;
        const double f = uniform(st2, 0.2, 1.8), g = uniform(st2, 0.2, 1.8);
        auto want = src;
        if (brightness_first) adjust_brightness(want.data(), want.size(), f, 255.f);
        adjust_contrast(want.data(), want.size(), g, 255.f);
        if (!brightness_first) adjust_brightness(want.data(), want.size(), f, 255.f);
        BOOST_TEST(got == want, boost::test_tools::per_element());
    }
}

// ---- the loader -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(copies_multiply_the_train_split_only) {
    SmallDataset d(12, 8, 3);
    DatasetReader ds(d.path);
    DatasetLoader plain(ds, kSplitTrain, fixed32());
    DatasetLoader train(ds, kSplitTrain, fixed32(), aug(AugmentKind::changertt, 10));
    BOOST_TEST(plain.size() == 8u);
    BOOST_TEST(train.size() == 80u);
    BOOST_TEST(train.window_count() == 8u);
    BOOST_TEST(train.class_counts() == (std::vector<uint64_t>{40, 40}), boost::test_tools::per_element());
    // Without augmentation the ids are the window indices, as before.
    BOOST_TEST(plain.order() == (std::vector<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7}), boost::test_tools::per_element());
    // Each window appears exactly 10 times in a shuffled epoch, with copies 0..9.
    train.shuffle(1, 1);
    std::vector<int> seen(8 * 10, 0);
    for (uint32_t s : train.order()) ++seen[s];
    for (int c : seen) BOOST_TEST(c == 1);
    // copies 1 is no augmentation at all; none ignores copies.
    BOOST_TEST(DatasetLoader(ds, kSplitTrain, fixed32(), aug(AugmentKind::changertt, 1)).size() == 8u);
    BOOST_TEST(DatasetLoader(ds, kSplitTrain, fixed32(), aug(AugmentKind::none, 10)).size() == 8u);
    // The same shuffle as an unaugmented loader when copies is 1.
    DatasetLoader one(ds, kSplitTrain, fixed32(), aug(AugmentKind::changertt, 1));
    plain.shuffle(4, 2);
    one.shuffle(4, 2);
    BOOST_TEST(plain.order() == one.order(), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(augmented_samples_are_deterministic_and_copy_0_is_the_window) {
    SmallDataset d(10, 10, 5);
    DatasetReader ds(d.path);
    for (AugmentKind k : {AugmentKind::changertt, AugmentKind::timeshift, AugmentKind::packetloss}) {
        DatasetLoader a(ds, kSplitTrain, fixed32(), aug(k, 4, 7)), b(ds, kSplitTrain, fixed32(), aug(k, 4, 7)),
            other(ds, kSplitTrain, fixed32(), aug(k, 4, 8));
        a.shuffle(2, 1);
        b.shuffle(2, 1);
        other.shuffle(2, 1);
        std::vector<int32_t> la, lb, lo;
        const PacketListView* va = a.views(0, a.size(), la);
        std::vector<std::vector<WindowPacket>> first;
        for (size_t i = 0; i < a.size(); ++i) first.push_back(copy_of(va[i]));
        const PacketListView* vb = b.views(0, b.size(), lb);
        const PacketListView* vo = other.views(0, other.size(), lo);
        size_t differ = 0;
        for (size_t i = 0; i < a.size(); ++i) {
            const uint32_t s = a.order()[i], w = s / 4, copy = s % 4;
            BOOST_TEST(la[i] == int32_t(ds.label(w)));
            BOOST_TEST(times(first[i]) == times(copy_of(vb[i])), boost::test_tools::per_element());
            BOOST_TEST(va[i].length_us == 15000000u);
            const DatasetWindow win = ds.window(w);
            std::vector<WindowPacket> want;
            if (copy == 0) {
                want = copy_of(win.packets);  // the window itself
            } else {
                uint64_t st = augment_state(7, w, copy);
                augment_packets(win.packets, k, AugmentParams{}, st, want);
            }
            BOOST_TEST(times(first[i]) == times(want), boost::test_tools::per_element());
            // The other seed: the same order (shuffle seed 2), other draws for copies > 0.
            BOOST_TEST(other.order()[i] == s);
            if (copy > 0) differ += times(first[i]) != times(copy_of(vo[i]));
        }
        BOOST_TEST(differ > a.size() / 2, to_string(k) << ": " << differ);
        // Batches in pieces give the same lists as one batch (the buffer is per batch).
        for (size_t f = 0; f < a.size(); f += 3) {
            const size_t n = std::min<size_t>(3, a.size() - f);
            const PacketListView* v = a.views(f, n, la);
            for (size_t i = 0; i < n; ++i) BOOST_TEST(times(copy_of(v[i])) == times(first[f + i]));
        }
    }
}

BOOST_AUTO_TEST_CASE(image_augmentations_apply_to_the_host_binning) {
    SmallDataset d(6, 6, 9);
    DatasetReader ds(d.path);
    BinningOptions b = fixed32();
    b.max_count = 255;
    for (AugmentKind k : {AugmentKind::rotate, AugmentKind::hflip, AugmentKind::colorjitter}) {
        DatasetLoader l(ds, kSplitTrain, b, aug(k, 5, 3));
        BOOST_TEST(l.image_input());
        l.shuffle(1, 1);
        std::vector<int32_t> labels;
        std::vector<float> got(l.size() * image_size(b)), want(image_size(b)), scratch;
        l.images(0, l.size(), labels, got.data());
        size_t changed = 0;
        for (size_t i = 0; i < l.size(); ++i) {
            const uint32_t s = l.order()[i], w = s / 5, copy = s % 5;
            const PacketListView v = ds.window(w).packets;
            bin_dense_ref(&v, 1, b, want.data());
            const std::vector<float> plain = want;
            if (copy > 0) {
                uint64_t st = augment_state(3, w, copy);
                augment_image(want.data(), b, k, AugmentParams{}, st, scratch);
            }
            const std::vector<float> g(got.begin() + long(i * want.size()), got.begin() + long((i + 1) * want.size()));
            BOOST_TEST(g == want, boost::test_tools::per_element());
            changed += g != plain;
        }
        BOOST_TEST(changed > 0u, to_string(k));
    }
    // Packet augmentations and none bin to the same images as the views.
    DatasetLoader p(ds, kSplitTrain, b, aug(AugmentKind::changertt, 3, 3));
    BOOST_TEST(!p.image_input());
}

// The images a net sees from an augmented batch are the same on every backend: packet
// augmentations reach each backend as packet lists (binned there by the shared rule),
// image augmentations as host images.  Logits agree to float rounding, with the
// scalar CPU as the oracle; windows emptied by the augmentation included.
BOOST_AUTO_TEST_CASE(every_backend_sees_the_same_augmented_batch) {
    SmallDataset d(16, 16, 13);
    DatasetReader ds(d.path);
    std::vector<std::string> devices = {"cpu-scalar"};
    if (cpu_has_avx2_fma()) devices.push_back("cpu-avx2");
    if (cuda_device_info().count > 0) devices.push_back("cuda");
    BinningOptions b = fixed32();
    b.max_count = 255;
    AugmentParams strong;
    strong.shift_s = 30;  // shifts past the whole window: many lists come out empty
    for (AugmentKind k : {AugmentKind::timeshift, AugmentKind::changertt, AugmentKind::rotate}) {
        AugmentOptions a = aug(k, 4, 21);
        if (k == AugmentKind::timeshift) a.params = strong;
        std::vector<std::vector<float>> logits;
        size_t empty = 0;
        for (const std::string& dev : devices) {
            auto be = make_backend(dev);
            Network net(NetSpec{Arch::kLeNet, 32, 1, 2});
            net.init_glorot(5);
            net.to(be->memory());
            DatasetLoader l(ds, kSplitTrain, b, a);
            l.shuffle(3, 1);
            std::vector<int32_t> labels;
            std::vector<float> out;
            if (l.image_input()) {
                std::vector<float> host(l.size() * image_size(b));
                l.images(0, l.size(), labels, host.data());
                Tensor x({int64_t(l.size()), 1, 32, 32}, be->memory());
                x.assign(host.data());
                out = net.forward(*be, x, kInference).to_vector();
            } else {
                const PacketListView* v = l.views(0, l.size(), labels);
                for (size_t i = 0; i < l.size(); ++i) empty += v[i].count == 0;
                out = net.forward(*be, PacketBatch{v, l.size(), b}, kInference).to_vector();
            }
            logits.push_back(out);
        }
        if (k == AugmentKind::timeshift) BOOST_TEST(empty > 0u);
        for (size_t dvi = 1; dvi < logits.size(); ++dvi) {
            BOOST_TEST_REQUIRE(logits[dvi].size() == logits[0].size());
            double worst = 0;
            for (size_t i = 0; i < logits[0].size(); ++i)
                worst = std::max(worst, std::fabs(double(logits[dvi][i]) - logits[0][i]) / (1 + std::fabs(logits[0][i])));
            BOOST_TEST(worst < 1e-4, devices[dvi] << " " << to_string(k) << ": " << worst);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
