// CUDA sparse-input convolution, forward (kernels/cuda/conv2d_sparse.h; kernels/conv2d_sparse.h
// is the contract).  The packet -> entry step that feeds it is binning: kernels/cuda/binning.cu.
//
// Forward.  One block per output tile: image n, TP output rows x TQ output columns, all K
// filters, accumulated in shared memory that starts at the bias.  The block streams the
// image's entries in order, kRound at a time: warp w decodes a run of 32*kEpt consecutive
// entries and keeps, in order (a ballot), those whose covered outputs meet the tile, in
// its segment of a shared list; then the owner threads walk the list segment by segment
// and add their share.  Finally the tile is written out once, coalesced (16-byte stores
// where aligned): y is never read and needs no fill, so the kernel costs about one pass
// of writes over y.  Every block reads all of its image's entries (a few tens of KB, from
// L2 after the first block): cheap next to the ~90 KB of output it writes.
//
// With caller scratch the forward takes a bucketed path instead (sparse_bucket_kernel +
// sparse_gather_kernel, described where they are defined): every block reads only the
// entries of its band of output rows, and each output is still the bias plus the entries'
// contributions in entry order, added by one thread -- the same bits as this kernel.
//
// Why the forward is deterministic: an entry at padded input row h is covered by the
// outputs p with h - R < p*stride <= h, at most A = ceil(R/stride) consecutive values,
// so their p mod A all differ; likewise q mod B.  Threads own outputs by
// (k, p mod A, q mod B) and a contiguous range of the tile's columns, so each output of
// the tile has exactly one owner and an entry gives an owner at most one output.  Each
// output is thus summed by one thread: the bias, then the entries' contributions in
// their order in the input.  No atomics, no order that depends on scheduling -- not even
// on the tiling, which may change with the shape without changing a bit of the result.

#include "kernels/cuda/conv2d_sparse_common.cuh"

namespace flowpic {

using namespace sparse_detail;

namespace {

// ---- forward -------------------------------------------------------------------------

struct FwdPlan {
    int tp, tq;          // tile: output rows x output columns, all K filters
    int tiles_q, tiles;  // tiles along q, tiles per image
    size_t smem;         // dynamic shared memory, bytes
};

// Shared memory: the list (kRound items of two int4) first, for its 16-byte alignment,
// then the tile (K x TP x TQ floats), the warp segments' counts, p mod A per tile row and
// q mod B per tile column.
constexpr size_t kListBytes = size_t(kRound) * 2 * sizeof(int4);

FwdPlan fwd_plan(const Dims& d) {
    if (d.k > kTileFloats)
        throw std::invalid_argument("conv2d_sparse_forward_cuda: more than " + std::to_string(kTileFloats) +
                                    " filters");
    // Tile size from the shape alone (so the result does not depend on anything else):
    // about kFwdBlocks tiles in all for small batches (batch 1 must still fill the GPU, and
    // a small tile bounds the work of the block that gets a hot row), at most kTileFloats
    // for large ones (every tile scans all of its image's entries, so not too many tiles).
    const long long per_image = 1LL * d.k * d.pq;
    const long long want = std::max(1LL, (kFwdBlocks + d.n - 1) / d.n);
    long long budget = (per_image + want - 1) / want;
    budget = std::max<long long>(budget, std::max(kMinTileFloats, d.k));
    budget = std::min<long long>(budget, kTileFloats);  // >= d.k: checked above
    FwdPlan pl;
    pl.tq = int(std::min<long long>(d.q, budget / d.k));
    pl.tp = int(std::min<long long>(d.p, budget / (1LL * d.k * pl.tq)));
    pl.tiles_q = (d.q + pl.tq - 1) / pl.tq;
    const long long tiles = 1LL * ((d.p + pl.tp - 1) / pl.tp) * pl.tiles_q;
    if (tiles >= (1LL << 31)) throw std::invalid_argument("conv2d_sparse_forward_cuda: too many output tiles");
    pl.tiles = int(tiles);
    pl.smem = kListBytes + sizeof(float) * size_t(d.k * pl.tp * pl.tq) + sizeof(int) * size_t(kWarps + pl.tp + pl.tq);
    return pl;
}

// One entry (its three words) against the tile's outputs [p0, p1) x [q0, q1): false when
// it touches none (value 0, out of range, or covered only outside the tile).  Otherwise
// ia = {value bits, c*R*S, padded row, padded col}, ib = its covered p and q ranges
// clipped to the tile, {plo, phi, qlo, qhi}, inclusive.
__host__ __device__ inline bool decode_fwd(uint32_t w0, uint32_t w1, uint32_t w2, const Dims& d, int p0, int p1,
                                           int q0, int q1, int4& ia, int4& ib) {
    const int c = int(w0 & 0xffffu), row = int(w0 >> 16), col = int(w1 & 0xffffu);
    const float v = bits_float(int(w2));
    if (v == 0.0f || c >= d.c || row >= d.h || col >= d.w) return false;
    const int hp = row + d.pad_top, wp = col + d.pad_left;
    int plo, phi, qlo, qhi;
    cover(hp, d.r, d.stride, plo, phi);
    cover(wp, d.s, d.stride, qlo, qhi);
    plo = plo > p0 ? plo : p0;
    phi = phi < p1 - 1 ? phi : p1 - 1;
    qlo = qlo > q0 ? qlo : q0;
    qhi = qhi < q1 - 1 ? qhi : q1 - 1;
    if (plo > phi || qlo > qhi) return false;
    ia = make_int4(int(w2), c * d.rs, hp, wp);
    ib = make_int4(plo, phi, qlo, qhi);
    return true;
}

// An owner slot: filter k, output rows p = a (mod A), columns q = b (mod B).
struct FwdOwner {
    int k, a, b;
};
__host__ __device__ inline FwdOwner fwd_owner(int slot, const Dims& d) {
    return {slot / (d.a * d.b), slot / d.b % d.a, slot % d.b};
}

// Adds the owner's share of one list item to the tile: the one output of the item's
// ranges with p = a (mod A), q = b (mod B) and q in the owner's columns [qg0, qg1), if any.
// Returns the tile index it updated, or -1 (for checking the ownership on the host).
__host__ __device__ inline int fwd_apply(const int4& ia, const int4& ib, const FwdOwner& o, const Dims& d, int p0,
                                          int q0, int tp, int tq, int qg0, int qg1, const int* rowmod,
                                          const int* colmod, const float* w, float* tile) {
    int da = o.a - rowmod[ib.x - p0];
    if (da < 0) da += d.a;
    const int p = ib.x + da;
    if (p > ib.y) return -1;
    int db = o.b - colmod[ib.z - q0];
    if (db < 0) db += d.b;
    const int q = ib.z + db;
    if (q > ib.w || q < qg0 || q >= qg1) return -1;
    const int i = ia.z - p * d.stride, j = ia.w - q * d.stride;  // the taps that read the entry
    const int at = (o.k * tp + (p - p0)) * tq + (q - q0);
    tile[at] += bits_float(ia.x) * load_ro(w + o.k * d.crs + ia.y + i * d.s + j);
    return at;
}

// Block-cooperative copy of len floats from shared src to global dst: scalar stores up to
// dst's first 16-byte boundary, float4 stores, scalar tail.  Thread tid of nthreads.
__host__ __device__ inline void write_span(float* dst, const float* src, int len, int tid, int nthreads) {
    int head = int(((16u - unsigned(reinterpret_cast<uintptr_t>(dst) & 15u)) & 15u) >> 2);
    if (head > len) head = len;
    if (tid < head) dst[tid] = src[tid];
    const int nv = (len - head) >> 2;
    float4* d4 = reinterpret_cast<float4*>(dst + head);
    const float* s = src + head;
    if ((reinterpret_cast<uintptr_t>(s) & 15u) == 0) {
        const float4* s4 = reinterpret_cast<const float4*>(s);
        for (int m = tid; m < nv; m += nthreads) d4[m] = s4[m];
    } else {
        for (int m = tid; m < nv; m += nthreads)
            d4[m] = make_float4(s[4 * m], s[4 * m + 1], s[4 * m + 2], s[4 * m + 3]);
    }
    for (int t = head + 4 * nv + tid; t < len; t += nthreads) dst[t] = src[t];
}

// Warp `warp` reads entries base + warp*kSeg + m*32 + lane, m < kEpt (coalesced).
__device__ inline void load_round(const uint32_t* __restrict__ words, uint64_t base, uint64_t end, int warp,
                                  int lane, uint32_t (&raw)[kEpt][3]) {
#pragma unroll
    for (int m = 0; m < kEpt; ++m) {
        const uint64_t e = base + uint64_t(warp * kSeg + m * 32 + lane);
        if (e < end) {
            const uint32_t* p = words + 3 * e;
            raw[m][0] = __ldg(p);
            raw[m][1] = __ldg(p + 1);
            raw[m][2] = __ldg(p + 2);
        }
    }
}

__global__ void __launch_bounds__(kThreads, 3)
sparse_forward_kernel(Dims d, FwdPlan pl, const uint32_t* __restrict__ words, const uint32_t* __restrict__ offsets,
                      const float* __restrict__ w, const float* __restrict__ bias, float* __restrict__ y, int n0) {
    SPARSE_DYN_SMEM(int4, smem);
    int4* list = smem;  // item t of warp segment sw: list[2*(sw*kSeg + t)] and the next int4
    float* tile = reinterpret_cast<float*>(smem + 2 * kRound);
    const int plane = pl.tp * pl.tq;
    int* seg_count = reinterpret_cast<int*>(tile + d.k * plane);
    int* rowmod = seg_count + kWarps;
    int* colmod = rowmod + pl.tp;

    const int tid = int(threadIdx.x), lane = tid & 31, warp = tid >> 5;
    const int n = n0 + int(blockIdx.y);
    const int p0 = int(blockIdx.x) / pl.tiles_q * pl.tp, q0 = int(blockIdx.x) % pl.tiles_q * pl.tq;
    const int p1 = min(d.p, p0 + pl.tp), q1 = min(d.q, q0 + pl.tq);
    // Padded input rows and columns an entry must lie in to touch the tile: a cheap
    // necessary condition tested before decode_fwd (which alone decides).
    const long long hlo = 1LL * p0 * d.stride, hhi = 1LL * (p1 - 1) * d.stride + d.r - 1;
    const long long wlo = 1LL * q0 * d.stride, whi = 1LL * (q1 - 1) * d.stride + d.s - 1;

    for (int k = 0; k < d.k; ++k) {
        const float v = bias ? bias[k] : 0.0f;
        for (int e = tid; e < plane; e += kThreads) tile[k * plane + e] = v;
    }
    for (int t = tid; t < pl.tp; t += kThreads) rowmod[t] = (p0 + t) % d.a;
    for (int t = tid; t < pl.tq; t += kThreads) colmod[t] = (q0 + t) % d.b;

    // Ownership: slots (k, a, b) times `groups` contiguous column ranges of the tile; when
    // there are more slots than threads, one group and several slots per thread.
    const int ns = d.k * d.a * d.b;
    const bool multi = ns > kThreads;
    const int groups = multi ? 1 : kThreads / ns;
    const int g = multi ? 0 : tid / ns;
    const bool owner = g < groups;
    const FwdOwner me = fwd_owner(multi ? 0 : tid % ns, d);
    const int qper = (q1 - q0 + groups - 1) / groups;
    const int qg0 = q0 + g * qper, qg1 = min(q1, qg0 + qper);

    const uint64_t e_begin = offsets[n];
    const uint64_t e_end = offsets[n + 1] > e_begin ? uint64_t(offsets[n + 1]) : e_begin;  // going down: no entries
    uint32_t raw[kEpt][3];
    load_round(words, e_begin, e_end, warp, lane, raw);
    __syncthreads();  // tile and tables ready (also when the image has no entries)

    for (uint64_t base = e_begin; base < e_end; base += kRound) {
        int cnt = 0;
#pragma unroll
        for (int m = 0; m < kEpt; ++m) {
            const uint64_t e = base + uint64_t(warp * kSeg + m * 32 + lane);
            int4 ia, ib;
            bool keep = false;
            if (e < e_end) {
                const long long hp = (long long)(raw[m][0] >> 16) + d.pad_top,
                                wp = (long long)(raw[m][1] & 0xffffu) + d.pad_left;
                if (hp >= hlo && hp <= hhi && wp >= wlo && wp <= whi)
                    keep = decode_fwd(raw[m][0], raw[m][1], raw[m][2], d, p0, p1, q0, q1, ia, ib);
            }
            const unsigned mask = __ballot_sync(0xffffffffu, keep);
            if (keep) {
                const int pos = warp * kSeg + cnt + __popc(mask & ((1u << lane) - 1u));
                list[2 * pos] = ia;
                list[2 * pos + 1] = ib;
            }
            cnt += __popc(mask);
        }
        if (lane == 0) seg_count[warp] = cnt;
        load_round(words, base + kRound, e_end, warp, lane, raw);  // in flight during this round's work
        __syncthreads();
        if (owner) {
            for (int sw = 0; sw < kWarps; ++sw) {
                const int count = seg_count[sw];
                const int4* seg = list + 2 * sw * kSeg;
                for (int t0 = 0; t0 < count; t0 += 4) {
                  // Four items' ranges loaded together (independent loads), then handled in order.
                  int4 ibs[4];
#pragma unroll
                  for (int u = 0; u < 4; ++u) ibs[u] = t0 + u < count ? seg[2 * (t0 + u) + 1] : make_int4(0, -1, 0, -1);
#pragma unroll
                  for (int u = 0; u < 4; ++u) {
                    const int4 ib = ibs[u];
                    if (t0 + u >= count || ib.w < qg0 || ib.z >= qg1) continue;  // none of my columns
                    const int4 ia = seg[2 * (t0 + u)];
                    if (!multi) {
                        fwd_apply(ia, ib, me, d, p0, q0, pl.tp, pl.tq, qg0, qg1, rowmod, colmod, w, tile);
                    } else {
                        for (int slot = tid; slot < ns; slot += kThreads)
                            fwd_apply(ia, ib, fwd_owner(slot, d), d, p0, q0, pl.tp, pl.tq, qg0, qg1, rowmod, colmod,
                                      w, tile);
                    }
                  }
                }
            }
        }
        __syncthreads();  // before the next round overwrites the list
    }

    float* yn = y + 1LL * n * d.k * d.pq;
    if (pl.tq == d.q) {  // whole rows: per filter one contiguous run of (p1 - p0) * Q outputs
        const int len = (p1 - p0) * d.q;
        for (int k = 0; k < d.k; ++k) write_span(yn + k * d.pq + 1LL * p0 * d.q, tile + k * plane, len, tid, kThreads);
    } else {
        const int tpv = p1 - p0, tqv = q1 - q0, per_k = tpv * tqv;
        for (int e = tid; e < d.k * per_k; e += kThreads) {
            const int k = e / per_k, rem = e % per_k, pp = rem / tqv, qq = rem % tqv;
            yn[k * d.pq + 1LL * (p0 + pp) * d.q + q0 + qq] = tile[(k * pl.tp + pp) * pl.tq + qq];
        }
    }
}

// ---- forward, bucketed (the path taken when the caller passes scratch) --------------
//
// 1. sparse_bucket_kernel, one block per image: a stable counting sort of the image's
//    entries by output-row band (TP >= A output rows, so an entry touches one band or two
//    neighbouring ones, and is then copied into both buckets).  The image's entries are cut
//    into kBkWarps contiguous segments, one per warp; pass 1 counts (warp, band) pairs
//    (integer shared atomics: the counts do not depend on their order), a scan turns the
//    counts into a cursor per (warp, band) laid out band-major, and pass 2 walks each
//    segment again, 32 entries at a time, ranking each copy among the earlier entries of
//    the 32 with a copy in the same band.  So bucket b holds exactly the entries that touch
//    band b, decoded ({value bits, c*R*S, padded row, padded col}), in entry order.
// 2. sparse_gather_kernel, one block per (image, band, column tile): starts from the bias
//    in shared memory, walks only its bucket, and writes its outputs once (a block whose
//    bucket is empty writes the bias straight out).  Thread (k, q mod B, column group)
//    owns every output of its filter, residue and columns in all TP rows: an entry gives it
//    one column at most, so every output is summed by one thread, in entry order -- the
//    same order as the single-kernel path, whatever the band and tile sizes.
constexpr int kBkThreads = 1024;       // bucket kernel block
constexpr int kBkWarps = kBkThreads / 32;
constexpr int kBkCache = 4;            // bucket kernel: 32-entry chunks per warp kept in registers
constexpr int kMaxBands = 512;         // bands per image at most (shared counts: kBkWarps x bands)
constexpr int kTile2Floats = 9216;     // gather tile, at most (36 KB: four blocks per SM with the list)
constexpr int kList2 = 256;            // gather: bucket items staged per step
constexpr long long kFwd2Blocks = 256; // gather: tiles in all the plan aims for (small batches)
constexpr int kSortGroups = 32;        // gather: column groups at most for the in-block sort
constexpr int kSortMin = 32;           // gather: items in a step from which the step is sorted

struct Fwd2Plan {
    int ok;              // 0: the shape does not fit this path (the single-kernel path is used)
    int tp, nb;          // band height (output rows, >= A unless one band) and bands per image
    int tq, tiles_q, tiles;
    size_t smem;         // gather kernel dynamic shared memory
    size_t bk_smem;      // bucket kernel dynamic shared memory
    size_t starts_bytes; // scratch: N x (nb + 1) bucket starts, rounded up to 16 bytes
};

Fwd2Plan fwd2_plan(const Dims& d) {
    Fwd2Plan pl{};
    const int tpmin = std::min(d.p, std::max(d.a, (d.p + kMaxBands - 1) / kMaxBands));
    if (1LL * d.k * tpmin > kTile2Floats) return pl;
    const long long per_image = 1LL * d.k * d.pq;
    const long long want = std::max(1LL, (kFwd2Blocks + d.n - 1) / d.n);
    long long budget = (per_image + want - 1) / want;
    budget = std::max<long long>(budget, std::max<long long>(kMinTileFloats, 1LL * d.k * tpmin));
    budget = std::min<long long>(budget, kTile2Floats);
    pl.tq = int(std::max<long long>(1, std::min<long long>(d.q, budget / (1LL * d.k * tpmin))));
    pl.tp = pl.tq == d.q ? int(std::min<long long>(d.p, std::max<long long>(tpmin, budget / (1LL * d.k * d.q))))
                         : tpmin;
    pl.nb = (d.p + pl.tp - 1) / pl.tp;
    if (pl.nb > kMaxBands) return pl;
    pl.tiles_q = (d.q + pl.tq - 1) / pl.tq;
    const long long tiles = 1LL * pl.nb * pl.tiles_q;
    if (tiles >= (1LL << 31)) return pl;
    pl.tiles = int(tiles);
    pl.smem = size_t(kList2) * (2 * sizeof(int4) + sizeof(int)) + sizeof(float) * size_t(d.k) * pl.tp * pl.tq;
    pl.bk_smem = sizeof(int) * size_t(kBkWarps) * size_t(pl.nb);
    pl.starts_bytes = (sizeof(uint32_t) * size_t(d.n) * size_t(pl.nb + 1) + 15) / 16 * 16;
    pl.ok = 1;
    return pl;
}

// The bands an entry touches: b0 (-1: none) and b1 (-1: only b0); it = the decoded entry.
__host__ __device__ inline void bands_of(uint32_t w0, uint32_t w1, uint32_t w2, const Dims& d, int tp, int& b0,
                                         int& b1, int4& it) {
    int4 ib;
    b0 = b1 = -1;
    if (!decode_fwd(w0, w1, w2, d, 0, d.p, 0, d.q, it, ib)) return;
    b0 = ib.x / tp;
    const int bh = ib.y / tp;
    if (bh != b0) b1 = bh;
}

__global__ void __launch_bounds__(kBkThreads)
sparse_bucket_kernel(Dims d, int tp, int nb, const uint32_t* __restrict__ words, const uint32_t* __restrict__ offsets,
                     uint32_t* __restrict__ starts, int4* __restrict__ items, int n0) {
    SPARSE_DYN_SMEM(int, cnt);  // kBkWarps x nb: counts, then cursors
    __shared__ int sc[2][kMaxBands];
    const int tid = int(threadIdx.x), lane = tid & 31, warp = tid >> 5;
    const int n = n0 + int(blockIdx.x);
    const uint64_t first = offsets[n];
    const uint64_t end = offsets[n + 1] > first ? uint64_t(offsets[n + 1]) : first;
    const uint64_t count = end - first;
    const uint64_t seg_lo = first + count * uint64_t(warp) / kBkWarps;
    const uint64_t seg_hi = first + count * uint64_t(warp + 1) / kBkWarps;
    int* mine = cnt + warp * nb;
    for (int i = tid; i < kBkWarps * nb; i += kBkThreads) cnt[i] = 0;
    __syncthreads();
    // The segment's first kBkCache*32 entries are loaded once, all at once, and kept in
    // registers for pass 2.
    uint32_t raw[kBkCache][3];
#pragma unroll
    for (int ci = 0; ci < kBkCache; ++ci) {
        const uint64_t e = seg_lo + uint64_t(32 * ci + lane);
        raw[ci][0] = raw[ci][1] = raw[ci][2] = 0;
        if (e < seg_hi) {
            const uint32_t* p = words + 3 * e;
            raw[ci][0] = load_ro(p);
            raw[ci][1] = load_ro(p + 1);
            raw[ci][2] = load_ro(p + 2);
        }
    }
    auto count_one = [&](uint32_t w0, uint32_t w1, uint32_t w2) {
        int b0, b1;
        int4 it;
        bands_of(w0, w1, w2, d, tp, b0, b1, it);
        if (b0 >= 0) atomicAdd(mine + b0, 1);
        if (b1 >= 0) atomicAdd(mine + b1, 1);
    };
#pragma unroll
    for (int ci = 0; ci < kBkCache; ++ci)
        if (seg_lo + uint64_t(32 * ci + lane) < seg_hi) count_one(raw[ci][0], raw[ci][1], raw[ci][2]);
    for (uint64_t base = seg_lo + 32 * kBkCache; base < seg_hi; base += 32) {
        const uint64_t e = base + uint64_t(lane);
        if (e < seg_hi) {
            const uint32_t* p = words + 3 * e;
            count_one(load_ro(p), load_ro(p + 1), load_ro(p + 2));
        }
    }
    __syncthreads();
    int total = 0;
    if (tid < nb) {
        for (int w = 0; w < kBkWarps; ++w) total += cnt[w * nb + tid];
        sc[0][tid] = total;
    }
    __syncthreads();
    int src = 0;
    for (int off = 1; off < nb; off <<= 1) {  // inclusive scan over the bands (Hillis-Steele)
        if (tid < nb) sc[src ^ 1][tid] = sc[src][tid] + (tid >= off ? sc[src][tid - off] : 0);
        src ^= 1;
        __syncthreads();
    }
    if (tid < nb) {
        const int incl = sc[src][tid];
        int at = incl - total;
        uint32_t* st = starts + uint64_t(n) * uint64_t(nb + 1);
        st[tid] = uint32_t(at);
        if (tid == nb - 1) st[nb] = uint32_t(incl);
        for (int w = 0; w < kBkWarps; ++w) {
            const int c = cnt[w * nb + tid];
            cnt[w * nb + tid] = at;
            at += c;
        }
    }
    __syncthreads();
    int4* out = items + 2 * first;
    // Pass 2, 32 entries at a time (the whole warp together): entry e of the segment.
    auto place = [&](uint64_t e, uint32_t w0, uint32_t w1, uint32_t w2) {
        int b0 = -1, b1 = -1;
        int4 it = make_int4(0, 0, 0, 0);
        if (e < seg_hi) bands_of(w0, w1, w2, d, tp, b0, b1, it);
        int r0 = 0, r1 = 0, t0 = 0, t1 = 0;  // rank among the earlier lanes, total in the 32
        for (int s = 0; s < 32; ++s) {
            const int c0 = __shfl_sync(0xffffffffu, b0, s), c1 = __shfl_sync(0xffffffffu, b1, s);
            const int m0 = b0 >= 0 && (c0 == b0 || c1 == b0), m1 = b1 >= 0 && (c0 == b1 || c1 == b1);
            t0 += m0;
            t1 += m1;
            if (s < lane) {
                r0 += m0;
                r1 += m1;
            }
        }
        const int at0 = b0 >= 0 ? mine[b0] + r0 : 0, at1 = b1 >= 0 ? mine[b1] + r1 : 0;
        __syncwarp();
        if (b0 >= 0) {
            out[at0] = it;
            if (r0 == t0 - 1) mine[b0] = at0 + 1;
        }
        if (b1 >= 0) {
            out[at1] = it;
            if (r1 == t1 - 1) mine[b1] = at1 + 1;
        }
        __syncwarp();
    };
#pragma unroll
    for (int ci = 0; ci < kBkCache; ++ci)
        if (seg_lo + uint64_t(32 * ci) < seg_hi)  // the same in the whole warp
            place(seg_lo + uint64_t(32 * ci + lane), raw[ci][0], raw[ci][1], raw[ci][2]);
    for (uint64_t base = seg_lo + 32 * kBkCache; base < seg_hi; base += 32) {
        const uint64_t e = base + uint64_t(lane);
        uint32_t w0 = 0, w1 = 0, w2 = 0;
        if (e < seg_hi) {
            const uint32_t* p = words + 3 * e;
            w0 = load_ro(p);
            w1 = load_ro(p + 1);
            w2 = load_ro(p + 2);
        }
        place(e, w0, w1, w2);
    }
}

// Block-cooperative fill of len floats of global dst with v (16-byte stores where aligned).
__host__ __device__ inline void fill_span(float* dst, float v, int len, int tid, int nthreads) {
    int head = int(((16u - unsigned(reinterpret_cast<uintptr_t>(dst) & 15u)) & 15u) >> 2);
    if (head > len) head = len;
    if (tid < head) dst[tid] = v;
    const int nv = (len - head) >> 2;
    float4* d4 = reinterpret_cast<float4*>(dst + head);
    for (int m = tid; m < nv; m += nthreads) d4[m] = make_float4(v, v, v, v);
    for (int t = head + 4 * nv + tid; t < len; t += nthreads) dst[t] = v;
}

__global__ void __launch_bounds__(kThreads, 4)
sparse_gather_kernel(Dims d, Fwd2Plan pl, const uint32_t* __restrict__ starts, const int4* __restrict__ items,
                     const uint32_t* __restrict__ offsets, const float* __restrict__ w, const float* __restrict__ bias,
                     float* __restrict__ y, int n0) {
    SPARSE_DYN_SMEM(int4, smem);
    int4* la = smem;
    int4* lb = la + kList2;
    int* lm = reinterpret_cast<int*>(lb + kList2);
    float* tile = reinterpret_cast<float*>(lm + kList2);
    const int tid = int(threadIdx.x);
    const int n = n0 + int(blockIdx.y);
    const int band = int(blockIdx.x) / pl.tiles_q, ct = int(blockIdx.x) % pl.tiles_q;
    const int p0 = band * pl.tp, q0 = ct * pl.tq;
    const int p1 = min(d.p, p0 + pl.tp), q1 = min(d.q, q0 + pl.tq);
    const int tpv = p1 - p0, tqv = q1 - q0;
    const uint32_t* st = starts + uint64_t(n) * uint64_t(pl.nb + 1);
    const uint32_t s_lo = st[band], s_hi = st[band + 1];
    float* yn = y + 1LL * n * d.k * d.pq;
    if (s_lo >= s_hi) {  // no entry touches the band: the bias, straight out
        for (int k = 0; k < d.k; ++k) {
            const float v = bias ? bias[k] : 0.0f;
            if (tqv == d.q)
                fill_span(yn + k * d.pq + 1LL * p0 * d.q, v, tpv * d.q, tid, kThreads);
            else
                for (int pp = 0; pp < tpv; ++pp) fill_span(yn + k * d.pq + 1LL * (p0 + pp) * d.q + q0, v, tqv, tid, kThreads);
        }
        return;
    }
    const int plane = pl.tp * pl.tq;
    for (int k = 0; k < d.k; ++k) {
        const float v = bias ? bias[k] : 0.0f;
        if ((plane & 3) == 0) {  // the tile starts 16-byte aligned
            float4* t4 = reinterpret_cast<float4*>(tile + k * plane);
            for (int e = tid; e < plane / 4; e += kThreads) t4[e] = make_float4(v, v, v, v);
        } else {
            for (int e = tid; e < plane; e += kThreads) tile[k * plane + e] = v;
        }
    }
    // Ownership: slots (k, q mod B) times `groups` contiguous column ranges; with more
    // slots than threads, one group and several slots per thread.
    const int ns = d.k * d.b;
    const bool multi = ns > kThreads;
    const int groups = multi ? 1 : min(kThreads / ns, tqv);
    const int g = multi ? 0 : tid / ns;
    const bool owner = g < groups;
    const int qper = (tqv + groups - 1) / groups;
    const int qg0 = q0 + g * qper, qg1 = min(q1, qg0 + qper);
    // A long step is first sorted (stably) by column group, so that each group walks only
    // the items that reach its columns (an item reaches two groups at most: qper >= B).
    __shared__ int sl[2 * kList2];                   // item indices, group after group
    __shared__ int wcnt[kWarps * kSortGroups];       // per (warp, group): count, then cursor
    __shared__ int gstart[kSortGroups + 1];
    const bool can_sort = !multi && groups >= 2 && groups <= kSortGroups && qper >= d.b;
    const int lane = tid & 31, warp = tid >> 5;
    const int4* src = items + 2 * uint64_t(offsets[n]);
    for (uint32_t base = s_lo; base < s_hi; base += kList2) {
        const int m_end = s_hi - base < uint32_t(kList2) ? int(s_hi - base) : kList2;
        for (int i = tid; i < m_end; i += kThreads) {
            const int4 it = src[base + uint32_t(i)];
            int plo, phi, qlo, qhi;
            cover(it.z, d.r, d.stride, plo, phi);
            cover(it.w, d.s, d.stride, qlo, qhi);
            plo = plo > p0 ? plo : p0;
            phi = phi < p1 - 1 ? phi : p1 - 1;
            qlo = qlo > q0 ? qlo : q0;
            qhi = qhi < q1 - 1 ? qhi : q1 - 1;
            if (qlo > qhi) phi = plo - 1;  // dead (only in another column tile)
            la[i] = it;
            lb[i] = make_int4(plo, phi, qlo, qhi);
            lm[i] = qlo % d.b;
        }
        const bool sorted = can_sort && m_end >= kSortMin;
        if (sorted) {
            for (int i = tid; i < kWarps * kSortGroups; i += kThreads) wcnt[i] = 0;
            int k0 = -1, k1 = -1;
            if (tid < m_end) {
                const int4 ib = lb[tid];  // written by this thread
                if (ib.x <= ib.y) {
                    k0 = (ib.z - q0) / qper;
                    k1 = (ib.w - q0) / qper;
                    if (k1 == k0) k1 = -1;
                }
            }
            int r0 = 0, r1 = 0, t0 = 0, t1 = 0;
            for (int sidx = 0; sidx < 32; ++sidx) {
                const int c0 = __shfl_sync(0xffffffffu, k0, sidx), c1 = __shfl_sync(0xffffffffu, k1, sidx);
                const int m0 = k0 >= 0 && (c0 == k0 || c1 == k0), m1 = k1 >= 0 && (c0 == k1 || c1 == k1);
                t0 += m0;
                t1 += m1;
                if (sidx < lane) {
                    r0 += m0;
                    r1 += m1;
                }
            }
            __syncthreads();  // wcnt zeroed
            if (k0 >= 0 && r0 == t0 - 1) wcnt[warp * kSortGroups + k0] = t0;
            if (k1 >= 0 && r1 == t1 - 1) wcnt[warp * kSortGroups + k1] = t1;
            __syncthreads();
            if (warp == 0) {
                int tot = 0;
                if (lane < groups)
                    for (int wv = 0; wv < kWarps; ++wv) tot += wcnt[wv * kSortGroups + lane];
                int incl = tot;
                for (int off = 1; off < 32; off <<= 1) {
                    const int up = __shfl_sync(0xffffffffu, incl, lane >= off ? lane - off : 0);
                    if (lane >= off) incl += up;
                }
                if (lane < groups) {
                    int at = incl - tot;
                    gstart[lane] = at;
                    if (lane == groups - 1) gstart[groups] = incl;
                    for (int wv = 0; wv < kWarps; ++wv) {
                        const int c = wcnt[wv * kSortGroups + lane];
                        wcnt[wv * kSortGroups + lane] = at;
                        at += c;
                    }
                }
            }
            __syncthreads();
            if (k0 >= 0) sl[wcnt[warp * kSortGroups + k0] + r0] = tid;
            if (k1 >= 0) sl[wcnt[warp * kSortGroups + k1] + r1] = tid;
        }
        __syncthreads();  // (the first time also: the tile holds the bias)
        if (owner) {
            for (int slot = multi ? tid : tid % ns; slot < ns; slot += multi ? kThreads : ns) {
                const int k = slot / d.b, bres = slot % d.b;
                const float* wk = w + k * d.crs;
                float* tk = tile + k * plane - p0 * pl.tq - q0;
                const int u_lo = sorted ? gstart[g] : 0, u_hi = sorted ? gstart[g + 1] : m_end;
                for (int u = u_lo; u < u_hi; ++u) {
                    const int t = sorted ? sl[u] : u;
                    const int4 ib = lb[t];
                    if (ib.x > ib.y) continue;
                    int dq = bres - lm[t];
                    if (dq < 0) dq += d.b;
                    const int q = ib.z + dq;
                    if (q > ib.w || q < qg0 || q >= qg1) continue;
                    const int4 ia = la[t];
                    const float v = bits_float(ia.x);
                    const float* wq = wk + ia.y + (ia.w - q * d.stride);
                    for (int p = ib.x; p <= ib.y; ++p)
                        tk[p * pl.tq + q] += v * load_ro(wq + (ia.z - p * d.stride) * d.s);
                }
            }
        }
        __syncthreads();  // before the next step overwrites the list, or the tile is written
    }
    if (tqv == d.q) {
        for (int k = 0; k < d.k; ++k)
            write_span(yn + k * d.pq + 1LL * p0 * d.q, tile + k * plane, tpv * d.q, tid, kThreads);
    } else {
        for (int k = 0; k < d.k; ++k)
            for (int pp = 0; pp < tpv; ++pp)
                write_span(yn + k * d.pq + 1LL * (p0 + pp) * d.q + q0, tile + k * plane + pp * pl.tq, tqv, tid,
                           kThreads);
    }
}

}  // namespace


void conv2d_sparse_forward_cuda(const Conv2dShape& sh, const SparsePixel* entries, const uint32_t* offsets,
                                const float* w, const float* b, float* y, cudaStream_t stream) {
    validate(sh);
    check_int_range(sh);
    const Dims d = dims_of(sh);
    const FwdPlan pl = fwd_plan(d);
    CUDA_CHECK(cudaFuncSetAttribute(sparse_forward_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    int(pl.smem)));
    CUDA_CHECK(cudaFuncSetAttribute(sparse_forward_kernel, cudaFuncAttributePreferredSharedMemoryCarveout,
                                    int(cudaSharedmemCarveoutMaxShared)));
    const uint32_t* words = reinterpret_cast<const uint32_t*>(entries);
    for (int n0 = 0; n0 < sh.n; n0 += 65535) {
        const int nb = std::min(sh.n - n0, 65535);
        sparse_forward_kernel<<<dim3(unsigned(pl.tiles), unsigned(nb)), kThreads, pl.smem, stream>>>(
            d, pl, words, offsets, w, b, y, n0);
        CUDA_CHECK_LAUNCH();
    }
}

size_t conv2d_sparse_forward_scratch_bytes(const Conv2dShape& sh, size_t total_entries) {
    validate(sh);
    check_int_range(sh);
    const Fwd2Plan pl = fwd2_plan(dims_of(sh));
    if (!pl.ok) return 0;
    return 16 + pl.starts_bytes + 2 * sizeof(int4) * total_entries;
}

void conv2d_sparse_forward_cuda(const Conv2dShape& sh, const SparsePixel* entries, const uint32_t* offsets,
                                const float* w, const float* b, float* y, void* scratch, cudaStream_t stream) {
    validate(sh);
    check_int_range(sh);
    const Dims d = dims_of(sh);
    const Fwd2Plan pl = fwd2_plan(d);
    if (!scratch || !pl.ok) {
        conv2d_sparse_forward_cuda(sh, entries, offsets, w, b, y, stream);
        return;
    }
    char* base = reinterpret_cast<char*>((reinterpret_cast<uintptr_t>(scratch) + 15u) & ~uintptr_t(15));
    uint32_t* starts = reinterpret_cast<uint32_t*>(base);
    int4* items = reinterpret_cast<int4*>(base + pl.starts_bytes);
    CUDA_CHECK(cudaFuncSetAttribute(sparse_bucket_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    int(pl.bk_smem)));
    CUDA_CHECK(cudaFuncSetAttribute(sparse_gather_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                    int(pl.smem)));
    const uint32_t* words = reinterpret_cast<const uint32_t*>(entries);
    for (int n0 = 0; n0 < sh.n; n0 += 65535) {
        const int nb = std::min(sh.n - n0, 65535);
        sparse_bucket_kernel<<<unsigned(nb), kBkThreads, pl.bk_smem, stream>>>(d, pl.tp, pl.nb, words, offsets,
                                                                               starts, items, n0);
        CUDA_CHECK_LAUNCH();
        sparse_gather_kernel<<<dim3(unsigned(pl.tiles), unsigned(nb)), kThreads, pl.smem, stream>>>(
            d, pl, starts, items, offsets, w, b, y, n0);
        CUDA_CHECK_LAUNCH();
    }
}

}  // namespace flowpic
