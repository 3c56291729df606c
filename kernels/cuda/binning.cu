// CUDA binning: a batch of packet lists -> dense C x N x N images (kernels/cpu/binning.h
// is the contract, bin_dense_ref the oracle).  One thread per packet: count mode adds
// with atomicAdd (every add is +1.0f, so the order does not change the float result),
// binary stores 1, grey takes an atomicMax on the float's bits (50 and 200 are positive,
// and positive floats order like their bit patterns), so no mode has a race.
#include <algorithm>

#include "kernels/cuda/check.h"
#include "kernels/cuda/ops.h"

namespace flowpic {

namespace {

constexpr int kBlock = 256;

// Device copies of numpy_bin / packet_pixel (binning.h): the same double operations in
// the same order; the explicit _rn intrinsics keep nvcc from contracting or reordering.
__device__ int numpy_bin_dev(double x, int n) {
    if (!(x >= 0.0 && x <= double(n))) return -1;  // also drops NaN
    int b = int(x);
    return b == n ? n - 1 : b;
}

__global__ void bin_dense_kernel(const WindowPacket* packets, const uint32_t* offsets,
                                 const uint32_t* counts, const uint32_t* length_us,
                                 unsigned batch, int n, int normalize_fixed, int binary,
                                 int direction, float* out) {
    const unsigned b = blockIdx.y;
    if (b >= batch) return;
    const uint32_t count = counts[b];
    const WindowPacket* w = packets + offsets[b];
    // time_axis(): fixed maps [0, length_us] onto the width, span [first, last].
    int64_t t0 = 0, span = 0;
    if (normalize_fixed) {
        span = length_us[b];
    } else if (count > 0) {
        t0 = w[0].t_us;
        span = int64_t(w[count - 1].t_us) - t0;
    }
    const size_t plane = size_t(n) * size_t(n);
    float* img = out + size_t(b) * plane * (direction == int(Direction::channels) ? 2 : 1);
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += gridDim.x * blockDim.x) {
        const WindowPacket p = w[i];
        const int row = numpy_bin_dev(__ddiv_rn(__dmul_rn(double(p.size), double(n)), double(kMtu)), n);
        int col = 0;
        if (span != 0)
            col = numpy_bin_dev(
                __dmul_rn(__ddiv_rn(double(int64_t(p.t_us) - t0), double(span)), double(n)), n);
        if (row < 0 || col < 0) continue;
        const int ch = direction == int(Direction::channels) && p.dir == 0 ? 1 : 0;
        float* px = img + size_t(ch) * plane + size_t(row) * size_t(n) + size_t(col);
        if (direction == int(Direction::grey)) {
            const float v = p.dir == 1 ? 200.0f : 50.0f;  // kGreyUp / kGreyDown
            atomicMax(reinterpret_cast<int*>(px), __float_as_int(v));
        } else if (binary) {
            *px = 1.0f;
        } else {
            atomicAdd(px, 1.0f);
        }
    }
}

}  // namespace

PackedWindows pack_windows(const PacketListView* windows, size_t batch) {
    PackedWindows pw;
    size_t total = 0;
    for (size_t b = 0; b < batch; ++b) total += windows[b].count;
    pw.packets.reserve(total);
    for (size_t b = 0; b < batch; ++b) {
        pw.offsets.push_back(uint32_t(pw.packets.size()));
        pw.counts.push_back(windows[b].count);
        pw.length_us.push_back(windows[b].length_us);
        pw.packets.insert(pw.packets.end(), windows[b].packets,
                          windows[b].packets + windows[b].count);
    }
    return pw;
}

void bin_dense_cuda(const WindowPacket* packets, const uint32_t* offsets, const uint32_t* counts,
                    const uint32_t* length_us, size_t batch, size_t total_packets,
                    const BinningOptions& opts, float* out, cudaStream_t stream) {
    validate(opts);
    if (batch == 0) return;
    CUDA_CHECK(cudaMemsetAsync(out, 0, batch * image_size(opts) * sizeof(float), stream));
    if (total_packets == 0) return;
    // blockIdx.y is the window (at most 65535 per launch); x blocks stride over its
    // packets, sized for the average window (the loop covers longer ones).
    const size_t per_window = (total_packets + batch - 1) / batch;
    const unsigned gx = unsigned(std::min<size_t>((per_window + kBlock - 1) / kBlock, 1024));
    const size_t stride = image_size(opts);
    for (size_t b0 = 0; b0 < batch; b0 += 65535) {
        const unsigned nb = unsigned(std::min<size_t>(batch - b0, 65535));
        bin_dense_kernel<<<dim3(gx, nb), kBlock, 0, stream>>>(
            packets, offsets + b0, counts + b0, length_us + b0, nb, opts.resolution,
            opts.normalize == Normalize::fixed, opts.values == ValueMode::binary,
            int(opts.direction), out + b0 * stride);
        CUDA_CHECK_LAUNCH();
    }
}

}  // namespace flowpic
