// The CUDA ops against the scalar CPU reference through one table of {op, shape} cases
// (ggml's test-backend-ops style): random inputs that are never zero, device outputs
// poisoned with NaN (bytes 0xFF) before every call so an element a kernel forgets to
// write fails, relative error ||gpu - cpu|| / ||cpu|| < 1e-5, and exact equality for
// the integer outputs (maxpool argmax, dropout masks) and for binning.  Without a device
// the suite reports "skipped: no CUDA device"; without CUDA at build time it does not
// exist.
#ifdef FLOWPIC_CUDA
#define BOOST_TEST_DYN_LINK
#pragma GCC diagnostic ignored "-Wuninitialized"  // inside boost::function, from precondition()
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/adam.h"
#include "kernels/cpu/binning.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/ops.h"
#include "kernels/dropout.h"
#include "kernels/maxpool2d.h"
#include "kernels/relu.h"
#include "kernels/softmax_xent.h"
#include "tests/binning_modes.h"
#include "tests/cuda_available.h"
#include "tests/op_check.h"

using namespace flowpic;

namespace {

constexpr double kTol = 1e-5;  // fp32 device vs float reference, relative (DESIGN.md)

double rel_err_scalar(double a, double b) {
    if (!std::isfinite(a) || !std::isfinite(b)) return INFINITY;
    return b == 0 ? std::fabs(a) : std::fabs(a - b) / std::fabs(b);
}

template <typename T>
DeviceBuffer<T> to_device(const std::vector<T>& v) {
    DeviceBuffer<T> d;
    d.upload(v);
    return d;
}

// A device output, poisoned: 0xFF bytes are NaN as float and 255 as a byte.
template <typename T>
DeviceBuffer<T> poisoned_device(size_t n) {
    DeviceBuffer<T> d(n);
    d.fill_bytes(0xFF, n);
    return d;
}

// ---- one checker per op: shape -> Outcome ---------------------------------------------

Outcome check_relu_fwd(const std::vector<int>& s) {
    const size_t n = prod(s);
    auto x = random_vec(n, 10);
    std::vector<float> y0(n);
    relu_forward_ref<float>(x.data(), n, y0.data());
    auto dx = to_device(x);
    auto dy = poisoned_device<float>(n);
    relu_forward_cuda(dx.get(), n, dy.get());
    Outcome o;
    o.add(rel_err(dy.download(n), y0));
    return o;
}

Outcome check_relu_bwd(const std::vector<int>& s) {
    const size_t n = prod(s);
    auto y = random_vec(n, 11), g = random_vec(n, 12);
    std::vector<float> dx0(n);
    relu_backward_ref<float>(y.data(), g.data(), n, dx0.data());
    auto d_y = to_device(y), d_g = to_device(g);
    auto d_dx = poisoned_device<float>(n);
    relu_backward_cuda(d_y.get(), d_g.get(), n, d_dx.get());
    Outcome o;
    o.add(rel_err(d_dx.download(n), dx0));
    return o;
}

// shape {n, c, h, w, ties}: ties != 0 quantises x to {-2, -1, 1, 2} so windows tie often.
std::vector<float> pool_input(const std::vector<int>& s, uint64_t seed) {
    auto x = random_vec(size_t(s[0]) * s[1] * s[2] * s[3], seed);
    if (s[4])
        for (auto& v : x) v = (v > 0 ? 1.0f : -1.0f) * (std::fabs(v) > 0.55f ? 2.0f : 1.0f);
    return x;
}

Outcome check_maxpool_fwd(const std::vector<int>& s) {
    const int n = s[0], c = s[1], h = s[2], w = s[3];
    const size_t ny = size_t(n) * c * (h / 2) * (w / 2);
    auto x = pool_input(s, 1);
    std::vector<float> y0(ny);
    std::vector<uint8_t> a0(ny);
    maxpool2d_forward_ref<float>(x.data(), n, c, h, w, y0.data(), a0.data());
    auto d_x = to_device(x);
    auto d_y = poisoned_device<float>(ny);
    auto d_a = poisoned_device<uint8_t>(ny);
    maxpool2d_forward_cuda(d_x.get(), n, c, h, w, d_y.get(), d_a.get());
    Outcome o;
    o.add(rel_err(d_y.download(ny), y0));
    o.exact = d_a.download(ny) == a0;
    return o;
}

Outcome check_maxpool_bwd(const std::vector<int>& s) {
    const int n = s[0], c = s[1], h = s[2], w = s[3];
    const size_t nx = size_t(n) * c * h * w, ny = size_t(n) * c * (h / 2) * (w / 2);
    auto x = pool_input(s, 2);
    auto g = random_vec(ny, 3);
    std::vector<float> y(ny), dx0(nx);
    std::vector<uint8_t> a(ny);
    maxpool2d_forward_ref<float>(x.data(), n, c, h, w, y.data(), a.data());
    maxpool2d_backward_ref<float>(g.data(), a.data(), n, c, h, w, dx0.data());
    auto d_g = to_device(g);
    auto d_a = to_device(a);
    auto d_dx = poisoned_device<float>(nx);
    maxpool2d_backward_cuda(d_g.get(), d_a.get(), n, c, h, w, d_dx.get());
    Outcome o;
    o.add(rel_err(d_dx.download(nx), dx0));
    return o;
}

// shape {n, rate in percent}
Outcome check_dropout_fwd(const std::vector<int>& s) {
    const size_t n = size_t(s[0]);
    const float rate = float(s[1]) / 100.0f;
    const uint64_t seed = mix_seed(0x1234567u, uint64_t(s[0]));
    auto x = random_vec(n, 13);
    std::vector<float> y0(n);
    std::vector<uint8_t> m0(n);
    dropout_forward_ref<float>(x.data(), n, rate, seed, y0.data(), m0.data());
    auto d_x = to_device(x);
    auto d_y = poisoned_device<float>(n);
    auto d_m = poisoned_device<uint8_t>(n);
    dropout_forward_cuda(d_x.get(), n, rate, seed, d_y.get(), d_m.get());
    Outcome o;
    o.add(rel_err(d_y.download(n), y0));
    o.exact = d_m.download(n) == m0;
    return o;
}

Outcome check_dropout_bwd(const std::vector<int>& s) {
    const size_t n = size_t(s[0]);
    const float rate = float(s[1]) / 100.0f;
    auto x = random_vec(n, 14), g = random_vec(n, 15);
    std::vector<float> y(n), dx0(n);
    std::vector<uint8_t> m(n);
    dropout_forward_ref<float>(x.data(), n, rate, 99, y.data(), m.data());
    dropout_backward_ref<float>(g.data(), m.data(), n, rate, dx0.data());
    auto d_g = to_device(g);
    auto d_m = to_device(m);
    auto d_dx = poisoned_device<float>(n);
    dropout_backward_cuda(d_g.get(), d_m.get(), n, rate, d_dx.get());
    Outcome o;
    o.add(rel_err(d_dx.download(n), dx0));
    return o;
}

// shape {n, k, weighted}
std::vector<float> class_weights(int k, uint64_t seed) {
    auto cw = random_vec(size_t(k), seed);
    for (auto& v : cw) v = std::fabs(v) * 3.0f;
    return cw;
}

Outcome check_xent_fwd(const std::vector<int>& s) {
    const int n = s[0], k = s[1];
    auto z = random_vec(size_t(n) * k, 16);
    for (auto& v : z) v *= 8.0f;  // spread the probabilities out
    auto y = random_labels(size_t(n), k, 17);
    auto cw = class_weights(k, 18);
    std::vector<float> p0(z.size());
    const double l0 = softmax_xent_forward_ref<float>(z.data(), y.data(), s[2] ? cw.data() : nullptr,
                                                      n, k, p0.data());
    auto d_z = to_device(z);
    auto d_y = to_device(y);
    auto d_w = to_device(cw);
    auto d_p = poisoned_device<float>(z.size());
    auto d_s = poisoned_device<double>(softmax_xent_scratch_size(n));
    const double l1 = softmax_xent_forward_cuda(d_z.get(), d_y.get(), s[2] ? d_w.get() : nullptr,
                                                n, k, d_p.get(), d_s.get());
    Outcome o;
    o.add(rel_err(d_p.download(z.size()), p0));
    o.add(rel_err_scalar(l1, l0));
    return o;
}

Outcome check_xent_bwd(const std::vector<int>& s) {
    const int n = s[0], k = s[1];
    auto z = random_vec(size_t(n) * k, 19);
    auto y = random_labels(size_t(n), k, 20);
    auto cw = class_weights(k, 21);
    const float* w = s[2] ? cw.data() : nullptr;
    std::vector<float> p(z.size()), d0(z.size());
    softmax_xent_forward_ref<float>(z.data(), y.data(), w, n, k, p.data());
    softmax_xent_backward_ref<float>(p.data(), y.data(), w, n, k, d0.data());
    auto d_p = to_device(p);
    auto d_y = to_device(y);
    auto d_w = to_device(cw);
    auto d_d = poisoned_device<float>(z.size());
    softmax_xent_backward_cuda(d_p.get(), d_y.get(), s[2] ? d_w.get() : nullptr, n, k, d_d.get());
    Outcome o;
    o.add(rel_err(d_d.download(z.size()), d0));
    return o;
}

// shape {n, steps}: several steps on the same state, fresh gradients each step
Outcome check_adam(const std::vector<int>& s) {
    const size_t n = size_t(s[0]);
    auto p0 = random_vec(n, 22);
    std::vector<float> m0(n, 0.0f), v0(n, 0.0f);
    auto d_p = to_device(p0), d_m = to_device(m0), d_v = to_device(v0);
    DeviceBuffer<float> d_g(n);
    AdamParams hp;
    for (int t = 1; t <= s[1]; ++t) {
        auto g = random_vec(n, 100 + uint64_t(t));
        adam_step_ref<float>(p0.data(), g.data(), m0.data(), v0.data(), n, t, hp);
        d_g.upload(g);
        adam_step_cuda(d_p.get(), d_g.get(), d_m.get(), d_v.get(), n, t, hp);
    }
    Outcome o;
    o.add(rel_err(d_p.download(n), p0));
    o.add(rel_err(d_m.download(n), m0));
    o.add(rel_err(d_v.download(n), v0));
    return o;
}

struct OpCase {
    const char* op;
    std::vector<int> shape;
};

// clang-format off
const std::vector<std::pair<const char*, std::function<Outcome(const std::vector<int>&)>>>
    kCheckers = {
        {"maxpool_fwd", check_maxpool_fwd}, {"maxpool_bwd", check_maxpool_bwd},
        {"relu_fwd", check_relu_fwd},       {"relu_bwd", check_relu_bwd},
        {"dropout_fwd", check_dropout_fwd}, {"dropout_bwd", check_dropout_bwd},
        {"xent_fwd", check_xent_fwd},       {"xent_bwd", check_xent_bwd},
        {"adam", check_adam},
};

// The nets' own shapes (FlowPicNet at 1500², LeNet at 32² and 64²), batch 1, odd sizes
// and sizes past one grid of blocks (the kernels loop grid-stride).
const std::vector<OpCase> kCases = {
    {"maxpool_fwd", {2, 10, 300, 300, 0}}, {"maxpool_fwd", {4, 20, 30, 30, 0}},
    {"maxpool_fwd", {3, 6, 28, 28, 0}},    {"maxpool_fwd", {2, 3, 7, 9, 0}},
    {"maxpool_fwd", {1, 2, 17, 35, 0}},    {"maxpool_fwd", {1, 1, 1, 5, 0}},
    {"maxpool_fwd", {2, 10, 300, 300, 1}}, {"maxpool_fwd", {3, 5, 13, 11, 1}},
    {"maxpool_bwd", {2, 10, 300, 300, 0}}, {"maxpool_bwd", {4, 20, 30, 30, 0}},
    {"maxpool_bwd", {3, 6, 28, 28, 0}},    {"maxpool_bwd", {2, 3, 7, 9, 0}},
    {"maxpool_bwd", {1, 2, 17, 35, 0}},    {"maxpool_bwd", {1, 1, 1, 5, 0}},
    {"maxpool_bwd", {3, 5, 13, 11, 1}},
    {"relu_fwd", {1}},                     {"relu_fwd", {13}},
    {"relu_fwd", {128, 20, 30, 30}},       {"relu_fwd", {(1 << 24) + 5}},
    {"relu_bwd", {7}},                     {"relu_bwd", {128, 64}},
    {"relu_bwd", {(1 << 24) + 5}},
    {"dropout_fwd", {1, 50}},              {"dropout_fwd", {13, 25}},
    {"dropout_fwd", {128 * 64, 50}},       {"dropout_fwd", {128 * 20 * 30 * 30 + 3, 25}},
    {"dropout_fwd", {1000, 0}},            {"dropout_fwd", {1000, 90}},
    {"dropout_fwd", {(1 << 24) + 5, 50}},
    {"dropout_bwd", {13, 25}},             {"dropout_bwd", {128 * 20 * 30 * 30 + 3, 25}},
    {"xent_fwd", {128, 5, 0}},             {"xent_fwd", {128, 5, 1}},
    {"xent_fwd", {7, 1, 0}},               {"xent_fwd", {33, 8, 1}},
    {"xent_fwd", {9, 21, 1}},              {"xent_fwd", {1000, 3, 1}},
    {"xent_bwd", {128, 5, 0}},             {"xent_bwd", {128, 5, 1}},
    {"xent_bwd", {33, 8, 0}},              {"xent_bwd", {9, 21, 1}},
    {"adam", {1, 1}},                      {"adam", {4500 * 64 + 7, 2}},
    {"adam", {61281, 1}},                  {"adam", {(1 << 17) + 3, 3}},
};
// clang-format on

std::string describe(const OpCase& c) {
    std::ostringstream s;
    s << c.op << " {";
    for (size_t i = 0; i < c.shape.size(); ++i) s << (i ? "," : "") << c.shape[i];
    s << "}";
    return s.str();
}

// ---- binning: windows that exercise every rule of binning.h ---------------------------

struct Window {
    std::vector<WindowPacket> packets;
    uint32_t length_us = 0;
};

Window random_window(uint32_t count, uint32_t max_t, uint32_t length_us, uint64_t seed) {
    Window w;
    w.length_us = length_us;
    uint64_t s = seed;
    for (uint32_t i = 0; i < count; ++i) {
        const uint64_t r = splitmix64(s);
        // sizes up to 1600: the ones above 1500 are dropped
        w.packets.push_back(WindowPacket{uint32_t(r % (uint64_t(max_t) + 1)),
                                         uint16_t((r >> 32) % 1601), uint8_t((r >> 48) & 1), 0});
    }
    std::sort(w.packets.begin(), w.packets.end(),
              [](const WindowPacket& a, const WindowPacket& b) { return a.t_us < b.t_us; });
    return w;
}

std::vector<Window> binning_windows() {
    std::vector<Window> ws;
    ws.push_back(random_window(0, 0, 60000000, 1));               // empty
    ws.push_back(random_window(1, 5000, 60000000, 2));            // span D == 0
    ws.push_back(random_window(2000, 59000000, 60000000, 3));     // typical
    ws.push_back(random_window(3000, 60000000, 30000000, 4));     // fixed drops the second half
    ws.push_back(random_window(200, 1000, 0, 5));                 // fixed with length 0
    Window same;  // many packets in one pixel, both directions: atomics and grey's max
    for (uint32_t i = 0; i < 4000; ++i)
        same.packets.push_back(WindowPacket{7000 + i % 3, uint16_t(700 + i % 2), uint8_t(i % 5 == 0), 0});
    same.packets.push_back(WindowPacket{60000000, 1500, 0, 0});
    std::sort(same.packets.begin(), same.packets.end(),
              [](const WindowPacket& a, const WindowPacket& b) { return a.t_us < b.t_us; });
    same.length_us = 60000000;
    ws.push_back(same);
    Window edges;  // times on the bin edges of every resolution: (t / D) * N rounding
    for (uint32_t i = 0; i <= 1500; ++i)
        edges.packets.push_back(WindowPacket{i * 40000, uint16_t(i), uint8_t(i & 1), 0});
    edges.length_us = 60000000;
    ws.push_back(edges);
    ws.push_back(random_window(1, 0, 60000000, 6));               // one packet at t = 0
    return ws;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_ops, *boost::unit_test::precondition(CudaPresent()))

BOOST_AUTO_TEST_CASE(cuda_matches_reference_on_the_case_table) {
    for (const auto& c : kCases) {
        std::function<Outcome(const std::vector<int>&)> check;
        for (const auto& kc : kCheckers)
            if (std::string(kc.first) == c.op) check = kc.second;
        BOOST_REQUIRE_MESSAGE(check, "no checker for " << c.op);
        const Outcome o = check(c.shape);
        BOOST_TEST_MESSAGE(describe(c) << ": rel err " << o.err);
        BOOST_TEST(o.err < kTol, describe(c) << ": rel err " << o.err);
        BOOST_TEST(o.exact, describe(c) << ": integer outputs differ");
    }
}

BOOST_AUTO_TEST_CASE(binning_matches_reference_exactly_in_every_mode) {
    const std::vector<Window> ws = binning_windows();
    std::vector<PacketListView> views;
    for (const auto& w : ws)
        views.push_back(PacketListView{w.packets.data(), uint32_t(w.packets.size()), w.length_us});
    const PackedWindows pw = pack_windows(views.data(), views.size());
    auto d_pk = to_device(pw.packets);
    auto d_off = to_device(pw.offsets), d_cnt = to_device(pw.counts), d_len = to_device(pw.length_us);
    cudaStream_t stream;
    BOOST_REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
    for (int res : {1, 7, 32, 64, 1500}) {
        for (const BinningOptions& opts : all_binning_modes(res)) {
            const size_t total = views.size() * image_size(opts);
            std::vector<float> want(total);
            bin_dense_ref(views.data(), views.size(), opts, want.data());
            auto d_out = poisoned_device<float>(total);
            bin_dense_cuda(d_pk.get(), d_off.get(), d_cnt.get(), d_len.get(), views.size(),
                           pw.packets.size(), opts, d_out.get(), stream);
            CUDA_CHECK(cudaStreamSynchronize(stream));
            const std::vector<float> got = d_out.download(total);
            size_t diff = 0, first = 0;
            for (size_t i = 0; i < total; ++i)
                if (!(got[i] == want[i]) && diff++ == 0) first = i;
            BOOST_TEST(diff == 0u, format_options(opts) << ": " << diff << " pixels differ, first at "
                                                        << first << " (gpu " << got[first]
                                                        << ", cpu " << want[first] << ")");
        }
    }
    cudaStreamDestroy(stream);
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
        auto d_z = to_device(z);
        auto d_y = to_device(y);
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
