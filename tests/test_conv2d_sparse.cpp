// Sparse-input convolution references (kernels/conv2d_sparse.h) against the dense
// reference on the densified input: random entry lists in any order with repeated
// pixels, value-0 entries, entries on every border, several channels, an empty image,
// on the shared shape table plus the first layers of the nets (FlowPicNet conv1 at full
// size).  And packets_to_entries_ref against bin_dense_ref, pixel for pixel.  Outputs are
// poisoned with NaN before every call, so an element left unwritten fails.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/conv2d.h"
#include "kernels/conv2d_sparse.h"
#include "kernels/cpu/binning.h"
#include "tests/binning_windows.h"
#include "tests/conv2d_cases.h"
#include "tests/op_check.h"
#include "tests/sparse_entries.h"

using namespace flowpic;

namespace {

// The shared table plus first-layer shapes and the tiling edges of the CUDA kernels
// (K*Q beyond one shared-memory tile; more (k, p mod A, q mod B) slots than threads).
std::vector<Conv2dCase> sparse_cases() {
    std::vector<Conv2dCase> c = conv2d_test_cases();
    c.insert(c.end(), {
        {"FlowPicNet conv1 at 1500x1500 batch 2", conv_same(2, 1, 1500, 1500, 10, 10, 10, 5)},
        {"FlowPicNet conv1 2 channels at 300x300", conv_same(2, 2, 300, 300, 10, 10, 10, 5)},
        {"3x3 stride 2 same, A = B = 2", conv_same(3, 1, 31, 29, 5, 3, 3, 2)},
        {"5x3 stride 1 same 2 channels", conv_same(2, 2, 40, 33, 4, 5, 3, 1)},
        {"K*Q beyond one tile", conv_same(1, 1, 16, 1500, 16, 3, 3, 1)},
        {"K 64 5x5 stride 1 (many slots)", conv_same(2, 1, 20, 20, 64, 5, 5, 1)},
    });
    return c;
}

using SparseInput = SparseEntries;

SparseInput random_sparse(const Conv2dShape& s, unsigned seed) { return random_sparse_entries(s, seed); }


// Sparse reference against the dense reference on the densified input, in T.
template <typename T>
void check_against_dense(const Conv2dShape& s, const SparseInput& in, unsigned seed, double tol) {
    std::mt19937 rng(seed);
    const std::vector<T> w = random_values<T>(conv2d_w_size(s), rng), b = random_values<T>(s.k, rng),
                         dy = random_values<T>(conv2d_y_size(s), rng);
    std::vector<T> x = poisoned<T>(conv2d_x_size(s));
    sparse_to_dense_ref<T>(s, in.entries.data(), in.offsets.data(), x.data());
    BOOST_TEST(std::any_of(x.begin(), x.end(), [](T v) { return v != T(0); }));

    std::vector<T> y_ref(size_t(conv2d_y_size(s))), dw_ref(size_t(conv2d_w_size(s))), db_ref(size_t(s.k));
    conv2d_forward_ref<T>(s, x.data(), w.data(), b.data(), y_ref.data());
    conv2d_backward_weight_ref<T>(s, x.data(), dy.data(), dw_ref.data(), db_ref.data());

    std::vector<T> y = poisoned<T>(conv2d_y_size(s)), dw = poisoned<T>(conv2d_w_size(s)), db = poisoned<T>(s.k);
    conv2d_sparse_forward_ref<T>(s, in.entries.data(), in.offsets.data(), w.data(), b.data(), y.data());
    conv2d_sparse_backward_weight_ref<T>(s, in.entries.data(), in.offsets.data(), dy.data(), dw.data(), db.data());
    BOOST_TEST(rel_err(y, y_ref) < tol);
    BOOST_TEST(rel_err(dw, dw_ref) < tol);
    BOOST_TEST(rel_err(db, db_ref) < tol);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(conv2d_sparse)

BOOST_AUTO_TEST_CASE(references_match_dense_reference_on_densified_input) {
    unsigned seed = 1;
    for (const Conv2dCase& c : sparse_cases()) {
        BOOST_TEST_CONTEXT(c.name) {
            const SparseInput in = random_sparse(c.shape, seed);
            check_against_dense<double>(c.shape, in, seed + 1000, 1e-12);
            check_against_dense<float>(c.shape, in, seed + 1000, 1e-5);
            ++seed;
        }
    }
}

BOOST_AUTO_TEST_CASE(null_bias_and_null_db) {
    const Conv2dShape s = conv_same(2, 2, 19, 17, 7, 4, 3, 2);
    const SparseInput in = random_sparse(s, 5);
    std::mt19937 rng(6);
    const auto w = random_values<double>(conv2d_w_size(s), rng), dy = random_values<double>(conv2d_y_size(s), rng);
    std::vector<double> x(size_t(conv2d_x_size(s))), y_ref(size_t(conv2d_y_size(s))),
        dw_ref(size_t(conv2d_w_size(s))), db_unused(size_t(s.k));
    sparse_to_dense_ref<double>(s, in.entries.data(), in.offsets.data(), x.data());
    conv2d_forward_ref<double>(s, x.data(), w.data(), nullptr, y_ref.data());
    conv2d_backward_weight_ref<double>(s, x.data(), dy.data(), dw_ref.data(), db_unused.data());
    auto y = poisoned<double>(conv2d_y_size(s)), dw = poisoned<double>(conv2d_w_size(s));
    conv2d_sparse_forward_ref<double>(s, in.entries.data(), in.offsets.data(), w.data(), nullptr, y.data());
    conv2d_sparse_backward_weight_ref<double>(s, in.entries.data(), in.offsets.data(), dy.data(), dw.data(), nullptr);
    BOOST_TEST(rel_err(y, y_ref) < 1e-12);
    BOOST_TEST(rel_err(dw, dw_ref) < 1e-12);
}

// Value-0 entries, wherever they point, leave y at the bias and dw at zero, exactly.
BOOST_AUTO_TEST_CASE(value_zero_entries_contribute_nothing) {
    const Conv2dShape s = conv_same(2, 2, 12, 10, 3, 3, 3, 1);
    std::vector<SparsePixel> entries = {{0, 0, 0, 0, 0.0f}, {1, 11, 9, 0, 0.0f}, {1, 5, 5, 0, -0.0f}, {0, 0, 0, 0, 0.0f}};
    std::vector<uint32_t> offsets = {0, 3, 4};
    std::mt19937 rng(7);
    const auto w = random_values<float>(conv2d_w_size(s), rng), b = random_values<float>(s.k, rng),
               dy = random_values<float>(conv2d_y_size(s), rng);
    auto y = poisoned<float>(conv2d_y_size(s)), dw = poisoned<float>(conv2d_w_size(s)), db = poisoned<float>(s.k);
    conv2d_sparse_forward_ref<float>(s, entries.data(), offsets.data(), w.data(), b.data(), y.data());
    conv2d_sparse_backward_weight_ref<float>(s, entries.data(), offsets.data(), dy.data(), dw.data(), db.data());
    bool bias_only = true;
    for (long long e = 0; e < conv2d_y_size(s); ++e)
        bias_only = bias_only && y[size_t(e)] == b[size_t(e / (1LL * s.p * s.q) % s.k)];
    BOOST_TEST(bias_only);
    BOOST_TEST(std::all_of(dw.begin(), dw.end(), [](float v) { return v == 0.0f; }));
    BOOST_TEST(std::all_of(db.begin(), db.end(), [](float v) { return std::isfinite(v); }));
}

BOOST_AUTO_TEST_CASE(entries_outside_the_input_throw) {
    const Conv2dShape s = conv_same(1, 2, 8, 9, 2, 3, 3, 1);
    std::vector<float> w(size_t(conv2d_w_size(s)), 1.0f), y(size_t(conv2d_y_size(s))), dy(size_t(conv2d_y_size(s)), 1.0f),
        dw(size_t(conv2d_w_size(s))), x(size_t(conv2d_x_size(s)));
    for (SparsePixel bad : {SparsePixel{2, 0, 0, 0, 1.0f}, SparsePixel{0, 8, 0, 0, 1.0f}, SparsePixel{1, 0, 9, 0, 1.0f},
                            SparsePixel{0, 8, 0, 0, 0.0f}}) {
        std::vector<SparsePixel> entries = {SparsePixel{0, 1, 1, 0, 1.0f}, bad};
        std::vector<uint32_t> offsets = {0, 2};
        BOOST_CHECK_THROW(conv2d_sparse_forward_ref<float>(s, entries.data(), offsets.data(), w.data(), nullptr, y.data()),
                          std::invalid_argument);
        BOOST_CHECK_THROW(conv2d_sparse_backward_weight_ref<float>(s, entries.data(), offsets.data(), dy.data(),
                                                                   dw.data(), nullptr),
                          std::invalid_argument);
        BOOST_CHECK_THROW(sparse_to_dense_ref<float>(s, entries.data(), offsets.data(), x.data()),
                          std::invalid_argument);
    }
    std::vector<SparsePixel> entries = {SparsePixel{0, 1, 1, 0, 1.0f}};
    std::vector<uint32_t> down = {1, 0};  // offsets going down
    BOOST_CHECK_THROW(conv2d_sparse_forward_ref<float>(s, entries.data(), down.data(), w.data(), nullptr, y.data()),
                      std::invalid_argument);
}

// One entry per packet, densified, is bin_dense_ref's image exactly, in every linear mode.
BOOST_AUTO_TEST_CASE(packets_to_entries_densify_to_bin_dense) {
    std::mt19937 rng(20240701);
    std::vector<TestWindow> windows;
    for (uint32_t count : {1u, 2u, 40u, 3000u, 0u, 700u, 5u, 2500u}) windows.push_back(random_window(rng, count));
    TestWindow edges;  // times on the bin edges: (t / D) * N rounding
    for (uint32_t i = 0; i <= 1500; ++i) edges.packets.push_back(WindowPacket{i * 40000, uint16_t(i), uint8_t(i & 1), 0});
    edges.length_us = 60000000;
    windows.push_back(edges);
    std::vector<PacketListView> views;
    size_t total = 0;
    for (const auto& w : windows) {
        views.push_back(w.view());
        total += w.packets.size();
    }
    for (int res : {1500, 300, 64, 7, 1})
        for (Normalize norm : {Normalize::span, Normalize::fixed})
            for (Direction dir : {Direction::none, Direction::channels}) {
                const BinningOptions opts{res, norm, ValueMode::count, dir};
                BOOST_TEST_CONTEXT(format_options(opts)) {
                    std::vector<SparsePixel> entries = {SparsePixel{9, 9, 9, 9, 9.0f}};  // replaced, not appended to
                    std::vector<uint32_t> offsets = {7};
                    packets_to_entries_ref(views.data(), views.size(), opts, entries, offsets);
                    BOOST_TEST_REQUIRE(entries.size() == total);
                    BOOST_TEST_REQUIRE(offsets.size() == views.size() + 1);
                    bool prefix = offsets[0] == 0;
                    for (size_t b = 0; b < views.size(); ++b) prefix = prefix && offsets[b + 1] - offsets[b] == views[b].count;
                    BOOST_TEST(prefix);
                    bool well_formed = true;  // kept: value 1; dropped: all zero
                    for (const SparsePixel& e : entries)
                        well_formed = well_formed && e.reserved == 0 &&
                                      (e.value == 1.0f || (e.value == 0.0f && e.channel == 0 && e.row == 0 && e.col == 0));
                    BOOST_TEST(well_formed);

                    const Conv2dShape as_image = conv2d_valid(int(views.size()), channels(opts), res, res, 1, 1, 1, 1);
                    std::vector<float> got = poisoned<float>(conv2d_x_size(as_image));
                    sparse_to_dense_ref<float>(as_image, entries.data(), offsets.data(), got.data());
                    std::vector<float> want(views.size() * image_size(opts));
                    bin_dense_ref(views.data(), views.size(), opts, want.data());
                    size_t diff = 0, first = 0;
                    for (size_t i = 0; i < want.size(); ++i)
                        if (!(got[i] == want[i]) && diff++ == 0) first = i;
                    BOOST_TEST(diff == 0u, diff << " pixels differ, first at " << first);
                }
            }
}

BOOST_AUTO_TEST_CASE(packets_to_entries_rejects_nonlinear_modes) {
    std::mt19937 rng(3);
    const TestWindow w = random_window(rng, 50);
    const PacketListView v = w.view();
    std::vector<SparsePixel> entries;
    std::vector<uint32_t> offsets;
    for (auto dir : {Direction::none, Direction::grey, Direction::channels})
        BOOST_CHECK_THROW(packets_to_entries_ref(&v, 1, BinningOptions{64, Normalize::span, ValueMode::binary, dir},
                                                 entries, offsets),
                          std::invalid_argument);
    BOOST_CHECK_THROW(
        packets_to_entries_ref(&v, 1, BinningOptions{64, Normalize::fixed, ValueMode::count, Direction::grey}, entries,
                               offsets),
        std::invalid_argument);
    BOOST_CHECK_THROW(
        packets_to_entries_ref(&v, 1, BinningOptions{0, Normalize::span, ValueMode::count, Direction::none}, entries,
                               offsets),
        UsageError);
}

BOOST_AUTO_TEST_SUITE_END()
