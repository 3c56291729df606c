// AVX2/FMA convolution, direct (no im2col matrix).
//
// The input rows one band of output rows reads are copied once into a per-thread buffer,
// zero-padded and split by column phase (polyphase):
//     band[c][row][ph][m] = x[c][row0 + row][m*stride + ph - pad_left]     (0 off the image)
// so the inputs that tap (c,i,j) feeds to 16 neighbouring outputs q..q+15 are 16
// consecutive floats at band[c][(p-p0)*stride + i][j % stride][q + j / stride], at a
// fixed offset per tap.  Every op then runs one register tile: MR (<= 6) output
// channels x 16 columns, 12 accumulators, per tap 2 loads + MR broadcasts + 2*MR FMAs,
// the shape of a 6x16 SGEMM micro-kernel.  Against im2col this copies each input pixel
// once per band instead of R*S/stride^2 times (4x for FlowPicNet, 25x for LeNet) and
// keeps the copy in L2.  Backward-data is the same tile over a zero-padded band of dy
// with the taps of one (row phase, column phase) of dx; backward-weight reads the same
// x bands as forward and reduces along the output columns.
//
// Maps narrower than the tiles use im2col + SGEMM instead (conv2d_im2col_avx2.cpp).
//
// Determinism: forward and backward-data give each output element to one tile with a
// fixed tap order.  Backward-weight sums fixed groups of bands into per-group partials
// and adds the partials in group order; groups depend on the shape only, never on the
// thread count.
#include <immintrin.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kernels/conv2d.h"

#if !defined(__AVX2__) || !defined(__FMA__)
#error "conv2d_avx2.cpp needs AVX2 and FMA (-march=x86-64-v3, the Makefile's default ARCH)"
#endif

namespace flowpic {

namespace {

constexpr int kMaxMr = 6;                   // 6 x 16 tile: 12 accumulators + 2 inputs + 1 weight
constexpr int kTile = 16;                   // output columns per tile (two ymm)
constexpr long long kBandBytes = 192 << 10;  // per-thread band: stays in L2
constexpr int kMinItems = 32;               // work items per call (bands x images), for balance
constexpr int kWeightGroups = 32;           // backward-weight partial sums (fixed, see top)

int round_up(int a, int b) { return (a + b - 1) / b * b; }

// Rows per band that split `rows` of each of n images into about kMinItems bands; big
// batches get whole images, which avoids re-copying the rows two bands share.
int rows_per_band(int n, int rows) {
    int bands = std::min(rows, (kMinItems + n - 1) / n);
    return (rows + bands - 1) / bands;
}

// [start[i], start[i+1]) for near-equal pieces of at most `max`.
// Below ~2 M multiply-adds (LeNet at batch 1) a parallel region costs more than it saves:
// on a loaded machine each wait can cost a scheduler time slice.  The results do not
// depend on the thread count, so this only changes speed.
bool worth_threads(const Conv2dShape& s) {
    return 1LL * s.n * s.k * s.p * s.q * s.c * s.r * s.s >= (2LL << 20);
}

// Per-thread band buffers kept between calls: a fresh ~200 KB vector per call showed up
// as page faults in profiles.  Zeroed like a fresh vector, so the kernels see exactly
// what they saw before (tail elements they read but never write stay 0).
std::vector<float>& scratch(int which, size_t size) {
    thread_local std::vector<float> buffers[2];
    std::vector<float>& b = buffers[which];
    if (b.size() < size) b.resize(size);
    std::fill(b.begin(), b.begin() + ptrdiff_t(size), 0.0f);
    return b;
}

std::vector<int> split(int total, int max) {
    int pieces = (total + max - 1) / max;
    std::vector<int> start(pieces + 1);
    for (int i = 0; i <= pieces; ++i) start[i] = int(1LL * i * total / pieces);
    return start;
}

// out[m][0..16) = init[m] + sum_t wp[t*MR + m] * base[offs[t] + 0..16)
template <int MR>
void fma_tile(const float* base, const int* offs, int taps, const float* wp, const float* init, float* out) {
    __m256 acc[MR][2];
    for (int m = 0; m < MR; ++m) acc[m][0] = acc[m][1] = _mm256_set1_ps(init ? init[m] : 0.0f);
    for (int t = 0; t < taps; ++t) {
        const float* src = base + offs[t];
        __m256 x0 = _mm256_loadu_ps(src), x1 = _mm256_loadu_ps(src + 8);
        const float* wt = wp + t * MR;
        for (int m = 0; m < MR; ++m) {
            __m256 wv = _mm256_broadcast_ss(wt + m);
            acc[m][0] = _mm256_fmadd_ps(wv, x0, acc[m][0]);
            acc[m][1] = _mm256_fmadd_ps(wv, x1, acc[m][1]);
        }
    }
    for (int m = 0; m < MR; ++m) {
        _mm256_storeu_ps(out + m * kTile, acc[m][0]);
        _mm256_storeu_ps(out + m * kTile + 8, acc[m][1]);
    }
}

using TileFn = void (*)(const float*, const int*, int, const float*, const float*, float*);
TileFn tile_fn(int mr) {
    switch (mr) {
    case 1: return fma_tile<1>;
    case 2: return fma_tile<2>;
    case 3: return fma_tile<3>;
    case 4: return fma_tile<4>;
    case 5: return fma_tile<5>;
    default: return fma_tile<6>;
    }
}

// Packs w[rows x taps] (row-major) chunk by chunk as [chunk][tap][row in chunk], the
// order fma_tile broadcasts them in.
std::vector<float> pack_rows(const float* w, const std::vector<int>& chunks, int taps) {
    std::vector<float> wp(size_t(chunks.back()) * taps);
    for (size_t ci = 0; ci + 1 < chunks.size(); ++ci) {
        int r0 = chunks[ci], mr = chunks[ci + 1] - r0;
        for (int t = 0; t < taps; ++t)
            for (int m = 0; m < mr; ++m) wp[size_t(r0) * taps + size_t(t) * mr + m] = w[size_t(r0 + m) * taps + t];
    }
    return wp;
}

__m256i tail_mask(int valid) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

void check_int_range(long long elements) {
    if (elements >= INT_MAX) throw std::invalid_argument("conv2d_avx2: shape too large for the band buffer");
}

// The x band of forward and backward-weight (layout at the top of the file).
struct XBand {
    int pb;      // output rows per band
    int rows;    // input rows per band: (pb-1)*stride + R
    int phases;  // min(stride, S): column phases any tap reads
    int width;   // m per phase: round_up(Q, 16) + (S-1)/stride
    long long row_stride() const { return 1LL * phases * width; }
    long long chan_stride() const { return rows * row_stride(); }

    explicit XBand(const Conv2dShape& s) {
        phases = std::min(s.stride, s.s);
        width = round_up(s.q, kTile) + (s.s - 1) / s.stride;
        long long row_bytes = 4LL * s.c * phases * width;
        long long fit = kBandBytes / row_bytes;  // input rows the budget holds
        pb = int(std::max(1LL, std::min<long long>((fit - s.r) / s.stride + 1, s.p)));
        pb = std::min(pb, rows_per_band(s.n, s.p));
        rows = (pb - 1) * s.stride + s.r;
        check_int_range(s.c * chan_stride());
    }

    // Offset of tap (c,i,j) from the band position of output (p0, q = 0).
    std::vector<int> tap_offsets(const Conv2dShape& s) const {
        std::vector<int> offs;
        for (int c = 0; c < s.c; ++c)
            for (int i = 0; i < s.r; ++i)
                for (int j = 0; j < s.s; ++j)
                    offs.push_back(int(c * chan_stride() + i * row_stride() + (j % s.stride) * width + j / s.stride));
        return offs;
    }

    // Copies the rows of image xn that output rows p0.. read.
    void fill(const Conv2dShape& s, const float* xn, int p0, float* band) const {
        int row0 = p0 * s.stride - s.pad_top;
        for (int c = 0; c < s.c; ++c)
            for (int r = 0; r < rows; ++r) {
                float* dst = band + c * chan_stride() + r * row_stride();
                int in_row = row0 + r;
                if (in_row < 0 || in_row >= s.h) {
                    std::memset(dst, 0, sizeof(float) * row_stride());
                    continue;
                }
                const float* src = xn + (size_t(c) * s.h + in_row) * s.w;
                for (int ph = 0; ph < phases; ++ph, dst += width) {
                    // col = m*stride + ph - pad_left must lie in [0, W)
                    int first = s.pad_left - ph > 0 ? (s.pad_left - ph + s.stride - 1) / s.stride : 0;
                    const int last = s.w - 1 + s.pad_left - ph;  // may be < 0: no m at all
                    int end = last < 0 ? 0 : last / s.stride + 1;
                    first = std::min(first, width);
                    end = std::max(first, std::min(end, width));
                    std::fill(dst, dst + first, 0.0f);
                    const float* from = src + first * s.stride + ph - s.pad_left;
                    if (s.stride == 1) {
                        std::memcpy(dst + first, from, sizeof(float) * (end - first));
                    } else {
                        const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                               _mm256_set1_epi32(s.stride));
                        int m = first;
                        for (; m + 8 <= end; m += 8)
                            _mm256_storeu_ps(dst + m, _mm256_i32gather_ps(from + size_t(m - first) * s.stride, idx, 4));
                        for (; m < end; ++m) dst[m] = from[size_t(m - first) * s.stride];
                    }
                    std::fill(dst + end, dst + width, 0.0f);
                }
            }
    }
};

// acc[kb][tb] += sum over rows and columns of dy[kb] * x[tap tb]; then into part.
template <int KB, int TB>
void dw_tile(const float* dy, long long dy_kstride, int q_count, int row_count, const float* band,
             long long band_rstep, const int* offs, float* part, int part_kstride) {
    __m256 acc[KB][TB];
    for (int a = 0; a < KB; ++a)
        for (int t = 0; t < TB; ++t) acc[a][t] = _mm256_setzero_ps();
    const int full = q_count & ~7;
    const __m256i mask = tail_mask(q_count - full);
    for (int pr = 0; pr < row_count; ++pr) {
        const float* d = dy + size_t(pr) * q_count;
        const float* xr = band + pr * band_rstep;
        for (int q = 0; q < full; q += 8) {
            __m256 dv[KB];
            for (int a = 0; a < KB; ++a) dv[a] = _mm256_loadu_ps(d + a * dy_kstride + q);
            for (int t = 0; t < TB; ++t) {
                __m256 xv = _mm256_loadu_ps(xr + offs[t] + q);
                for (int a = 0; a < KB; ++a) acc[a][t] = _mm256_fmadd_ps(dv[a], xv, acc[a][t]);
            }
        }
        if (full < q_count) {  // masked: lanes past Q add exactly 0
            __m256 dv[KB];
            for (int a = 0; a < KB; ++a) dv[a] = _mm256_maskload_ps(d + a * dy_kstride + full, mask);
            for (int t = 0; t < TB; ++t) {
                __m256 xv = _mm256_maskload_ps(xr + offs[t] + full, mask);
                for (int a = 0; a < KB; ++a) acc[a][t] = _mm256_fmadd_ps(dv[a], xv, acc[a][t]);
            }
        }
    }
    for (int a = 0; a < KB; ++a)
        for (int t = 0; t < TB; ++t) part[a * part_kstride + t] += hsum(acc[a][t]);
}

using DwFn = void (*)(const float*, long long, int, int, const float*, long long, const int*, float*, int);
template <int KB>
DwFn dw_fn_tb(int tb) {
    return tb == 1 ? dw_tile<KB, 1> : tb == 2 ? dw_tile<KB, 2> : dw_tile<KB, 3>;
}
DwFn dw_fn(int kb, int tb) {
    return kb == 1 ? dw_fn_tb<1>(tb) : kb == 2 ? dw_fn_tb<2>(tb) : dw_fn_tb<3>(tb);
}

}  // namespace

void conv2d_forward_avx2(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) {
    validate(s);
    if (conv2d_im2col_pays(s)) return conv2d_forward_im2col_avx2(s, x, w, b, y);
    const XBand band_shape(s);
    const std::vector<int> offs = band_shape.tap_offsets(s);
    const int taps = int(offs.size());
    const std::vector<int> kchunks = split(s.k, kMaxMr);
    const std::vector<float> wp = pack_rows(w, kchunks, taps);
    const int bands = (s.p + band_shape.pb - 1) / band_shape.pb;
    const long long items = 1LL * s.n * bands;
    const long long prow_step = s.stride * band_shape.row_stride();

#pragma omp parallel if (worth_threads(s))
    {
        std::vector<float>& band = scratch(0, size_t(s.c * band_shape.chan_stride()));
        alignas(32) float out[kMaxMr * kTile];
#pragma omp for schedule(dynamic, 1)
        for (long long it = 0; it < items; ++it) {
            const long long n = it / bands;
            const int p0 = int(it % bands) * band_shape.pb, p1 = std::min(s.p, p0 + band_shape.pb);
            band_shape.fill(s, x + n * s.c * s.h * s.w, p0, band.data());
            for (size_t ci = 0; ci + 1 < kchunks.size(); ++ci) {
                const int k0 = kchunks[ci], mr = kchunks[ci + 1] - k0;
                const TileFn fn = tile_fn(mr);
                for (int p = p0; p < p1; ++p) {
                    const float* base = band.data() + (p - p0) * prow_step;
                    for (int q0 = 0; q0 < s.q; q0 += kTile) {
                        fn(base + q0, offs.data(), taps, wp.data() + size_t(k0) * taps, b ? b + k0 : nullptr, out);
                        const int nq = std::min(kTile, s.q - q0);
                        for (int m = 0; m < mr; ++m)
                            std::memcpy(y + ((n * s.k + k0 + m) * s.p + p) * s.q + q0, out + m * kTile,
                                        sizeof(float) * nq);
                    }
                }
            }
        }
    }
}

// dx at padded row v = h + pad_top, column u = w + pad_left, with v = g*stride + rho and
// u = m*stride + phi, gathers the taps i = rho + stride*bb, j = phi + stride*a:
//     dx = sum_{k,bb,a} w[k,c,i,j] * dy[k, g - bb, m - a]
// For one (rho, phi) that is fma_tile over 16 consecutive m with fixed offsets into a
// zero-padded band of dy; each tile's 16 results go to every stride-th dx column.
void conv2d_backward_data_avx2(const Conv2dShape& s, const float* dy, const float* w, float* dx) {
    validate(s);
    if (conv2d_im2col_pays(s)) return conv2d_backward_data_im2col_avx2(s, dy, w, dx);
    const int st = s.stride;
    const int nb = (s.r - 1) / st + 1, na = (s.s - 1) / st + 1;  // most taps per row/column phase
    const int rho_n = std::min(st, s.r), phi_n = std::min(st, s.s);
    // dy band: rows g - bb of the band's dx rows; columns m - a for the tiles' m.
    const int m_lo = s.pad_left / st, m_hi = (s.pad_left + s.w - 1) / st;
    const int m_tiles = round_up(m_hi - m_lo + 1, kTile);
    const int col_lo = m_lo - (na - 1), cols = m_tiles + na - 1;
    const long long row_bytes = 4LL * s.k * cols;
    const int g_fit = int(std::max(1LL, kBandBytes / row_bytes - nb - 1));
    const int g_total = (s.h + st - 1) / st;
    const int hb = st * std::max(1, std::min(g_fit, rows_per_band(s.n, g_total)));
    const int rows = (hb - 1) / st + 2 + (nb - 1);
    const long long kstride = 1LL * rows * cols;
    check_int_range(s.k * kstride);

    // Taps and packed weights per (rho, phi), in the order k, bb, a; channels in chunks.
    const std::vector<int> cchunks = split(s.c, kMaxMr);
    std::vector<std::vector<int>> offs(rho_n * phi_n);
    std::vector<std::vector<float>> wp(rho_n * phi_n);
    for (int rho = 0; rho < rho_n; ++rho)
        for (int phi = 0; phi < phi_n; ++phi) {
            std::vector<int>& o = offs[rho * phi_n + phi];
            std::vector<float> wt;  // [c][tap]
            for (int k = 0; k < s.k; ++k)
                for (int i = rho, bb = 0; i < s.r; i += st, ++bb)
                    for (int j = phi, a = 0; j < s.s; j += st, ++a) o.push_back(int(k * kstride - bb * cols - a));
            const int taps = int(o.size());
            wt.resize(size_t(s.c) * taps);
            for (int c = 0; c < s.c; ++c) {
                int t = 0;
                for (int k = 0; k < s.k; ++k)
                    for (int i = rho; i < s.r; i += st)
                        for (int j = phi; j < s.s; j += st) wt[size_t(c) * taps + t++] = w[((size_t(k) * s.c + c) * s.r + i) * s.s + j];
            }
            wp[rho * phi_n + phi] = pack_rows(wt.data(), cchunks, taps);
        }

    const int bands = (s.h + hb - 1) / hb;
    const long long items = 1LL * s.n * bands;
    const bool gaps = st > s.r || st > s.s;  // some dx rows or columns receive no tap

#pragma omp parallel if (worth_threads(s))
    {
        std::vector<float>& dyb = scratch(1, size_t(s.k * kstride));
        alignas(32) float out[kMaxMr * kTile];
#pragma omp for schedule(dynamic, 1)
        for (long long it = 0; it < items; ++it) {
            const long long n = it / bands;
            const int v0 = s.pad_top + int(it % bands) * hb, v1 = std::min(s.pad_top + s.h, v0 + hb);
            const int row_lo = v0 / st - (nb - 1);
            const int first = std::max(0, -col_lo), end = std::max(first, std::min(cols, s.q - col_lo));
            for (int k = 0; k < s.k; ++k)
                for (int r = 0; r < rows; ++r) {
                    float* dst = dyb.data() + k * kstride + size_t(r) * cols;
                    const int p = row_lo + r;
                    if (p < 0 || p >= s.p) {
                        std::fill(dst, dst + cols, 0.0f);
                        continue;
                    }
                    std::fill(dst, dst + first, 0.0f);
                    std::memcpy(dst + first, dy + ((n * s.k + k) * s.p + p) * s.q + col_lo + first, sizeof(float) * (end - first));
                    std::fill(dst + end, dst + cols, 0.0f);
                }
            for (int v = v0; v < v1; ++v) {
                const int rho = v % st, g = v / st, h = v - s.pad_top;
                if (gaps)
                    for (int c = 0; c < s.c; ++c) std::memset(dx + ((n * s.c + c) * s.h + h) * s.w, 0, sizeof(float) * s.w);
                if (rho >= rho_n) continue;
                for (int phi = 0; phi < phi_n; ++phi) {
                    const std::vector<int>& o = offs[rho * phi_n + phi];
                    const int taps = int(o.size());
                    for (int m0 = m_lo; m0 <= m_hi; m0 += kTile) {
                        const float* base = dyb.data() + size_t(g - row_lo) * cols + (m0 - col_lo);
                        for (size_t ci = 0; ci + 1 < cchunks.size(); ++ci) {
                            const int c0 = cchunks[ci], mr = cchunks[ci + 1] - c0;
                            tile_fn(mr)(base, o.data(), taps, wp[rho * phi_n + phi].data() + size_t(c0) * taps, nullptr, out);
                            for (int m = 0; m < mr; ++m) {
                                float* row = dx + ((n * s.c + c0 + m) * s.h + h) * s.w;
                                for (int l = 0; l < kTile; ++l) {
                                    const int col = (m0 + l) * st + phi - s.pad_left;
                                    if (col >= 0 && col < s.w) row[col] = out[m * kTile + l];
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

void conv2d_backward_weight_avx2(const Conv2dShape& s, const float* x, const float* dy, float* dw, float* db) {
    validate(s);
    if (conv2d_im2col_pays(s)) return conv2d_backward_weight_im2col_avx2(s, x, dy, dw, db);
    const XBand band_shape(s);
    const std::vector<int> offs = band_shape.tap_offsets(s);
    const int taps = int(offs.size());
    const int bands = (s.p + band_shape.pb - 1) / band_shape.pb;
    const long long items = 1LL * s.n * bands;
    const int groups = int(std::min<long long>(items, kWeightGroups));
    const long long part_size = 1LL * s.k * taps + s.k;  // dw then db
    // Kept between calls (2.5 MB for conv2): a fresh one is a fresh mmap, and page faults
    // plus page clearing showed up at ~7% of a training step.  Each group zeroes its part.
    // (A reference to the calling thread's buffer: the worker threads must share it.)
    thread_local std::vector<float> partial_storage;
    std::vector<float>& partial = partial_storage;
    if (partial.size() < size_t(groups * part_size)) partial.resize(size_t(groups * part_size));
    const std::vector<int> kchunks = split(s.k, 3), tchunks = split(taps, 3);
    const long long pq = 1LL * s.p * s.q;
    const long long prow_step = s.stride * band_shape.row_stride();

#pragma omp parallel if (worth_threads(s))
    {
        std::vector<float>& band = scratch(0, size_t(s.c * band_shape.chan_stride()));
#pragma omp for schedule(dynamic, 1)
        for (int g = 0; g < groups; ++g) {
            float* part = partial.data() + g * part_size;
            std::fill(part, part + part_size, 0.0f);
            for (long long it = g * items / groups; it < (g + 1) * items / groups; ++it) {
                const long long n = it / bands;
                const int p0 = int(it % bands) * band_shape.pb, p1 = std::min(s.p, p0 + band_shape.pb);
                band_shape.fill(s, x + n * s.c * s.h * s.w, p0, band.data());
                const float* dyn = dy + n * s.k * pq + size_t(p0) * s.q;
                for (size_t ki = 0; ki + 1 < kchunks.size(); ++ki) {
                    const int k0 = kchunks[ki], kb = kchunks[ki + 1] - k0;
                    for (size_t ti = 0; ti + 1 < tchunks.size(); ++ti) {
                        const int t0 = tchunks[ti], tb = tchunks[ti + 1] - t0;
                        dw_fn(kb, tb)(dyn + k0 * pq, pq, s.q, p1 - p0, band.data(), prow_step, offs.data() + t0,
                                      part + size_t(k0) * taps + t0, taps);
                    }
                }
                const int full = s.q & ~7;
                const __m256i mask = tail_mask(s.q - full);
                for (int k = 0; k < s.k; ++k) {
                    __m256 acc = _mm256_setzero_ps();
                    for (int p = 0; p < p1 - p0; ++p) {
                        const float* d = dyn + k * pq + size_t(p) * s.q;
                        for (int q = 0; q < full; q += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(d + q));
                        if (full < s.q) acc = _mm256_add_ps(acc, _mm256_maskload_ps(d + full, mask));
                    }
                    part[size_t(s.k) * taps + k] += hsum(acc);
                }
            }
        }
        // Partials in group order: the same sums whatever thread made them.  Blocks of
        // elements, groups outer, so the partials stream through memory in order.
        constexpr long long kBlock = 1024;
#pragma omp for schedule(static)
        for (long long e0 = 0; e0 < part_size; e0 += kBlock) {
            const long long e1 = std::min(part_size, e0 + kBlock);
            float sum[kBlock];
            std::copy(partial.begin() + e0, partial.begin() + e1, sum);
            for (int g = 1; g < groups; ++g)
                for (long long e = e0; e < e1; ++e) sum[e - e0] += partial[g * part_size + e];
            for (long long e = e0; e < e1; ++e) {
                if (e < 1LL * s.k * taps)
                    dw[e] = sum[e - e0];
                else if (db)
                    db[e - 1LL * s.k * taps] = sum[e - e0];
            }
        }
    }
}

}  // namespace flowpic
