// flowpic-infer on captures: extract, window and bin as the model's metadata says
// (apps/infer_settings.h), classify every window, and summarise per flow.
//   windows CSV  capture,proto,src,sport,dst,dport,view,window_start,packets,class,p_<class>...
//                src/dst are the flow's client->server orientation whatever the view;
//                view is uni-fwd (client->server packets), uni-rev or bi; window_start is
//                epoch seconds; packets counts the window's packets after the size rule.
//   flows CSV    capture,proto,src,sport,dst,dport,windows,class,p_<class>...
//                one row per flow (both uni views of a flow together) that has at least
//                one window: the mean of its windows' probabilities, class = its argmax.
//                The mean keeps the confidence of each window; with equal windows it
//                agrees with a majority vote, and it breaks that vote's ties sensibly.
// Windows are classified in batches as they stream out of the captures, so memory is
// bounded by the live flows and one batch.
#pragma once
#include "apps/device_flag.h"
#include "nn/classifier.h"
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "apps/infer_settings.h"
#include "core/atomic_file.h"
#include "flowpic/prep.h"
#include "kernels/cpu/binning_fast.h"
#include "nn/evaluate.h"
#include "nn/metrics.h"
#include "pcap/capture_reader.h"

namespace flowpic {

struct CaptureRequest {
    std::string model_path, output = "-", flows_summary;
    std::vector<std::string> inputs;
    int batch = 64;
    std::string device = "auto";
    bool json = false, quiet = false, override_prep = false;
};

inline std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

class CaptureClassifier {
public:
    CaptureClassifier(LoadedModel& m, const BinningOptions& b, int batch, const std::string& device)
        : m_(m), b_(b), batch_(size_t(batch)) {
        be_ = make_backend(device);
        m_.net->to(be_->memory());
        check_batch_fits(*m_.net, *be_, batch, /*training=*/false);
        clf_ = make_classifier(*m_.net, *be_, b_);
    }

    struct Row {
        uint32_t capture;
        uint64_t flow_id;
        FiveTuple tuple;
        DirView view;
        int64_t start_ns;
        size_t packets;
        std::vector<float> probs;
    };
    struct Flow {
        uint32_t capture;
        FiveTuple tuple;
        size_t windows = 0;
        std::vector<double> sum;
    };

    // Queues a window; classifies the queue when it is full (rows then go to on_row).
    void add(uint32_t capture, Window&& w) {
        pending_.push_back({capture, std::move(w)});
        if (pending_.size() >= batch_) flush();
    }
    void flush() {
        if (pending_.empty()) return;
        const size_t n = pending_.size(), k = m_.info.classes.size();
        views_.clear();
        for (const auto& p : pending_)
            views_.push_back({p.second.packets.data(), uint32_t(p.second.packets.size()), p.second.length_us});
        probs_.resize(n * k);
        clf_->classify(views_.data(), n, probs_.data());
        for (size_t i = 0; i < n; ++i) {
            const Window& w = pending_[i].second;
            Row row{pending_[i].first, w.flow_id, w.tuple, w.view, w.start_ns, w.packets.size(),
                    std::vector<float>(probs_.begin() + i * k, probs_.begin() + (i + 1) * k)};
            auto key = std::make_pair(row.capture, row.flow_id);
            auto it = flow_index_.find(key);
            if (it == flow_index_.end()) {
                it = flow_index_.emplace(key, flows_.size()).first;
                flows_.push_back({row.capture, row.tuple, 0, std::vector<double>(k, 0.0)});
            }
            Flow& f = flows_[it->second];
            ++f.windows;
            for (size_t j = 0; j < k; ++j) f.sum[j] += row.probs[j];
            on_row(row);
        }
        pending_.clear();
    }
    const std::vector<Flow>& flows() const { return flows_; }
    std::function<void(const Row&)> on_row;

private:
    LoadedModel& m_;
    BinningOptions b_;
    size_t batch_;
    std::unique_ptr<Backend> be_;
    std::vector<std::pair<uint32_t, Window>> pending_;
    std::vector<PacketListView> views_;
    std::unique_ptr<WindowClassifier> clf_;
    std::vector<float> probs_;
    std::map<std::pair<uint32_t, uint64_t>, size_t> flow_index_;
    std::vector<Flow> flows_;
};

inline int run_captures(const CaptureRequest& r, CLI::App& app, WindowFlags& wf) {
    LoadedModel m = load_model(r.model_path);
    const BinningOptions binning = model_binning(m, r.model_path);
    wf.finalize();
    WindowOptions windows;
    ExtractOptions extract;
    const std::string note = resolve_prep(m, r.model_path, app, wf, r.override_prep, windows, extract);
    if (!note.empty() && !r.quiet) std::fprintf(stderr, "flowpic-infer: %s\n", note.c_str());
    extract.progress = !r.quiet;
    const std::vector<std::string> captures = expand_capture_inputs(r.inputs);
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
        std::vector<double> mean(k);
        for (size_t j = 0; j < k; ++j) mean[j] = f.sum[j] / double(f.windows);
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
