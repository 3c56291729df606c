// The im2col + SGEMM convolution (kernels/cpu/conv2d_im2col_avx2.cpp) on every shape of
// the conv table (strides, padding, filters larger than the input, batches), called
// directly: the avx2 entry points take it only where conv2d_im2col_pays, so the op suite
// alone would test it on the narrow maps only.  Against the double reference, outputs
// NaN-poisoned first; plus the choice itself and bit-identical results run to run.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include "kernels/conv2d.h"
#include "kernels/cpu/cpu_features.h"
#include "tests/conv2d_cases.h"
#include "tests/op_check.h"

using namespace flowpic;

namespace {

std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }

double err(const std::vector<float>& got, const std::vector<double>& want) {
    return rel_err(widen(got), want);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(conv2d_im2col)

BOOST_AUTO_TEST_CASE(every_table_shape_matches_the_reference) {
    if (!cpu_has_avx2_fma()) {
        BOOST_TEST_MESSAGE("skipped: this CPU has no AVX2/FMA");
        return;
    }
    for (const Conv2dCase& c : conv2d_test_cases()) {
        const Conv2dShape& s = c.shape;
        std::mt19937 rng(uint32_t(conv2d_x_size(s) * 31 + conv2d_w_size(s)));
        const std::vector<float> x = random_values<float>(conv2d_x_size(s), rng), w = random_values<float>(conv2d_w_size(s), rng),
                                 b = random_values<float>(s.k, rng), dy = random_values<float>(conv2d_y_size(s), rng);
        std::vector<double> y_ref(size_t(conv2d_y_size(s))), dx_ref(size_t(conv2d_x_size(s))),
            dw_ref(size_t(conv2d_w_size(s))), db_ref(size_t(s.k));
        const std::vector<double> xd = widen(x), wd = widen(w), bd = widen(b), dyd = widen(dy);
        conv2d_forward_ref<double>(s, xd.data(), wd.data(), bd.data(), y_ref.data());
        conv2d_backward_data_ref<double>(s, dyd.data(), wd.data(), dx_ref.data());
        conv2d_backward_weight_ref<double>(s, xd.data(), dyd.data(), dw_ref.data(), db_ref.data());

        std::vector<float> y = poisoned(y_ref.size()), dx = poisoned(dx_ref.size()), dw = poisoned(dw_ref.size()),
                           db = poisoned(db_ref.size());
        conv2d_forward_im2col_avx2(s, x.data(), w.data(), b.data(), y.data());
        conv2d_backward_data_im2col_avx2(s, dy.data(), w.data(), dx.data());
        conv2d_backward_weight_im2col_avx2(s, x.data(), dy.data(), dw.data(), db.data());
        BOOST_TEST(err(y, y_ref) < 1e-5, c.name << " forward " << err(y, y_ref));
        BOOST_TEST(err(dx, dx_ref) < 1e-5, c.name << " backward-data " << err(dx, dx_ref));
        BOOST_TEST(err(dw, dw_ref) < 1e-5, c.name << " backward-weight " << err(dw, dw_ref));
        BOOST_TEST(err(db, db_ref) < 1e-5, c.name << " bias " << err(db, db_ref));

        // Again, into fresh poison: the same bits (no state leaks between calls).
        std::vector<float> y2 = poisoned(y.size()), dw2 = poisoned(dw.size());
        conv2d_forward_im2col_avx2(s, x.data(), w.data(), nullptr, y2.data());
        conv2d_backward_weight_im2col_avx2(s, x.data(), dy.data(), dw2.data(), nullptr);
        BOOST_TEST(dw2 == dw, boost::test_tools::per_element());
        for (size_t e = 0; e < y.size(); ++e) y2[e] += b[e / size_t(s.p * s.q) % size_t(s.k)];
        BOOST_TEST(err(y2, y_ref) < 1e-5, c.name << " forward without bias");
    }
}

BOOST_AUTO_TEST_CASE(narrow_maps_take_it_wide_ones_do_not) {
    BOOST_TEST(conv2d_im2col_pays(conv2d_valid(32, 6, 14, 14, 16, 5, 5, 1)));   // LeNet conv2 at 32: Q 10
    BOOST_TEST(!conv2d_im2col_pays(conv2d_valid(32, 1, 32, 32, 6, 5, 5, 1)));   // LeNet conv1 at 32: Q 28
    BOOST_TEST(!conv2d_im2col_pays(conv2d_valid(32, 6, 30, 30, 16, 5, 5, 1)));  // LeNet conv2 at 64: Q 26
    BOOST_TEST(!conv2d_im2col_pays(conv2d_same_keras(1, 10, 150, 150, 20, 10, 10, 5)));  // FlowPicNet conv2: Q 30
    BOOST_TEST(!conv2d_im2col_pays(conv2d_valid(1, 1, 5, 20, 1, 5, 5, 1)));     // Q 16: a full tile
    // A narrow map whose matrix would pass 64 MiB stays direct.
    BOOST_TEST(!conv2d_im2col_pays(conv2d_valid(4096, 64, 14, 14, 16, 5, 5, 1)));
}

BOOST_AUTO_TEST_SUITE_END()
