#include "flowpic/split.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "core/error.h"
#include "core/rng.h"

namespace flowpic {

const char* split_name(uint8_t s) {
    switch (s) {
        case kSplitTrain: return "train";
        case kSplitVal: return "val";
        case kSplitTest: return "test";
    }
    return "?";
}

SplitFractions parse_split(const std::string& text) {
    SplitFractions out;
    std::vector<std::string> parts;
    std::stringstream ss(text);
    for (std::string p; std::getline(ss, p, ',');) parts.push_back(p);
    if (parts.size() != 3 || text.empty() || text.back() == ',')
        throw UsageError("--split: '" + text + "' is not three numbers like 0.8,0.1,0.1");
    double sum = 0;
    for (int i = 0; i < 3; ++i) {
        const char* b = parts[i].c_str();
        char* e = nullptr;
        double v = std::strtod(b, &e);
        while (e && (*e == ' ' || *e == '\t')) ++e;
        if (e == b || *e != '\0' || !std::isfinite(v))
            throw UsageError("--split: '" + parts[i] + "' is not a number");
        if (v < 0) throw UsageError("--split: '" + parts[i] + "' is negative");
        out.f[i] = v;
        sum += v;
    }
    if (std::fabs(sum - 1.0) > 1e-6)
        throw UsageError("--split: fractions sum to " + std::to_string(sum) + ", not 1");
    return out;
}

namespace {

constexpr int kAttempts = 64;

// Uniform in [0, n) by the multiply-high method (bias < n / 2^64: irrelevant here).
uint64_t below(uint64_t& state, uint64_t n) {
    return uint64_t((unsigned __int128)splitmix64(state) * n >> 64);
}

struct Fill {
    std::vector<uint8_t> split;  // per member, in member order
    std::array<uint64_t, 3> count{};
    double deviation = 0;
};

// Greedy fill of one class's members (indices into groups) in the given order.
Fill greedy(const std::vector<SplitGroup>& groups, const std::vector<size_t>& order,
            const std::vector<size_t>& members, const SplitFractions& fr,
            const std::array<double, 3>& target) {
    Fill f;
    f.split.assign(members.size(), kSplitTrain);
    for (size_t pos : order) {
        const double w = double(groups[members[pos]].windows);
        int best = -1;
        double best_err = 0, best_unmet = 0;
        for (int s = 0; s < 3; ++s) {
            if (fr.f[s] <= 0) continue;
            const double cur = double(f.count[s]);
            // Only split s changes, so compare the change in total deviation.
            const double err = std::fabs(cur + w - target[s]) - std::fabs(cur - target[s]);
            const double unmet = (target[s] - cur) / target[s];
            if (best < 0 || err < best_err - 1e-9 ||
                (std::fabs(err - best_err) <= 1e-9 && unmet > best_unmet + 1e-12)) {
                best = s;
                best_err = err;
                best_unmet = unmet;
            }
        }
        f.split[pos] = uint8_t(best);
        f.count[best] += groups[members[pos]].windows;
    }
    for (int s = 0; s < 3; ++s) f.deviation += std::fabs(double(f.count[s]) - target[s]);
    return f;
}

// An empty plan (every group in train, counts zero) and each class's groups that have
// windows (indices into `groups`, in input order).
SplitPlan empty_plan(const std::vector<SplitGroup>& groups, std::vector<std::vector<size_t>>& members) {
    SplitPlan plan;
    plan.split.assign(groups.size(), kSplitTrain);
    uint32_t classes = 0;
    for (const SplitGroup& g : groups) classes = std::max(classes, g.label + 1);
    plan.windows.assign(classes, {0, 0, 0});
    plan.targets.assign(classes, {0, 0, 0});
    plan.groups.assign(classes, {0, 0, 0});
    members.assign(classes, {});
    for (size_t i = 0; i < groups.size(); ++i)
        if (groups[i].windows > 0) members[groups[i].label].push_back(i);
    return plan;
}

}  // namespace

SplitPlan assign_splits(const std::vector<SplitGroup>& groups, const SplitFractions& fr,
                        uint64_t seed, const std::vector<std::string>& class_names) {
    std::vector<std::vector<size_t>> members;
    SplitPlan plan = empty_plan(groups, members);
    const uint32_t classes = uint32_t(members.size());

    for (uint32_t c = 0; c < classes; ++c) {
        std::vector<size_t>& m = members[c];
        if (m.empty()) continue;
        // Sorted by id first: the result must not depend on the order groups came in.
        std::sort(m.begin(), m.end(), [&](size_t a, size_t b) { return groups[a].id < groups[b].id; });
        uint64_t total = 0;
        for (size_t i : m) total += groups[i].windows;
        std::array<double, 3> target;
        for (int s = 0; s < 3; ++s) target[s] = fr.f[s] * double(total);

        Fill best;
        bool have = false;
        for (int a = 0; a < kAttempts; ++a) {
            uint64_t key = (uint64_t(c) << 32) | uint64_t(a);
            uint64_t state = seed ^ splitmix64(key);
            std::vector<size_t> order(m.size());
            for (size_t i = 0; i < order.size(); ++i) order[i] = i;
            for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[below(state, i)]);
            Fill f = greedy(groups, order, m, fr, target);
            if (!have || f.deviation < best.deviation - 1e-9) {
                best = std::move(f);
                have = true;
            }
        }
        for (size_t k = 0; k < m.size(); ++k) {
            plan.split[m[k]] = best.split[k];
            plan.groups[c][best.split[k]]++;
        }
        plan.windows[c] = best.count;
        plan.targets[c] = target;

        const std::string name = c < class_names.size() ? class_names[c] : std::to_string(c);
        for (int s = 0; s < 3; ++s) {
            if (fr.f[s] > 0 && best.count[s] == 0)
                plan.notes.push_back("class " + name + ": " + std::to_string(m.size()) +
                                     (m.size() == 1 ? " capture" : " captures") + ", no window in " +
                                     split_name(uint8_t(s)));
        }
    }
    return plan;
}

void FewShotRule::validate() const {
    if (per_class < 1 || per_class > kMaxPerClass)
        throw UsageError("--split-per-class: " + std::to_string(per_class) + " is not in 1.." +
                         std::to_string(kMaxPerClass));
    if (!(val_fraction >= 0 && val_fraction < 1))
        throw UsageError("--val-fraction: " + std::to_string(val_fraction) + " is not in [0, 1)");
    if (index > kMaxSplitIndex)
        throw UsageError("--split-index: " + std::to_string(index) + " is not in 0.." + std::to_string(kMaxSplitIndex));
}

SplitPlan assign_few_shot(const std::vector<SplitGroup>& groups, const FewShotRule& rule, uint64_t seed,
                          const std::vector<std::string>& class_names) {
    rule.validate();
    std::vector<std::vector<size_t>> members;
    SplitPlan plan = empty_plan(groups, members);
    const uint32_t classes = uint32_t(members.size());

    const uint64_t n_per = rule.per_class;
    for (uint32_t c = 0; c < classes; ++c) {
        std::vector<size_t>& m = members[c];
        if (m.empty()) continue;
        std::sort(m.begin(), m.end(), [&](size_t a, size_t b) { return groups[a].id < groups[b].id; });
        // One shuffle per (seed, class), whatever the split index: the draws of one seed
        // are disjoint slices of it.  The key's top bit keeps it apart from the fraction
        // split's (class, attempt) keys.
        uint64_t key = (uint64_t(1) << 63) | uint64_t(c);
        uint64_t state = seed ^ splitmix64(key);
        std::vector<size_t> order(m.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[below(state, i)]);

        const uint64_t count = m.size();
        const std::string name = c < class_names.size() ? class_names[c] : std::to_string(c);
        const std::string groups_text = std::to_string(count) + (count == 1 ? " capture" : " captures");
        std::vector<uint8_t> split_of(count, kSplitTest);
        uint64_t drawn;
        if (count <= n_per) {
            drawn = count;
            for (uint64_t k = 0; k < count; ++k) split_of[order[k]] = kSplitTrain;
            plan.notes.push_back("class " + name + ": " + groups_text + " <= " + std::to_string(n_per) +
                                 " per class: all in train/val, none in test");
        } else {
            drawn = n_per;
            const uint64_t first = uint64_t(rule.index) * n_per;
            if (first + n_per > count)
                plan.notes.push_back("class " + name + ": " + groups_text + " < " + std::to_string(first + n_per) +
                                     " = (split index " + std::to_string(rule.index) + " + 1) x " +
                                     std::to_string(n_per) + ": draw " + std::to_string(rule.index) +
                                     " wraps around the shuffled order and overlaps earlier draws");
            for (uint64_t k = 0; k < n_per; ++k) split_of[order[(first + k) % count]] = kSplitTrain;
        }
        uint64_t val = uint64_t(std::llround(double(drawn) * rule.val_fraction));
        val = std::min(val, drawn - 1);
        // The last `val` drawn positions (in draw order) are validation.
        if (val > 0) {
            const uint64_t first = count <= n_per ? 0 : uint64_t(rule.index) * n_per;
            for (uint64_t k = drawn - val; k < drawn; ++k) split_of[order[(first + k) % count]] = kSplitVal;
        }
        for (uint64_t k = 0; k < count; ++k) {
            const size_t g = m[k];
            plan.split[g] = split_of[k];
            plan.windows[c][split_of[k]] += groups[g].windows;
            plan.groups[c][split_of[k]]++;
        }
        for (int s = 0; s < 3; ++s) plan.targets[c][s] = double(plan.windows[c][s]);
    }
    return plan;
}

}  // namespace flowpic
