// The CUDA backend: every op is one of our kernels (kernels/cuda/), issued in order on one
// stream owned by the backend.  Device tensors come from the caching arena, and so does
// every scratch buffer here (conv backward-weight partial sums, labels, the packets of a
// batch): once the first training step has sized them, the loop calls no cudaMalloc.
// Packet lists are packed into pinned host memory and copied asynchronously; an event
// keeps the next pack from overwriting a copy still in flight.
//
// The stream is a blocking one (cudaStreamCreate), so the synchronous copies of
// nn/tensor.cpp on the legacy default stream are ordered with its work.
//
// Also here: the batch-1 CUDA graph classifier of nn/classifier.h.
#include <memory>
#include <string>

#include "core/error.h"
#include "nn/backend.h"
#include "nn/classifier.h"

#ifdef FLOWPIC_CUDA
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>

#include "core/trace.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/conv2d_sparse.h"
#include "kernels/cuda/conv_dense.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/ops.h"

namespace flowpic {

namespace {

// Pinned host memory that grows (cudaMallocHost), for asynchronous uploads.
class PinnedBytes {
public:
    PinnedBytes() = default;
    ~PinnedBytes() {
        if (ptr_) cudaFreeHost(ptr_);
    }
    PinnedBytes(const PinnedBytes&) = delete;
    PinnedBytes& operator=(const PinnedBytes&) = delete;
    void reserve(size_t bytes) {
        if (bytes <= capacity_) return;
        if (ptr_) cudaFreeHost(ptr_);
        ptr_ = nullptr;
        capacity_ = 0;
        CUDA_CHECK(cudaMallocHost(&ptr_, bytes));
        capacity_ = bytes;
    }
    uint8_t* get() { return static_cast<uint8_t*>(ptr_); }

private:
    void* ptr_ = nullptr;
    size_t capacity_ = 0;
};

template <typename T>
T* dev(Storage& s, size_t count) {
    s.reserve(count * sizeof(T));
    return static_cast<T*>(s.get());
}

// Round up to 16 bytes, so every array in a packed block starts aligned.
size_t align16(size_t b) { return (b + 15) / 16 * 16; }

// A batch of windows as one block, identical in pinned host and device memory:
// offsets[n] counts[n] length_us[n] (uint32) then the packets.  One copy moves it.
struct PackedLayout {
    size_t n = 0, packets = 0;
    size_t offsets_at = 0, counts_at = 0, length_at = 0, packets_at = 0, bytes = 0;
    PackedLayout(size_t n_windows, size_t n_packets) : n(n_windows), packets(n_packets) {
        counts_at = align16(n * 4);
        length_at = counts_at + align16(n * 4);
        packets_at = length_at + align16(n * 4);
        bytes = packets_at + packets * sizeof(WindowPacket);
    }
};

// Writes windows (as binned: axis_view with opts) into a block of `layout` (host);
// returns the total packets.
size_t pack_into(uint8_t* block, const PackedLayout& L, const PacketListView* windows, size_t n,
                 const BinningOptions& opts) {
    return pack_windows_into(windows, n, opts, reinterpret_cast<uint32_t*>(block + L.offsets_at),
                             reinterpret_cast<uint32_t*>(block + L.counts_at),
                             reinterpret_cast<uint32_t*>(block + L.length_at),
                             reinterpret_cast<WindowPacket*>(block + L.packets_at));
}

class CudaBackend final : public Backend {
public:
    std::unique_ptr<WindowClassifier> batch1_graph(Network& net, const BinningOptions& binning,
                                                   uint32_t max_packets) override;  // below the graph classifier
    CudaBackend() {
        CUDA_CHECK(cudaStreamCreate(&stream_));
        CUDA_CHECK(cudaStreamCreateWithFlags(&copy_, cudaStreamNonBlocking));
        for (Staging& st : staging_) {
            CUDA_CHECK(cudaEventCreateWithFlags(&st.copied, cudaEventDisableTiming));
            CUDA_CHECK(cudaEventCreateWithFlags(&st.consumed, cudaEventDisableTiming));
        }
    }
    ~CudaBackend() override {
        cudaStreamSynchronize(copy_);
        cudaStreamSynchronize(stream_);
        for (Staging& st : staging_) {
            cudaEventDestroy(st.copied);
            cudaEventDestroy(st.consumed);
        }
        cudaStreamDestroy(copy_);
        cudaStreamDestroy(stream_);
    }
    std::string name() const override { return "cuda"; }
    Memory memory() const override { return Memory::kDevice; }
    void synchronize() override { CUDA_CHECK(cudaStreamSynchronize(stream_)); }
    cudaStream_t stream() const { return stream_; }

    void bin_dense(const PacketListView* windows, size_t n, const BinningOptions& opts, float* out) override {
        TraceRange r("bin_dense");
        if (n == 0) return;
        const Uploaded u = upload(windows, n, opts);
        bin_dense_cuda(u.packets, u.offsets, u.counts, u.length_us, n, u.total, opts, out, stream_);
        CUDA_CHECK(cudaEventRecord(u.consumed, stream_));
    }
    PacketEntries packet_entries(const PacketListView* windows, size_t n, const BinningOptions& opts) override {
        TraceRange r("packet_entries");
        if (n == 0) return {};
        const Uploaded u = upload(windows, n, opts);
        SparsePixel* entries = dev<SparsePixel>(entries_, std::max<size_t>(u.total, 1));
        uint32_t* offsets = dev<uint32_t>(entry_offsets_, n + 1);
        packets_to_entries_cuda(u.packets, u.offsets, u.counts, u.length_us, n, u.total, opts, entries, offsets, stream_);
        CUDA_CHECK(cudaEventRecord(u.consumed, stream_));
        return {entries, offsets, n, std::max<size_t>(u.total, 1)};
    }
    void conv2d_sparse_forward(const Conv2dShape& s, const PacketEntries& x, const float* w, const float* b,
                               float* y) override {
        TraceRange r("conv2d_sparse_forward");
        // The bucketed forward needs scratch sized by the entry count (same bits as the
        // direct kernel, which runs when the size is 0).
        const size_t bytes = conv2d_sparse_forward_scratch_bytes(s, x.capacity);
        conv2d_sparse_forward_cuda(s, x.entries, x.offsets, w, b, y, bytes ? dev<uint8_t>(sparse_fwd_scratch_, bytes) : nullptr,
                                   stream_);
    }
    void conv2d_sparse_backward_weight(const Conv2dShape& s, const PacketEntries& x, const float* dy, float* dw,
                                       float* db) override {
        TraceRange r("conv2d_sparse_backward_weight");
        float* scratch = dev<float>(conv_scratch_, std::max<size_t>(conv2d_sparse_backward_weight_scratch_floats(s), 1));
        conv2d_sparse_backward_weight_cuda(s, x.entries, x.offsets, dy, dw, db, scratch, stream_);
    }
    void copy(float* dst, const float* src, size_t n) override {
        if (n && dst != src)
            CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, stream_));
    }

    void conv2d_forward(const Conv2dShape& s, const float* x, const float* w, const float* b, float* y) override {
        TraceRange r("conv2d_forward");
        const size_t need = conv2d_forward_scratch_floats(s);
        conv2d_forward_cuda(s, x, w, b, y, need ? dev<float>(fwd_scratch_, need) : nullptr, stream_);
    }
    void conv2d_backward_data(const Conv2dShape& s, const float* dy, const float* w, float* dx) override {
        TraceRange r("conv2d_backward_data");
        conv2d_backward_data_cuda(s, dy, w, dx, stream_);
    }
    void conv2d_backward_weight(const Conv2dShape& s, const float* x, const float* dy, float* dw, float* db) override {
        TraceRange r("conv2d_backward_weight");
        float* scratch = dev<float>(conv_scratch_, std::max<size_t>(conv2d_backward_weight_scratch_floats(s), 1));
        conv2d_backward_weight_cuda(s, x, dy, dw, db, scratch, stream_);
    }
    void maxpool2d_forward(const float* x, int n, int c, int h, int w, float* y, uint8_t* argmax) override {
        TraceRange r("maxpool2d_forward");
        maxpool2d_forward_cuda(x, n, c, h, w, y, argmax, stream_);
    }
    void maxpool2d_backward(const float* dy, const uint8_t* argmax, int n, int c, int h, int w, float* dx) override {
        TraceRange r("maxpool2d_backward");
        maxpool2d_backward_cuda(dy, argmax, n, c, h, w, dx, stream_);
    }
    void dense_forward(const float* x, const float* w, const float* b, int n, int in, int out, float* y) override {
        TraceRange r("dense_forward");
        dense_forward_cuda(x, w, b, n, in, out, y, stream_);
    }
    void dense_backward(const float* x, const float* w, const float* dy, int n, int in, int out, float* dx, float* dw,
                        float* db) override {
        TraceRange r("dense_backward");
        dense_backward_cuda(x, w, dy, n, in, out, dx, dw, db, stream_);
    }
    void relu_forward(const float* x, size_t n, float* y) override {
        TraceRange r("relu_forward");
        relu_forward_cuda(x, n, y, stream_);
    }
    void relu_backward(const float* y, const float* dy, size_t n, float* dx) override {
        TraceRange r("relu_backward");
        relu_backward_cuda(y, dy, n, dx, stream_);
    }
    void dropout_forward(const float* x, size_t n, float rate, uint64_t seed, float* y, uint8_t* mask) override {
        TraceRange r("dropout_forward");
        dropout_forward_cuda(x, n, rate, seed, y, mask, stream_);
    }
    void dropout_backward(const float* dy, const uint8_t* mask, size_t n, float rate, float* dx) override {
        TraceRange r("dropout_backward");
        dropout_backward_cuda(dy, mask, n, rate, dx, stream_);
    }
    double softmax_xent_forward(const float* logits, const int32_t* labels, const float* cw, int n, int k,
                                float* probs) override {
        TraceRange r("softmax_xent_forward");
        const int32_t* d_labels = upload_labels(labels, n);
        const float* d_cw = upload_weights(cw, k);
        double* scratch = dev<double>(xent_scratch_, softmax_xent_scratch_size(n));
        return softmax_xent_forward_cuda(logits, d_labels, d_cw, n, k, probs, scratch, stream_);
    }
    void softmax_xent_backward(const float* probs, const int32_t* labels, const float* cw, int n, int k,
                               float* dlogits) override {
        TraceRange r("softmax_xent_backward");
        const int32_t* d_labels = upload_labels(labels, n);
        const float* d_cw = upload_weights(cw, k);
        softmax_xent_backward_cuda(probs, d_labels, d_cw, n, k, dlogits, stream_);
    }
    XentStep softmax_xent_step(const float* logits, const int32_t* labels, const float* cw, int n, int k,
                               float* probs, float* dlogits) override {
        TraceRange r("softmax_xent_step");
        const int32_t* d_labels = upload_labels(labels, n);
        const float* d_cw = upload_weights(cw, k);
        double* scratch = dev<double>(xent_scratch_, softmax_xent_scratch_size(n));
        XentStep out;
        out.loss = softmax_xent_step_cuda(logits, d_labels, d_cw, n, k, probs, dlogits, scratch, &out.correct, stream_);
        return out;
    }
    void softmax_forward(const float* logits, int n, int k, float* probs) override {
        TraceRange r("softmax_forward");
        softmax_rows_cuda(logits, n, k, probs, stream_);
    }
    void adam_step(float* p, const float* g, float* m, float* v, size_t n, int64_t step, const AdamParams& hp) override {
        TraceRange r("adam_step");
        adam_step_cuda(p, g, m, v, n, step, hp, stream_);
    }
    void adam_step_all(const AdamSlot* slots, size_t count, int64_t step, const AdamParams& hp) override {
        TraceRange r("adam_step_all");
        for (size_t first = 0; first < count; first += AdamTensorList::kMax) {
            AdamTensorList list;
            list.count = int(std::min<size_t>(count - first, AdamTensorList::kMax));
            for (int i = 0; i < list.count; ++i) {
                const AdamSlot& s = slots[first + size_t(i)];
                list.p[i] = s.p;
                list.g[i] = s.g;
                list.m[i] = s.m;
                list.v[i] = s.v;
                list.n[i] = s.n;
            }
            adam_step_multi_cuda(list, step, hp, stream_);
        }
    }

private:
    struct Uploaded {
        const WindowPacket* packets;
        const uint32_t *offsets, *counts, *length_us;
        size_t total;
        cudaEvent_t consumed;  // the caller records it on stream_ after the kernel that reads them
    };
    // Two staging buffers, used in turn, so that the copy of the next batch's packets (on
    // copy_) overlaps the compute of the current step (on stream_): the host packs batch
    // t+1 while the device still runs the backward pass of batch t.
    struct Staging {
        PinnedBytes pinned;
        Storage device{Memory::kDevice};
        cudaEvent_t copied = nullptr;    // copy_ finished reading `pinned`
        cudaEvent_t consumed = nullptr;  // stream_ finished reading `device`
    };
    Uploaded upload(const PacketListView* windows, size_t n, const BinningOptions& opts) {
        size_t total = 0;  // the packets on the time axis: what the packer writes
        for (size_t b = 0; b < n; ++b) total += axis_view(windows[b], opts).count;
        if (total > 0xFFFFFFFFull) throw InputError("more than 2^32 packets in one batch");
        const PackedLayout L(n, total);
        Staging& st = staging_[next_staging_];
        next_staging_ ^= 1;
        CUDA_CHECK(cudaEventSynchronize(st.copied));  // its previous copy has left the pinned block
        st.pinned.reserve(L.bytes);
        pack_into(st.pinned.get(), L, windows, n, opts);
        if (L.bytes > st.device.capacity()) CUDA_CHECK(cudaStreamSynchronize(stream_));  // growing: nothing may still read it
        uint8_t* d = dev<uint8_t>(st.device, L.bytes);
        CUDA_CHECK(cudaStreamWaitEvent(copy_, st.consumed, 0));  // the kernel that read it last is done
        CUDA_CHECK(cudaMemcpyAsync(d, st.pinned.get(), L.bytes, cudaMemcpyHostToDevice, copy_));
        CUDA_CHECK(cudaEventRecord(st.copied, copy_));
        CUDA_CHECK(cudaStreamWaitEvent(stream_, st.copied, 0));
        return {reinterpret_cast<const WindowPacket*>(d + L.packets_at), reinterpret_cast<const uint32_t*>(d + L.offsets_at),
                reinterpret_cast<const uint32_t*>(d + L.counts_at), reinterpret_cast<const uint32_t*>(d + L.length_at),
                total, st.consumed};
    }
    // Host labels/weights to device (cudaMemcpyAsync from pageable memory returns once
    // the data is staged, so the caller's vector may change right after).
    const int32_t* upload_labels(const int32_t* labels, int n) {
        int32_t* d = dev<int32_t>(labels_, size_t(std::max(n, 1)));
        if (n > 0) CUDA_CHECK(cudaMemcpyAsync(d, labels, size_t(n) * 4, cudaMemcpyHostToDevice, stream_));
        return d;
    }
    const float* upload_weights(const float* cw, int k) {
        if (!cw) return nullptr;
        float* d = dev<float>(weights_, size_t(std::max(k, 1)));
        CUDA_CHECK(cudaMemcpyAsync(d, cw, size_t(k) * 4, cudaMemcpyHostToDevice, stream_));
        return d;
    }

    cudaStream_t stream_ = nullptr, copy_ = nullptr;
    Staging staging_[2];
    int next_staging_ = 0;
    Storage conv_scratch_{Memory::kDevice}, fwd_scratch_{Memory::kDevice}, sparse_fwd_scratch_{Memory::kDevice}, xent_scratch_{Memory::kDevice},
        labels_{Memory::kDevice}, weights_{Memory::kDevice}, entries_{Memory::kDevice}, entry_offsets_{Memory::kDevice};
};

// ---- the batch-1 graph ------------------------------------------------------------------

class CudaGraphClassifier final : public WindowClassifier {
public:
    CudaGraphClassifier(Network& net, CudaBackend& be, const BinningOptions& binning, uint32_t capacity)
        : eager_(net, be, binning), net_(net), be_(be), binning_(binning), capacity_(std::max<uint32_t>(capacity, 1)),
          layout_(1, capacity_), x_({1, channels(binning), binning.resolution, binning.resolution}, Memory::kDevice) {
        pinned_in_.reserve(layout_.bytes);
        std::memset(pinned_in_.get(), 0, layout_.bytes);
        const int k = net.spec().classes;
        pinned_out_.reserve(size_t(k) * sizeof(float));
        block_ = dev<uint8_t>(block_storage_, layout_.bytes);
        probs_ = dev<float>(probs_storage_, size_t(k));
        capture();
    }
    ~CudaGraphClassifier() override { release(); }

    void classify(const PacketListView* windows, size_t n, float* probs) override {
        if (n != 1 || axis_view(windows[0], binning_).count > capacity_) {
            // A larger batch may grow (reallocate) the net's activations, which the graph
            // holds by address: capture again before the next replay.
            stale_ = true;
            return eager_.classify(windows, n, probs);
        }
        if (stale_) capture();
        TraceRange r("classify_graph");
        pack_into(pinned_in_.get(), layout_, windows, 1, binning_);
        CUDA_CHECK(cudaGraphLaunch(exec_, be_.stream()));
        CUDA_CHECK(cudaStreamSynchronize(be_.stream()));
        std::memcpy(probs, pinned_out_.get(), size_t(net_.spec().classes) * sizeof(float));
    }
    std::string describe() const override {
        return "cuda graph (batch 1, <= " + std::to_string(capacity_) + " packets; eager otherwise)";
    }

private:
    void release() {
        if (exec_) cudaGraphExecDestroy(exec_);
        if (graph_) cudaGraphDestroy(graph_);
        exec_ = nullptr;
        graph_ = nullptr;
    }
    void capture() {
        TraceRange r("capture_graph");
        release();
        // One eager pass sizes every tensor the forward touches, so capture allocates nothing.
        record();
        be_.synchronize();
        CUDA_CHECK(cudaStreamBeginCapture(be_.stream(), cudaStreamCaptureModeThreadLocal));
        try {
            record();
        } catch (...) {
            cudaGraph_t g = nullptr;
            cudaStreamEndCapture(be_.stream(), &g);
            if (g) cudaGraphDestroy(g);
            throw;
        }
        CUDA_CHECK(cudaStreamEndCapture(be_.stream(), &graph_));
        CUDA_CHECK(cudaGraphInstantiate(&exec_, graph_, 0));
        stale_ = false;
    }
    // Upload of the whole capacity block (the graph's copy has a fixed size), binning
    // with a grid for `capacity_` packets (the kernel loops over the window's real count),
    // the forward, the softmax, the download of the probabilities.
    void record() {
        cudaStream_t s = be_.stream();
        CUDA_CHECK(cudaMemcpyAsync(block_, pinned_in_.get(), layout_.bytes, cudaMemcpyHostToDevice, s));
        const auto* packets = reinterpret_cast<const WindowPacket*>(block_ + layout_.packets_at);
        const auto* offsets = reinterpret_cast<const uint32_t*>(block_ + layout_.offsets_at);
        const auto* counts = reinterpret_cast<const uint32_t*>(block_ + layout_.counts_at);
        const auto* length = reinterpret_cast<const uint32_t*>(block_ + layout_.length_at);
        // Dense binning even where the net could take entries: at batch 1 the dense path is
        // the faster one (H100, FlowPicNet 1500^2: 88 us per window against 121 us from
        // entries, bench/gpu_check.sh of 2026-11-26); batches are where entries win.
        bin_dense_cuda(packets, offsets, counts, length, 1, capacity_, binning_, x_.data(), s);
        const Tensor* logits_p = &net_.forward(be_, x_, kInference);
        const Tensor& logits = *logits_p;
        softmax_rows_cuda(logits.data(), 1, int(logits.dim(1)), probs_, s);
        CUDA_CHECK(cudaMemcpyAsync(pinned_out_.get(), probs_, size_t(logits.dim(1)) * sizeof(float),
                                   cudaMemcpyDeviceToHost, s));
    }

    EagerClassifier eager_;
    Network& net_;
    CudaBackend& be_;
    BinningOptions binning_;
    uint32_t capacity_;
    PackedLayout layout_;
    Tensor x_;
    PinnedBytes pinned_in_, pinned_out_;
    Storage block_storage_{Memory::kDevice}, probs_storage_{Memory::kDevice};
    uint8_t* block_ = nullptr;
    float* probs_ = nullptr;
    cudaGraph_t graph_ = nullptr;
    cudaGraphExec_t exec_ = nullptr;
    bool stale_ = true;
};

std::unique_ptr<WindowClassifier> CudaBackend::batch1_graph(Network& net, const BinningOptions& binning,
                                                           uint32_t max_packets) {
    return std::make_unique<CudaGraphClassifier>(net, *this, binning, max_packets);
}

}  // namespace

std::unique_ptr<Backend> try_make_cuda_backend(std::string* why_none) {
    const CudaDeviceInfo info = cuda_device_info();  // the one probe
    if (info.count == 0) {
        if (why_none) *why_none = info.why_none.empty() ? "no CUDA device" : info.why_none;
        return nullptr;
    }
    return std::make_unique<CudaBackend>();
}

}  // namespace flowpic

#else  // a build without CUDA

namespace flowpic {

std::unique_ptr<Backend> try_make_cuda_backend(std::string* why_none) {
    if (why_none) *why_none = "this build has no CUDA (nvcc was not found, or make CUDA=0); use --device cpu";
    return nullptr;
}

}  // namespace flowpic

#endif

namespace flowpic {

std::unique_ptr<Backend> make_cuda_backend() {
    std::string why;
    auto be = try_make_cuda_backend(&why);
    if (!be) throw InputError("--device cuda: " + why);
    return be;
}

}  // namespace flowpic
