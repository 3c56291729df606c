#include "nn/loader.h"

#include "core/rng.h"

namespace flowpic {

DatasetLoader::DatasetLoader(const DatasetReader& ds, int split, const BinningOptions& binning)
    : ds_(ds), binning_(binning) {
    validate(binning_);
    for (size_t i = 0; i < ds.window_count(); ++i)
        if (split < 0 || ds.split(i) == split) original_.push_back(uint32_t(i));
    order_ = original_;
}

void DatasetLoader::shuffle(uint64_t seed, uint64_t epoch) {
    order_ = original_;
    uint64_t state = mix_seed(seed, epoch);
    for (size_t i = order_.size(); i > 1; --i) {
        size_t j = size_t((unsigned __int128)splitmix64(state) * i >> 64);
        std::swap(order_[i - 1], order_[j]);
    }
}

const PacketListView* DatasetLoader::views(size_t first, size_t count, std::vector<int32_t>& labels) {
    views_.resize(count);
    labels.resize(count);
    for (size_t i = 0; i < count; ++i) {
        DatasetWindow w = ds_.window(order_[first + i]);
        views_[i] = w.packets;
        labels[i] = int32_t(w.label);
    }
    return views_.data();
}

std::vector<uint64_t> DatasetLoader::class_counts() const {
    std::vector<uint64_t> n(ds_.classes().size(), 0);
    for (uint32_t i : original_) ++n[ds_.label(i)];
    return n;
}

}  // namespace flowpic
