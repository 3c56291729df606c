// CUDA softmax + cross-entropy (kernels/softmax_xent.h).  K is small (classes), so one
// thread per row runs the reference's loops unchanged; the per-row losses are then
// summed by a single thread in row order, which makes the loss deterministic and the
// same double sum as the CPU's (N is a batch, a few hundred rows at most).
#include <algorithm>
#include <string>

#include "core/error.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/ops.h"

namespace flowpic {

namespace {

constexpr int kBlock = 256;
unsigned grid_for(size_t n) { return unsigned(std::min<size_t>((n + kBlock - 1) / kBlock, 1u << 16)); }

// row_loss[s] = w[y_s] * (-log p[s, y_s]) in double, as the reference accumulates it.
__global__ void xent_rows_kernel(const float* logits, const int32_t* labels, const float* cw,
                                 int n, int k, float* probs, double* row_loss) {
    for (int s = blockIdx.x * blockDim.x + threadIdx.x; s < n; s += gridDim.x * blockDim.x) {
        const float* z = logits + size_t(s) * size_t(k);
        float* p = probs + size_t(s) * size_t(k);
        float zmax = z[0];
        for (int j = 1; j < k; ++j) zmax = z[j] > zmax ? z[j] : zmax;
        float sum = 0.0f;
        for (int j = 0; j < k; ++j) {
            p[j] = expf(__fsub_rn(z[j], zmax));
            sum = __fadd_rn(sum, p[j]);
        }
        const float inv = __fdiv_rn(1.0f, sum);
        for (int j = 0; j < k; ++j) p[j] = __fmul_rn(p[j], inv);
        const int y = labels[s];
        if (y < 0 || y >= k) {  // reported by the reduction; never read z[y] out of range
            row_loss[s] = nan("");
            continue;
        }
        const float nll = __fsub_rn(logf(sum), __fsub_rn(z[y], zmax));
        const float wt = cw ? cw[y] : 1.0f;
        row_loss[s] = double(wt) * double(nll);
    }
}

// One thread: result[0] = mean loss, result[1] = first bad row or -1, result[2] = its
// label, result[3] = rows whose argmax of probs (the first of equal maxima) is the label.
__global__ void xent_sum_kernel(const double* row_loss, const float* probs, const int32_t* labels,
                                int n, int k, double* result) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double total = 0.0;
    long long correct = 0;
    result[1] = -1.0;
    result[2] = 0.0;
    for (int s = 0; s < n; ++s) {
        if (labels[s] < 0 || labels[s] >= k) {
            result[1] = double(s);
            result[2] = double(labels[s]);
            break;
        }
        total += row_loss[s];
        const float* p = probs + size_t(s) * size_t(k);
        int best = 0;
        for (int j = 1; j < k; ++j)
            if (p[j] > p[best]) best = j;
        correct += best == labels[s];
    }
    result[0] = total / double(n);
    result[3] = double(correct);
}

// dlogits = (p - onehot) * (w[y] / N), one thread per element.
__global__ void xent_backward_kernel(const float* probs, const int32_t* labels, const float* cw,
                                     int n, int k, float* dlogits) {
    const size_t total = size_t(n) * size_t(k);
    for (size_t i = size_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += size_t(gridDim.x) * blockDim.x) {
        const int s = int(i / size_t(k)), j = int(i % size_t(k));
        const int y = labels[s];
        if (y < 0 || y >= k) {
            dlogits[i] = nanf("");
            continue;
        }
        const float g = __fdiv_rn(cw ? cw[y] : 1.0f, float(n));
        dlogits[i] = __fmul_rn(__fsub_rn(probs[i], j == y ? 1.0f : 0.0f), g);
    }
}

// One thread per row, softmax_rows' double arithmetic (nn/evaluate.cpp).
__global__ void softmax_rows_kernel(const float* logits, int n, int k, float* probs) {
    for (int r = blockIdx.x * blockDim.x + threadIdx.x; r < n; r += gridDim.x * blockDim.x) {
        const float* l = logits + size_t(r) * size_t(k);
        float* p = probs + size_t(r) * size_t(k);
        float mx = l[0];
        for (int j = 1; j < k; ++j) mx = fmaxf(mx, l[j]);
        double sum = 0;
        for (int j = 0; j < k; ++j) sum = __dadd_rn(sum, exp(__dsub_rn(double(l[j]), double(mx))));
        for (int j = 0; j < k; ++j) p[j] = float(__ddiv_rn(exp(__dsub_rn(double(l[j]), double(mx))), sum));
    }
}

}  // namespace

void softmax_rows_cuda(const float* logits, int n, int k, float* probs, cudaStream_t stream) {
    if (n <= 0 || k <= 0) return;
    softmax_rows_kernel<<<grid_for(size_t(n)), kBlock, 0, stream>>>(logits, n, k, probs);
    CUDA_CHECK_LAUNCH();
}

namespace {

struct XentResult {
    double loss;
    size_t correct;
};

// The forward of a training or evaluation step: probabilities, loss and correct count in
// one copy back; with dlogits, the gradient is launched before that copy, so a step waits
// for the device once.  A label out of range (found on the device) is an InputError.
XentResult xent_cuda(const float* logits, const int32_t* labels, const float* class_weights, int n, int k,
                     float* probs, float* dlogits, double* scratch, cudaStream_t stream) {
    if (n <= 0) return {0.0, 0};
    if (k <= 0) throw InputError("softmax_xent: " + std::to_string(k) + " classes");
    double* result = scratch + n;
    xent_rows_kernel<<<grid_for(size_t(n)), kBlock, 0, stream>>>(logits, labels, class_weights, n,
                                                                  k, probs, scratch);
    CUDA_CHECK_LAUNCH();
    xent_sum_kernel<<<1, 1, 0, stream>>>(scratch, probs, labels, n, k, result);
    CUDA_CHECK_LAUNCH();
    if (dlogits) softmax_xent_backward_cuda(probs, labels, class_weights, n, k, dlogits, stream);
    double host[4];
    CUDA_CHECK(cudaMemcpyAsync(host, result, sizeof(host), cudaMemcpyDeviceToHost, stream));
    CUDA_CHECK(cudaStreamSynchronize(stream));
    if (host[1] >= 0.0)
        throw InputError("softmax_xent: label " + std::to_string(int64_t(host[2])) + " of sample " +
                         std::to_string(int64_t(host[1])) + " is outside [0, " + std::to_string(k) +
                         ")");
    return {host[0], size_t(host[3])};
}

}  // namespace

double softmax_xent_forward_cuda(const float* logits, const int32_t* labels,
                                 const float* class_weights, int n, int k, float* probs,
                                 double* scratch, cudaStream_t stream) {
    return xent_cuda(logits, labels, class_weights, n, k, probs, nullptr, scratch, stream).loss;
}

double softmax_xent_step_cuda(const float* logits, const int32_t* labels, const float* class_weights,
                              int n, int k, float* probs, float* dlogits, double* scratch,
                              size_t* correct, cudaStream_t stream) {
    const XentResult r = xent_cuda(logits, labels, class_weights, n, k, probs, dlogits, scratch, stream);
    *correct = r.correct;
    return r.loss;
}

void softmax_xent_backward_cuda(const float* probs, const int32_t* labels,
                                const float* class_weights, int n, int k, float* dlogits,
                                cudaStream_t stream) {
    if (n <= 0 || k <= 0) return;
    const size_t total = size_t(n) * size_t(k);
    xent_backward_kernel<<<grid_for(total), kBlock, 0, stream>>>(probs, labels, class_weights, n,
                                                                  k, dlogits);
    CUDA_CHECK_LAUNCH();
}

}  // namespace flowpic
