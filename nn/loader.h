// Batches of FlowPics from a dataset file: the windows of one split, binned on the fly
// (store packet lists, bin late: resolution, normalisation and direction encoding are
// chosen here, at training time) into N x C x R x R float tensors with their labels.
// Shuffling is a pure function of (seed, epoch): a resumed run sees the same order.
#pragma once
#include <cstdint>
#include <vector>

#include "flowpic/dataset_file.h"
#include "kernels/cpu/binning.h"

namespace flowpic {

class DatasetLoader {
public:
    // split: kSplitTrain / kSplitVal / kSplitTest, or -1 for every window.
    DatasetLoader(const DatasetReader& ds, int split, const BinningOptions& binning);

    size_t size() const { return order_.size(); }
    const BinningOptions& binning() const { return binning_; }
    // Window indices (into the dataset) in the current order.
    const std::vector<uint32_t>& order() const { return order_; }
    // Reorders the windows: a Fisher-Yates shuffle seeded by (seed, epoch).
    void shuffle(uint64_t seed, uint64_t epoch);
    // The packet lists of windows [first, first + count) (valid until the next call) and labels.
    const PacketListView* views(size_t first, size_t count, std::vector<int32_t>& labels);
    // Windows per class in this split (for --class-weights balanced).
    std::vector<uint64_t> class_counts() const;

private:
    const DatasetReader& ds_;
    BinningOptions binning_;
    std::vector<uint32_t> order_, original_;
    std::vector<PacketListView> views_;
};

}  // namespace flowpic
