// flowpic-train end to end on a small synthetic dataset: it learns, it is deterministic,
// a killed run resumes to the same model, and every bad input is named.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <nlohmann/json.hpp>

#include "kernels/cuda/device.h"
#include "tests/cuda_available.h"
#include "tests/util.h"

using namespace flowpic;

namespace {

// One dataset for the whole suite: synth (3 classes) -> prep with 20 s windows.
struct SmallDataset {
    TempDir dir;
    std::string path;
    SmallDataset() {
        path = dir.path + "/d.fpd";
        auto s = run_tool("synth", "--out " + dir.path + "/cap --flows-per-class 4 --duration 130 --classes voip,video,chat "
                                   "--seed 3 -q");
        BOOST_REQUIRE(s.exit_code == 0);
        auto p = run_tool("prep", dir.path + "/cap -o " + path + " --label-from-dir --window 20 --split 0.5,0.25,0.25 -q");
        BOOST_REQUIRE_MESSAGE(p.exit_code == 0, p.err);
    }
};

SmallDataset& data() {
    static SmallDataset d;
    return d;
}

std::vector<nlohmann::json> metrics_lines(const std::string& path) {
    std::vector<nlohmann::json> out;
    std::istringstream in(read_file(path));
    for (std::string l; std::getline(in, l);) out.push_back(nlohmann::json::parse(l));
    return out;
}

const std::string kLenet = " --arch lenet --resolution 32 --values binary --batch 16 -q";

}  // namespace

BOOST_AUTO_TEST_SUITE(train_cli)

BOOST_AUTO_TEST_CASE(learns_and_records_metrics) {
    TempDir d;
    auto r = run_tool("train", "--data " + data().path + " -o " + d.path + "/m.safetensors --epochs 25 --metrics " +
                                   d.path + "/m.jsonl --json --device cpu" + kLenet);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    auto lines = metrics_lines(d.path + "/m.jsonl");
    BOOST_REQUIRE(lines.size() == 25u);
    for (const char* key : {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds", "images_per_s"})
        BOOST_TEST(lines[0].contains(key), key);
    BOOST_TEST(lines.back()["train_loss"].get<double>() < lines.front()["train_loss"].get<double>());
    BOOST_TEST(lines.back()["train_accuracy"].get<double>() > 0.6);  // 3 classes: chance is 1/3
    BOOST_TEST(r.out.find("\"best_epoch\"") != std::string::npos);
    BOOST_TEST(file_exists(d.path + "/m.safetensors"));
}

BOOST_AUTO_TEST_CASE(cuda_training_learns_like_the_cpu, *boost::unit_test::precondition(CudaPresent())) {
    TempDir d;
    const std::string base = "--data " + data().path + " --epochs 25 --seed 4 --json" + kLenet;
    auto cpu = run_tool("train", base + " --device cpu -o " + d.path + "/cpu.safetensors --metrics " + d.path + "/cpu.jsonl");
    auto gpu = run_tool("train", base + " --device cuda -o " + d.path + "/gpu.safetensors --metrics " + d.path + "/gpu.jsonl");
    BOOST_TEST_REQUIRE(cpu.exit_code == 0, cpu.err);
    BOOST_TEST_REQUIRE(gpu.exit_code == 0, gpu.err);
    auto a = metrics_lines(d.path + "/cpu.jsonl"), b = metrics_lines(d.path + "/gpu.jsonl");
    BOOST_REQUIRE(a.size() == b.size());
    // Float rounding differs (not bit for bit), so compare the first epoch tightly and the
    // end loosely: the same training, not the same bits.
    BOOST_TEST(std::abs(a[0]["train_loss"].get<double>() - b[0]["train_loss"].get<double>()) < 1e-3);
    BOOST_TEST(b.back()["train_accuracy"].get<double>() > 0.6);
    BOOST_TEST_MESSAGE("final val accuracy cpu " << a.back()["val_accuracy"] << " cuda " << b.back()["val_accuracy"]);
}

BOOST_AUTO_TEST_CASE(same_seed_same_model_and_resume_matches_uninterrupted) {
    TempDir d;
    const std::string base = "--data " + data().path + kLenet + " --seed 9";
    auto a = run_tool("train", base + " -o " + d.path + "/a.safetensors --epochs 6");
    auto b = run_tool("train", base + " -o " + d.path + "/b.safetensors --epochs 6");
    BOOST_TEST_REQUIRE(a.exit_code == 0, a.err);
    BOOST_TEST_REQUIRE(b.exit_code == 0, b.err);
    BOOST_TEST(read_file(d.path + "/a.safetensors") == read_file(d.path + "/b.safetensors"));
    // "Killed" after 3 epochs (a run asked for 3 with checkpoints), then resumed to 6.
    auto c1 = run_tool("train", base + " -o " + d.path + "/c.safetensors --epochs 3 --checkpoint-every 1 --checkpoint " +
                                    d.path + "/c.ckpt");
    BOOST_TEST_REQUIRE(c1.exit_code == 0, c1.err);
    auto c2 = run_tool("train", base + " -o " + d.path + "/c.safetensors --epochs 6 --resume --checkpoint " + d.path +
                                    "/c.ckpt");
    BOOST_TEST_REQUIRE(c2.exit_code == 0, c2.err);
    BOOST_TEST(read_file(d.path + "/c.safetensors") == read_file(d.path + "/a.safetensors"));
    // A different seed gives a different model.
    auto e = run_tool("train", "--data " + data().path + kLenet + " --seed 10 -o " + d.path + "/e.safetensors --epochs 2");
    BOOST_TEST(e.exit_code == 0);
    BOOST_TEST(read_file(d.path + "/e.safetensors") != read_file(d.path + "/a.safetensors"));
}

BOOST_AUTO_TEST_CASE(failed_checkpoint_write_keeps_the_previous_checkpoint) {
    TempDir d;
    const std::string base = "--data " + data().path + kLenet + " --checkpoint-every 1 --checkpoint " + d.path + "/k.ckpt";
    auto first = run_tool("train", base + " -o " + d.path + "/m.safetensors --epochs 1");
    BOOST_TEST_REQUIRE(first.exit_code == 0, first.err);
    const std::string before = read_file(d.path + "/k.ckpt");
    // A file-size limit below the checkpoint's size makes its write fail (EFBIG), as a
    // full disk would (ENOSPC): same code path.
    std::string cmd = "bash -c 'trap \"\" XFSZ; ulimit -f 600; " + bin_dir() + "/flowpic-train " + base + " -o " +
                      d.path + "/m2.safetensors --epochs 3 --resume' >" + d.path + "/out 2>" + d.path + "/err";
    int status = std::system(cmd.c_str());
    BOOST_TEST(WEXITSTATUS(status) == 1);
    std::string err = read_file(d.path + "/err");
    BOOST_TEST(err.find("k.ckpt") != std::string::npos, err);
    BOOST_TEST(read_file(d.path + "/k.ckpt") == before);
    BOOST_TEST(!file_exists(d.path + "/m2.safetensors"));
}

BOOST_AUTO_TEST_CASE(diverging_training_stops_with_the_epoch_and_step) {
    TempDir d;
    auto r = run_tool("train", "--data " + data().path + " -o " + d.path + "/m.safetensors --epochs 5 --lr 1e30" +
                                   " --arch lenet --resolution 32 --batch 16 -q");
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.find("training diverged") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("at epoch ") != std::string::npos, r.err);
    BOOST_TEST(!file_exists(d.path + "/m.safetensors"));
}

BOOST_AUTO_TEST_CASE(bad_inputs) {
    TempDir d;
    // A one-class dataset.
    auto s = run_tool("synth", "--out " + d.path + "/cap --flows-per-class 2 --duration 130 --classes voip -q");
    BOOST_REQUIRE(s.exit_code == 0);
    auto p = run_tool("prep", d.path + "/cap -o " + d.path + "/one.fpd --label-from-dir --window 20 -q");
    BOOST_REQUIRE(p.exit_code == 0);
    auto one = run_tool("train", "--data " + d.path + "/one.fpd -o " + d.path + "/m.safetensors" + kLenet);
    BOOST_TEST(one.exit_code == 1);
    BOOST_TEST(one.err.find("1 class(es)") != std::string::npos, one.err);
    // An empty train split.
    auto p2 = run_tool("prep", data().path.substr(0, data().path.size() - 5) + "/cap -o " + d.path +
                                   "/notrain.fpd --label-from-dir --window 20 --split 0,0.5,0.5 -q");
    BOOST_REQUIRE(p2.exit_code == 0);
    auto nt = run_tool("train", "--data " + d.path + "/notrain.fpd -o " + d.path + "/m.safetensors" + kLenet);
    BOOST_TEST(nt.exit_code == 1);
    BOOST_TEST(nt.err.find("train split is empty") != std::string::npos, nt.err);
    // Usage errors: resolution too small for the net, bad values, CUDA without a backend.
    auto small = run_tool("train", "--data " + data().path + " -o x --arch flowpic --resolution 32");
    BOOST_TEST(small.exit_code == 2);
    BOOST_TEST(small.err.find("R >= 56") != std::string::npos, small.err);
    BOOST_TEST(run_tool("train", "--data " + data().path + " -o x --class-weights heavy").exit_code == 2);
    BOOST_TEST(run_tool("train", "--data " + data().path + " -o x --arch resnet").exit_code == 2);
    BOOST_TEST(run_tool("train", "--data " + data().path + " -o x --epochs 0").exit_code == 2);
    BOOST_TEST(run_tool("train", "--data " + data().path + " -o x --device tpu").exit_code == 2);
    if (cuda_device_info().count == 0) {  // on a GPU machine cuda_training_learns covers it
        auto cuda = run_tool("train", "--data " + data().path + " -o " + d.path + "/m.safetensors --device cuda" + kLenet);
        BOOST_TEST(cuda.exit_code == 1);
        BOOST_TEST(cuda.err.find("--device cuda") != std::string::npos, cuda.err);
        BOOST_TEST(!file_exists(d.path + "/m.safetensors"));
    }
    auto missing = run_tool("train", "--data " + d.path + "/nope.fpd -o " + d.path + "/m.safetensors" + kLenet);
    BOOST_TEST(missing.exit_code == 1);
    BOOST_TEST(missing.err.find("nope.fpd") != std::string::npos, missing.err);
    auto resume = run_tool("train", "--data " + data().path + " -o " + d.path + "/m.safetensors --resume" + kLenet);
    BOOST_TEST(resume.exit_code == 1);
    BOOST_TEST(resume.err.find("m.safetensors.ckpt") != std::string::npos, resume.err);
    // Balanced class weights run.
    auto w = run_tool("train", "--data " + data().path + " -o " + d.path + "/w.safetensors --epochs 2 --class-weights balanced" + kLenet);
    BOOST_TEST(w.exit_code == 0, w.err);
}

BOOST_AUTO_TEST_SUITE_END()
