// Adam with Keras semantics (kernels/adam.h has the exact update), its moment state kept
// per parameter, and one training step: forward, fused softmax-cross-entropy, backward,
// update.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/adam.h"
#include "nn/backend.h"
#include "nn/network.h"
#include "nn/tensor.h"

namespace flowpic {

class Adam {
public:
    explicit Adam(AdamParams hp = {}) : hp_(hp) {}
    // One update of every parameter from its gradient.  State is created on first use.
    void update(Backend& be, const std::vector<Param>& params);
    int64_t step() const { return step_; }
    const AdamParams& hyper() const { return hp_; }
    // For checkpoints: the moments in parameter order (m then v per parameter).
    std::vector<Tensor>& moments() { return moments_; }
    void set_step(int64_t s) { step_ = s; }

private:
    AdamParams hp_;
    int64_t step_ = 0;
    std::vector<Tensor> moments_;  // 2 per parameter: m, v
};

struct StepResult {
    double loss = 0;
    size_t correct = 0;  // argmax(logits) == label
};

// Loss and gradients for a batch without updating (x: N x C x R x R, labels: N).
// class_weights: K values or nullptr.  probs receives the softmax output (N x K).
StepResult loss_and_gradients(Backend& be, Network& net, const Tensor& x, const std::vector<int32_t>& labels,
                              const float* class_weights, const StepContext& ctx, Tensor& probs, Tensor& dlogits);

// The same from packet lists (the net bins them on the backend; see Network::forward).
StepResult loss_and_gradients(Backend& be, Network& net, const PacketBatch& in, const std::vector<int32_t>& labels,
                              const float* class_weights, const StepContext& ctx, Tensor& probs, Tensor& dlogits);

// One Adam step on a batch; returns the loss before the update.
StepResult train_step(Backend& be, Network& net, Adam& opt, const Tensor& x, const std::vector<int32_t>& labels,
                      const float* class_weights, const StepContext& ctx);

}  // namespace flowpic
