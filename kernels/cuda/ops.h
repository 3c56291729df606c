// The CUDA launchers of the net's ops other than conv2d and dense: binning, ReLU,
// maxpool, dropout, softmax + cross-entropy, Adam.  Each reproduces its CPU reference
// (kernels/*.h, kernels/cpu/binning.h) with the same semantics and rounding; those
// headers are the contract, this one only says how the device versions are called.
//
// Every pointer is a device pointer unless said otherwise.  Launches are asynchronous
// on `stream` (the legacy default stream when left out) and checked with
// CUDA_CHECK_LAUNCH; an element count of 0 launches nothing.  Host-side header: include
// it from a .cpp only inside #ifdef FLOWPIC_CUDA.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/adam.h"
#include "kernels/cpu/binning.h"
#include "kernels/packet_list.h"

namespace flowpic {

// ---- binning (binning.cu) -----------------------------------------------------------
// A batch of windows flattened for the device: window b owns
// packets[offsets[b] .. offsets[b] + counts[b]), sorted by t_us, with window length
// length_us[b].  Only this crosses PCIe, never dense images.
struct PackedWindows {
    std::vector<WindowPacket> packets;
    std::vector<uint32_t> offsets, counts, length_us;
    size_t size() const { return counts.size(); }
};
// Host-side packing of PacketListViews (no CUDA call), the one packer every upload uses:
// window b's packets at packets[offsets[b] ..], its count and length beside; returns the
// total packets (the arrays must hold `batch` entries and the packets).  Each window is
// packed as axis_view(window, opts) (kernels/binning.h): with opts.axis_us the device
// sees only the packets on the time axis and length axis_us, so every device binning
// (dense, packets to entries) follows the rule without a kernel knowing of it.
size_t pack_windows_into(const PacketListView* windows, size_t batch, const BinningOptions& opts, uint32_t* offsets,
                         uint32_t* counts, uint32_t* length_us, WindowPacket* packets);
PackedWindows pack_windows(const PacketListView* windows, size_t batch, const BinningOptions& opts);

// out: batch x C x N x N floats (C, N from opts), zeroed here, then the same image as
// bin_dense_ref.  total_packets (the sum of counts) only sizes the grid.  Throws
// UsageError on a bad resolution, like validate().
void bin_dense_cuda(const WindowPacket* packets, const uint32_t* offsets, const uint32_t* counts,
                    const uint32_t* length_us, size_t batch, size_t total_packets,
                    const BinningOptions& opts, float* out, cudaStream_t stream = 0);

// ---- ReLU (relu.cu): kernels/relu.h -------------------------------------------------
void relu_forward_cuda(const float* x, size_t n, float* y, cudaStream_t stream = 0);
void relu_backward_cuda(const float* y, const float* dy, size_t n, float* dx,
                        cudaStream_t stream = 0);

// ---- 2x2/2 max pooling (maxpool2d.cu): kernels/maxpool2d.h --------------------------
void maxpool2d_forward_cuda(const float* x, int n, int c, int h, int w, float* y,
                            uint8_t* argmax, cudaStream_t stream = 0);
// dx (n x c x h x w) is overwritten, odd trailing row/column included.
void maxpool2d_backward_cuda(const float* dy, const uint8_t* argmax, int n, int c, int h, int w,
                             float* dx, cudaStream_t stream = 0);

// ---- dropout (dropout.cu): kernels/dropout.h, same masks as the CPU ------------------
void dropout_forward_cuda(const float* x, size_t n, float rate, uint64_t seed, float* y,
                          uint8_t* mask, cudaStream_t stream = 0);
void dropout_backward_cuda(const float* dy, const uint8_t* mask, size_t n, float rate, float* dx,
                           cudaStream_t stream = 0);

// ---- softmax + cross-entropy (softmax_xent.cu): kernels/softmax_xent.h ---------------
// Doubles of device scratch the forward needs (no allocation inside the launcher).
inline size_t softmax_xent_scratch_size(int n) { return size_t(n > 0 ? n : 0) + 4; }
// Writes probs, returns the mean loss to the host: synchronises `stream`.  The loss is
// summed on the device in the CPU's order (row 0 first), so it matches the reference to
// the rounding of exp/log.  A label outside [0, k) throws InputError, as on the CPU.
// class_weights (k, device) may be nullptr.
double softmax_xent_forward_cuda(const float* logits, const int32_t* labels,
                                 const float* class_weights, int n, int k, float* probs,
                                 double* scratch, cudaStream_t stream = 0);
// Does not synchronise, so it cannot throw on a bad label: such a row gets NaN (the
// forward, always run first on the same labels, has already thrown).
void softmax_xent_backward_cuda(const float* probs, const int32_t* labels,
                                const float* class_weights, int n, int k, float* dlogits,
                                cudaStream_t stream = 0);
// A training step's head in one pass (Backend::softmax_xent_step): probs, dlogits, and the
// mean loss with the count of rows whose argmax (first of equal maxima, as on the host) is
// their label, handed to the host in one copy; synchronises `stream` once.  Labels and
// class weights are device memory, uploaded once by the caller for both halves.
double softmax_xent_step_cuda(const float* logits, const int32_t* labels, const float* class_weights,
                              int n, int k, float* probs, float* dlogits, double* scratch,
                              size_t* correct, cudaStream_t stream = 0);

// ---- Adam (adam.cu): kernels/adam.h, one flat array (put every parameter in one) -----
void adam_step_cuda(float* p, const float* g, float* m, float* v, size_t n, int64_t step,
                    const AdamParams& hp, cudaStream_t stream = 0);
// The same step over up to kMax tensors in one launch (the whole net: "fused Adam").
struct AdamTensorList {
    static constexpr int kMax = 16;
    int count = 0;
    float* p[kMax];
    const float* g[kMax];
    float* m[kMax];
    float* v[kMax];
    size_t n[kMax];
};
void adam_step_multi_cuda(const AdamTensorList& list, int64_t step, const AdamParams& hp,
                          cudaStream_t stream = 0);

// ---- softmax for inference (softmax_xent.cu): nn/evaluate.h's softmax_rows ----------
// probs[r] = exp(l - max) / sum in double, rounded to float, like softmax_rows.
void softmax_rows_cuda(const float* logits, int n, int k, float* probs, cudaStream_t stream = 0);

}  // namespace flowpic
