// The optimised CPU binning (kernels/cpu/binning_avx2.h) against the scalar reference:
// the same pixels, in the same order, with the same values, for every option, on random
// windows built to hit the edges (sizes 1500 and above, duplicate times, single-packet
// and empty windows, the resolutions people use, double-rounding columns).
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/cpu/binning.h"
#include "tests/binning_modes.h"
#include "tests/binning_windows.h"
#include "kernels/cpu/binning_avx2.h"

using namespace flowpic;

namespace {

const int kResolutions[] = {1500, 300, 64, 32, 7, 1};

std::string describe(const SparsePixel& p) {
    std::ostringstream s;
    s << "(ch" << p.channel << " r" << p.row << " c" << p.col << " = " << p.value << ")";
    return s.str();
}

// Empty when identical (reserved included), else the first difference.
std::string diff_sparse(const SparsePixel* got, size_t ng, const SparsePixel* want, size_t nw) {
    for (size_t i = 0; i < std::max(ng, nw); ++i) {
        if (i >= ng) return "missing " + describe(want[i]);
        if (i >= nw) return "extra " + describe(got[i]);
        const SparsePixel &a = got[i], &b = want[i];
        if (a.channel != b.channel || a.row != b.row || a.col != b.col || a.value != b.value ||
            a.reserved != b.reserved)
            return "pixel " + std::to_string(i) + ": got " + describe(a) + " want " + describe(b);
    }
    return "";
}

template <typename T>
std::string diff_dense(const std::vector<T>& got, const std::vector<T>& want) {
    if (got.size() != want.size()) return "size differs";
    for (size_t i = 0; i < want.size(); ++i)
        if (!(got[i] == want[i]))  // NaN poison never passes
            return "element " + std::to_string(i) + ": got " + std::to_string(double(got[i])) +
                   " want " + std::to_string(double(want[i]));
    return "";
}

// Sparse (one scratch reused across every call), dense float and dense uint16 against the
// reference for every mode at every resolution.  Returns the number of images compared.
size_t check_window(const TestWindow& tw, SparseBinner& sparse, DenseBinner& dense,
                    const std::string& what) {
    const PacketListView w = tw.view();
    size_t checked = 0;
    for (int n : kResolutions)
        for (const auto& o : all_binning_modes(n)) {
            const std::string where = what + " " + format_options(o) + ": ";
            std::vector<SparsePixel> want, got = {SparsePixel{9, 9, 9, 9, 9.0f}};  // appended to
            bin_sparse_ref(w, o, want);
            sparse.bin(w, o, got);
            BOOST_TEST_REQUIRE(got.size() >= 1u);
            BOOST_TEST(got[0].value == 9.0f, where << "sparse overwrote what was in out");
            std::string d = diff_sparse(got.data() + 1, got.size() - 1, want.data(), want.size());
            BOOST_TEST(d.empty(), where << "sparse " << d);

            std::vector<float> ref(image_size(o)), fast(image_size(o), NAN);  // poison
            bin_dense_ref(&w, 1, o, ref.data());
            dense.bin(&w, 1, o, fast.data());
            d = diff_dense(fast, ref);
            BOOST_TEST(d.empty(), where << "dense " << d);
            if (n <= 64) {  // the uint16 path is the same template: small images suffice
                std::vector<uint16_t> ref16(image_size(o)), fast16(image_size(o), 0xBEEF);
                bin_dense_u16_ref(&w, 1, o, ref16.data());
                dense.bin(&w, 1, o, fast16.data());
                d = diff_dense(fast16, ref16);
                BOOST_TEST(d.empty(), where << "dense u16 " << d);
            }
            ++checked;
        }
    return checked;
}

bool any_kept(const TestWindow& tw) {
    std::vector<SparsePixel> px;
    bin_sparse_ref(tw.view(), BinningOptions{}, px);
    return !px.empty();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(binning_avx2)

BOOST_AUTO_TEST_CASE(random_windows_equal_the_reference) {
    std::mt19937 rng(20240611);
    SparseBinner sparse;
    DenseBinner dense;
    size_t images = 0, windows = 0;
    // Small and large counts, in an order that makes the scratch grow and shrink.
    const uint32_t counts[] = {1, 2, 3, 40, 3000, 5, 700, 1, 2500, 17, 4096, 2, 150, 9000, 60};
    for (uint32_t count : counts) {
        TestWindow tw = random_window(rng, count);
        if (!any_kept(tw)) continue;  // every packet above 1500: never compare empty images
        images += check_window(tw, sparse, dense, "window of " + std::to_string(count));
        ++windows;
    }
    BOOST_TEST(windows >= 12u);
    BOOST_TEST_MESSAGE(images << " images equal to the reference");
}

BOOST_AUTO_TEST_CASE(single_empty_and_same_instant_windows) {
    SparseBinner sparse;
    DenseBinner dense;
    TestWindow one;
    one.packets = {WindowPacket{123456, 1500, 1, 0}};
    one.length_us = 60000000;
    check_window(one, sparse, dense, "one packet");

    TestWindow same;  // span D == 0: every packet in column 0, both directions mixed
    for (uint16_t s : {40, 1500, 700, 700, 1500, 41, 2000})
        same.packets.push_back(WindowPacket{5000, s, uint8_t(s % 2), 0});
    same.length_us = 0;  // fixed: a zero-length window, also column 0
    check_window(same, sparse, dense, "one instant");

    TestWindow empty;
    empty.length_us = 1000;
    check_window(empty, sparse, dense, "empty");
    std::vector<SparsePixel> px;
    sparse.bin(empty.view(), BinningOptions{}, px);
    BOOST_TEST(px.empty());

    TestWindow oversize;  // only packets above 1500 bytes: all dropped, like the reference
    oversize.packets = {WindowPacket{0, 1501, 1, 0}, WindowPacket{9, 65535, 0, 0}};
    oversize.length_us = 10;
    check_window(oversize, sparse, dense, "oversize");
}

// Columns where (t / D) * N rounds below the exact integer (numpy then says the lower
// bin): a reciprocal multiply or integer shortcut would get these wrong.
BOOST_AUTO_TEST_CASE(double_rounding_columns) {
    const int n = 300;
    TestWindow tw;
    for (uint32_t span = 1000; tw.packets.size() < 200 && span < 2000000; span += 7) {
        for (uint32_t k = 1; k < uint32_t(n); ++k) {
            if (uint64_t(k) * span % n) continue;
            const uint32_t t = uint32_t(uint64_t(k) * span / n);
            if (int(double(t) / double(span) * double(n)) == int(k)) continue;
            // Packets at 0 and span make span normalisation use exactly this D.
            tw.packets = {WindowPacket{0, 100, 1, 0}, WindowPacket{t, 700, 0, 0},
                          WindowPacket{span, 1500, 1, 0}};
            tw.length_us = span;
            break;
        }
    }
    BOOST_TEST_REQUIRE(tw.packets.size() == 3u, "no double-rounding case found");
    std::vector<SparsePixel> px;
    BinningOptions o{n, Normalize::span, ValueMode::count, Direction::none};
    bin_sparse_ref(tw.view(), o, px);
    BOOST_TEST_REQUIRE(px.size() == 3u);
    const uint32_t exact = uint32_t(uint64_t(tw.packets[1].t_us) * n / tw.length_us);
    BOOST_TEST(px[1].col + 1u == exact);  // the case is what it claims to be
    SparseBinner sparse;
    DenseBinner dense;
    check_window(tw, sparse, dense, "double rounding");
}

// The optimised row rule (integer arithmetic in place of size * N / 1500 in double)
// for every size 0..1600 at every resolution 1..1500, against the reference.
BOOST_AUTO_TEST_CASE(every_size_at_every_resolution) {
    TestWindow tw;
    tw.length_us = 1600;
    for (uint32_t s = 0; s <= 1600; ++s) tw.packets.push_back(WindowPacket{s, uint16_t(s), uint8_t(s % 2), 0});
    tw.packets.push_back(WindowPacket{1600, 65535, 1, 0});
    SparseBinner sparse;
    std::vector<SparsePixel> want, got;
    size_t bad = 0;
    for (int n = 1; n <= kMaxResolution; ++n) {
        BinningOptions o{n, Normalize::fixed, ValueMode::count, Direction::channels};
        want.clear();
        got.clear();
        bin_sparse_ref(tw.view(), o, want);
        sparse.bin(tw.view(), o, got);
        const std::string d = diff_sparse(got.data(), got.size(), want.data(), want.size());
        if (!d.empty() && bad++ < 5) BOOST_TEST(d.empty(), "N " << n << ": " << d);
    }
    BOOST_TEST(bad == 0u);
}

// Times exactly on column edges (fixed, 60 s, N = 64: every 937,500 us) and one tick
// either side, where a shortcut for the column must fall back to the exact rule.
BOOST_AUTO_TEST_CASE(times_on_column_edges) {
    TestWindow tw;
    tw.length_us = 60000000;
    for (uint32_t k = 0; k <= 64; ++k)
        for (int delta : {-1, 0, 1}) {
            const int64_t t = int64_t(k) * 937500 + delta;
            if (t >= 0) tw.packets.push_back(WindowPacket{uint32_t(t), uint16_t(40 + 20 * k), uint8_t(k % 2), 0});
        }
    SparseBinner sparse;
    DenseBinner dense;
    check_window(tw, sparse, dense, "column edges");
}

// Outside the contract (packets must be sorted by time), the answer is still the reference's.
BOOST_AUTO_TEST_CASE(unsorted_input_still_matches) {
    std::mt19937 rng(5);
    TestWindow tw = random_window(rng, 500);
    std::shuffle(tw.packets.begin() + 1, tw.packets.end() - 1, rng);
    SparseBinner sparse;
    DenseBinner dense;
    check_window(tw, sparse, dense, "shuffled");
}

BOOST_AUTO_TEST_CASE(batch_offsets_and_pixels_equal_the_reference) {
    std::mt19937 rng(77);
    // Enough packets for the parallel path; empty and tiny windows in the middle.
    std::vector<TestWindow> windows;
    for (int i = 0; i < 48; ++i) {
        const uint32_t count = i % 7 == 3 ? 0 : i % 5 == 1 ? 1 : 1000 + rng() % 4000;
        windows.push_back(random_window(rng, count));
    }
    std::vector<PacketListView> views;
    for (auto& w : windows) views.push_back(w.view());
    SparseBatchBinner batcher;
    DenseBinner dense;
    for (int n : {1500, 64})
        for (const auto& o : all_binning_modes(n)) {
            SparseBatch want, got;
            got.pixels.assign(3, SparsePixel{1, 1, 1, 1, 1.0f});  // stale content must go
            got.offsets.assign(7, 42);
            bin_sparse_ref(views.data(), views.size(), o, want);
            batcher.bin(views.data(), views.size(), o, got);
            BOOST_TEST_REQUIRE(got.size() == views.size());
            BOOST_TEST(got.offsets == want.offsets, format_options(o) << ": offsets differ");
            const std::string d = diff_sparse(got.pixels.data(), got.pixels.size(),
                                               want.pixels.data(), want.pixels.size());
            BOOST_TEST(d.empty(), format_options(o) << ": " << d);
            BOOST_TEST(want.pixels.size() > 1000u);  // never a trivially empty comparison

            if (n == 64) {  // dense batch: every image at its offset
                std::vector<float> ref(image_size(o) * views.size()), fast(ref.size(), NAN);
                bin_dense_ref(views.data(), views.size(), o, ref.data());
                dense.bin(views.data(), views.size(), o, fast.data());
                BOOST_TEST(diff_dense(fast, ref).empty(), format_options(o) << ": dense batch");
            }
        }
    // A dense batch at 1500^2 (the parallel zeroing path), count mode only.
    BinningOptions o;
    const size_t three = 3;
    std::vector<float> ref(image_size(o) * three), fast(ref.size(), NAN);
    bin_dense_ref(views.data(), three, o, ref.data());
    dense.bin(views.data(), three, o, fast.data());
    BOOST_TEST(diff_dense(fast, ref).empty());

    SparseBatch none;
    none.pixels.resize(2);
    batcher.bin(views.data(), 0, o, none);
    BOOST_TEST(none.size() == 0u);
    BOOST_TEST(none.pixels.empty());
    SparseBatch conv;
    bin_sparse_avx2(views.data(), 5, o, conv);
    BOOST_TEST(conv.size() == 5u);
}

BOOST_AUTO_TEST_CASE(uint16_counts_saturate_and_bad_options_throw) {
    std::vector<WindowPacket> pk(70000, WindowPacket{0, 1000, 1, 0});
    pk.push_back(WindowPacket{100, 100, 0, 0});
    PacketListView w{pk.data(), uint32_t(pk.size()), 100};
    BinningOptions o{32, Normalize::span, ValueMode::count, Direction::none};
    std::vector<uint16_t> ref(image_size(o)), fast(image_size(o), 7);
    bin_dense_u16_ref(&w, 1, o, ref.data());
    DenseBinner dense;
    dense.bin(&w, 1, o, fast.data());
    BOOST_TEST(diff_dense(fast, ref).empty());
    BOOST_TEST(*std::max_element(fast.begin(), fast.end()) == 65535);
    std::vector<SparsePixel> px;
    SparseBinner sparse;
    sparse.bin(w, o, px);
    BOOST_TEST_REQUIRE(!px.empty());
    BOOST_TEST(px.back().value == 70000.0f);  // sparse floats do not saturate, as the reference

    for (int bad : {0, -3, 1501}) {
        BinningOptions b{bad, Normalize::span, ValueMode::count, Direction::none};
        BOOST_CHECK_THROW(sparse.bin(w, b, px), UsageError);
        SparseBatch sb;
        BOOST_CHECK_THROW(SparseBatchBinner().bin(&w, 1, b, sb), UsageError);
        float f = 0;
        BOOST_CHECK_THROW(dense.bin(&w, 1, b, &f), UsageError);
    }
}

BOOST_AUTO_TEST_SUITE_END()
