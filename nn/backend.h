// The op interface every layer calls (DESIGN.md, "the backend pattern").  Pointers are
// in the backend's memory (memory(): host for the CPU backends, device for CUDA) except
// where a comment says host; shapes and semantics are those of the kernels/<op>.h
// headers, where each op is documented once.  A CUDA backend runs its ops in order on one
// stream: a call returns before the device is done unless it hands a result to the host.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/adam.h"
#include "kernels/conv2d.h"
#include "kernels/cpu/binning.h"
#include "kernels/packet_list.h"
#include "nn/tensor.h"

namespace flowpic {

class Network;
class WindowClassifier;

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;
    // A batch-1 classifier that replays one captured graph (nn/classifier.h), or nullptr
    // where the backend has none (the CPU).  `max_packets`: the graph's packet capacity.
    virtual std::unique_ptr<WindowClassifier> batch1_graph(Network& net, const BinningOptions& binning,
                                                           uint32_t max_packets);
    virtual Memory memory() const { return Memory::kHost; }
    // Waits until every op issued so far has finished (host backends: nothing to wait for).
    virtual void synchronize() {}

    // The packet lists of `n` windows (host memory) binned into n images in the backend's
    // memory (kernels/cpu/binning.h's rule): on a device only the packets cross the bus.
    virtual void bin_dense(const PacketListView* windows, size_t n, const BinningOptions& opts, float* out) = 0;
    virtual void copy(float* dst, const float* src, size_t n) = 0;

    // The sparse first layer (kernels/conv2d_sparse.h): the windows as one entry per
    // packet in the backend's memory, valid until the next packet_entries call; only for
    // binning that is linear in the packets (sparse_binning_ok).
    struct PacketEntries {
        const SparsePixel* entries = nullptr;
        const uint32_t* offsets = nullptr;  // n + 1
        size_t n = 0;
        size_t capacity = 0;  // entries in the array (>= offsets[n]): sizes device scratch
    };
    virtual PacketEntries packet_entries(const PacketListView* windows, size_t n, const BinningOptions& opts) = 0;
    virtual void conv2d_sparse_forward(const Conv2dShape& s, const PacketEntries& x, const float* w, const float* b,
                                       float* y) = 0;
    virtual void conv2d_sparse_backward_weight(const Conv2dShape& s, const PacketEntries& x, const float* dy, float* dw,
                                               float* db) = 0;

    virtual void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) = 0;
    virtual void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) = 0;
    virtual void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw, float* db) = 0;
    virtual void maxpool2d_forward(const float* x, int n, int c, int h, int w, float* y, uint8_t* argmax) = 0;
    virtual void maxpool2d_backward(const float* dy, const uint8_t* argmax, int n, int c, int h, int w, float* dx) = 0;
    virtual void dense_forward(const float* x, const float* w, const float* b, int n, int in, int out, float* y) = 0;
    virtual void dense_backward(const float* x, const float* w, const float* dy, int n, int in, int out, float* dx,
                                float* dw, float* db) = 0;
    virtual void relu_forward(const float* x, size_t n, float* y) = 0;
    virtual void relu_backward(const float* y, const float* dy, size_t n, float* dx) = 0;
    virtual void dropout_forward(const float* x, size_t n, float rate, uint64_t seed, float* y, uint8_t* mask) = 0;
    virtual void dropout_backward(const float* dy, const uint8_t* mask, size_t n, float rate, float* dx) = 0;
    // labels and class_weights (which may be null) are host memory in both xent calls;
    // the forward hands the loss to the host (a device backend synchronises).
    virtual double softmax_xent_forward(const float* logits, const int32_t* labels, const float* class_weights, int n,
                                        int k, float* probs) = 0;
    virtual void softmax_xent_backward(const float* probs, const int32_t* labels, const float* class_weights, int n,
                                       int k, float* dlogits) = 0;
    // A training step's head in one op: probs, dlogits, the mean loss and the count of rows
    // whose argmax (the first of equal maxima) is their label.  Labels and class weights
    // (host memory) cross to a device once, and loss and count come back in one copy.
    // Host backends: the forward, the count from probs, the backward (nn/optimizer.cpp).
    struct XentStep {
        double loss = 0;
        size_t correct = 0;
    };
    virtual XentStep softmax_xent_step(const float* logits, const int32_t* labels, const float* class_weights, int n,
                                       int k, float* probs, float* dlogits);
    virtual void adam_step(float* p, const float* g, float* m, float* v, size_t n, int64_t step,
                           const AdamParams& hp) = 0;
    // One step over every parameter tensor (a device backend fuses them into one launch).
    struct AdamSlot {
        float* p;
        const float* g;
        float* m;
        float* v;
        size_t n;
    };
    virtual void adam_step_all(const AdamSlot* slots, size_t count, int64_t step, const AdamParams& hp) {
        for (size_t i = 0; i < count; ++i) adam_step(slots[i].p, slots[i].g, slots[i].m, slots[i].v, slots[i].n, step, hp);
    }
    // Row softmax for inference (nn/evaluate.h's softmax_rows).
    virtual void softmax_forward(const float* logits, int n, int k, float* probs) = 0;
};

// Count binning without grey is linear in the packets: a packet is an entry of value 1
// (with a count cap, 0 once its pixel has had max_count packets before it).
inline bool sparse_binning_ok(const BinningOptions& b) {
    return b.values == ValueMode::count && b.direction != Direction::grey;
}

// CPU backends: the scalar reference (the oracle), AVX2/FMA + OpenMP, or `auto`: AVX2
// when the CPU has it and FLOWPIC_CPU is not "scalar".
enum class CpuKind { kAuto, kScalar, kAvx2 };
std::unique_ptr<Backend> make_cpu_backend(CpuKind kind = CpuKind::kAuto);

// The CUDA backend on device 0 (nn/cuda_backend.cpp): our kernels on one stream, device
// tensors from the caching arena.  Throws InputError naming the reason when the build has
// no CUDA or there is no usable device.
std::unique_ptr<Backend> make_cuda_backend();
// The same, or nullptr (with the reason in *why_none when given) instead of throwing.
std::unique_ptr<Backend> try_make_cuda_backend(std::string* why_none = nullptr);

// What --device accepts: "cpu" (AVX2 when the CPU has it), "cpu-scalar", "cpu-avx2",
// "cuda", or "auto" (cuda when a usable device is present, else cpu).
std::unique_ptr<Backend> make_backend(const std::string& device);

}  // namespace flowpic
