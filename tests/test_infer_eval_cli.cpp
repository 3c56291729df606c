// flowpic-infer --data --eval and on captures, end to end on a small synthetic dataset
// with an untrained model (metrics must be consistent, not good): JSON fields and their
// arithmetic, the confusion CSV and PNG, class matching by name, every refusal named,
// and one CSV row per window that flowpic-prep would make from the same captures.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <stb/stb_image.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "flowpic/confusion_png.h"
#include "flowpic/dataset_file.h"
#include "nn/model_file.h"
#include "tests/util.h"

using namespace flowpic;

namespace {

std::string q(const std::string& s) { return "'" + s + "'"; }

// Captures of three classes (built once for the suite) and datasets made from them.
struct Fixture {
    TempDir d;
    std::string caps = d.path + "/caps", ds = d.path + "/ds.fpd";
    Fixture() {
        auto s = run_tool("synth", "--out " + q(caps) + " --flows-per-class 2 --duration 130 --classes voip,video,chat -q");
        BOOST_TEST_REQUIRE(s.exit_code == 0, s.err);
        auto p = run_tool("prep", q(caps) + " --label-from-dir --split 0.5,0,0.5 -o " + q(ds) + " -q");
        BOOST_TEST_REQUIRE(p.exit_code == 0, p.err);
    }
    // An untrained LeNet for `classes`, with the dataset's prep and the given binning.
    std::string model(const std::string& name, const std::vector<std::string>& classes,
                      const std::string& binning = R"({"resolution":32,"normalize":"span","values":"count","direction":"none"})",
                      bool with_prep = true) {
        Network net(NetSpec{Arch::kLeNet, 32, 1, int(classes.size())});
        net.init_glorot(7);
        std::map<std::string, std::string> meta = {{"binning", binning}};
        if (with_prep) meta["prep"] = DatasetReader(ds).prep_json();
        const std::string path = d.path + "/" + name;
        save_model(path, net, classes, meta);
        return path;
    }
};

Fixture& fixture() {
    static Fixture f;
    return f;
}

nlohmann::json parse(const std::string& s) {
    try {
        return nlohmann::json::parse(s);
    } catch (const std::exception& e) {
        BOOST_FAIL("not JSON: " << e.what() << ": " << s.substr(0, 300));
    }
    return {};
}

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string> f;
        std::istringstream ls(line);
        for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
        rows.push_back(f);
    }
    return rows;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(infer_eval_cli)

BOOST_AUTO_TEST_CASE(eval_json_is_consistent_and_classes_match_by_name) {
    Fixture& f = fixture();
    DatasetReader ds(f.ds);
    std::map<std::string, uint64_t> test_count;
    uint64_t test_total = 0;
    for (size_t c = 0; c < ds.classes().size(); ++c) {
        test_count[ds.classes()[c]] = ds.counts()[c][kSplitTest];
        test_total += ds.counts()[c][kSplitTest];
    }
    BOOST_TEST_REQUIRE(test_total > 0u);
    // The model lists the classes in another order than the dataset, plus one it lacks.
    const std::vector<std::string> classes = {"video", "extra", "chat", "voip"};
    const std::string m = f.model("m.safetensors", classes);
    const std::string png = f.d.path + "/cm.png", csv = f.d.path + "/cm.csv";
    auto r = run_tool("infer", "--model " + q(m) + " --data " + q(f.ds) + " --split test --eval --json --batch 4 -q" +
                                   " --latency-samples 20 --confusion-png " + q(png) + " --confusion-csv " + q(csv));
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    nlohmann::json j = parse(r.out);
    for (const char* key : {"accuracy", "top2_accuracy", "macro_f1", "per_class", "confusion", "classes", "images_per_s",
                            "latency_batch", "latency_batch1"})
        BOOST_TEST(j.contains(key), key);
    BOOST_TEST(j["classes"].get<std::vector<std::string>>() == classes);
    auto conf = j["confusion"].get<std::vector<std::vector<uint64_t>>>();
    BOOST_REQUIRE(conf.size() == classes.size());
    uint64_t total = 0, trace = 0;
    for (size_t t = 0; t < conf.size(); ++t) {
        BOOST_REQUIRE(conf[t].size() == classes.size());
        uint64_t row = 0;
        for (uint64_t v : conf[t]) row += v;
        total += row, trace += conf[t][t];
        BOOST_TEST(j["per_class"][classes[t]]["support"].get<uint64_t>() == row, classes[t]);
        BOOST_TEST(row == (classes[t] == "extra" ? 0u : test_count[classes[t]]), classes[t]);
    }
    BOOST_TEST(total == test_total);
    BOOST_TEST(j["accuracy"].get<double>() == double(trace) / double(total), boost::test_tools::tolerance(1e-12));
    BOOST_TEST(j["top2_accuracy"].get<double>() >= j["accuracy"].get<double>());
    BOOST_TEST(j["images_per_s"].get<double>() > 0);
    BOOST_TEST(j["latency_batch"]["batch"].get<int>() == 4);
    BOOST_TEST(j["latency_batch1"]["samples"].get<size_t>() == std::min<size_t>(20, total));
    BOOST_TEST(j["latency_batch1"]["p99_ms"].get<double>() >= j["latency_batch1"]["p50_ms"].get<double>());
    // The CSV holds the same matrix; the PNG is the heat map drawn from it.
    auto rows = csv_rows(read_file(csv));
    BOOST_REQUIRE(rows.size() == classes.size() + 1);
    BOOST_TEST(rows[0][1] == "video");
    for (size_t t = 0; t < classes.size(); ++t)
        for (size_t p = 0; p < classes.size(); ++p) BOOST_TEST(std::stoull(rows[t + 1][p + 1]) == conf[t][p]);
    int w = 0, h = 0, comp = 0;
    BOOST_REQUIRE(stbi_info(png.c_str(), &w, &h, &comp));
    ConfusionImage expect = draw_confusion(conf, classes, "confusion matrix: test split, " + std::to_string(total) + " windows");
    BOOST_TEST(w == expect.width);
    BOOST_TEST(h == expect.height);
    // Text report: the headline and the matrix.
    auto t = run_tool("infer", "--model " + q(m) + " --data " + q(f.ds) + " --eval --latency-samples 0 -q");
    BOOST_TEST_REQUIRE(t.exit_code == 0, t.err);
    BOOST_TEST(t.out.find("accuracy ") != std::string::npos, t.out);
    BOOST_TEST(t.out.find("macro-F1") != std::string::npos);
    BOOST_TEST(t.out.find("rows: true class, columns: predicted class") != std::string::npos);
    BOOST_TEST(t.out.find("images/s at batch 64") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(eval_refusals_are_named) {
    Fixture& f = fixture();
    // Binning metadata that does not fit the network: both shapes named.
    const std::string res = f.model("res.safetensors", {"voip", "video", "chat"},
                                     R"({"resolution":64,"normalize":"span","values":"count","direction":"none"})");
    auto r = run_tool("infer", "--model " + q(res) + " --data " + q(f.ds) + " --eval -q");
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(count_lines(r.err) == 1u, r.err);
    BOOST_TEST(r.err.find("64 x 64") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("32 x 32") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("res.safetensors") != std::string::npos, r.err);
    // A class of the test split unknown to the model.
    const std::string other = f.model("other.safetensors", {"voip", "video", "file"});
    r = run_tool("infer", "--model " + q(other) + " --data " + q(f.ds) + " --eval -q --confusion-png " +
                              q(f.d.path + "/no.png"));
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(count_lines(r.err) == 1u, r.err);
    BOOST_TEST(r.err.find("class 'chat'") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("unknown to the model") != std::string::npos, r.err);
    BOOST_TEST(!file_exists(f.d.path + "/no.png"));
    // An empty test split.
    const std::string all_train = f.d.path + "/train.fpd";
    auto p = run_tool("prep", q(f.caps) + " --label-from-dir --split 1,0,0 -o " + q(all_train) + " -q");
    BOOST_TEST_REQUIRE(p.exit_code == 0, p.err);
    const std::string good = f.model("good.safetensors", {"voip", "video", "chat"});
    r = run_tool("infer", "--model " + q(good) + " --data " + q(all_train) + " --eval -q");
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.find("the test split is empty") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("train.fpd") != std::string::npos, r.err);
    BOOST_TEST(run_tool("infer", "--model " + q(good) + " --data " + q(all_train) + " --split train --eval -q --latency-samples 0")
                   .exit_code == 0);
    // Usage errors: exit 2.
    BOOST_TEST(run_tool("infer", "--model " + q(good) + " --data " + q(f.ds) + " -q").exit_code == 2);
    BOOST_TEST(run_tool("infer", "--model " + q(good) + " --data " + q(f.ds) + " --eval --split nope -q").exit_code == 2);
    BOOST_TEST(run_tool("infer", "--model " + q(good) + " --data " + q(f.ds) + " --eval --window 30 -q").exit_code == 2);
    BOOST_TEST(run_tool("infer", "--model " + q(good) + " " + q(f.caps) + " --eval -q").exit_code == 2);
}

BOOST_AUTO_TEST_CASE(captures_give_one_row_per_window_prep_makes) {
    Fixture& f = fixture();
    DatasetReader ds(f.ds);
    const std::vector<std::string> classes = {"voip", "video", "chat"};
    const std::string m = f.model("cap.safetensors", classes);
    const std::string out = f.d.path + "/w.csv", flows = f.d.path + "/f.csv";
    auto r = run_tool("infer", "--model " + q(m) + " " + q(f.caps) + " --output " + q(out) + " --flows-summary " +
                                   q(flows) + " --batch 3 -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    auto rows = csv_rows(read_file(out));
    BOOST_REQUIRE(!rows.empty());
    BOOST_TEST(rows[0] == (std::vector<std::string>{"capture", "proto", "src", "sport", "dst", "dport", "view",
                                                     "window_start", "packets", "class", "p_voip", "p_video", "p_chat"}));
    BOOST_TEST(rows.size() - 1 == ds.window_count());
    uint64_t packets = 0;
    std::map<std::string, size_t> views;
    for (size_t i = 1; i < rows.size(); ++i) {
        BOOST_REQUIRE(rows[i].size() == 13u);
        packets += std::stoull(rows[i][8]);
        ++views[rows[i][6]];
        BOOST_TEST(std::stod(rows[i][7]) > 1e8);  // epoch seconds
    }
    BOOST_TEST(packets == ds.packet_count());
    BOOST_TEST(views.count("uni-fwd") + views.count("uni-rev") > 0u);
    // Per flow: the windows add up, the class is the argmax of the mean.
    auto fr = csv_rows(read_file(flows));
    BOOST_REQUIRE(fr.size() > 1u);
    BOOST_TEST(fr[0][6] == "windows");
    size_t windows = 0;
    for (size_t i = 1; i < fr.size(); ++i) {
        windows += std::stoul(fr[i][6]);
        std::vector<double> p = {std::stod(fr[i][8]), std::stod(fr[i][9]), std::stod(fr[i][10])};
        BOOST_TEST(fr[i][7] == classes[size_t(std::max_element(p.begin(), p.end()) - p.begin())]);
        BOOST_TEST(p[0] + p[1] + p[2] == 1.0, boost::test_tools::tolerance(1e-5));
    }
    BOOST_TEST(windows == ds.window_count());
    // JSON: the same windows and flows.
    auto j = run_tool("infer", "--model " + q(m) + " " + q(f.caps) + " --json -q");
    BOOST_TEST_REQUIRE(j.exit_code == 0, j.err);
    nlohmann::json o = parse(j.out);
    BOOST_TEST(o["windows"].size() == ds.window_count());
    BOOST_TEST(o["flows"].size() == fr.size() - 1);
    // The model's prep fixes the windowing: a window flag is refused, unless overridden.
    auto bad = run_tool("infer", "--model " + q(m) + " " + q(f.caps) + " --window 30 -q");
    BOOST_TEST(bad.exit_code == 2);
    BOOST_TEST(bad.err.find("--override-prep") != std::string::npos, bad.err);
    auto over = run_tool("infer", "--model " + q(m) + " " + q(f.caps) + " --window 30 --override-prep -q");
    BOOST_TEST(over.exit_code == 0, over.err);
    BOOST_TEST(count_lines(over.out) > rows.size());  // shorter windows: more of them
    // Without prep metadata the command line (the authors' defaults) decides: same windows here.
    const std::string bare = f.model("bare.safetensors", classes,
                                     R"({"resolution":32,"normalize":"span","values":"count","direction":"none"})", false);
    auto b = run_tool("infer", "--model " + q(bare) + " " + q(f.caps) + " -q");
    BOOST_TEST(b.exit_code == 0, b.err);
    BOOST_TEST(count_lines(b.out) == rows.size());
}

BOOST_AUTO_TEST_SUITE_END()
