// The properties of the ops that are not "a backend against the oracle" (that is
// tests/test_backend_ops.cpp): the references against finite differences in double,
// hand-computed values (Keras' softmax cross-entropy mean, Adam's two steps, a 4x4
// convolution), stability with huge logits, dropout mask statistics and the pinned
// dropout hash, tie-breaking in max pooling, bit-identity of AVX2 and reference where the
// kernels promise it (Adam, null bias), results that do not depend on the OpenMP thread
// count, convolution shape rules and invalid shapes, and the sparse first layer against
// the dense reference on the densified input (kernels/conv2d_sparse.h).  Outputs are
// poisoned with NaN before every call, so an element an implementation forgets to write
// fails the comparison.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/adam.h"
#include "kernels/conv2d.h"
#include "kernels/conv2d_sparse.h"
#include "kernels/cpu/binning.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/dense.h"
#include "kernels/dropout.h"
#include "kernels/maxpool2d.h"
#include "kernels/relu.h"
#include "kernels/softmax_xent.h"
#include "tests/binning_windows.h"
#include "tests/conv2d_cases.h"
#include "tests/op_check.h"
#include "tests/sparse_entries.h"

using namespace flowpic;

// ==== dense, max pooling, ReLU, dropout, softmax cross-entropy, Adam ======================

BOOST_AUTO_TEST_SUITE(ops)

namespace {

constexpr double kFdTol = 1e-6;  // analytic vs central differences, double

// Central differences of a scalar function of x, one element at a time.
std::vector<double> numeric_grad(std::vector<double>& x, const std::function<double()>& f) {
    const double h = 1e-6;
    std::vector<double> g(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        const double keep = x[i];
        x[i] = keep + h;
        const double fp = f();
        x[i] = keep - h;
        const double fm = f();
        x[i] = keep;
        g[i] = (fp - fm) / (2 * h);
    }
    return g;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

// Runs f with the given OpenMP thread count, then restores the old one.
struct Threads {
    int old;
    explicit Threads(int t) : old(omp_get_max_threads()) { omp_set_num_threads(t); }
    ~Threads() { omp_set_num_threads(old); }
};

template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(maxpool_ties_go_to_the_first_maximum) {
    // one row of 16 windows (the AVX2 path takes 8 at a time), 2 x 32 input; window j
    // holds pattern j % 4, odd trailing column/row absent here
    const float pat[4][4] = {{1, 1, 1, 1}, {0, 2, 1, 2}, {-1, -3, 5, 5}, {-2, -2, -2, -1}};
    const uint8_t want[4] = {0, 1, 2, 3};
    const int h = 3, w = 33, wo = 16;             // odd: the last row and column are dropped
    std::vector<float> x(size_t(h) * w, 100.0f);  // the dropped row/column would win if read
    for (int j = 0; j < wo; ++j) {
        const float* q = pat[j % 4];
        x[size_t(2 * j)] = q[0], x[size_t(2 * j + 1)] = q[1];
        x[size_t(w + 2 * j)] = q[2], x[size_t(w + 2 * j + 1)] = q[3];
    }
    for (int avx = 0; avx < 2; ++avx) {
        auto y = poisoned(size_t(wo));
        std::vector<uint8_t> a(size_t(wo), 0xFF);
        (avx ? maxpool2d_forward_avx2 : maxpool2d_forward_ref<float>)(x.data(), 1, 1, h, w,
                                                                      y.data(), a.data());
        for (int j = 0; j < wo; ++j) {
            BOOST_TEST(int(a[size_t(j)]) == int(want[j % 4]), "avx2=" << avx << " window " << j);
            const float* q = pat[j % 4];
            BOOST_TEST(y[size_t(j)] == q[want[j % 4]]);
        }
        auto dy = random_vec<float>(size_t(wo), 70);
        auto dx = poisoned(x.size());
        (avx ? maxpool2d_backward_avx2 : maxpool2d_backward_ref<float>)(dy.data(), a.data(), 1, 1,
                                                                        h, w, dx.data());
        for (int r = 0; r < h; ++r)
            for (int c = 0; c < w; ++c) {
                const bool hit = r < 2 && c < 2 * wo && (r * 2 + c % 2) == want[(c / 2) % 4];
                BOOST_TEST(dx[size_t(r * w + c)] == (hit ? dy[size_t(c / 2)] : 0.0f),
                           "avx2=" << avx << " dx " << r << "," << c);
            }
    }
}

// ---- backward vs finite differences, double reference, L = sum(r * y) ---------------

BOOST_AUTO_TEST_CASE(maxpool_backward_matches_finite_differences) {
    const int n = 2, c = 2, h = 5, w = 7, ny = n * c * (h / 2) * (w / 2);
    auto x = random_vec<double>(size_t(n) * c * h * w, 30);
    auto r = random_vec<double>(size_t(ny), 31);
    std::vector<double> y(size_t(ny), 0), dx(x.size(), NAN);
    std::vector<uint8_t> a(static_cast<size_t>(ny));
    auto loss = [&] {
        maxpool2d_forward_ref<double>(x.data(), n, c, h, w, y.data(), a.data());
        return dot(r, y);
    };
    auto num = numeric_grad(x, loss);
    loss();
    maxpool2d_backward_ref<double>(r.data(), a.data(), n, c, h, w, dx.data());
    BOOST_TEST(rel_err(dx, num) < kFdTol);
}

BOOST_AUTO_TEST_CASE(dense_backward_matches_finite_differences) {
    const int n = 3, in = 7, out = 5;
    auto x = random_vec<double>(size_t(n) * in, 32), w = random_vec<double>(size_t(out) * in, 33);
    auto b = random_vec<double>(size_t(out), 34), r = random_vec<double>(size_t(n) * out, 35);
    std::vector<double> y(r.size()), dx(x.size(), NAN), dw(w.size(), NAN), db(b.size(), NAN);
    auto loss = [&] {
        dense_forward_ref<double>(x.data(), w.data(), b.data(), n, in, out, y.data());
        return dot(r, y);
    };
    dense_backward_ref<double>(x.data(), w.data(), r.data(), n, in, out, dx.data(), dw.data(),
                               db.data());
    BOOST_TEST(rel_err(dx, numeric_grad(x, loss)) < kFdTol);
    BOOST_TEST(rel_err(dw, numeric_grad(w, loss)) < kFdTol);
    BOOST_TEST(rel_err(db, numeric_grad(b, loss)) < kFdTol);
}

BOOST_AUTO_TEST_CASE(relu_and_dropout_backward_match_finite_differences) {
    const size_t n = 50;
    auto x = random_vec<double>(n, 36), r = random_vec<double>(n, 37);
    std::vector<double> y(n), dx(n, NAN);
    auto relu_loss = [&] {
        relu_forward_ref<double>(x.data(), n, y.data());
        return dot(r, y);
    };
    relu_loss();
    relu_backward_ref<double>(y.data(), r.data(), n, dx.data());
    BOOST_TEST(rel_err(dx, numeric_grad(x, relu_loss)) < kFdTol);
    relu_backward_ref<double>(x.data(), r.data(), n, dx.data());  // from the input: the same
    BOOST_TEST(rel_err(dx, numeric_grad(x, relu_loss)) < kFdTol);

    std::vector<uint8_t> mask(n);
    auto drop_loss = [&] {
        dropout_forward_ref<double>(x.data(), n, 0.3f, 7, y.data(), mask.data());
        return dot(r, y);
    };
    drop_loss();
    dropout_backward_ref<double>(r.data(), mask.data(), n, 0.3f, dx.data());
    BOOST_TEST(rel_err(dx, numeric_grad(x, drop_loss)) < kFdTol);
}

BOOST_AUTO_TEST_CASE(softmax_xent_gradient_matches_finite_differences) {
    const int n = 4, k = 5;
    auto z = random_vec<double>(size_t(n) * k, 38);
    for (auto& v : z) v *= 3;
    auto y = random_labels(size_t(n), k, 39);
    const std::vector<double> cw = {0.5, 2.0, 1.0, 3.5, 0.25};
    for (const double* w : {static_cast<const double*>(nullptr), cw.data()}) {
        std::vector<double> p(z.size()), d(z.size(), NAN);
        auto loss = [&] {
            return softmax_xent_forward_ref<double>(z.data(), y.data(), w, n, k, p.data());
        };
        loss();
        softmax_xent_backward_ref<double>(p.data(), y.data(), w, n, k, d.data());
        BOOST_TEST(rel_err(d, numeric_grad(z, loss)) < kFdTol, (w ? "weighted" : "unweighted"));
    }
}

// ---- softmax + cross-entropy: values, weights, stability ----------------------------

BOOST_AUTO_TEST_CASE(softmax_xent_loss_is_keras_mean_with_class_weights) {
    // two samples, K = 3: loss = (w[y0] * -log p0[y0] + w[y1] * -log p1[y1]) / 2
    const std::vector<float> z = {1.0f, 2.0f, 3.0f, 0.5f, -1.0f, 0.0f};
    const std::vector<int32_t> y = {2, 0};
    const std::vector<float> cw = {4.0f, 1.0f, 0.5f};
    auto nll = [](double a, double b, double c, double t) {
        return std::log(std::exp(a) + std::exp(b) + std::exp(c)) - t;
    };
    const double l0 = nll(1, 2, 3, 3), l1 = nll(0.5, -1, 0, 0.5);
    std::vector<float> p(6);
    for (auto fwd : {&softmax_xent_forward_ref<float>, &softmax_xent_forward_avx2}) {
        BOOST_TEST(std::fabs(fwd(z.data(), y.data(), nullptr, 2, 3, p.data()) - (l0 + l1) / 2) <
                   1e-6);
        BOOST_TEST(std::fabs(fwd(z.data(), y.data(), cw.data(), 2, 3, p.data()) -
                             (0.5 * l0 + 4.0 * l1) / 2) < 1e-6);
    }
    std::vector<int32_t> bad = {0, 3};
    BOOST_CHECK_THROW(
        softmax_xent_forward_ref<float>(z.data(), bad.data(), nullptr, 2, 3, p.data()), InputError);
    BOOST_CHECK_THROW(softmax_xent_forward_avx2(z.data(), bad.data(), nullptr, 2, 3, p.data()),
                      InputError);
}

BOOST_AUTO_TEST_CASE(softmax_xent_is_stable_for_huge_logits) {
    const std::vector<float> z = {1e4f,  1e4f - 1.0f, -1e4f, 0.0f,  // label 1: nll = log(1 + e) ...
                                  -1e4f, 5e3f,        1e4f,  -3e3f};  // label 0: nll = 2e4
    const std::vector<int32_t> y = {1, 0};
    const double l0 = std::log(std::exp(1.0) + 1.0);  // the tiny terms vanish
    const double want = (l0 + 2e4) / 2;
    for (int avx = 0; avx < 2; ++avx) {
        std::vector<float> p(8), d(8);
        const double l =
            avx ? softmax_xent_forward_avx2(z.data(), y.data(), nullptr, 2, 4, p.data())
                : softmax_xent_forward_ref<float>(z.data(), y.data(), nullptr, 2, 4, p.data());
        BOOST_TEST(std::isfinite(l));
        BOOST_TEST(std::fabs(l - want) / want < 1e-6, "avx2=" << avx << " loss " << l);
        for (int s = 0; s < 2; ++s) {
            double sum = 0;
            for (int j = 0; j < 4; ++j) {
                BOOST_TEST(std::isfinite(p[size_t(s * 4 + j)]));
                sum += p[size_t(s * 4 + j)];
            }
            BOOST_TEST(std::fabs(sum - 1) < 1e-6);
        }
        BOOST_TEST(std::fabs(p[0] - float(std::exp(1.0) / (std::exp(1.0) + 1))) < 1e-6);
        (avx ? softmax_xent_backward_avx2
             : softmax_xent_backward_ref<float>)(p.data(), y.data(), nullptr, 2, 4, d.data());
        BOOST_TEST(std::fabs(d[4] - (-0.5f)) < 1e-6);  // p = 0 at the label: -1 / N
        BOOST_TEST(std::fabs(d[6] - 0.5f) < 1e-6);
    }
}

// ---- dropout ----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(dropout_masks_are_reproducible_and_fair) {
    const size_t n = 1000000;
    std::vector<float> x(n, 1.0f), y(n);
    std::vector<uint8_t> m1(n), m2(n), m3(n), mr(n);
    for (float rate : {0.1f, 0.25f, 0.5f}) {
        dropout_forward_avx2(x.data(), n, rate, 12345, y.data(), m1.data());
        size_t kept = 0;
        for (uint8_t b : m1) kept += b;
        const double frac = double(kept) / double(n);
        BOOST_TEST(std::fabs(frac - (1 - rate)) < 0.01 * (1 - rate),
                   "rate " << rate << ": kept " << frac);
        dropout_forward_avx2(x.data(), n, rate, 12345, y.data(), m2.data());
        BOOST_TEST(same_bits(m1, m2), "same seed, same mask");
        dropout_forward_ref<float>(x.data(), n, rate, 12345, y.data(), mr.data());
        BOOST_TEST(same_bits(m1, mr), "reference and AVX2 draw the same mask");
        dropout_forward_avx2(x.data(), n, rate, 12346, y.data(), m3.data());
        size_t differ = 0;
        for (size_t i = 0; i < n; ++i) differ += m1[i] != m3[i];
        // independent masks disagree on a fraction 2 rate (1 - rate) of the elements
        const double want = 2.0 * rate * (1 - rate);
        BOOST_TEST(std::fabs(double(differ) / double(n) - want) < 0.05 * want,
                   "seed+1 differs on " << differ);
    }
    // kept elements are scaled by 1 / (1 - rate), dropped ones are exactly 0
    dropout_forward_ref<float>(x.data(), 100, 0.5f, 1, y.data(), m1.data());
    for (size_t i = 0; i < 100; ++i) BOOST_TEST(y[i] == (m1[i] ? 2.0f : 0.0f));
}

BOOST_AUTO_TEST_CASE(dropout_hash_is_pinned) {
    // CUDA and saved runs depend on these exact bits: seed 42, rate 0.5, indices 0..63
    // (value from an independent Python transcription of the hash).
    uint64_t bits = 0;
    for (uint64_t i = 0; i < 64; ++i) bits |= uint64_t(dropout_keep(42, i, 0.5f)) << i;
    BOOST_TEST(bits == 0xc886caecf968f347ull);
}

// ---- Adam ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(adam_two_steps_by_hand) {
    // p = 1, g = 0.5 then -0.25, Keras defaults.  By hand (Python, double), with the
    // hyperparameters rounded to float32 first as Keras holds them (0.9f = 0.89999998,
    // 0.999f = 0.99900001, which moves v by 1e-5 relative from the decimal values):
    //   t=1: m = 0.5 (1 - b1), v = 0.25 (1 - b2), alpha = lr sqrt(1 - b2) / (1 - b1),
    //        p = 1 - alpha m / (sqrt(v) + eps)
    //   t=2: m += (-0.25 - m)(1 - b1), v += (0.0625 - v)(1 - b2),
    //        alpha = lr sqrt(1 - b2^2) / (1 - b1^2)
    // (PyTorch's epsilon placement would give p = 0.99900000020, 0.99873366323.)
    const double want_p[2] = {0.999000006277059, 0.9987336707450302};
    const double want_m[2] = {0.050000011920928955, 0.020000003576278402};
    const double want_v[2] = {0.00024999678134918213, 0.00031224598312373786};
    const double g[2] = {0.5, -0.25};
    AdamParams hp;
    double pd = 1, md = 0, vd = 0;
    float pf[2] = {1, 1}, mf[2] = {0, 0}, vf[2] = {0, 0};  // ref, AVX2
    for (int t = 1; t <= 2; ++t) {
        const float gf = float(g[t - 1]);
        adam_step_ref<double>(&pd, &g[t - 1], &md, &vd, 1, t, hp);
        adam_step_ref<float>(&pf[0], &gf, &mf[0], &vf[0], 1, t, hp);
        adam_step_avx2(&pf[1], &gf, &mf[1], &vf[1], 1, t, hp);
        BOOST_TEST(std::fabs(pd - want_p[t - 1]) < 1e-14);
        BOOST_TEST(std::fabs(md - want_m[t - 1]) / want_m[t - 1] < 1e-12);
        BOOST_TEST(std::fabs(vd - want_v[t - 1]) / want_v[t - 1] < 1e-12);
        for (int i = 0; i < 2; ++i) {
            BOOST_TEST(std::fabs(pf[i] - want_p[t - 1]) < 1e-7);
            BOOST_TEST(std::fabs(mf[i] - want_m[t - 1]) / want_m[t - 1] < 1e-6);
            BOOST_TEST(std::fabs(vf[i] - want_v[t - 1]) / want_v[t - 1] < 1e-6);
        }
    }
}

BOOST_AUTO_TEST_CASE(adam_avx2_is_bit_identical_to_reference) {
    const size_t n = 1003;
    auto p0 = random_vec<float>(n, 40), p1 = p0;
    std::vector<float> m0(n, 0), v0(n, 0), m1 = m0, v1 = v0;
    AdamParams hp{3e-3f, 0.8f, 0.99f, 1e-6f};
    for (int t = 1; t <= 5; ++t) {
        auto g = random_vec<float>(n, 41 + uint64_t(t));
        adam_step_ref<float>(p0.data(), g.data(), m0.data(), v0.data(), n, t, hp);
        adam_step_avx2(p1.data(), g.data(), m1.data(), v1.data(), n, t, hp);
    }
    BOOST_TEST(same_bits(p0, p1));
    BOOST_TEST(same_bits(m0, m1));
    BOOST_TEST(same_bits(v0, v1));
}

// ---- determinism and dispatch -------------------------------------------------------

BOOST_AUTO_TEST_CASE(avx2_results_do_not_depend_on_thread_count) {
    const int n = 128, in = 4500, out = 64;
    auto x = random_vec<float>(size_t(n) * in, 50), w = random_vec<float>(size_t(out) * in, 51);
    auto b = random_vec<float>(size_t(out), 52), dy = random_vec<float>(size_t(n) * out, 53);
    const int pn = 32, pc = 10, ph = 150, pw = 76;  // past every parallel threshold
    auto img = random_vec<float>(size_t(pn) * pc * ph * pw, 54);
    std::vector<std::vector<float>> f[2];
    std::vector<std::vector<uint8_t>> u[2];
    for (int t = 1; t <= 2; ++t) {
        Threads threads(t);
        auto& F = f[t - 1];
        auto& U = u[t - 1];
        F.assign(9, {});
        U.assign(2, {});
        F[0].resize(size_t(n) * out);
        dense_forward_avx2(x.data(), w.data(), b.data(), n, in, out, F[0].data());
        F[1].resize(x.size()), F[2].resize(w.size()), F[3].resize(b.size());
        dense_backward_avx2(x.data(), w.data(), dy.data(), n, in, out, F[1].data(), F[2].data(),
                            F[3].data());
        F[4].resize(img.size() / 4), U[0].resize(img.size() / 4);
        maxpool2d_forward_avx2(img.data(), pn, pc, ph, pw, F[4].data(), U[0].data());
        F[5].resize(img.size());
        maxpool2d_backward_avx2(F[4].data(), U[0].data(), pn, pc, ph, pw, F[5].data());
        F[6].resize(img.size()), U[1].resize(img.size());
        dropout_forward_avx2(img.data(), img.size(), 0.25f, 77, F[6].data(), U[1].data());
        relu_forward_avx2(F[6].data(), img.size(), F[6].data());
        F[7] = img;
        std::vector<float> m(img.size(), 0), v(img.size(), 0);
        adam_step_avx2(F[7].data(), F[5].data(), m.data(), v.data(), img.size(), 1, AdamParams{});
        F[8] = v;
    }
    for (size_t i = 0; i < f[0].size(); ++i)
        BOOST_TEST(same_bits(f[0][i], f[1][i]), "float output " << i);
    for (size_t i = 0; i < u[0].size(); ++i)
        BOOST_TEST(same_bits(u[0][i], u[1][i]), "byte output " << i);
}

BOOST_AUTO_TEST_CASE(cpu_dispatch_picks_the_avx2_or_reference_result) {
    const int n = 16, in = 300, out = 10;
    auto x = random_vec<float>(size_t(n) * in, 60), w = random_vec<float>(size_t(out) * in, 61);
    auto b = random_vec<float>(size_t(out), 62);
    std::vector<float> y(size_t(n) * out), want(y.size());
    dense_forward_cpu(x.data(), w.data(), b.data(), n, in, out, y.data());
    if (use_avx2())
        dense_forward_avx2(x.data(), w.data(), b.data(), n, in, out, want.data());
    else
        dense_forward_ref<float>(x.data(), w.data(), b.data(), n, in, out, want.data());
    BOOST_TEST(same_bits(y, want));
}

BOOST_AUTO_TEST_SUITE_END()

// ==== convolution ===========================================================================

BOOST_AUTO_TEST_SUITE(conv2d)

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

Outputs run_avx2(const Problem<float>& pr) {
    return run_all(pr, conv2d_forward_avx2, conv2d_backward_data_avx2, conv2d_backward_weight_avx2);
}

}  // namespace

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

// ==== the sparse first layer ================================================================

BOOST_AUTO_TEST_SUITE(conv2d_sparse)

namespace {

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

BOOST_AUTO_TEST_CASE(references_match_dense_reference_on_densified_input) {
    unsigned seed = 1;
    for (const Conv2dCase& c : conv2d_sparse_test_cases()) {
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
