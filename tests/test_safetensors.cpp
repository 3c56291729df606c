// safetensors reading and writing: round trips, every malformed case with its message,
// files written by hand-rolled Python (struct + json + numpy, as a PyTorch user would)
// read here and ours read there, and the committed PyTorch fixtures.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "nn/safetensors.h"
#include "tests/util.h"

using namespace flowpic;

namespace {

SafeTensor make_tensor(const std::string& name, std::vector<int64_t> shape, float scale) {
    SafeTensor t{name, std::move(shape), {}};
    t.data.resize(safetensor_elements(t.shape));
    for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = scale * float(int(i % 13) - 6) + 0.125f;
    return t;
}

SafeTensorsFile sample() {
    SafeTensorsFile f;
    f.tensors.push_back(make_tensor("conv1.weight", {2, 1, 3, 3}, 0.5f));
    f.tensors.push_back(make_tensor("conv1.bias", {2}, -1.0f));
    f.tensors.push_back(make_tensor("a.scalar", {}, 2.0f));  // shape [] sorts first by name
    f.tensors.push_back(make_tensor("empty", {0, 3}, 1.0f));
    f.metadata = {{"format", "flowpic"}, {"classes", "chat,video,\"quoted\",ünï"}};
    return f;
}

uint64_t header_len(const std::string& bytes) {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = n << 8 | static_cast<unsigned char>(bytes[size_t(i)]);
    return n;
}

constexpr uint64_t kHeaderSize = ~0ull;

// A file of a length prefix (the header's size unless given), the header text as given
// and data bytes.
std::string raw_file(const std::string& header, const std::string& data = "", uint64_t len = kHeaderSize) {
    const uint64_t n = len == kHeaderSize ? header.size() : len;
    std::string out;
    for (int i = 0; i < 8; ++i) out += char((n >> (8 * i)) & 0xff);
    return out + header + data;
}

std::string f32_entry(const std::string& shape, uint64_t b, uint64_t e) {
    return "{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[" + std::to_string(b) + "," +
           std::to_string(e) + "]}";
}

// Reading `bytes` as a file fails with an InputError naming the file and `what`.
void expect_error(const std::string& bytes, const std::string& what) {
    TempDir dir;
    const std::string path = dir.path + "/bad.safetensors";
    write_file(path, bytes);
    try {
        read_safetensors(path);
        BOOST_ERROR("no error for a file that should give '" << what << "'");
    } catch (const InputError& e) {
        const std::string msg = e.what();
        BOOST_TEST(msg.rfind(path + ": ", 0) == 0, "message: " << msg);
        BOOST_TEST(msg.find(what) != std::string::npos, "message '" << msg << "' lacks '" << what << "'");
    }
}

bool python_has(const std::string& module) {
    return std::system(("/usr/bin/python3 -c 'import " + module + "' >/dev/null 2>&1").c_str()) == 0;
}

// Writes (argv[1] == "write") or checks (argv[1] == "check") a file with the format done
// by hand; the values are exact in float32 and computed the same way on both sides.
const char* kPython = R"PY(
import json, struct, sys
import numpy as np
mode, path = sys.argv[1], sys.argv[2]
def values(n, scale):
    return (scale * (np.arange(n) % 13 - 6) + 0.125).astype(np.float32)
if mode == "write":
    # data order differs from name order; no padding; extra key order shuffled
    ts = [("z.last", (3, 2), 1.5), ("a.first", (4,), -0.25), ("m.mid", (), 3.0)]
    header, blobs, off = {"__metadata__": {"arch": "lenet", "note": "from python"}}, [], 0
    for name, shape, scale in ts:
        a = values(int(np.prod(shape)), scale).reshape(shape)
        header[name] = {"data_offsets": [off, off + a.nbytes], "shape": list(shape), "dtype": "F32"}
        blobs.append(a.astype("<f4").tobytes()); off += a.nbytes
    text = json.dumps(header).encode()
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
else:
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert n % 8 == 0, n
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__")
    assert meta == {"format": "flowpic", "classes": "chat,video,\"quoted\",\u00fcn\u00ef"}, meta
    want = {"conv1.weight": ([2, 1, 3, 3], 0.5), "conv1.bias": ([2], -1.0), "a.scalar": ([], 2.0), "empty": ([0, 3], 1.0)}
    assert set(header) == set(want), header.keys()
    data = raw[8 + n:]
    for name, (shape, scale) in want.items():
        e = header[name]
        assert e["dtype"] == "F32" and e["shape"] == shape, (name, e)
        b, end = e["data_offsets"]
        a = np.frombuffer(data[b:end], "<f4").reshape(shape)
        assert np.array_equal(a, values(a.size, scale).reshape(shape)), name
    print("python read ok")
)PY";

}  // namespace

BOOST_AUTO_TEST_SUITE(safetensors)

BOOST_AUTO_TEST_CASE(round_trip_keeps_order_values_and_metadata) {
    TempDir dir;
    const std::string path = dir.path + "/m.safetensors";
    SafeTensorsFile f = sample();
    f.tensors[0].data[3] = -0.0f;
    f.tensors[0].data[4] = std::numeric_limits<float>::infinity();
    f.tensors[0].data[5] = std::numeric_limits<float>::denorm_min();
    write_safetensors(path, f);

    const std::string bytes = read_file(path);
    const uint64_t n = header_len(bytes);
    BOOST_TEST(n % 8 == 0u);  // data 8-byte aligned
    BOOST_TEST(bytes[8] == '{');
    // the header lists tensors in the order given, not sorted by name
    BOOST_TEST(bytes.find("conv1.weight") < bytes.find("a.scalar"));
    BOOST_TEST(bytes.size() == 8 + n + (18 + 2 + 1) * 4);

    SafeTensorsFile g = read_safetensors(path);
    BOOST_TEST(g.metadata == f.metadata);
    BOOST_REQUIRE(g.tensors.size() == f.tensors.size());
    for (size_t i = 0; i < f.tensors.size(); ++i) {
        BOOST_TEST(g.tensors[i].name == f.tensors[i].name);
        BOOST_TEST(g.tensors[i].shape == f.tensors[i].shape);
        const auto &a = g.tensors[i].data, &b = f.tensors[i].data;  // bitwise: -0 and inf too
        BOOST_TEST((a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), 4 * a.size()) == 0)));
    }
    BOOST_TEST(std::signbit(g.tensors[0].data[3]));
    BOOST_REQUIRE(g.find("a.scalar"));
    BOOST_TEST(g.find("a.scalar")->data.size() == 1u);
    BOOST_TEST(!g.find("missing"));

    SafeTensorsFile nometa;  // no metadata: no "__metadata__" key at all
    nometa.tensors.push_back(make_tensor("x", {3}, 1.0f));
    write_safetensors(path, nometa);
    BOOST_TEST(read_file(path).find("__metadata__") == std::string::npos);
    BOOST_TEST(read_safetensors(path).metadata.empty());
}

BOOST_AUTO_TEST_CASE(writer_rejects_bad_tensors_and_leaves_no_file) {
    TempDir dir;
    const std::string path = dir.path + "/m.safetensors";
    auto rejects = [&](SafeTensorsFile f) {
        BOOST_CHECK_THROW(write_safetensors(path, f), std::invalid_argument);
        BOOST_TEST(list_dir(dir.path).empty());
    };
    SafeTensorsFile f = sample();
    f.tensors[1].data.pop_back();
    rejects(f);
    f = sample();
    f.tensors[1].name = "conv1.weight";
    rejects(f);
    f = sample();
    f.tensors[1].name = "__metadata__";
    rejects(f);
    f = sample();
    f.tensors[1].name = "";
    rejects(f);
    f = sample();
    f.tensors[1].shape = {-2, -1};
    rejects(f);
    BOOST_CHECK_THROW(write_safetensors("/nonexistent-dir/m.safetensors", sample()), InputError);
}

BOOST_AUTO_TEST_CASE(hand_built_files_read) {
    // The baseline the malformed cases below each break in one way.
    TempDir dir;
    const std::string path = dir.path + "/ok.safetensors";
    std::string data(12, '\0');
    const float v[3] = {1.5f, -2.0f, 0.25f};
    std::memcpy(&data[0], v, 12);
    write_file(path, raw_file("{\"b\":" + f32_entry("[1]", 8, 12) + ",\"a\":" + f32_entry("[2,1]", 0, 8) +
                                  ",\"__metadata__\":{\"k\":\"v\"}}   ",
                              data));
    SafeTensorsFile f = read_safetensors(path);
    BOOST_REQUIRE(f.tensors.size() == 2u);
    BOOST_TEST(f.tensors[0].name == "a");  // data order, whatever the header order
    BOOST_TEST(f.tensors[0].data == std::vector<float>({1.5f, -2.0f}));
    BOOST_TEST(f.tensors[1].data == std::vector<float>({0.25f}));
    BOOST_TEST(f.metadata.at("k") == "v");
    write_file(path, raw_file("{}"));  // no tensors at all is a valid (empty) file
    BOOST_TEST(read_safetensors(path).tensors.empty());
}

BOOST_AUTO_TEST_CASE(malformed_files_name_the_problem) {
    const std::string d8(8, '\0'), d12(12, '\0');
    auto one = [](const std::string& entry) { return "{\"a\":" + entry + "}"; };
    auto two = [](const std::string& a, const std::string& b) { return "{\"a\":" + a + ",\"b\":" + b + "}"; };

    expect_error("", "0 bytes, less than the 8-byte header length");
    expect_error(std::string(7, '\0'), "7 bytes, less than the 8-byte header length");
    expect_error(raw_file(one(f32_entry("[2]", 0, 8)), d8, 4000), "header length 4000 runs past the end");
    expect_error(raw_file("", "", ~0ull - 1), "runs past the end");  // 2^64-2: no overflow in the check
    expect_error(raw_file("{\"a\": {\"dtype\": \"F32\",", d8), "malformed JSON header");
    expect_error(raw_file("not json"), "malformed JSON header");
    expect_error(raw_file("[1, 2]"), "JSON header is not an object");
    expect_error(raw_file(one("[1]"), d8), "tensor 'a': header entry is not a JSON object");
    expect_error(raw_file(one("{\"shape\":[2],\"data_offsets\":[0,8]}"), d8), "tensor 'a': missing dtype");
    expect_error(raw_file(one("{\"dtype\":\"F32\",\"data_offsets\":[0,8]}"), d8), "tensor 'a': missing shape");
    expect_error(raw_file(one("{\"dtype\":\"F32\",\"shape\":[2]}"), d8), "tensor 'a': missing data_offsets");
    expect_error(raw_file(one("{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}"), d8),
                 "tensor 'a': unsupported dtype I64 (only F32 is supported)");
    expect_error(raw_file(one("{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}"), d8),
                 "unsupported dtype F16");
    expect_error(raw_file(one("{\"dtype\":\"float32\",\"shape\":[2],\"data_offsets\":[0,8]}"), d8),
                 "unknown dtype 'float32'");
    expect_error(raw_file(one("{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}"), d8), "dtype is not a string");
    expect_error(raw_file(one(f32_entry("[-2]", 0, 8)), d8), "non-negative integers");
    expect_error(raw_file(one(f32_entry("[2.0]", 0, 8)), d8), "non-negative integers");
    expect_error(raw_file(one(f32_entry("2", 0, 8)), d8), "shape is not a list");
    expect_error(raw_file(one(f32_entry("[4294967296,4294967296,4]", 0, 8)), d8), "too large");
    expect_error(raw_file(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}"), d8),
                 "is not a pair of non-negative integers");
    expect_error(raw_file(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,-8]}"), d8),
                 "is not a pair of non-negative integers");
    expect_error(raw_file(one("{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}"), d8),
                 "end before they begin");
    expect_error(raw_file(one(f32_entry("[3]", 0, 8)), d8), "hold 8 bytes but F32 shape [3] needs 12");
    expect_error(raw_file(one(f32_entry("[2]", 8, 16)), d8 + d8), "gap of 8 bytes before tensor 'a'");
    expect_error(raw_file(two(f32_entry("[2]", 0, 8), f32_entry("[2]", 4, 12)), d12),
                 "tensors 'a' and 'b' overlap (bytes [0, 8) and [4, 12))");
    expect_error(raw_file(two(f32_entry("[2]", 0, 8), f32_entry("[2]", 0, 8)), d8), "overlap");
    expect_error(raw_file(one(f32_entry("[4]", 0, 16)), d12),
                 "truncated data: tensor 'a' ends at byte 16 but the file holds 12 data bytes");
    expect_error(raw_file(one(f32_entry("[2]", 1ull << 62, (1ull << 62) + 8)), d8), "gap of");
    expect_error(raw_file(one(f32_entry("[2]", 0, 8)), d12), "4 unexpected bytes after the last tensor");
    expect_error(raw_file("{\"__metadata__\":{\"arch\":\"lenet\",\"resolution\":32}}"),
                 "__metadata__ value for 'resolution' is not a string (number)");
    expect_error(raw_file("{\"__metadata__\":[\"arch\"]}"), "__metadata__ is not a JSON object");
    // Numbers the JSON parser cannot hold are out_of_range, not parse_error: still the
    // file's fault (these escaped as "internal error", exit 3).
    expect_error(raw_file(one(f32_entry("[1e400]", 0, 8)), d8), "malformed JSON header");
    expect_error(raw_file(one("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,-1e999]}"), d8),
                 "malformed JSON header");
    expect_error(raw_file("{\"__metadata__\":{\"x\":1e400}}"), "malformed JSON header");
}

BOOST_AUTO_TEST_CASE(every_truncation_of_a_good_file_is_an_input_error) {
    TempDir dir;
    const std::string path = dir.path + "/m.safetensors";
    write_safetensors(path, sample());
    const std::string bytes = read_file(path);
    for (size_t len = 0; len < bytes.size(); ++len) {
        write_file(path, bytes.substr(0, len));
        BOOST_TEST_INFO("truncated to " << len << " of " << bytes.size() << " bytes");
        BOOST_CHECK_THROW(read_safetensors(path), InputError);
    }
    expect_error(bytes.substr(0, bytes.size() - 5), "truncated data: tensor 'conv1.bias'");
    BOOST_CHECK_THROW(read_safetensors(dir.path + "/absent"), InputError);
    BOOST_CHECK_THROW(read_safetensors(dir.path), InputError);  // a directory
}

BOOST_AUTO_TEST_CASE(python_hand_rolled_files_interoperate) {
    if (!python_has("numpy")) {
        BOOST_TEST_MESSAGE("skipped: /usr/bin/python3 has no numpy");
        return;
    }
    TempDir dir;
    const std::string script = dir.path + "/st.py", theirs = dir.path + "/py.safetensors",
                      ours = dir.path + "/ours.safetensors";
    write_file(script, kPython);
    BOOST_REQUIRE(std::system(("/usr/bin/python3 " + script + " write " + theirs).c_str()) == 0);
    SafeTensorsFile f = read_safetensors(theirs);
    BOOST_TEST(f.metadata == (std::map<std::string, std::string>{{"arch", "lenet"}, {"note", "from python"}}));
    BOOST_REQUIRE(f.tensors.size() == 3u);
    const char* names[] = {"z.last", "a.first", "m.mid"};
    const std::vector<int64_t> shapes[] = {{3, 2}, {4}, {}};
    const float scales[] = {1.5f, -0.25f, 3.0f};
    for (int i = 0; i < 3; ++i) {
        BOOST_TEST(f.tensors[size_t(i)].name == names[i]);
        BOOST_TEST(f.tensors[size_t(i)].shape == shapes[i]);
        BOOST_TEST(f.tensors[size_t(i)].data == make_tensor("", shapes[i], scales[i]).data);
    }

    write_safetensors(ours, sample());
    BOOST_TEST(std::system(("/usr/bin/python3 " + script + " check " + ours).c_str()) == 0);
}

// The PyTorch fixtures of tests/make_torch_fixtures.py: each one reads and has the
// tensors its kind promises, with the shapes of its architecture.
BOOST_AUTO_TEST_CASE(torch_fixtures_read_with_expected_tensors) {
    const std::string dir = "tests/fixtures/torch/";
    const std::vector<std::string> expected = {"flowpic_r200_c1_k5", "flowpic_r200_c2_k3", "lenet_r32_c1_k5",
                                               "flowpic_r1500_c1_k5"};
    size_t seen = 0;
    for (const auto& file : list_dir(dir))
        seen += file.size() > 12 && file.compare(file.size() - 12, 12, ".safetensors") == 0;
    BOOST_TEST(seen == expected.size());

    for (const auto& name : expected) {
        BOOST_TEST_CONTEXT("fixture " << name) {
            SafeTensorsFile f = read_safetensors(dir + name + ".safetensors");
            auto meta = [&](const char* k) { return std::stoll(f.metadata.at(k)); };
            BOOST_TEST(f.metadata.at("format") == "flowpic-torch-fixture");
            const std::string arch = f.metadata.at("arch"), kind = f.metadata.at("kind");
            const int64_t res = meta("resolution"), c = meta("channels"), k = meta("classes"), n = meta("batch");
            // What the name says is what the metadata says.
            BOOST_TEST(name == arch + "_r" + std::to_string(res) + "_c" + std::to_string(c) + "_k" + std::to_string(k));

            std::vector<std::pair<std::string, std::vector<int64_t>>> params;
            if (arch == "flowpic") {
                int64_t s = (res + 4) / 5 / 2;  // conv1 'same' stride 5, pool 2, again
                s = (s + 4) / 5 / 2;
                params = {{"conv1.weight", {10, c, 10, 10}}, {"conv1.bias", {10}},
                          {"conv2.weight", {20, 10, 10, 10}}, {"conv2.bias", {20}},
                          {"fc1.weight", {64, 20 * s * s}},   {"fc1.bias", {64}},
                          {"fc2.weight", {k, 64}},            {"fc2.bias", {k}}};
                if (res == 1500) BOOST_TEST(20 * s * s == 4500);
            } else {
                BOOST_REQUIRE(arch == "lenet");
                const int64_t s = ((res - 4) / 2 - 4) / 2;  // 'valid' 5x5 convs, pool 2
                params = {{"conv1.weight", {6, c, 5, 5}}, {"conv1.bias", {6}},    {"conv2.weight", {16, 6, 5, 5}},
                          {"conv2.bias", {16}},           {"fc1.weight", {120, 16 * s * s}}, {"fc1.bias", {120}},
                          {"fc2.weight", {84, 120}},      {"fc2.bias", {84}},     {"fc3.weight", {k, 84}},
                          {"fc3.bias", {k}}};
                if (res == 32) BOOST_TEST(16 * s * s == 400);
            }
            std::vector<std::pair<std::string, std::vector<int64_t>>> want = params;
            want.push_back({"labels", {n}});
            want.push_back({"logits", {n, k}});
            const bool train = kind.rfind("train", 0) == 0;
            if (train) {
                for (auto t : std::vector<std::pair<std::string, std::vector<int64_t>>>{
                         {"loss", {1}}, {"grad.logits", {n, k}}, {"class_weights", {k}}, {"weighted.loss", {1}},
                         {"weighted.grad.logits", {n, k}}, {"adam.losses", {6}}})
                    want.push_back(t);
                for (const auto& p : params) want.push_back({"grad." + p.first, p.second});
                if (kind.find("+wgrads") != std::string::npos)
                    for (const auto& p : params) want.push_back({"weighted.grad." + p.first, p.second});
                if (kind.find("+final") != std::string::npos)
                    for (const auto& p : params) want.push_back({"final." + p.first, p.second});
            } else {
                BOOST_TEST(kind == "forward");
            }
            BOOST_TEST(f.tensors.size() == want.size() + 1);  // + inputs_sparse
            for (const auto& w : want) {
                const SafeTensor* t = f.find(w.first);
                BOOST_TEST_INFO("tensor " << w.first);
                BOOST_REQUIRE(t);
                BOOST_TEST(t->shape == w.second);
            }

            // Sparse inputs: rows of (n, c, row, col, value), in range, positive counts.
            const SafeTensor* in = f.find("inputs_sparse");
            BOOST_REQUIRE(in);
            BOOST_REQUIRE(in->shape.size() == 2u);
            BOOST_TEST(in->shape[1] == 5);
            BOOST_TEST(in->shape[0] >= n);
            const int64_t bound[4] = {n, c, res, res};
            bool in_range = true;
            for (int64_t r = 0; r < in->shape[0]; ++r) {
                const float* row = &in->data[size_t(r * 5)];
                for (int j = 0; j < 4; ++j)
                    in_range &= row[j] >= 0 && row[j] < float(bound[j]) && row[j] == std::floor(row[j]);
                in_range &= row[4] > 0;
            }
            BOOST_TEST(in_range);
            for (float label : f.find("labels")->data)
                BOOST_TEST((label >= 0 && label < float(k) && label == std::floor(label)));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
