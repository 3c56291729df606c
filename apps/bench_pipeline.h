// flowpic-bench pipeline: the whole engine from packet lists, on any backend (--device):
//   train   images/s of one training step at --train-batch: the batch's packet lists
//           uploaded (on CUDA), turned into conv1's input on the backend (--input sparse:
//           one entry per packet; dense: binned images), forward, softmax-cross-entropy,
//           backward, fused Adam.
//   infer   images/s at --infer-batch: binning, forward, softmax, probabilities on the host.
//   b1      packets-to-class latency of one window (binning, forward, softmax, download),
//           p50/p99; on CUDA through the captured graph and, for comparison, eagerly.
// The windows (synth/random_windows.h) are FlowPic-like packet lists: ~3,000 packets per
// window at 1500^2 (fewer in proportion to the side at smaller R), 60% of them on three
// "hot" sizes, times uniform in a 15 s window; bench/nn_torch_gpu.py times PyTorch on the
// same nets from dense images already on the device (it has no packets-to-image path),
// which leaves the binning and the upload on our side of the comparison only.
// Each figure is the median of timed runs after a warm-up, timed on the host after the
// result is back (training reads the loss every step), so it covers everything a user waits for.
#pragma once
#include <cstdint>
#include <string>

#include "apps/bench_mode.h"

namespace flowpic {

class PipelineBench : public BenchMode {
public:
    void add_to(CLI::App& app) override;
    int run() override;

private:
    std::string arch_ = "flowpic", device_ = "auto", input_ = "sparse";
    int resolution_ = 1500, train_batch_ = 128, infer_batch_ = 256, b1_samples_ = 200, iters_ = 20;
    uint64_t seed_ = 1;
};

}  // namespace flowpic
