#include "nn/model_file.h"

#include <cctype>
#include <cmath>
#include <stdexcept>

#include "kernels/cpu/binning.h"

#include "core/error.h"
#include "core/strings.h"
#include "nn/safetensors.h"

namespace flowpic {

namespace {

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + v[i];
    return out;
}

// A decimal integer in [lo, hi]: parsed as 64-bit and range-checked before any narrowing.
int bounded_int(const std::string& path, const std::map<std::string, std::string>& md, const char* key, int lo, int hi) {
    const std::string& v = md.at(key);
    long long x = 0;
    size_t used = 0;
    try {
        x = std::stoll(v, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != v.size() || v.empty() || !std::isdigit((unsigned char)v[0]) || x < lo || x > hi)
        throw input_error(path, std::string("metadata ") + key + " is '" + v + "', not an integer in " +
                                    std::to_string(lo) + ".." + std::to_string(hi));
    return int(x);
}

void check_finite(const std::string& path, const std::string& name, const float* v, size_t n, const char* what) {
    for (size_t i = 0; i < n; ++i)
        if (!std::isfinite(v[i]))
            throw input_error(path, std::string(what) + " tensor " + name + " holds a non-finite value (" +
                                        std::to_string(v[i]) + " at element " + std::to_string(i) + ")");
}

std::string image_shape(int resolution, int channels) {
    return std::to_string(resolution) + " x " + std::to_string(resolution) + " with " + std::to_string(channels) +
           (channels == 1 ? " channel" : " channels");
}

// The binning and prep settings of a loaded model (the header's rule).
void resolve_settings(const std::string& path, ModelInfo& info) {
    const NetSpec& spec = info.spec;
    BinningOptions derived;
    derived.resolution = spec.resolution;
    derived.direction = spec.channels == 2 ? Direction::channels : Direction::none;
    auto b = info.metadata.find("binning");
    info.binning_recorded = b != info.metadata.end();
    if (info.binning_recorded) {
        const BinningOptions rec = parse_binning_settings(b->second, path, derived, "'binning' metadata");
        if (rec.resolution != spec.resolution || channels(rec) != spec.channels)
            throw input_error(path, "binning metadata gives images of " + image_shape(rec.resolution, channels(rec)) +
                                        " but the network takes " + image_shape(spec.resolution, spec.channels));
        info.settings.binning = rec;
    } else if (spec.channels <= 2) {
        info.settings.binning = derived;
    }
    auto p = info.metadata.find("prep");
    if (p != info.metadata.end()) info.settings.prep = parse_prep_settings(p->second, path, "'prep' metadata");
}

}  // namespace

std::vector<std::pair<std::string, Shape>> model_tensor_shapes(const NetSpec& spec) {
    if (spec.channels < 1 || spec.classes < 2 || spec.resolution < 1)
        throw std::invalid_argument("network: channels >= 1, classes >= 2 and resolution >= 1 are required");
    const int64_t c = spec.channels, k = spec.classes, r = spec.resolution;
    const bool flowpic = spec.arch == Arch::kFlowPic;
    // The same walk as Network's constructor, on sizes only (tests/test_safetensors.cpp
    // checks the two agree): conv1 -> pool -> conv2 -> pool -> flatten.
    auto too_small = [&]() {
        return std::invalid_argument(std::string(arch_name(spec.arch)) + " at resolution " + std::to_string(r) +
                                     " is too small" + (flowpic ? " (FlowPicNet needs R >= 56)" : " (LeNet needs R >= 16)"));
    };
    auto conv = [&](int64_t side, int kernel, int stride) -> int64_t {
        Conv2dShape s = flowpic ? conv2d_same_keras(1, 1, int(side), int(side), 1, kernel, kernel, stride)
                                : conv2d_valid(1, 1, int(side), int(side), 1, kernel, kernel, stride);
        if (s.p < 1) throw too_small();
        return s.p;
    };
    auto pool = [&](int64_t side) {
        if (side < 2) throw too_small();
        return side / 2;
    };
    const int kernel = flowpic ? 10 : 5, stride = flowpic ? 5 : 1;
    const int64_t c1 = flowpic ? 10 : 6, c2 = flowpic ? 20 : 16;
    const int64_t side = pool(conv(pool(conv(r, kernel, stride)), kernel, stride));
    const int64_t fc1_in = c2 * side * side, fc1_out = flowpic ? 64 : 120;
    std::vector<std::pair<std::string, Shape>> out = {
        {"conv1.weight", {c1, c, kernel, kernel}}, {"conv1.bias", {c1}},
        {"conv2.weight", {c2, c1, kernel, kernel}}, {"conv2.bias", {c2}},
        {"fc1.weight", {fc1_out, fc1_in}},          {"fc1.bias", {fc1_out}}};
    if (flowpic) {
        out.push_back({"fc2.weight", {k, 64}});
        out.push_back({"fc2.bias", {k}});
    } else {
        out.push_back({"fc2.weight", {84, 120}});
        out.push_back({"fc2.bias", {84}});
        out.push_back({"fc3.weight", {k, 84}});
        out.push_back({"fc3.bias", {k}});
    }
    return out;
}

NetSpec net_spec_for(Arch arch, const BinningOptions& binning, int classes) {
    NetSpec spec;
    spec.arch = arch;
    spec.resolution = binning.resolution;
    spec.channels = channels(binning);
    spec.classes = classes;
    return spec;
}

const BinningOptions& model_binning(const ModelInfo& info, const std::string& path) {
    if (!info.settings.binning)
        throw input_error(path, "the network takes " + std::to_string(info.spec.channels) +
                                    " channels, which flowpic's binning does not make (1 or 2)");
    return *info.settings.binning;
}

void save_model(const std::string& path, Network& net, const std::vector<std::string>& classes,
                const ModelSettings& settings, const std::map<std::string, std::string>& extra) {
    std::map<std::string, std::string> md = extra;
    if (settings.binning) md["binning"] = to_json(*settings.binning);
    if (settings.prep) md["prep"] = to_json(*settings.prep);
    save_model(path, net, classes, md);
}

void save_model(const std::string& path, Network& net, const std::vector<std::string>& classes,
                const std::map<std::string, std::string>& extra) {
    const NetSpec& spec = net.spec();
    if (int(classes.size()) != spec.classes) throw std::invalid_argument("save_model: class names do not match the net");
    for (const auto& c : classes)
        if (c.empty() || c.find(',') != std::string::npos)
            throw std::invalid_argument("save_model: class name '" + c + "' is empty or has a comma");
    SafeTensorsFile f;
    f.metadata = extra;
    f.metadata["format"] = "flowpic";
    f.metadata["version"] = std::to_string(kModelFormatVersion);
    f.metadata["arch"] = arch_name(spec.arch);
    f.metadata["resolution"] = std::to_string(spec.resolution);
    f.metadata["channels"] = std::to_string(spec.channels);
    f.metadata["classes"] = join(classes);
    for (const Param& p : net.params()) {
        SafeTensor t;
        t.name = p.name;
        t.shape = p.value->shape();
        t.data = p.value->to_vector();
        // A NaN model classifies nothing and would load without a word: never write one.
        check_finite(path, p.name, t.data.data(), t.data.size(), "refusing to write a model whose");
        f.tensors.push_back(std::move(t));
    }
    write_safetensors(path, f);
}

LoadedModel load_model(const std::string& path) {
    SafeTensorsFile f = read_safetensors(path);
    const auto& md = f.metadata;
    for (const char* key : {"format", "version", "arch", "resolution", "channels", "classes"})
        if (!md.count(key)) throw input_error(path, std::string("not a flowpic model: __metadata__ lacks '") + key + "'");
    if (md.at("format") != "flowpic") throw input_error(path, "not a flowpic model: format is '" + md.at("format") + "'");
    if (md.at("version") != std::to_string(kModelFormatVersion))
        throw input_error(path, "unsupported model version " + md.at("version") + " (this flowpic reads version " +
                                    std::to_string(kModelFormatVersion) + ")");
    LoadedModel m;
    m.info.metadata = md;
    if (md.at("arch") != "flowpic" && md.at("arch") != "lenet")
        throw input_error(path, "unknown arch '" + md.at("arch") + "' (expected flowpic or lenet)");
    m.info.spec.arch = parse_arch(md.at("arch"));
    // Sane limits first, then every tensor against the shapes the metadata implies, and
    // only then the Network: a 200-byte file claiming resolution 100000 or 1e9 channels
    // must not allocate what it claims.
    m.info.spec.resolution = bounded_int(path, md, "resolution", 1, kMaxResolution);
    m.info.spec.channels = bounded_int(path, md, "channels", 1, kMaxModelChannels);
    m.info.classes = split_on(md.at("classes"), ',');
    for (const auto& c : m.info.classes)
        if (c.empty()) throw input_error(path, "metadata classes '" + md.at("classes") + "' has an empty name");
    if (m.info.classes.size() < 2) throw input_error(path, "metadata classes names fewer than 2 classes");
    if (m.info.classes.size() > size_t(kMaxModelClasses))
        throw input_error(path, "metadata classes names " + std::to_string(m.info.classes.size()) + " classes (at most " +
                                    std::to_string(kMaxModelClasses) + ")");
    m.info.spec.classes = int(m.info.classes.size());
    std::vector<std::pair<std::string, Shape>> expected;
    try {
        expected = model_tensor_shapes(m.info.spec);
    } catch (const std::invalid_argument& e) {
        throw input_error(path, e.what());
    }
    for (const auto& [name, shape] : expected) {
        const SafeTensor* t = f.find(name);
        if (!t) throw input_error(path, "missing tensor " + name);
        if (t->shape != shape)
            throw input_error(path, "tensor " + name + " has shape " + shape_string(t->shape) + ", expected " +
                                        shape_string(shape) + " for " + arch_name(m.info.spec.arch) +
                                        " at resolution " + std::to_string(m.info.spec.resolution) + " with " +
                                        std::to_string(m.info.spec.channels) + " channel(s) and " +
                                        std::to_string(m.info.spec.classes) + " classes");
        check_finite(path, name, t->data.data(), t->data.size(), "model");
    }
    for (const auto& t : f.tensors) {
        bool known = false;
        for (const auto& e : expected) known |= e.first == t.name;
        if (!known) throw input_error(path, "unexpected tensor " + t.name + " for arch " + md.at("arch"));
    }
    resolve_settings(path, m.info);
    try {
        m.net = std::make_unique<Network>(m.info.spec);
    } catch (const std::invalid_argument& e) {
        throw input_error(path, e.what());
    }
    for (const Param& p : m.net->params()) {
        const SafeTensor* t = f.find(p.name);
        if (!t || t->shape != p.value->shape())  // model_tensor_shapes and Network disagree
            throw std::logic_error("load_model: " + p.name + " does not match model_tensor_shapes");
        p.value->assign(t->data.data());
    }
    return m;
}

}  // namespace flowpic
