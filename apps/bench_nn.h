// flowpic-bench nn: throughput of the dense CPU engine (FlowPicNet or mini-FlowPic LeNet,
// forward or one Adam training step) on random FlowPic-like batches.  The PyTorch
// baseline (bench/nn_torch.py) draws its inputs from the same distribution and prints the
// same JSON fields, so bench/bench_nn.sh can set the two side by side.
#pragma once
#include <cstdint>
#include <string>

#include "apps/bench_mode.h"

namespace flowpic {

class NnBench : public BenchMode {
public:
    void add_to(CLI::App& app) override;
    int run() override;

private:
    std::string arch_ = "flowpic", mode_ = "forward", backend_ = "avx2";
    int resolution_ = 1500, batch_ = 1, iters_ = 20, classes_ = 5;
    double max_seconds_ = 10;
    uint64_t seed_ = 1;
    bool json_ = false;
};

}  // namespace flowpic
