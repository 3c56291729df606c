// flowpic-train --preset tcbench, --early-stop-delta and --augment end to end on a small
// synthetic dataset: the preset's values and their overrides reach the model, the delta
// rule stops and keeps as tcbench's, augmented runs are deterministic and resume exactly,
// and every bad augmentation option is named.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "nn/safetensors.h"
#include "tests/util.h"

using namespace flowpic;

namespace {

struct PresetDataset {
    TempDir dir;
    std::string path;
    PresetDataset() {
        path = dir.path + "/d.fpd";
        auto s = run_tool("synth", "--out " + dir.path + "/cap --flows-per-class 4 --duration 130 --classes voip,video,chat "
                                   "--seed 5 -q");
        BOOST_REQUIRE(s.exit_code == 0);
        auto p = run_tool("prep", dir.path + "/cap -o " + path + " --label-from-dir --window 15 --split 0.5,0.25,0.25 -q");
        BOOST_REQUIRE_MESSAGE(p.exit_code == 0, p.err);
    }
};

PresetDataset& data() {
    static PresetDataset d;
    return d;
}

nlohmann::json meta(const std::string& model, const char* key) {
    return nlohmann::json::parse(read_safetensors(model).metadata.at(key));
}

std::vector<nlohmann::json> metrics_lines(const std::string& path) {
    std::vector<nlohmann::json> out;
    std::istringstream in(read_file(path));
    for (std::string l; std::getline(in, l);) out.push_back(nlohmann::json::parse(l));
    return out;
}

const std::string kSmall = " --arch lenet --resolution 32 --normalize fixed --batch 16 --device cpu -q";

}  // namespace

BOOST_AUTO_TEST_SUITE(train_preset_cli)

BOOST_AUTO_TEST_CASE(tcbench_preset_values_reach_the_model_and_flags_win) {
    TempDir d;
    auto r = run_tool("train", "--data " + data().path + " -o " + d.path + "/m.safetensors --preset tcbench --epochs 2 "
                               "--device cpu");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST(r.err.find("settings of preset tcbench: epochs 2, batch 32, lr 0.01, early stop 5 (delta 0.001), best by "
                          "loss, augment none") != std::string::npos,
               r.err);
    BOOST_TEST(r.err.find("resolution=32 normalize=fixed values=count direction=none") != std::string::npos, r.err);
    auto t = meta(d.path + "/m.safetensors", "trained");
    BOOST_TEST(t["preset"] == "tcbench");
    BOOST_TEST(t["arch"] == "lenet");
    BOOST_TEST(t["max_epochs"] == 2);  // --epochs given: it wins over the preset's 50
    BOOST_TEST(t["batch"] == 32);
    BOOST_TEST(t["lr"].get<float>() == 0.01f);  // lr is a float
    BOOST_TEST(t["early_stop"] == 5);
    BOOST_TEST(t["early_stop_delta"].get<double>() == 0.001);
    BOOST_TEST(t["best_by"] == "loss");
    BOOST_TEST(t["augment"]["name"] == "none");
    auto b = meta(d.path + "/m.safetensors", "binning");
    BOOST_TEST(b["resolution"] == 32);
    BOOST_TEST(b["normalize"] == "fixed");
    BOOST_TEST(b["values"] == "count");
    BOOST_TEST(b["direction"] == "none");
    BOOST_TEST(b["max_count"] == 255);
    BOOST_TEST(b["arith"] == "tcbench");
    BOOST_TEST(read_safetensors(d.path + "/m.safetensors").metadata.at("arch") == "lenet");

    // Every preset value yields to its own flag.
    auto o = run_tool("train", "--data " + data().path + " -o " + d.path + "/o.safetensors --preset tcbench --epochs 1 "
                               "--resolution 64 --lr 0.002 --batch 8 --max-count 7 --early-stop 0 --early-stop-delta 0.5 "
                               "--best-by accuracy --normalize span --device cpu -q");
    BOOST_TEST_REQUIRE(o.exit_code == 0, o.err);
    auto t2 = meta(d.path + "/o.safetensors", "trained");
    BOOST_TEST(t2["batch"] == 8);
    BOOST_TEST(t2["lr"].get<float>() == 0.002f);
    BOOST_TEST(t2["early_stop"] == 0);
    BOOST_TEST(t2["early_stop_delta"].get<double>() == 0.5);
    BOOST_TEST(t2["best_by"] == "accuracy");
    auto b2 = meta(d.path + "/o.safetensors", "binning");
    BOOST_TEST(b2["resolution"] == 64);
    BOOST_TEST(b2["max_count"] == 7);
    BOOST_TEST(b2["normalize"] == "span");

    auto help = run_tool("train", "--help");
    BOOST_TEST(help.out.find("--preset") != std::string::npos);
    BOOST_TEST(help.out.find("--max-count 255") != std::string::npos);  // the preset's values are listed
    BOOST_TEST(help.out.find("--early-stop-delta") != std::string::npos);
    BOOST_TEST(help.out.find("--augment-param") != std::string::npos);
    auto bad = run_tool("train", "--data " + data().path + " -o " + d.path + "/x.safetensors --preset keras");
    BOOST_TEST(bad.exit_code == 2);
    BOOST_TEST(bad.err.find("--preset") != std::string::npos, bad.err);
}

BOOST_AUTO_TEST_CASE(early_stop_delta_zero_is_the_old_rule_and_a_large_one_stops) {
    TempDir d;
    const std::string base = "--data " + data().path + kSmall + " --seed 3 --epochs 6 --early-stop 2";
    auto a = run_tool("train", base + " -o " + d.path + "/a.safetensors");
    auto z = run_tool("train", base + " -o " + d.path + "/z.safetensors --early-stop-delta 0");
    BOOST_TEST_REQUIRE(a.exit_code == 0, a.err);
    BOOST_TEST_REQUIRE(z.exit_code == 0, z.err);
    BOOST_TEST(read_file(d.path + "/a.safetensors") == read_file(d.path + "/z.safetensors"));
    // No epoch beats epoch 1 by 1000 in validation loss: epochs 2 and 3 do not count, so
    // the run stops after 3 epochs with epoch 1's model.
    auto big = run_tool("train", base + " -o " + d.path + "/b.safetensors --early-stop-delta 1000 --json --metrics " + d.path +
                                     "/b.jsonl");
    BOOST_TEST_REQUIRE(big.exit_code == 0, big.err);
    auto j = nlohmann::json::parse(big.out);
    BOOST_TEST(j["best_epoch"] == 1);
    BOOST_TEST(j["epochs"] == 3);
    BOOST_TEST(j["stopped_early"] == true);
    auto lines = metrics_lines(d.path + "/b.jsonl");
    BOOST_REQUIRE(lines.size() == 3u);
    BOOST_TEST(lines[0]["best"] == true);
    BOOST_TEST(lines[1]["best"] == false);
    BOOST_TEST(lines[2]["best"] == false);
    auto neg = run_tool("train", base + " -o " + d.path + "/n.safetensors --early-stop-delta -1");
    BOOST_TEST(neg.exit_code == 2);
    BOOST_TEST(neg.err.find("--early-stop-delta") != std::string::npos, neg.err);
}

BOOST_AUTO_TEST_CASE(augmented_training_is_deterministic_and_resumes_exactly) {
    TempDir d;
    const std::string base = "--data " + data().path + kSmall + " --seed 4 --augment changertt --augment-copies 3";
    auto a = run_tool("train", base + " -o " + d.path + "/a.safetensors --epochs 4");
    auto b = run_tool("train", base + " -o " + d.path + "/b.safetensors --epochs 4");
    BOOST_TEST_REQUIRE(a.exit_code == 0, a.err);
    BOOST_TEST_REQUIRE(b.exit_code == 0, b.err);
    BOOST_TEST(read_file(d.path + "/a.safetensors") == read_file(d.path + "/b.safetensors"));
    auto t = meta(d.path + "/a.safetensors", "trained");
    BOOST_TEST(t["augment"]["name"] == "changertt");
    BOOST_TEST(t["augment"]["copies"] == 3);
    BOOST_TEST(t["augment"]["validation"] == false);
    BOOST_TEST(t["augment"]["params"]["alpha"][1].get<double>() == 1.5);
    // Without augmentation: another model.
    auto n = run_tool("train", "--data " + data().path + kSmall + " --seed 4 -o " + d.path + "/n.safetensors --epochs 4");
    BOOST_TEST_REQUIRE(n.exit_code == 0, n.err);
    BOOST_TEST(read_file(d.path + "/n.safetensors") != read_file(d.path + "/a.safetensors"));
    // Killed after 2 epochs, resumed to 4: the uninterrupted model.
    auto c1 = run_tool("train", base + " -o " + d.path + "/c.safetensors --epochs 2 --checkpoint-every 1 --checkpoint " +
                                    d.path + "/c.ckpt");
    BOOST_TEST_REQUIRE(c1.exit_code == 0, c1.err);
    auto c2 = run_tool("train", base + " -o " + d.path + "/c.safetensors --epochs 4 --resume --checkpoint " + d.path + "/c.ckpt");
    BOOST_TEST_REQUIRE(c2.exit_code == 0, c2.err);
    BOOST_TEST(read_file(d.path + "/c.safetensors") == read_file(d.path + "/a.safetensors"));
    // Resuming with other augmentation settings is refused, naming the checkpoint.
    auto other = run_tool("train", "--data " + data().path + kSmall + " --seed 4 --augment changertt --augment-copies 4 -o " +
                                       d.path + "/x.safetensors --epochs 4 --resume --checkpoint " + d.path + "/c.ckpt");
    BOOST_TEST(other.exit_code == 1);
    BOOST_TEST(other.err.find("c.ckpt") != std::string::npos, other.err);
    BOOST_TEST(other.err.find("augmentation") != std::string::npos, other.err);
    auto none = run_tool("train", "--data " + data().path + kSmall + " --seed 4 -o " + d.path +
                                      "/y.safetensors --epochs 4 --resume --checkpoint " + d.path + "/c.ckpt");
    BOOST_TEST(none.exit_code == 1);
    BOOST_TEST(none.err.find("augmentation") != std::string::npos, none.err);
}

BOOST_AUTO_TEST_CASE(validation_is_augmented_only_when_asked) {
    TempDir d;
    const std::string base = "--data " + data().path + kSmall + " --seed 6 --augment timeshift --augment-copies 4 --epochs 1";
    auto off = run_tool("train", base + " -o " + d.path + "/off.safetensors --metrics " + d.path + "/off.jsonl");
    auto on = run_tool("train", base + " -o " + d.path + "/on.safetensors --augment-val --metrics " + d.path + "/on.jsonl");
    auto plain = run_tool("train", "--data " + data().path + kSmall + " --seed 6 --epochs 1 -o " + d.path +
                                       "/p.safetensors --metrics " + d.path + "/p.jsonl");
    BOOST_TEST_REQUIRE(off.exit_code == 0, off.err);
    BOOST_TEST_REQUIRE(on.exit_code == 0, on.err);
    BOOST_TEST_REQUIRE(plain.exit_code == 0, plain.err);
    auto a = metrics_lines(d.path + "/off.jsonl"), b = metrics_lines(d.path + "/on.jsonl"),
         p = metrics_lines(d.path + "/p.jsonl");
    // The same training either way; only the validation set differs.
    BOOST_TEST(a[0]["train_loss"].get<double>() == b[0]["train_loss"].get<double>());
    BOOST_TEST(a[0]["val_loss"].get<double>() != b[0]["val_loss"].get<double>());
    BOOST_TEST(meta(d.path + "/on.safetensors", "trained")["augment"]["validation"] == true);
    // Training on augmented copies changes the training loss against the plain run.
    BOOST_TEST(a[0]["train_loss"].get<double>() != p[0]["train_loss"].get<double>());
    // --preset tcbench augments validation as tcbench does; --no-augment-val turns it off.
    auto pre = run_tool("train", "--data " + data().path + " -o " + d.path +
                                     "/t.safetensors --preset tcbench --augment changertt --epochs 1 --device cpu -q");
    BOOST_TEST_REQUIRE(pre.exit_code == 0, pre.err);
    BOOST_TEST(meta(d.path + "/t.safetensors", "trained")["augment"]["validation"] == true);
    BOOST_TEST(meta(d.path + "/t.safetensors", "trained")["augment"]["copies"] == 10);
    auto pre2 = run_tool("train", "--data " + data().path + " -o " + d.path +
                                      "/u.safetensors --preset tcbench --augment changertt --augment-copies 2 "
                                      "--no-augment-val --epochs 1 --device cpu -q");
    BOOST_TEST_REQUIRE(pre2.exit_code == 0, pre2.err);
    BOOST_TEST(meta(d.path + "/u.safetensors", "trained")["augment"]["validation"] == false);
}

BOOST_AUTO_TEST_CASE(image_augmentations_train_and_bad_options_are_named) {
    TempDir d;
    for (const char* a : {"rotate", "hflip", "colorjitter"}) {
        auto r = run_tool("train", "--data " + data().path + kSmall + " --augment " + a + " --augment-copies 2 --epochs 1 -o " +
                                       d.path + "/" + a + ".safetensors");
        BOOST_TEST(r.exit_code == 0, a << ": " << r.err);
    }
    struct Bad {
        std::string args, says;
        int code;
    } bad[] = {
        {" --augment flip", "--augment: invalid value 'flip'", 2},
        {" --augment-copies 3", "--augment-copies needs --augment", 2},
        {" --augment-param alpha=1:2", "--augment-param needs --augment", 2},
        {" --augment-val", "--augment-val needs --augment", 2},
        {" --augment changertt --augment-param alpha=2:1", "0 < MIN <= MAX", 2},
        {" --augment changertt --augment-param degrees=3", "belongs to --augment rotate", 2},
        {" --augment changertt --augment-copies 0", "--augment-copies", 2},
        {" --augment colorjitter --values binary", "binary images", 2},
    };
    for (const Bad& b : bad) {
        auto r = run_tool("train", "--data " + data().path + kSmall + b.args + " --epochs 1 -o " + d.path + "/bad.safetensors");
        BOOST_TEST(r.exit_code == b.code, b.args << ": " << r.err);
        BOOST_TEST(r.err.find(b.says) != std::string::npos, b.args << ": " << r.err);
        BOOST_TEST(!file_exists(d.path + "/bad.safetensors"));
    }
    // A time augmentation with span normalisation trains, with a warning.
    auto span = run_tool("train", "--data " + data().path + " --arch lenet --resolution 32 --batch 16 --device cpu -q "
                                  "--augment changertt --augment-copies 2 --epochs 1 -o " + d.path + "/s.safetensors");
    BOOST_TEST(span.exit_code == 0, span.err);
    BOOST_TEST(span.err.find("warning: --augment changertt with --normalize span") != std::string::npos, span.err);
}

BOOST_AUTO_TEST_SUITE_END()
