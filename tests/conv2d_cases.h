// The convolution shapes every conv2d implementation is checked on (CPU AVX2 in
// test_conv2d, CUDA in test_cuda_conv_dense, each against the scalar reference): odd
// sizes, C 1..3, K 1..5, R and S 1..10 (non-square too), strides 1..5 (also larger than
// the filter, which leaves dx rows and columns no tap reaches), same and valid, batch 1..3,
// tile edges (Q = 16, 17), then the real nets' layers.
#pragma once
#include <vector>

#include "kernels/conv2d.h"

namespace flowpic {

struct Conv2dCase {
    const char* name;
    Conv2dShape shape;
};

inline Conv2dShape conv_same(int n, int c, int h, int w, int k, int r, int s, int stride) {
    return conv2d_same_keras(n, c, h, w, k, r, s, stride);
}
inline Conv2dShape conv_valid(int n, int c, int h, int w, int k, int r, int s, int stride) {
    return conv2d_valid(n, c, h, w, k, r, s, stride);
}

inline std::vector<Conv2dCase> conv2d_test_cases() {
    return {
        {"1x1 filter", conv_valid(1, 1, 7, 9, 1, 1, 1, 1)},
        {"3x3 same", conv_same(2, 3, 11, 13, 4, 3, 3, 1)},
        {"2x5 stride 2 same", conv_same(1, 2, 17, 12, 3, 2, 5, 2)},
        {"5x2 stride 3 valid", conv_valid(3, 2, 19, 23, 5, 5, 2, 3)},
        {"4x4 stride 4 same", conv_same(2, 1, 21, 18, 2, 4, 4, 4)},
        {"3x3 stride 5 same", conv_same(1, 2, 23, 27, 3, 3, 3, 5)},
        {"3x4 stride 5 valid", conv_valid(2, 3, 26, 29, 5, 3, 4, 5)},
        {"7x10 same", conv_same(1, 2, 12, 15, 3, 7, 10, 1)},
        {"9x1 stride 2 valid", conv_valid(2, 1, 20, 9, 4, 9, 1, 2)},
        {"filter larger than input", conv_same(1, 1, 3, 4, 2, 6, 8, 1)},
        {"1x1 input", conv_same(1, 3, 1, 1, 5, 3, 3, 2)},
        {"1 column, stride 2", conv_same(2, 2, 5, 1, 2, 2, 2, 2)},  // a column phase with no pixel
        {"Q = 16", conv_valid(1, 1, 5, 20, 1, 5, 5, 1)},
        {"Q = 17", conv_valid(2, 2, 6, 21, 3, 5, 5, 1)},
        {"FlowPicNet conv1 at 100x100", conv_same(2, 1, 100, 100, 10, 10, 10, 5)},
        {"FlowPicNet conv1 at 300x300", conv_same(1, 1, 300, 300, 10, 10, 10, 5)},
        {"FlowPicNet conv2 at 20x20", conv_same(3, 10, 20, 20, 20, 10, 10, 5)},
        {"FlowPicNet conv2 at 150x150", conv_same(1, 10, 150, 150, 20, 10, 10, 5)},
        {"LeNet conv1 32x32", conv_valid(3, 1, 32, 32, 6, 5, 5, 1)},
        {"LeNet conv1 64x64 2 channels", conv_valid(2, 2, 64, 64, 6, 5, 5, 1)},
        {"LeNet conv2", conv_valid(3, 6, 14, 14, 16, 5, 5, 1)},
    };
}

}  // namespace flowpic
