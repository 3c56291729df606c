// CUDA binning: a batch of packet lists -> dense C x N x N images, or -> one conv1 entry
// per packet (packets_to_entries_cuda, kernels/cuda/conv2d_sparse.h).  Both call the rule
// of kernels/binning.h; kernels/cpu/binning.h is the contract, bin_dense_ref the oracle.  One thread per packet: count mode adds
// with atomicAdd (every add is +1.0f, so the order does not change the float result),
// binary stores 1, grey takes an atomicMax on the float's bits (50 and 200 are positive,
// and positive floats order like their bit patterns), so no mode has a race.  The count
// cap (max_count) is a second pass over the images, min(v, cap), after every add: the
// reference's order (count, then cap).
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/binning.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/conv2d_sparse.h"
#include "kernels/cuda/ops.h"

namespace flowpic {

namespace {

constexpr int kBlock = 256;

__global__ void bin_dense_kernel(const WindowPacket* packets, const uint32_t* offsets,
                                 const uint32_t* counts, const uint32_t* length_us,
                                 unsigned batch, int n, int normalize_fixed, int binary,
                                 int direction, BinArith arith, float* out) {
    const unsigned b = blockIdx.y;
    if (b >= batch) return;
    const uint32_t count = counts[b];
    const WindowPacket* w = packets + offsets[b];
    // The rule of kernels/binning.h, the same code as on the host.
    const TimeAxis axis = time_axis(w, count, length_us[b], normalize_fixed ? Normalize::fixed : Normalize::span);
    const size_t plane = size_t(n) * size_t(n);
    float* img = out + size_t(b) * plane * (direction == int(Direction::channels) ? 2 : 1);
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count;
         i += gridDim.x * blockDim.x) {
        const WindowPacket p = w[i];
        int row, col;
        if (!packet_pixel(p, axis, n, arith, row, col)) continue;
        const int ch = packet_channel(p, Direction(direction));
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

// The cap after counting: every value above cap becomes cap.
__global__ void cap_counts_kernel(float* img, size_t n, float cap) {
    for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
        img[i] = fminf(img[i], cap);
}

// One thread per packet, windows along y as in bin_dense_kernel; the bin is
// packet_pixel's (kernels/binning.h), the same code as on the host.  With a cap, a packet
// whose pixel already had `cap` packets before it (in packet order) gives value 0, as in
// packets_to_entries_ref; those packets all lie in the run of its column just before it
// (times are sorted, and the column never decreases with time), so the count stops at
// the first packet of another column.
__global__ void packets_to_entries_kernel(const WindowPacket* __restrict__ packets,
                                          const uint32_t* __restrict__ offsets, const uint32_t* __restrict__ counts,
                                          const uint32_t* __restrict__ length_us, unsigned nb, int last_chunk, int n,
                                          int normalize_fixed, int two_channels, BinArith arith, uint32_t cap,
                                          SparsePixel* __restrict__ entries,
                                          uint32_t* __restrict__ entry_offsets) {
    const unsigned b = blockIdx.y;
    if (b >= nb) return;
    const uint32_t count = counts[b], first = offsets[b];
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        entry_offsets[b] = first;
        if (last_chunk && b == nb - 1) entry_offsets[nb] = first + count;
    }
    const WindowPacket* w = packets + first;
    const TimeAxis axis = time_axis(w, count, length_us[b], normalize_fixed ? Normalize::fixed : Normalize::span);
    for (uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < count; i += gridDim.x * blockDim.x) {
        const WindowPacket p = w[i];
        int row, col;
        SparsePixel out{0, 0, 0, 0, 0.0f};  // dropped: contributes nothing
        const Direction dir = two_channels ? Direction::channels : Direction::none;
        if (packet_pixel(p, axis, n, arith, row, col)) {
            out.channel = uint16_t(packet_channel(p, dir));
            out.row = uint16_t(row);
            out.col = uint16_t(col);
            out.value = 1.0f;
            uint32_t before = 0;  // earlier packets of the same pixel, counted up to cap
            for (uint32_t j = i; cap && j-- > 0;) {
                int r, c;
                const bool kept = packet_pixel(w[j], axis, n, arith, r, c);
                if (c != col) break;
                if (kept && r == row && packet_channel(w[j], dir) == int(out.channel) && ++before == cap) {
                    out.value = 0.0f;
                    break;
                }
            }
        }
        entries[size_t(first) + i] = out;
    }
}

}  // namespace

size_t pack_windows_into(const PacketListView* windows, size_t batch, const BinningOptions& opts, uint32_t* offsets,
                         uint32_t* counts, uint32_t* length_us, WindowPacket* packets) {
    size_t total = 0;
    for (size_t b = 0; b < batch; ++b) {
        const PacketListView w = axis_view(windows[b], opts);
        offsets[b] = uint32_t(total);
        counts[b] = w.count;
        length_us[b] = w.length_us;
        if (w.count) std::memcpy(packets + total, w.packets, w.count * sizeof(WindowPacket));
        total += w.count;
    }
    return total;
}

PackedWindows pack_windows(const PacketListView* windows, size_t batch, const BinningOptions& opts) {
    PackedWindows pw;
    size_t total = 0;
    for (size_t b = 0; b < batch; ++b) total += axis_view(windows[b], opts).count;
    pw.packets.resize(total);
    pw.offsets.resize(batch);
    pw.counts.resize(batch);
    pw.length_us.resize(batch);
    pack_windows_into(windows, batch, opts, pw.offsets.data(), pw.counts.data(), pw.length_us.data(), pw.packets.data());
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
            int(opts.direction), opts.arith, out + b0 * stride);
        CUDA_CHECK_LAUNCH();
    }
    if (const uint32_t cap = count_cap(opts)) {
        const size_t n = batch * stride;
        const unsigned blocks = unsigned(std::min<size_t>((n + kBlock - 1) / kBlock, 4096));
        cap_counts_kernel<<<blocks, kBlock, 0, stream>>>(out, n, float(cap));
        CUDA_CHECK_LAUNCH();
    }
}

void packets_to_entries_cuda(const WindowPacket* packets, const uint32_t* offsets, const uint32_t* counts,
                             const uint32_t* length_us, size_t batch, size_t total_packets,
                             const BinningOptions& opts, SparsePixel* entries, uint32_t* entry_offsets,
                             cudaStream_t stream) {
    validate(opts);
    if (opts.values != ValueMode::count || opts.direction == Direction::grey)
        throw std::invalid_argument("packets_to_entries_cuda: " + format_options(opts) +
                                    " is not a sum over packets (needs values=count, direction none or channels)");
    if (total_packets > UINT32_MAX)
        throw std::invalid_argument("packets_to_entries_cuda: more than 2^32 - 1 packets in one batch");
    if (batch == 0) {
        if (entry_offsets) CUDA_CHECK(cudaMemsetAsync(entry_offsets, 0, sizeof(uint32_t), stream));
        return;
    }
    // Like bin_dense_cuda: y is the window, x blocks stride over its packets.  Launched even
    // with no packets, since entry_offsets must still be written.
    const size_t per_window = (total_packets + batch - 1) / batch;
    const unsigned gx = unsigned(std::max<size_t>(1, std::min<size_t>((per_window + kBlock - 1) / kBlock, 1024)));
    for (size_t b0 = 0; b0 < batch; b0 += 65535) {
        const unsigned nb = unsigned(std::min<size_t>(batch - b0, 65535));
        packets_to_entries_kernel<<<dim3(gx, nb), kBlock, 0, stream>>>(
            packets, offsets + b0, counts + b0, length_us + b0, nb, b0 + nb == batch, opts.resolution,
            opts.normalize == Normalize::fixed, opts.direction == Direction::channels, opts.arith, count_cap(opts),
            entries, entry_offsets + b0);
        CUDA_CHECK_LAUNCH();
    }
}

}  // namespace flowpic
