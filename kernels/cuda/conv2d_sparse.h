// CUDA sparse-input convolution and the packet -> entry step that feeds it: the same
// semantics as kernels/conv2d_sparse.h (the scalar references are the oracle).  fp32; the
// forward accumulates in fp32, backward-weight (dw, db) in double, rounded once; no floating-point atomics: every result is bit-identical run to run
// (each output and each weight gradient is summed by one thread in a fixed order).
// Launches are asynchronous on `stream`; errors are thrown as CudaError
// (kernels/cuda/check.h), bad shapes as std::invalid_argument before anything is launched.
// Every pointer is a device pointer.  Include only where FLOWPIC_CUDA is defined.
//
// Entries out of range (channel >= C, row >= H, col >= W) are skipped, never written
// through; offsets must not go down (an image whose end is below its start is empty).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/conv2d.h"
#include "kernels/conv2d_sparse.h"
#include "kernels/cpu/binning.h"
#include "kernels/packet_list.h"

namespace flowpic {

// packets_to_entries_ref on the device, for the PackedWindows layout of bin_dense_cuda
// (kernels/cuda/ops.h): window b owns packets[offsets[b] .. offsets[b] + counts[b]),
// length_us[b] its length.  Assumes what pack_windows() produces: offsets[b] is the
// exclusive prefix sum of counts, so the entries are 1:1 with the packets: entries[j] is
// the entry of packets[j] (total_packets of them) and entry_offsets (batch + 1 values) is
// offsets followed by offsets[batch-1] + counts[batch-1].  Same double-precision bin rule
// as bin_dense_cuda, so densified it is bin_dense_ref's image exactly.  With a cap, the
// value of a packet is the reference's (0 once max_count earlier packets of the window
// share its pixel): each thread counts back through the packets of its own column, which
// are contiguous because packets are sorted by time (PacketListView's contract).  Throws
// like the reference: std::invalid_argument for binary or grey, UsageError for a bad
// resolution.
void packets_to_entries_cuda(const WindowPacket* packets, const uint32_t* offsets, const uint32_t* counts,
                             const uint32_t* length_us, size_t batch, size_t total_packets,
                             const BinningOptions& opts, SparsePixel* entries, uint32_t* entry_offsets,
                             cudaStream_t stream = 0);

// y = b + conv(x, w) for the x the entries define.  b may be null.  y (N x K x P x Q) is
// written once, fully: no prior fill is needed.
void conv2d_sparse_forward_cuda(const Conv2dShape& sh, const SparsePixel* entries, const uint32_t* offsets,
                                const float* w, const float* b, float* y, cudaStream_t stream = 0);

// The same with caller-provided scratch: a faster path (a stable bucketing of each image's
// entries by output-row band, then one block per band; the same bits as above).  `scratch`
// holds at least conv2d_sparse_forward_scratch_bytes(sh, total_entries) bytes, any
// alignment, where total_entries >= offsets[N] (the length of the entries array); offsets
// must be nondecreasing.  A null scratch, or a shape for which the size is 0, takes the
// path above (no allocation).
size_t conv2d_sparse_forward_scratch_bytes(const Conv2dShape& sh, size_t total_entries);
void conv2d_sparse_forward_cuda(const Conv2dShape& sh, const SparsePixel* entries, const uint32_t* offsets,
                                const float* w, const float* b, float* y, void* scratch, cudaStream_t stream);

// Floats of scratch conv2d_sparse_backward_weight_cuda needs for this shape (per-image
// partial sums; depends on the shape only).
size_t conv2d_sparse_backward_weight_scratch_floats(const Conv2dShape& sh);
// dw (K x C x R x S) and db (K; may be null), summed over the batch.  `scratch` holds at
// least conv2d_sparse_backward_weight_scratch_floats(sh) floats; null means allocate it
// stream-ordered (cudaMallocAsync) for this call.
void conv2d_sparse_backward_weight_cuda(const Conv2dShape& sh, const SparsePixel* entries, const uint32_t* offsets,
                                        const float* dy, float* dw, float* db, float* scratch,
                                        cudaStream_t stream = 0);

}  // namespace flowpic
