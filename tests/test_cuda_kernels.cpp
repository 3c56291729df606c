// What only the CUDA kernels have, beyond tests/test_backend_ops.cpp (which checks every
// op through the backend against the scalar CPU backend): two runs bit-identical (no
// atomics anywhere, with and without caller scratch), shapes and modes rejected before a
// launch, empty inputs that launch nothing (a zero-block grid is a launch error), labels
// out of range caught on the device, and the launcher's null bias of the dense layer (the
// backend interface always passes one).  Skipped without a device; without CUDA at build
// time the file is empty.
#ifdef FLOWPIC_CUDA
#include "tests/cuda_test.h"

#include "kernels/adam.h"
#include "kernels/cuda/conv_dense.h"
#include "kernels/dense.h"
#include "tests/op_check.h"

using namespace flowpic;

namespace {


std::vector<float> uniform_values(long long count, std::mt19937& rng) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(count));
    for (float& e : v) e = u(rng);
    return v;
}

struct ConvProblem {
    Conv2dShape s;
    std::vector<float> x, w, b, dy;
    ConvProblem(const Conv2dShape& shape, unsigned seed) : s(shape) {
        std::mt19937 rng(seed);
        x = uniform_values(conv2d_x_size(s), rng);
        w = uniform_values(conv2d_w_size(s), rng);
        b = uniform_values(s.k, rng);
        dy = uniform_values(conv2d_y_size(s), rng);
    }
};

struct ConvOut {
    std::vector<float> y, dx, dw, db;
};

// All three ops on the device; explicit_scratch passes a caller buffer to backward-weight
// instead of letting it allocate one.
ConvOut conv_cuda(const ConvProblem& pr, bool explicit_scratch = false) {
    const Conv2dShape& s = pr.s;
    auto x = on_device(pr.x), w = on_device(pr.w), b = on_device(pr.b), dy = on_device(pr.dy);
    auto y = poisoned_device(conv2d_y_size(s)), dx = poisoned_device(conv2d_x_size(s));
    auto dw = poisoned_device(conv2d_w_size(s)), db = poisoned_device(s.k);
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

struct DenseCase {
    const char* name;
    int n, in, out;
};

struct DenseProblem {
    int n, in, out;
    std::vector<float> x, w, b, dy;
    DenseProblem(const DenseCase& c, unsigned seed) : n(c.n), in(c.in), out(c.out) {
        std::mt19937 rng(seed);
        x = uniform_values(1LL * n * in, rng);
        w = uniform_values(1LL * out * in, rng);
        b = uniform_values(out, rng);
        dy = uniform_values(1LL * n * out, rng);
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
    auto y = poisoned_device(ny), dx = poisoned_device(ndx), dw = poisoned_device(ndw), db = poisoned_device(p.out);
    dense_forward_cuda(x.get(), w.get(), b.get(), p.n, p.in, p.out, y.get());
    dense_backward_cuda(x.get(), w.get(), dy.get(), p.n, p.in, p.out, dx.get(), dw.get(), db.get());
    return {fetch(y, ny), fetch(dx, ndx), fetch(dw, ndw), fetch(db, p.out)};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_kernels, *boost::unit_test::precondition(CudaPresent()))

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

BOOST_AUTO_TEST_CASE(dense_null_outputs_are_skipped) {
    DenseProblem p({"fc", 9, 50, 13}, 3);
    DenseOut ref = dense_ref(p);
    auto x = on_device(p.x), w = on_device(p.w), dy = on_device(p.dy);
    auto dw = poisoned_device(1LL * p.out * p.in);
    dense_backward_cuda(x.get(), w.get(), dy.get(), p.n, p.in, p.out, nullptr, dw.get(), nullptr);
    BOOST_TEST(rel_err(fetch(dw, 1LL * p.out * p.in), ref.dw) < kCudaTol);
    // A null bias is a zero bias.
    std::vector<float> zero_b(size_t(p.out), 0.f), y_ref(size_t(p.n) * p.out);
    dense_forward_ref<float>(p.x.data(), p.w.data(), zero_b.data(), p.n, p.in, p.out, y_ref.data());
    auto y = poisoned_device(1LL * p.n * p.out);
    dense_forward_cuda(x.get(), w.get(), nullptr, p.n, p.in, p.out, y.get());
    BOOST_TEST(rel_err(fetch(y, 1LL * p.n * p.out), y_ref) < kCudaTol);
}

BOOST_AUTO_TEST_CASE(dense_is_deterministic) {
    DenseProblem p({"fc1", 128, 4500, 64}, 11);
    DenseOut a = dense_cuda(p), b = dense_cuda(p);
    BOOST_TEST(same_bits(a.y, b.y));
    BOOST_TEST(same_bits(a.dx, b.dx));
    BOOST_TEST(same_bits(a.dw, b.dw));
    BOOST_TEST(same_bits(a.db, b.db));
}

BOOST_AUTO_TEST_CASE(binning_rejects_a_bad_resolution) {
    BinningOptions opts;
    opts.resolution = 0;
    BOOST_CHECK_THROW(bin_dense_cuda(nullptr, nullptr, nullptr, nullptr, 1, 1, opts, nullptr),
                      UsageError);
}

BOOST_AUTO_TEST_CASE(xent_forward_rejects_a_label_out_of_range) {
    const int n = 4, k = 3;
    auto z = random_vec(size_t(n) * k, 30);
    for (int32_t bad : {3, -1}) {
        std::vector<int32_t> y = {0, 2, bad, 1};
        auto d_z = on_device(z);
        auto d_y = on_device(y);
        auto d_p = poisoned_device<float>(z.size());
        auto d_s = poisoned_device<double>(softmax_xent_scratch_size(n));
        BOOST_CHECK_THROW(softmax_xent_forward_cuda(d_z.get(), d_y.get(), nullptr, n, k, d_p.get(),
                                                    d_s.get()),
                          InputError);
    }
}

BOOST_AUTO_TEST_CASE(empty_inputs_launch_nothing) {
    // a zero-block grid is a launch error; every launcher must return before it
    relu_forward_cuda(nullptr, 0, nullptr);
    relu_backward_cuda(nullptr, nullptr, 0, nullptr);
    maxpool2d_forward_cuda(nullptr, 0, 3, 4, 4, nullptr, nullptr);
    maxpool2d_forward_cuda(nullptr, 1, 1, 1, 1, nullptr, nullptr);
    maxpool2d_backward_cuda(nullptr, nullptr, 0, 3, 4, 4, nullptr);
    dropout_forward_cuda(nullptr, 0, 0.5f, 1, nullptr, nullptr);
    dropout_backward_cuda(nullptr, nullptr, 0, 0.5f, nullptr);
    BOOST_TEST(softmax_xent_forward_cuda(nullptr, nullptr, nullptr, 0, 5, nullptr, nullptr) == 0.0);
    softmax_xent_backward_cuda(nullptr, nullptr, nullptr, 0, 5, nullptr);
    adam_step_cuda(nullptr, nullptr, nullptr, nullptr, 0, 1, AdamParams{});
    BinningOptions opts;
    opts.resolution = 8;
    bin_dense_cuda(nullptr, nullptr, nullptr, nullptr, 0, 0, opts, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
}

BOOST_AUTO_TEST_SUITE_END()

#endif  // FLOWPIC_CUDA
