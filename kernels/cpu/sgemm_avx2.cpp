// AVX2/FMA SGEMM: see sgemm_avx2.h.
#include "kernels/cpu/sgemm_avx2.h"

#include <immintrin.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

namespace flowpic {

namespace {
constexpr int kMR = 6, kNR = 16;  // 12 ymm accumulators + 2 B rows + 1 broadcast = 15 regs
constexpr int kKC = 256;          // one A panel (6 KB) stays in L1 across the B panels
constexpr double kParallelMinFlops = 2e5;

struct FreeDeleter {
    void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], FreeDeleter>;

Buffer aligned_floats(size_t count) {
    const size_t bytes =
        ((count * sizeof(float) + 63) / 64) * 64;  // aligned_alloc wants a multiple
    float* p = static_cast<float*>(std::aligned_alloc(64, bytes ? bytes : 64));
    if (!p) throw std::bad_alloc();
    return Buffer(p);
}

// The packed A panel holds kMR values per p; the B panel kNR values per p; both are
// zero-padded past the matrix edge so the micro-kernel never branches.
void pack_a(int rows, int kc, const float* a, ptrdiff_t rs, ptrdiff_t cs, float* out) {
    if (cs == 1) {  // walk memory in order: row by row
        for (int r = 0; r < kMR; ++r)
            for (int p = 0; p < kc; ++p) out[p * kMR + r] = r < rows ? a[r * rs + p] : 0.0f;
    } else {
        for (int p = 0; p < kc; ++p)
            for (int r = 0; r < kMR; ++r) out[p * kMR + r] = r < rows ? a[r * rs + p * cs] : 0.0f;
    }
}

void pack_b(int cols, int kc, const float* b, ptrdiff_t rs, ptrdiff_t cs, float* out) {
    if (rs == 1) {  // column by column
        for (int j = 0; j < kNR; ++j)
            for (int p = 0; p < kc; ++p) out[p * kNR + j] = j < cols ? b[p + j * cs] : 0.0f;
    } else {
        for (int p = 0; p < kc; ++p)
            for (int j = 0; j < kNR; ++j) out[p * kNR + j] = j < cols ? b[p * rs + j * cs] : 0.0f;
    }
}

// C tile (rows x cols, at most 6 x 16) = or += the panels' product.
void micro_kernel(int kc, const float* a, const float* b, float* c, ptrdiff_t ldc, int rows,
                  int cols, bool accumulate) {
    __m256 acc[kMR][2];
#pragma GCC unroll 6
    for (int r = 0; r < kMR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int p = 0; p < kc; ++p) {
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
        for (int r = 0; r < kMR; ++r) {
            const __m256 ar = _mm256_broadcast_ss(a + r);
            acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
            acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
        }
        a += kMR;
        b += kNR;
    }
    if (rows == kMR && cols == kNR) {
#pragma GCC unroll 6
        for (int r = 0; r < kMR; ++r) {
            float* cr = c + r * ldc;
            if (accumulate) {
                acc[r][0] = _mm256_add_ps(_mm256_loadu_ps(cr), acc[r][0]);
                acc[r][1] = _mm256_add_ps(_mm256_loadu_ps(cr + 8), acc[r][1]);
            }
            _mm256_storeu_ps(cr, acc[r][0]);
            _mm256_storeu_ps(cr + 8, acc[r][1]);
        }
        return;
    }
    alignas(32) float tile[kMR][kNR];
    for (int r = 0; r < kMR; ++r) {
        _mm256_store_ps(tile[r], acc[r][0]);
        _mm256_store_ps(tile[r] + 8, acc[r][1]);
    }
    for (int r = 0; r < rows; ++r)
        for (int j = 0; j < cols; ++j)
            c[r * ldc + j] = accumulate ? c[r * ldc + j] + tile[r][j] : tile[r][j];
}
}  // namespace

void sgemm_avx2(int m, int n, int k, const float* a, ptrdiff_t a_rs, ptrdiff_t a_cs, const float* b,
                ptrdiff_t b_rs, ptrdiff_t b_cs, float* c, ptrdiff_t ldc, bool accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate)
            for (int i = 0; i < m; ++i)
                for (int j = 0; j < n; ++j) c[i * ldc + j] = 0.0f;
        return;
    }
    const int mt = (m + kMR - 1) / kMR, nt = (n + kNR - 1) / kNR;
    const int kc_max = k < kKC ? k : kKC;
    Buffer ap = aligned_floats(size_t(mt) * kMR * kc_max);
    Buffer bp = aligned_floats(size_t(nt) * kNR * kc_max);
    const int64_t tiles = int64_t(mt) * nt;
    const bool parallel = 2.0 * m * n * k >= kParallelMinFlops;
#pragma omp parallel if (parallel)
    for (int pc = 0; pc < k; pc += kKC) {  // every thread walks the slices in order
        const int kc = k - pc < kKC ? k - pc : kKC;
#pragma omp for schedule(static)
        for (int jt = 0; jt < nt; ++jt) {
            const int j0 = jt * kNR;
            pack_b(n - j0 < kNR ? n - j0 : kNR, kc, b + pc * b_rs + j0 * b_cs, b_rs, b_cs,
                   bp.get() + size_t(jt) * kNR * kc);
        }
#pragma omp for schedule(static)
        for (int it = 0; it < mt; ++it) {
            const int i0 = it * kMR;
            pack_a(m - i0 < kMR ? m - i0 : kMR, kc, a + i0 * a_rs + pc * a_cs, a_rs, a_cs,
                   ap.get() + size_t(it) * kMR * kc);
        }
        // the implicit barriers keep packing and the previous slice's tiles apart
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tiles; ++t) {
            const int it = int(t / nt), jt = int(t % nt);
            const int i0 = it * kMR, j0 = jt * kNR;
            micro_kernel(kc, ap.get() + size_t(it) * kMR * kc, bp.get() + size_t(jt) * kNR * kc,
                         c + i0 * ldc + j0, ldc, m - i0 < kMR ? m - i0 : kMR,
                         n - j0 < kNR ? n - j0 : kNR, accumulate || pc > 0);
        }
    }
}

}  // namespace flowpic
