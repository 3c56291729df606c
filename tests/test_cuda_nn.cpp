// The whole net on the CUDA backend against the CPU: 20 Adam steps from packet lists
// (binning on the device included) give the same losses to 1e-4 relative; the training
// loop allocates no device memory after its first step; the batch-1 CUDA graph gives the
// eager path's probabilities; running out of device memory and CUDA errors are reported
// with what would fit and where.  Skipped, saying so, without a device.
#ifdef FLOWPIC_CUDA
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "apps/device_flag.h"
#include "core/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/device_memory.h"
#include "nn/backend.h"
#include "nn/classifier.h"
#include "nn/network.h"
#include "nn/optimizer.h"
#include "tests/op_check.h"
#include "tests/random_windows.h"
#include "tests/cuda_available.h"
#include "tests/net_fd_check.h"

using namespace flowpic;

namespace {

struct Run {
    std::vector<double> losses;
    std::vector<std::vector<float>> params;
};

// steps Adam steps on the same batch sequence; the backend decides where they run.
Run train(Backend& be, const NetSpec& spec, const BinningOptions& b, int steps, int batch, const float* class_weights,
          bool sparse) {
    Network net(spec);
    net.init_glorot(7);
    net.to(be.memory());
    net.set_sparse_input(sparse);
    Adam adam;
    Tensor probs, dlogits;
    std::mt19937_64 rng(11);
    Run r;
    for (int s = 0; s < steps; ++s) {
        auto windows = random_windows(size_t(batch), 20 + spec.resolution, 100 + uint64_t(s));
        auto views = views_of(windows);
        std::vector<int32_t> labels(static_cast<size_t>(batch));
        for (auto& l : labels) l = int32_t(rng() % uint64_t(spec.classes));
        StepResult res = loss_and_gradients(be, net, PacketBatch{views.data(), views.size(), b}, labels, class_weights,
                                            StepContext{true, 1000 + uint64_t(s)}, probs, dlogits);
        adam.update(be, net.params());
        r.losses.push_back(res.loss);
    }
    for (const Param& p : net.params()) r.params.push_back(p.value->to_vector());
    return r;
}

struct NetCase {
    Arch arch;
    int resolution;
    Direction direction;
    int batch;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(cuda_nn, *boost::unit_test::precondition(CudaPresent()))

BOOST_AUTO_TEST_CASE(training_matches_the_cpu_over_20_adam_steps) {
    const NetCase cases[] = {{Arch::kLeNet, 32, Direction::none, 16},
                             {Arch::kLeNet, 64, Direction::channels, 8},
                             {Arch::kFlowPic, 100, Direction::none, 8},
                             {Arch::kFlowPic, 300, Direction::channels, 4}};
    const float weights[5] = {0.5f, 1.0f, 2.0f, 1.5f, 0.75f};
    for (const NetCase& c : cases) {
        BinningOptions b;
        b.resolution = c.resolution;
        b.direction = c.direction;
        const NetSpec spec{c.arch, c.resolution, channels(b), 5};
        auto cpu = make_cpu_backend(CpuKind::kScalar);
        auto gpu = make_cuda_backend();
        // The oracle: the scalar CPU kernels on dense images.
        const Run ref = train(*cpu, spec, b, 20, c.batch, weights, false);
        for (bool sparse : {false, true}) {
            const Run got = train(*gpu, spec, b, 20, c.batch, weights, sparse);
            double worst = 0;
            for (size_t s = 0; s < ref.losses.size(); ++s)
                worst = std::max(worst, std::abs(got.losses[s] - ref.losses[s]) / std::abs(ref.losses[s]));
            double worst_param = 0;
            for (size_t i = 0; i < ref.params.size(); ++i)
                worst_param = std::max(worst_param, rel_err(got.params[i], ref.params[i]));
            BOOST_TEST_MESSAGE(arch_name(c.arch) << " " << c.resolution << " " << to_string(c.direction)
                                                 << (sparse ? " sparse conv1" : " dense") << ": worst loss rel. diff "
                                                 << worst << ", parameters after 20 steps " << worst_param);
            BOOST_TEST(worst < 1e-4);
            BOOST_TEST(worst_param < 1e-3);
            // The device run is deterministic: a second run is bit-identical.
            const Run again = train(*gpu, spec, b, 20, c.batch, weights, sparse);
            BOOST_TEST(again.losses == got.losses);
        }
    }
}

// The device's backward pass of the whole net (sparse conv1, every layer, the loss)
// against central differences of the device's own loss (tests/net_fd_check.h).
BOOST_AUTO_TEST_CASE(gradients_match_finite_differences_of_the_device_loss) {
    auto be = make_cuda_backend();
    check_net_gradients_by_finite_differences(*be);
}

BOOST_AUTO_TEST_CASE(the_training_loop_calls_no_cudamalloc_after_its_first_steps) {
    auto be = make_cuda_backend();
    BinningOptions b;
    b.resolution = 100;
    const NetSpec spec{Arch::kFlowPic, 100, 1, 5};
    Network net(spec);
    net.init_glorot(1);
    net.to(Memory::kDevice);
    Adam adam;
    Tensor probs, dlogits;
    auto windows = random_windows(16, 200, 5);
    auto views = views_of(windows);
    std::vector<int32_t> labels(16, 1);
    size_t after_first = 0;
    for (int s = 0; s < 6; ++s) {
        net.set_sparse_input(s % 2 == 0);  // both input paths, each sized once in steps 1 and 2
        loss_and_gradients(*be, net, PacketBatch{views.data(), views.size(), b}, labels, nullptr,
                           StepContext{true, uint64_t(s)}, probs, dlogits);
        adam.update(*be, net.params());
        if (s == 1) after_first = device_arena_stats().cuda_mallocs;
    }
    BOOST_TEST_MESSAGE("cudaMalloc calls: " << device_arena_stats().cuda_mallocs << " (" << after_first
                                            << " after steps 1 and 2)");
    BOOST_TEST(device_arena_stats().cuda_mallocs == after_first);
}

BOOST_AUTO_TEST_CASE(batch1_graph_gives_the_eager_and_cpu_probabilities) {
    for (Arch arch : {Arch::kLeNet, Arch::kFlowPic}) {
        const int res = arch == Arch::kLeNet ? 32 : 1500;
        BinningOptions b;
        b.resolution = res;
        // Binary values (LeNet) take the dense path everywhere; count values (FlowPicNet)
        // take entries in the eager batches and dense binning in the graph.
        b.values = arch == Arch::kLeNet ? ValueMode::binary : ValueMode::count;
        const NetSpec spec{arch, res, 1, 5};
        Network cpu_net(spec), gpu_net(spec);
        cpu_net.init_glorot(3);
        gpu_net.init_glorot(3);
        auto cpu = make_cpu_backend(CpuKind::kScalar);
        auto gpu = make_cuda_backend();
        gpu_net.to(Memory::kDevice);
        ClassifierOptions opts;
        opts.graph_packets = 4096;
        auto graph = make_classifier(gpu_net, *gpu, b, opts);
        BOOST_TEST(graph->describe().find("graph") != std::string::npos);
        EagerClassifier eager(gpu_net, *gpu, b);
        cpu_net.set_sparse_input(false);  // the oracle: scalar kernels on dense images
        EagerClassifier reference(cpu_net, *cpu, b);
        auto windows = random_windows(6, 1500, 9);
        windows.push_back(random_windows(1, 5000, 10)[0]);  // over the graph's capacity: eager fallback
        auto views = views_of(windows);
        for (size_t i = 0; i < views.size(); ++i) {
            std::vector<float> g(5), e(5), r(5);
            graph->classify(&views[i], 1, g.data());
            eager.classify(&views[i], 1, e.data());
            reference.classify(&views[i], 1, r.data());
            BOOST_TEST(rel_err(g, e) < 1e-6, "window " << i << ": graph vs eager " << rel_err(g, e));
            BOOST_TEST(rel_err(g, r) < 1e-5, "window " << i << ": graph vs cpu " << rel_err(g, r));
        }
        // A batch through the eager path, then batch 1 again: the graph is recaptured.
        std::vector<float> batch_probs(views.size() * 5), one(5), ref(5);
        graph->classify(views.data(), views.size(), batch_probs.data());
        graph->classify(&views[2], 1, one.data());
        reference.classify(&views[2], 1, ref.data());
        BOOST_TEST(rel_err(one, ref) < 1e-5);
        BOOST_TEST(rel_err(std::vector<float>(batch_probs.begin() + 10, batch_probs.begin() + 15), ref) < 1e-5);
    }
}

BOOST_AUTO_TEST_CASE(out_of_device_memory_names_the_batch_that_fits) {
    auto be = make_cuda_backend();
    const NetSpec spec{Arch::kFlowPic, 1500, 1, 5};
    Network net(spec);
    net.to(Memory::kDevice);
    try {
        check_batch_fits(net, *be, 1000000, true);
        BOOST_FAIL("a million 1500x1500 images fit?");
    } catch (const InputError& e) {
        const std::string what = e.what();
        BOOST_TEST_MESSAGE(what);
        BOOST_TEST(what.find("--batch 1000000 needs") != std::string::npos);
        BOOST_TEST(what.find("use --batch") != std::string::npos);
    }
    BOOST_CHECK_NO_THROW(check_batch_fits(net, *be, 8, true));
    // The arena itself: an impossible allocation throws with the sizes, and leaves the
    // device usable.
    try {
        device_alloc(size_t(1) << 50);
        BOOST_FAIL("a petabyte allocation succeeded");
    } catch (const DeviceMemoryError& e) {
        BOOST_TEST(std::string(e.what()).find("out of device memory") != std::string::npos);
        BOOST_TEST(e.requested >= (size_t(1) << 50));
    }
    Tensor t({1024}, Memory::kDevice);
    t.zero();
    BOOST_TEST(t.to_vector()[1023] == 0.0f);
}

BOOST_AUTO_TEST_CASE(cuda_errors_are_reported_with_file_and_line) {
    try {
        // An invalid direction: rejected on the host, so no sticky error is left behind.
        Tensor a({16}, Memory::kDevice), b({16}, Memory::kDevice);
        CUDA_CHECK(cudaMemcpy(a.data(), b.data(), 64, static_cast<cudaMemcpyKind>(12345)));
        BOOST_FAIL("an invalid copy succeeded");
    } catch (const CudaError& e) {
        const std::string what = e.what();
        BOOST_TEST_MESSAGE(what);
        BOOST_TEST(what.find("test_cuda_nn.cpp:") != std::string::npos);
        BOOST_TEST(what.find("cudaMemcpy") != std::string::npos);
    }
    cudaGetLastError();  // clear it for the suites after this one
}

BOOST_AUTO_TEST_SUITE_END()

#endif  // FLOWPIC_CUDA
