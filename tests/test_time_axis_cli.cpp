// --time-axis through the tools: flowpic-prep --first 30, then flowpic-train --time-axis 15
// --normalize fixed records the axis in the model and trains exactly the model that the
// same packets prepared with --first 15 give (the images are the same); flowpic-infer
// --eval on the 30 s dataset takes the axis from the model; flowpic-render --time-axis
// writes the images of the 15 s windows; --time-axis with span is one clear error.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "nn/safetensors.h"
#include "tests/util.h"

using namespace flowpic;

namespace {

constexpr int64_t kT0 = 1522953991LL * 1000000000LL + 427530000;

std::string seconds9(int64_t ns) {
    char b[64];
    std::snprintf(b, sizeof b, "%lld.%09lld", (long long)(ns / 1000000000), (long long)(ns % 1000000000));
    return b;
}

// One UCDavis-like flow over 40 s: a packet every `gap_ms`, sizes by class and index, so
// the 15..30 s part differs from the first 15 s (an image of 30 s differs from one of 15).
std::string flow_text(int64_t t0, int cls, int k) {
    std::string s;
    const int gap_ms = 70 + 13 * k + 29 * cls;
    for (int i = 0; int64_t(i) * gap_ms < 40000; ++i) {
        const int64_t dt = int64_t(i) * gap_ms * 1000000;
        char rel[32];
        std::snprintf(rel, sizeof rel, "%.9f", double(dt) / 1e9);
        const int size = dt < 15000000000LL ? 100 + (i * 37 + 300 * cls) % 1400 : 1500 - (i * 11 + 200 * cls) % 900;
        s += seconds9(t0 + dt) + "\t" + rel + "\t" + std::to_string(size) + "\t" + (i % 3 == 0 ? "1" : "0") + "\n";
    }
    return s;
}

struct AxisData {
    TempDir d;
    std::string root = d.path + "/tree", d15 = d.path + "/d15.fpd", d30 = d.path + "/d30.fpd";
    AxisData() {
        const char* classes[] = {"Alpha", "Beta", "Gamma"};
        for (int c = 0; c < 3; ++c) {
            std::system(("mkdir -p '" + root + "/" + classes[c] + "'").c_str());
            for (int k = 0; k < 6; ++k)
                write_file(root + "/" + classes[c] + "/f-" + std::to_string(k) + ".txt",
                           flow_text(kT0 + int64_t(c * 6 + k) * 100000000000LL, c, k));
        }
        for (auto [first, out] : {std::pair<const char*, std::string>{"15", d15}, {"30", d30}}) {
            auto r = run_tool("prep", root + " -o " + out + " --label-from-dir --first " + first +
                                          " --clip-sizes --split 0.5,0.25,0.25 -q");
            BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
        }
    }
};

AxisData& data() {
    static AxisData d;
    return d;
}

const std::string kTrain = " --arch lenet --resolution 32 --normalize fixed --max-count 255 --bin-arith tcbench "
                           "--epochs 3 --batch 4 --lr 0.01 --seed 3 --device cpu -q";

std::vector<float> weights(const std::string& model) {
    std::vector<float> all;
    for (const SafeTensor& t : read_safetensors(model).tensors) all.insert(all.end(), t.data.begin(), t.data.end());
    return all;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(time_axis_cli)

BOOST_AUTO_TEST_CASE(train_on_30s_windows_with_axis_15_is_training_on_15s_windows) {
    AxisData& a = data();
    TempDir d;
    const std::string m15 = d.path + "/m15.safetensors", m30 = d.path + "/m30.safetensors",
                      whole = d.path + "/whole.safetensors";
    auto r = run_tool("train", "--data " + a.d15 + " -o " + m15 + kTrain);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    r = run_tool("train", "--data " + a.d30 + " -o " + m30 + kTrain + " --time-axis 15");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    r = run_tool("train", "--data " + a.d30 + " -o " + whole + kTrain);  // no axis: 30 s images
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);

    const auto b = nlohmann::json::parse(read_safetensors(m30).metadata.at("binning"));
    BOOST_TEST(b["axis_us"] == 15000000);
    BOOST_TEST(b["normalize"] == "fixed");
    BOOST_TEST(nlohmann::json::parse(read_safetensors(m15).metadata.at("binning")).count("axis_us") == 0u);
    const std::vector<float> w15 = weights(m15), w30 = weights(m30);
    BOOST_TEST_REQUIRE(!w15.empty());
    BOOST_TEST((w30 == w15), "the 15 s axis on 30 s windows trains another model than 15 s windows");
    BOOST_TEST((weights(whole) != w15), "30 s images train the same model: the data cannot tell the axis");

    // infer --eval on the 30 s dataset: the model's binning carries the axis, and its
    // results are those of the 15 s model on the 15 s dataset.
    auto e30 = run_tool("infer", "--model " + m30 + " --data " + a.d30 + " --eval --split all --latency-samples 0 --json");
    BOOST_TEST_REQUIRE(e30.exit_code == 0, e30.err);
    auto e15 = run_tool("infer", "--model " + m15 + " --data " + a.d15 + " --eval --split all --latency-samples 0 --json");
    BOOST_TEST_REQUIRE(e15.exit_code == 0, e15.err);
    const auto j30 = nlohmann::json::parse(e30.out), j15 = nlohmann::json::parse(e15.out);
    BOOST_TEST(j30["binning"].get<std::string>().find("axis_us=15000000") != std::string::npos, j30["binning"]);
    BOOST_TEST(j30["confusion"] == j15["confusion"]);
    BOOST_TEST(j30["accuracy"] == j15["accuracy"]);
}

BOOST_AUTO_TEST_CASE(render_time_axis_gives_the_15s_images) {
    AxisData& a = data();
    TempDir d;
    const std::string flags = " --resolution 32 --normalize fixed --max-count 255 --bin-arith tcbench -q";
    auto r = run_tool("render", a.d15 + " --npy-dataset " + d.path + "/r15" + flags);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    r = run_tool("render", a.d30 + " --npy-dataset " + d.path + "/r30" + flags + " --time-axis 15");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    r = run_tool("render", a.d30 + " --npy-dataset " + d.path + "/whole" + flags);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    const std::string r15 = read_file(d.path + "/r15/X.npy");
    BOOST_TEST(r15.size() > 18u * 32 * 32);
    BOOST_TEST((read_file(d.path + "/r30/X.npy") == r15));
    BOOST_TEST((read_file(d.path + "/whole/X.npy") != r15));
    BOOST_TEST((read_file(d.path + "/r30/y.npy") == read_file(d.path + "/r15/y.npy")));
}

BOOST_AUTO_TEST_CASE(time_axis_needs_fixed_and_a_range) {
    AxisData& a = data();
    TempDir d;
    auto r = run_tool("train", "--data " + a.d30 + " -o " + d.path + "/m.safetensors --normalize span --time-axis 15 "
                               "--device cpu -q");
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(r.err.find("--time-axis needs --normalize fixed") != std::string::npos, r.err);
    BOOST_TEST(count_lines(r.err) == 1u, r.err);
    r = run_tool("render", a.d30 + " --npy " + d.path + "/n --normalize fixed --time-axis 5000 -q");
    BOOST_TEST(r.exit_code != 0);
    BOOST_TEST(r.err.find("--time-axis") != std::string::npos, r.err);
    BOOST_TEST(!file_exists(d.path + "/n"));
}

BOOST_AUTO_TEST_SUITE_END()
