#include "nn/classifier.h"

#include "core/trace.h"

namespace flowpic {

std::unique_ptr<WindowClassifier> Backend::batch1_graph(Network&, const BinningOptions&, uint32_t) { return nullptr; }

void EagerClassifier::classify(const PacketListView* windows, size_t n, float* probs) {
    if (n == 0) return;
    TraceRange range("classify");
    const Tensor& logits = net_.forward(be_, PacketBatch{windows, n, binning_}, kInference);
    probs_.reshape(logits.shape());
    be_.softmax_forward(logits.data(), int(logits.dim(0)), int(logits.dim(1)), probs_.data());
    probs_.copy_to_host(probs);
}

std::unique_ptr<WindowClassifier> make_classifier(Network& net, Backend& be, const BinningOptions& binning,
                                                  const ClassifierOptions& opts) {
    if (opts.graph)
        if (auto g = be.batch1_graph(net, binning, opts.graph_packets)) return g;
    return std::make_unique<EagerClassifier>(net, be, binning);
}

}  // namespace flowpic
