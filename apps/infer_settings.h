// What a model fixes for inference, read from its metadata (nn/model_file.h):
//   binning  the "binning" JSON flowpic-train records; missing (a model written by PyTorch):
//            resolution and channels from the network, span normalisation, count values,
//            direction none (1 channel) or channels (2).  Checked against the network's
//            input: a mismatch is an error naming both.
//   prep     the "prep" JSON of the training dataset: windowing and extraction settings.
// Precedence on captures: the model's prep decides; a window or extraction flag given on
// the command line is then an error (it would classify windows unlike those the model
// learnt from) unless --override-prep, which applies the given flags on top.  A model
// without prep metadata uses the command line, whose defaults are the authors' settings.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "apps/window_flags.h"
#include "core/error.h"
#include "kernels/cpu/binning.h"
#include "nn/model_file.h"

namespace flowpic {

inline std::string binning_shape(const BinningOptions& b) {
    return std::to_string(b.resolution) + " x " + std::to_string(b.resolution) + " with " +
           std::to_string(channels(b)) + (channels(b) == 1 ? " channel" : " channels");
}

inline BinningOptions model_binning(const LoadedModel& m, const std::string& path) {
    const NetSpec& spec = m.info.spec;
    BinningOptions b;
    b.resolution = spec.resolution;
    b.direction = spec.channels == 2 ? Direction::channels : Direction::none;
    auto it = m.info.metadata.find("binning");
    if (it != m.info.metadata.end()) {
        try {
            auto j = nlohmann::json::parse(it->second);
            if (j.contains("resolution")) b.resolution = j.at("resolution").get<int>();
            if (j.contains("normalize")) b.normalize = parse_normalize(j.at("normalize").get<std::string>());
            if (j.contains("values")) b.values = parse_values(j.at("values").get<std::string>());
            if (j.contains("direction")) b.direction = parse_direction(j.at("direction").get<std::string>());
            validate(b);
        } catch (const std::exception& e) {
            throw input_error(path, std::string("bad 'binning' metadata: ") + e.what());
        }
    }
    if (b.resolution != spec.resolution || channels(b) != spec.channels)
        throw input_error(path, "binning metadata gives images of " + binning_shape(b) + " but the network takes " +
                                    std::to_string(spec.resolution) + " x " + std::to_string(spec.resolution) +
                                    " with " + std::to_string(spec.channels) + " channel(s)");
    return b;
}

// The prep settings a model or dataset records; false when there are none.
inline bool parse_prep(const std::string& prep_json, const std::string& path, WindowOptions& w, ExtractOptions& x) {
    if (prep_json.empty() || prep_json == "{}") return false;
    try {
        auto j = nlohmann::json::parse(prep_json);
        if (!j.contains("windows")) return false;
        const auto& jw = j.at("windows");
        w.view = parse_flow_view(jw.value("flows", std::string("uni")));
        w.window_s = jw.value("window_s", w.window_s);
        w.overlap = jw.value("overlap", w.overlap);
        w.min_packets = jw.value("min_packets", w.min_packets);
        // "default" keeps the rule (window * 50/60) rather than its value, exactly as prep had it.
        const bool explicit_span = jw.value("min_span_rule", std::string("explicit")) == "explicit";
        w.min_span_s = explicit_span ? jw.value("min_span_s", -1.0) : -1.0;
        w.sizes = jw.value("sizes", std::string("drop")) == "clip" ? SizeRule::kClip : SizeRule::kDrop;
        w.validate();
        if (j.contains("extract")) {
            const auto& je = j.at("extract");
            x.skip_empty_tcp = je.value("skip_empty_tcp", x.skip_empty_tcp);
            x.skip_dns = je.value("skip_dns", x.skip_dns);
            x.flows.idle_timeout_s = je.value("idle_timeout_s", x.flows.idle_timeout_s);
            x.flows.active_timeout_s = je.value("active_timeout_s", x.flows.active_timeout_s);
            x.flows.max_flows = je.value("max_flows", x.flows.max_flows);
        }
    } catch (const std::exception& e) {
        throw input_error(path, std::string("bad 'prep' metadata: ") + e.what());
    }
    return true;
}

// Applies the precedence above.  wf must be finalize()d.  Returns a note for stderr
// ("" when nothing to say).
inline std::string resolve_prep(const LoadedModel& m, const std::string& path, CLI::App& app, const WindowFlags& wf,
                                bool override_prep, WindowOptions& w, ExtractOptions& x) {
    x = wf.extract;  // keep_going and progress come from the command line
    auto it = m.info.metadata.find("prep");
    if (it == m.info.metadata.end() || !parse_prep(it->second, path, w, x)) {
        w = wf.windows;
        return "the model has no prep metadata: windowing as the command line says (" + w.to_json() + ")";
    }
    std::vector<std::string> given;
    for (const auto& name : prep_flag_names())
        if (app.get_option(name)->count() > 0) given.push_back(name);
    if (given.empty()) return "";
    if (!override_prep)
        throw UsageError(given[0] + ": the model's prep metadata fixes the windowing (" + w.to_json() +
                         "); add --override-prep to change it anyway");
    for (const auto& name : given) {
        if (name == "--flows") w.view = wf.windows.view;
        if (name == "--window") w.window_s = wf.windows.window_s;
        if (name == "--overlap") w.overlap = wf.windows.overlap;
        if (name == "--min-packets") w.min_packets = wf.windows.min_packets;
        if (name == "--min-span") w.min_span_s = wf.windows.min_span_s;
        if (name == "--clip-sizes") w.sizes = wf.windows.sizes;
        if (name == "--skip-empty-tcp") x.skip_empty_tcp = wf.extract.skip_empty_tcp;
        if (name == "--skip-dns") x.skip_dns = wf.extract.skip_dns;
        if (name == "--idle-timeout") x.flows.idle_timeout_s = wf.extract.flows.idle_timeout_s;
        if (name == "--active-timeout") x.flows.active_timeout_s = wf.extract.flows.active_timeout_s;
        if (name == "--max-flows") x.flows.max_flows = wf.extract.flows.max_flows;
    }
    w.validate();
    return "--override-prep: windowing differs from the model's training data (" + w.to_json() + ")";
}

}  // namespace flowpic
