// The net fed from packet lists: conv1 straight from one entry per packet (the sparse
// input path) gives the logits and every gradient of the dense path, where the packets
// are first binned into images; on both CPU backends, for both nets, one and two channels.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "nn/backend.h"
#include "nn/network.h"
#include "nn/optimizer.h"
#include "tests/op_check.h"
#include "tests/random_windows.h"
#include "tests/net_fd_check.h"

using namespace flowpic;

namespace {

struct Result {
    std::vector<float> logits;
    std::vector<std::vector<float>> grads;
    double loss;
};

Result run(Backend& be, const NetSpec& spec, const PacketBatch& in, bool sparse) {
    Network net(spec);
    net.init_glorot(5);
    net.set_sparse_input(sparse);
    std::vector<int32_t> labels(in.n);
    for (size_t i = 0; i < in.n; ++i) labels[i] = int32_t(i % size_t(spec.classes));
    Tensor probs, dlogits;
    Result r;
    r.loss = loss_and_gradients(be, net, in, labels, nullptr, StepContext{true, 3}, probs, dlogits).loss;
    r.logits = net.forward(be, in, StepContext{}).to_vector();
    for (const Param& p : net.params()) r.grads.push_back(p.grad->to_vector());
    return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sparse_input)

BOOST_AUTO_TEST_CASE(sparse_conv1_gives_the_dense_logits_and_gradients) {
    struct Case {
        Arch arch;
        int res;
        Direction dir;
        Normalize norm;
        int batch, packets;
    };
    const Case cases[] = {{Arch::kLeNet, 32, Direction::none, Normalize::span, 6, 60},
                          {Arch::kLeNet, 64, Direction::channels, Normalize::fixed, 4, 100},
                          {Arch::kFlowPic, 100, Direction::none, Normalize::span, 4, 300},
                          {Arch::kFlowPic, 1500, Direction::channels, Normalize::span, 2, 3000}};
    for (const Case& c : cases) {
        BinningOptions b;
        b.resolution = c.res;
        b.direction = c.dir;
        b.normalize = c.norm;
        const NetSpec spec{c.arch, c.res, channels(b), 5};
        auto windows = random_windows(size_t(c.batch), c.packets, uint64_t(c.res));
        const std::vector<PacketListView> views = views_of(windows);
        const PacketBatch in{views.data(), views.size(), b};
        for (CpuKind kind : {CpuKind::kScalar, CpuKind::kAuto}) {
            auto be = make_cpu_backend(kind);
            const Result dense = run(*be, spec, in, false), sparse = run(*be, spec, in, true);
            BOOST_TEST(std::abs(sparse.loss - dense.loss) / dense.loss < 1e-5);
            BOOST_TEST(rel_err(sparse.logits, dense.logits) < 1e-5, be->name() << " " << c.res);
            for (size_t i = 0; i < dense.grads.size(); ++i)
                BOOST_TEST(rel_err(sparse.grads[i], dense.grads[i]) < 1e-5,
                           be->name() << " " << arch_name(c.arch) << " " << c.res << " gradient " << i << ": "
                                      << rel_err(sparse.grads[i], dense.grads[i]));
        }
    }
}

BOOST_AUTO_TEST_CASE(whole_net_gradients_match_finite_differences) {
    auto be = make_cpu_backend();
    check_net_gradients_by_finite_differences(*be);
}

BOOST_AUTO_TEST_CASE(nonlinear_binning_takes_the_dense_path) {
    BinningOptions b;
    BOOST_TEST(sparse_binning_ok(b));
    b.values = ValueMode::binary;
    BOOST_TEST(!sparse_binning_ok(b));
    b.values = ValueMode::count;
    b.direction = Direction::grey;
    BOOST_TEST(!sparse_binning_ok(b));
    // A grey net still trains from packets (dense images), without error.
    b.resolution = 32;
    const NetSpec spec{Arch::kLeNet, 32, 1, 3};
    auto windows = random_windows(3, 40, 1);
    const std::vector<PacketListView> views = views_of(windows);
    auto be = make_cpu_backend();
    const Result r = run(*be, spec, PacketBatch{views.data(), views.size(), b}, true);
    BOOST_TEST(std::isfinite(r.loss));
}

BOOST_AUTO_TEST_CASE(a_batch_binned_for_another_net_is_refused) {
    BinningOptions b;
    b.resolution = 64;
    Network net(NetSpec{Arch::kLeNet, 32, 1, 3});
    auto windows = random_windows(1, 10, 1);
    PacketListView v{windows[0].data(), uint32_t(windows[0].size()), 15000000};
    auto be = make_cpu_backend();
    BOOST_CHECK_THROW(net.forward(*be, PacketBatch{&v, 1, b}, StepContext{}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
