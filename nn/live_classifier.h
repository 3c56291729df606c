// The decision step of live classification: windows that became decidable at the same
// moment (flowpic/live_windows.h: one packet or one deadline closed them) are queued and
// classified together in batches of up to `batch`; a lone window goes through the
// classifier's batch-1 path (a CUDA graph on the GPU).  Each decision carries its latency:
// from its trigger (the moment the closing packet reached the windower, or the window's
// deadline) to the moment its probabilities are known.  Memory is one batch; latencies
// go to a fixed-size histogram.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/latency_histogram.h"
#include "flowpic/live_windows.h"
#include "nn/backend.h"
#include "nn/classifier.h"
#include "nn/model_file.h"

namespace flowpic {

struct LiveDecision {
    const LiveWindow& window;
    const float* probs;  // K values, the model's class order
    size_t cls;          // argmax
    double latency_s;
};

class LiveClassifier {
public:
    using Clock = std::chrono::steady_clock;
    // Moves the model's net to the backend `device` names; InputError when `batch` would
    // not fit in its memory.
    LiveClassifier(LoadedModel& m, const BinningOptions& b, int batch, const std::string& device);

    void queue(LiveWindow&& w, Clock::time_point trigger);
    size_t queued() const { return pending_.size(); }
    // Classifies everything queued; decisions go to on_decision in queue order.
    void decide();
    std::function<void(const LiveDecision&)> on_decision;

    uint64_t decisions() const { return decisions_; }
    uint64_t batches() const { return batches_; }
    const LatencyHistogram& latency() const { return latency_; }
    std::string describe() const { return clf_->describe(); }

private:
    LoadedModel& m_;
    size_t batch_;
    std::unique_ptr<Backend> be_;
    std::unique_ptr<WindowClassifier> clf_;
    std::vector<std::pair<LiveWindow, Clock::time_point>> pending_;
    std::vector<PacketListView> views_;
    std::vector<float> probs_;
    LatencyHistogram latency_;
    uint64_t decisions_ = 0, batches_ = 0;
};

}  // namespace flowpic
