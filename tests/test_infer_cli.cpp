// flowpic-infer --images and the model file: a model written by a PyTorch script gives
// PyTorch's probabilities; our own save/load round trip; every bad input named clearly.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <sstream>

#include "core/error.h"
#include "flowpic/npy.h"
#include "nn/model_file.h"
#include "nn/safetensors.h"
#include "tests/util.h"

using namespace flowpic;

namespace {

bool have_torch() { return std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0; }

// Parses the CSV of flowpic-infer: per row, the probabilities.
std::vector<std::vector<float>> parse_probs(const std::string& csv, std::vector<std::string>* classes_out = nullptr) {
    std::vector<std::vector<float>> rows;
    std::istringstream in(csv);
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::istringstream ls(line);
        for (std::string x; std::getline(ls, x, ',');) f.push_back(x);
        if (classes_out) classes_out->push_back(f.at(1));
        std::vector<float> p;
        for (size_t i = 2; i < f.size(); ++i) p.push_back(std::stof(f[i]));
        rows.push_back(p);
    }
    return rows;
}

Network small_lenet(uint64_t seed) {
    Network net(NetSpec{Arch::kLeNet, 32, 1, 3});
    net.init_glorot(seed);
    for (const Param& p : net.params())  // non-zero biases so a lost bias shows
        if (p.value->shape().size() == 1)
            for (size_t i = 0; i < p.value->size(); ++i) (*p.value)[i] = 0.01f * float(i % 7);
    return net;
}

void write_images(const std::string& path, NpyDtype t, const NpyShape& shape, uint64_t seed) {
    size_t n = size_t(npy_elements(shape));
    std::vector<uint8_t> raw(n * npy_itemsize(t), 0);
    uint64_t s = seed;
    for (size_t i = 0; i < n; ++i) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        if ((s >> 60) < 2) raw[i * npy_itemsize(t)] = uint8_t(1 + (s >> 33) % 5);  // sparse counts
    }
    write_npy(path, t, shape, raw.data());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(infer_cli)

BOOST_AUTO_TEST_CASE(pytorch_written_model_gives_pytorch_probabilities) {
    if (!have_torch()) {
        BOOST_TEST_MESSAGE("skipped: /usr/bin/python3 has no torch");
        return;
    }
    TempDir d;
    for (const char* arch : {"lenet", "flowpic"}) {
        BOOST_TEST_CONTEXT(arch) {
            std::string res = std::string(arch) == "lenet" ? "32" : "100";
            std::string cmd = "/usr/bin/python3 tests/torch_model_to_safetensors.py --arch " + std::string(arch) +
                              " --resolution " + res + " --classes chat,video,voip,file --seed 5 --out " + d.path +
                              "/m.safetensors --images " + d.path + "/x.npy --probs " + d.path + "/p.npy >/dev/null";
            BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
            auto r = run_tool("infer", "--model " + d.path + "/m.safetensors --images " + d.path + "/x.npy -q");
            BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
            BOOST_TEST(r.out.rfind("index,class,p_chat,p_video,p_voip,p_file\n", 0) == 0u, r.out.substr(0, 80));
            auto ours = parse_probs(r.out);
            NpyArray ref = read_npy(d.path + "/p.npy");
            std::vector<float> p = ref.to_float();
            BOOST_REQUIRE(ours.size() == ref.shape[0]);
            double max_diff = 0;
            for (size_t i = 0; i < ours.size(); ++i)
                for (size_t j = 0; j < 4; ++j) max_diff = std::max(max_diff, double(std::fabs(ours[i][j] - p[i * 4 + j])));
            BOOST_TEST_MESSAGE(arch << ": max probability difference vs PyTorch " << max_diff);
            BOOST_TEST(max_diff < 1e-5);
        }
    }
}

BOOST_AUTO_TEST_CASE(save_load_round_trip_and_all_dtypes_agree) {
    TempDir d;
    Network net = small_lenet(3);
    save_model(d.path + "/m.safetensors", net, {"a", "b", "c"}, {{"binning", "{\"resolution\":32}"}});
    LoadedModel m = load_model(d.path + "/m.safetensors");
    BOOST_TEST(m.info.classes == (std::vector<std::string>{"a", "b", "c"}));
    BOOST_TEST(m.info.metadata.at("binning") == "{\"resolution\":32}");
    auto a = net.params(), b = m.net->params();
    for (size_t i = 0; i < a.size(); ++i)
        BOOST_TEST(std::equal(a[i].value->data(), a[i].value->data() + a[i].value->size(), b[i].value->data()));
    // The same images as uint8, uint16, float32 and N x H x W give the same answers.
    write_images(d.path + "/u8.npy", NpyDtype::u8, {5, 1, 32, 32}, 9);
    NpyArray u8 = read_npy(d.path + "/u8.npy");
    std::vector<float> f = u8.to_float();
    std::vector<uint16_t> u16(f.begin(), f.end());
    write_npy(d.path + "/f32.npy", NpyShape{5, 1, 32, 32}, f.data());
    write_npy(d.path + "/u16.npy", NpyShape{5, 32, 32}, u16.data());
    std::string base;
    for (const char* x : {"u8", "u16", "f32"}) {
        auto r = run_tool("infer", "--model " + d.path + "/m.safetensors --images " + d.path + "/" + x + ".npy -q");
        BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
        BOOST_TEST(count_lines(r.out) == 6u);
        if (base.empty()) base = r.out;
        BOOST_TEST(r.out == base);
    }
    auto j = run_tool("infer", "--model " + d.path + "/m.safetensors --images " + d.path + "/u8.npy --json -q");
    BOOST_TEST(j.exit_code == 0);
    BOOST_TEST(j.out.find("\"predictions\":[{\"class\":") != std::string::npos, j.out.substr(0, 200));
    auto o = run_tool("infer", "--model " + d.path + "/m.safetensors --images " + d.path + "/u8.npy --output " + d.path +
                                   "/pred.csv -q");
    BOOST_TEST(o.exit_code == 0);
    BOOST_TEST(read_file(d.path + "/pred.csv") == base);
}

BOOST_AUTO_TEST_CASE(bad_models_and_images_are_named_and_exit_1) {
    TempDir d;
    Network net = small_lenet(4);
    const std::string good = d.path + "/good.safetensors";
    save_model(good, net, {"a", "b", "c"});
    write_images(d.path + "/x.npy", NpyDtype::u8, {2, 1, 32, 32}, 1);

    // Model variants: truncated, missing tensor, wrong shape, wrong class count, bad metadata.
    std::string bytes = read_file(good);
    write_file(d.path + "/truncated.safetensors", bytes.substr(0, bytes.size() - 100));
    SafeTensorsFile f = read_safetensors(good);
    auto variant = [&](const std::string& name, auto edit) {
        SafeTensorsFile g = f;
        edit(g);
        write_safetensors(d.path + "/" + name, g);
    };
    variant("missing.safetensors", [](SafeTensorsFile& g) { g.tensors.erase(g.tensors.begin() + 2); });
    variant("classes.safetensors", [](SafeTensorsFile& g) { g.metadata["classes"] = "a,b,c,d"; });
    variant("noarch.safetensors", [](SafeTensorsFile& g) { g.metadata.erase("arch"); });
    variant("version.safetensors", [](SafeTensorsFile& g) { g.metadata["version"] = "7"; });
    variant("resolution.safetensors", [](SafeTensorsFile& g) { g.metadata["resolution"] = "thirty"; });
    variant("extra.safetensors", [](SafeTensorsFile& g) { g.tensors.push_back({"fc9.weight", {1}, {1.f}}); });
    struct Bad { std::string model, images, message; };
    std::vector<Bad> bad = {
        {"truncated.safetensors", "x.npy", "truncated.safetensors"},
        {"missing.safetensors", "x.npy", "missing tensor conv2.weight"},
        {"classes.safetensors", "x.npy", "tensor fc3.weight has shape [3, 84], expected [4, 84]"},
        {"noarch.safetensors", "x.npy", "lacks 'arch'"},
        {"version.safetensors", "x.npy", "unsupported model version 7"},
        {"resolution.safetensors", "x.npy", "resolution is 'thirty'"},
        {"extra.safetensors", "x.npy", "unexpected tensor fc9.weight"},
        {"nonexistent.safetensors", "x.npy", "nonexistent.safetensors"},
    };
    // Image variants: wrong shape, wrong rank, unsupported dtype.
    write_images(d.path + "/big.npy", NpyDtype::u8, {2, 1, 64, 64}, 1);
    write_images(d.path + "/ch2.npy", NpyDtype::u8, {2, 2, 32, 32}, 1);
    write_images(d.path + "/rank2.npy", NpyDtype::u8, {2, 1024}, 1);
    std::string f64("\x93NUMPY\x01\x00\x76\x00", 10);  // version 1.0, header length 118
    std::string hdr = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1, 32, 32), }";
    hdr.resize(118, ' ');
    hdr += '\n';
    write_file(d.path + "/f64.npy", f64 + hdr + std::string(8 * 1024, '\0'));
    bad.push_back({"good.safetensors", "big.npy", "images are 1 x 64 x 64 but the model"});
    bad.push_back({"good.safetensors", "ch2.npy", "images are 2 x 32 x 32"});
    bad.push_back({"good.safetensors", "rank2.npy", "expected images of shape"});
    bad.push_back({"good.safetensors", "f64.npy", "<f8"});
    for (const Bad& b : bad) {
        BOOST_TEST_CONTEXT(b.model << " " << b.images) {
            auto r = run_tool("infer", "--model " + d.path + "/" + b.model + " --images " + d.path + "/" + b.images +
                                           " --output " + d.path + "/out.csv -q");
            BOOST_TEST(r.exit_code == 1);
            BOOST_TEST(count_lines(r.err) == 1u, r.err);
            BOOST_TEST(r.err.find(b.message) != std::string::npos, r.err);
            BOOST_TEST(!file_exists(d.path + "/out.csv"));
        }
    }
    BOOST_TEST(run_tool("infer", "--images " + d.path + "/x.npy").exit_code == 2);
    BOOST_TEST(run_tool("infer", "--model " + good + " --images " + d.path + "/x.npy --batch 0").exit_code == 2);
}

BOOST_AUTO_TEST_SUITE_END()
