// Random inputs for the sparse first layer (kernels/conv2d_sparse.h), shared by the CPU and
// CUDA suites: about one pixel in 20 (at most 3,000 per image) with non-zero values of
// either sign, the four corners of every channel, repeats of earlier pixels with other
// values, value-0 entries (one at the origin: a dropped packet), all shuffled; image 1 of
// a batch of 3 or more is empty.
#pragma once
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/conv2d.h"
#include "kernels/cpu/binning.h"

namespace flowpic {

struct SparseEntries {
    std::vector<SparsePixel> entries;
    std::vector<uint32_t> offsets{0};
};

inline SparsePixel sparse_pixel(int c, int row, int col, float v) {
    return SparsePixel{uint16_t(c), uint16_t(row), uint16_t(col), 0, v};
}

// Calls image_done(n, entries of image n) after each image, in order, so a suite can add
// entries of its own (the CUDA suite adds out-of-range ones the kernels must skip).
template <typename F>
SparseEntries random_sparse_entries(const Conv2dShape& s, unsigned seed, F&& image_done) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> mag(0.1, 1.0);
    auto value = [&] { return float((rng() & 1 ? -1.0 : 1.0) * mag(rng)); };
    SparseEntries in;
    for (int n = 0; n < s.n; ++n) {
        std::vector<SparsePixel> img;
        if (!(s.n >= 3 && n == 1)) {
            const long long count = std::max(1LL, std::min(3000LL, 1LL * s.c * s.h * s.w / 20));
            for (long long e = 0; e < count; ++e)
                img.push_back(sparse_pixel(int(rng() % s.c), int(rng() % s.h), int(rng() % s.w), value()));
            for (int c = 0; c < s.c; ++c)
                for (int row : {0, s.h - 1})
                    for (int col : {0, s.w - 1}) img.push_back(sparse_pixel(c, row, col, value()));
            const size_t distinct = img.size();
            for (size_t e = 0; e < distinct / 8 + 2; ++e) {  // the same pixel again, another value
                SparsePixel again = img[rng() % distinct];
                again.value = value();
                img.push_back(again);
            }
            img.push_back(sparse_pixel(0, 0, 0, 0.0f));  // a dropped packet
            for (size_t e = 0; e < distinct / 16 + 1; ++e)
                img.push_back(sparse_pixel(int(rng() % s.c), int(rng() % s.h), int(rng() % s.w), 0.0f));
            std::shuffle(img.begin(), img.end(), rng);
        }
        in.entries.insert(in.entries.end(), img.begin(), img.end());
        in.offsets.push_back(uint32_t(in.entries.size()));
        image_done(n, img);
    }
    return in;
}

inline SparseEntries random_sparse_entries(const Conv2dShape& s, unsigned seed) {
    return random_sparse_entries(s, seed, [](int, const std::vector<SparsePixel>&) {});
}

}  // namespace flowpic
