// Batches of FlowPics from a dataset file: the windows of one split, binned on the fly
// (store packet lists, bin late: resolution, normalisation and direction encoding are
// chosen here, at training time) into N x C x R x R float tensors with their labels.
// Shuffling is a pure function of (seed, epoch): a resumed run sees the same order.
//
// Augmentation at loading (flowpic/augment.h): with copies C > 1 every window gives C
// samples, sample id = window index * C + copy, copy 0 being the window itself.  An
// augmented sample is a pure function of (augment seed, window index, copy), recomputed
// whenever its batch is loaded unless the image cache holds it (memory is then one batch
// of packet lists, whatever the dataset's size): every epoch sees the same samples (as
// tcbench's augment-once-at-loading does), and a resumed run sees them too.
//
// An image cache (cache_images) keeps every sample's dense image once it is binned, so
// later epochs gather images instead of augmenting and binning again: the same floats
// (binning is exact), bought with samples x C x R x R floats of memory.
#pragma once
#include <cstdint>
#include <vector>

#include "flowpic/augment.h"
#include "flowpic/dataset_file.h"
#include "kernels/cpu/binning.h"
#include "kernels/cpu/binning_avx2.h"

namespace flowpic {

class DatasetLoader {
public:
    // split: kSplitTrain / kSplitVal / kSplitTest, or -1 for every window.
    DatasetLoader(const DatasetReader& ds, int split, const BinningOptions& binning);
    // The same with augmentation (aug.active(): C = aug.copies samples per window).
    // InputError when windows x copies exceed 2^32 samples.
    DatasetLoader(const DatasetReader& ds, int split, const BinningOptions& binning, const AugmentOptions& aug);

    size_t size() const { return order_.size(); }  // samples
    size_t window_count() const { return original_.size(); }
    const BinningOptions& binning() const { return binning_; }
    const AugmentOptions& augment() const { return aug_; }
    // Sample ids in the current order (window index * copies + copy; without augmentation
    // the window indices into the dataset).
    const std::vector<uint32_t>& order() const { return order_; }
    // Reorders the samples: a Fisher-Yates shuffle seeded by (seed, epoch).
    void shuffle(uint64_t seed, uint64_t epoch);
    // The packet lists of samples [first, first + count) (valid until the next call) and
    // labels.  Packet augmentations are applied here; image augmentations are not (see
    // image_input).
    const PacketListView* views(size_t first, size_t count, std::vector<int32_t>& labels);
    // True when an image augmentation is on: the net must then take images(), not views().
    bool image_input() const { return aug_.active() && is_image_augment(aug_.kind); }
    // The dense images (count x C x R x R, binned on the host, then augmented) and labels.
    // The same floats whatever backend consumes them.
    void images(size_t first, size_t count, std::vector<int32_t>& labels, float* out);
    // Bins (and augments) every sample once and keeps the images when they fit in
    // budget_bytes; returns whether the cache is on.  Off (and nothing kept) otherwise.
    bool cache_images(size_t budget_bytes);
    bool cached() const { return !cache_.empty(); }
    // Packets binned over the split's windows (after the time axis), copies not counted.
    uint64_t window_packets() const;
    // With the cache on: the images of samples [first, first + count) (count x C x R x R)
    // and labels, and the packets binned in them (after the time axis) for the net's
    // choice of input path.
    uint64_t cached_images(size_t first, size_t count, std::vector<int32_t>& labels, float* out) const;
    // Samples per class in this split (for --class-weights balanced).
    std::vector<uint64_t> class_counts() const;

private:
    void unshuffled();  // order_ = every sample, window by window

    const DatasetReader& ds_;
    BinningOptions binning_;
    AugmentOptions aug_;
    uint32_t copies_ = 1;
    std::vector<uint32_t> order_, original_;
    std::vector<PacketListView> views_;
    std::vector<WindowPacket> packets_;  // this batch's augmented packet lists
    std::vector<size_t> offsets_;
    DenseBinner binner_;
    std::vector<float> scratch_;
    // The cache, by sample slot (window position in original_ * copies + copy).
    std::vector<float> cache_;
    std::vector<uint32_t> cache_packets_, slot_of_window_;
};

}  // namespace flowpic
