#include "nn/model_file.h"

#include <stdexcept>

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

int positive_int(const std::string& path, const std::map<std::string, std::string>& md, const char* key) {
    const std::string& v = md.at(key);
    size_t used = 0;
    int x = 0;
    try {
        x = std::stoi(v, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != v.size() || x < 1) throw input_error(path, std::string("metadata ") + key + " is '" + v + "', not a positive integer");
    return x;
}

}  // namespace

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
    m.info.spec.resolution = positive_int(path, md, "resolution");
    m.info.spec.channels = positive_int(path, md, "channels");
    m.info.classes = split_on(md.at("classes"), ',');
    for (const auto& c : m.info.classes)
        if (c.empty()) throw input_error(path, "metadata classes '" + md.at("classes") + "' has an empty name");
    if (m.info.classes.size() < 2) throw input_error(path, "metadata classes names fewer than 2 classes");
    m.info.spec.classes = int(m.info.classes.size());
    try {
        m.net = std::make_unique<Network>(m.info.spec);
    } catch (const std::invalid_argument& e) {
        throw input_error(path, e.what());
    }
    std::vector<Param> params = m.net->params();
    for (const Param& p : params) {
        const SafeTensor* t = f.find(p.name);
        if (!t) throw input_error(path, "missing tensor " + p.name);
        if (t->shape != p.value->shape())
            throw input_error(path, "tensor " + p.name + " has shape " + shape_string(t->shape) + ", expected " +
                                        shape_string(p.value->shape()) + " for " + arch_name(m.info.spec.arch) +
                                        " at resolution " + std::to_string(m.info.spec.resolution) + " with " +
                                        std::to_string(m.info.spec.channels) + " channel(s) and " +
                                        std::to_string(m.info.spec.classes) + " classes");
        p.value->assign(t->data.data());
    }
    if (f.tensors.size() != params.size()) {
        for (const auto& t : f.tensors) {
            bool known = false;
            for (const Param& p : params) known |= p.name == t.name;
            if (!known) throw input_error(path, "unexpected tensor " + t.name + " for arch " + md.at("arch"));
        }
    }
    return m;
}

}  // namespace flowpic
