// nn/metrics against hand-computed examples (sklearn's definitions, zero_division=0),
// the timing helpers of nn/evaluate, and the confusion-matrix PNG.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <stb/stb_image.h>

#include <cmath>
#include <memory>

#include "flowpic/confusion_png.h"
#include "nn/evaluate.h"
#include "nn/metrics.h"

using namespace flowpic;

namespace {

// Six samples, three classes; the comments give argmax and the true class's rank.
const std::vector<int32_t> kLabels = {0, 0, 0, 1, 1, 2};
const std::vector<float> kProbs = {
    0.7f, 0.2f, 0.1f,  // -> 0, rank 0
    0.2f, 0.5f, 0.3f,  // -> 1, rank 2 (not in the top 2)
    0.4f, 0.4f, 0.2f,  // -> 0 (tie: lowest index), rank 0
    0.1f, 0.3f, 0.6f,  // -> 2, rank 1
    0.1f, 0.8f, 0.1f,  // -> 1, rank 0
    0.5f, 0.1f, 0.4f,  // -> 0, rank 1
};

}  // namespace

BOOST_AUTO_TEST_SUITE(metrics)

BOOST_AUTO_TEST_CASE(hand_computed_example) {
    Metrics m = compute_metrics(kLabels, kProbs.data(), 3);
    BOOST_TEST(m.samples == 6u);
    BOOST_TEST(m.confusion == (std::vector<std::vector<uint64_t>>{{2, 1, 0}, {0, 1, 1}, {1, 0, 0}}));
    BOOST_TEST(m.accuracy == 0.5, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(m.top2_accuracy == 5.0 / 6.0, boost::test_tools::tolerance(1e-12));
    // class 0: TP 2 of 3 predicted, 3 true; class 1: 1 of 2, 2 true; class 2: 0 of 1, 1 true.
    const double p[] = {2.0 / 3, 0.5, 0}, r[] = {2.0 / 3, 0.5, 0}, f[] = {2.0 / 3, 0.5, 0};
    const uint64_t support[] = {3, 2, 1}, predicted[] = {3, 2, 1};
    for (size_t c = 0; c < 3; ++c) {
        BOOST_TEST(m.per_class[c].precision == p[c], boost::test_tools::tolerance(1e-12));
        BOOST_TEST(m.per_class[c].recall == r[c], boost::test_tools::tolerance(1e-12));
        BOOST_TEST(m.per_class[c].f1 == f[c], boost::test_tools::tolerance(1e-12));
        BOOST_TEST(m.per_class[c].support == support[c]);
        BOOST_TEST(m.per_class[c].predicted == predicted[c]);
    }
    BOOST_TEST(m.macro_classes == 3u);
    BOOST_TEST(m.macro_f1 == (2.0 / 3 + 0.5) / 3, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(edge_cases_follow_sklearn_zero_division_0) {
    // A fourth class that is neither true nor predicted: zeros, left out of macro-F1.
    std::vector<float> p4;
    for (size_t i = 0; i < kLabels.size(); ++i) {
        p4.insert(p4.end(), kProbs.begin() + i * 3, kProbs.begin() + i * 3 + 3);
        p4.push_back(0.0f);
    }
    Metrics m4 = compute_metrics(kLabels, p4.data(), 4);
    BOOST_TEST(m4.macro_classes == 3u);
    BOOST_TEST(m4.macro_f1 == (2.0 / 3 + 0.5) / 3, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(m4.per_class[3].precision == 0.0);
    BOOST_TEST(m4.per_class[3].support == 0u);
    // Predicted but never true: precision 0, recall 0, F1 0, and it counts in macro-F1
    // (sklearn: f1_score([0, 0], [0, 1], average="macro") = (2/3 + 0) / 2).
    std::vector<float> p2 = {0.9f, 0.1f, 0.2f, 0.8f};
    Metrics m2 = compute_metrics({0, 0}, p2.data(), 2);
    BOOST_TEST(m2.per_class[0].precision == 1.0);
    BOOST_TEST(m2.per_class[0].recall == 0.5);
    BOOST_TEST(m2.per_class[1].precision == 0.0);
    BOOST_TEST(m2.per_class[1].f1 == 0.0);
    BOOST_TEST(m2.macro_classes == 2u);
    BOOST_TEST(m2.macro_f1 == 1.0 / 3, boost::test_tools::tolerance(1e-12));
    // Top-2 with a three-way tie: ranks follow the index, like argmax.
    std::vector<float> tie = {0.3f, 0.3f, 0.3f};
    BOOST_TEST(compute_metrics({2}, tie.data(), 3).top2_accuracy == 0.0);
    BOOST_TEST(compute_metrics({1}, tie.data(), 3).top2_accuracy == 1.0);
    BOOST_TEST(compute_metrics({0}, tie.data(), 3).accuracy == 1.0);
    // One class: top-2 is trivially 1.
    std::vector<float> one = {1.0f, 1.0f};
    BOOST_TEST(compute_metrics({0, 0}, one.data(), 1).top2_accuracy == 1.0);
    // Bad input is refused, not guessed at.
    BOOST_CHECK_THROW(compute_metrics({}, tie.data(), 3), std::invalid_argument);
    BOOST_CHECK_THROW(compute_metrics({3}, tie.data(), 3), std::invalid_argument);
    BOOST_CHECK_THROW(compute_metrics({-1}, tie.data(), 3), std::invalid_argument);
    BOOST_CHECK_THROW(metrics_from_confusion({{0, 0}, {0, 0}}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(from_confusion_matches_and_text_forms_are_aligned) {
    Metrics a = compute_metrics(kLabels, kProbs.data(), 3);
    Metrics b = metrics_from_confusion(a.confusion);
    BOOST_TEST(b.accuracy == a.accuracy);
    BOOST_TEST(b.macro_f1 == a.macro_f1);
    const std::vector<std::string> names = {"voip", "video", "a,b"};
    std::string text = format_confusion(a, names);
    // Every table line (after the caption) has its cells at the same columns.
    std::vector<std::string> lines;
    for (size_t s = 0, e; (e = text.find('\n', s)) != std::string::npos; s = e + 1) lines.push_back(text.substr(s, e - s));
    BOOST_REQUIRE(lines.size() == 5u);
    BOOST_TEST(lines[1].find("voip") != std::string::npos);
    const size_t support_col = lines[1].find("support");
    for (size_t i = 2; i < lines.size(); ++i) BOOST_TEST(lines[i].size() == support_col + 1, lines[i]);
    BOOST_TEST(lines[2].rfind("voip ", 0) == 0u);
    BOOST_TEST(confusion_csv(a, names) == "true/predicted,voip,video,\"a,b\"\nvoip,2,1,0\nvideo,0,1,1\n\"a,b\",1,0,0\n");
    BOOST_TEST(format_per_class(a, names).find("macro") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(percentiles_are_nearest_rank_and_softmax_is_stable) {
    std::vector<double> v;
    for (int i = 100; i >= 1; --i) v.push_back(i);
    BOOST_TEST(percentile(v, 50) == 50.0);
    BOOST_TEST(percentile(v, 99) == 99.0);
    BOOST_TEST(percentile({1, 2, 3}, 50) == 2.0);
    BOOST_TEST(percentile({1, 2, 3}, 99) == 3.0);
    BOOST_TEST(percentile({7}, 1) == 7.0);
    BOOST_TEST(percentile({}, 50) == 0.0);
    LatencyStats s = latency_stats({1, 2, 3, 6}, 8);
    BOOST_TEST(s.samples == 4u);
    BOOST_TEST(s.batch == 8);
    BOOST_TEST(s.mean_ms == 3.0);
    const float logits[] = {1000.f, 1001.f, 999.f, 0.f, 0.f, 0.f};
    float p[6];
    softmax_rows(logits, 2, 3, p);
    BOOST_TEST(p[0] + p[1] + p[2] == 1.0f, boost::test_tools::tolerance(1e-6f));
    BOOST_TEST(p[1] > p[0]);
    BOOST_TEST(std::isfinite(p[0]));
    BOOST_TEST(p[3] == 1.0f / 3, boost::test_tools::tolerance(1e-6f));
}

BOOST_AUTO_TEST_CASE(confusion_png_has_counts_labels_and_colour) {
    const std::vector<std::vector<uint64_t>> c = {{12, 1, 0}, {0, 5, 3}, {2, 0, 40}};
    const std::vector<std::string> names = {"voip", "video", "file-transfer"};
    ConfusionImage img = draw_confusion(c, names);
    BOOST_TEST(img.width > 200);
    BOOST_TEST(img.height > 200);
    std::vector<uint8_t> png = encode_confusion_png(c, names);
    int w = 0, h = 0, comp = 0;
    std::unique_ptr<uint8_t, void (*)(void*)> px{stbi_load_from_memory(png.data(), int(png.size()), &w, &h, &comp, 3),
                                                 stbi_image_free};
    BOOST_REQUIRE(px);
    BOOST_TEST(w == img.width);
    BOOST_TEST(h == img.height);
    BOOST_TEST(std::equal(img.rgb.begin(), img.rgb.end(), px.get()));
    // Dark cells (the diagonal's 40 of 42) and black text pixels both exist.
    size_t dark_blue = 0, black = 0;
    for (size_t i = 0; i + 2 < img.rgb.size(); i += 3) {
        dark_blue += img.rgb[i] < 40 && img.rgb[i + 2] > 90;
        black += img.rgb[i] == 0 && img.rgb[i + 1] == 0 && img.rgb[i + 2] == 0;
    }
    BOOST_TEST(dark_blue > 500u);
    BOOST_TEST(black > 200u);
    // A longer class name widens the picture: labels are never cut off.
    ConfusionImage wide = draw_confusion(c, {"voip", "video", "file-transfer-long"});
    BOOST_TEST(wide.width > img.width);
    BOOST_CHECK_THROW(draw_confusion(c, {"a", "b"}), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
