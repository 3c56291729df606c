// Packets in, class probabilities out: binning on the backend, the forward pass, the
// softmax, and the copy of the probabilities to the host, for any backend.  On a CUDA
// backend with graphs on, a batch of one window replays a CUDA graph captured once (packet
// upload, binning, every layer, softmax, download: one launch), which is flowpic-infer's
// batch-1 path; larger batches, and windows with more packets than the graph was captured
// for, run the same ops eagerly.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "kernels/cpu/binning.h"
#include "kernels/packet_list.h"
#include "nn/backend.h"
#include "nn/network.h"
#include "nn/tensor.h"

namespace flowpic {

class WindowClassifier {
public:
    virtual ~WindowClassifier() = default;
    // probs: n x K host floats.
    virtual void classify(const PacketListView* windows, size_t n, float* probs) = 0;
    virtual std::string describe() const = 0;  // "eager", "cuda graph (batch 1, <= 4096 packets)"
};

struct ClassifierOptions {
    bool graph = true;                // CUDA backends: batch 1 through a CUDA graph
    uint32_t graph_packets = 4096;    // packets per window the graph is captured for
};

// The net's parameters must already be in the backend's memory (Network::to).
std::unique_ptr<WindowClassifier> make_classifier(Network& net, Backend& be, const BinningOptions& binning,
                                                  const ClassifierOptions& opts = {});

// The eager path alone (the CUDA graph classifier falls back to it).
class EagerClassifier final : public WindowClassifier {
public:
    EagerClassifier(Network& net, Backend& be, const BinningOptions& binning)
        : net_(net), be_(be), binning_(binning), probs_({0}, be.memory()) {}
    void classify(const PacketListView* windows, size_t n, float* probs) override;
    std::string describe() const override { return "eager"; }

private:
    Network& net_;
    Backend& be_;
    BinningOptions binning_;
    Tensor probs_;
};

}  // namespace flowpic
