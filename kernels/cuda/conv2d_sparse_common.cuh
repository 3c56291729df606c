// What the sparse-input convolution kernels share (kernels/cuda/conv2d_sparse_forward.cu,
// kernels/cuda/conv2d_sparse_backward.cu): block sizes, tuning constants, the problem
// dimensions as ints, and small host/device helpers.  Internal to those two files.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/cuda/check.h"
#include "kernels/cuda/conv2d_sparse.h"

namespace flowpic {
namespace sparse_detail {

static_assert(offsetof(SparsePixel, channel) == 0 && offsetof(SparsePixel, row) == 2 &&
                  offsetof(SparsePixel, col) == 4 && offsetof(SparsePixel, value) == 8,
              "the kernels read a SparsePixel as three little-endian 32-bit words");

#define SPARSE_DYN_SMEM(T, name) extern __shared__ T name[]

constexpr int kThreads = 256;           // block size of the conv kernels (a power of two)
constexpr int kWarps = kThreads / 32;
constexpr int kEpt = 2;                 // forward: entries each thread decodes per round
constexpr int kRound = kThreads * kEpt; // forward: entries per round = list capacity
constexpr int kSeg = 32 * kEpt;         // forward: list items per warp segment
// Forward output tile: 88 KB of floats, which with the 16 KB list leaves room for two
// blocks on an H100 SM (228 KB), so one block's scan overlaps the other's stores.
constexpr int kTileFloats = 12288;     // forward: the largest tile (48 KB: three blocks per SM)
constexpr int kMinTileFloats = 1024;    // forward: the smallest tile (unless K is larger)
constexpr long long kFwdBlocks = 1024;  // forward: tiles in all the plan aims for (small batches)
constexpr int kKb = 16;                 // backward-weight: filters per owner thread
constexpr int kBwStage = 512;           // backward-weight (general path): entries staged per step
constexpr int kBwSlotsMax = 64;         // backward-weight gather path: A*B*K dy values per entry at most
constexpr long long kBwBlocks = 512;    // backward-weight: blocks in all the plan aims for
constexpr long long kDbBlocks = 2048;   // db: blocks in all the plan aims for
constexpr int kDbGroup = 1024;          // db: chunk lengths are multiples of this many floats

// ---- helpers shared by host and device (kept free of intrinsics where possible) ------

__host__ __device__ inline float bits_float(int b) {
#ifdef __CUDA_ARCH__
    return __int_as_float(b);
#else
    float f;
    std::memcpy(&f, &b, sizeof f);
    return f;
#endif
}

template <typename T>
__host__ __device__ inline T load_ro(const T* p) {
#ifdef __CUDA_ARCH__
    return __ldg(p);
#else
    return *p;
#endif
}

// Conv2dShape plus what the kernels derive from it.
struct Dims {
    int n, c, h, w, k, r, s, stride, pad_top, pad_left, p, q;
    int rs, crs;  // R*S, C*R*S
    int a, b;     // the most outputs covering one input row / column: ceil(R/stride), ceil(S/stride)
    long long pq;
};

inline Dims dims_of(const Conv2dShape& sh) {
    Dims d{sh.n, sh.c, sh.h, sh.w, sh.k, sh.r, sh.s, sh.stride, sh.pad_top, sh.pad_left, sh.p, sh.q, 0, 0, 0, 0, 0};
    d.rs = sh.r * sh.s;
    d.crs = sh.c * d.rs;
    d.a = (sh.r + sh.stride - 1) / sh.stride;
    d.b = (sh.s + sh.stride - 1) / sh.stride;
    d.pq = 1LL * sh.p * sh.q;
    return d;
}

// The kernels index a filter bank, one output plane and a shared tile with int; the
// padded input coordinates (uint16 + pad) and the rounding-up divisions stay below 2^31.
inline void check_int_range(const Conv2dShape& sh) {
    const long long lim = 1LL << 30;
    if (1LL * sh.k * sh.c * sh.r * sh.s >= lim || 1LL * sh.k * sh.p * sh.q >= lim || sh.stride >= lim ||
        1LL * sh.n * sh.k >= lim)
        throw std::invalid_argument("conv2d_sparse_cuda: a per-image size exceeds 2^30 elements");
}

// Outputs along one axis whose window covers padded position h: ceil((h - win + 1) /
// stride) .. floor(h / stride), before clipping.
__host__ __device__ inline void cover(int h, int win, int stride, int& lo, int& hi) {
    const int first = h - win + 1;
    lo = first <= 0 ? 0 : (first + stride - 1) / stride;
    hi = h / stride;
}

}  // namespace sparse_detail
}  // namespace flowpic
