// Every op of nn/backend.h on every backend make_backend can build, against the scalar
// CPU backend ("cpu-scalar", the oracle), ggml test-backend-ops style: ONE table of
// {op, parameters, conv shape} rows and ONE checker per op, written against Backend& and
// Tensor as the layers use them.  cpu-avx2 always runs; cuda runs when a device is
// present (else its rows report "skipped: no CUDA device").
//
// A checker draws random inputs that are never zero (tests/op_check.h), puts them in the
// backend's memory, poisons every output with NaN (0xFF bytes for masks and argmax,
// on the device too), calls the op and copies the results back.  The same checker runs
// on the backend under test and on the oracle; each float output must be within the op's
// relative-error limit ||got - want|| / ||want|| (NaN never passes), integer outputs and
// binning must be equal.
//
// Adding an op: one checker below (a function Backend& -> Outputs) registered in
// kOps with its tolerance, and its rows in op_cases().  Nothing else.
//
// Not here: finite differences (double reference, tests/test_op_properties.cpp), the
// properties that are not "backend vs oracle" (same file), what only the CUDA kernels
// have (test_cuda_kernels.cpp, test_cuda_conv2d_sparse.cpp, the cuDNN/cuBLAS oracle).
#define BOOST_TEST_DYN_LINK
#pragma GCC diagnostic ignored "-Wuninitialized"  // inside boost::function, from precondition()
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/conv2d.h"
#include "kernels/conv2d_sparse.h"
#include "kernels/cpu/binning.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/dropout.h"
#include "nn/backend.h"
#include "nn/evaluate.h"
#include "nn/tensor.h"
#include "synth/random_windows.h"
#include "tests/binning_modes.h"
#include "tests/conv2d_cases.h"
#include "tests/cuda_available.h"
#include "tests/op_check.h"
#include "tests/sparse_entries.h"

namespace bdata = boost::unit_test::data;
using namespace flowpic;

namespace {

// ---- the rows ---------------------------------------------------------------------------

struct OpCase {
    std::string op;
    std::vector<long long> p;  // the op's parameters (documented at its checker)
    std::string name;          // what the row is: a net's layer, the edge it exercises
    Conv2dShape conv{};        // the conv ops' shape
    long long at(size_t i, long long otherwise = 0) const { return i < p.size() ? p[i] : otherwise; }
};

std::ostream& operator<<(std::ostream& os, const OpCase& c) {
    os << c.op << " {";
    for (size_t i = 0; i < c.p.size(); ++i) os << (i ? "," : "") << c.p[i];
    os << "}";
    if (c.op.rfind("conv2d", 0) == 0) {
        const Conv2dShape& s = c.conv;
        os << " n" << s.n << " c" << s.c << " " << s.h << "x" << s.w << " k" << s.k << " " << s.r << "x" << s.s
           << " stride " << s.stride << " pad " << s.pad_top << "," << s.pad_left;
    }
    if (!c.name.empty()) os << " (" << c.name << ")";
    return os;
}

// ---- moving data in and out of a backend's memory --------------------------------------

Tensor tensor_in(Backend& be, const std::vector<float>& host) {
    Tensor t({int64_t(std::max<size_t>(host.size(), 1))}, be.memory());
    if (!host.empty()) t.assign(host.data());
    return t;
}

Tensor tensor_out(Backend& be, size_t n) { return tensor_in(be, poisoned<float>(std::max<size_t>(n, 1))); }

std::vector<float> tensor_read(Backend& be, const Tensor& t, size_t n) {
    be.synchronize();
    std::vector<float> all = t.to_vector();
    all.resize(n);
    return all;
}

template <typename T>
Storage raw_in(Backend& be, const std::vector<T>& host) {
    Storage s(be.memory());
    s.reserve(std::max<size_t>(host.size(), 1) * sizeof(T));
    if (!host.empty()) copy_bytes(s.get(), be.memory(), host.data(), Memory::kHost, host.size() * sizeof(T));
    return s;
}

template <typename T>
std::vector<T> raw_read(Backend& be, const void* p, size_t n) {
    be.synchronize();
    std::vector<T> host(n);
    if (n) copy_bytes(host.data(), Memory::kHost, p, be.memory(), n * sizeof(T));
    return host;
}

// 0xFF bytes: 255 as a mask or argmax byte, which no op writes.
Storage bytes_out(Backend& be, size_t n) { return raw_in(be, std::vector<uint8_t>(std::max<size_t>(n, 1), 0xFF)); }

// What one op produced on one backend, named for the failure messages.
struct Outputs {
    std::vector<std::pair<std::string, std::vector<float>>> f;
    std::vector<std::pair<std::string, std::vector<uint8_t>>> bytes;
    std::vector<std::pair<std::string, double>> scalars;
};

double rel_err_scalar(double a, double b) {
    if (!std::isfinite(a) || !std::isfinite(b)) return INFINITY;
    return b == 0 ? std::fabs(a) : std::fabs(a - b) / std::fabs(b);
}

// ---- one checker per op -----------------------------------------------------------------
// `oracle` is true on the oracle's run: a row may ask for the double reference there.

// maxpool_fwd / maxpool_bwd {n, c, h, w, ties}: ties != 0 quantises x to {-2, -1, 1, 2}.
std::vector<float> pool_input(const OpCase& c, uint64_t seed) {
    auto x = random_vec(size_t(c.p[0] * c.p[1] * c.p[2] * c.p[3]), seed);
    if (c.at(4))
        for (auto& v : x) v = (v > 0 ? 1.0f : -1.0f) * (std::fabs(v) > 0.55f ? 2.0f : 1.0f);
    return x;
}

Outputs run_maxpool_fwd(Backend& be, const OpCase& c, bool) {
    const int n = int(c.p[0]), ch = int(c.p[1]), h = int(c.p[2]), w = int(c.p[3]);
    const size_t ny = size_t(n) * ch * (h / 2) * (w / 2);
    Tensor x = tensor_in(be, pool_input(c, 1)), y = tensor_out(be, ny);
    Storage a = bytes_out(be, ny);
    be.maxpool2d_forward(x.data(), n, ch, h, w, y.data(), static_cast<uint8_t*>(a.get()));
    return {{{"y", tensor_read(be, y, ny)}}, {{"argmax", raw_read<uint8_t>(be, a.get(), ny)}}, {}};
}

Outputs run_maxpool_bwd(Backend& be, const OpCase& c, bool) {
    const int n = int(c.p[0]), ch = int(c.p[1]), h = int(c.p[2]), w = int(c.p[3]);
    const size_t nx = size_t(n) * ch * h * w, ny = size_t(n) * ch * (h / 2) * (w / 2);
    // The argmax of a forward on this backend; the oracle's must be the same (maxpool_fwd rows).
    Tensor x = tensor_in(be, pool_input(c, 2)), y = tensor_out(be, ny), dy = tensor_in(be, random_vec(ny, 3));
    Storage a = bytes_out(be, ny);
    be.maxpool2d_forward(x.data(), n, ch, h, w, y.data(), static_cast<uint8_t*>(a.get()));
    Tensor dx = tensor_out(be, nx);
    be.maxpool2d_backward(dy.data(), static_cast<const uint8_t*>(a.get()), n, ch, h, w, dx.data());
    return {{{"dx", tensor_read(be, dx, nx)}}, {}, {}};
}

// dense_fwd {n, in, out}
Outputs run_dense_fwd(Backend& be, const OpCase& c, bool) {
    const int n = int(c.p[0]), in = int(c.p[1]), out = int(c.p[2]);
    Tensor x = tensor_in(be, random_vec(size_t(n) * in, 4)), w = tensor_in(be, random_vec(size_t(out) * in, 5)),
           b = tensor_in(be, random_vec(size_t(out), 6)), y = tensor_out(be, size_t(n) * out);
    be.dense_forward(x.data(), w.data(), b.data(), n, in, out, y.data());
    return {{{"y", tensor_read(be, y, size_t(n) * out)}}, {}, {}};
}

// dense_bwd {n, in, out, wanted}: wanted is a mask of the outputs passed (1 dx, 2 dw,
// 4 db; default all), the others are null.
Outputs run_dense_bwd(Backend& be, const OpCase& c, bool) {
    const int n = int(c.p[0]), in = int(c.p[1]), out = int(c.p[2]);
    const long long want = c.at(3, 7);
    Tensor x = tensor_in(be, random_vec(size_t(n) * in, 7)), w = tensor_in(be, random_vec(size_t(out) * in, 8)),
           dy = tensor_in(be, random_vec(size_t(n) * out, 9));
    Tensor dx = tensor_out(be, size_t(n) * in), dw = tensor_out(be, size_t(out) * in), db = tensor_out(be, size_t(out));
    be.dense_backward(x.data(), w.data(), dy.data(), n, in, out, want & 1 ? dx.data() : nullptr,
                      want & 2 ? dw.data() : nullptr, want & 4 ? db.data() : nullptr);
    Outputs o;
    if (want & 1) o.f.push_back({"dx", tensor_read(be, dx, size_t(n) * in)});
    if (want & 2) o.f.push_back({"dw", tensor_read(be, dw, size_t(out) * in)});
    if (want & 4) o.f.push_back({"db", tensor_read(be, db, size_t(out))});
    return o;
}

// relu_fwd / relu_bwd {dims...}: the element count is their product.
size_t elements(const OpCase& c) {
    size_t n = 1;
    for (long long d : c.p) n *= size_t(d);
    return n;
}

Outputs run_relu_fwd(Backend& be, const OpCase& c, bool) {
    const size_t n = elements(c);
    Tensor x = tensor_in(be, random_vec(n, 10)), y = tensor_out(be, n);
    be.relu_forward(x.data(), n, y.data());
    return {{{"y", tensor_read(be, y, n)}}, {}, {}};
}

Outputs run_relu_bwd(Backend& be, const OpCase& c, bool) {
    const size_t n = elements(c);
    Tensor y = tensor_in(be, random_vec(n, 11)), dy = tensor_in(be, random_vec(n, 12)), dx = tensor_out(be, n);
    be.relu_backward(y.data(), dy.data(), n, dx.data());
    return {{{"dx", tensor_read(be, dx, n)}}, {}, {}};
}

// dropout_fwd / dropout_bwd {n, rate in percent}
Outputs run_dropout_fwd(Backend& be, const OpCase& c, bool) {
    const size_t n = size_t(c.p[0]);
    const float rate = float(c.p[1]) / 100.0f;
    const uint64_t seed = mix_seed(0x1234567u, uint64_t(n));
    Tensor x = tensor_in(be, random_vec(n, 13)), y = tensor_out(be, n);
    Storage m = bytes_out(be, n);
    be.dropout_forward(x.data(), n, rate, seed, y.data(), static_cast<uint8_t*>(m.get()));
    return {{{"y", tensor_read(be, y, n)}}, {{"mask", raw_read<uint8_t>(be, m.get(), n)}}, {}};
}

Outputs run_dropout_bwd(Backend& be, const OpCase& c, bool) {
    const size_t n = size_t(c.p[0]);
    const float rate = float(c.p[1]) / 100.0f;
    std::vector<uint8_t> mask(n);  // a mask as the forward draws it
    for (size_t i = 0; i < n; ++i) mask[i] = dropout_keep(99, i, rate) ? 1 : 0;
    Tensor dy = tensor_in(be, random_vec(n, 15)), dx = tensor_out(be, n);
    Storage m = raw_in(be, mask);
    be.dropout_backward(dy.data(), static_cast<const uint8_t*>(m.get()), n, rate, dx.data());
    return {{{"dx", tensor_read(be, dx, n)}}, {}, {}};
}

// xent_fwd / xent_bwd {n, k, weighted}: labels and class weights are host memory.
std::vector<float> class_weights(int k, uint64_t seed) {
    auto cw = random_vec(size_t(k), seed);
    for (auto& v : cw) v = std::fabs(v) * 3.0f;
    return cw;
}

Outputs run_xent_fwd(Backend& be, const OpCase& c, bool) {
    const int n = int(c.p[0]), k = int(c.p[1]);
    auto z = random_vec(size_t(n) * k, 16);
    for (auto& v : z) v *= 8.0f;  // spread the probabilities out
    const auto y = random_labels(size_t(n), k, 17);
    const auto cw = class_weights(k, 18);
    Tensor logits = tensor_in(be, z), probs = tensor_out(be, z.size());
    const double loss = be.softmax_xent_forward(logits.data(), y.data(), c.at(2) ? cw.data() : nullptr, n, k, probs.data());
    return {{{"probs", tensor_read(be, probs, z.size())}}, {}, {{"loss", loss}}};
}

Outputs run_xent_bwd(Backend& be, const OpCase& c, bool) {
    const int n = int(c.p[0]), k = int(c.p[1]);
    const auto y = random_labels(size_t(n), k, 20);
    const auto cw = class_weights(k, 21);
    const float* w = c.at(2) ? cw.data() : nullptr;
    // probabilities: rows of a softmax (the oracle's, the same on every backend)
    std::vector<float> p(size_t(n) * k);
    auto z = random_vec(p.size(), 19);
    softmax_rows(z.data(), size_t(n), size_t(k), p.data());
    Tensor probs = tensor_in(be, p), d = tensor_out(be, p.size());
    be.softmax_xent_backward(probs.data(), y.data(), w, n, k, d.data());
    return {{{"dlogits", tensor_read(be, d, p.size())}}, {}, {}};
}

// xent_step {n, k, weighted}: the training head in one op (probs, dlogits, loss and the
// count of rows whose argmax is the label; a count off by one is an error of >= 1/n).
Outputs run_xent_step(Backend& be, const OpCase& c, bool) {
    const int n = int(c.p[0]), k = int(c.p[1]);
    auto z = random_vec(size_t(n) * k, 22);
    for (auto& v : z) v *= 8.0f;
    const auto y = random_labels(size_t(n), k, 23);
    const auto cw = class_weights(k, 24);
    Tensor logits = tensor_in(be, z), probs = tensor_out(be, z.size()), d = tensor_out(be, z.size());
    const Backend::XentStep r =
        be.softmax_xent_step(logits.data(), y.data(), c.at(2) ? cw.data() : nullptr, n, k, probs.data(), d.data());
    return {{{"probs", tensor_read(be, probs, z.size())}, {"dlogits", tensor_read(be, d, z.size())}},
            {},
            {{"loss", r.loss}, {"correct", double(r.correct)}}};
}

// softmax_fwd {n, k}
Outputs run_softmax_fwd(Backend& be, const OpCase& c, bool) {
    const int n = int(c.p[0]), k = int(c.p[1]);
    auto z = random_vec(size_t(n) * k, 23);
    for (auto& v : z) v *= 10.0f;
    Tensor logits = tensor_in(be, z), probs = tensor_out(be, z.size());
    be.softmax_forward(logits.data(), n, k, probs.data());
    return {{{"probs", tensor_read(be, probs, z.size())}}, {}, {}};
}

// adam {n, steps}: several steps on the same state, a fresh gradient each step.
Outputs run_adam(Backend& be, const OpCase& c, bool) {
    const size_t n = size_t(c.p[0]);
    Tensor p = tensor_in(be, random_vec(n, 22)), m = tensor_in(be, std::vector<float>(n, 0.0f)),
           v = tensor_in(be, std::vector<float>(n, 0.0f));
    AdamParams hp;
    for (int t = 1; t <= int(c.at(1, 1)); ++t) {
        Tensor g = tensor_in(be, random_vec(n, 100 + uint64_t(t)));
        be.adam_step(p.data(), g.data(), m.data(), v.data(), n, t, hp);
        be.synchronize();  // g is freed here
    }
    return {{{"p", tensor_read(be, p, n)}, {"m", tensor_read(be, m, n)}, {"v", tensor_read(be, v, n)}}, {}, {}};
}

// adam_all {steps, size of tensor 0, size of tensor 1, ...}: one step over all of them.
Outputs run_adam_all(Backend& be, const OpCase& c, bool) {
    const int steps = int(c.p[0]);
    std::vector<Tensor> p, g, m, v;
    std::vector<size_t> sizes;
    for (size_t i = 1; i < c.p.size(); ++i) {
        const size_t n = size_t(c.p[i]);
        sizes.push_back(n);
        p.push_back(tensor_in(be, random_vec(n, 200 + i)));
        m.push_back(tensor_in(be, std::vector<float>(n, 0.0f)));
        v.push_back(tensor_in(be, std::vector<float>(n, 0.0f)));
        g.emplace_back();
    }
    AdamParams hp{2e-3f, 0.85f, 0.995f, 1e-6f};
    for (int t = 1; t <= steps; ++t) {
        std::vector<Backend::AdamSlot> slots;
        for (size_t i = 0; i < sizes.size(); ++i) {
            g[i] = tensor_in(be, random_vec(sizes[i], mix_seed(uint64_t(t), i)));
            slots.push_back({p[i].data(), g[i].data(), m[i].data(), v[i].data(), sizes[i]});
        }
        be.adam_step_all(slots.data(), slots.size(), t, hp);
        be.synchronize();
    }
    Outputs o;
    for (size_t i = 0; i < sizes.size(); ++i) {
        const std::string at = "[" + std::to_string(i) + "]";
        o.f.push_back({"p" + at, tensor_read(be, p[i], sizes[i])});
        o.f.push_back({"m" + at, tensor_read(be, m[i], sizes[i])});
        o.f.push_back({"v" + at, tensor_read(be, v[i], sizes[i])});
    }
    return o;
}

// copy {n}
Outputs run_copy(Backend& be, const OpCase& c, bool) {
    const size_t n = size_t(c.p[0]);
    Tensor src = tensor_in(be, random_vec(n, 24)), dst = tensor_out(be, n);
    be.copy(dst.data(), src.data(), n);
    return {{{"dst", tensor_read(be, dst, n)}}, {}, {}};
}

// ---- convolution: conv2d_fwd {bias, double} / conv2d_bwd_data {double} /
// conv2d_bwd_weight {db, double}.  bias/db 0 passes null.  double != 0: the oracle is
// the kernels' reference in double (long sums where the float reference's own rounding
// nears the tolerance: FlowPicNet conv1 at full size).

struct ConvInputs {
    std::vector<float> x, w, b, dy;
    explicit ConvInputs(const Conv2dShape& s) {
        std::mt19937 rng(uint32_t(mix_seed(uint64_t(conv2d_x_size(s)), uint64_t(conv2d_w_size(s)))));
        x = random_values<float>(conv2d_x_size(s), rng);
        w = random_values<float>(conv2d_w_size(s), rng);
        b = random_values<float>(s.k, rng);
        dy = random_values<float>(conv2d_y_size(s), rng);
    }
};

std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }
std::vector<float> narrow(const std::vector<double>& v) { return {v.begin(), v.end()}; }

Outputs run_conv_fwd(Backend& be, const OpCase& c, bool oracle) {
    const Conv2dShape& s = c.conv;
    const ConvInputs in(s);
    const bool bias = c.at(0, 1) != 0;
    const size_t ny = size_t(conv2d_y_size(s));
    if (oracle && c.at(1)) {
        std::vector<double> y(ny), x = widen(in.x), w = widen(in.w), b = widen(in.b);
        conv2d_forward_ref<double>(s, x.data(), w.data(), bias ? b.data() : nullptr, y.data());
        return {{{"y", narrow(y)}}, {}, {}};
    }
    Tensor x = tensor_in(be, in.x), w = tensor_in(be, in.w), b = tensor_in(be, in.b), y = tensor_out(be, ny);
    be.conv2d_forward(s, x.data(), w.data(), bias ? b.data() : nullptr, y.data());
    return {{{"y", tensor_read(be, y, ny)}}, {}, {}};
}

Outputs run_conv_bwd_data(Backend& be, const OpCase& c, bool oracle) {
    const Conv2dShape& s = c.conv;
    const ConvInputs in(s);
    const size_t nx = size_t(conv2d_x_size(s));
    if (oracle && c.at(0)) {
        std::vector<double> dx(nx), dy = widen(in.dy), w = widen(in.w);
        conv2d_backward_data_ref<double>(s, dy.data(), w.data(), dx.data());
        return {{{"dx", narrow(dx)}}, {}, {}};
    }
    Tensor dy = tensor_in(be, in.dy), w = tensor_in(be, in.w), dx = tensor_out(be, nx);
    be.conv2d_backward_data(s, dy.data(), w.data(), dx.data());
    return {{{"dx", tensor_read(be, dx, nx)}}, {}, {}};
}

Outputs run_conv_bwd_weight(Backend& be, const OpCase& c, bool oracle) {
    const Conv2dShape& s = c.conv;
    const ConvInputs in(s);
    const bool want_db = c.at(0, 1) != 0;
    const size_t nw = size_t(conv2d_w_size(s)), nk = size_t(s.k);
    Outputs o;
    if (oracle && c.at(1)) {
        std::vector<double> dw(nw), db(nk), x = widen(in.x), dy = widen(in.dy);
        conv2d_backward_weight_ref<double>(s, x.data(), dy.data(), dw.data(), db.data());
        o.f.push_back({"dw", narrow(dw)});
        if (want_db) o.f.push_back({"db", narrow(db)});
        return o;
    }
    Tensor x = tensor_in(be, in.x), dy = tensor_in(be, in.dy), dw = tensor_out(be, nw), db = tensor_out(be, nk);
    be.conv2d_backward_weight(s, x.data(), dy.data(), dw.data(), want_db ? db.data() : nullptr);
    o.f.push_back({"dw", tensor_read(be, dw, nw)});
    if (want_db) o.f.push_back({"db", tensor_read(be, db, nk)});
    return o;
}

// ---- the sparse first layer: conv2d_sparse_fwd {bias, packets} / conv2d_sparse_bwd_weight
// {db, packets}.  packets 0: random entries (tests/sparse_entries.h: any order, repeats,
// value 0, corners, an empty image) in the backend's memory; packets > 0: windows of
// about that many packets turned into entries by the backend's own packet_entries (count
// binning at the shape's resolution, channels when C = 2).

struct SparseOnBackend {
    Storage entries, offsets;  // random entries copied in (packets == 0)
    Backend::PacketEntries images;
    RandomWindows windows;
};

void sparse_input(Backend& be, const OpCase& c, long long packets, SparseOnBackend& out) {
    const Conv2dShape& s = c.conv;
    if (packets == 0) {
        const SparseEntries e = random_sparse_entries(s, unsigned(mix_seed(uint64_t(conv2d_y_size(s)), 7)));
        out.entries = raw_in(be, e.entries);
        out.offsets = raw_in(be, e.offsets);
        out.images = {static_cast<const SparsePixel*>(out.entries.get()), static_cast<const uint32_t*>(out.offsets.get()),
                      size_t(s.n), std::max<size_t>(e.entries.size(), 1)};
        return;
    }
    RandomWindowOptions o;
    o.windows = size_t(s.n);
    o.min_packets = uint32_t(packets * 4 / 5);
    o.max_packets = uint32_t(packets * 6 / 5);
    o.length_us = 60000000;
    o.hot_share = 0.8;
    o.oversize_share = 0.02;
    o.late_share = 0.02;
    o.ties_share = 0.1;
    o.seed = uint64_t(packets) * 31 + uint64_t(s.n);
    out.windows = random_windows(o);
    const std::vector<PacketListView> views = out.windows.views();
    const BinningOptions bin{s.h, Normalize::span, ValueMode::count, s.c == 2 ? Direction::channels : Direction::none};
    out.images = be.packet_entries(views.data(), views.size(), bin);
}

Outputs run_sparse_fwd(Backend& be, const OpCase& c, bool) {
    const Conv2dShape& s = c.conv;
    const ConvInputs in(s);
    const bool bias = c.at(0, 1) != 0;
    SparseOnBackend x;
    sparse_input(be, c, c.at(1), x);
    const size_t ny = size_t(conv2d_y_size(s));
    Tensor w = tensor_in(be, in.w), b = tensor_in(be, in.b), y = tensor_out(be, ny);
    be.conv2d_sparse_forward(s, x.images, w.data(), bias ? b.data() : nullptr, y.data());
    return {{{"y", tensor_read(be, y, ny)}}, {}, {}};
}

Outputs run_sparse_bwd_weight(Backend& be, const OpCase& c, bool) {
    const Conv2dShape& s = c.conv;
    const ConvInputs in(s);
    const bool want_db = c.at(0, 1) != 0;
    SparseOnBackend x;
    sparse_input(be, c, c.at(1), x);
    const size_t nw = size_t(conv2d_w_size(s)), nk = size_t(s.k);
    Tensor dy = tensor_in(be, in.dy), dw = tensor_out(be, nw), db = tensor_out(be, nk);
    be.conv2d_sparse_backward_weight(s, x.images, dy.data(), dw.data(), want_db ? db.data() : nullptr);
    Outputs o;
    o.f.push_back({"dw", tensor_read(be, dw, nw)});
    if (want_db) o.f.push_back({"db", tensor_read(be, db, nk)});
    return o;
}

// ---- binning: bin_dense {resolution, windows, max_count, arith} in every mode,
// packet_entries {resolution, windows, max_count, arith} in every linear mode, both exact.
// windows 0: the edge windows (empty, span D == 0, fixed dropping half, length 0, one
// crowded pixel, times on every bin edge, one packet at t = 0); 1: FlowPic-like random
// windows (hot sizes, sizes over 1500, times past the end, ties).  max_count (default 0,
// no cap) applies to every mode; a row with a cap checks that it bites (some count-mode
// pixel over it before the cap).  arith 1: BinArith::tcbench.  axis 1: a time axis
// (--time-axis) of 30 s, half the longest windows, fixed normalisation only, with one more
// window holding packets at 30 s - 1 us, exactly 30 s and after (the row checks it bites).

RandomWindows edge_windows() {
    RandomWindows ws;
    auto add = [&](uint32_t count, uint32_t max_t, uint32_t length, uint64_t seed) {
        RandomWindowOptions o;
        o.length_us = length;
        o.max_time_us = max_t;
        o.min_size = 0;
        o.max_size = 1600;  // the ones above 1500 are dropped
        o.seed = seed;
        RandomWindows w = random_window(o, count);
        ws.packets.push_back(std::move(w.packets[0]));
        ws.length_us.push_back(length);
    };
    add(0, 0, 60000000, 1);            // empty
    add(1, 5000, 60000000, 2);         // span D == 0
    add(2000, 59000000, 60000000, 3);  // typical
    add(3000, 60000000, 30000000, 4);  // fixed drops the second half
    add(200, 1000, 0, 5);              // fixed with length 0
    std::vector<WindowPacket> same;    // many packets in one pixel, both directions
    for (uint32_t i = 0; i < 4000; ++i) same.push_back(WindowPacket{7000 + i % 3, uint16_t(700 + i % 2), uint8_t(i % 5 == 0), 0});
    same.push_back(WindowPacket{60000000, 1500, 0, 0});
    std::stable_sort(same.begin(), same.end(), [](const WindowPacket& a, const WindowPacket& b) { return a.t_us < b.t_us; });
    ws.packets.push_back(same);
    ws.length_us.push_back(60000000);
    std::vector<WindowPacket> edges;  // times on the bin edges of every resolution
    for (uint32_t i = 0; i <= 1500; ++i) edges.push_back(WindowPacket{i * 40000, uint16_t(i), uint8_t(i & 1), 0});
    ws.packets.push_back(edges);
    ws.length_us.push_back(60000000);
    add(1, 0, 60000000, 6);  // one packet at t = 0
    return ws;
}

constexpr uint32_t kRowAxisUs = 30000000;

RandomWindows binning_windows(long long which, bool axis = false) {
    if (axis) {
        RandomWindows ws = binning_windows(which);
        ws.packets.push_back({{0, 40, 1, 0}, {kRowAxisUs - 1, 1500, 0, 0}, {kRowAxisUs, 700, 1, 0},
                              {kRowAxisUs, 52, 0, 0}, {kRowAxisUs + 1, 40, 1, 0}, {59999999, 1500, 1, 0}});
        ws.length_us.push_back(60000000);
        return ws;
    }
    if (which == 0) return edge_windows();
    RandomWindowOptions o;
    o.windows = 9;
    o.min_packets = 1;
    o.max_packets = 3000;
    o.length_us = 1;
    o.max_length_us = 60000000;
    o.hot_share = 0.4;
    o.hot = {40, 52, 1500};
    o.oversize_share = 0.03;
    o.late_share = 0.05;
    o.ties_share = 0.25;
    o.seed = 20240611;
    return random_windows(o);
}

BinningOptions with_row_options(BinningOptions o, const OpCase& c) {
    o.max_count = uint32_t(c.at(2));
    o.arith = c.at(3) ? BinArith::tcbench : BinArith::flowpic;
    o.axis_us = c.at(4) ? kRowAxisUs : 0;
    return o;
}

Outputs run_bin_dense(Backend& be, const OpCase& c, bool) {
    const RandomWindows ws = binning_windows(c.p[1], c.at(4) != 0);
    const std::vector<PacketListView> views = ws.views();
    Outputs o;
    size_t over_cap = 0;  // count-mode pixels the cap lowered
    double cut = 0;       // with an axis: the packets it left out of the count-mode images
    for (BinningOptions opts : all_binning_modes(int(c.p[0]))) {
        if (c.at(4) && opts.normalize == Normalize::span) continue;  // an axis needs fixed
        opts = with_row_options(opts, c);
        const size_t total = views.size() * image_size(opts);
        Tensor img = tensor_out(be, total);
        be.bin_dense(views.data(), views.size(), opts, img.data());
        o.f.push_back({format_options(opts), tensor_read(be, img, total)});
        if (count_cap(opts)) {
            BinningOptions uncapped = opts;
            uncapped.max_count = 0;
            Tensor full = tensor_out(be, total);
            be.bin_dense(views.data(), views.size(), uncapped, full.data());
            for (float v : tensor_read(be, full, total)) over_cap += v > float(opts.max_count);
        }
        if (opts.axis_us && opts.values == ValueMode::count && opts.direction == Direction::none && !opts.max_count) {
            BinningOptions whole = opts;
            whole.axis_us = 0;
            Tensor full = tensor_out(be, total);
            be.bin_dense(views.data(), views.size(), whole, full.data());
            for (float v : tensor_read(be, full, total)) cut += v;
            for (float v : o.f.back().second) cut -= v;
        }
    }
    if (c.at(2)) BOOST_TEST(over_cap > 0u, c << ": the cap never bites");
    if (c.at(4) && !c.at(2)) BOOST_TEST(cut > 0, c << ": the time axis leaves no packet out");
    o.scalars.push_back({"pixels over the cap", double(over_cap)});
    o.scalars.push_back({"packets left out by the time axis", cut});
    return o;
}

Outputs run_packet_entries(Backend& be, const OpCase& c, bool) {
    const RandomWindows ws = binning_windows(c.p[1], c.at(4) != 0);
    const std::vector<PacketListView> views = ws.views();
    Outputs o;
    long long zeroed = 0;
    size_t all_packets = 0;
    for (const PacketListView& v : views) all_packets += v.count;
    for (Normalize norm : {Normalize::span, Normalize::fixed})
        for (Direction dir : {Direction::none, Direction::channels}) {
            if (c.at(4) && norm == Normalize::span) continue;  // an axis needs fixed
            const BinningOptions opts = with_row_options({int(c.p[0]), norm, ValueMode::count, dir}, c);
            const Backend::PacketEntries x = be.packet_entries(views.data(), views.size(), opts);
            const auto offsets = raw_read<uint32_t>(be, x.offsets, views.size() + 1);
            const auto entries = raw_read<SparsePixel>(be, x.entries, offsets.back());
            std::vector<uint8_t> bytes(entries.size() * sizeof(SparsePixel) + offsets.size() * 4);
            std::memcpy(bytes.data(), entries.data(), entries.size() * sizeof(SparsePixel));
            std::memcpy(bytes.data() + entries.size() * sizeof(SparsePixel), offsets.data(), offsets.size() * 4);
            o.bytes.push_back({format_options(opts) + " entries and offsets", bytes});
            // One entry per packet on the axis: fewer than the windows hold.
            if (opts.axis_us) BOOST_TEST(offsets.back() < all_packets, c << ": the time axis leaves no packet out");
            for (const SparsePixel& e : entries) zeroed += e.value == 0.0f;
            if (opts.max_count) {  // the same entries uncapped: the cap's zeros are the extra ones
                BinningOptions uncapped = opts;
                uncapped.max_count = 0;
                const Backend::PacketEntries u = be.packet_entries(views.data(), views.size(), uncapped);
                for (const SparsePixel& e : raw_read<SparsePixel>(be, u.entries, offsets.back())) zeroed -= e.value == 0.0f;
            }
        }
    if (c.at(2)) BOOST_TEST(zeroed > 0, c << ": the cap never bites");
    o.scalars.push_back({"entries zeroed by the cap (all zero entries without one)", double(zeroed)});
    return o;
}

// ---- the registry: op name -> checker and its relative-error limit -------------------

using RunFn = Outputs (*)(Backend&, const OpCase&, bool);
struct OpInfo {
    const char* op;
    RunFn run;
    double tol;  // relative error of every float output; 0: equal
};

constexpr double kTol = 1e-5;  // fp32 vs the float reference (DESIGN.md)

const OpInfo kOps[] = {
    {"bin_dense", run_bin_dense, 0},
    {"packet_entries", run_packet_entries, 0},
    {"conv2d_sparse_fwd", run_sparse_fwd, kTol},
    {"conv2d_sparse_bwd_weight", run_sparse_bwd_weight, kTol},
    {"conv2d_fwd", run_conv_fwd, kTol},
    {"conv2d_bwd_data", run_conv_bwd_data, kTol},
    {"conv2d_bwd_weight", run_conv_bwd_weight, kTol},
    {"maxpool_fwd", run_maxpool_fwd, kTol},
    {"maxpool_bwd", run_maxpool_bwd, kTol},
    {"dense_fwd", run_dense_fwd, kTol},
    {"dense_bwd", run_dense_bwd, kTol},
    {"relu_fwd", run_relu_fwd, kTol},
    {"relu_bwd", run_relu_bwd, kTol},
    {"dropout_fwd", run_dropout_fwd, kTol},
    {"dropout_bwd", run_dropout_bwd, kTol},
    {"xent_fwd", run_xent_fwd, kTol},
    {"xent_bwd", run_xent_bwd, kTol},
    {"xent_step", run_xent_step, kTol},
    {"softmax_fwd", run_softmax_fwd, kTol},
    {"adam", run_adam, kTol},
    {"adam_all", run_adam_all, kTol},
    {"copy", run_copy, 0},
};

// ---- the table ----------------------------------------------------------------------------

std::vector<OpCase> op_cases() {
    std::vector<OpCase> t;
    auto add = [&](const char* op, std::vector<long long> p, std::string name = "") {
        t.push_back({op, std::move(p), std::move(name), {}});
    };
    auto add_conv = [&](const char* op, std::vector<long long> p, const Conv2dCase& cs) {
        t.push_back({op, std::move(p), cs.name, cs.shape});
    };
    // binning, every mode, exact
    for (long long res : {1, 7, 32, 64, 1500}) {
        add("bin_dense", {res, 0}, "edge windows");
        add("bin_dense", {res, 1}, "random windows");
    }
    for (long long res : {1, 7, 32, 300, 1500}) {
        add("packet_entries", {res, 0}, "edge windows");
        add("packet_entries", {res, 1}, "random windows");
    }
    // the tcbench rule: counts capped (255 bites in the crowded edge window, 3 in the hot
    // random ones), its arithmetic (which differs from flowpic's on edges at 1500)
    for (long long res : {1, 7, 32, 64, 1500}) {
        add("bin_dense", {res, 0, 255}, "edge windows, max_count 255");
        add("bin_dense", {res, 1, 3}, "random windows, max_count 3");
        add("bin_dense", {res, 0, 255, 1}, "edge windows, tcbench");
        add("bin_dense", {res, 1, 0, 1}, "random windows, tcbench arithmetic");
        add("packet_entries", {res, 0, 255}, "edge windows, max_count 255");
        add("packet_entries", {res, 1, 3}, "random windows, max_count 3");
        add("packet_entries", {res, 1, 7, 1}, "random windows, tcbench, max_count 7");
    }
    // a time axis shorter than the windows (--time-axis): packets at t >= S left out
    for (long long res : {1, 32, 1500}) {
        add("bin_dense", {res, 0, 0, 0, 1}, "edge windows, time axis 30 s");
        add("bin_dense", {res, 1, 0, 1, 1}, "random windows, tcbench, time axis 30 s");
        add("bin_dense", {res, 1, 3, 0, 1}, "random windows, max_count 3, time axis 30 s");
        add("packet_entries", {res, 0, 0, 0, 1}, "edge windows, time axis 30 s");
        add("packet_entries", {res, 1, 7, 1, 1}, "random windows, tcbench, max_count 7, time axis 30 s");
    }
    // the sparse first layer
    for (const Conv2dCase& cs : conv2d_sparse_test_cases()) {
        add_conv("conv2d_sparse_fwd", {1, 0}, cs);
        add_conv("conv2d_sparse_bwd_weight", {1, 0}, cs);
    }
    const Conv2dCase nulls{"null bias / null db", conv_same(2, 2, 19, 17, 7, 4, 3, 2)};
    add_conv("conv2d_sparse_fwd", {0, 0}, nulls);
    add_conv("conv2d_sparse_bwd_weight", {0, 0}, nulls);
    for (int batch : {1, 16}) {
        const Conv2dCase conv1{"FlowPicNet conv1 from packets", conv_same(batch, 1, 1500, 1500, 10, 10, 10, 5)};
        add_conv("conv2d_sparse_fwd", {1, 3000}, conv1);
        add_conv("conv2d_sparse_bwd_weight", {1, 3000}, conv1);
    }
    const Conv2dCase conv1_2ch{"FlowPicNet conv1 2 channels from packets", conv_same(3, 2, 300, 300, 10, 10, 10, 5)};
    add_conv("conv2d_sparse_fwd", {1, 500}, conv1_2ch);
    add_conv("conv2d_sparse_bwd_weight", {1, 500}, conv1_2ch);
    // dense convolution
    for (const Conv2dCase& cs : conv2d_dense_test_cases()) {
        add_conv("conv2d_fwd", {1, 0}, cs);
        add_conv("conv2d_bwd_data", {0}, cs);
        add_conv("conv2d_bwd_weight", {1, 0}, cs);
    }
    add_conv("conv2d_fwd", {0, 0}, {"null bias", conv_same(2, 3, 19, 17, 7, 4, 3, 2)});
    add_conv("conv2d_bwd_weight", {0, 0}, {"null db", conv_same(2, 3, 19, 17, 7, 4, 3, 2)});
    const Conv2dCase full{"FlowPicNet conv1 at 1500x1500, double oracle", conv_same(1, 1, 1500, 1500, 10, 10, 10, 5)};
    add_conv("conv2d_fwd", {1, 1}, full);
    add_conv("conv2d_bwd_data", {1}, full);
    add_conv("conv2d_bwd_weight", {1, 1}, full);
    // the other layers: the nets' own shapes (FlowPicNet at 1500², LeNet at 32² and 64²),
    // batch 1, odd sizes for every vector tail and tile edge, sizes past one grid of blocks
    for (std::vector<long long> s : std::vector<std::vector<long long>>{
             {2, 10, 300, 300, 0}, {4, 20, 30, 30, 0}, {3, 6, 28, 28, 0}, {2, 3, 7, 9, 0}, {1, 2, 17, 35, 0},
             {1, 1, 1, 5, 0}, {2, 10, 300, 300, 1}, {3, 5, 13, 11, 1}}) {
        add("maxpool_fwd", s);
        add("maxpool_bwd", s);
    }
    for (std::vector<long long> s : std::vector<std::vector<long long>>{
             {128, 4500, 64}, {1, 4500, 64}, {128, 64, 5}, {256, 2704, 120}, {32, 400, 120}, {13, 120, 84},
             {3, 84, 5}, {1, 1, 1}, {7, 17, 19}, {5, 600, 33}, {300, 37, 11}, {1, 400, 120}, {128, 400, 120},
             {1, 84, 5}, {128, 84, 5}, {17, 120, 84}, {3, 17, 7}, {33, 65, 31}, {130, 129, 67}, {5, 64, 5},
             {8, 600, 300}, {3, 513, 7}, {4, 2000, 100}, {1, 1031, 3}}) {
        add("dense_fwd", s);
        add("dense_bwd", s);
    }
    add("dense_bwd", {9, 50, 13, 2}, "dw only");
    add("dense_bwd", {9, 50, 13, 1}, "dx only");
    add("dense_bwd", {128, 4500, 64, 6}, "no dx (first layer)");
    for (std::vector<long long> s : std::vector<std::vector<long long>>{
             {1}, {13}, {128, 20, 30, 30}, {(1 << 18) + 5}, {(1 << 24) + 5}})
        add("relu_fwd", s);
    for (std::vector<long long> s : std::vector<std::vector<long long>>{{7}, {128, 64}, {(1 << 18) + 5}, {(1 << 24) + 5}})
        add("relu_bwd", s);
    for (std::vector<long long> s : std::vector<std::vector<long long>>{
             {1, 50}, {13, 25}, {128 * 64, 50}, {128 * 20 * 30 * 30 + 3, 25}, {1000, 0}, {1000, 90}, {(1 << 24) + 5, 50}})
        add("dropout_fwd", s);
    for (std::vector<long long> s : std::vector<std::vector<long long>>{{13, 25}, {128 * 20 * 30 * 30 + 3, 25}, {1000, 0}})
        add("dropout_bwd", s);
    for (std::vector<long long> s : std::vector<std::vector<long long>>{
             {128, 5, 0}, {128, 5, 1}, {7, 1, 0}, {33, 8, 1}, {9, 21, 1}, {1000, 3, 1}, {1, 5, 1}})
        add("xent_fwd", s);
    for (std::vector<long long> s : std::vector<std::vector<long long>>{{128, 5, 0}, {128, 5, 1}, {33, 8, 0}, {9, 21, 1}})
        add("xent_bwd", s);
    for (std::vector<long long> s : std::vector<std::vector<long long>>{{128, 5, 0}, {128, 5, 1}, {7, 1, 0}, {33, 8, 1}, {1000, 3, 1}})
        add("xent_step", s);
    for (std::vector<long long> s : std::vector<std::vector<long long>>{{1, 1}, {1, 5}, {128, 5}, {33, 21}, {1000, 3}})
        add("softmax_fwd", s);
    for (std::vector<long long> s : std::vector<std::vector<long long>>{
             {1, 1}, {1, 2}, {4500 * 64 + 7, 2}, {61281, 1}, {(1 << 17) + 3, 3}})
        add("adam", s);
    add("adam_all", {2, 1000, 10, 20000, 20, 288000, 64, 320, 5}, "FlowPicNet's parameters");
    add("adam_all", {1, 150, 6, 2400, 16, 48000, 120, 10080, 84, 420, 5}, "LeNet's parameters");
    {
        std::vector<long long> many = {3};  // more tensors than one fused launch takes
        for (int i = 0; i < 37; ++i) many.push_back(1 + (i * 977) % 4099);
        add("adam_all", many, "37 tensors");
    }
    for (long long n : {1, 17, 4500 * 128 + 3}) add("copy", {n});
    return t;
}

const std::vector<OpCase> kCases = op_cases();

// ---- running a row ------------------------------------------------------------------------

Backend& oracle() {
    static std::unique_ptr<Backend> be = make_backend("cpu-scalar");
    return *be;
}

void check_row(Backend& be, const OpCase& c) {
    const OpInfo* op = nullptr;
    for (const OpInfo& o : kOps)
        if (c.op == o.op) op = &o;
    BOOST_TEST_REQUIRE(op != nullptr, "no checker for " << c.op);
    const Outputs got = op->run(be, c, false), want = op->run(oracle(), c, true);
    BOOST_TEST_REQUIRE(got.f.size() == want.f.size());
    BOOST_TEST_REQUIRE(got.bytes.size() == want.bytes.size());
    BOOST_TEST_REQUIRE(got.scalars.size() == want.scalars.size());
    for (size_t i = 0; i < got.f.size(); ++i) {
        const double e = rel_err(got.f[i].second, want.f[i].second);
        BOOST_TEST_MESSAGE(be.name() << " " << c << " " << got.f[i].first << ": rel err " << e);
        BOOST_TEST(e <= op->tol, be.name() << " " << c << " " << got.f[i].first << ": rel err " << e << " > " << op->tol);
    }
    for (size_t i = 0; i < got.bytes.size(); ++i) {
        const auto &a = got.bytes[i].second, &b = want.bytes[i].second;
        size_t diff = a.size() == b.size() ? 0 : std::max(a.size(), b.size());
        for (size_t j = 0; j < std::min(a.size(), b.size()); ++j) diff += a[j] != b[j];
        BOOST_TEST(diff == 0u, be.name() << " " << c << " " << got.bytes[i].first << ": " << diff << " bytes differ");
    }
    for (size_t i = 0; i < got.scalars.size(); ++i) {
        const double e = rel_err_scalar(got.scalars[i].second, want.scalars[i].second);
        BOOST_TEST(e <= op->tol, be.name() << " " << c << " " << got.scalars[i].first << ": " << got.scalars[i].second
                                           << " vs " << want.scalars[i].second);
    }
}

Backend& cpu_avx2() {
    static std::unique_ptr<Backend> be = make_backend("cpu-avx2");
    return *be;
}

Backend& cuda() {
    static std::unique_ptr<Backend> be = make_backend("cuda");
    return *be;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(backend_ops)

BOOST_DATA_TEST_CASE(cpu_avx2_matches_cpu_scalar, bdata::make(kCases), c) {
    BOOST_TEST_REQUIRE(cpu_has_avx2_fma(), "this CPU lacks AVX2/FMA");
    check_row(cpu_avx2(), c);
}

// Every registered op has rows, every row an op.
BOOST_AUTO_TEST_CASE(every_op_has_rows) {
    for (const OpInfo& o : kOps)
        BOOST_TEST(std::any_of(kCases.begin(), kCases.end(), [&](const OpCase& c) { return c.op == o.op; }), o.op);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(backend_ops_cuda, *boost::unit_test::precondition(CudaPresent()))

BOOST_DATA_TEST_CASE(cuda_matches_cpu_scalar, bdata::make(kCases), c) { check_row(cuda(), c); }

BOOST_AUTO_TEST_SUITE_END()
