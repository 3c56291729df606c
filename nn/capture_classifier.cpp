#include "nn/capture_classifier.h"

#include "nn/network.h"

namespace flowpic {

CaptureClassifier::CaptureClassifier(LoadedModel& m, const BinningOptions& b, int batch, const std::string& device)
    : m_(m), b_(b), batch_(size_t(batch)) {
    be_ = make_backend(device);
    m_.net->to(be_->memory());
    check_batch_fits(*m_.net, *be_, batch, /*training=*/false);
    clf_ = make_classifier(*m_.net, *be_, b_);
}

std::vector<double> CaptureClassifier::Flow::mean() const {
    std::vector<double> m(sum.size());
    for (size_t j = 0; j < sum.size(); ++j) m[j] = sum[j] / double(windows);
    return m;
}

void CaptureClassifier::add(uint32_t capture, Window&& w) {
    pending_.push_back({capture, std::move(w)});
    if (pending_.size() >= batch_) flush();
}

void CaptureClassifier::flush() {
    if (pending_.empty()) return;
    const size_t n = pending_.size(), k = m_.info.classes.size();
    views_.clear();
    for (const auto& p : pending_)
        views_.push_back({p.second.packets.data(), uint32_t(p.second.packets.size()), p.second.length_us});
    probs_.resize(n * k);
    clf_->classify(views_.data(), n, probs_.data());
    for (size_t i = 0; i < n; ++i) {
        const Window& w = pending_[i].second;
        Row row{pending_[i].first, w.flow_id, w.tuple, w.view, w.start_ns, w.packets.size(),
                std::vector<float>(probs_.begin() + i * k, probs_.begin() + (i + 1) * k)};
        auto key = std::make_pair(row.capture, row.flow_id);
        auto it = flow_index_.find(key);
        if (it == flow_index_.end()) {
            it = flow_index_.emplace(key, flows_.size()).first;
            flows_.push_back({row.capture, row.tuple, 0, std::vector<double>(k, 0.0)});
        }
        Flow& f = flows_[it->second];
        ++f.windows;
        for (size_t j = 0; j < k; ++j) f.sum[j] += row.probs[j];
        if (on_row) on_row(row);
    }
    pending_.clear();
}

}  // namespace flowpic
