#include "nn/loader.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "core/rng.h"

namespace flowpic {

DatasetLoader::DatasetLoader(const DatasetReader& ds, int split, const BinningOptions& binning)
    : DatasetLoader(ds, split, binning, AugmentOptions{}) {}

DatasetLoader::DatasetLoader(const DatasetReader& ds, int split, const BinningOptions& binning, const AugmentOptions& aug)
    : ds_(ds), binning_(binning), aug_(aug) {
    validate(binning_);
    if (aug_.active()) {
        validate(aug_, binning_);
        copies_ = uint32_t(aug_.copies);
    } else {
        aug_ = AugmentOptions{};
    }
    if (uint64_t(ds.window_count()) * copies_ > uint64_t(UINT32_MAX))
        throw input_error(ds.path(), std::to_string(ds.window_count()) + " windows x " + std::to_string(copies_) +
                                         " copies exceed 2^32 samples: use fewer --augment-copies");
    for (size_t i = 0; i < ds.window_count(); ++i)
        if (split < 0 || ds.split(i) == split) original_.push_back(uint32_t(i));
    unshuffled();
}

void DatasetLoader::unshuffled() {
    order_.clear();
    order_.reserve(original_.size() * copies_);
    for (uint32_t w : original_)
        for (uint32_t k = 0; k < copies_; ++k) order_.push_back(w * copies_ + k);
}

void DatasetLoader::shuffle(uint64_t seed, uint64_t epoch) {
    unshuffled();  // so the order depends on (seed, epoch) alone
    uint64_t state = mix_seed(seed, epoch);
    for (size_t i = order_.size(); i > 1; --i) {
        size_t j = size_t((unsigned __int128)splitmix64(state) * i >> 64);
        std::swap(order_[i - 1], order_[j]);
    }
}

const PacketListView* DatasetLoader::views(size_t first, size_t count, std::vector<int32_t>& labels) {
    views_.resize(count);
    labels.resize(count);
    const bool packet_aug = aug_.active() && !is_image_augment(aug_.kind);
    packets_.clear();
    offsets_.assign(count, SIZE_MAX);
    for (size_t i = 0; i < count; ++i) {
        const uint32_t s = order_[first + i], w = s / copies_, k = s % copies_;
        DatasetWindow win = ds_.window(w);
        views_[i] = win.packets;
        labels[i] = int32_t(win.label);
        if (packet_aug && k > 0) {
            uint64_t state = augment_state(aug_.seed, w, k);
            offsets_[i] = packets_.size();
            views_[i].count = uint32_t(augment_packets(win.packets, aug_.kind, aug_.params, state, packets_));
        }
    }
    // Pointers only now: packets_ may have moved while it grew.
    for (size_t i = 0; i < count; ++i)
        if (offsets_[i] != SIZE_MAX) views_[i].packets = packets_.data() + offsets_[i];
    return views_.data();
}

void DatasetLoader::images(size_t first, size_t count, std::vector<int32_t>& labels, float* out) {
    const PacketListView* v = views(first, count, labels);
    binner_.bin(v, count, binning_, out);
    if (!image_input()) return;
    const size_t size = image_size(binning_);
    for (size_t i = 0; i < count; ++i) {
        const uint32_t s = order_[first + i], w = s / copies_, k = s % copies_;
        if (k == 0) continue;
        uint64_t state = augment_state(aug_.seed, w, k);
        augment_image(out + i * size, binning_, aug_.kind, aug_.params, state, scratch_);
    }
}

bool DatasetLoader::cache_images(size_t budget_bytes) {
    cache_.clear();
    const size_t size = image_size(binning_), samples = original_.size() * copies_;
    if (samples == 0 || size == 0 || samples > budget_bytes / sizeof(float) / size) return false;
    std::vector<uint32_t> order = std::move(order_);
    unshuffled();  // slot order: window by window, copy by copy
    std::vector<float> cache(samples * size);
    std::vector<uint32_t> packets(samples);
    std::vector<int32_t> labels;
    constexpr size_t kChunk = 256;  // samples binned at a time: the packet lists of one chunk
    for (size_t first = 0; first < samples; first += kChunk) {
        const size_t count = std::min(kChunk, samples - first);
        images(first, count, labels, cache.data() + first * size);
        for (size_t i = 0; i < count; ++i) packets[first + i] = axis_view(views_[i], binning_).count;
    }
    order_ = std::move(order);
    slot_of_window_.assign(ds_.window_count(), UINT32_MAX);
    for (size_t p = 0; p < original_.size(); ++p) slot_of_window_[original_[p]] = uint32_t(p);
    cache_ = std::move(cache);
    cache_packets_ = std::move(packets);
    views_.clear();
    packets_.clear();
    return true;
}

uint64_t DatasetLoader::window_packets() const {
    uint64_t n = 0;
    for (uint32_t w : original_) n += axis_view(ds_.window(w).packets, binning_).count;
    return n;
}

uint64_t DatasetLoader::cached_images(size_t first, size_t count, std::vector<int32_t>& labels, float* out) const {
    const size_t size = image_size(binning_);
    labels.resize(count);
    uint64_t packets = 0;
    for (size_t i = 0; i < count; ++i) {
        const uint32_t s = order_[first + i], w = s / copies_, k = s % copies_;
        const size_t slot = size_t(slot_of_window_[w]) * copies_ + k;
        std::memcpy(out + i * size, cache_.data() + slot * size, size * sizeof(float));
        labels[i] = int32_t(ds_.label(w));
        packets += cache_packets_[slot];
    }
    return packets;
}

std::vector<uint64_t> DatasetLoader::class_counts() const {
    std::vector<uint64_t> n(ds_.classes().size(), 0);
    for (uint32_t i : original_) n[ds_.label(i)] += copies_;
    return n;
}

}  // namespace flowpic
