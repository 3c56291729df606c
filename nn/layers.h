// The layers of FlowPicNet and mini-FlowPic: small types that each own their parameters,
// gradients and what their backward pass needs (no "layer god struct").  Every op runs
// through the Backend, so a layer never knows which implementation computes it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/conv2d.h"
#include "nn/backend.h"
#include "nn/tensor.h"

namespace flowpic {

struct StepContext {
    bool training = false;      // dropout active
    uint64_t dropout_seed = 0;  // per step; each layer mixes in its own index
    bool inference = false;     // no backward follows: layers that only copy are skipped
};
// Forward passes for predictions only.
inline constexpr StepContext kInference{false, 0, true};

struct Param {
    std::string name;  // PyTorch name: conv1.weight, fc1.bias, ...
    Tensor* value;
    Tensor* grad;
};

class Layer {
public:
    virtual ~Layer() = default;
    virtual std::string describe() const = 0;
    virtual Shape output_shape(const Shape& in) const = 0;  // throws std::invalid_argument
    virtual void forward(Backend& be, const Tensor& x, Tensor& y, const StepContext& ctx) = 0;
    // dy: gradient of the loss w.r.t. y; fills parameter gradients (overwritten, summed
    // over the batch) and dx unless it is null (the first layer needs no input gradient).
    virtual void backward(Backend& be, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) = 0;
    virtual void collect_params(std::vector<Param>& /*out*/) {}
    // Moves the parameters, gradients and state to memory m (Network::to).
    virtual void to(Memory /*m*/) {}
    // True when forward would only copy its input (dropout and flatten, when ctx.inference
    // says no backward follows): the net then skips the copy.
    virtual bool passthrough(const StepContext& /*ctx*/) const { return false; }
};

enum class Padding { kSameKeras, kValid };

class Conv2dLayer final : public Layer {
public:
    Conv2dLayer(std::string name, int in_channels, int filters, int kernel, int stride, Padding pad);
    std::string describe() const override;
    Shape output_shape(const Shape& in) const override;
    void forward(Backend& be, const Tensor& x, Tensor& y, const StepContext& ctx) override;
    void backward(Backend& be, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
    void collect_params(std::vector<Param>& out) override;
    void to(Memory m) override;
    // As the first layer, straight from packet entries (kernels/conv2d_sparse.h); `in` is
    // the dense input shape the entries stand for.  No input gradient.
    void forward_sparse(Backend& be, const Backend::PacketEntries& x, const Shape& in, Tensor& y);
    void backward_sparse(Backend& be, const Backend::PacketEntries& x, const Shape& in, const Tensor& dy);

private:
    Conv2dShape shape_for(const Shape& in) const;
    std::string name_;
    int c_, k_, r_, stride_;
    Padding pad_;
    Tensor w_, b_, dw_, db_;
};

class DenseLayer final : public Layer {
public:
    DenseLayer(std::string name, int in, int out);
    std::string describe() const override;
    Shape output_shape(const Shape& in) const override;
    void forward(Backend& be, const Tensor& x, Tensor& y, const StepContext& ctx) override;
    void backward(Backend& be, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
    void collect_params(std::vector<Param>& out) override;
    void to(Memory m) override;

private:
    std::string name_;
    int in_, out_;
    Tensor w_, b_, dw_, db_;
};

class ReluLayer final : public Layer {
public:
    std::string describe() const override { return "relu"; }
    Shape output_shape(const Shape& in) const override { return in; }
    void forward(Backend& be, const Tensor& x, Tensor& y, const StepContext& ctx) override;
    void backward(Backend& be, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

class MaxPoolLayer final : public Layer {  // 2x2, stride 2, floor (Keras MaxPooling2D)
public:
    std::string describe() const override { return "maxpool 2x2"; }
    Shape output_shape(const Shape& in) const override;
    void forward(Backend& be, const Tensor& x, Tensor& y, const StepContext& ctx) override;
    void backward(Backend& be, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;

private:
    ByteBuffer argmax_;
};

// ReLU then 2x2/2 max pooling in one pass over the large tensor: pool first, then ReLU on
// the pooled quarter (max and ReLU commute).  Same values and gradients as ReluLayer +
// MaxPoolLayer, bit for bit (where a window's max is <= 0 both give it a zero gradient),
// without writing and re-reading a ReLU'd copy of conv1's output.
class ReluMaxPoolLayer final : public Layer {
public:
    std::string describe() const override { return "relu + maxpool 2x2"; }
    Shape output_shape(const Shape& in) const override { return pool_.output_shape(in); }
    void forward(Backend& be, const Tensor& x, Tensor& y, const StepContext& ctx) override;
    void backward(Backend& be, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;

private:
    MaxPoolLayer pool_;
    Tensor dpool_;  // the gradient at the pooled output, after ReLU's mask
};

class DropoutLayer final : public Layer {
public:
    DropoutLayer(float rate, uint64_t layer_index) : rate_(rate), index_(layer_index) {}
    std::string describe() const override;
    Shape output_shape(const Shape& in) const override { return in; }
    void forward(Backend& be, const Tensor& x, Tensor& y, const StepContext& ctx) override;
    void backward(Backend& be, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
    bool passthrough(const StepContext& ctx) const override { return ctx.inference && (!ctx.training || rate_ <= 0); }

private:
    float rate_;
    uint64_t index_;
    bool active_ = false;
    ByteBuffer mask_;
};

class FlattenLayer final : public Layer {  // N x C x H x W -> N x (C*H*W), C,H,W order
public:
    std::string describe() const override { return "flatten"; }
    Shape output_shape(const Shape& in) const override;
    bool passthrough(const StepContext& ctx) const override { return ctx.inference; }  // dense reads NCHW as N x CHW
    void forward(Backend& be, const Tensor& x, Tensor& y, const StepContext& ctx) override;
    void backward(Backend& be, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

}  // namespace flowpic
