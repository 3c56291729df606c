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
//
// Few-shot splits (assign_few_shot; tcbench's protocol, docs/PREP.md "Few-shot splits"):
// per class, N groups are drawn for training + validation and every other group of the
// class is test (the "leftover").  Per class, independently:
//   1. the class's groups (with windows) are sorted by id and shuffled ONCE (Fisher-Yates,
//      splitmix64 seeded from (seed, class); not from the split index), so draws of one
//      seed are positions in one fixed order;
//   2. draw K (--split-index K) takes the positions [K*N, (K+1)*N) of that order, so
//      draws 0, 1, ... are disjoint while (K+1)*N <= groups.  When the class has more
//      than N but fewer than (K+1)*N groups, the positions wrap around the order (modulo
//      the group count): the draw still has N distinct groups, but overlaps earlier
//      draws; a note names the class and the counts;
//   3. of the n drawn groups, v = round(n * val_fraction) (half away from zero, at most
//      n - 1: one group always trains) go to validation -- the last v positions of the
//      draw -- the first n - v to training;
//   4. a class with <= N groups puts all of them in train/val (step 3 with n = the group
//      count) and none in test, with a note.
// Groups count, not windows: with one window per flow (--first) a group is one flow.
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
    std::vector<std::array<uint64_t, 3>> groups;  // groups (captures) per [class][split]
    std::vector<std::string> notes;  // e.g. "class chat: 1 capture, no window in val"
};

struct FewShotRule {
    uint32_t per_class = 0;     // N; 0 = the rule is off (fraction split)
    double val_fraction = 0.2;  // of the N drawn, this share (rounded) is validation; 0 <= f < 1
    uint32_t index = 0;         // K: which draw, 0 .. kMaxSplitIndex

    bool enabled() const { return per_class > 0; }
    void validate() const;  // UsageError naming the flag
};
constexpr uint32_t kMaxSplitIndex = 999;
constexpr uint32_t kMaxPerClass = 100000000;

// class_names (optional) only make the notes readable; labels index into it.
SplitPlan assign_splits(const std::vector<SplitGroup>& groups, const SplitFractions& fr,
                        uint64_t seed, const std::vector<std::string>& class_names = {});

// The few-shot rule above.  A draw aims at no window count: plan.targets is set to the
// achieved window counts.
SplitPlan assign_few_shot(const std::vector<SplitGroup>& groups, const FewShotRule& rule, uint64_t seed,
                          const std::vector<std::string>& class_names = {});

}  // namespace flowpic
