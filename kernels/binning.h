// The binning rule, written once for the host and the device: the options every
// binning implementation shares and the per-packet bin that the scalar reference
// (kernels/cpu/binning_ref.cpp), the AVX2 CPU binning and both CUDA paths (dense images,
// packets to conv1 entries) call.  kernels/cpu/binning.h explains the rule (numpy's edge
// arithmetic) and declares the reference.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/packet_list.h"

#if defined(__CUDACC__)
#define FLOWPIC_HD __host__ __device__
#else
#define FLOWPIC_HD
#endif

namespace flowpic {

enum class Normalize : uint8_t { span, fixed };
enum class ValueMode : uint8_t { count, binary };
enum class Direction : uint8_t { none, grey, channels };
// The arithmetic of the normalised coordinates (kernels/cpu/binning.h has both forms).
// flowpic: the FlowPic authors' numpy code; tcbench: tcbench's (the IMC'23 protocol).
enum class BinArith : uint8_t { flowpic, tcbench };

constexpr int kMtu = 1500;          // the size axis spans 0..1500 bytes
constexpr int kMaxResolution = 1500;

struct BinningOptions {
    int resolution = 1500;  // N: the image is C x N x N, 1 <= N <= 1500
    Normalize normalize = Normalize::span;
    ValueMode values = ValueMode::count;
    Direction direction = Direction::none;
    // Counts above this are capped (the tcbench rule stores uint8 images: 255); 0 = no cap.
    // Applies to ValueMode::count only (binary is 1 anyway; grey has its own two values).
    uint32_t max_count = 0;
    BinArith arith = BinArith::flowpic;
    // The time axis (--time-axis S, in us): with Normalize::fixed, [0, axis_us) is mapped
    // onto the width and every packet at t >= axis_us is left out (tcbench's "time since
    // first < S"), whatever the window's length.  0 = the window's length_us.  Lets a
    // window prepared longer than the image (prep --first 30, image 15 s) keep the packets
    // that an augmentation (change RTT alpha < 1, a negative shift) pulls into [0, S).
    uint32_t axis_us = 0;
};

// The cap of a pixel's value, applied after counting: max_count in count mode without
// grey, else none (0).  value = min(count, cap) when cap > 0.
FLOWPIC_HD inline uint32_t count_cap(const BinningOptions& o) {
    return o.values == ValueMode::count && o.direction != Direction::grey ? o.max_count : 0;
}

// One IEEE double operation each, rounded to nearest.  On the device the _rn intrinsics
// keep nvcc from contracting or reordering; on the host plain operators are exactly that.
FLOWPIC_HD inline double mul_rn(double a, double b) {
#ifdef __CUDA_ARCH__
    return __dmul_rn(a, b);
#else
    return a * b;
#endif
}
FLOWPIC_HD inline double div_rn(double a, double b) {
#ifdef __CUDA_ARCH__
    return __ddiv_rn(a, b);
#else
    return a / b;
#endif
}

// The window as binned: with axis_us > 0, its packets at t_us < axis_us (they are sorted
// by time: a binary search) and length_us = axis_us; else the window itself.  Every
// binning entry point (reference, AVX2, the CUDA packer) applies this first, so a packet
// at exactly axis_us is out, unlike fixed normalisation's numpy edge rule at the window
// end (t == length_us goes to the last column).
FLOWPIC_HD inline PacketListView axis_view(PacketListView w, const BinningOptions& o) {
    if (o.axis_us == 0) return w;
    uint32_t lo = 0, hi = w.count;  // first packet with t_us >= axis_us
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo) / 2;
        if (w.packets[mid].t_us < o.axis_us) lo = mid + 1;
        else hi = mid;
    }
    w.count = lo;
    w.length_us = o.axis_us;
    return w;
}

// The per-window part of the rule: t0 and D from the options and the window.
struct TimeAxis {
    int64_t t0 = 0;
    int64_t span = 0;  // D; 0 means "every packet in column 0"
};
FLOWPIC_HD inline TimeAxis time_axis(const WindowPacket* packets, uint32_t count, uint32_t length_us, Normalize norm) {
    TimeAxis a;
    if (norm == Normalize::fixed) {
        a.span = length_us;
    } else if (count > 0) {
        a.t0 = packets[0].t_us;
        a.span = int64_t(packets[count - 1].t_us) - a.t0;
    }
    return a;
}
inline TimeAxis time_axis(const PacketListView& w, Normalize norm) {
    return time_axis(w.packets, w.count, w.length_us, norm);
}

// numpy's bin for a normalised coordinate x on edges 0, 1, ..., n: -1 when dropped.
FLOWPIC_HD inline int numpy_bin(double x, int n) {
    if (!(x >= 0.0 && x <= double(n))) return -1;  // also drops NaN
    int b = int(x);                                // x >= 0: truncation is floor
    return b == n ? n - 1 : b;
}

// The pixel (row = size bin, col = time bin) of one packet; false when dropped.  Both
// row and col are computed either way (col is what a dropped size would have had).
// Keep these operations and their order: they are what numpy computes.
//   flowpic: size * N / 1500, (t - t0) / D * N with t, t0, D in microseconds
//   tcbench: size / 1500 * N, ((t - t0) / 1e6) / (D / 1e6) * N: seconds, as tcbench
//            divides time since first (s) by the 15 s window
FLOWPIC_HD inline bool packet_pixel(const WindowPacket& p, const TimeAxis& a, int n, BinArith arith, int& row,
                                    int& col) {
    const double dt = double(int64_t(p.t_us) - a.t0);
    if (arith == BinArith::tcbench) {
        row = numpy_bin(mul_rn(div_rn(double(p.size), double(kMtu)), double(n)), n);
        col = a.span == 0 ? 0 : numpy_bin(mul_rn(div_rn(div_rn(dt, 1e6), div_rn(double(a.span), 1e6)), double(n)), n);
    } else {
        row = numpy_bin(div_rn(mul_rn(double(p.size), double(n)), double(kMtu)), n);
        col = a.span == 0 ? 0 : numpy_bin(mul_rn(div_rn(dt, double(a.span)), double(n)), n);
    }
    return row >= 0 && col >= 0;
}

// Channel of a packet's pixel: 0 unless direction == channels (then 0 = dir 1).
FLOWPIC_HD inline int packet_channel(const WindowPacket& p, Direction d) {
    return d == Direction::channels && p.dir == 0 ? 1 : 0;
}

}  // namespace flowpic
