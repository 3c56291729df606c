// The convolution shapes every conv2d implementation is checked on (every backend in
// test_backend_ops, against the scalar reference; the cuDNN oracle; the properties): odd
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

// The table plus shapes for the GPU tiles: K up to 40 (the 64-row tile), batch 4, and the
// FlowPicNet layers at batch 2 (more blocks per launch).
inline std::vector<Conv2dCase> conv2d_dense_test_cases() {
    std::vector<Conv2dCase> c = conv2d_test_cases();
    c.insert(c.end(), {
        {"7x10 same K 17", conv_same(1, 2, 12, 15, 17, 7, 10, 1)},
        {"9x1 stride 2 valid K 20", conv_valid(4, 1, 20, 9, 20, 9, 1, 2)},
        {"K 40 (64-row tiles)", conv_same(2, 3, 13, 11, 40, 3, 3, 1)},
        {"odd everything batch 4", conv_valid(4, 3, 37, 41, 11, 6, 7, 3)},
        {"FlowPicNet conv1 at 300x300 batch 2", conv_same(2, 1, 300, 300, 10, 10, 10, 5)},
        {"FlowPicNet conv2 at 150x150 batch 2", conv_same(2, 10, 150, 150, 20, 10, 10, 5)},
    });
    return c;
}

// The sparse first layer's shapes (kernels/conv2d_sparse.h): the table, the first layers
// (FlowPicNet conv1 at full size), and the CUDA kernels' edges: K*Q beyond one
// shared-memory tile (column tiles), more (k, p mod A, q mod B) slots than threads, K > 16
// (several filter groups in backward-weight), stride above the filter, one slot, a batch
// large enough that backward-weight uses one chunk per image, and tiny planes (P*Q 1..70,
// odd sizes, below one block and not a multiple of 4; batch 1..3, K 1..3: db sums that
// nearly cancel, where an fp32 sum missed 1e-5 at P*Q = 63).
inline std::vector<Conv2dCase> conv2d_sparse_test_cases() {
    std::vector<Conv2dCase> c = conv2d_test_cases();
    c.insert(c.end(), {
        {"FlowPicNet conv1 at 1500x1500 batch 2", conv_same(2, 1, 1500, 1500, 10, 10, 10, 5)},
        {"FlowPicNet conv1 2 channels at 300x300", conv_same(2, 2, 300, 300, 10, 10, 10, 5)},
        {"3x3 stride 2 same, A = B = 2", conv_same(3, 1, 31, 29, 5, 3, 3, 2)},
        {"5x3 stride 1 same 2 channels", conv_same(2, 2, 40, 33, 4, 5, 3, 1)},
        {"K*Q beyond one tile", conv_same(1, 1, 16, 1500, 16, 3, 3, 1)},
        {"K 64 5x5 stride 1 (many slots)", conv_same(2, 1, 20, 20, 64, 5, 5, 1)},
        {"K 40 3 channels", conv_same(2, 3, 13, 11, 40, 3, 3, 1)},
        {"odd everything batch 4", conv_valid(4, 3, 37, 41, 11, 6, 7, 3)},
        {"stride 7 above the filter", conv_same(2, 2, 50, 45, 3, 4, 5, 7)},
        {"K 300 1x1", conv_same(1, 1, 9, 9, 300, 1, 1, 1)},
        {"K 1 1x1 (one slot)", conv_valid(2, 1, 30, 70, 1, 1, 1, 1)},
        {"batch 600", conv_same(600, 1, 20, 20, 3, 4, 4, 2)},
        {"K 17 (backward-weight general path)", conv_same(2, 1, 30, 30, 17, 3, 3, 2)},
        {"C*R*S 300 (backward-weight general path)", conv_same(1, 3, 20, 20, 2, 10, 10, 5)},
    });
    static const char* const kTinyNames[] = {"tiny 1x1 n1", "tiny 1x5 n2", "tiny 7x9 n1", "tiny 1x13 n3", "tiny 3x7 n2",
                                             "tiny 7x9 n3", "tiny 5x13 n1", "tiny 1x70 n2", "tiny 1x67 n3",
                                             "tiny 3x3 n1", "tiny 7x10 n1", "tiny 1x2 n3"};
    const int tiny[][4] = {{1, 1, 1, 1}, {2, 1, 5, 2}, {1, 7, 9, 3}, {3, 1, 13, 1}, {2, 3, 7, 3}, {3, 7, 9, 2},
                           {1, 5, 13, 2}, {2, 1, 70, 1}, {3, 1, 67, 3}, {1, 3, 3, 2}, {1, 7, 10, 3}, {3, 1, 2, 1}};
    for (size_t t = 0; t < sizeof tiny / sizeof tiny[0]; ++t)
        c.push_back({kTinyNames[t], conv_valid(tiny[t][0], 1, tiny[t][1], tiny[t][2], tiny[t][3], 1, 1, 1)});
    return c;
}

}  // namespace flowpic
