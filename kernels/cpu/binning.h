// Binning: one window's packet list -> one FlowPic (a 2D histogram of packet size
// against arrival time).  kernels/binning.h holds the options and the one per-packet bin
// rule that every implementation (this scalar reference, the AVX2 CPU binning, the CUDA
// kernels) calls; this file adds the flag parsing and the scalar reference
// (binning_ref.cpp), which is the oracle for the AVX2, sparse-optimised and CUDA
// versions; those live in their own files and take the same arguments.
//
// The rule (kernels/binning.h) reproduces the FlowPic authors' numpy code, generalised to resolution N:
//   size_norm = size * N / 1500                      (double, multiply first)
//   ts_norm   = (t - t0) / D * N                     (double, in microseconds)
//   H = numpy.histogram2d(size_norm, ts_norm, bins=(range(0, N+1), range(0, N+1)))
// rows are packet size, columns are time.  numpy finds the bin with searchsorted on the
// integer edges (right side) and moves a value equal to the last edge into the last bin,
// so for x in [0, N) the bin is floor(x) of the double as computed, x == N gives N-1,
// and x < 0, x > N or NaN are dropped.  The double operations and their order are part
// of the contract: (a / D) * N can land on 299.99999999999994 where the exact value is
// 300, and numpy then says bin 299; so must every implementation.
//   span:  t0 = the first packet's time, D = last - first (packets are sorted by time).
//   fixed: t0 = 0 (the window start), D = length_us; packets after length_us are dropped.
//   axis (axis_us > 0, --time-axis; fixed only, validate() refuses it with span): before
//          anything else each window becomes axis_view(window) (kernels/binning.h): its
//          packets at t_us < axis_us, length_us = axis_us.  So a packet at exactly
//          axis_us is out (tcbench's "time since first < 15 s"), where without an axis
//          t == length_us goes to the last column by numpy's edge rule.
//   D == 0 (one packet, or all at the same time; or length_us == 0): every packet goes
//          to column 0.  numpy would compute 0/0 = NaN and drop them all; the reference
//          script tests/make_binning_fixtures.py applies the same rule before numpy.
// Sizes above 1500 map beyond N and are dropped (prep drops or clips them earlier).
//
// arith = tcbench (--bin-arith tcbench) computes the coordinates as tcbench's code (the
// IMC'23 protocol, tests/tcbench_binning.py) does instead:
//   size_norm = size / 1500 * N                      (divide first)
//   ts_norm   = ((t - t0) / 1e6) / (D / 1e6) * N     (seconds: time since first / 15)
// Same bins in exact arithmetic; the doubles differ on values at a bin edge: at N = 32 and
// 64 never (for every size 0..1500 and every whole-microsecond time in [0, 15 s)), at
// N = 1500 for 78 sizes (27 B: bin 26 against 27) and 145 of the 15 M times in 15 s.
//
// Cap (max_count > 0, --max-count; tcbench: 255, its images are uint8): in count mode
// (direction none or channels) a pixel's value is min(count, max_count), the count
// taken first; binary and grey values are not capped.
//
// Values: count = packets in the pixel (the authors); binary = 1 where any packet fell
// (the seed).  Direction: none = one channel, direction ignored; grey = one channel,
// 200 where a client->server (dir 1) packet fell, else 50 where only server->client
// packets fell (the seed; `values` is ignored in grey); channels = two channels,
// channel 0 = client->server (dir 1, "upstream"), channel 1 = server->client (dir 0),
// each holding the value mode's values.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/binning.h"
#include "kernels/packet_list.h"

namespace flowpic {

// Flag values as the command lines spell them ("span", "fixed", "count", "binary",
// "none", "grey", "channels", and the resolution as a decimal integer).  Parsing
// throws UsageError naming the flag and the accepted values.
Normalize parse_normalize(const std::string& s);
ValueMode parse_values(const std::string& s);
Direction parse_direction(const std::string& s);
BinArith parse_arith(const std::string& s);  // "flowpic" or "tcbench" (--bin-arith)
int parse_resolution(const std::string& s);
const char* to_string(Normalize n);
const char* to_string(ValueMode v);
const char* to_string(Direction d);
const char* to_string(BinArith a);
// "resolution=64 normalize=span values=count direction=none" (logs, model metadata), then
// " max_count=255" and " arith=tcbench" when they are set.
std::string format_options(const BinningOptions& opts);
void validate(const BinningOptions& opts);  // UsageError: resolution or max_count out of range, an axis with span

inline int channels(const BinningOptions& opts) {
    return opts.direction == Direction::channels ? 2 : 1;
}
// Floats (or uint16s) in one image: C * N * N.
inline size_t image_size(const BinningOptions& opts) {
    return size_t(channels(opts)) * size_t(opts.resolution) * size_t(opts.resolution);
}

// ---- dense: out is [batch][C][N][N], row-major, zeroed here -------------------------
void bin_dense_ref(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                   float* out);
// Same image as uint16 for export; counts saturate at 65535 (then the cap applies).
void bin_dense_u16_ref(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                       uint16_t* out);

// ---- sparse: the non-zero pixels of each window, sorted by (channel, row, col) ------
struct SparsePixel {
    uint16_t channel;
    uint16_t row;  // size bin
    uint16_t col;  // time bin
    uint16_t reserved;
    float value;
};
static_assert(sizeof(SparsePixel) == 12, "SparsePixel is a packed 12-byte record");

// A batch in CSR form: window i owns pixels[offsets[i] .. offsets[i+1]).
struct SparseBatch {
    std::vector<SparsePixel> pixels;
    std::vector<uint32_t> offsets;  // batch + 1 entries
    size_t size() const { return offsets.empty() ? 0 : offsets.size() - 1; }
};

// Appends one window's pixels to out (cleared first by the batch version).
void bin_sparse_ref(const PacketListView& window, const BinningOptions& opts,
                    std::vector<SparsePixel>& out);
void bin_sparse_ref(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                    SparseBatch& out);

// Writes the dense C x N x N image of a pixel list into out (zeroed here).
void densify(const SparsePixel* pixels, size_t count, const BinningOptions& opts, float* out);

}  // namespace flowpic
