// Few-shot splits (flowpic/split.h, assign_few_shot; tcbench's --split-per-class): counts
// per class, the validation share, disjoint draws across split indices, what happens when
// a class is too small for disjoint draws (wrap-around, with a note) or for any test
// split, determinism, independence from input order, and the exact draw against a
// reimplementation of the documented algorithm.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "core/error.h"
#include "core/rng.h"
#include "flowpic/split.h"

using namespace flowpic;

namespace {

// Groups with ids 1000 + 7k (not 0..n-1: ids need not be dense), random window counts.
std::vector<SplitGroup> make_groups(const std::vector<uint64_t>& per_class, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<SplitGroup> g;
    uint64_t id = 1000;
    for (uint32_t c = 0; c < per_class.size(); ++c)
        for (uint64_t k = 0; k < per_class[c]; ++k, id += 7) g.push_back({id, c, 1 + rng() % 9});
    std::shuffle(g.begin(), g.end(), rng);  // the input order must not matter
    return g;
}

// The ids of class c's groups that plan put in train or val.
std::set<uint64_t> drawn(const std::vector<SplitGroup>& g, const SplitPlan& p, uint32_t c) {
    std::set<uint64_t> s;
    for (size_t i = 0; i < g.size(); ++i)
        if (g[i].label == c && p.split[i] != kSplitTest) s.insert(g[i].id);
    return s;
}

bool has_note(const SplitPlan& p, const std::string& text) {
    for (const auto& n : p.notes)
        if (n.find(text) != std::string::npos) return true;
    return false;
}

// The documented algorithm, written again from split.h's comment: sort by id, one
// Fisher-Yates shuffle from splitmix64(seed ^ splitmix64(2^63 | class)), positions
// [K*N, (K+1)*N) modulo the count, the last round(n * f) (at most n - 1) of them val.
std::map<uint64_t, uint8_t> reference(const std::vector<SplitGroup>& groups, const FewShotRule& r, uint64_t seed) {
    std::map<uint32_t, std::vector<uint64_t>> ids;
    for (const auto& g : groups)
        if (g.windows) ids[g.label].push_back(g.id);
    std::map<uint64_t, uint8_t> out;
    for (auto& [c, v] : ids) {
        std::sort(v.begin(), v.end());
        uint64_t key = (uint64_t(1) << 63) | c;
        uint64_t st = seed ^ splitmix64(key);
        for (size_t i = v.size(); i > 1; --i) {
            size_t j = size_t((unsigned __int128)splitmix64(st) * i >> 64);
            std::swap(v[i - 1], v[j]);
        }
        for (uint64_t id : v) out[id] = kSplitTest;
        const uint64_t n = std::min<uint64_t>(r.per_class, v.size());
        const uint64_t first = v.size() <= r.per_class ? 0 : uint64_t(r.index) * r.per_class;
        uint64_t val = std::min<uint64_t>(uint64_t(std::llround(double(n) * r.val_fraction)), n - 1);
        for (uint64_t k = 0; k < n; ++k) out[v[(first + k) % v.size()]] = k >= n - val ? kSplitVal : kSplitTrain;
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(few_shot)

BOOST_AUTO_TEST_CASE(counts_per_class_and_leftover_test) {
    auto g = make_groups({50, 10, 5, 23}, 3);
    FewShotRule r;
    r.per_class = 10;
    SplitPlan p = assign_few_shot(g, r, 7, {"a", "b", "c", "d"});
    BOOST_REQUIRE_EQUAL(p.split.size(), g.size());
    // Recount groups and windows from the per-group assignment.
    std::vector<std::array<uint64_t, 3>> groups(4, {0, 0, 0}), windows(4, {0, 0, 0});
    for (size_t i = 0; i < g.size(); ++i) {
        groups[g[i].label][p.split[i]]++;
        windows[g[i].label][p.split[i]] += g[i].windows;
    }
    const std::array<uint64_t, 3> want[4] = {{8, 2, 40}, {8, 2, 0}, {4, 1, 0}, {8, 2, 13}};
    for (int c = 0; c < 4; ++c) {
        BOOST_TEST(groups[c] == want[c], "class " << c);
        BOOST_TEST(p.groups[c] == want[c], "class " << c);
        BOOST_TEST(p.windows[c] == windows[c], "class " << c);
    }
    BOOST_TEST(has_note(p, "class b: 10 captures <= 10 per class: all in train/val, none in test"));
    BOOST_TEST(has_note(p, "class c: 5 captures <= 10 per class"));
    BOOST_TEST(!has_note(p, "class a:"));
    BOOST_TEST(!has_note(p, "class d:"));
}

BOOST_AUTO_TEST_CASE(exact_draw_matches_the_documented_algorithm) {
    for (uint64_t seed : {1ull, 2ull, 12345678901ull})
        for (uint32_t k : {0u, 1u, 3u, 7u})
            for (double f : {0.0, 0.2, 0.5}) {
                auto g = make_groups({37, 4, 100, 1}, uint32_t(seed + k));
                g.push_back({5, 0, 0});  // no windows: no part, stays train
                FewShotRule r;
                r.per_class = 9;
                r.index = k;
                r.val_fraction = f;
                SplitPlan p = assign_few_shot(g, r, seed);
                auto ref = reference(g, r, seed);
                for (size_t i = 0; i < g.size(); ++i) {
                    const uint8_t want = g[i].windows ? ref.at(g[i].id) : uint8_t(kSplitTrain);
                    BOOST_TEST(p.split[i] == want, "seed " << seed << " index " << k << " id " << g[i].id);
                }
            }
}

BOOST_AUTO_TEST_CASE(split_indices_give_disjoint_draws) {
    auto g = make_groups({50, 30}, 11);
    FewShotRule r;
    r.per_class = 10;
    std::set<uint64_t> seen[2];
    for (uint32_t k = 0; k < 5; ++k) {
        r.index = k;
        SplitPlan p = assign_few_shot(g, r, 99, {"a", "b"});
        for (uint32_t c = 0; c < 2; ++c) {
            std::set<uint64_t> d = drawn(g, p, c);
            BOOST_TEST(d.size() == 10u);
            if (c == 0 || k < 3)  // class b has 30: draws 0..2 fit, 3 and 4 wrap around
                for (uint64_t id : d) BOOST_TEST(!seen[c].count(id), "class " << c << " index " << k);
            seen[c].insert(d.begin(), d.end());
        }
        BOOST_TEST(has_note(p, "class b: 30 captures") == (k >= 3));
        BOOST_TEST(!has_note(p, "class a:"));
    }
    BOOST_TEST(seen[0].size() == 50u);  // five disjoint draws of 10 cover class a exactly
    BOOST_TEST(seen[1].size() == 30u);
}

BOOST_AUTO_TEST_CASE(too_few_groups_wrap_around_with_a_note) {
    // The UCDavis copy: 484 Google Music flows, 5 draws of 100 cannot be disjoint.
    auto g = make_groups({484}, 5);
    FewShotRule r;
    r.per_class = 100;
    r.index = 0;
    std::set<uint64_t> d0 = drawn(g, assign_few_shot(g, r, 1, {"music"}), 0);
    r.index = 4;
    SplitPlan p4 = assign_few_shot(g, r, 1, {"music"});
    std::set<uint64_t> d4 = drawn(g, p4, 0);
    BOOST_TEST(d4.size() == 100u);  // still 100 distinct flows
    std::vector<uint64_t> common;
    std::set_intersection(d0.begin(), d0.end(), d4.begin(), d4.end(), std::back_inserter(common));
    BOOST_TEST(common.size() == 16u);  // positions 400..483 then 0..15
    BOOST_TEST(p4.groups[0][kSplitTest] == 384u);
    BOOST_TEST(has_note(p4, "class music: 484 captures < 500 = (split index 4 + 1) x 100: draw 4 wraps around"));
    // Draws 0..3 fit without a note.
    r.index = 3;
    BOOST_TEST(assign_few_shot(g, r, 1, {"music"}).notes.empty());
}

BOOST_AUTO_TEST_CASE(validation_share_rounding) {
    struct Case {
        uint32_t n;
        double f;
        uint64_t val;
    };
    // round half away from zero; one drawn group always trains
    for (Case c : {Case{100, 0.2, 20}, Case{5, 0.1, 1}, Case{7, 0.2, 1}, Case{3, 0.5, 2}, Case{1, 0.5, 0},
                   Case{2, 0.9, 1}, Case{10, 0.0, 0}}) {
        auto g = make_groups({200}, c.n);
        FewShotRule r;
        r.per_class = c.n;
        r.val_fraction = c.f;
        SplitPlan p = assign_few_shot(g, r, 3);
        BOOST_TEST(p.groups[0][kSplitVal] == c.val, "n " << c.n << " f " << c.f);
        BOOST_TEST(p.groups[0][kSplitTrain] == c.n - c.val, "n " << c.n << " f " << c.f);
        BOOST_TEST(p.groups[0][kSplitTest] == 200u - c.n);
    }
    // The drawn set does not depend on the validation share, only its division does.
    auto g = make_groups({60}, 8);
    FewShotRule a, b;
    a.per_class = b.per_class = 12;
    b.val_fraction = 0.5;
    BOOST_TEST(drawn(g, assign_few_shot(g, a, 4), 0) == drawn(g, assign_few_shot(g, b, 4), 0));
}

BOOST_AUTO_TEST_CASE(deterministic_order_free_and_seeded) {
    auto g = make_groups({40, 40}, 21);
    FewShotRule r;
    r.per_class = 10;
    r.index = 2;
    SplitPlan p = assign_few_shot(g, r, 5);
    BOOST_TEST(assign_few_shot(g, r, 5).split == p.split);
    std::vector<SplitGroup> s = g;
    std::reverse(s.begin(), s.end());
    SplitPlan q = assign_few_shot(s, r, 5);
    std::map<uint64_t, uint8_t> by_id;
    for (size_t i = 0; i < g.size(); ++i) by_id[g[i].id] = p.split[i];
    for (size_t i = 0; i < s.size(); ++i) BOOST_TEST(q.split[i] == by_id[s[i].id]);
    BOOST_TEST(assign_few_shot(g, r, 6).split != p.split);
    // Classes are shuffled independently: class 1's draw is not class 0's positions.
    std::vector<uint64_t> pos0, pos1;
    for (size_t i = 0; i < g.size(); ++i)
        if (p.split[i] != kSplitTest) (g[i].label ? pos1 : pos0).push_back((g[i].id - 1000) / 7 % 40);
    std::sort(pos0.begin(), pos0.end());
    std::sort(pos1.begin(), pos1.end());
    BOOST_TEST(pos0 != pos1);
}

BOOST_AUTO_TEST_CASE(rule_validation) {
    FewShotRule r;
    BOOST_CHECK_THROW(r.validate(), UsageError);  // per_class 0
    r.per_class = 1;
    BOOST_CHECK_NO_THROW(r.validate());
    r.val_fraction = 1.0;
    BOOST_CHECK_THROW(r.validate(), UsageError);
    r.val_fraction = -0.1;
    BOOST_CHECK_THROW(r.validate(), UsageError);
    r.val_fraction = std::nan("");
    BOOST_CHECK_THROW(r.validate(), UsageError);
    r.val_fraction = 0.2;
    r.index = kMaxSplitIndex + 1;
    BOOST_CHECK_THROW(r.validate(), UsageError);
    r.index = kMaxSplitIndex;
    BOOST_CHECK_NO_THROW(r.validate());
    BOOST_CHECK_THROW(assign_few_shot({{1, 0, 1}}, FewShotRule{}, 1), UsageError);
}

BOOST_AUTO_TEST_SUITE_END()
