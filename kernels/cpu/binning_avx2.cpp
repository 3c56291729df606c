// Optimised CPU binning (see binning_avx2.h for the method).  Every pixel decision goes
// through the reference's rule in binning.h; only the bookkeeping around it differs.
#include "kernels/cpu/binning_avx2.h"

#include "kernels/cpu/cpu_features.h"

#include <omp.h>

#include <cstddef>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstring>
#include <exception>
#include <limits>
#include <stdexcept>

namespace flowpic {

namespace {

constexpr float kGreyUp = 200.0f;   // the reference's grey levels (binning.h)
constexpr float kGreyDown = 50.0f;

// packet_pixel's column for one packet time.  (t - t0) is formed in double instead of
// int64: both are integers below 2^32, so the subtraction is exact and the value is the
// one packet_pixel divides; the divisions and multiplication are the reference's own
// (tcbench: the span in seconds is computed once, the same double packet_pixel divides by).
struct ColumnRule {
    double t0, span, n;
    int ni;
    bool zero_span;  // D == 0: everything in column 0
    bool tcbench;
    double span_s;
    ColumnRule(const TimeAxis& a, int resolution, BinArith arith)
        : t0(double(a.t0)), span(double(a.span)), n(double(resolution)), ni(resolution),
          zero_span(a.span == 0), tcbench(arith == BinArith::tcbench), span_s(double(a.span) / 1e6) {}
    int operator()(uint32_t t) const {
        if (zero_span) return 0;
        return numpy_bin(tcbench ? (double(t) - t0) / 1e6 / span_s * n : (double(t) - t0) / span * n, ni);
    }
};

inline int row_of(const int16_t* rows, uint16_t size) { return size <= kMtu ? rows[size] : -1; }

// A kept packet's sort key: channel, row, column, then "client->server" in the lowest
// bit, so keys order exactly as pixels do and equal pixels are neighbours.  N <= 1500
// fits in 11 bits.
inline uint32_t pixel_key(uint32_t ch, uint32_t row, uint32_t col, uint32_t up) {
    return ch << 23 | row << 12 | col << 1 | up;
}
static_assert(kMaxResolution < 2048, "rows and columns are 11-bit fields of the key");

// Pass 1, one packet at a time: bucket (channel * N + row, or `dropped`) and key.
void classify_scalar(const WindowPacket* p, uint32_t count, const ColumnRule& column, const int16_t* rows,
                     uint32_t n, bool by_channel, uint32_t dropped, uint32_t* bucket, uint32_t* key) {
    for (uint32_t i = 0; i < count; ++i) {
        const int row = row_of(rows, p[i].size);
        const int col = column(p[i].t_us);
        const uint32_t ch = by_channel && p[i].dir == 0 ? 1u : 0u;  // packet_channel()
        const bool keep = row >= 0 && col >= 0;
        bucket[i] = keep ? ch * n + uint32_t(row) : dropped;
        key[i] = keep ? pixel_key(ch, uint32_t(row), uint32_t(col), p[i].dir == 1) : 0;
    }
}

#if defined(__AVX2__)
const __m256i kEvenOdd = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);

// numpy_bin for 4 doubles: the bin, or -1 outside [0, n] (NaN included).
inline __m128i numpy_bin4(__m256d x, __m256d n, __m128i last) {
    const __m256d ok = _mm256_and_pd(_mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_GE_OQ),
                                     _mm256_cmp_pd(x, n, _CMP_LE_OQ));
    const __m128i b = _mm_min_epi32(_mm256_cvttpd_epi32(_mm256_and_pd(x, ok)), last);  // x == n: n - 1
    const __m128i ok32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_castpd_si256(ok), kEvenOdd));
    return _mm_or_si128(_mm_and_si128(ok32, b), _mm_xor_si128(ok32, _mm_set1_epi32(-1)));
}

// Pass 1, four packets at a time, without packet_pixel's two divisions (they were half
// the time of the whole call) yet with its exact result:
// - row: y = fl(size * N / 1500) with size * N an exact integer a.  If 1500 divides a, y
//   is exact; otherwise a / 1500 is at least 1/1500 away from any integer while y is
//   within 2^-53 relative of it, so floor(y) = a / 1500 in integer arithmetic, computed
//   here as floor((a + 0.5) * (1 / 1500.0)) (at least 0.5/1500 from an integer, error
//   ~1e-13).  y <= N exactly when size <= 1500.
// - column: x = fl(fl(d / D) * N) and xf = fl(d * fl(N / D)) are both within 2 ulps
//   (relative 2^-52) of the real d * N / D, so for |xf| <= N + 0.5 <= 1500.5 they differ
//   by less than 1e-12.  When xf is further than kEps from every integer, x has the
//   same floor and lies on the same side of 0 and N, so numpy_bin(xf) = numpy_bin(x);
//   otherwise (rare: exact edges, the first packet) the four are redone with the
//   reference's own division.  Beyond N + 0.5 or below -0.5 both are dropped.
// t is unsigned: converted as (t - 2^31) + 2^31, exact.  Returns the packets done.
uint32_t classify_avx2(const WindowPacket* p, uint32_t count, const ColumnRule& c, uint32_t n, bool by_channel,
                       uint32_t dropped, uint32_t* bucket, uint32_t* key) {
    static_assert(sizeof(WindowPacket) == 8 && offsetof(WindowPacket, size) == 4 && offsetof(WindowPacket, dir) == 6,
                  "four packets are one 32-byte load: t, then size | dir << 16");
    constexpr double kEps = 1e-9;
    const __m256d t0 = _mm256_set1_pd(c.t0), span = _mm256_set1_pd(c.span), nd = _mm256_set1_pd(c.n);
    const __m256d inv = _mm256_set1_pd(c.n / c.span), bias = _mm256_set1_pd(2147483648.0);
    const __m256d lo = _mm256_set1_pd(-0.5), hi = _mm256_set1_pd(c.n + 0.5);
    const __m256d eps = _mm256_set1_pd(kEps), one_eps = _mm256_set1_pd(1.0 - kEps);
    const __m256d half = _mm256_set1_pd(0.5), inv_mtu = _mm256_set1_pd(1.0 / kMtu);
    const __m128i last = _mm_set1_epi32(int(n) - 1), one = _mm_set1_epi32(1), vn = _mm_set1_epi32(int(n));
    const __m128i vdropped = _mm_set1_epi32(int(dropped)), byte = _mm_set1_epi32(0xFF);
    const __m128i mtu = _mm_set1_epi32(kMtu);
    const __m128i split = _mm_set1_epi32(by_channel ? -1 : 0), sign = _mm_set1_epi32(int(0x80000000u));
    uint32_t i = 0;
    for (; i + 4 <= count; i += 4) {
        const __m256i raw = _mm256_permutevar8x32_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)), kEvenOdd);
        const __m128i t = _mm256_castsi256_si128(raw), sd = _mm256_extracti128_si256(raw, 1);
        const __m256d d = _mm256_sub_pd(_mm256_add_pd(_mm256_cvtepi32_pd(_mm_xor_si128(t, sign)), bias), t0);
        __m256d x = _mm256_mul_pd(d, inv);
        const __m256d f = _mm256_sub_pd(x, _mm256_round_pd(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC));
        const __m256d near_edge = _mm256_or_pd(_mm256_cmp_pd(f, eps, _CMP_LT_OQ), _mm256_cmp_pd(f, one_eps, _CMP_GT_OQ));
        const __m256d in_range = _mm256_and_pd(_mm256_cmp_pd(x, lo, _CMP_GT_OQ), _mm256_cmp_pd(x, hi, _CMP_LT_OQ));
        if (_mm256_movemask_pd(_mm256_and_pd(near_edge, in_range)))
            x = _mm256_mul_pd(_mm256_div_pd(d, span), nd);  // the reference's operations
        const __m128i col = numpy_bin4(x, nd, last);

        const __m128i size = _mm_and_si128(sd, _mm_set1_epi32(0xFFFF));
        const __m256d a = _mm256_cvtepi32_pd(_mm_mullo_epi32(size, vn));  // exact: < 2^27
        const __m128i q = _mm256_cvttpd_epi32(_mm256_mul_pd(_mm256_add_pd(a, half), inv_mtu));
        const __m128i row = _mm_or_si128(_mm_min_epi32(q, last), _mm_cmpgt_epi32(size, mtu));  // -1 above 1500

        const __m128i dir = _mm_and_si128(_mm_srli_epi32(sd, 16), byte);
        const __m128i up = _mm_and_si128(_mm_cmpeq_epi32(dir, one), one);
        const __m128i down = _mm_and_si128(_mm_cmpeq_epi32(dir, _mm_setzero_si128()), split);  // -1: channel 1
        const __m128i drop = _mm_srai_epi32(_mm_or_si128(row, col), 31);                       // -1: dropped
        const __m128i b = _mm_add_epi32(row, _mm_and_si128(down, vn));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(bucket + i), _mm_blendv_epi8(b, vdropped, drop));
        const __m128i k = _mm_or_si128(_mm_or_si128(_mm_and_si128(down, _mm_set1_epi32(1 << 23)), _mm_slli_epi32(row, 12)),
                                       _mm_or_si128(_mm_slli_epi32(col, 1), up));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(key + i), _mm_andnot_si128(drop, k));
    }
    return i;
}
#endif

enum class Merge { count, binary, grey };

// Pass 3: one pixel per run of equal keys (ignoring the direction bit), branch-free:
// every key rewrites the current pixel, and a new pixel starts where the key changes.
// Returns the pixels written, or 0 when the pixels went down somewhere (possible only
// when packet times were not sorted): then equal pixels need not be neighbours.
template <Merge M>
size_t merge_runs(const uint32_t* key, uint32_t kept, uint32_t cap, SparsePixel* out) {
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "pixel header written as one 64-bit word");
    size_t at = ~size_t(0);  // the current pixel; wraps to 0 at the first key
    uint32_t prev = 0, run = 0, up = 0;
    bool down = false;
    for (uint32_t k = 0; k < kept; ++k) {
        const uint32_t pix = key[k] >> 1;
        if (pix != prev || k == 0) {
            down |= pix < prev;
            ++at;
            const uint64_t head = uint64_t(pix >> 22) | uint64_t(pix >> 11 & 0x7FF) << 16 | uint64_t(pix & 0x7FF) << 32;
            std::memcpy(out + at, &head, sizeof head);  // channel, row, col, reserved = 0
            run = 1;
            up = key[k] & 1u;
            prev = pix;
        } else {
            ++run;
            up |= key[k] & 1u;
        }
        out[at].value = M == Merge::grey ? (up ? kGreyUp : kGreyDown) : M == Merge::binary ? 1.0f : float(std::min(run, cap));
    }
    return down ? 0 : at + 1;
}

// Count pixels are capped at count_cap (none: the largest uint32, never reached).
size_t merge(const uint32_t* key, uint32_t kept, const BinningOptions& opts, SparsePixel* out) {
    if (opts.direction == Direction::grey) return merge_runs<Merge::grey>(key, kept, 0, out);
    if (opts.values == ValueMode::binary) return merge_runs<Merge::binary>(key, kept, 0, out);
    const uint32_t cap = count_cap(opts);
    return merge_runs<Merge::count>(key, kept, cap ? cap : std::numeric_limits<uint32_t>::max(), out);
}

// Work worth waking threads for (an OpenMP region costs microseconds).
bool worth_parallel(size_t bytes_or_packets) { return bytes_or_packets >= (size_t(1) << 16); }

}  // namespace

const int16_t* RowTable::get(int resolution, BinArith arith) {
    if (resolution != resolution_ || arith != arith_) {
        rows_.resize(kMtu + 1);
        const TimeAxis any;  // the row does not depend on time
        for (int s = 0; s <= kMtu; ++s) {
            int row, col;
            WindowPacket p{0, uint16_t(s), 0, 0};
            packet_pixel(p, any, resolution, arith, row, col);
            rows_[size_t(s)] = int16_t(row);
        }
        resolution_ = resolution;
        arith_ = arith;
    }
    return rows_.data();
}

void SparseBinner::bin(const PacketListView& window, const BinningOptions& opts,
                       std::vector<SparsePixel>& out) {
    validate(opts);
    const PacketListView w = axis_view(window, opts);
    const uint32_t n = uint32_t(opts.resolution);
    const uint32_t buckets = uint32_t(channels(opts)) * n;  // (channel, row) pairs
    const uint32_t dropped = buckets;                        // one extra bucket, never emitted
    const ColumnRule column(time_axis(w, opts.normalize), opts.resolution, opts.arith);
    const bool by_channel = opts.direction == Direction::channels;
    if (bucket_.size() < w.count) {
        bucket_.resize(w.count);
        key_.resize(w.count);
        sorted_.resize(w.count);
    }

    // Pass 1: every packet's bucket and pixel key (independent per packet).
    uint32_t done = 0;
#if defined(__AVX2__)
    // FLOWPIC_CPU=scalar keeps to the scalar pass; the AVX2 pass's shortcuts are proven
    // for the flowpic arithmetic only, so tcbench's takes the scalar pass too.
    if (!column.zero_span && opts.arith == BinArith::flowpic && use_avx2())
        done = classify_avx2(w.packets, w.count, column, n, by_channel, dropped, bucket_.data(), key_.data());
#endif
    classify_scalar(w.packets + done, w.count - done, column, rows_.get(opts.resolution, opts.arith), n, by_channel,
                    dropped, bucket_.data() + done, key_.data() + done);

    // Pass 2: counting sort by bucket.  starts[b + 1] counts, then prefix sums; the
    // scatter keeps packet order inside a bucket, hence columns ascending.
    starts_.assign(size_t(buckets) + 2, 0);
    uint32_t* starts = starts_.data();
    const uint32_t* bucket = bucket_.data();
    const uint32_t* key = key_.data();
    for (uint32_t i = 0; i < w.count; ++i) ++starts[bucket[i] + 1];
    for (uint32_t b = 0; b <= buckets; ++b) starts[b + 1] += starts[b];
    const uint32_t kept = starts[dropped];
    uint32_t* sorted = sorted_.data();
    for (uint32_t i = 0; i < w.count; ++i) sorted[starts[bucket[i]]++] = key[i];

    // Pass 3: merge equal neighbours into the scratch pixels, then one copy into out
    // (resizing out would zero it first; building each pixel on the stack and
    // push_back-ing it cost a store-forwarding stall per pixel).
    if (pixels_.size() < kept) pixels_.resize(kept);
    size_t made = merge(sorted, kept, opts, pixels_.data());
    if (made == 0 && kept > 0) {
        // Outside the contract (times not sorted): columns went down inside a bucket.
        // Keys order exactly as pixels do, so a plain sort gives the reference's order.
        std::sort(sorted, sorted + kept);
        made = merge(sorted, kept, opts, pixels_.data());
    }
    out.insert(out.end(), pixels_.data(), pixels_.data() + made);
}

void SparseBatchBinner::bin(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                            SparseBatch& out) {
    validate(opts);  // before the parallel region: nothing may throw out of it
    size_t packets = 0;
    for (size_t b = 0; b < batch; ++b) packets += windows[b].count;
    const int threads = worth_parallel(packets) && batch > 1
                            ? int(std::min<size_t>(size_t(omp_get_max_threads()), batch)) : 1;
    if (parts_.size() < size_t(threads)) parts_.resize(size_t(threads));
    std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));

    // Each thread bins a contiguous share of windows into its own buffer; the shares
    // are then concatenated in order, so the result does not depend on the thread count.
#pragma omp parallel num_threads(threads)
    {
        const size_t t = size_t(omp_get_thread_num()), nt = size_t(omp_get_num_threads());
        Part& part = parts_[t];
        try {
            part.pixels.clear();
            part.ends.clear();
            for (size_t b = batch * t / nt; b < batch * (t + 1) / nt; ++b) {
                part.binner.bin(windows[b], opts, part.pixels);
                part.ends.push_back(uint32_t(part.pixels.size()));
            }
        } catch (...) {
            errors[t] = std::current_exception();
        }
    }
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);

    size_t total = 0;
    for (int t = 0; t < threads; ++t) total += parts_[size_t(t)].pixels.size();
    if (total > std::numeric_limits<uint32_t>::max())
        throw std::length_error("bin_sparse_avx2: more than 2^32 pixels in one batch");
    out.pixels.clear();
    out.pixels.reserve(total);
    out.offsets.resize(batch + 1);
    out.offsets[0] = 0;
    size_t b = 0;
    for (int t = 0; t < threads; ++t) {
        const Part& part = parts_[size_t(t)];
        const uint32_t base = uint32_t(out.pixels.size());
        for (uint32_t e : part.ends) out.offsets[++b] = base + e;
        out.pixels.insert(out.pixels.end(), part.pixels.begin(), part.pixels.end());
    }
}

template <typename T>
void DenseBinner::bin_batch(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                            T* out) {
    validate(opts);
    const size_t stride = image_size(opts), n = size_t(opts.resolution);
    const int16_t* rows = rows_.get(opts.resolution, opts.arith);
    const bool grey = opts.direction == Direction::grey;
    const bool binary = opts.values == ValueMode::binary;
    const bool by_channel = opts.direction == Direction::channels;
    // Counting up to the cap is min(count, cap): increments stop there.
    const uint32_t cap = count_cap(opts);
    const T limit = cap && double(cap) < double(std::numeric_limits<T>::max()) ? T(cap) : std::numeric_limits<T>::max();
    const long long count = (long long)batch;
    // Zeroing is most of the time at large N (9 MB per 1500^2 float image).  One memset
    // over the whole batch (or one per thread, in contiguous chunks): for large blocks
    // glibc switches to non-temporal stores, which skip reading the lines first; zeroing
    // image by image just before its scatter measured 3x slower for a batch of 128.
    const size_t total = stride * batch;
    const bool parallel = batch > 1 && worth_parallel(total);
    const long long chunks = parallel ? omp_get_max_threads() : 1;
#pragma omp parallel for schedule(static) if (parallel)
    for (long long c = 0; c < chunks; ++c) {
        const size_t from = total * size_t(c) / size_t(chunks), to = total * size_t(c + 1) / size_t(chunks);
        std::memset(out + from, 0, (to - from) * sizeof(T));  // 0.0f and 0 are all-zero bits
    }
#pragma omp parallel for schedule(static) if (parallel)
    for (long long b = 0; b < count; ++b) {
        T* img = out + stride * size_t(b);
        const PacketListView w = axis_view(windows[b], opts);
        const ColumnRule column(time_axis(w, opts.normalize), opts.resolution, opts.arith);
        for (uint32_t i = 0; i < w.count; ++i) {
            const WindowPacket& p = w.packets[i];
            const int row = row_of(rows, p.size);
            const int col = column(p.t_us);
            if (row < 0 || col < 0) continue;
            const size_t ch = by_channel && p.dir == 0 ? 1 : 0;
            T& px = img[(ch * n + size_t(row)) * n + size_t(col)];
            if (grey) {
                const T v = T(p.dir == 1 ? kGreyUp : kGreyDown);
                if (px < v) px = v;
            } else if (binary) {
                px = T(1);
            } else if (px < limit) {  // the cap; saturates uint16; never reached for float without a cap
                px += T(1);
            }
        }
    }
}

void DenseBinner::bin(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                      float* out) {
    bin_batch(windows, batch, opts, out);
}

void DenseBinner::bin(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                      uint16_t* out) {
    bin_batch(windows, batch, opts, out);
}

void bin_sparse_avx2(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                     SparseBatch& out) {
    SparseBatchBinner().bin(windows, batch, opts, out);
}

void bin_dense_avx2(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                    float* out) {
    DenseBinner().bin(windows, batch, opts, out);
}

}  // namespace flowpic
