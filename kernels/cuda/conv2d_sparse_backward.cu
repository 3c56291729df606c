// CUDA sparse-input convolution, weight and bias gradients (kernels/cuda/conv2d_sparse.h;
// kernels/conv2d_sparse.h is the contract; the forward is conv2d_sparse_forward.cu).
//
// Backward-weight.  dw[k,c,i,j] = sum over entries e of image n (channel c) of
// v_e * dy[n,k,p,q] with p*stride + i = h_e and q*stride + j = w_e (padded).  Write
// h = stride*ph + hr: tap i reads the entry iff i mod stride == hr, at p = ph - i/stride.
// A thread owns (c, i, j) and up to kKb filters (registers), and walks a contiguous
// chunk of one image's entries (staged and decoded in shared memory) in order, adding
// the ones of its class (c, hr, wr).  Each block writes its partial dw; a second kernel
// adds the partials in a fixed order.  db is a dense sum of dy (two fixed-shape
// reductions: per N x K plane, then over the batch).  No atomics anywhere.
#include "kernels/cuda/conv2d_sparse_common.cuh"

namespace flowpic {

using namespace sparse_detail;

namespace {

// ---- backward-weight -----------------------------------------------------------------

struct BwPlan {
    int gather;       // 1: the gather path (K <= kKb, C*R*S <= kThreads, A*B*K <= kBwSlotsMax)
    int slots;        // gather path: A*B*K dy values staged per entry
    int kgroups;      // general path: owner threads per (c, i, j): ceil(K / kKb)
    int owners;       // general path: C*R*S*kgroups
    int threads;      // block size
    int zblocks;      // general path: blocks along y covering the owners
    int chunks;       // blocks per image, each over a contiguous share of its entries
    long long units;  // N * chunks: partial dw arrays
};

// Depends on the shape only, so the reduction order never changes between runs.
BwPlan bw_plan(const Dims& d) {
    BwPlan pl{};
    pl.kgroups = (d.k + kKb - 1) / kKb;
    pl.slots = d.a * d.b * d.k;  // a, b <= R, S; with the checks below small when used
    pl.gather = d.k <= kKb && d.crs <= kThreads && 1LL * d.a * d.b * d.k <= kBwSlotsMax;
    long long z = 1;
    if (pl.gather) {
        pl.owners = d.crs;
        pl.threads = kThreads;
    } else {
        const long long owners = 1LL * d.crs * pl.kgroups;
        pl.threads = int(std::min<long long>(kThreads, (owners + 31) / 32 * 32));
        z = (owners + pl.threads - 1) / pl.threads;
        if (z > 65535) throw std::invalid_argument("conv2d_sparse_backward_weight_cuda: too many weights");
        pl.owners = int(owners);
    }
    pl.zblocks = int(z);
    // About kBwBlocks blocks in all (enough to fill an H100 with small blocks), up to 64 per image.
    pl.chunks = int(std::max<long long>(1, std::min<long long>(64, kBwBlocks / (1LL * d.n * z))));
    pl.units = 1LL * d.n * pl.chunks;
    return pl;
}

// db: plane u (one (n, k) of dy, pq floats) is cut into `cpp` chunks of `len` floats (a
// multiple of kDbGroup; the last one shorter); block b sums chunk b % cpp of plane b / cpp.
struct DbPlan {
    long long len;
    int cpp;
    long long blocks;
};
DbPlan db_plan(const Dims& d) {
    const long long planes = 1LL * d.n * d.k;
    const long long max_cpp = std::max(1LL, (d.pq + kDbGroup - 1) / kDbGroup);
    long long cpp = std::max(1LL, std::min(max_cpp, (kDbBlocks + planes - 1) / planes));
    DbPlan pl;
    pl.len = ((d.pq + cpp - 1) / cpp + kDbGroup - 1) / kDbGroup * kDbGroup;
    pl.cpp = int((d.pq + pl.len - 1) / pl.len);
    pl.blocks = planes * pl.cpp;
    if (pl.blocks >= (1LL << 31)) throw std::invalid_argument("conv2d_sparse_backward_weight_cuda: dy too large");
    return pl;
}

// One entry for backward-weight: {class, h / stride, w / stride, value bits}, class =
// (c * Ra + h mod stride) * Sa + w mod stride with Ra = min(R, stride), Sa = min(S, stride),
// or -1 when no tap reads it (value 0, out of range, or a phase no tap has).
__host__ __device__ inline int4 decode_bw(uint32_t w0, uint32_t w1, uint32_t w2, const Dims& d) {
    const int c = int(w0 & 0xffffu), row = int(w0 >> 16), col = int(w1 & 0xffffu);
    const float v = bits_float(int(w2));
    if (v == 0.0f || c >= d.c || row >= d.h || col >= d.w) return make_int4(-1, 0, 0, 0);
    const int hp = row + d.pad_top, wp = col + d.pad_left;
    const int hr = hp % d.stride, wr = wp % d.stride;
    const int ra = d.r < d.stride ? d.r : d.stride, sa = d.s < d.stride ? d.s : d.stride;
    if (hr >= ra || wr >= sa) return make_int4(-1, 0, 0, 0);
    return make_int4((c * ra + hr) * sa + wr, hp / d.stride, wp / d.stride, int(w2));
}

// Owner o = ((kg * C + c) * R + i) * S + j: filters kg*kKb .. +kKb of tap (c, i, j).
struct BwOwner {
    int k0, crs, cls, iq, jq;
};
__host__ __device__ inline BwOwner bw_owner(int o, const Dims& d) {
    const int j = o % d.s;
    int t = o / d.s;
    const int i = t % d.r;
    t /= d.r;
    const int c = t % d.c, kg = t / d.c;
    const int ra = d.r < d.stride ? d.r : d.stride, sa = d.s < d.stride ? d.s : d.stride;
    return {kg * kKb, (c * d.r + i) * d.s + j, (c * ra + i % d.stride) * sa + j % d.stride, i / d.stride,
            j / d.stride};
}

// An item of the owner's class: tap (i, j) reads it from output (ph - i/stride, pw - j/stride).
// The products of two floats are exact in double; the sums are double.
__host__ __device__ inline void bw_apply(const int4& it, const BwOwner& o, const Dims& d, int n,
                                         const float* dy, double (&acc)[kKb]) {
    const int p = it.y - o.iq, q = it.z - o.jq;
    if (p < 0 || p >= d.p || q < 0 || q >= d.q) return;
    const double v = bits_float(it.w);
    const float* g = dy + (1LL * n * d.k + o.k0) * d.pq + 1LL * p * d.q + q;
#pragma unroll
    for (int kk = 0; kk < kKb; ++kk)
        if (o.k0 + kk < d.k) acc[kk] += v * double(load_ro(g + kk * d.pq));
}

// General path (any K, C*R*S): a thread owns (c, i, j) and kKb filters and walks the
// block's chunk of entries, gathering dy itself for the items of its class.
__global__ void __launch_bounds__(kThreads)
sparse_bw_partial_kernel(Dims d, BwPlan pl, const uint32_t* __restrict__ words, const uint32_t* __restrict__ offsets,
                         const float* __restrict__ dy, double* __restrict__ partial) {
    __shared__ int4 items[kBwStage];
    const int tid = int(threadIdx.x);
    const long long unit = blockIdx.x;  // n * chunks + chunk
    const int n = int(unit / pl.chunks), chunk = int(unit % pl.chunks);
    const int o = int(blockIdx.y) * int(blockDim.x) + tid;
    const bool own = o < pl.owners;
    const BwOwner me = bw_owner(own ? o : 0, d);
    double acc[kKb];
#pragma unroll
    for (int kk = 0; kk < kKb; ++kk) acc[kk] = 0.0;

    const uint64_t first = offsets[n];
    const uint64_t count = offsets[n + 1] > first ? offsets[n + 1] - first : 0;
    const uint64_t lo = first + count * uint64_t(chunk) / uint64_t(pl.chunks);
    const uint64_t hi = first + count * uint64_t(chunk + 1) / uint64_t(pl.chunks);
    for (uint64_t base = lo; base < hi; base += kBwStage) {
        const int m_end = hi - base < uint64_t(kBwStage) ? int(hi - base) : kBwStage;
        for (int m = tid; m < m_end; m += int(blockDim.x)) {
            const uint32_t* p = words + 3 * (base + uint64_t(m));
            items[m] = decode_bw(load_ro(p), load_ro(p + 1), load_ro(p + 2), d);
        }
        __syncthreads();
        if (own)
            for (int m = 0; m < m_end; ++m) {
                const int4 it = items[m];
                if (it.x == me.cls) bw_apply(it, me, d, n, dy, acc);
            }
        __syncthreads();  // before the next step overwrites the items
    }
    if (own) {
        double* out = partial + unit * (1LL * d.k * d.crs) + me.crs;
#pragma unroll
        for (int kk = 0; kk < kKb; ++kk)
            if (me.k0 + kk < d.k) out[(me.k0 + kk) * d.crs] = acc[kk];
    }
}

// Gather path (K <= kKb, C*R*S <= kThreads, A*B*K <= kBwSlotsMax: FlowPicNet conv1).  The
// block walks its chunk of entries kThreads at a time.  First every thread takes one entry
// and loads, all at once (many loads in flight), the A*B*K dy values its taps can read:
// slot (ii, jj, k) is dy[n, k, h/stride - ii, w/stride - jj] (0 outside the output), into
// gat[slot][thread].  Then thread o < C*R*S owns tap (c, i, j), all K filters: it walks the
// staged entries in order and, for those of its class, adds v * gat[(i/stride, j/stride, k)]
// -- the same products, in the same order, as the general path.
__global__ void __launch_bounds__(kThreads)
sparse_bw_gather_kernel(Dims d, BwPlan pl, const uint32_t* __restrict__ words, const uint32_t* __restrict__ offsets,
                        const float* __restrict__ dy, double* __restrict__ partial) {
    SPARSE_DYN_SMEM(float, gat);  // pl.slots x kThreads
    __shared__ int cls[kThreads];
    __shared__ float val[kThreads];
    const int tid = int(threadIdx.x);
    const long long unit = blockIdx.x;  // n * chunks + chunk
    const int n = int(unit / pl.chunks), chunk = int(unit % pl.chunks);
    const bool own = tid < d.crs;
    int my_cls = -2, my_slot = 0;  // -2: matches no entry (an entry's class is >= -1)
    if (own) {
        const int j = tid % d.s, i = tid / d.s % d.r, c = tid / d.rs;
        const int ra = d.r < d.stride ? d.r : d.stride, sa = d.s < d.stride ? d.s : d.stride;
        my_cls = (c * ra + i % d.stride) * sa + j % d.stride;
        my_slot = ((i / d.stride) * d.b + j / d.stride) * d.k;
    }
    double acc[kKb];
#pragma unroll
    for (int kk = 0; kk < kKb; ++kk) acc[kk] = 0.0;
    const float* dyn = dy + 1LL * n * d.k * d.pq;

    const uint64_t first = offsets[n];
    const uint64_t count = offsets[n + 1] > first ? offsets[n + 1] - first : 0;
    const uint64_t lo = first + count * uint64_t(chunk) / uint64_t(pl.chunks);
    const uint64_t hi = first + count * uint64_t(chunk + 1) / uint64_t(pl.chunks);
    for (uint64_t base = lo; base < hi; base += kThreads) {
        const int m_end = hi - base < uint64_t(kThreads) ? int(hi - base) : kThreads;
        int4 it = make_int4(-1, 0, 0, 0);
        if (tid < m_end) {
            const uint32_t* p = words + 3 * (base + uint64_t(tid));
            it = decode_bw(load_ro(p), load_ro(p + 1), load_ro(p + 2), d);
        }
        cls[tid] = it.x;
        val[tid] = bits_float(it.w);
        for (int ii = 0; ii < d.a; ++ii)
            for (int jj = 0; jj < d.b; ++jj) {
                const int p = it.y - ii, q = it.z - jj;
                const bool ok = it.x >= 0 && p >= 0 && p < d.p && q >= 0 && q < d.q;
                const float* g = dyn + (ok ? 1LL * p * d.q + q : 0LL);
                float v[kKb];
#pragma unroll
                for (int kk = 0; kk < kKb; ++kk) v[kk] = ok && kk < d.k ? load_ro(g + kk * d.pq) : 0.0f;
                float* dst = gat + (ii * d.b + jj) * d.k * kThreads + tid;
#pragma unroll
                for (int kk = 0; kk < kKb; ++kk)
                    if (kk < d.k) dst[kk * kThreads] = v[kk];
            }
        __syncthreads();
        if (own) {
            const float* src = gat + my_slot * kThreads;
            for (int m = 0; m < m_end; ++m) {
                if (cls[m] != my_cls) continue;
                const double v = val[m];
#pragma unroll
                for (int kk = 0; kk < kKb; ++kk)
                    if (kk < d.k) acc[kk] += v * double(src[kk * kThreads + m]);
            }
        }
        __syncthreads();  // before the next step overwrites the staging
    }
    if (own) {
        double* out = partial + unit * (1LL * d.k * d.crs) + tid;
#pragma unroll
        for (int kk = 0; kk < kKb; ++kk)
            if (kk < d.k) out[kk * d.crs] = acc[kk];
    }
}

// dw[e] = sum of the units' partials: row r of 8 adds units r, r+8, ... in order, then the
// rows are added 0..7, in double, rounded once.  Block 256 = 32 weights x 8 rows.
__global__ void __launch_bounds__(256)
sparse_dw_reduce_kernel(const double* __restrict__ partial, long long units, int kcrs, float* __restrict__ dw) {
    __shared__ double rows[8][33];
    const int lane = int(threadIdx.x) & 31, r = int(threadIdx.x) >> 5;
    const int e = int(blockIdx.x) * 32 + lane;
    double s = 0.0;
    if (e < kcrs) {
        long long u = r;
        for (; u + 24 < units; u += 32) {  // four loads in flight, added in the same order
            const double a0 = partial[u * kcrs + e], a1 = partial[(u + 8) * kcrs + e];
            const double a2 = partial[(u + 16) * kcrs + e], a3 = partial[(u + 24) * kcrs + e];
            s += a0;
            s += a1;
            s += a2;
            s += a3;
        }
        for (; u < units; u += 8) s += partial[u * kcrs + e];
    }
    rows[r][lane] = s;
    __syncthreads();
    if (r == 0 && e < kcrs) {
        double t = rows[0][lane];
        for (int rr = 1; rr < 8; ++rr) t += rows[rr][lane];
        dw[e] = float(t);
    }
}

// Fixed-shape tree over the 256 threads' values; thread 0 gets the sum.
__device__ inline double block_sum_256(double v, double* red) {
    red[threadIdx.x] = v;
    for (int s = 128; s > 0; s >>= 1) {
        __syncthreads();
        if (int(threadIdx.x) < s) red[threadIdx.x] += red[threadIdx.x + s];
    }
    return red[0];  // meaningful in thread 0 (the last step's writer)
}

// out[b] = sum, in double, of chunk b % cpp of plane b / cpp of dy.  The chunk is cut into
// groups of 4 floats; thread t adds groups t, t+256, ... in order into four accumulators
// (one per position in the group).  Groups are read as float4 when the chunk starts on a
// 16-byte boundary, as scalars otherwise: the same additions in the same order, so the
// bits do not depend on dy's alignment.  Double sums: the fp32 sum of a plane that nearly
// cancels (a small plane of values of both signs) would be far off in relative terms.
__global__ void __launch_bounds__(256)
sparse_db_partial_kernel(const float* __restrict__ dy, long long pq, long long len, int cpp,
                         double* __restrict__ out) {
    __shared__ double red[256];
    const long long blk = blockIdx.x, u = blk / cpp;
    const long long lo = (blk % cpp) * len;
    const long long cnt = (pq - lo < len ? pq - lo : len);
    const float* x = dy + u * pq + lo;
    const bool vec = (reinterpret_cast<uintptr_t>(x) & 15u) == 0;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    const long long nfull = cnt >> 2;
    const long long t = threadIdx.x;
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    auto group = [&](long long g) -> float4 {
        if (vec) return load_ro(x4 + g);
        return make_float4(load_ro(x + 4 * g), load_ro(x + 4 * g + 1), load_ro(x + 4 * g + 2), load_ro(x + 4 * g + 3));
    };
    long long g = t;
    for (; g + 768 < nfull; g += 1024) {
        const float4 v0 = group(g), v1 = group(g + 256), v2 = group(g + 512), v3 = group(g + 768);
        a0 += v0.x; a1 += v0.y; a2 += v0.z; a3 += v0.w;
        a0 += v1.x; a1 += v1.y; a2 += v1.z; a3 += v1.w;
        a0 += v2.x; a1 += v2.y; a2 += v2.z; a3 += v2.w;
        a0 += v3.x; a1 += v3.y; a2 += v3.z; a3 += v3.w;
    }
    for (; g < nfull; g += 256) {
        const float4 v = group(g);
        a0 += v.x; a1 += v.y; a2 += v.z; a3 += v.w;
    }
    if (g == nfull && (cnt & 3)) {  // the partial last group: this thread's next one
        const long long e = 4 * nfull;
        a0 += load_ro(x + e);
        if (e + 1 < cnt) a1 += load_ro(x + e + 1);
        if (e + 2 < cnt) a2 += load_ro(x + e + 2);
    }
    const double s = block_sum_256((a0 + a1) + (a2 + a3), red);
    if (threadIdx.x == 0) out[blk] = s;
}

// db[k] = sum over n and the chunks c of part[(n*K + k)*cpp + c]: thread t adds items
// m = n*cpp + c = t, t+256, ..., then a tree; double, rounded once.
__global__ void __launch_bounds__(256)
sparse_db_final_kernel(const double* __restrict__ part, int n, int k, int cpp, float* __restrict__ db) {
    __shared__ double red[256];
    double a = 0.0;
    const long long items = 1LL * n * cpp;
    for (long long m = threadIdx.x; m < items; m += 256) {
        const long long i = m / cpp, c = m % cpp;
        a += part[(i * k + blockIdx.x) * cpp + c];
    }
    const double s = block_sum_256(a, red);
    if (threadIdx.x == 0) db[blockIdx.x] = float(s);
}


}  // namespace

size_t conv2d_sparse_backward_weight_scratch_floats(const Conv2dShape& sh) {
    validate(sh);
    check_int_range(sh);
    const Dims d = dims_of(sh);
    const BwPlan pl = bw_plan(d);
    const DbPlan dbp = db_plan(d);
    // Doubles: the units' dw partials, then the db chunk sums; +2 floats to align to 8 bytes.
    return 2 * (size_t(pl.units) * size_t(d.k) * size_t(d.crs) + size_t(dbp.blocks)) + 2;
}

void conv2d_sparse_backward_weight_cuda(const Conv2dShape& sh, const SparsePixel* entries, const uint32_t* offsets,
                                        const float* dy, float* dw, float* db, float* scratch, cudaStream_t stream) {
    validate(sh);
    check_int_range(sh);
    const Dims d = dims_of(sh);
    const BwPlan pl = bw_plan(d);
    const DbPlan dbp = db_plan(d);
    const int kcrs = d.k * d.crs;
    float* buf = scratch;
    if (!buf) {
        const size_t bytes = conv2d_sparse_backward_weight_scratch_floats(sh) * sizeof(float);
        CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&buf), bytes, stream));
    }
    double* partial = reinterpret_cast<double*>((reinterpret_cast<uintptr_t>(buf) + 7u) & ~uintptr_t(7));
    double* db_part = partial + size_t(pl.units) * size_t(kcrs);
    const uint32_t* words = reinterpret_cast<const uint32_t*>(entries);
    if (pl.gather) {
        const size_t smem = sizeof(float) * size_t(pl.slots) * kThreads;
        CUDA_CHECK(cudaFuncSetAttribute(sparse_bw_gather_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        int(smem)));
        sparse_bw_gather_kernel<<<unsigned(pl.units), kThreads, smem, stream>>>(d, pl, words, offsets, dy, partial);
    } else {
        sparse_bw_partial_kernel<<<dim3(unsigned(pl.units), unsigned(pl.zblocks)), pl.threads, 0, stream>>>(
            d, pl, words, offsets, dy, partial);
    }
    CUDA_CHECK_LAUNCH();
    sparse_dw_reduce_kernel<<<unsigned((kcrs + 31) / 32), 256, 0, stream>>>(partial, pl.units, kcrs, dw);
    CUDA_CHECK_LAUNCH();
    if (db) {
        sparse_db_partial_kernel<<<unsigned(dbp.blocks), 256, 0, stream>>>(dy, d.pq, dbp.len, dbp.cpp, db_part);
        CUDA_CHECK_LAUNCH();
        sparse_db_final_kernel<<<unsigned(d.k), 256, 0, stream>>>(db_part, d.n, d.k, dbp.cpp, db);
        CUDA_CHECK_LAUNCH();
    }
    if (!scratch) CUDA_CHECK(cudaFreeAsync(buf, stream));
}

}  // namespace flowpic
