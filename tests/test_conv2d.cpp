// Convolution: the shape rules, the reference against hand-made cases and finite
// differences (float64), AVX2 against the reference on many shapes (relative error),
// and AVX2 bit-identical under any thread count.  Outputs are poisoned with NaN before
// every call, so an element an implementation forgets to write fails the comparison.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "tests/conv2d_cases.h"
#include "tests/op_check.h"
#include "kernels/cpu/cpu_features.h"

using namespace flowpic;

namespace {

using Case = Conv2dCase;

std::vector<Case> cases() { return conv2d_test_cases(); }


bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Sets the OpenMP thread count for a scope.
struct OmpThreads {
    int saved;
    explicit OmpThreads(int n) : saved(omp_get_max_threads()) { omp_set_num_threads(n); }
    ~OmpThreads() { omp_set_num_threads(saved); }
};

// One random problem: inputs and an upstream gradient.
template <typename T>
struct Problem {
    Conv2dShape s;
    std::vector<T> x, w, b, dy;
    Problem(const Conv2dShape& shape, unsigned seed) : s(shape) {
        std::mt19937 rng(seed);
        x = random_values<T>(conv2d_x_size(s), rng);
        w = random_values<T>(conv2d_w_size(s), rng);
        b = random_values<T>(s.k, rng);
        dy = random_values<T>(conv2d_y_size(s), rng);
    }
};

// Outputs of all three ops from one implementation.
struct Outputs {
    std::vector<float> y, dx, dw, db;
};

template <typename Fwd, typename Bwd, typename Bww>
Outputs run_all(const Problem<float>& pr, Fwd fwd, Bwd bwd_data, Bww bwd_weight) {
    const Conv2dShape& s = pr.s;
    Outputs o{poisoned<float>(conv2d_y_size(s)), poisoned<float>(conv2d_x_size(s)),
              poisoned<float>(conv2d_w_size(s)), poisoned<float>(s.k)};
    fwd(s, pr.x.data(), pr.w.data(), pr.b.data(), o.y.data());
    bwd_data(s, pr.dy.data(), pr.w.data(), o.dx.data());
    bwd_weight(s, pr.x.data(), pr.dy.data(), o.dw.data(), o.db.data());
    return o;
}

Outputs run_ref(const Problem<float>& pr) {
    return run_all(pr, conv2d_forward_ref<float>, conv2d_backward_data_ref<float>, conv2d_backward_weight_ref<float>);
}
Outputs run_avx2(const Problem<float>& pr) {
    return run_all(pr, conv2d_forward_avx2, conv2d_backward_data_avx2, conv2d_backward_weight_avx2);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(conv2d)

BOOST_AUTO_TEST_CASE(keras_same_padding) {
    Conv2dShape c1 = conv2d_same_keras(1, 1, 1500, 1500, 10, 10, 10, 5);  // FlowPicNet conv1
    BOOST_TEST(c1.p == 300);
    BOOST_TEST(c1.q == 300);
    BOOST_TEST(c1.pad_top == 2);  // 5 in total: 2 before, 3 after
    BOOST_TEST(c1.pad_left == 2);
    BOOST_TEST((c1.p - 1) * c1.stride + c1.r - c1.h - c1.pad_top == 3);
    // conv1's 300 pooled to 150, then FlowPicNet conv2: 30 out, again 2 before, 3 after.
    Conv2dShape c2 = conv2d_same_keras(1, 10, 150, 150, 20, 10, 10, 5);
    BOOST_TEST(c2.p == 30);
    BOOST_TEST(c2.pad_top == 2);
    BOOST_TEST((c2.p - 1) * c2.stride + c2.r - c2.h - c2.pad_top == 3);
    // Non-square, odd total (3 = 1 before + 2 after), and no padding where the stride
    // already leaves room (total would be negative).
    Conv2dShape a = conv2d_same_keras(1, 1, 7, 32, 1, 4, 5, 2);
    BOOST_TEST(a.p == 4);
    BOOST_TEST(a.pad_top == 1);
    BOOST_TEST(a.q == 16);
    BOOST_TEST(a.pad_left == 1);  // (16-1)*2 + 5 - 32 = 3
    Conv2dShape z = conv2d_same_keras(1, 1, 10, 10, 1, 2, 2, 5);
    BOOST_TEST(z.p == 2);
    BOOST_TEST(z.pad_top == 0);
}

BOOST_AUTO_TEST_CASE(valid_shapes) {
    Conv2dShape l1 = conv2d_valid(1, 1, 32, 32, 6, 5, 5, 1);
    BOOST_TEST(l1.p == 28);
    BOOST_TEST(l1.q == 28);
    BOOST_TEST(l1.pad_top == 0);
    BOOST_TEST(conv2d_valid(1, 6, 14, 14, 16, 5, 5, 1).p == 10);
    BOOST_TEST(conv2d_valid(1, 1, 64, 64, 6, 5, 5, 1).p == 60);
    BOOST_TEST(conv2d_valid(1, 1, 12, 12, 1, 3, 3, 4).p == 3);  // (12-3)/4 + 1
}

BOOST_AUTO_TEST_CASE(inconsistent_shapes_are_rejected) {
    Conv2dShape ok = conv2d_same_keras(1, 2, 20, 20, 3, 10, 10, 5);
    BOOST_CHECK_NO_THROW(validate(ok));
    auto bad = [&](auto change) {
        Conv2dShape s = ok;
        change(s);
        BOOST_CHECK_THROW(validate(s), std::invalid_argument);
    };
    bad([](Conv2dShape& s) { s.n = 0; });
    bad([](Conv2dShape& s) { s.c = -1; });
    bad([](Conv2dShape& s) { s.stride = 0; });
    bad([](Conv2dShape& s) { s.pad_left = -1; });
    bad([](Conv2dShape& s) { s.pad_top = 10; });  // first window all padding
    bad([](Conv2dShape& s) { s.p = 6; });         // last window starts past the image
    bad([](Conv2dShape& s) { s.q = 0; });
    bad([](Conv2dShape& s) { s.n = 1 << 30; s.c = 1 << 30; });  // element count overflow
    BOOST_CHECK_THROW(conv2d_valid(1, 1, 4, 4, 1, 5, 5, 1), std::invalid_argument);
    BOOST_CHECK_THROW(conv2d_same_keras(1, 1, 0, 4, 1, 3, 3, 1), std::invalid_argument);
    // Every op validates before touching memory.
    Conv2dShape s = ok;
    s.p = 6;
    std::vector<float> buf(100000, 1.0f);
    BOOST_CHECK_THROW(conv2d_forward_avx2(s, buf.data(), buf.data(), nullptr, buf.data()), std::invalid_argument);
    BOOST_CHECK_THROW(conv2d_backward_data_ref<float>(s, buf.data(), buf.data(), buf.data()), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(hand_computed_example) {
    // 4x4 image 1..16, 2x2 filter of ones, stride 2, valid: the four block sums, + bias.
    Conv2dShape s = conv2d_valid(1, 1, 4, 4, 1, 2, 2, 2);
    std::vector<float> x(16), w(4, 1.0f), b{0.5f};
    for (int i = 0; i < 16; ++i) x[i] = float(i + 1);
    const std::vector<float> want{14.5f, 22.5f, 46.5f, 54.5f};
    std::vector<float> y = poisoned<float>(4);
    conv2d_forward_ref(s, x.data(), w.data(), b.data(), y.data());
    BOOST_TEST(y == want, boost::test_tools::per_element());
    y = poisoned<float>(4);
    conv2d_forward_avx2(s, x.data(), w.data(), b.data(), y.data());
    BOOST_TEST(y == want, boost::test_tools::per_element());
}

// A filter with a single 1 at (c0, i0, j0) copies the input shifted by the padding: an
// independent check of the indexing, padding side included.
BOOST_AUTO_TEST_CASE(one_hot_filters_pick_the_right_pixel) {
    for (const Case& cs : cases()) {
        const Conv2dShape& s = cs.shape;
        Problem<float> pr(s, 7);
        std::fill(pr.w.begin(), pr.w.end(), 0.0f);
        std::vector<int> c0(s.k), i0(s.k), j0(s.k);
        for (int k = 0; k < s.k; ++k) {
            c0[k] = k % s.c, i0[k] = (3 * k + 1) % s.r, j0[k] = (5 * k + 2) % s.s;
            pr.w[((size_t(k) * s.c + c0[k]) * s.r + i0[k]) * s.s + j0[k]] = 1.0f;
        }
        for (int impl = 0; impl < 2; ++impl) {
            std::vector<float> y = poisoned<float>(conv2d_y_size(s));
            (impl ? conv2d_forward_avx2 : conv2d_forward_ref<float>)(s, pr.x.data(), pr.w.data(), pr.b.data(), y.data());
            int wrong = 0;
            for (int n = 0; n < s.n; ++n)
                for (int k = 0; k < s.k; ++k)
                    for (int p = 0; p < s.p; ++p)
                        for (int q = 0; q < s.q; ++q) {
                            int row = p * s.stride - s.pad_top + i0[k], col = q * s.stride - s.pad_left + j0[k];
                            float want = pr.b[k];
                            if (row >= 0 && row < s.h && col >= 0 && col < s.w)
                                want += pr.x[((size_t(n) * s.c + c0[k]) * s.h + row) * s.w + col];
                            wrong += y[((size_t(n) * s.k + k) * s.p + p) * s.q + q] != want;
                        }
            BOOST_TEST(wrong == 0, cs.name << (impl ? " avx2" : " ref") << ": " << wrong << " wrong outputs");
        }
    }
}

// Backward against central differences of loss = sum(y * g) in float64.  The loss is
// linear in every input, so the differences are exact up to rounding.
BOOST_AUTO_TEST_CASE(backward_matches_finite_differences) {
    const std::vector<Case> small{
        {"3x2 stride 2 same", conv_same(2, 2, 6, 7, 3, 3, 2, 2)},
        {"4x3 valid", conv_valid(1, 3, 7, 6, 2, 4, 3, 1)},
        {"3x3 stride 5 same", conv_same(1, 1, 11, 12, 2, 3, 3, 5)},
        {"10x10 stride 5 same", conv_same(1, 2, 12, 11, 2, 10, 10, 5)},
    };
    const double eps = 1e-3;
    for (const Case& cs : small) {
        const Conv2dShape& s = cs.shape;
        Problem<double> pr(s, 11);  // pr.dy is the loss weights g
        std::vector<double> y(size_t(conv2d_y_size(s)));
        auto loss = [&] {
            conv2d_forward_ref(s, pr.x.data(), pr.w.data(), pr.b.data(), y.data());
            double l = 0;
            for (size_t e = 0; e < y.size(); ++e) l += y[e] * pr.dy[e];
            return l;
        };
        auto numeric = [&](std::vector<double>& v) {
            std::vector<double> g(v.size());
            for (size_t e = 0; e < v.size(); ++e) {
                const double keep = v[e];
                v[e] = keep + eps;
                const double up = loss();
                v[e] = keep - eps;
                const double down = loss();
                v[e] = keep;
                g[e] = (up - down) / (2 * eps);
            }
            return g;
        };
        std::vector<double> dx = poisoned<double>(conv2d_x_size(s)), dw = poisoned<double>(conv2d_w_size(s)),
                            db = poisoned<double>(s.k);
        conv2d_backward_data_ref(s, pr.dy.data(), pr.w.data(), dx.data());
        conv2d_backward_weight_ref(s, pr.x.data(), pr.dy.data(), dw.data(), db.data());
        BOOST_TEST(rel_err(dx, numeric(pr.x)) < 1e-9, cs.name << " dx");
        BOOST_TEST(rel_err(dw, numeric(pr.w)) < 1e-9, cs.name << " dw");
        BOOST_TEST(rel_err(db, numeric(pr.b)) < 1e-9, cs.name << " db");
    }
}

BOOST_AUTO_TEST_CASE(avx2_matches_reference) {
    if (!cpu_has_avx2_fma()) {
        BOOST_TEST_MESSAGE("no AVX2/FMA on this CPU: AVX2 convolution not tested");
        return;
    }
    unsigned seed = 1;
    for (const Case& cs : cases()) {
        Problem<float> pr(cs.shape, seed++);
        Outputs ref = run_ref(pr), fast = run_avx2(pr);
        BOOST_TEST(rel_err(fast.y, ref.y) < 1e-5, cs.name << " forward: " << rel_err(fast.y, ref.y));
        BOOST_TEST(rel_err(fast.dx, ref.dx) < 1e-5, cs.name << " backward data: " << rel_err(fast.dx, ref.dx));
        BOOST_TEST(rel_err(fast.dw, ref.dw) < 1e-5, cs.name << " backward weight: " << rel_err(fast.dw, ref.dw));
        BOOST_TEST(rel_err(fast.db, ref.db) < 1e-5, cs.name << " backward bias: " << rel_err(fast.db, ref.db));
    }
}

BOOST_AUTO_TEST_CASE(null_bias_means_none) {
    Problem<float> pr(conv_same(1, 2, 9, 9, 3, 3, 3, 2), 5);
    std::vector<float> with_zero = poisoned<float>(conv2d_y_size(pr.s)), without = with_zero;
    std::vector<float> zero(3, 0.0f);
    conv2d_forward_avx2(pr.s, pr.x.data(), pr.w.data(), zero.data(), with_zero.data());
    conv2d_forward_avx2(pr.s, pr.x.data(), pr.w.data(), nullptr, without.data());
    BOOST_TEST(same_bits(with_zero, without));
    std::vector<float> dw = poisoned<float>(conv2d_w_size(pr.s)), dw2 = dw, db = poisoned<float>(3);
    conv2d_backward_weight_avx2(pr.s, pr.x.data(), pr.dy.data(), dw.data(), db.data());
    conv2d_backward_weight_avx2(pr.s, pr.x.data(), pr.dy.data(), dw2.data(), nullptr);
    BOOST_TEST(same_bits(dw, dw2));
}

BOOST_AUTO_TEST_CASE(avx2_is_deterministic_across_thread_counts) {
    if (!cpu_has_avx2_fma()) return;
    const std::vector<Case> shapes{
        {"conv1 300x300 batch 5", conv_same(5, 1, 300, 300, 10, 10, 10, 5)},  // more bands than partial groups
        {"conv2 20x20", conv_same(3, 10, 20, 20, 20, 10, 10, 5)},
        {"LeNet conv2", conv_valid(3, 6, 14, 14, 16, 5, 5, 1)},
    };
    for (const Case& cs : shapes) {
        Problem<float> pr(cs.shape, 3);
        Outputs one, other;
        {
            OmpThreads t(1);
            one = run_avx2(pr);
        }
        for (int threads : {2, 3}) {
            OmpThreads t(threads);
            other = run_avx2(pr);
            BOOST_TEST(same_bits(one.y, other.y), cs.name << " forward, " << threads << " threads");
            BOOST_TEST(same_bits(one.dx, other.dx), cs.name << " backward data, " << threads << " threads");
            BOOST_TEST(same_bits(one.dw, other.dw), cs.name << " backward weight, " << threads << " threads");
            BOOST_TEST(same_bits(one.db, other.db), cs.name << " backward bias, " << threads << " threads");
        }
    }
}

BOOST_AUTO_TEST_CASE(runtime_switch) {
    // use_avx2 never picks a path the CPU cannot run; FLOWPIC_CPU=scalar turns it off.
    BOOST_TEST((!use_avx2() || cpu_has_avx2_fma()));
    const char* env = std::getenv("FLOWPIC_CPU");
    if (env && std::string(env) == "scalar") BOOST_TEST(!use_avx2());
}

BOOST_AUTO_TEST_SUITE_END()
