// flowpic-infer on captures: extract, window and bin as the model's metadata says, classify
// every window, and summarise per flow.
// Precedence on captures: the model's prep decides; a window or extraction flag given on
// the command line is then an error (it would classify windows unlike those the model
// learnt from) unless --override-prep, which applies the given flags on top.  A model
// without prep metadata uses the command line, whose defaults are the authors' settings.
//   windows CSV  capture,proto,src,sport,dst,dport,view,window_start,packets,class,p_<class>...
//                src/dst are the flow's client->server orientation whatever the view;
//                view is uni-fwd (client->server packets), uni-rev or bi; window_start is
//                epoch seconds; packets counts the window's packets after the size rule.
//   flows CSV    capture,proto,src,sport,dst,dport,windows,class,p_<class>...
//                one row per flow (both uni views of a flow together) that has at least
//                one window: the mean of its windows' probabilities, class = its argmax
//                (nn/capture_classifier.h, which also batches the windows).
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "apps/infer.h"
#include "nn/model_file.h"
#include "core/atomic_file.h"
#include "flowpic/prep.h"
#include "kernels/cpu/binning_avx2.h"
#include "nn/capture_classifier.h"
#include "nn/evaluate.h"
#include "nn/metrics.h"
#include "pcap/capture_reader.h"

namespace flowpic {

// Applies the precedence above (declared in apps/infer.h: --live and --stream share it).  wf must be finalize()d; `given`: the prep flags on the
// command line.  Returns a note for stderr ("" when nothing to say).
std::string resolve_prep(const ModelInfo& m, const std::vector<std::string>& given, const WindowFlags& wf,
                         bool override_prep, WindowOptions& w, ExtractOptions& x) {
    x = wf.extract;  // keep_going and progress come from the command line
    if (!m.settings.prep) {
        w = wf.windows;
        return "the model has no prep metadata: windowing as the command line says (" + w.to_json() + ")";
    }
    w = m.settings.prep->windows;
    x.skip_empty_tcp = m.settings.prep->extract.skip_empty_tcp;
    x.skip_dns = m.settings.prep->extract.skip_dns;
    x.flows = m.settings.prep->extract.flows;
    if (given.empty()) return "";
    if (!override_prep)
        throw UsageError(given[0] + ": the model's prep metadata fixes the windowing (" + w.to_json() +
                         "); add --override-prep to change it anyway");
    for (const auto& name : given) {
        if (name == "--flows") w.view = wf.windows.view;
        if (name == "--window") w.window_s = wf.windows.window_s;
        if (name == "--first") w.first_s = wf.windows.first_s;
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

namespace {

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

}  // namespace

int run_captures(const CaptureRequest& r) {
    LoadedModel m = load_model(r.model_path);
    const BinningOptions binning = model_binning(m.info, r.model_path);
    WindowOptions windows;
    ExtractOptions extract;
    const std::string note = resolve_prep(m.info, r.given_flags, r.windows, r.override_prep, windows, extract);
    if (!note.empty() && !r.quiet) std::fprintf(stderr, "flowpic-infer: %s\n", note.c_str());
    extract.progress = !r.quiet;
    const std::vector<std::string> captures = expand_capture_inputs(r.inputs, extract.format);
    const std::vector<std::string>& classes = m.info.classes;
    const size_t k = classes.size();

    std::unique_ptr<AtomicFile> out;
    if (!r.json) out = std::make_unique<AtomicFile>(r.output);
    std::unique_ptr<AtomicFile> flows_out;
    if (!r.flows_summary.empty()) flows_out = std::make_unique<AtomicFile>(r.flows_summary);
    auto tuple_fields = [](const FiveTuple& t) {
        return std::string(t.proto == kProtoTcp ? "tcp" : t.proto == kProtoUdp ? "udp" : "?") + "," +
               format_address(t.src, t.ip_version) + "," + std::to_string(t.sport) + "," +
               format_address(t.dst, t.ip_version) + "," + std::to_string(t.dport);
    };
    auto header = [&](std::FILE* f, const char* middle) {
        std::fprintf(f, "capture,proto,src,sport,dst,dport,%s,class", middle);
        for (const auto& c : classes) std::fprintf(f, ",p_%s", c.c_str());
        std::fputc('\n', f);
    };
    if (out) header(out->get(), "view,window_start,packets");
    if (flows_out) header(flows_out->get(), "windows");

    CaptureClassifier clf(m, binning, r.batch, r.device);
    nlohmann::json rows = nlohmann::json::array();
    size_t n_windows = 0;
    clf.on_row = [&](const CaptureClassifier::Row& row) {
        ++n_windows;
        const std::string& cls = classes[argmax_row(row.probs.data(), k)];
        if (r.json) {
            rows.push_back({{"capture", captures[row.capture]}, {"flow", row.flow_id},
                            {"proto", row.tuple.proto == kProtoTcp ? "tcp" : "udp"},
                            {"src", format_address(row.tuple.src, row.tuple.ip_version)}, {"sport", row.tuple.sport},
                            {"dst", format_address(row.tuple.dst, row.tuple.ip_version)}, {"dport", row.tuple.dport},
                            {"view", dir_view_name(row.view)}, {"window_start", double(row.start_ns) / 1e9},
                            {"packets", row.packets}, {"class", cls}, {"probabilities", row.probs}});
            return;
        }
        std::fprintf(out->get(), "%s,%s,%s,%.6f,%zu,%s", csv_field(captures[row.capture]).c_str(),
                     tuple_fields(row.tuple).c_str(), dir_view_name(row.view), double(row.start_ns) / 1e9,
                     row.packets, cls.c_str());
        for (float p : row.probs) std::fprintf(out->get(), ",%.7g", p);
        std::fputc('\n', out->get());
    };
    std::map<std::string, uint32_t> index_of;
    for (size_t i = 0; i < captures.size(); ++i) index_of.emplace(captures[i], uint32_t(i));
    ExtractStats st;
    WindowStats ws = window_captures(
        captures, extract, windows, [&](const std::string& c, Window&& w) { clf.add(index_of.at(c), std::move(w)); },
        st);
    clf.flush();
    for (const auto& warn : st.warnings) std::fprintf(stderr, "flowpic-infer: %s\n", warn.c_str());
    if (n_windows == 0)
        std::fprintf(stderr,
                     "flowpic-infer: warning: no window survived the windowing rules (%llu flows, %llu windows "
                     "dropped: too few packets or too short)\n",
                     (unsigned long long)ws.flows, (unsigned long long)ws.windows_dropped());

    nlohmann::json flows = nlohmann::json::array();
    for (const auto& f : clf.flows()) {
        const std::vector<double> mean = f.mean();
        const size_t best = size_t(std::max_element(mean.begin(), mean.end()) - mean.begin());
        if (r.json)
            flows.push_back({{"capture", captures[f.capture]}, {"proto", f.tuple.proto == kProtoTcp ? "tcp" : "udp"},
                             {"src", format_address(f.tuple.src, f.tuple.ip_version)}, {"sport", f.tuple.sport},
                             {"dst", format_address(f.tuple.dst, f.tuple.ip_version)}, {"dport", f.tuple.dport},
                             {"windows", f.windows}, {"class", classes[best]}, {"probabilities", mean}});
        if (flows_out) {
            std::fprintf(flows_out->get(), "%s,%s,%zu,%s", csv_field(captures[f.capture]).c_str(),
                         tuple_fields(f.tuple).c_str(), f.windows, classes[best].c_str());
            for (double p : mean) std::fprintf(flows_out->get(), ",%.7g", p);
            std::fputc('\n', flows_out->get());
        }
    }
    if (flows_out) flows_out->commit();
    if (r.json) {
        std::printf("%s\n", nlohmann::json{{"model", r.model_path}, {"classes", classes},
                                           {"binning", format_options(binning)},
                                           {"windowing", nlohmann::json::parse(windows.to_json())},
                                           {"windows", rows}, {"flows", flows}}
                                .dump().c_str());
        return 0;
    }
    out->commit();
    if (!r.quiet)
        std::fprintf(stderr, "flowpic-infer: %zu windows of %zu flows classified (%s)\n", n_windows,
                     clf.flows().size(), format_options(binning).c_str());
    return 0;
}

}  // namespace flowpic
