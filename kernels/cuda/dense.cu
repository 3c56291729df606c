// CUDA dense layer (see kernels/cuda/conv_dense.h): every product is one tiled SGEMM
// kernel over strided views, so forward, dx and dW share the code and differ only in
// which operand is read transposed.
//   forward  y[n][o]  = sum_i x[n][i]  W[o][i]   (+ b[o])
//   dx       dx[n][i] = sum_o dy[n][o] W[o][i]
//   dW       dW[o][i] = sum_n dy[n][o] x[n][i]
//   db       db[o]    = sum_n dy[n][o]           (own kernel, n ascending like the reference)
#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cuda/check.h"
#include "kernels/cuda/conv_dense.h"
#include "kernels/cuda/tile_gemm.cuh"

namespace flowpic {

namespace {

using tile::BK;

// Element (a, b) of a matrix is p[a*s0 + b*s1]; s1 == 1 means b runs along memory.
struct View {
    const float* p;
    long long s0, s1;
};

// C[m][n] = sum_k A(m,k) B(k,n) (+ bias[n]), C row-major with leading dimension ldc.
template <class Cf>
__global__ void __launch_bounds__(Cf::THREADS)
sgemm_kernel(int M, int N, int K, View A, View B, float* __restrict__ C, long long ldc,
             const float* __restrict__ bias) {
    constexpr int T = Cf::THREADS;
    __shared__ float As[BK][Cf::BM];
    __shared__ float Bs[BK][Cf::BN];
    const int tid = threadIdx.x;
    const int tx = tid % Cf::TX, ty = tid / Cf::TX;
    const int m0 = blockIdx.y * Cf::BM, n0 = blockIdx.x * Cf::BN;
    // Loader index order follows the operand's contiguous dimension (uniform branch), so
    // consecutive threads read consecutive addresses.
    const bool a_k_contig = A.s1 == 1, b_n_contig = B.s1 == 1;

    float acc[Cf::TM][Cf::TN] = {};
    for (int k0 = 0; k0 < K; k0 += BK) {
        for (int e = tid; e < Cf::BM * BK; e += T) {
            const int mm = a_k_contig ? e / BK : e % Cf::BM;
            const int kk = a_k_contig ? e % BK : e / Cf::BM;
            const int m = m0 + mm, k = k0 + kk;
            As[kk][mm] = (m < M && k < K) ? A.p[m * A.s0 + k * A.s1] : 0.f;
        }
        for (int e = tid; e < BK * Cf::BN; e += T) {
            const int nn = b_n_contig ? e % Cf::BN : e / BK;
            const int kk = b_n_contig ? e / Cf::BN : e % BK;
            const int n = n0 + nn, k = k0 + kk;
            Bs[kk][nn] = (n < N && k < K) ? B.p[k * B.s0 + n * B.s1] : 0.f;
        }
        __syncthreads();
        tile::fma_tile<Cf>(As, Bs, acc, ty, tx);
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < Cf::TM; ++i) {
        const int m = m0 + ty + i * (Cf::BM / Cf::TM);
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < Cf::TN; ++j) {
            const int n = n0 + tx + j * Cf::TX;
            if (n < N) C[m * ldc + n] = bias ? bias[n] + acc[i][j] : acc[i][j];
        }
    }
}

template <class Cf>
void launch_sgemm_cfg(int M, int N, int K, View A, View B, float* C, long long ldc, const float* bias,
                      cudaStream_t st) {
    dim3 grid(unsigned(tile::ceil_div(N, Cf::BN)), unsigned(tile::ceil_div(M, Cf::BM)));
    sgemm_kernel<Cf><<<grid, Cf::THREADS, 0, st>>>(M, N, K, A, B, C, ldc, bias);
    CUDA_CHECK_LAUNCH();
}

// Few rows and a long reduction (fc1 at batch 1: 1 x 4500 times 4500 x 64): a tile
// kernel would give one block the whole 4500-long loop.  Here one warp computes one
// output: its lanes stride the reduction, then a fixed xor-shuffle tree adds the 32
// partial sums, so the result is still the same on every run.
constexpr int kGemvWarps = 8;
__global__ void __launch_bounds__(kGemvWarps * 32)
gemv_warp_kernel(int M, int N, int K, View A, View B, float* __restrict__ C, long long ldc,
                 const float* __restrict__ bias) {
    const long long w = 1LL * blockIdx.x * kGemvWarps + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (w >= 1LL * M * N) return;
    const int m = int(w / N), n = int(w % N);
    float acc = 0.f;
    for (int k = lane; k < K; k += 32) acc = fmaf(A.p[m * A.s0 + k * A.s1], B.p[k * B.s0 + n * B.s1], acc);
#pragma unroll
    for (int off = 16; off > 0; off /= 2) acc += __shfl_xor_sync(0xffffffffu, acc, off);
    if (lane == 0) C[m * ldc + n] = bias ? acc + bias[n] : acc;
}

// Very few outputs (fc1 at batch 1: 64): a whole block per output, its threads striding
// the reduction, then a fixed shared-memory tree: 64 blocks instead of 8 busy warps.
constexpr int kGemvBlock = 128;
__global__ void __launch_bounds__(kGemvBlock)
gemv_block_kernel(int N, int K, View A, View B, float* __restrict__ C, long long ldc,
                  const float* __restrict__ bias) {
    __shared__ float part[kGemvBlock];
    const int m = int(blockIdx.x / N), n = int(blockIdx.x % N);
    float acc = 0.f;
    for (int k = threadIdx.x; k < K; k += kGemvBlock) acc = fmaf(A.p[m * A.s0 + k * A.s1], B.p[k * B.s0 + n * B.s1], acc);
    part[threadIdx.x] = acc;
    __syncthreads();
    for (int half = kGemvBlock / 2; half > 0; half /= 2) {
        if (threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) C[m * ldc + n] = bias ? part[0] + bias[n] : part[0];
}

// Tile height by M (the batch for forward and dx): batch 1 should not run 64-row tiles.
void launch_sgemm(int M, int N, int K, View A, View B, float* C, long long ldc, const float* bias,
                  cudaStream_t st) {
    if (M == 0 || N == 0) return;
    // Few output tiles, each looping over all of K (fc1: one block at batch 1, two at
    // batch 128 for a 4500-long K): a warp per output is faster.
    const long long tiles = tile::ceil_div(N, tile::Large::BN) * tile::ceil_div(M, tile::Large::BM);
    if (1LL * M * N <= 1024 && K >= 1024) {
        gemv_block_kernel<<<unsigned(M * N), kGemvBlock, 0, st>>>(N, K, A, B, C, ldc, bias);
        CUDA_CHECK_LAUNCH();
        return;
    }
    if ((M <= 8 && 1LL * M * N <= 65536) || (tiles < 132 && K >= 512 && 1LL * M * N <= (1LL << 20))) {
        const long long warps = 1LL * M * N;
        gemv_warp_kernel<<<unsigned(tile::ceil_div(warps, kGemvWarps)), kGemvWarps * 32, 0, st>>>(M, N, K, A, B, C,
                                                                                                 ldc, bias);
        CUDA_CHECK_LAUNCH();
        return;
    }
    if (tile::ceil_div(M, 16) > 65535) throw std::invalid_argument("dense_cuda: batch too large for one grid");
    if (M <= 16)
        launch_sgemm_cfg<tile::Small>(M, N, K, A, B, C, ldc, bias, st);
    else if (M <= 32)
        launch_sgemm_cfg<tile::Medium>(M, N, K, A, B, C, ldc, bias, st);
    else
        launch_sgemm_cfg<tile::Large>(M, N, K, A, B, C, ldc, bias, st);
}

// db[o] = sum_n dy[n][o], n ascending: the reference's order exactly.
__global__ void column_sum_kernel(const float* __restrict__ dy, int n, int out, float* __restrict__ db) {
    const int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (o >= out) return;
    float s = 0.f;
    for (int r = 0; r < n; ++r) s += dy[1LL * r * out + o];
    db[o] = s;
}

void check_dims(const char* fn, int n, int in, int out) {
    if (n < 0 || in < 0 || out < 0)
        throw std::invalid_argument(std::string(fn) + ": negative size (n " + std::to_string(n) + ", in " +
                                    std::to_string(in) + ", out " + std::to_string(out) + ")");
}

}  // namespace

void dense_forward_cuda(const float* x, const float* w, const float* b, int n, int in, int out, float* y,
                        cudaStream_t stream) {
    check_dims("dense_forward_cuda", n, in, out);
    launch_sgemm(n, out, in, View{x, in, 1}, View{w, 1, in}, y, out, b, stream);
}

void dense_backward_cuda(const float* x, const float* w, const float* dy, int n, int in, int out, float* dx,
                         float* dw, float* db, cudaStream_t stream) {
    check_dims("dense_backward_cuda", n, in, out);
    if (dx) launch_sgemm(n, in, out, View{dy, out, 1}, View{w, in, 1}, dx, in, nullptr, stream);
    if (dw) launch_sgemm(out, in, n, View{dy, 1, out}, View{x, in, 1}, dw, in, nullptr, stream);
    if (db && out > 0) {
        column_sum_kernel<<<unsigned(tile::ceil_div(out, 128)), 128, 0, stream>>>(dy, n, out, db);
        CUDA_CHECK_LAUNCH();
    }
}

}  // namespace flowpic
