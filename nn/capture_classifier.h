// Classifying windows as they stream out of captures: windows are queued and classified
// in batches of `batch` (batch 1 through the backend's graph where it has one), each
// window's probabilities go to on_row as its batch ends, and every flow (both uni views
// together) accumulates the sum of its windows' probabilities, so that a flow's class is
// the argmax of their mean.  The mean keeps each window's confidence; with equal windows
// it agrees with a majority vote, and it breaks that vote's ties sensibly.  Memory is one
// batch plus one small record per flow seen.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "flowpic/windowing.h"
#include "nn/backend.h"
#include "nn/classifier.h"
#include "nn/model_file.h"

namespace flowpic {

class CaptureClassifier {
public:
    // Moves the model's net to the backend `device` names; InputError when `batch` would
    // not fit in its memory.
    CaptureClassifier(LoadedModel& m, const BinningOptions& b, int batch, const std::string& device);

    struct Row {
        uint32_t capture;
        uint64_t flow_id;
        FiveTuple tuple;
        DirView view;
        int64_t start_ns;
        size_t packets;
        std::vector<float> probs;
    };
    struct Flow {
        uint32_t capture;
        FiveTuple tuple;
        size_t windows = 0;
        std::vector<double> sum;
        std::vector<double> mean() const;
    };

    // Queues a window; classifies the queue when it is full (rows then go to on_row).
    void add(uint32_t capture, Window&& w);
    void flush();  // classifies what is queued
    const std::vector<Flow>& flows() const { return flows_; }
    std::function<void(const Row&)> on_row;

private:
    LoadedModel& m_;
    BinningOptions b_;
    size_t batch_;
    std::unique_ptr<Backend> be_;
    std::vector<std::pair<uint32_t, Window>> pending_;
    std::vector<PacketListView> views_;
    std::unique_ptr<WindowClassifier> clf_;
    std::vector<float> probs_;
    std::map<std::pair<uint32_t, uint64_t>, size_t> flow_index_;
    std::vector<Flow> flows_;
};

}  // namespace flowpic
