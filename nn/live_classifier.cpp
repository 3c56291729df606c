#include "nn/live_classifier.h"

#include <algorithm>

#include "nn/metrics.h"
#include "nn/network.h"

namespace flowpic {

LiveClassifier::LiveClassifier(LoadedModel& m, const BinningOptions& b, int batch, const std::string& device)
    : m_(m), batch_(size_t(batch)) {
    be_ = make_backend(device);
    m_.net->to(be_->memory());
    check_batch_fits(*m_.net, *be_, batch, /*training=*/false);
    clf_ = make_classifier(*m_.net, *be_, b);
}

void LiveClassifier::queue(LiveWindow&& w, Clock::time_point trigger) { pending_.emplace_back(std::move(w), trigger); }

void LiveClassifier::decide() {
    const size_t k = m_.info.classes.size();
    for (size_t at = 0; at < pending_.size(); at += batch_) {
        const size_t n = std::min(batch_, pending_.size() - at);
        views_.clear();
        for (size_t i = 0; i < n; ++i) {
            const Window& w = pending_[at + i].first.window;
            views_.push_back({w.packets.data(), uint32_t(w.packets.size()), w.length_us});
        }
        probs_.resize(n * k);
        clf_->classify(views_.data(), n, probs_.data());
        const Clock::time_point done = Clock::now();
        ++batches_;
        for (size_t i = 0; i < n; ++i) {
            const float* p = probs_.data() + i * k;
            const double latency = std::max(0.0, std::chrono::duration<double>(done - pending_[at + i].second).count());
            latency_.add(latency);
            ++decisions_;
            if (on_decision) on_decision(LiveDecision{pending_[at + i].first, p, argmax_row(p, k), latency});
        }
    }
    pending_.clear();
}

}  // namespace flowpic
