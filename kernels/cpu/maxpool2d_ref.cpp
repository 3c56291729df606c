// Scalar reference for 2x2/2 max pooling: the oracle (see kernels/maxpool2d.h).
#include "kernels/maxpool2d.h"

#include <cstddef>

namespace flowpic {

template <typename T>
void maxpool2d_forward_ref(const T* x, int n, int c, int h, int w, T* y, uint8_t* argmax) {
    const int ho = h / 2, wo = w / 2;
    for (size_t plane = 0; plane < size_t(n) * size_t(c); ++plane) {
        const T* xp = x + plane * size_t(h) * size_t(w);
        T* yp = y + plane * size_t(ho) * size_t(wo);
        uint8_t* ap = argmax + plane * size_t(ho) * size_t(wo);
        for (int oy = 0; oy < ho; ++oy) {
            for (int ox = 0; ox < wo; ++ox) {
                const T* win = xp + size_t(2 * oy) * size_t(w) + size_t(2 * ox);
                const T v[4] = {win[0], win[1], win[w], win[w + 1]};
                T best = v[0];
                uint8_t idx = 0;
                for (uint8_t k = 1; k < 4; ++k) {
                    if (v[k] > best) {  // strict: the first maximum wins ties
                        best = v[k];
                        idx = k;
                    }
                }
                yp[size_t(oy) * size_t(wo) + size_t(ox)] = best;
                ap[size_t(oy) * size_t(wo) + size_t(ox)] = idx;
            }
        }
    }
}

template <typename T>
void maxpool2d_backward_ref(const T* dy, const uint8_t* argmax, int n, int c, int h, int w, T* dx) {
    const int ho = h / 2, wo = w / 2;
    for (size_t plane = 0; plane < size_t(n) * size_t(c); ++plane) {
        T* dxp = dx + plane * size_t(h) * size_t(w);
        const T* dyp = dy + plane * size_t(ho) * size_t(wo);
        const uint8_t* ap = argmax + plane * size_t(ho) * size_t(wo);
        for (size_t i = 0; i < size_t(h) * size_t(w); ++i) dxp[i] = T(0);
        for (int oy = 0; oy < ho; ++oy) {
            for (int ox = 0; ox < wo; ++ox) {
                const size_t o = size_t(oy) * size_t(wo) + size_t(ox);
                const int k = ap[o];
                dxp[size_t(2 * oy + (k >> 1)) * size_t(w) + size_t(2 * ox + (k & 1))] = dyp[o];
            }
        }
    }
}

template void maxpool2d_forward_ref<float>(const float*, int, int, int, int, float*, uint8_t*);
template void maxpool2d_forward_ref<double>(const double*, int, int, int, int, double*, uint8_t*);
template void maxpool2d_backward_ref<float>(const float*, const uint8_t*, int, int, int, int,
                                            float*);
template void maxpool2d_backward_ref<double>(const double*, const uint8_t*, int, int, int, int,
                                             double*);

}  // namespace flowpic
