#include "nn/network.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "core/error.h"
#include "kernels/cuda/device_memory.h"
#include "core/rng.h"

namespace flowpic {

const char* arch_name(Arch a) { return a == Arch::kFlowPic ? "flowpic" : "lenet"; }

Arch parse_arch(const std::string& s) {
    if (s == "flowpic") return Arch::kFlowPic;
    if (s == "lenet") return Arch::kLeNet;
    throw UsageError("--arch: invalid value '" + s + "' (expected flowpic or lenet)");
}

Network::Network(const NetSpec& spec) : spec_(spec) {
    if (spec.channels < 1 || spec.classes < 2 || spec.resolution < 1)
        throw std::invalid_argument("network: channels >= 1, classes >= 2 and resolution >= 1 are required");
    auto add = [&](Layer* l) { layers_.emplace_back(l); };
    const int c = spec.channels, k = spec.classes;
    uint64_t dropout_index = 0;
    if (spec.arch == Arch::kFlowPic) {
        add(new Conv2dLayer("conv1", c, 10, 10, 5, Padding::kSameKeras));
        add(new ReluMaxPoolLayer);
        add(new Conv2dLayer("conv2", 10, 20, 10, 5, Padding::kSameKeras));
        add(new ReluLayer);
        add(new DropoutLayer(0.25f, dropout_index++));
        add(new MaxPoolLayer);
        add(new FlattenLayer);
        layers_.emplace_back(nullptr);  // fc1: its input size follows from the shapes below
        add(new ReluLayer);
        add(new DropoutLayer(0.5f, dropout_index++));
        add(new DenseLayer("fc2", 64, k));
    } else {
        add(new Conv2dLayer("conv1", c, 6, 5, 1, Padding::kValid));
        add(new ReluMaxPoolLayer);
        add(new Conv2dLayer("conv2", 6, 16, 5, 1, Padding::kValid));
        add(new ReluLayer);
        add(new DropoutLayer(0.25f, dropout_index++));
        add(new MaxPoolLayer);
        add(new FlattenLayer);
        layers_.emplace_back(nullptr);  // fc1
        add(new ReluLayer);
        add(new DenseLayer("fc2", 120, 84));
        add(new ReluLayer);
        add(new DropoutLayer(0.5f, dropout_index++));
        add(new DenseLayer("fc3", 84, k));
    }
    // Walk the shapes to size fc1 (and to check the resolution works at all).
    Shape s{1, c, spec.resolution, spec.resolution};
    for (auto& l : layers_) {
        if (!l) {
            int fc1_out = spec.arch == Arch::kFlowPic ? 64 : 120;
            l = std::make_unique<DenseLayer>("fc1", int(s[1]), fc1_out);
        }
        try {
            s = l->output_shape(s);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(std::string(arch_name(spec.arch)) + " at resolution " +
                                        std::to_string(spec.resolution) + ": " + e.what() +
                                        (spec.arch == Arch::kFlowPic ? " (FlowPicNet needs R >= 56)" : " (LeNet needs R >= 16)"));
        }
    }
    acts_.resize(layers_.size());
}

void Network::init_glorot(uint64_t seed) {
    uint64_t state = seed;
    for (const Param& p : params()) {
        const Shape& s = p.value->shape();
        if (s.size() == 1) {  // bias
            p.value->zero();
            continue;
        }
        int64_t receptive = s.size() == 4 ? s[2] * s[3] : 1;
        double fan_in = double(s[1] * receptive), fan_out = double(s[0] * receptive);
        double limit = std::sqrt(6.0 / (fan_in + fan_out));
        std::vector<float> host(p.value->size());
        for (float& w : host) {
            double u = double(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
            w = float((2.0 * u - 1.0) * limit);
        }
        p.value->assign(host.data());
    }
}

void Network::to(Memory m) {
    for (auto& l : layers_) l->to(m);
    memory_ = m;
}

size_t Network::bytes_per_image(bool training) const {
    Shape s{1, spec_.channels, spec_.resolution, spec_.resolution};
    size_t floats = size_t(shape_elements(s)), largest = floats;
    for (const auto& l : layers_) {
        s = l->output_shape(s);
        const size_t n = size_t(shape_elements(s));
        floats += n + n / 4;  // the activation, and at most a byte of mask or argmax per element
        largest = std::max(largest, n);
    }
    if (training) floats += 2 * largest;  // the two ping-pong gradient buffers
    return floats * sizeof(float);
}

void Network::check_memory(Backend& be, Memory input) const {
    if (memory_ != be.memory() || input != be.memory())
        throw std::logic_error(std::string("network: backend ") + be.name() + " computes in " + memory_name(be.memory()) +
                               " memory, the parameters are in " + memory_name(memory_) + " and the input in " +
                               memory_name(input) + " memory (call Network::to)");
}

// Layers first.. on `in` (the output of layer first-1, or the net's input).
const Tensor& Network::forward_from(Backend& be, size_t first, const Tensor* in, const StepContext& ctx) {
    for (size_t i = first; i < layers_.size(); ++i) {
        if (i + 1 < layers_.size() && layers_[i]->passthrough(ctx)) continue;  // no copy: the next layer reads `in`
        acts_[i].place(be.memory());
        layers_[i]->forward(be, *in, acts_[i], ctx);
        in = &acts_[i];
    }
    return acts_.back();
}

// Layers from the top down to `last` (inclusive); x is the net's input (layer 0's input),
// needed only when last == 0.  Returns nothing: layer last gets no input gradient when it
// is layer 0, else its dx goes to the ping-pong buffer that layer last-1 reads.
void Network::backward_to(Backend& be, size_t last, const Tensor* x, const Tensor& dlogits) {
    const Tensor* dy = &dlogits;
    Tensor* bufs[2] = {&grad_a_, &grad_b_};
    grad_a_.place(be.memory());
    grad_b_.place(be.memory());
    for (size_t i = layers_.size(); i-- > last;) {
        const Tensor& in = i ? acts_[i - 1] : *x;
        Tensor* dx = i ? bufs[i % 2] : nullptr;  // the input needs no gradient
        layers_[i]->backward(be, in, acts_[i], *dy, dx);
        dy = dx;
    }
}

const Tensor& Network::forward(Backend& be, const Tensor& x, const StepContext& ctx) {
    check_memory(be, x.memory());
    last_was_sparse_ = false;
    return forward_from(be, 0, &x, ctx);
}

void Network::backward(Backend& be, const Tensor& x, const Tensor& dlogits) { backward_to(be, 0, &x, dlogits); }

// conv1 from entries costs about a dense pixel's work per packet (K*K*C_out multiply-adds,
// scattered); from images, a pixel's work per pixel plus the binning.  Entries pay when the
// batch has fewer packets than pixels, with a margin for the scatter.
constexpr uint64_t kEntryCost = 4;

bool Network::uses_sparse_input(const PacketBatch& in) const {
    if (!uses_sparse_input(in.binning)) return false;
    if (input_path_ == InputPath::kSparse) return true;
    uint64_t packets = 0;
    for (size_t i = 0; i < in.n; ++i) packets += axis_view(in.windows[i], in.binning).count;  // what is binned
    return uses_sparse_input(in.binning, packets, in.n);
}

bool Network::uses_sparse_input(const BinningOptions& b, uint64_t packets, size_t n) const {
    if (!uses_sparse_input(b)) return false;
    if (input_path_ == InputPath::kSparse) return true;
    const uint64_t pixels = uint64_t(n) * uint64_t(spec_.resolution) * uint64_t(spec_.resolution);
    return packets * kEntryCost < pixels;
}

const Tensor& Network::forward(Backend& be, const PacketBatch& in, const StepContext& ctx) {
    if (in.n == 0) throw std::invalid_argument("network: empty batch");
    if (in.binning.resolution != spec_.resolution || channels(in.binning) != spec_.channels)
        throw std::invalid_argument("network: binning " + format_options(in.binning) + " does not fit the net's " +
                                    shape_string(input_shape(1)) + " input");
    if (uses_sparse_input(in)) return forward(be, be.packet_entries(in.windows, in.n, in.binning), ctx);
    dense_in_.place(be.memory());
    dense_in_.reshape(input_shape(in.n));
    be.bin_dense(in.windows, in.n, in.binning, dense_in_.data());
    return forward(be, dense_in_, ctx);
}

const Tensor& Network::forward(Backend& be, const Backend::PacketEntries& x, const StepContext& ctx) {
    check_memory(be, be.memory());
    auto* conv1 = dynamic_cast<Conv2dLayer*>(layers_[0].get());
    if (!conv1) throw std::logic_error("network: the first layer is not a convolution");
    acts_[0].place(be.memory());
    conv1->forward_sparse(be, x, input_shape(x.n), acts_[0]);
    sparse_in_ = x;
    last_was_sparse_ = true;
    return forward_from(be, 1, &acts_[0], ctx);
}

void Network::backward(Backend& be, const PacketBatch& in, const Tensor& dlogits) {
    if (!last_was_sparse_) return backward(be, dense_in_, dlogits);
    backward_to(be, 1, nullptr, dlogits);
    // Layer 1 wrote conv1's output gradient into the buffer layer 0 reads: bufs[1 % 2].
    static_cast<Conv2dLayer*>(layers_[0].get())->backward_sparse(be, sparse_in_, input_shape(in.n), grad_b_);
}

std::vector<Param> Network::params() {
    std::vector<Param> out;
    for (auto& l : layers_) l->collect_params(out);
    return out;
}

size_t Network::parameter_count() {
    size_t n = 0;
    for (const Param& p : params()) n += p.value->size();
    return n;
}

std::string Network::summary() const {
    std::string out;
    Shape s{1, spec_.channels, spec_.resolution, spec_.resolution};
    out += "input " + shape_string(s) + "\n";
    for (const auto& l : layers_) {
        s = l->output_shape(s);
        out += "  " + l->describe() + " -> " + shape_string(s) + "\n";
    }
    return out;
}

namespace {

std::string gib_string(double bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / double(1ull << 30));
    return buf;
}

}  // namespace

void check_batch_fits(Network& net, Backend& be, int batch, bool training) {
    if (be.memory() != Memory::kDevice) return;
    size_t free_b = 0, total_b = 0;
    device_memory_info(free_b, total_b);
    const double per_image = double(net.bytes_per_image(training));
    const double fixed = double(net.parameter_count()) * sizeof(float) * (training ? 5 : 1);
    const double usable = double(free_b) * 0.9;  // the driver, the scratch buffers and fragmentation
    const double need = fixed + per_image * double(batch);
    if (need <= usable) return;
    const double fits = (usable - fixed) / per_image;
    throw InputError("--batch " + std::to_string(batch) + " needs " + gib_string(need) + " of device memory, " +
                     gib_string(double(free_b)) + " free: use --batch " +
                     (fits >= 1 ? std::to_string(int64_t(fits)) + " or less" : "1 with a lower --resolution"));
}

}  // namespace flowpic
