// The two nets, as a sequence of layers, with what training and inference need:
// forward to logits, backward from the loss, the parameter list in PyTorch names.
//
// FlowPicNet (the authors' Keras notebook), input C x R x R:
//   conv1 10@10x10 stride 5 'same' -> relu -> maxpool 2 -> conv2 20@10x10 stride 5 'same'
//   -> relu -> dropout .25 -> maxpool 2 -> flatten -> fc1 64 -> relu -> dropout .5 -> fc2 K
//   Shape rule: side ceil(R/5) -> floor(/2) -> ceil(/5) -> floor(/2) must stay >= 1, i.e.
//   R >= 56; fc1 takes 20*s*s inputs (s = 15 at R = 1500: 4500).
// mini-FlowPic LeNet-5 (IMC'22), input C x R x R:
//   conv1 6@5x5 valid -> relu -> maxpool 2 -> conv2 16@5x5 valid -> relu -> dropout .25 ->
//   maxpool 2 -> flatten -> fc1 120 -> relu -> fc2 84 -> relu -> dropout .5 -> fc3 K
//   Shape rule: ((R-4)/2 - 4)/2 >= 1, i.e. R >= 16; fc1 takes 16*s*s (400 at 32, 2704 at 64).
// In both, the relu -> maxpool after conv1 is one layer (ReluMaxPoolLayer: the same values
// and gradients, one pass less over the largest activation).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/binning.h"
#include "nn/layers.h"

namespace flowpic {

enum class Arch { kFlowPic, kLeNet };
const char* arch_name(Arch a);      // "flowpic", "lenet"
Arch parse_arch(const std::string& s);  // UsageError otherwise

struct NetSpec {
    Arch arch = Arch::kFlowPic;
    int resolution = 1500;
    int channels = 1;
    int classes = 5;
};

// A batch of windows as they reach the net: packet lists and how to bin them.
struct PacketBatch {
    const PacketListView* windows = nullptr;
    size_t n = 0;
    BinningOptions binning;
};

class Network {
public:
    explicit Network(const NetSpec& spec);  // std::invalid_argument when the shape rule fails
    const NetSpec& spec() const { return spec_; }

    // Glorot-uniform weights (Keras' fan-in/fan-out for convolutions), zero biases.
    void init_glorot(uint64_t seed);
    // Moves parameters and gradients to memory m (a CUDA backend computes on device
    // memory); activations follow the backend on the next forward.
    void to(Memory m);
    Memory memory() const { return memory_; }
    // Device bytes one image of a batch needs (activations, their gradients when
    // training, masks): sizes the "largest batch that fits" of an out-of-memory error.
    size_t bytes_per_image(bool training) const;

    // x: N x C x R x R.  Returns the logits N x K (valid until the next call).  Training
    // mode keeps every activation for backward() and draws dropout masks from the seed.
    const Tensor& forward(Backend& be, const Tensor& x, const StepContext& ctx);
    // dlogits: N x K.  Fills every parameter's gradient (summed over the batch).
    void backward(Backend& be, const Tensor& x, const Tensor& dlogits);

    // From packet lists: conv1 straight from one entry per packet when the binning is
    // linear (sparse_binning_ok) and sparse input is on (the default), else from dense
    // images binned on the backend.  Same results either way, to float rounding.
    const Tensor& forward(Backend& be, const PacketBatch& in, const StepContext& ctx);
    // After forward(in) with the same batch.
    void backward(Backend& be, const PacketBatch& in, const Tensor& dlogits);
    // Entries already in the backend's memory (the CUDA graph's own buffers).
    const Tensor& forward(Backend& be, const Backend::PacketEntries& x, const StepContext& ctx);
    // Forces conv1's input path (true: entries whenever the binning allows; false: dense
    // images).  By default the net picks per batch: entries when the batch has few
    // packets for its pixels (sparse_pays), dense images when the images are small and
    // crowded (mini-FlowPic's 32x32 with thousands of packets a window).
    void set_sparse_input(bool on) { input_path_ = on ? InputPath::kSparse : InputPath::kDense; }
    bool uses_sparse_input(const BinningOptions& b) const { return input_path_ != InputPath::kDense && sparse_binning_ok(b); }
    bool uses_sparse_input(const PacketBatch& in) const;
    // The same choice for n windows of `packets` packets in all (after the time axis).
    bool uses_sparse_input(const BinningOptions& b, uint64_t packets, size_t n) const;

    std::vector<Param> params();  // in PyTorch order: conv1.weight, conv1.bias, ...
    size_t parameter_count();
    std::string summary() const;  // one line per layer with output shapes

private:
    NetSpec spec_;
    std::vector<std::unique_ptr<Layer>> layers_;
    std::vector<Tensor> acts_;  // acts_[i] = output of layer i
    Tensor grad_a_, grad_b_;    // ping-pong gradient buffers
    Memory memory_ = Memory::kHost;
    enum class InputPath { kAuto, kSparse, kDense };
    InputPath input_path_ = InputPath::kAuto;
    bool last_was_sparse_ = false;
    Backend::PacketEntries sparse_in_;
    Tensor dense_in_;

    void check_memory(Backend& be, Memory input) const;
    Shape input_shape(size_t n) const { return {int64_t(n), spec_.channels, spec_.resolution, spec_.resolution}; }
    const Tensor& forward_from(Backend& be, size_t first, const Tensor* in, const StepContext& ctx);
    void backward_to(Backend& be, size_t last, const Tensor* x, const Tensor& dlogits);
};

// Throws InputError when `batch` images would not fit in the device's free memory:
// "--batch 100000 needs 812.30 GiB of device memory, 78.90 GiB free: use --batch 9600 or
// less".  Host backends always fit.
void check_batch_fits(Network& net, Backend& be, int batch, bool training);

}  // namespace flowpic
