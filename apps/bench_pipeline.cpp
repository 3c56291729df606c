#include "apps/bench_pipeline.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "apps/bench_timing.h"
#include "apps/device_flag.h"
#include "core/error.h"
#include "kernels/cuda/device.h"
#include "nn/classifier.h"
#include "nn/network.h"
#include "nn/optimizer.h"
#include "synth/random_windows.h"

namespace flowpic {
namespace {

constexpr uint32_t kWindowUs = 15000000;

// n FlowPic-like windows of `packets` packets each (at least 1) over 15 s: per window
// three hot sizes (ACK-like 40..99, near-MTU 1400..1500, one anywhere in 0..1500) take
// 60% of the packets, the rest uniform in 0..1500; times uniform in the window, both
// directions equally likely, sorted by time.
RandomWindows flowpic_like_windows(size_t n, int packets, uint64_t seed) {
    RandomWindowOptions o;
    o.windows = n;
    o.min_packets = o.max_packets = uint32_t(std::max(1, packets));
    o.length_us = kWindowUs;
    o.min_size = 0;
    o.max_size = 1500;
    o.hot_share = 0.6;
    o.hot_count = 3;
    o.client_share = 0.5;
    o.seed = seed;
    return random_windows(o);
}

// Two warm-up calls, then exactly `iters` timed ones.
double median_ms(const std::function<void()>& f, int iters) {
    return 1e3 * time_median(f, TimingPlan{0, size_t(iters), size_t(iters)}).median_s;
}

}  // namespace

void PipelineBench::add_to(CLI::App& app) {
    cmd_ = app.add_subcommand("pipeline", "time packets -> class on a backend: training, batch inference, batch 1");
    cmd_->footer(
        "\nPrints one JSON line per measurement (mode train, infer, b1-graph, b1-eager), the\n"
        "fields of bench/nn_torch_gpu.py, and the same figures as one text line each on stderr.\n"
        "\nExamples:\n"
        "  flowpic-bench pipeline --device cuda                         # FlowPicNet 1500^2\n"
        "  flowpic-bench pipeline --device cuda --arch lenet --resolution 32\n"
        "  flowpic-bench pipeline --device cpu --train-batch 16 --infer-batch 16 --iters 3\n");
    cmd_->add_option("--arch", arch_, "flowpic or lenet")->default_val(arch_)->check(CLI::IsMember({"flowpic", "lenet"}));
    cmd_->add_option("--resolution", resolution_, "image side R")->default_val(resolution_)->check(CLI::Range(16, 1500));
    cmd_->add_option("--train-batch", train_batch_, "images per training step (0 skips training)")
        ->default_val(train_batch_)->check(CLI::Range(0, 65536));
    cmd_->add_option("--infer-batch", infer_batch_, "images per inference batch (0 skips it)")
        ->default_val(infer_batch_)->check(CLI::Range(0, 65536));
    cmd_->add_option("--b1-samples", b1_samples_, "batch-1 windows timed (0 skips them)")->default_val(b1_samples_)->check(number_in(0, 1e6));
    cmd_->add_option("--iters", iters_, "timed training/inference iterations")->default_val(iters_)->check(CLI::Range(1, 100000));
    add_device_flag(cmd_, device_);
    cmd_->add_option("--input", input_, "sparse: conv1 straight from the packets; dense: bin images first")
        ->default_val(input_)->check(CLI::IsMember({"sparse", "dense"}));
    cmd_->add_option("--seed", seed_, "seed of weights, packets, labels and dropout")->default_val(seed_);
}

int PipelineBench::run() {
    const NetSpec spec{parse_arch(arch_), resolution_, 1, 5};
    Network net = make_network(spec);
    net.init_glorot(seed_);
    auto be = make_backend(device_);
    net.to(be->memory());
    net.set_sparse_input(input_ == "sparse");
    const CudaDeviceInfo info = cuda_device_info();
    const std::string device_name = be->memory() == Memory::kDevice ? info.name : "cpu";
    const int packets = std::max(1, int(3000LL * resolution_ / 1500));
    BinningOptions binning;
    binning.resolution = resolution_;
    const nlohmann::json base = {{"tool", "flowpic"}, {"backend", be->name()}, {"device", device_name},
                                 {"arch", arch_}, {"resolution", resolution_}, {"packets_per_image", packets},
                                 {"input", input_}};
    // One JSON line on stdout per measurement, and the same figure in words on stderr.
    auto emit = [&](nlohmann::json j) {
        j.update(base);
        std::printf("%s\n", j.dump().c_str());
        std::fflush(stdout);
        const std::string mode = j["mode"].get<std::string>();
        if (j.contains("images_per_s"))
            std::fprintf(stderr, "%-8s batch %-4d %9.2f ms/batch %10.0f images/s", mode.c_str(), j["batch"].get<int>(),
                         j["ms_per_batch"].get<double>(), j["images_per_s"].get<double>());
        else
            std::fprintf(stderr, "%-8s batch 1    %9.1f us p50 %9.1f us p99", mode.c_str(), j["latency_us"].get<double>(),
                         j["p99_us"].get<double>());
        std::fprintf(stderr, "   (%s, %s %d^2, %s input)\n", be->name().c_str(), arch_.c_str(), resolution_, input_.c_str());
    };

    if (train_batch_ > 0) {
        check_batch_fits(net, *be, train_batch_, true);
        const RandomWindows windows = flowpic_like_windows(size_t(train_batch_), packets, seed_);
        const std::vector<PacketListView> views = windows.views();
        std::mt19937_64 rng(seed_ + 1);
        std::vector<int32_t> labels(static_cast<size_t>(train_batch_));
        for (auto& l : labels) l = int32_t(rng() % 5);
        Adam adam;
        Tensor probs({0}, be->memory()), dlogits({0}, be->memory());
        uint64_t step = 0;
        const PacketBatch batch{views.data(), views.size(), binning};
        auto once = [&] {
            loss_and_gradients(*be, net, batch, labels, nullptr, StepContext{true, seed_ + ++step}, probs, dlogits);
            adam.update(*be, net.params());
            be->synchronize();
        };
        const double ms = median_ms(once, iters_);
        emit({{"mode", "train"}, {"batch", train_batch_}, {"ms_per_batch", ms},
              {"images_per_s", train_batch_ / ms * 1e3}});
    }
    if (infer_batch_ > 0) {
        check_batch_fits(net, *be, infer_batch_, false);
        const RandomWindows windows = flowpic_like_windows(size_t(infer_batch_), packets, seed_ + 2);
        const std::vector<PacketListView> views = windows.views();
        EagerClassifier clf(net, *be, binning);
        std::vector<float> probs(size_t(infer_batch_) * 5);
        const double ms = median_ms([&] { clf.classify(views.data(), views.size(), probs.data()); }, iters_);
        emit({{"mode", "infer"}, {"batch", infer_batch_}, {"ms_per_batch", ms},
              {"images_per_s", infer_batch_ / ms * 1e3}});
    }
    if (b1_samples_ > 0) {
        const RandomWindows windows = flowpic_like_windows(size_t(std::min(b1_samples_, 256)), packets, seed_ + 3);
        const std::vector<PacketListView> views = windows.views();
        ClassifierOptions opts;
        opts.graph_packets = uint32_t(std::max(packets, 1));
        auto graph = make_classifier(net, *be, binning, opts);
        EagerClassifier eager(net, *be, binning);
        for (WindowClassifier* clf : {static_cast<WindowClassifier*>(graph.get()), static_cast<WindowClassifier*>(&eager)}) {
            if (clf == graph.get() && clf->describe() == "eager") continue;  // no graph on this backend
            std::vector<double> us;
            float probs[5];
            for (int i = -5; i < b1_samples_; ++i) {  // 5 untimed warm-ups
                const auto a = std::chrono::steady_clock::now();
                clf->classify(&views[size_t(std::max(i, 0)) % views.size()], 1, probs);
                const double t = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count();
                if (i >= 0) us.push_back(t);
            }
            std::sort(us.begin(), us.end());
            emit({{"mode", clf == graph.get() ? "b1-graph" : "b1-eager"}, {"batch", 1},
                  {"latency_us", us[us.size() / 2]}, {"p99_us", us[std::min(us.size() - 1, us.size() * 99 / 100)]},
                  {"samples", us.size()}});
        }
    }
    return 0;
}

}  // namespace flowpic
