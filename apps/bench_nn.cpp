#include "apps/bench_nn.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "apps/bench_timing.h"
#include "core/error.h"
#include "nn/backend.h"
#include "nn/network.h"
#include "nn/optimizer.h"
#include "nn/tensor.h"

namespace flowpic {
namespace {

// Fills x (N x 1 x R x R) like tests/flowpic_torch.py's sparse_flowpics: per image,
// `packets` packet counts (1..3 each), 60% of them on three "hot" packet-size rows (ACKs,
// full segments; +-1 row), the rest anywhere, columns uniform.  Timing a dense engine
// hardly depends on the values, but zeros or denormals could flatter it, so the inputs
// look like real FlowPics.  At least one packet per image: never an all-zero batch.
void random_flowpics(Tensor& x, int packets, uint64_t seed) {
    std::mt19937_64 rng(seed);
    const int n = int(x.dim(0)), side = int(x.dim(2));
    const size_t plane = size_t(side) * side;
    x.zero();
    for (int i = 0; i < n; ++i) {
        float* img = x.data() + size_t(i) * plane;
        const int hot[3] = {int(rng() % side), int(rng() % side), int(rng() % side)};
        for (int k = 0; k < std::max(1, packets); ++k) {
            int row = rng() % 10 < 6 ? hot[rng() % 3] : int(rng() % side);
            row = std::clamp(row + int(rng() % 3) - 1, 0, side - 1);
            img[size_t(row) * side + rng() % side] += float(1 + rng() % 3);
        }
    }
}

}  // namespace

void NnBench::add_to(CLI::App& app) {
    cmd_ = app.add_subcommand("nn", "time the dense CPU engine: forward or Adam training step, per batch");
    cmd_->footer(
        "\nInputs: random FlowPic-like images (packet counts, ~3,000 packets per 1500^2 image,\n"
        "proportionally fewer along the side at smaller R: 64 at 32^2).  One or two warm-up\n"
        "iterations, then the median of --iters iterations (fewer when --max-seconds runs out,\n"
        "at least 3).  OpenMP threads: OMP_NUM_THREADS (default: all cores).  The PyTorch\n"
        "baseline is bench/nn_torch.py; bench/bench_nn.sh runs both.\n"
        "\nExamples:\n"
        "  flowpic-bench nn --arch flowpic --resolution 1500 --batch 1 --mode forward\n"
        "  flowpic-bench nn --arch flowpic --resolution 1500 --batch 32 --mode train --iters 5\n"
        "  flowpic-bench nn --arch lenet --resolution 32 --batch 256 --json\n"
        "  flowpic-bench nn --arch lenet --resolution 32 --batch 128 --mode train --backend scalar\n");
    cmd_->add_option("--arch", arch_, "flowpic or lenet")->default_val(arch_)->check(CLI::IsMember({"flowpic", "lenet"}));
    cmd_->add_option("--resolution", resolution_, "image side R")->default_val(resolution_)->check(CLI::Range(16, 4096));
    cmd_->add_option("--batch", batch_, "images per batch")->default_val(batch_)->check(CLI::Range(1, 4096));
    cmd_->add_option("--mode", mode_, "forward (inference) or train (forward, loss, backward, Adam)")
        ->default_val(mode_)->check(CLI::IsMember({"forward", "train"}));
    cmd_->add_option("--iters", iters_, "timed iterations, at most")->default_val(iters_)->check(CLI::Range(1, 100000));
    cmd_->add_option("--max-seconds", max_seconds_, "stop timing after this long (once 3 iterations ran)")
        ->default_val(max_seconds_)->check(positive(86400));
    cmd_->add_option("--backend", backend_, "avx2 or scalar (the reference)")
        ->default_val(backend_)->check(CLI::IsMember({"avx2", "scalar"}));
    cmd_->add_option("--classes", classes_, "classes K")->default_val(classes_)->check(CLI::Range(2, 1000));
    cmd_->add_option("--seed", seed_, "seed of weights, inputs, labels and dropout")->default_val(seed_);
    cmd_->add_flag("--json", json_, "print one JSON object on stdout instead of the text line");
}

int NnBench::run() {
    const NetSpec spec{parse_arch(arch_), resolution_, 1, classes_};
    Network net = make_network(spec);
    net.init_glorot(seed_);
    auto be = make_cpu_backend(backend_ == "scalar" ? CpuKind::kScalar : CpuKind::kAvx2);
    const int packets = std::max(1, int(3000LL * resolution_ / 1500));
    Tensor x({batch_, 1, resolution_, resolution_});
    random_flowpics(x, packets, seed_);
    std::mt19937_64 rng(seed_ + 1);
    std::vector<int32_t> labels(static_cast<size_t>(batch_));
    for (auto& l : labels) l = int32_t(rng() % uint64_t(classes_));

    const bool train = mode_ == "train";
    Adam adam;  // Keras defaults: lr 1e-3, eps 1e-7 (nn_torch.py matches them)
    uint64_t step = 0;
    double sink = 0;  // reads the logits so nothing is optimised away
    auto once = [&] {
        if (train) {
            sink += train_step(*be, net, adam, x, labels, nullptr, StepContext{true, seed_ + ++step}).loss;
        } else {
            sink += net.forward(*be, x, kInference)[0];
        }
    };
    // Warm-up (scratch buffers, Adam state, page faults): two calls, or one when a call
    // takes over a second (FlowPicNet 1500^2 at batch 32).  Then up to iters_ timed calls,
    // stopping at max_seconds_ once 3 ran, so slow cases fit a bench section's budget.
    const Timing t = time_median(once, TimingPlan{max_seconds_, 3, size_t(iters_), true});
    const double median = t.median_s;

    const nlohmann::json r = {{"tool", "flowpic"}, {"backend", be->name()}, {"arch", arch_},
                              {"resolution", resolution_}, {"batch", batch_}, {"mode", mode_},
                              {"threads", omp_get_max_threads()}, {"packets_per_image", packets},
                              {"iters", t.runs}, {"ms_per_batch", 1e3 * median},
                              {"images_per_s", double(batch_) / median}, {"check", sink}};
    if (json_)
        std::printf("%s\n", r.dump().c_str());
    else
        std::printf("%s %s %d^2 batch %d %s: %.3f ms/batch, %.1f images/s (median of %zu, %d threads)\n",
                    be->name().c_str(), arch_.c_str(), resolution_, batch_, mode_.c_str(), 1e3 * median,
                    double(batch_) / median, t.runs, omp_get_max_threads());
    return 0;
}

}  // namespace flowpic
