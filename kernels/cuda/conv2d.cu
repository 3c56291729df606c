// CUDA convolution (see kernels/cuda/conv_dense.h).  Forward and backward-weight are
// implicit GEMMs over the im2col matrix G[crs][npq] = x[n, c, p*stride-pad_top+i,
// q*stride-pad_left+j] (0 in the padding), which is never materialised: the tile loaders
// gather from x directly.
//   forward:        y[k][npq] = sum_crs w[k][crs] G[crs][npq]
//   backward-weight dw[k][crs] = sum_npq dy[k][npq] G[crs][npq]   (+ a column of ones: db)
// Backward-data is a gather: each dx element sums the taps that read it.
#include <algorithm>
#include <stdexcept>

#include "kernels/cuda/check.h"
#include "kernels/cuda/conv_dense.h"
#include "kernels/cuda/tile_gemm.cuh"

namespace flowpic {

namespace {

using tile::BK;

// Conv2dShape plus the derived sizes every kernel needs.
struct Dims {
    int n, c, h, w, k, r, s, stride, pad_top, pad_left, p, q;
    int rs, crs, pq;
    long long npq;
};

Dims dims_of(const Conv2dShape& sh) {
    Dims d{sh.n, sh.c, sh.h, sh.w, sh.k, sh.r, sh.s, sh.stride, sh.pad_top, sh.pad_left, sh.p, sh.q, 0, 0, 0, 0};
    d.rs = sh.r * sh.s;
    d.crs = sh.c * d.rs;
    d.pq = sh.p * sh.q;
    d.npq = 1LL * sh.n * d.pq;
    return d;
}

// The int arithmetic inside the kernels (crs, p*q, one image's c*h*w) must not overflow;
// validate() only bounds whole-tensor sizes by 2^40.
void check_int_range(const Conv2dShape& sh) {
    const long long lim = 1LL << 30;
    if (1LL * sh.c * sh.r * sh.s >= lim || 1LL * sh.p * sh.q >= lim || 1LL * sh.c * sh.h * sh.w >= lim ||
        1LL * sh.k * sh.p * sh.q >= lim)
        throw std::invalid_argument("conv2d_cuda: a per-image size exceeds 2^30 elements");
}

// ---- forward -------------------------------------------------------------------------

template <class C>
__global__ void __launch_bounds__(C::THREADS)
conv_forward_kernel(Dims d, const float* __restrict__ x, const float* __restrict__ w,
                    const float* __restrict__ b, float* __restrict__ y, int k_chunk, float* __restrict__ partial) {
    constexpr int T = C::THREADS;
    static_assert(T % C::BN == 0 && BK % (T / C::BN) == 0, "X-tile loader layout");
    constexpr int ROW_STEP = T / C::BN;
    __shared__ float As[BK][C::BM];
    __shared__ float Bs[BK][C::BN];
    // Decoded (c, i, j) of the current BK rows of G, shared by every column's loader.
    __shared__ int tab_off[BK], tab_i[BK], tab_j[BK];

    const int tid = threadIdx.x;
    const int tx = tid % C::TX, ty = tid / C::TX;
    const int m0 = blockIdx.y * C::BM;
    const long long pix0 = 1LL * blockIdx.x * C::BN;

    // The G column (output pixel) this thread loads is fixed for the whole reduction.
    const int lcol = tid % C::BN, lrow0 = tid / C::BN;
    const long long lpix = pix0 + lcol;
    const bool lvalid = lpix < d.npq;
    int row_base = 0, col_base = 0;
    const float* xn = x;
    if (lvalid) {
        const int nn = int(lpix / d.pq), rem = int(lpix % d.pq);
        row_base = (rem / d.q) * d.stride - d.pad_top;
        col_base = (rem % d.q) * d.stride - d.pad_left;
        xn = x + 1LL * nn * d.c * d.h * d.w;
    }

    // Split reduction (few output tiles, long crs): block z sums crs in [kb, ke) only and
    // writes its partial sums; conv_forward_reduce_kernel adds them.
    const int kb = partial ? int(blockIdx.z) * k_chunk : 0;
    const int ke = partial ? min(d.crs, kb + k_chunk) : d.crs;
    float acc[C::TM][C::TN] = {};
    for (int k0 = kb; k0 < ke; k0 += BK) {
        if (tid < BK) {
            const int kidx = k0 + tid;
            if (kidx < ke) {
                const int c = kidx / d.rs, rem = kidx % d.rs;
                tab_i[tid] = rem / d.s;
                tab_j[tid] = rem % d.s;
                tab_off[tid] = c * d.h * d.w;
            } else {
                tab_i[tid] = -(1 << 29);  // a row no pixel has: loads 0
                tab_j[tid] = 0;
                tab_off[tid] = 0;
            }
        }
        // Weights: consecutive threads read consecutive crs (coalesced).
        for (int e = tid; e < C::BM * BK; e += T) {
            const int mm = e / BK, kk = e % BK;
            const int m = m0 + mm, kidx = k0 + kk;
            As[kk][mm] = (m < d.k && kidx < ke) ? w[1LL * m * d.crs + kidx] : 0.f;
        }
        __syncthreads();  // tab_* ready
#pragma unroll
        for (int rr = 0; rr < BK; rr += ROW_STEP) {
            const int kk = rr + lrow0;
            const int row = row_base + tab_i[kk], col = col_base + tab_j[kk];
            float v = 0.f;
            if (lvalid && row >= 0 && row < d.h && col >= 0 && col < d.w)
                v = xn[tab_off[kk] + 1LL * row * d.w + col];
            Bs[kk][lcol] = v;
        }
        __syncthreads();
        tile::fma_tile<C>(As, Bs, acc, ty, tx);
        __syncthreads();  // before the next step overwrites As, Bs, tab_*
    }

#pragma unroll
    for (int i = 0; i < C::TM; ++i) {
        const int m = m0 + ty + i * (C::BM / C::TM);
        if (m >= d.k) continue;
        const float bias = b ? b[m] : 0.f;
#pragma unroll
        for (int j = 0; j < C::TN; ++j) {
            const long long pix = pix0 + tx + j * C::TX;
            if (pix >= d.npq) continue;
            if (partial) {
                partial[(1LL * blockIdx.z * d.k + m) * d.npq + pix] = acc[i][j];
                continue;
            }
            const long long nn = pix / d.pq, rem = pix % d.pq;
            y[(nn * d.k + m) * d.pq + rem] = acc[i][j] + bias;
        }
    }
}

// y = bias + the partial sums of the splits, in split order.
__global__ void conv_forward_reduce_kernel(Dims d, const float* __restrict__ partial, int splits,
                                           const float* __restrict__ b, float* __restrict__ y) {
    const long long total = 1LL * d.k * d.npq;
    for (long long idx = 1LL * blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += 1LL * gridDim.x * blockDim.x) {
        const int m = int(idx / d.npq);
        const long long pix = idx % d.npq;
        float acc = 0.f;
        for (int z = 0; z < splits; ++z) acc += partial[1LL * z * total + idx];
        const long long nn = pix / d.pq, rem = pix % d.pq;
        y[(nn * d.k + m) * d.pq + rem] = acc + (b ? b[m] : 0.f);
    }
}

// How many ways the forward splits its reduction: only when the output tiles alone give
// fewer blocks than an H100 has SMs and crs is long.  A function of the shape alone, so
// the summation order never changes between runs.
struct FwdPlan {
    int cfg, splits, chunk;
};
int pick_cfg(int m);
FwdPlan fwd_plan(const Dims& d) {
    FwdPlan pl{pick_cfg(d.k), 1, d.crs};
    const int bm = pl.cfg == 0 ? tile::Small::BM : pl.cfg == 1 ? tile::Medium::BM : tile::Large::BM;
    const int bn = pl.cfg == 0 ? tile::Small::BN : pl.cfg == 1 ? tile::Medium::BN : tile::Large::BN;
    const long long blocks = tile::ceil_div(d.npq, bn) * tile::ceil_div(d.k, bm);
    if (blocks >= 132 || d.crs < 4 * BK) return pl;
    const long long want = std::min<long long>(tile::ceil_div(264, blocks), d.crs / (2 * BK));
    if (want < 2) return pl;
    pl.chunk = int(tile::ceil_div(tile::ceil_div(d.crs, want), BK) * BK);
    pl.splits = int(tile::ceil_div(d.crs, pl.chunk));
    return pl;
}

template <class C>
void launch_forward(const Dims& d, const FwdPlan& pl, const float* x, const float* w, const float* b, float* y,
                    float* partial, cudaStream_t st) {
    dim3 grid(unsigned(tile::ceil_div(d.npq, C::BN)), unsigned(tile::ceil_div(d.k, C::BM)), unsigned(pl.splits));
    conv_forward_kernel<C><<<grid, C::THREADS, 0, st>>>(d, x, w, b, y, pl.chunk, pl.splits > 1 ? partial : nullptr);
    CUDA_CHECK_LAUNCH();
}

// ---- backward-data -------------------------------------------------------------------

// dx[n,c,h,w] = sum_k sum over taps (i,j) with (h+pad_top-i) = p*stride, 0 <= p < P (and
// likewise for columns) of dy[n,k,p,q] w[k,c,i,j].  One thread per dx element, fixed order.
__global__ void conv_backward_data_kernel(Dims d, const float* __restrict__ dy, const float* __restrict__ w,
                                          float* __restrict__ dx, long long total) {
    for (long long idx = 1LL * blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += 1LL * gridDim.x * blockDim.x) {
        const int col = int(idx % d.w);
        long long t = idx / d.w;
        const int row = int(t % d.h);
        t /= d.h;
        const int c = int(t % d.c);
        const long long n = t / d.c;
        const int hp = row + d.pad_top, wp = col + d.pad_left;  // position in the padded image
        const int i0 = hp % d.stride, j0 = wp % d.stride;        // first tap whose window starts on the grid
        float acc = 0.f;
        for (int k = 0; k < d.k; ++k) {
            const float* dyk = dy + (n * d.k + k) * d.pq;
            const float* wk = w + (1LL * k * d.c + c) * d.rs;
            for (int i = i0; i < d.r && i <= hp; i += d.stride) {
                const int p = (hp - i) / d.stride;
                if (p >= d.p) continue;  // past the last window ('valid' or stride > filter)
                for (int j = j0; j < d.s && j <= wp; j += d.stride) {
                    const int q = (wp - j) / d.stride;
                    if (q >= d.q) continue;
                    acc = fmaf(dyk[p * d.q + q], wk[i * d.s + j], acc);
                }
            }
        }
        dx[idx] = acc;
    }
}

// ---- backward-weight -----------------------------------------------------------------

// The reduction over n*p*q is split into `splits` chunks of `chunk` pixels; block z writes
// the partial sums of its chunk, then conv_reduce_kernel adds the chunks in order.
struct BwPlan {
    int cfg;  // 0 Small, 1 Medium, 2 Large
    long long splits, chunk;
    int cols;  // crs + 1: the last column of G is all ones, so its dw column is db
};

int pick_cfg(int m) { return m <= 16 ? 0 : m <= 32 ? 1 : 2; }

BwPlan bw_plan(const Conv2dShape& sh) {
    BwPlan pl;
    pl.cfg = pick_cfg(sh.k);
    pl.cols = sh.c * sh.r * sh.s + 1;
    const int bm = pl.cfg == 0 ? tile::Small::BM : pl.cfg == 1 ? tile::Medium::BM : tile::Large::BM;
    const int bn = pl.cfg == 0 ? tile::Small::BN : pl.cfg == 1 ? tile::Medium::BN : tile::Large::BN;
    const long long tiles = tile::ceil_div(sh.k, bm) * tile::ceil_div(pl.cols, bn);
    const long long npq = 1LL * sh.n * sh.p * sh.q;
    // About 1024 blocks in all (enough to fill an H100), each summing at least 256 pixels.
    // Depends on the shape alone, so the summation order never changes between runs or devices.
    long long want = std::max(1LL, 1024 / tiles);
    want = std::min(want, tile::ceil_div(npq, 256));
    pl.chunk = tile::ceil_div(tile::ceil_div(npq, want), BK) * BK;
    pl.splits = tile::ceil_div(npq, pl.chunk);
    return pl;
}

template <class C>
__global__ void __launch_bounds__(C::THREADS)
conv_backward_weight_kernel(Dims d, const float* __restrict__ x, const float* __restrict__ dy,
                            float* __restrict__ partial, long long chunk, int cols) {
    constexpr int T = C::THREADS;
    constexpr int PER = T / BK;  // rows (of A) / columns (of B) one pass of threads covers
    __shared__ float As[BK][C::BM];
    __shared__ float Bs[BK][C::BN];
    // Decoded (c, i, j) of this block's G rows (= dw columns), fixed for the whole block.
    __shared__ int col_off[C::BN], col_i[C::BN], col_j[C::BN];

    const int tid = threadIdx.x;
    const int tx = tid % C::TX, ty = tid / C::TX;
    const int n0 = blockIdx.x * C::BN;  // dw column (crs) tile
    const int m0 = blockIdx.y * C::BM;  // filter tile
    const long long e_begin = 1LL * blockIdx.z * chunk;
    const long long e_end = min(d.npq, e_begin + chunk);

    for (int cc = tid; cc < C::BN; cc += T) {
        const int col = n0 + cc;
        if (col < d.crs) {
            const int c = col / d.rs, rem = col % d.rs;
            col_i[cc] = rem / d.s;
            col_j[cc] = rem % d.s;
            col_off[cc] = c * d.h * d.w;
        } else {
            col_i[cc] = col_j[cc] = col_off[cc] = 0;
        }
    }
    __syncthreads();

    // Each thread always loads reduction row ee = tid % BK: consecutive threads take
    // consecutive pixels, so dy and x reads are (stride-)coalesced.
    const int ee = tid % BK, lane0 = tid / BK;
    float acc[C::TM][C::TN] = {};
    for (long long e0 = e_begin; e0 < e_end; e0 += BK) {
        const long long e = e0 + ee;
        const bool ev = e < e_end;
        long long nn = 0;
        int rem = 0, row_base = 0, col_base = 0;
        if (ev) {
            if (d.npq < 2147483647LL) {  // 32-bit division: several times cheaper than 64-bit
                const int e32 = int(e), n32 = e32 / d.pq;
                nn = n32;
                rem = e32 - n32 * d.pq;
            } else {
                nn = e / d.pq;
                rem = int(e % d.pq);
            }
            row_base = (rem / d.q) * d.stride - d.pad_top;
            col_base = (rem % d.q) * d.stride - d.pad_left;
        }
        for (int mm = lane0; mm < C::BM; mm += PER) {
            const int m = m0 + mm;
            As[ee][mm] = (ev && m < d.k) ? dy[(nn * d.k + m) * d.pq + rem] : 0.f;
        }
        const float* xn = x + nn * d.c * d.h * d.w;
        for (int cc = lane0; cc < C::BN; cc += PER) {
            const int col = n0 + cc;
            float v = 0.f;
            if (ev && col < cols) {
                if (col == d.crs) {
                    v = 1.f;  // the ones column: its dot product with dy is db
                } else {
                    const int row = row_base + col_i[cc], cx = col_base + col_j[cc];
                    if (row >= 0 && row < d.h && cx >= 0 && cx < d.w) v = xn[col_off[cc] + 1LL * row * d.w + cx];
                }
            }
            Bs[ee][cc] = v;
        }
        __syncthreads();
        tile::fma_tile<C>(As, Bs, acc, ty, tx);
        __syncthreads();
    }

    float* out = partial + 1LL * blockIdx.z * d.k * cols;
#pragma unroll
    for (int i = 0; i < C::TM; ++i) {
        const int m = m0 + ty + i * (C::BM / C::TM);
        if (m >= d.k) continue;
#pragma unroll
        for (int j = 0; j < C::TN; ++j) {
            const int col = n0 + tx + j * C::TX;
            if (col < cols) out[1LL * m * cols + col] = acc[i][j];
        }
    }
}

// Sums the partials split 0, 1, 2, ... for each (k, col): a fixed order.
__global__ void conv_reduce_kernel(const float* __restrict__ partial, long long splits, int k, int cols,
                                   float* __restrict__ dw, float* __restrict__ db) {
    const long long total = 1LL * k * cols;
    for (long long idx = 1LL * blockIdx.x * blockDim.x + threadIdx.x; idx < total;
         idx += 1LL * gridDim.x * blockDim.x) {
        float s = 0.f;
        for (long long sp = 0; sp < splits; ++sp) s += partial[sp * total + idx];
        const long long kk = idx / cols;
        const int col = int(idx % cols);
        if (col < cols - 1)
            dw[kk * (cols - 1) + col] = s;
        else if (db)
            db[kk] = s;
    }
}

template <class C>
void launch_backward_weight(const Dims& d, const BwPlan& pl, const float* x, const float* dy, float* partial,
                            cudaStream_t st) {
    dim3 grid(unsigned(tile::ceil_div(pl.cols, C::BN)), unsigned(tile::ceil_div(d.k, C::BM)), unsigned(pl.splits));
    conv_backward_weight_kernel<C><<<grid, C::THREADS, 0, st>>>(d, x, dy, partial, pl.chunk, pl.cols);
    CUDA_CHECK_LAUNCH();
}

// Backward-data as one implicit GEMM per stride phase.  A dx pixel with padded position
// (hp, wp) = (a + stride*th', b + stride*tw') (phase a = hp % stride, b = wp % stride) reads
// taps i = a + stride*u, j = b + stride*v from dy at p = hp/stride - u, q = wp/stride - v.
// So for a fixed phase, dx[c][pixel] = sum over (k, u, v) of W_ab[c][(k,u,v)] times
// dy[n, k, p - u, q - v]: a GEMM with M = C, N = the phase's pixels, K = K * U_a * V_b,
// whose B tile is gathered from dy (0 outside it).  blockIdx.z is the phase.  The sum
// runs k, then u, then v ascending, one fmaf chain, like the gather kernel.
template <class C>
__global__ void __launch_bounds__(C::THREADS)
conv_backward_data_gemm_kernel(Dims d, const float* __restrict__ dy, const float* __restrict__ w,
                               float* __restrict__ dx) {
    constexpr int T = C::THREADS;
    static_assert(T % C::BN == 0 && BK % (T / C::BN) == 0, "B-tile loader layout");
    constexpr int ROW_STEP = T / C::BN;
    __shared__ float As[BK][C::BM];
    __shared__ float Bs[BK][C::BN];
    __shared__ int tab_k[BK], tab_u[BK], tab_v[BK];

    const int a = int(blockIdx.z) / d.stride, b = int(blockIdx.z) % d.stride;
    // Taps of this phase: U x V; none when the phase starts past the filter.
    const int U = a < d.r ? (d.r - a + d.stride - 1) / d.stride : 0;
    const int V = b < d.s ? (d.s - b + d.stride - 1) / d.stride : 0;
    const int kred = d.k * U * V;
    // Image rows with (h + pad_top) % stride == a: h = h0 + stride*t, t < hn (likewise w).
    const int h0 = ((a - d.pad_top) % d.stride + d.stride) % d.stride;
    const int w0 = ((b - d.pad_left) % d.stride + d.stride) % d.stride;
    const int hn = h0 < d.h ? (d.h - h0 + d.stride - 1) / d.stride : 0;
    const int wn = w0 < d.w ? (d.w - w0 + d.stride - 1) / d.stride : 0;
    const long long npix = 1LL * d.n * hn * wn;
    const long long pix0 = 1LL * blockIdx.x * C::BN;
    if (pix0 >= npix) return;

    const int tid = threadIdx.x;
    const int tx = tid % C::TX, ty = tid / C::TX;
    const int m0 = blockIdx.y * C::BM;

    // The column this thread loads: image n, and its dy position before the tap offsets.
    const int lcol = tid % C::BN, lrow0 = tid / C::BN;
    const long long lpix = pix0 + lcol;
    const bool lvalid = lpix < npix;
    int pq_p = 0, pq_q = 0;
    const float* dyn = dy;
    if (lvalid) {
        const int per_image = hn * wn;
        const long long nn = lpix / per_image;
        const int rem = int(lpix - nn * per_image);
        const int th = rem / wn, tw = rem - th * wn;
        pq_p = (h0 + th * d.stride + d.pad_top) / d.stride;
        pq_q = (w0 + tw * d.stride + d.pad_left) / d.stride;
        dyn = dy + nn * d.k * d.pq;
    }

    float acc[C::TM][C::TN] = {};
    for (int k0 = 0; k0 < kred; k0 += BK) {
        if (tid < BK) {
            const int kidx = k0 + tid;
            if (kidx < kred) {
                tab_k[tid] = kidx / (U * V);
                const int uv = kidx % (U * V);
                tab_u[tid] = uv / V;
                tab_v[tid] = uv % V;
            } else {
                tab_k[tid] = -1;
                tab_u[tid] = tab_v[tid] = 0;
            }
        }
        __syncthreads();  // tab_* ready
        for (int e = tid; e < C::BM * BK; e += T) {
            const int mm = e / BK, kk = e % BK;
            const int m = m0 + mm;
            float v = 0.f;
            if (m < d.c && tab_k[kk] >= 0) {
                const int i = a + d.stride * tab_u[kk], j = b + d.stride * tab_v[kk];
                v = w[((1LL * tab_k[kk] * d.c + m) * d.r + i) * d.s + j];
            }
            As[kk][mm] = v;
        }
#pragma unroll
        for (int rr = 0; rr < BK; rr += ROW_STEP) {
            const int kk = rr + lrow0;
            float v = 0.f;
            if (lvalid && tab_k[kk] >= 0) {
                const int p = pq_p - tab_u[kk], q = pq_q - tab_v[kk];
                if (p >= 0 && p < d.p && q >= 0 && q < d.q) v = dyn[(1LL * tab_k[kk] * d.p + p) * d.q + q];
            }
            Bs[kk][lcol] = v;
        }
        __syncthreads();
        tile::fma_tile<C>(As, Bs, acc, ty, tx);
        __syncthreads();  // before the next step overwrites As, Bs, tab_*
    }

    const int per_image = hn * wn;
#pragma unroll
    for (int j = 0; j < C::TN; ++j) {
        const long long pix = pix0 + tx + j * C::TX;
        if (pix >= npix) continue;
        const long long nn = pix / per_image;
        const int rem = int(pix - nn * per_image);
        const int th = rem / wn, tw = rem - th * wn;
        const long long at = (nn * d.c * d.h + h0 + 1LL * th * d.stride) * d.w + w0 + 1LL * tw * d.stride;
#pragma unroll
        for (int i = 0; i < C::TM; ++i) {
            const int m = m0 + ty + i * (C::BM / C::TM);
            if (m < d.c) dx[at + 1LL * m * d.h * d.w] = acc[i][j];
        }
    }
}

template <class C>
void launch_backward_data_gemm(const Dims& d, const float* dy, const float* w, float* dx, cudaStream_t st) {
    // The largest phase has ceil(h/stride) x ceil(w/stride) pixels per image.
    const long long most = 1LL * d.n * tile::ceil_div(d.h, d.stride) * tile::ceil_div(d.w, d.stride);
    dim3 grid(unsigned(tile::ceil_div(most, C::BN)), unsigned(tile::ceil_div(d.c, C::BM)),
              unsigned(d.stride * d.stride));
    conv_backward_data_gemm_kernel<C><<<grid, C::THREADS, 0, st>>>(d, dy, w, dx);
    CUDA_CHECK_LAUNCH();
}

unsigned grid_1d(long long total, int block) {
    return unsigned(std::max(1LL, std::min(tile::ceil_div(total, block), 1LL << 20)));  // grid-stride beyond
}

}  // namespace

size_t conv2d_forward_scratch_floats(const Conv2dShape& sh) {
    validate(sh);
    check_int_range(sh);
    const Dims d = dims_of(sh);
    const FwdPlan pl = fwd_plan(d);
    return pl.splits > 1 ? size_t(pl.splits) * size_t(sh.k) * size_t(d.npq) : 0;
}

void conv2d_forward_cuda(const Conv2dShape& sh, const float* x, const float* w, const float* b, float* y,
                         float* scratch, cudaStream_t stream) {
    validate(sh);
    check_int_range(sh);
    const Dims d = dims_of(sh);
    const FwdPlan pl = fwd_plan(d);
    float* partial = scratch;
    const bool own = pl.splits > 1 && !scratch;
    if (own)
        CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partial),
                                   size_t(pl.splits) * size_t(sh.k) * size_t(d.npq) * sizeof(float), stream));
    switch (pl.cfg) {
        case 0: launch_forward<tile::Small>(d, pl, x, w, b, y, partial, stream); break;
        case 1: launch_forward<tile::Medium>(d, pl, x, w, b, y, partial, stream); break;
        default: launch_forward<tile::Large>(d, pl, x, w, b, y, partial, stream); break;
    }
    if (pl.splits > 1) {
        conv_forward_reduce_kernel<<<grid_1d(1LL * sh.k * d.npq, 256), 256, 0, stream>>>(d, partial, pl.splits, b, y);
        CUDA_CHECK_LAUNCH();
    }
    if (own) CUDA_CHECK(cudaFreeAsync(partial, stream));
}

void conv2d_forward_cuda(const Conv2dShape& sh, const float* x, const float* w, const float* b, float* y,
                         cudaStream_t stream) {
    conv2d_forward_cuda(sh, x, w, b, y, nullptr, stream);
}

void conv2d_backward_data_cuda(const Conv2dShape& sh, const float* dy, const float* w, float* dx,
                               cudaStream_t stream) {
    validate(sh);
    check_int_range(sh);
    const Dims d = dims_of(sh);
    // One GEMM per stride phase when the grid fits (every dx pixel belongs to exactly one
    // phase, so every element is written); else the plain gather.
    const long long most = 1LL * sh.n * tile::ceil_div(sh.h, sh.stride) * tile::ceil_div(sh.w, sh.stride);
    if (sh.stride <= 64 && tile::ceil_div(most, tile::Small::BN) < (1LL << 31) && tile::ceil_div(sh.c, 16) <= 65535) {
        switch (pick_cfg(sh.c)) {
            case 0: launch_backward_data_gemm<tile::Small>(d, dy, w, dx, stream); break;
            case 1: launch_backward_data_gemm<tile::Medium>(d, dy, w, dx, stream); break;
            default: launch_backward_data_gemm<tile::Large>(d, dy, w, dx, stream); break;
        }
        return;
    }
    const long long total = conv2d_x_size(sh);  // beyond the GEMM's grid: the plain gather
    conv_backward_data_kernel<<<grid_1d(total, 256), 256, 0, stream>>>(d, dy, w, dx, total);
    CUDA_CHECK_LAUNCH();
}

size_t conv2d_backward_weight_scratch_floats(const Conv2dShape& sh) {
    validate(sh);
    check_int_range(sh);
    const BwPlan pl = bw_plan(sh);
    return size_t(pl.splits) * size_t(sh.k) * size_t(pl.cols);
}

void conv2d_backward_weight_cuda(const Conv2dShape& sh, const float* x, const float* dy, float* dw, float* db,
                                 float* scratch, cudaStream_t stream) {
    validate(sh);
    check_int_range(sh);
    const Dims d = dims_of(sh);
    const BwPlan pl = bw_plan(sh);
    float* partial = scratch;
    if (!partial) {
        const size_t bytes = size_t(pl.splits) * size_t(sh.k) * size_t(pl.cols) * sizeof(float);
        CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&partial), bytes, stream));
    }
    switch (pl.cfg) {
        case 0: launch_backward_weight<tile::Small>(d, pl, x, dy, partial, stream); break;
        case 1: launch_backward_weight<tile::Medium>(d, pl, x, dy, partial, stream); break;
        default: launch_backward_weight<tile::Large>(d, pl, x, dy, partial, stream); break;
    }
    const long long total = 1LL * sh.k * pl.cols;
    conv_reduce_kernel<<<grid_1d(total, 256), 256, 0, stream>>>(partial, pl.splits, sh.k, pl.cols, dw, db);
    CUDA_CHECK_LAUNCH();
    if (!scratch) CUDA_CHECK(cudaFreeAsync(partial, stream));
}

}  // namespace flowpic
