// Single-precision GEMM for the AVX2 backend: C = A * B (or C += A * B), with A and B
// given by arbitrary row and column strides so that transposed operands (dense layer's
// x W^T, dy W, dy^T x) need no copies beyond the packing every GEMM does anyway.
//   A(i,p) = a[i * a_rs + p * a_cs]   (M x K)
//   B(p,j) = b[p * b_rs + j * b_cs]   (K x N)
//   C(i,j) = c[i * ldc + j]           (M x N)
// Blocking (BLIS style): K in slices of 256, A packed in 6-row panels, B in 16-column
// panels, a 6x16 FMA micro-kernel with 12 accumulators in registers, OpenMP over the
// output tiles.  Every C element is summed in an order fixed by K alone (sequential
// FMAs within a slice, slices added in order), so the result does not depend on the
// thread count.
#pragma once
#include <cstddef>

namespace flowpic {

void sgemm_avx2(int m, int n, int k, const float* a, ptrdiff_t a_rs, ptrdiff_t a_cs, const float* b,
                ptrdiff_t b_rs, ptrdiff_t b_cs, float* c, ptrdiff_t ldc, bool accumulate);

}  // namespace flowpic
