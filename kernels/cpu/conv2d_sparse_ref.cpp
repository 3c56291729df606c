// Scalar references of the sparse-input convolution (kernels/conv2d_sparse.h): one loop
// over the entries, each scattering into the outputs whose window covers it.  The
// oracle for the CUDA kernels; the dense reference on the densified input is its own.
#include "kernels/conv2d_sparse.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace flowpic {

namespace {

// The outputs along one axis whose window covers input position `in` (0-based, before
// padding): o * stride - pad + t == in for a tap 0 <= t < win, i.e. with h = in + pad,
// ceil((h - win + 1) / stride) <= o <= floor(h / stride), clipped to [0, out).  Empty
// (lo > hi) when the stride skips the position or 'valid' never reaches it.
struct Cover {
    int lo, hi;
};
Cover cover(int in, int pad, int win, int stride, int out) {
    const long long h = 1LL * in + pad;
    const long long first = h - win + 1;
    const long long lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    const long long hi = std::min<long long>(h / stride, out - 1LL);
    return {int(lo), int(hi)};
}

// Offsets must not go down and every entry must lie in the C x H x W image: anything else
// is the caller's bug, reported before an output is touched.
void check_entries(const Conv2dShape& s, const SparsePixel* entries, const uint32_t* offsets) {
    for (int n = 0; n < s.n; ++n) {
        if (offsets[n + 1] < offsets[n])
            throw std::invalid_argument("conv2d_sparse: offsets[" + std::to_string(n + 1) + "] < offsets[" +
                                        std::to_string(n) + "]");
        for (uint32_t e = offsets[n]; e < offsets[n + 1]; ++e) {
            const SparsePixel& px = entries[e];
            if (px.channel >= s.c || px.row >= s.h || px.col >= s.w)
                throw std::invalid_argument(
                    "conv2d_sparse: entry " + std::to_string(e) + " (channel " + std::to_string(px.channel) +
                    ", row " + std::to_string(px.row) + ", col " + std::to_string(px.col) + ") lies outside the " +
                    std::to_string(s.c) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w) + " input");
        }
    }
}

}  // namespace

template <typename T>
void conv2d_sparse_forward_ref(const Conv2dShape& s, const SparsePixel* entries, const uint32_t* offsets,
                               const T* w, const T* b, T* y) {
    validate(s);
    check_entries(s, entries, offsets);
    const long long pq = 1LL * s.p * s.q;
    for (long long n = 0; n < s.n; ++n)
        for (long long k = 0; k < s.k; ++k)
            std::fill(y + (n * s.k + k) * pq, y + (n * s.k + k + 1) * pq, b ? b[k] : T(0));
    for (long long n = 0; n < s.n; ++n)
        for (uint32_t e = offsets[n]; e < offsets[n + 1]; ++e) {
            const SparsePixel& px = entries[e];
            if (px.value == 0.0f) continue;  // a dropped packet, wherever it points
            const T v = T(px.value);
            const Cover pr = cover(px.row, s.pad_top, s.r, s.stride, s.p);
            const Cover qr = cover(px.col, s.pad_left, s.s, s.stride, s.q);
            for (int p = pr.lo; p <= pr.hi; ++p) {
                const int i = px.row + s.pad_top - p * s.stride;  // the tap that reads this row
                for (int q = qr.lo; q <= qr.hi; ++q) {
                    const int j = px.col + s.pad_left - q * s.stride;
                    for (long long k = 0; k < s.k; ++k)
                        y[((n * s.k + k) * s.p + p) * s.q + q] += v * w[((k * s.c + px.channel) * s.r + i) * s.s + j];
                }
            }
        }
}

template <typename T>
void conv2d_sparse_backward_weight_ref(const Conv2dShape& s, const SparsePixel* entries, const uint32_t* offsets,
                                       const T* dy, T* dw, T* db) {
    validate(s);
    check_entries(s, entries, offsets);
    const long long pq = 1LL * s.p * s.q;
    if (db)
        for (long long k = 0; k < s.k; ++k) {  // dense: every output has a bias term
            T acc = T(0);
            for (long long n = 0; n < s.n; ++n)
                for (long long e = 0; e < pq; ++e) acc += dy[(n * s.k + k) * pq + e];
            db[k] = acc;
        }
    std::fill(dw, dw + conv2d_w_size(s), T(0));
    for (long long n = 0; n < s.n; ++n)
        for (uint32_t e = offsets[n]; e < offsets[n + 1]; ++e) {
            const SparsePixel& px = entries[e];
            if (px.value == 0.0f) continue;
            const T v = T(px.value);
            const Cover pr = cover(px.row, s.pad_top, s.r, s.stride, s.p);
            const Cover qr = cover(px.col, s.pad_left, s.s, s.stride, s.q);
            for (int p = pr.lo; p <= pr.hi; ++p) {
                const int i = px.row + s.pad_top - p * s.stride;
                for (int q = qr.lo; q <= qr.hi; ++q) {
                    const int j = px.col + s.pad_left - q * s.stride;
                    for (long long k = 0; k < s.k; ++k)
                        dw[((k * s.c + px.channel) * s.r + i) * s.s + j] += v * dy[((n * s.k + k) * s.p + p) * s.q + q];
                }
            }
        }
}

template <typename T>
void sparse_to_dense_ref(const Conv2dShape& s, const SparsePixel* entries, const uint32_t* offsets, T* x) {
    validate(s);
    check_entries(s, entries, offsets);
    std::fill(x, x + conv2d_x_size(s), T(0));
    for (long long n = 0; n < s.n; ++n)
        for (uint32_t e = offsets[n]; e < offsets[n + 1]; ++e) {
            const SparsePixel& px = entries[e];
            x[((n * s.c + px.channel) * s.h + px.row) * s.w + px.col] += T(px.value);
        }
}

void packets_to_entries_ref(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                            std::vector<SparsePixel>& entries, std::vector<uint32_t>& offsets) {
    validate(opts);
    if (opts.values != ValueMode::count || opts.direction == Direction::grey)
        throw std::invalid_argument("packets_to_entries: " + format_options(opts) +
                                    " is not a sum over packets (needs values=count, direction none or channels)");
    size_t total = 0;
    for (size_t b = 0; b < batch; ++b) total += axis_view(windows[b], opts).count;
    if (total > std::numeric_limits<uint32_t>::max())
        throw std::invalid_argument("packets_to_entries: more than 2^32 - 1 packets in one batch");
    entries.clear();
    entries.reserve(total);
    offsets.assign(1, 0);
    const int n = opts.resolution;
    const uint32_t cap = count_cap(opts);
    // With a cap: the packets so far per pixel of the window, in a table of every pixel
    // kept per thread (all zeros between windows: each window's own entries reset it,
    // also when push_back throws), so a capped batch costs what an uncapped one does.
    thread_local std::vector<uint32_t> seen;
    if (cap && seen.size() < image_size(opts)) seen.assign(image_size(opts), 0);
    const auto index = [n](uint32_t ch, uint32_t row, uint32_t col) {
        return (size_t(ch) * size_t(n) + row) * size_t(n) + col;
    };
    for (size_t b = 0; b < batch; ++b) {
        const PacketListView w = axis_view(windows[b], opts);  // one entry per packet on the axis
        const TimeAxis axis = time_axis(w, opts.normalize);
        struct Reset {  // zeroes the table entries this window counted
            std::vector<SparsePixel>& entries;
            size_t first;
            bool on;
            decltype(index)& at;
            ~Reset() {
                if (on)
                    for (size_t e = first; e < entries.size(); ++e)
                        seen[at(entries[e].channel, entries[e].row, entries[e].col)] = 0;
            }
        } reset{entries, entries.size(), cap != 0, index};
        for (uint32_t i = 0; i < w.count; ++i) {
            int row, col;
            if (packet_pixel(w.packets[i], axis, n, opts.arith, row, col)) {
                const int ch = packet_channel(w.packets[i], opts.direction);
                const bool over = cap && ++seen[index(uint32_t(ch), uint32_t(row), uint32_t(col))] > cap;
                entries.push_back(SparsePixel{uint16_t(ch), uint16_t(row), uint16_t(col), 0, over ? 0.0f : 1.0f});
            } else {
                entries.push_back(SparsePixel{0, 0, 0, 0, 0.0f});
            }
        }
        offsets.push_back(uint32_t(entries.size()));
    }
}

template void conv2d_sparse_forward_ref<float>(const Conv2dShape&, const SparsePixel*, const uint32_t*, const float*,
                                               const float*, float*);
template void conv2d_sparse_forward_ref<double>(const Conv2dShape&, const SparsePixel*, const uint32_t*, const double*,
                                                const double*, double*);
template void conv2d_sparse_backward_weight_ref<float>(const Conv2dShape&, const SparsePixel*, const uint32_t*,
                                                       const float*, float*, float*);
template void conv2d_sparse_backward_weight_ref<double>(const Conv2dShape&, const SparsePixel*, const uint32_t*,
                                                        const double*, double*, double*);
template void sparse_to_dense_ref<float>(const Conv2dShape&, const SparsePixel*, const uint32_t*, float*);
template void sparse_to_dense_ref<double>(const Conv2dShape&, const SparsePixel*, const uint32_t*, double*);

}  // namespace flowpic
