#include "nn/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace flowpic {

namespace {

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    double rank = std::ceil(p / 100.0 * double(values.size()));
    size_t i = size_t(std::clamp(rank, 1.0, double(values.size()))) - 1;
    return values[i];
}

LatencyStats latency_stats(const std::vector<double>& per_image_ms, int batch) {
    LatencyStats s;
    s.samples = per_image_ms.size();
    s.batch = batch;
    if (per_image_ms.empty()) return s;
    s.p50_ms = percentile(per_image_ms, 50);
    s.p99_ms = percentile(per_image_ms, 99);
    double sum = 0;
    for (double v : per_image_ms) sum += v;
    s.mean_ms = sum / double(per_image_ms.size());
    return s;
}

void softmax_rows(const float* logits, size_t n, size_t k, float* probs) {
    for (size_t r = 0; r < n; ++r) {
        const float* l = logits + r * k;
        float* p = probs + r * k;
        float mx = l[0];
        for (size_t j = 1; j < k; ++j) mx = std::max(mx, l[j]);
        double sum = 0;
        for (size_t j = 0; j < k; ++j) sum += std::exp(double(l[j]) - mx);
        for (size_t j = 0; j < k; ++j) p[j] = float(std::exp(double(l[j]) - mx) / sum);
    }
}

EvalResult evaluate(Network& net, Backend& be, DatasetLoader& loader, const std::vector<int32_t>& label_map,
                    const EvalOptions& opts) {
    const size_t n = loader.size(), k = size_t(net.spec().classes);
    if (n == 0) throw std::invalid_argument("evaluate: empty split");
    if (opts.batch < 1) throw std::invalid_argument("evaluate: batch must be >= 1");
    const size_t batch = size_t(opts.batch);
    EvalResult r;
    r.labels.resize(n);
    r.probs.resize(n * k);
    std::unique_ptr<WindowClassifier> clf = make_classifier(net, be, loader.binning(), opts.classifier);
    r.path = clf->describe();
    std::vector<int32_t> labels;
    std::vector<double> per_image_ms;
    const double start = now_s();
    for (size_t first = 0; first < n; first += batch) {
        const size_t rows = std::min(batch, n - first);
        const double t0 = now_s();
        const PacketListView* views = loader.views(first, rows, labels);
        clf->classify(views, rows, r.probs.data() + first * k);
        per_image_ms.push_back((now_s() - t0) * 1e3 / double(rows));
        for (size_t i = 0; i < rows; ++i) {
            const int32_t l = labels[i];
            if (l < 0 || size_t(l) >= label_map.size() || label_map[size_t(l)] < 0)
                throw std::invalid_argument("evaluate: label " + std::to_string(l) + " has no class in the model");
            r.labels[first + i] = label_map[size_t(l)];
        }
        if (opts.progress) opts.progress(first + rows);
    }
    r.seconds = now_s() - start;
    r.images_per_s = r.seconds > 0 ? double(n) / r.seconds : 0;
    r.batch_latency = latency_stats(per_image_ms, opts.batch);

    const size_t singles = std::min(opts.latency_samples, n);
    per_image_ms.clear();
    std::vector<float> one(k);
    for (size_t i = 0; singles > 0 && i <= singles; ++i) {
        const double t0 = now_s();
        const PacketListView* view = loader.views(i == 0 ? 0 : i - 1, 1, labels);  // i == 0: the untimed warm-up
        clf->classify(view, 1, one.data());
        if (i > 0) per_image_ms.push_back((now_s() - t0) * 1e3);
    }
    r.single_latency = latency_stats(per_image_ms, 1);
    return r;
}

}  // namespace flowpic
