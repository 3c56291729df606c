#include "nn/optimizer.h"

#include <stdexcept>

#include "core/trace.h"

namespace flowpic {

void Adam::update(Backend& be, const std::vector<Param>& params) {
    if (moments_.empty()) {
        for (const Param& p : params) {
            for (int i = 0; i < 2; ++i) {
                moments_.emplace_back(p.value->shape(), p.value->memory());
                moments_.back().zero();
            }
        }
    }
    if (moments_.size() != 2 * params.size()) throw std::logic_error("Adam: parameter list changed");
    ++step_;
    TraceRange range("adam_update");
    std::vector<Backend::AdamSlot> slots;
    for (size_t i = 0; i < params.size(); ++i) {
        moments_[2 * i].to(be.memory());  // no-op unless a checkpoint loaded them on the host
        moments_[2 * i + 1].to(be.memory());
        slots.push_back({params[i].value->data(), params[i].grad->data(), moments_[2 * i].data(),
                         moments_[2 * i + 1].data(), params[i].value->size()});
    }
    be.adam_step_all(slots.data(), slots.size(), step_, hp_);
}

Backend::XentStep Backend::softmax_xent_step(const float* logits, const int32_t* labels, const float* class_weights,
                                             int n, int k, float* probs, float* dlogits) {
    if (memory() != Memory::kHost) throw std::logic_error(name() + ": softmax_xent_step needs a device override");
    XentStep r;
    r.loss = softmax_xent_forward(logits, labels, class_weights, n, k, probs);
    for (int i = 0; i < n; ++i) {
        const float* p = probs + size_t(i) * size_t(k);
        int best = 0;
        for (int j = 1; j < k; ++j)
            if (p[j] > p[best]) best = j;
        r.correct += best == labels[i];
    }
    softmax_xent_backward(probs, labels, class_weights, n, k, dlogits);
    return r;
}

namespace {

// The loss, the accuracy count and dlogits from the logits of a forward pass just run.
StepResult loss_from_logits(Backend& be, const Tensor& logits, const std::vector<int32_t>& labels,
                            const float* class_weights, Tensor& probs, Tensor& dlogits) {
    const int n = int(logits.dim(0)), k = int(logits.dim(1));
    if (labels.size() != size_t(n)) throw std::invalid_argument("train step: labels and batch differ in size");
    probs.place(be.memory());
    dlogits.place(be.memory());
    probs.reshape(logits.shape());
    dlogits.reshape(logits.shape());
    const Backend::XentStep x =
        be.softmax_xent_step(logits.data(), labels.data(), class_weights, n, k, probs.data(), dlogits.data());
    StepResult r;
    r.loss = x.loss;
    r.correct = x.correct;
    return r;
}

// Forward, loss, backward for either kind of input (dense images or packet lists).
template <typename Input>
StepResult step_on(Backend& be, Network& net, const Input& in, const std::vector<int32_t>& labels,
                   const float* class_weights, const StepContext& ctx, Tensor& probs, Tensor& dlogits) {
    const Tensor* logits;
    {
        TraceRange range("forward");
        logits = &net.forward(be, in, ctx);
    }
    StepResult r = loss_from_logits(be, *logits, labels, class_weights, probs, dlogits);
    TraceRange range("backward");
    net.backward(be, in, dlogits);
    return r;
}

}  // namespace

StepResult loss_and_gradients(Backend& be, Network& net, const Tensor& x, const std::vector<int32_t>& labels,
                              const float* class_weights, const StepContext& ctx, Tensor& probs, Tensor& dlogits) {
    return step_on(be, net, x, labels, class_weights, ctx, probs, dlogits);
}

StepResult loss_and_gradients(Backend& be, Network& net, const PacketBatch& in, const std::vector<int32_t>& labels,
                              const float* class_weights, const StepContext& ctx, Tensor& probs, Tensor& dlogits) {
    return step_on(be, net, in, labels, class_weights, ctx, probs, dlogits);
}

StepResult train_step(Backend& be, Network& net, Adam& opt, const Tensor& x, const std::vector<int32_t>& labels,
                      const float* class_weights, const StepContext& ctx) {
    Tensor probs, dlogits;
    StepResult r = loss_and_gradients(be, net, x, labels, class_weights, ctx, probs, dlogits);
    opt.update(be, net.params());
    return r;
}

}  // namespace flowpic
