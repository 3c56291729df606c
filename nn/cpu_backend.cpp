// The two CPU backends.  One class, a flag per call: the reference and the AVX2 kernels
// take identical arguments, so the choice is a branch, not a second implementation.
#include <cstring>

#include "core/error.h"
#include "kernels/conv2d_sparse.h"
#include "kernels/cpu/binning_avx2.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/dense.h"
#include "kernels/dropout.h"
#include "kernels/maxpool2d.h"
#include "kernels/relu.h"
#include "kernels/softmax_xent.h"
#include "nn/backend.h"
#include "nn/evaluate.h"

namespace flowpic {

namespace {

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(bool avx2) : avx2_(avx2) {}
    std::string name() const override { return avx2_ ? "cpu-avx2" : "cpu-scalar"; }

    void bin_dense(const PacketListView* windows, size_t n, const BinningOptions& opts, float* out) override {
        avx2_ ? binner_.bin(windows, n, opts, out) : bin_dense_ref(windows, n, opts, out);
    }
    PacketEntries packet_entries(const PacketListView* windows, size_t n, const BinningOptions& opts) override {
        packets_to_entries_ref(windows, n, opts, entries_, offsets_);
        return {entries_.data(), offsets_.data(), n, entries_.size()};
    }
    // Images are independent in the forward; the weight gradient sums per-image partials
    // in image order, so the result does not depend on the thread count.
    void conv2d_sparse_forward(const Conv2dShape& s, const PacketEntries& x, const float* w, const float* b,
                               float* y) override {
        Conv2dShape one = s;
        one.n = 1;
        const size_t per_image = size_t(s.k) * s.p * s.q;
#pragma omp parallel for schedule(dynamic, 1)
        for (int i = 0; i < s.n; ++i) {
            const uint32_t range[2] = {0, x.offsets[i + 1] - x.offsets[i]};
            conv2d_sparse_forward_ref<float>(one, x.entries + x.offsets[i], range, w, b, y + size_t(i) * per_image);
        }
    }
    void conv2d_sparse_backward_weight(const Conv2dShape& s, const PacketEntries& x, const float* dy, float* dw,
                                       float* db) override {
        Conv2dShape one = s;
        one.n = 1;
        const size_t nw = size_t(s.k) * s.c * s.r * s.s, per_image = size_t(s.k) * s.p * s.q;
        partial_.resize(size_t(s.n) * (nw + size_t(s.k)));
#pragma omp parallel for schedule(dynamic, 1)
        for (int i = 0; i < s.n; ++i) {
            const uint32_t range[2] = {0, x.offsets[i + 1] - x.offsets[i]};
            float* pw = partial_.data() + size_t(i) * (nw + size_t(s.k));
            conv2d_sparse_backward_weight_ref<float>(one, x.entries + x.offsets[i], range, dy + size_t(i) * per_image, pw,
                                                     pw + nw);
        }
        for (size_t j = 0; j < nw; ++j) dw[j] = 0.f;
        if (db)
            for (int k = 0; k < s.k; ++k) db[k] = 0.f;
        for (int i = 0; i < s.n; ++i) {
            const float* pw = partial_.data() + size_t(i) * (nw + size_t(s.k));
            for (size_t j = 0; j < nw; ++j) dw[j] += pw[j];
            if (db)
                for (int k = 0; k < s.k; ++k) db[k] += pw[nw + size_t(k)];
        }
    }
    void copy(float* dst, const float* src, size_t n) override {
        if (n && dst != src) std::memcpy(dst, src, n * sizeof(float));
    }
    void softmax_forward(const float* logits, int n, int k, float* probs) override {
        softmax_rows(logits, size_t(n), size_t(k), probs);
    }

    void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) override {
        avx2_ ? conv2d_forward_avx2(s, x, w, b, y) : conv2d_forward_ref<float>(s, x, w, b, y);
    }
    void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) override {
        avx2_ ? conv2d_backward_data_avx2(s, dy, w, dx) : conv2d_backward_data_ref<float>(s, dy, w, dx);
    }
    void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw, float* db) override {
        avx2_ ? conv2d_backward_weight_avx2(s, x, dy, dw, db) : conv2d_backward_weight_ref<float>(s, x, dy, dw, db);
    }
    void maxpool2d_forward(const float* x, int n, int c, int h, int w, float* y, uint8_t* argmax) override {
        avx2_ ? maxpool2d_forward_avx2(x, n, c, h, w, y, argmax) : maxpool2d_forward_ref<float>(x, n, c, h, w, y, argmax);
    }
    void maxpool2d_backward(const float* dy, const uint8_t* argmax, int n, int c, int h, int w, float* dx) override {
        avx2_ ? maxpool2d_backward_avx2(dy, argmax, n, c, h, w, dx)
              : maxpool2d_backward_ref<float>(dy, argmax, n, c, h, w, dx);
    }
    void dense_forward(const float* x, const float* w, const float* b, int n, int in, int out, float* y) override {
        avx2_ ? dense_forward_avx2(x, w, b, n, in, out, y) : dense_forward_ref<float>(x, w, b, n, in, out, y);
    }
    void dense_backward(const float* x, const float* w, const float* dy, int n, int in, int out, float* dx, float* dw,
                        float* db) override {
        avx2_ ? dense_backward_avx2(x, w, dy, n, in, out, dx, dw, db)
              : dense_backward_ref<float>(x, w, dy, n, in, out, dx, dw, db);
    }
    void relu_forward(const float* x, size_t n, float* y) override {
        avx2_ ? relu_forward_avx2(x, n, y) : relu_forward_ref<float>(x, n, y);
    }
    void relu_backward(const float* y, const float* dy, size_t n, float* dx) override {
        avx2_ ? relu_backward_avx2(y, dy, n, dx) : relu_backward_ref<float>(y, dy, n, dx);
    }
    void dropout_forward(const float* x, size_t n, float rate, uint64_t seed, float* y, uint8_t* mask) override {
        avx2_ ? dropout_forward_avx2(x, n, rate, seed, y, mask) : dropout_forward_ref<float>(x, n, rate, seed, y, mask);
    }
    void dropout_backward(const float* dy, const uint8_t* mask, size_t n, float rate, float* dx) override {
        avx2_ ? dropout_backward_avx2(dy, mask, n, rate, dx) : dropout_backward_ref<float>(dy, mask, n, rate, dx);
    }
    double softmax_xent_forward(const float* logits, const int32_t* labels, const float* cw, int n, int k,
                                float* probs) override {
        return avx2_ ? softmax_xent_forward_avx2(logits, labels, cw, n, k, probs)
                     : softmax_xent_forward_ref<float>(logits, labels, cw, n, k, probs);
    }
    void softmax_xent_backward(const float* probs, const int32_t* labels, const float* cw, int n, int k,
                               float* dlogits) override {
        avx2_ ? softmax_xent_backward_avx2(probs, labels, cw, n, k, dlogits)
              : softmax_xent_backward_ref<float>(probs, labels, cw, n, k, dlogits);
    }
    void adam_step(float* p, const float* g, float* m, float* v, size_t n, int64_t step, const AdamParams& hp) override {
        avx2_ ? adam_step_avx2(p, g, m, v, n, step, hp) : adam_step_ref<float>(p, g, m, v, n, step, hp);
    }

private:
    bool avx2_;
    DenseBinner binner_;
    std::vector<SparsePixel> entries_;
    std::vector<uint32_t> offsets_;
    std::vector<float> partial_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(CpuKind kind) {
    bool avx2 = kind == CpuKind::kAvx2 || (kind == CpuKind::kAuto && use_avx2());
    if (avx2 && !cpu_has_avx2_fma()) throw InputError("this CPU has no AVX2/FMA: use the scalar backend");
    return std::make_unique<CpuBackend>(avx2);
}

std::unique_ptr<Backend> make_backend(const std::string& device) {
    if (device == "cpu") return make_cpu_backend(CpuKind::kAuto);
    if (device == "cpu-scalar") return make_cpu_backend(CpuKind::kScalar);
    if (device == "cpu-avx2") return make_cpu_backend(CpuKind::kAvx2);
    if (device == "cuda") return make_cuda_backend();
    if (device == "auto") {
        if (auto cuda = try_make_cuda_backend()) return cuda;
        return make_cpu_backend(CpuKind::kAuto);
    }
    throw UsageError("--device: invalid value '" + device + "' (expected cpu, cpu-scalar, cpu-avx2, cuda or auto)");
}

}  // namespace flowpic
