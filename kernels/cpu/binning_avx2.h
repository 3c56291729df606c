// Optimised CPU binning: the same images as the scalar reference (binning_ref.cpp), pixel
// for pixel and in the same order, for every option; only faster.
//
// Sparse: packets are sorted by time, so the time column never decreases along the list.
// One pass computes each packet's (channel, row) bucket and column with the reference's
// rule (packet_pixel's double arithmetic; the row through a per-resolution table of the
// same values), a counting sort over the C*N buckets scatters the packets stably, which
// leaves every bucket sorted by column, and equal neighbours merge into one pixel.  That
// is O(packets + C*N) with no comparison sort and no allocation once the scratch is warm.
// (Unsorted input still gives the reference's answer: when the merge sees pixels go
// down, the keys are sorted and merged again.)
//
// Dense: a memset of the output plus the same per-packet rule as a scatter.
// Batches run in parallel over windows with OpenMP (threads as OMP_NUM_THREADS says).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/cpu/binning.h"
#include "kernels/packet_list.h"

namespace flowpic {

// The row (size bin) of every size 0..1500 at one resolution, computed with the
// reference's expression, so a table lookup is bit-for-bit the per-packet division.
// Sizes above 1500 always fall beyond the last edge (dropped), so they need no entry.
class RowTable {
public:
    const int16_t* get(int resolution, BinArith arith);  // rows[size] or -1; rebuilt when N or arith changes

private:
    int resolution_ = 0;
    BinArith arith_ = BinArith::flowpic;
    std::vector<int16_t> rows_;
};

// Scratch for one window at a time; keep one per thread and reuse it (no allocation
// after the first windows of a given size and resolution).
class SparseBinner {
public:
    // Appends the window's pixels to out, sorted by (channel, row, col): exactly
    // bin_sparse_ref's output.  UsageError for a bad resolution, like the reference.
    void bin(const PacketListView& window, const BinningOptions& opts,
             std::vector<SparsePixel>& out);

private:
    RowTable rows_;
    std::vector<uint32_t> starts_;   // C*N + 1 bucket starts (counts, then prefix sums)
    std::vector<uint32_t> bucket_;   // per packet: its bucket, or one past the last when dropped
    std::vector<uint32_t> key_;      // per packet: channel, row, col, client->server bits
    std::vector<uint32_t> sorted_;   // the kept keys in bucket order
    std::vector<SparsePixel> pixels_;
};

// A batch into CSR form (out.pixels cleared first), windows in parallel.  Keeps one
// SparseBinner and one pixel buffer per thread between calls.
class SparseBatchBinner {
public:
    void bin(const PacketListView* windows, size_t batch, const BinningOptions& opts,
             SparseBatch& out);

private:
    struct Part {
        SparseBinner binner;
        std::vector<SparsePixel> pixels;
        std::vector<uint32_t> ends;  // per window of this thread's share: end in pixels
    };
    std::vector<Part> parts_;
};

// Dense [batch][C][N][N] images, zeroed here: bin_dense_ref's and bin_dense_u16_ref's
// output.  Keeps the row table between calls.
class DenseBinner {
public:
    void bin(const PacketListView* windows, size_t batch, const BinningOptions& opts, float* out);
    void bin(const PacketListView* windows, size_t batch, const BinningOptions& opts,
             uint16_t* out);  // counts saturate at 65535

private:
    template <typename T>
    void bin_batch(const PacketListView* windows, size_t batch, const BinningOptions& opts, T* out);
    RowTable rows_;
};

// One-shot conveniences (scratch built and dropped per call: prefer the classes in loops).
void bin_sparse_avx2(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                     SparseBatch& out);
void bin_dense_avx2(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                    float* out);

}  // namespace flowpic
