// Train / validation / test split, stratified by class and grouped by capture file: all
// windows of one capture land in one split (the seed's split over windows leaks: windows
// of one flow end up on both sides).  docs/PREP.md has the rules with an example.
//
// Algorithm, per class, independently:
//   1. the class's groups (captures) are sorted by id, then shuffled with a Fisher-Yates
//      shuffle driven by splitmix64 (core/rng.h) seeded from (seed, class, attempt)
//      -- no std distributions, so
//      the result is the same on every platform and library;
//   2. greedy fill in that order: each group goes to the split whose window count ends
//      closest to its target (fraction * class windows), measured as the sum over splits
//      of |count - target|; ties go to the split with the largest unmet share of its
//      target, then to the lower split index.  A split with fraction 0 never gets a group;
//   3. steps 1-2 run for 64 shuffles (attempts 0..63 of the seed); the attempt with the
//      smallest total deviation wins (the first such one on ties).
// Deterministic for a given seed and input; a different seed usually gives a different,
// equally balanced assignment.
//
// Small classes: a class with a single capture goes wholly to the split with the largest
// fraction (train by default: that is where the deviation is smallest).  Whenever a split
// with a non-zero fraction gets no window of a class, a note says so (the app prints it).
// Groups with zero windows are assigned to split 0 and take no part.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace flowpic {

enum : uint8_t { kSplitTrain = 0, kSplitVal = 1, kSplitTest = 2 };
const char* split_name(uint8_t s);  // "train", "val", "test"

struct SplitFractions {
    std::array<double, 3> f{{0.8, 0.1, 0.1}};
};

// "0.8,0.1,0.1": three non-negative numbers summing to 1 within 1e-6, else UsageError.
SplitFractions parse_split(const std::string& text);

struct SplitGroup {
    uint64_t id;       // the group's identity (capture index); unique
    uint32_t label;    // class index
    uint64_t windows;  // its weight
};

struct SplitPlan {
    std::vector<uint8_t> split;  // per input group, same order
    // windows[class][split]: the achieved counts, and the targets they aimed at.
    std::vector<std::array<uint64_t, 3>> windows;
    std::vector<std::array<double, 3>> targets;
    std::vector<std::string> notes;  // e.g. "class chat: 1 capture, no window in val"
};

// class_names (optional) only make the notes readable; labels index into it.
SplitPlan assign_splits(const std::vector<SplitGroup>& groups, const SplitFractions& fr,
                        uint64_t seed, const std::vector<std::string>& class_names = {});

}  // namespace flowpic
