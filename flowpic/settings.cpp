#include "flowpic/settings.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace flowpic {
namespace {

using nlohmann::json;

json binning_object(const BinningOptions& b) {
    json j = {{"resolution", b.resolution}, {"normalize", to_string(b.normalize)}, {"values", to_string(b.values)},
              {"direction", to_string(b.direction)}};
    if (b.max_count) j["max_count"] = b.max_count;  // absent = no cap, as in files written before the cap existed
    if (b.arith != BinArith::flowpic) j["arith"] = to_string(b.arith);  // absent = flowpic, likewise
    if (b.axis_us) j["axis_us"] = b.axis_us;  // absent = the window's length, likewise
    return j;
}

BinningOptions binning_from(const json& j, BinningOptions b) {
    if (!j.is_object()) throw std::runtime_error("not a JSON object");
    if (j.contains("resolution")) b.resolution = j.at("resolution").get<int>();
    if (j.contains("normalize")) b.normalize = parse_normalize(j.at("normalize").get<std::string>());
    if (j.contains("values")) b.values = parse_values(j.at("values").get<std::string>());
    if (j.contains("direction")) b.direction = parse_direction(j.at("direction").get<std::string>());
    if (j.contains("max_count")) b.max_count = j.at("max_count").get<uint32_t>();
    if (j.contains("arith")) b.arith = parse_arith(j.at("arith").get<std::string>());
    if (j.contains("axis_us")) b.axis_us = j.at("axis_us").get<uint32_t>();
    validate(b);
    return b;
}

}  // namespace

std::string to_json(const PrepSettings& s) {
    json j;
    j["windows"] = json::parse(s.windows.to_json());
    j["extract"] = {
        {"skip_empty_tcp", s.extract.skip_empty_tcp},
        {"skip_dns", s.extract.skip_dns},
        {"idle_timeout_s", s.extract.flows.idle_timeout_s},
        {"active_timeout_s", s.extract.flows.active_timeout_s},
        {"max_flows", s.extract.flows.max_flows},
    };
    j["labels"] = s.labels;
    j["split"] = {s.split.f[0], s.split.f[1], s.split.f[2]};
    j["seed"] = s.seed;
    if (s.few_shot.enabled())  // only then: files of the fraction split keep their exact bytes
        j["few_shot"] = {{"per_class", s.few_shot.per_class},
                         {"val_fraction", s.few_shot.val_fraction},
                         {"index", s.few_shot.index}};
    j["binning"] = s.binning ? binning_object(*s.binning) : json::object();
    return j.dump();
}

std::optional<PrepSettings> parse_prep_settings(const std::string& text, const std::string& path,
                                                const std::string& what) {
    if (text.empty() || text == "{}") return std::nullopt;
    PrepSettings s;
    try {
        const json j = json::parse(text);
        if (!j.is_object() || !j.contains("windows")) return std::nullopt;
        const json& jw = j.at("windows");
        WindowOptions& w = s.windows;
        w.view = parse_flow_view(jw.value("flows", std::string("uni")));
        w.window_s = jw.value("window_s", w.window_s);
        w.overlap = jw.value("overlap", w.overlap);
        w.min_packets = jw.value("min_packets", w.min_packets);
        // "default" keeps the rule (window * 50/60) rather than its value, exactly as prep had it.
        const bool explicit_span = jw.value("min_span_rule", std::string("explicit")) == "explicit";
        w.min_span_s = explicit_span ? jw.value("min_span_s", -1.0) : -1.0;
        w.sizes = jw.value("sizes", std::string("drop")) == "clip" ? SizeRule::kClip : SizeRule::kDrop;
        w.first_s = jw.value("first_s", 0.0);  // absent: sliding windows
        w.validate();
        if (j.contains("extract")) {
            const json& je = j.at("extract");
            ExtractOptions& x = s.extract;
            x.skip_empty_tcp = je.value("skip_empty_tcp", x.skip_empty_tcp);
            x.skip_dns = je.value("skip_dns", x.skip_dns);
            x.flows.idle_timeout_s = je.value("idle_timeout_s", x.flows.idle_timeout_s);
            x.flows.active_timeout_s = je.value("active_timeout_s", x.flows.active_timeout_s);
            x.flows.max_flows = je.value("max_flows", x.flows.max_flows);
        }
        s.labels = j.value("labels", std::string());
        if (j.contains("split")) {
            const json& js = j.at("split");
            if (!js.is_array() || js.size() != 3) throw std::runtime_error("split is not three fractions");
            for (size_t i = 0; i < 3; ++i) s.split.f[i] = js.at(i).get<double>();
        }
        s.seed = j.value("seed", s.seed);
        if (j.contains("few_shot")) {
            const json& jf = j.at("few_shot");
            s.few_shot.per_class = jf.at("per_class").get<uint32_t>();
            s.few_shot.val_fraction = jf.value("val_fraction", s.few_shot.val_fraction);
            s.few_shot.index = jf.value("index", s.few_shot.index);
            s.few_shot.validate();
        }
        if (j.contains("binning") && !j.at("binning").empty()) s.binning = binning_from(j.at("binning"), {});
    } catch (const std::exception& e) {
        throw input_error(path, "bad " + what + ": " + e.what());
    }
    return s;
}

std::string to_json(const BinningOptions& b) { return binning_object(b).dump(); }

BinningOptions parse_binning_settings(const std::string& text, const std::string& path, const BinningOptions& defaults,
                                      const std::string& what) {
    try {
        return binning_from(json::parse(text), defaults);
    } catch (const std::exception& e) {
        throw input_error(path, "bad " + what + ": " + e.what());
    }
}

bool same_windowing(const PrepSettings& a, const PrepSettings& b) { return a.windows.to_json() == b.windows.to_json(); }

}  // namespace flowpic
