// Sparse-input convolution: the first layer computed straight from a list of pixel
// entries, never from a dense image.  A FlowPic is almost all zeros (1500 x 1500 with a
// few thousand packets), and convolution is linear in x, so conv1 only needs, for each
// entry, the outputs whose window covers it.
//
// Input: a batch of N images in CSR form.  Image i owns entries[offsets[i] .. offsets[i+1])
// (offsets holds N + 1 values).  The entries of an image may come in any order and may
// repeat a pixel; they define the dense input
//     x[i, c, row, col] = sum of e.value over the entries e of image i at (c, row, col)
// (0 where there is none).  An entry with value 0 (a dropped packet) contributes nothing,
// wherever it points.  An entry with channel >= C, row >= H or col >= W is a caller bug:
// the references throw std::invalid_argument for it; the CUDA kernels skip it (they
// never write out of bounds for it).  SparsePixel (kernels/cpu/binning.h) is the entry:
// channel, row, col, reserved (ignored), value.
//
// Semantics are those of kernels/conv2d.h on the densified x (same Conv2dShape, same
// layouts: weights K x C x R x S, bias K, output N x K x P x Q dense, row-major), only the
// order of the floating-point additions differs: each output starts from the bias and
// adds the entries' contributions in entry order.  There is no backward-data: the first
// layer needs no input gradient.
//
// For 'count' binning every packet is one entry of value 1, so packets_to_entries_ref
// turns packet lists into entries with no sort and no merge (duplicates add up).  With a
// cap (max_count) the entries stay one per packet, in place, and a packet past the first
// max_count of its pixel gets value 0: the pixel then sums to min(count, max_count), the
// capped image, and the sparse first layer keeps working on counts capped at 255 (the
// tcbench protocol at 1500 x 1500, where a dense conv1 is what the sparse one avoids).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cpu/binning.h"
#include "kernels/packet_list.h"

namespace flowpic {

// Scalar references, T = float or double (values and weights are used in T).  Plain
// loops over the entries, single-threaded, so the result depends on nothing but the
// inputs.  Every function validates the shape (std::invalid_argument, like validate())
// and the entries, then overwrites its outputs entirely.
//
// y = b + conv(x, w), b may be null (no bias).  y is N x K x P x Q.
template <typename T>
void conv2d_sparse_forward_ref(const Conv2dShape& sh, const SparsePixel* entries,
                               const uint32_t* offsets, const T* w, const T* b, T* y);
// dw = dL/dw (K x C x R x S) and db = dL/db (K, a dense sum of dy over n, p, q) given
// dy = dL/dy, summed over the batch.  db may be null.
template <typename T>
void conv2d_sparse_backward_weight_ref(const Conv2dShape& sh, const SparsePixel* entries,
                                       const uint32_t* offsets, const T* dy, T* dw, T* db);
// The dense N x C x H x W input the entries define (zeroed here, then each entry added),
// for tests and for the dense kernels.
template <typename T>
void sparse_to_dense_ref(const Conv2dShape& sh, const SparsePixel* entries,
                         const uint32_t* offsets, T* x);

// One entry per packet, in packet order, window after window: entries[offsets[b] + i] is
// packet i of window b, offsets (batch + 1 values) the prefix sums of the counts.  A kept
// packet gives {channel, row, col, 0, 1.0f} by packet_pixel() and packet_channel(); a
// dropped one gives {0, 0, 0, 0, 0.0f}; with count_cap(opts) > 0, a kept packet preceded
// (in packet order) by max_count packets of its pixel gives value 0.  Densified
// (C = channels(opts), H = W = opts.resolution) this is exactly bin_dense_ref's image.  Only opts.values == count with
// direction none or channels is linear in the packets: binary or grey throws
// std::invalid_argument; a bad resolution throws UsageError like validate(opts).
void packets_to_entries_ref(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                            std::vector<SparsePixel>& entries, std::vector<uint32_t>& offsets);

}  // namespace flowpic
