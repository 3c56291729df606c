// Running a model over one split of a dataset: probabilities for every window (for
// nn/metrics.h) and timing.
//
// Timing covers what a deployment pays per window: binning the packet list into the
// image on the backend, the forward pass, the softmax and the probabilities back on the
// host (nn/classifier.h; on CUDA, batch 1 replays a CUDA graph).
//   images_per_s   windows of the whole pass / its wall time, at the batch size used.
//   batch latency  per batch: its time / its windows; percentiles over the batches.
//   batch-1        up to `latency_samples` single-window passes over the first windows
//                  of the split, after one untimed warm-up pass; percentiles over them.
// Percentiles are nearest-rank: p = sorted[ceil(p/100 * n) - 1].
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nn/backend.h"
#include "nn/classifier.h"
#include "nn/loader.h"
#include "nn/network.h"

namespace flowpic {

struct LatencyStats {
    size_t samples = 0;  // 0: not measured
    int batch = 0;
    double p50_ms = 0, p99_ms = 0, mean_ms = 0;  // per image
};

struct EvalOptions {
    int batch = 64;
    size_t latency_samples = 200;  // batch-1 passes to time; 0 skips them
    std::function<void(size_t done)> progress;  // after every batch (optional)
    ClassifierOptions classifier;
};

struct EvalResult {
    std::vector<int32_t> labels;  // per window, the model's class index
    std::vector<float> probs;     // windows x K (the model's classes)
    double seconds = 0;           // the main pass
    double images_per_s = 0;
    LatencyStats batch_latency, single_latency;
    std::string path;  // the classifier used (WindowClassifier::describe)
};

// Nearest-rank percentile of unsorted values (copied); 0 for none.
double percentile(std::vector<double> values, double p);
LatencyStats latency_stats(const std::vector<double>& per_image_ms, int batch);

// Numerically stable softmax of each of the n rows of k logits.
void softmax_rows(const float* logits, size_t n, size_t k, float* probs);

// label_map[dataset label] = the model's class index (every label the split holds must
// map to one: the caller checks names).  std::invalid_argument for an empty split.
EvalResult evaluate(Network& net, Backend& be, DatasetLoader& loader, const std::vector<int32_t>& label_map,
                    const EvalOptions& opts);

}  // namespace flowpic
