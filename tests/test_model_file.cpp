// The model file and the training checkpoint against hostile files: metadata checked
// against the tensors before anything is allocated, no non-finite weights written or
// loaded, and checkpoints sealed with a CRC-32C that a flipped bit breaks.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "core/error.h"
#include "nn/model_file.h"
#include "nn/safetensors.h"
#include "nn/trainer.h"
#include "tests/util.h"

using namespace flowpic;

namespace {

// A small LeNet with random weights (never zeros).
std::unique_ptr<Network> random_net(uint64_t seed, int resolution = 16, int channels = 1, int classes = 3) {
    auto net = std::make_unique<Network>(NetSpec{Arch::kLeNet, resolution, channels, classes});
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (const Param& p : net->params()) {
        std::vector<float> v(p.value->size());
        for (float& x : v) x = u(rng);
        p.value->assign(v.data());
    }
    return net;
}

template <typename F>
void expect_input_error(F&& f, const std::string& path, const std::string& what) {
    try {
        f();
        BOOST_ERROR("no error; expected '" << what << "'");
    } catch (const InputError& e) {
        const std::string msg = e.what();
        BOOST_TEST(msg.rfind(path + ": ", 0) == 0u, msg);
        BOOST_TEST(msg.find(what) != std::string::npos, "'" << msg << "' lacks '" << what << "'");
    }
}

// A model file with the given metadata and tensors (no checks: what a hostile file holds).
void write_raw_model(const std::string& path, const std::map<std::string, std::string>& md,
                     std::vector<SafeTensor> tensors) {
    SafeTensorsFile f;
    f.metadata = md;
    f.tensors = std::move(tensors);
    write_safetensors(path, f);
}

std::map<std::string, std::string> lenet_md(const std::string& resolution, const std::string& channels) {
    return {{"format", "flowpic"}, {"version", "1"}, {"arch", "lenet"},
            {"resolution", resolution}, {"channels", channels}, {"classes", "a,b,c"}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model_file)

BOOST_AUTO_TEST_CASE(tensor_shapes_match_the_network_for_every_spec) {
    for (Arch arch : {Arch::kFlowPic, Arch::kLeNet})
        for (int r : {16, 17, 31, 32, 55, 56, 57, 64, 99, 100, 128, 301, 1500})
            for (int c : {1, 2}) {
                const NetSpec spec{arch, r, c, 5};
                bool net_ok = true;
                std::vector<std::pair<std::string, Shape>> want;
                try {
                    Network net(spec);
                    for (const Param& p : net.params()) want.push_back({p.name, p.value->shape()});
                } catch (const std::invalid_argument&) {
                    net_ok = false;
                }
                if (!net_ok) {
                    BOOST_CHECK_THROW(model_tensor_shapes(spec), std::invalid_argument);
                    continue;
                }
                const auto got = model_tensor_shapes(spec);
                BOOST_TEST(got.size() == want.size());
                for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
                    BOOST_TEST(got[i].first == want[i].first);
                    BOOST_TEST(got[i].second == want[i].second, arch_name(arch) << " r" << r << " " << got[i].first);
                }
            }
}

BOOST_AUTO_TEST_CASE(huge_metadata_in_a_tiny_file_is_refused_before_allocating) {
    TempDir d;
    const std::string p = d.path + "/m.safetensors";
    auto net = random_net(3);
    std::vector<SafeTensor> tensors;
    for (const Param& q : net->params()) tensors.push_back({q.name, q.value->shape(), q.value->to_vector()});
    const auto t0 = std::chrono::steady_clock::now();
    write_raw_model(p, lenet_md("100000", "1"), tensors);
    expect_input_error([&] { load_model(p); }, p, "metadata resolution is '100000', not an integer in 1..1500");
    write_raw_model(p, lenet_md("16", "1000000000"), tensors);
    expect_input_error([&] { load_model(p); }, p, "metadata channels is '1000000000', not an integer in 1..16");
    write_raw_model(p, lenet_md("99999999999999999999", "1"), tensors);
    expect_input_error([&] { load_model(p); }, p, "not an integer in 1..1500");
    write_raw_model(p, lenet_md("+16", "1"), tensors);
    expect_input_error([&] { load_model(p); }, p, "not an integer");
    // In range, but the tensors are for another resolution or channel count: found from
    // the shapes before a 1500x1500 LeNet (a 1 GB fc1) is built.
    write_raw_model(p, lenet_md("1500", "1"), tensors);
    expect_input_error([&] { load_model(p); }, p, "tensor fc1.weight has shape [120, 16], expected [120, 2214144]");
    write_raw_model(p, lenet_md("16", "2"), tensors);
    expect_input_error([&] { load_model(p); }, p, "tensor conv1.weight has shape [6, 1, 5, 5], expected [6, 2, 5, 5]");
    BOOST_TEST(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 5.0);
    write_raw_model(p, lenet_md("16", "1"), tensors);
    BOOST_TEST(load_model(p).net->spec().resolution == 16);
}

BOOST_AUTO_TEST_CASE(non_finite_weights_are_neither_written_nor_loaded) {
    TempDir d;
    const std::string p = d.path + "/m.safetensors";
    for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
        auto net = random_net(5);
        std::vector<float> w = net->params()[2].value->to_vector();
        w[w.size() / 2] = bad;
        net->params()[2].value->assign(w.data());
        std::remove(p.c_str());  // the previous round's hand-written file
        expect_input_error([&] { save_model(p, *net, {"a", "b", "c"}); }, p,
                           "refusing to write a model whose tensor conv2.weight holds a non-finite value");
        BOOST_TEST(!file_exists(p));
        std::vector<SafeTensor> tensors;
        for (const Param& q : net->params()) tensors.push_back({q.name, q.value->shape(), q.value->to_vector()});
        write_raw_model(p, lenet_md("16", "1"), tensors);
        expect_input_error([&] { load_model(p); }, p, "model tensor conv2.weight holds a non-finite value");
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(checkpoint_file)

namespace {

SafeTensorsFile sealed_checkpoint(uint64_t seed) {
    auto net = random_net(seed);
    SafeTensorsFile f;
    for (const Param& q : net->params()) {
        f.tensors.push_back({q.name, q.value->shape(), q.value->to_vector()});
        f.tensors.push_back({"best." + q.name, q.value->shape(), q.value->to_vector()});
    }
    f.metadata = {{"format", "flowpic-checkpoint"}, {"version", "1"}, {"epoch", "3"}, {"adam_step", "30"},
                  {"best_epoch", "2"}, {"best_metric", "-0.75"}, {"since_best", "1"}, {"seed", "1"},
                  {"batch", "8"}, {"arch", "lenet"}, {"resolution", "16"}, {"stopped_early", "0"}};
    char crc[16];
    std::snprintf(crc, sizeof crc, "%08x", checkpoint_checksum(f));
    f.metadata["crc32c"] = crc;
    return f;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_sealed_checkpoint_reads_back) {
    TempDir d;
    const std::string p = d.path + "/c.safetensors";
    write_safetensors(p, sealed_checkpoint(11));
    CheckpointFile c = read_checkpoint(p);
    BOOST_TEST(c.epoch == 3);
    BOOST_TEST(c.adam_step == 30);
    BOOST_TEST(c.best_epoch == 2);
    BOOST_TEST(c.best_metric == -0.75);
    BOOST_TEST(!c.stopped_early);
}

BOOST_AUTO_TEST_CASE(every_flipped_bit_in_the_data_is_caught) {
    TempDir d;
    const std::string p = d.path + "/c.safetensors";
    write_safetensors(p, sealed_checkpoint(12));
    const std::string good = read_file(p);
    std::mt19937_64 rng(99);
    // Flip bits in the last quarter of the file (tensor data): the checksum names it.
    for (int k = 0; k < 40; ++k) {
        std::string bad = good;
        const size_t at = good.size() * 3 / 4 + size_t(rng() % (good.size() / 4));
        bad[at] = char(bad[at] ^ (1 << (rng() % 8)));
        write_file(p, bad);
        expect_input_error([&] { read_checkpoint(p); }, p, "checkpoint checksum mismatch");
    }
}

BOOST_AUTO_TEST_CASE(bad_counters_values_and_old_checkpoints_are_refused) {
    TempDir d;
    const std::string p = d.path + "/c.safetensors";
    auto with = [&](const std::string& key, const std::string& value, bool reseal) {
        SafeTensorsFile f = sealed_checkpoint(13);
        f.metadata[key] = value;
        if (reseal) {
            char crc[16];
            std::snprintf(crc, sizeof crc, "%08x", checkpoint_checksum(f));
            f.metadata["crc32c"] = crc;
        }
        write_safetensors(p, f);
    };
    with("epoch", "4", false);  // a changed counter without a new seal
    expect_input_error([&] { read_checkpoint(p); }, p, "checkpoint checksum mismatch");
    with("epoch", "x3", true);
    expect_input_error([&] { read_checkpoint(p); }, p, "checkpoint epoch is 'x3', not an integer");
    with("best_epoch", "9", true);  // after the last epoch
    expect_input_error([&] { read_checkpoint(p); }, p, "checkpoint best_epoch is '9'");
    with("adam_step", "99999999999999999999", true);
    expect_input_error([&] { read_checkpoint(p); }, p, "checkpoint adam_step");
    with("best_metric", "nan", true);
    expect_input_error([&] { read_checkpoint(p); }, p, "not a finite number");
    with("version", "2", true);
    expect_input_error([&] { read_checkpoint(p); }, p, "unsupported checkpoint version '2'");
    SafeTensorsFile old = sealed_checkpoint(14);
    old.metadata.erase("crc32c");
    write_safetensors(p, old);
    expect_input_error([&] { read_checkpoint(p); }, p, "no crc32c");
    SafeTensorsFile nan = sealed_checkpoint(15);
    nan.tensors[3].data[1] = std::numeric_limits<float>::quiet_NaN();
    char crc[16];
    std::snprintf(crc, sizeof crc, "%08x", checkpoint_checksum(nan));
    nan.metadata["crc32c"] = crc;
    write_safetensors(p, nan);
    expect_input_error([&] { read_checkpoint(p); }, p, "holds a non-finite value");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(model_settings)

// The settings a model carries from training (nn/model_file.h, flowpic/settings.h): typed
// in, typed out, every field; the binning resolved once at load.
BOOST_AUTO_TEST_CASE(settings_round_trip_typed_and_binning_resolved_at_load) {
    TempDir d;
    const std::string p = d.path + "/m.safetensors";
    auto net = random_net(21, 16, 2);
    ModelSettings s;
    BinningOptions b;
    b.resolution = 16;
    b.normalize = Normalize::fixed;
    b.values = ValueMode::binary;
    b.direction = Direction::channels;
    s.binning = b;
    PrepSettings prep;
    prep.windows.view = FlowView::kBi;
    prep.windows.window_s = 15;
    prep.windows.overlap = 0.5;
    prep.windows.min_packets = 3;
    prep.windows.min_span_s = 0;
    prep.windows.sizes = SizeRule::kClip;
    prep.extract.skip_dns = true;
    prep.extract.flows.idle_timeout_s = 7;
    prep.extract.flows.active_timeout_s = 70;
    prep.extract.flows.max_flows = 1234;
    prep.labels = "from directory names";
    prep.split.f = {0.5, 0.25, 0.25};
    prep.seed = 99;
    prep.binning = b;
    s.prep = prep;
    save_model(p, *net, {"a", "b", "c"}, s, {{"note", "kept"}});
    LoadedModel m = load_model(p);
    BOOST_TEST(m.info.binning_recorded);
    BOOST_TEST_REQUIRE(bool(m.info.settings.binning));
    BOOST_TEST(format_options(*m.info.settings.binning) == format_options(b));
    BOOST_TEST_REQUIRE(bool(m.info.settings.prep));
    const PrepSettings& q = *m.info.settings.prep;
    BOOST_TEST(q.windows.to_json() == prep.windows.to_json());
    BOOST_TEST(same_windowing(q, prep));
    BOOST_TEST(q.extract.skip_dns);
    BOOST_TEST(!q.extract.skip_empty_tcp);
    BOOST_TEST(q.extract.flows.idle_timeout_s == 7.0);
    BOOST_TEST(q.extract.flows.active_timeout_s == 70.0);
    BOOST_TEST(q.extract.flows.max_flows == 1234u);
    BOOST_TEST(q.labels == prep.labels);
    BOOST_TEST(q.split.f == prep.split.f);
    BOOST_TEST(q.seed == 99u);
    BOOST_TEST_REQUIRE(bool(q.binning));
    BOOST_TEST(format_options(*q.binning) == format_options(b));
    BOOST_TEST(m.info.metadata.at("note") == "kept");
    BOOST_TEST(to_json(q) == to_json(prep));  // a dataset's record survives the model unchanged

    // The default min-span rule stays a rule, not its value at one window length.
    PrepSettings rule = prep;
    rule.windows.min_span_s = -1;
    auto again = parse_prep_settings(to_json(rule), p);
    BOOST_TEST_REQUIRE(bool(again));
    BOOST_TEST(again->windows.min_span_s < 0);

    // A model written elsewhere: binning derived from the network (2 channels: channels).
    write_raw_model(p, lenet_md("16", "2"), [&] {
        std::vector<SafeTensor> t;
        for (const Param& q2 : net->params()) t.push_back({q2.name, q2.value->shape(), q2.value->to_vector()});
        return t;
    }());
    LoadedModel torch = load_model(p);
    BOOST_TEST(!torch.info.binning_recorded);
    BOOST_TEST(!torch.info.settings.prep);
    BOOST_TEST(format_options(model_binning(torch.info, p)) ==
               "resolution=16 normalize=span values=count direction=channels");

    // Recorded binning that does not make the network's input: both shapes named, at load.
    ModelSettings wrong;
    b.direction = Direction::none;
    wrong.binning = b;
    save_model(p, *net, {"a", "b", "c"}, wrong);
    expect_input_error([&] { load_model(p); }, p, "binning metadata gives images of 16 x 16 with 1 channel but the network takes 16 x 16 with 2 channels");

    // Malformed settings name the file and the key.
    std::map<std::string, std::string> bad = {{"binning", "{\"values\":\"loud\"}"}};
    save_model(p, *net, {"a", "b", "c"}, bad);
    expect_input_error([&] { load_model(p); }, p, "bad 'binning' metadata");
    bad = {{"prep", "{\"windows\":{\"window_s\":\"long\"}}"}};
    save_model(p, *net, {"a", "b", "c"}, bad);
    expect_input_error([&] { load_model(p); }, p, "bad 'prep' metadata");
    bad = {{"prep", "{\"windows\":{},\"split\":[1]}"}};
    save_model(p, *net, {"a", "b", "c"}, bad);
    expect_input_error([&] { load_model(p); }, p, "split is not three fractions");
    // No windowing recorded: no prep settings, not an error.
    BOOST_TEST(!parse_prep_settings("{}", p));
    BOOST_TEST(!parse_prep_settings("{\"labels\":\"x\"}", p));
}

// A network whose input flowpic's binning cannot make (3 channels, from PyTorch) still
// loads for --images; asking for its binning is an error naming the file.
BOOST_AUTO_TEST_CASE(a_three_channel_model_loads_but_has_no_binning) {
    TempDir d;
    const std::string p = d.path + "/m.safetensors";
    auto net = random_net(22, 16, 3);
    save_model(p, *net, {"a", "b", "c"});
    LoadedModel m = load_model(p);
    BOOST_TEST(!m.info.settings.binning);
    expect_input_error([&] { model_binning(m.info, p); }, p, "the network takes 3 channels");
}

BOOST_AUTO_TEST_SUITE_END()
