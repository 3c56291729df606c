// CUDA convolution and dense layer against the scalar CPU reference (kernels/cpu/*_ref):
// random inputs (never zeros), outputs poisoned with NaN before every call so an element a
// kernel forgets to write fails, relative error ||gpu - ref|| / ||ref|| < 1e-5, and two runs
// bit-identical (no atomics anywhere).  Skipped without a device.
#ifdef FLOWPIC_CUDA
#define BOOST_TEST_DYN_LINK
#pragma GCC diagnostic ignored "-Wuninitialized"  // inside boost::function, from precondition()
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cuda/conv_dense.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/dense.h"
#include "tests/conv2d_cases.h"
#include "tests/cuda_available.h"

using namespace flowpic;

namespace {

std::vector<float> random_values(long long count, std::mt19937& rng) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(count));
    for (float& e : v) e = u(rng);
    return v;
}

// ||a - b|| / ||b|| in double; NaN anywhere gives NaN, which fails every `<` check.
template <typename T>
double rel_err(const std::vector<float>& a, const std::vector<T>& b) {
    if (a.size() != b.size()) return INFINITY;
    double d = 0, n = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        d += (double(a[i]) - double(b[i])) * (double(a[i]) - double(b[i]));
        n += double(b[i]) * double(b[i]);
    }
    return std::sqrt(d) / std::sqrt(n);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

DeviceBuffer<float> on_device(const std::vector<float>& v) {
    DeviceBuffer<float> d;
    d.upload(v);
    return d;
}

// An output buffer filled with NaN (all bits set) so unwritten elements show.
DeviceBuffer<float> poisoned(long long count) {
    DeviceBuffer<float> d(static_cast<size_t>(count));
    d.fill_bytes(0xFF, size_t(count));
    return d;
}

std::vector<float> fetch(const DeviceBuffer<float>& d, long long count) {
    CUDA_CHECK(cudaDeviceSynchronize());  // execution errors surface here, with a line
    return d.download(size_t(count));
}

// ---- convolution ---------------------------------------------------------------------

using Case = Conv2dCase;

// The shared table, plus shapes for the GPU tiles: K up to 40 (the 64-row tile), batch 4,
// and the FlowPicNet layers at batch 2 (more blocks per launch).
std::vector<Case> conv_cases() {
    std::vector<Case> c = conv2d_test_cases();
    c.insert(c.end(), {
        {"7x10 same K 17", conv_same(1, 2, 12, 15, 17, 7, 10, 1)},
        {"9x1 stride 2 valid K 20", conv_valid(4, 1, 20, 9, 20, 9, 1, 2)},
        {"K 40 (64-row tiles)", conv_same(2, 3, 13, 11, 40, 3, 3, 1)},
        {"odd everything batch 4", conv_valid(4, 3, 37, 41, 11, 6, 7, 3)},
        {"FlowPicNet conv1 at 300x300 batch 2", conv_same(2, 1, 300, 300, 10, 10, 10, 5)},
        {"FlowPicNet conv2 at 150x150 batch 2", conv_same(2, 10, 150, 150, 20, 10, 10, 5)},
    });
    return c;
}

struct ConvProblem {
    Conv2dShape s;
    std::vector<float> x, w, b, dy;
    ConvProblem(const Conv2dShape& shape, unsigned seed) : s(shape) {
        std::mt19937 rng(seed);
        x = random_values(conv2d_x_size(s), rng);
        w = random_values(conv2d_w_size(s), rng);
        b = random_values(s.k, rng);
        dy = random_values(conv2d_y_size(s), rng);
    }
};

struct ConvOut {
    std::vector<float> y, dx, dw, db;
};

ConvOut conv_ref(const ConvProblem& pr) {
    const Conv2dShape& s = pr.s;
    ConvOut o{std::vector<float>(size_t(conv2d_y_size(s))), std::vector<float>(size_t(conv2d_x_size(s))),
              std::vector<float>(size_t(conv2d_w_size(s))), std::vector<float>(size_t(s.k))};
    conv2d_forward_ref<float>(s, pr.x.data(), pr.w.data(), pr.b.data(), o.y.data());
    conv2d_backward_data_ref<float>(s, pr.dy.data(), pr.w.data(), o.dx.data());
    conv2d_backward_weight_ref<float>(s, pr.x.data(), pr.dy.data(), o.dw.data(), o.db.data());
    return o;
}

// All three ops on the device; explicit_scratch passes a caller buffer to backward-weight
// instead of letting it allocate one.
ConvOut conv_cuda(const ConvProblem& pr, bool explicit_scratch = false) {
    const Conv2dShape& s = pr.s;
    auto x = on_device(pr.x), w = on_device(pr.w), b = on_device(pr.b), dy = on_device(pr.dy);
    auto y = poisoned(conv2d_y_size(s)), dx = poisoned(conv2d_x_size(s));
    auto dw = poisoned(conv2d_w_size(s)), db = poisoned(s.k);
    DeviceBuffer<float> scratch;
    if (explicit_scratch) {
        size_t n = conv2d_backward_weight_scratch_floats(s);
        scratch.resize(n);
        scratch.fill_bytes(0xFF, n);  // partial sums must all be written before they are read
    }
    conv2d_forward_cuda(s, x.get(), w.get(), b.get(), y.get());
    conv2d_backward_data_cuda(s, dy.get(), w.get(), dx.get());
    conv2d_backward_weight_cuda(s, x.get(), dy.get(), dw.get(), db.get(), explicit_scratch ? scratch.get() : nullptr);
    return {fetch(y, conv2d_y_size(s)), fetch(dx, conv2d_x_size(s)), fetch(dw, conv2d_w_size(s)), fetch(db, s.k)};
}

// ---- dense ---------------------------------------------------------------------------

struct DenseCase {
    const char* name;
    int n, in, out;
};

std::vector<DenseCase> dense_cases() {
    return {
        {"FlowPicNet fc1 batch 1", 1, 4500, 64},     {"FlowPicNet fc1 batch 128", 128, 4500, 64},
        {"LeNet fc1 batch 1", 1, 400, 120},          {"LeNet fc1 batch 128", 128, 400, 120},
        {"LeNet fc3 batch 1", 1, 84, 5},             {"LeNet fc3 batch 128", 128, 84, 5},
        {"LeNet fc2 batch 17", 17, 120, 84},         {"odd 3x17x7", 3, 17, 7},
        {"1x1x1", 1, 1, 1},                          {"odd 33x65x31", 33, 65, 31},
        {"tile edges 130x129x67", 130, 129, 67},     {"batch 5 fc2 FlowPic", 5, 64, 5},
        {"warp-per-output 8x600x300", 8, 600, 300},  {"warp-per-output 3x513x7", 3, 513, 7},
        {"block-per-output 4x2000x100", 4, 2000, 100}, {"block-per-output 1x1031x3", 1, 1031, 3},
    };
}

struct DenseProblem {
    int n, in, out;
    std::vector<float> x, w, b, dy;
    DenseProblem(const DenseCase& c, unsigned seed) : n(c.n), in(c.in), out(c.out) {
        std::mt19937 rng(seed);
        x = random_values(1LL * n * in, rng);
        w = random_values(1LL * out * in, rng);
        b = random_values(out, rng);
        dy = random_values(1LL * n * out, rng);
    }
};

struct DenseOut {
    std::vector<float> y, dx, dw, db;
};

DenseOut dense_ref(const DenseProblem& p) {
    DenseOut o{std::vector<float>(size_t(p.n) * p.out), std::vector<float>(size_t(p.n) * p.in),
               std::vector<float>(size_t(p.out) * p.in), std::vector<float>(size_t(p.out))};
    dense_forward_ref<float>(p.x.data(), p.w.data(), p.b.data(), p.n, p.in, p.out, o.y.data());
    dense_backward_ref<float>(p.x.data(), p.w.data(), p.dy.data(), p.n, p.in, p.out, o.dx.data(), o.dw.data(),
                              o.db.data());
    return o;
}

DenseOut dense_cuda(const DenseProblem& p) {
    auto x = on_device(p.x), w = on_device(p.w), b = on_device(p.b), dy = on_device(p.dy);
    const long long ny = 1LL * p.n * p.out, ndx = 1LL * p.n * p.in, ndw = 1LL * p.out * p.in;
    auto y = poisoned(ny), dx = poisoned(ndx), dw = poisoned(ndw), db = poisoned(p.out);
    dense_forward_cuda(x.get(), w.get(), b.get(), p.n, p.in, p.out, y.get());
    dense_backward_cuda(x.get(), w.get(), dy.get(), p.n, p.in, p.out, dx.get(), dw.get(), db.get());
    return {fetch(y, ny), fetch(dx, ndx), fetch(dw, ndw), fetch(db, p.out)};
}

const double kTol = 1e-5;

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_conv_dense, *boost::unit_test::precondition(CudaPresent()))

BOOST_AUTO_TEST_CASE(conv_matches_reference) {
    unsigned seed = 1;
    for (const Case& c : conv_cases()) {
        BOOST_TEST_CONTEXT(c.name) {
            ConvProblem pr(c.shape, seed++);
            ConvOut ref = conv_ref(pr), gpu = conv_cuda(pr);
            BOOST_TEST(rel_err(gpu.y, ref.y) < kTol);
            BOOST_TEST(rel_err(gpu.dx, ref.dx) < kTol);
            BOOST_TEST(rel_err(gpu.dw, ref.dw) < kTol);
            BOOST_TEST(rel_err(gpu.db, ref.db) < kTol);
        }
    }
}

// The real conv1 (1500x1500 -> 300x300): its dw sums ~90,000 products, where the float
// reference's own sequential rounding (~sqrt(n) eps) nears 1e-5; the double reference is
// the fair oracle there.
BOOST_AUTO_TEST_CASE(flowpicnet_conv1_full_size_matches_double_reference) {
    ConvProblem pr(conv_same(1, 1, 1500, 1500, 10, 10, 10, 5), 99);
    const Conv2dShape& s = pr.s;
    std::vector<double> x(pr.x.begin(), pr.x.end()), w(pr.w.begin(), pr.w.end()), b(pr.b.begin(), pr.b.end()),
        dy(pr.dy.begin(), pr.dy.end());
    std::vector<double> y(size_t(conv2d_y_size(s))), dx(size_t(conv2d_x_size(s))), dw(size_t(conv2d_w_size(s))),
        db(size_t(s.k));
    conv2d_forward_ref<double>(s, x.data(), w.data(), b.data(), y.data());
    conv2d_backward_data_ref<double>(s, dy.data(), w.data(), dx.data());
    conv2d_backward_weight_ref<double>(s, x.data(), dy.data(), dw.data(), db.data());
    ConvOut gpu = conv_cuda(pr);
    BOOST_TEST(rel_err(gpu.y, y) < kTol);
    BOOST_TEST(rel_err(gpu.dx, dx) < kTol);
    BOOST_TEST(rel_err(gpu.dw, dw) < kTol);
    BOOST_TEST(rel_err(gpu.db, db) < kTol);
}

BOOST_AUTO_TEST_CASE(conv_null_bias_and_null_db) {
    ConvProblem pr(conv_same(2, 3, 19, 17, 7, 4, 3, 2), 7);
    const Conv2dShape& s = pr.s;
    std::vector<float> y_ref(size_t(conv2d_y_size(s))), dw_ref(size_t(conv2d_w_size(s))), db_unused(size_t(s.k));
    conv2d_forward_ref<float>(s, pr.x.data(), pr.w.data(), nullptr, y_ref.data());
    conv2d_backward_weight_ref<float>(s, pr.x.data(), pr.dy.data(), dw_ref.data(), db_unused.data());
    auto x = on_device(pr.x), w = on_device(pr.w), dy = on_device(pr.dy);
    auto y = poisoned(conv2d_y_size(s)), dw = poisoned(conv2d_w_size(s));
    conv2d_forward_cuda(s, x.get(), w.get(), nullptr, y.get());
    conv2d_backward_weight_cuda(s, x.get(), dy.get(), dw.get(), nullptr, nullptr);
    BOOST_TEST(rel_err(fetch(y, conv2d_y_size(s)), y_ref) < kTol);
    BOOST_TEST(rel_err(fetch(dw, conv2d_w_size(s)), dw_ref) < kTol);
}

BOOST_AUTO_TEST_CASE(conv_is_deterministic) {
    for (const Conv2dShape& s : {conv_same(2, 1, 300, 300, 10, 10, 10, 5), conv_same(2, 10, 150, 150, 20, 10, 10, 5),
                                 conv_same(2, 3, 13, 11, 40, 3, 3, 1)}) {
        ConvProblem pr(s, 5);
        ConvOut a = conv_cuda(pr), b = conv_cuda(pr), c = conv_cuda(pr, /*explicit_scratch=*/true);
        BOOST_TEST(same_bits(a.y, b.y));
        BOOST_TEST(same_bits(a.dx, b.dx));
        BOOST_TEST(same_bits(a.dw, b.dw));
        BOOST_TEST(same_bits(a.db, b.db));
        BOOST_TEST(same_bits(a.dw, c.dw));
        BOOST_TEST(same_bits(a.db, c.db));
    }
}

BOOST_AUTO_TEST_CASE(conv_rejects_bad_shapes_before_launching) {
    Conv2dShape s = conv_same(1, 2, 20, 20, 3, 10, 10, 5);
    s.p = 6;  // last window past the image
    BOOST_CHECK_THROW(conv2d_forward_cuda(s, nullptr, nullptr, nullptr, nullptr), std::invalid_argument);
    BOOST_CHECK_THROW(conv2d_backward_data_cuda(s, nullptr, nullptr, nullptr), std::invalid_argument);
    BOOST_CHECK_THROW(conv2d_backward_weight_cuda(s, nullptr, nullptr, nullptr, nullptr, nullptr),
                      std::invalid_argument);
    BOOST_CHECK_THROW(dense_forward_cuda(nullptr, nullptr, nullptr, -1, 4, 4, nullptr), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(dense_matches_reference) {
    unsigned seed = 100;
    for (const DenseCase& c : dense_cases()) {
        BOOST_TEST_CONTEXT(c.name) {
            DenseProblem p(c, seed++);
            DenseOut ref = dense_ref(p), gpu = dense_cuda(p);
            BOOST_TEST(rel_err(gpu.y, ref.y) < kTol);
            BOOST_TEST(rel_err(gpu.dx, ref.dx) < kTol);
            BOOST_TEST(rel_err(gpu.dw, ref.dw) < kTol);
            BOOST_TEST(rel_err(gpu.db, ref.db) < kTol);
        }
    }
}

BOOST_AUTO_TEST_CASE(dense_null_outputs_are_skipped) {
    DenseProblem p({"fc", 9, 50, 13}, 3);
    DenseOut ref = dense_ref(p);
    auto x = on_device(p.x), w = on_device(p.w), dy = on_device(p.dy);
    auto dw = poisoned(1LL * p.out * p.in);
    dense_backward_cuda(x.get(), w.get(), dy.get(), p.n, p.in, p.out, nullptr, dw.get(), nullptr);
    BOOST_TEST(rel_err(fetch(dw, 1LL * p.out * p.in), ref.dw) < kTol);
    // A null bias is a zero bias.
    std::vector<float> zero_b(size_t(p.out), 0.f), y_ref(size_t(p.n) * p.out);
    dense_forward_ref<float>(p.x.data(), p.w.data(), zero_b.data(), p.n, p.in, p.out, y_ref.data());
    auto y = poisoned(1LL * p.n * p.out);
    dense_forward_cuda(x.get(), w.get(), nullptr, p.n, p.in, p.out, y.get());
    BOOST_TEST(rel_err(fetch(y, 1LL * p.n * p.out), y_ref) < kTol);
}

BOOST_AUTO_TEST_CASE(dense_is_deterministic) {
    DenseProblem p({"fc1", 128, 4500, 64}, 11);
    DenseOut a = dense_cuda(p), b = dense_cuda(p);
    BOOST_TEST(same_bits(a.y, b.y));
    BOOST_TEST(same_bits(a.dx, b.dx));
    BOOST_TEST(same_bits(a.dw, b.dw));
    BOOST_TEST(same_bits(a.db, b.db));
}

BOOST_AUTO_TEST_SUITE_END()

#endif  // FLOWPIC_CUDA
