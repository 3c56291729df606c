// Shared pieces of the tiled fp32 GEMM kernels (conv2d.cu, dense.cu): the three tile
// shapes and the shared-memory micro-kernel.  Internal to kernels/cuda/.
//
// A block computes a BM x BN tile of C = A B, stepping through the reduction BK at a time:
// its threads stage A (as As[BK][BM]) and B (as Bs[BK][BN]) in shared memory, then each
// thread accumulates TM x TN outputs in registers.  A thread's outputs are strided across
// the tile (rows ty + i*BM/TM, columns tx + j*BN/TN) so a warp reads consecutive shared
// words (no bank conflicts) and writes consecutive output columns (coalesced).
// Each output is one fmaf chain over the reduction in ascending order: no atomics, so the
// result depends only on the inputs and the tile shape, never on scheduling.
#pragma once

namespace flowpic {
namespace tile {

constexpr int BK = 16;

// Tile shapes, chosen by the size of the M side (filters for conv, batch for dense):
// small M wastes less of a 16-row tile than of a 64-row one.
template <int BM_, int BN_>
struct Cfg {
    static constexpr int BM = BM_, BN = BN_, TM = 4, TN = 4;
    static constexpr int TX = BN / TN;            // threads along N
    static constexpr int THREADS = (BM / TM) * TX;
    static_assert(THREADS % BK == 0, "loaders assume whole rows of BK");
};
using Small = Cfg<16, 128>;   // 128 threads
using Medium = Cfg<32, 128>;  // 256 threads
using Large = Cfg<64, 64>;    // 256 threads

// acc[i][j] += sum_kk As[kk][ty + i*BM/TM] * Bs[kk][tx + j*BN/TN], kk ascending.
template <class C>
__device__ __forceinline__ void fma_tile(const float (&As)[BK][C::BM], const float (&Bs)[BK][C::BN],
                                         float (&acc)[C::TM][C::TN], int ty, int tx) {
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
        float a[C::TM], b[C::TN];
#pragma unroll
        for (int i = 0; i < C::TM; ++i) a[i] = As[kk][ty + i * (C::BM / C::TM)];
#pragma unroll
        for (int j = 0; j < C::TN; ++j) b[j] = Bs[kk][tx + j * C::TX];
#pragma unroll
        for (int i = 0; i < C::TM; ++i)
#pragma unroll
            for (int j = 0; j < C::TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
}

inline long long ceil_div(long long a, long long b) { return (a + b - 1) / b; }

}  // namespace tile
}  // namespace flowpic
