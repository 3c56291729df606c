#include "flowpic/dataset_stats.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace flowpic {

void PacketCountStats::add(uint64_t n) {
    min = windows ? std::min(min, n) : n;
    max = windows ? std::max(max, n) : n;
    windows++;
    packets += n;
}

DatasetStats compute_stats(const DatasetReader& ds) {
    DatasetStats s;
    s.path = ds.path();
    s.file_bytes = ds.file_size();
    s.packet_bytes = ds.packet_count() * sizeof(WindowPacket);
    s.windows = ds.window_count();
    s.packets = ds.packet_count();
    s.captures = ds.captures().size();
    s.classes = ds.classes();
    s.counts.assign(s.classes.size(), {0, 0, 0});
    s.per_class.assign(s.classes.size(), {});
    s.prep_json = ds.prep_json();
    try {  // lenient: a hand-written or foreign "prep" object just has no rule to show
        const nlohmann::json j = nlohmann::json::parse(s.prep_json);
        if (j.is_object() && j.contains("few_shot")) {
            const nlohmann::json& f = j.at("few_shot");
            s.few_shot.per_class = f.value("per_class", 0u);
            s.few_shot.val_fraction = f.value("val_fraction", 0.2);
            s.few_shot.index = f.value("index", 0u);
            s.seed = j.value("seed", uint64_t(0));
        }
    } catch (const std::exception&) {
        s.few_shot = {};
    }
    std::vector<std::map<uint32_t, uint8_t>> capture_classes;  // [capture] class -> split
    if (s.few_shot.enabled()) capture_classes.resize(s.captures);
    for (size_t i = 0; i < ds.window_count(); ++i) {
        DatasetWindow w = ds.window(i);  // only the record is read, not the packets
        s.counts[w.label][w.split]++;
        s.split_totals[w.split]++;
        s.per_class[w.label].add(w.packets.count);
        s.all.add(w.packets.count);
        s.vpn_windows += w.vpn;
        if (!capture_classes.empty()) capture_classes[w.prov.capture].emplace(w.label, w.split);
    }
    if (s.few_shot.enabled()) {
        s.capture_counts.assign(s.classes.size(), {0, 0, 0});
        for (const auto& m : capture_classes)
            for (const auto& [cls, split] : m) s.capture_counts[cls][split]++;
    }
    return s;
}

std::string captures_manifest(const DatasetReader& ds) {
    struct Entry {
        std::map<uint32_t, uint64_t> windows;  // class -> windows
        uint8_t split = 0;
    };
    std::vector<Entry> caps(ds.captures().size());
    for (size_t i = 0; i < ds.window_count(); ++i) {
        DatasetWindow w = ds.window(i);
        Entry& e = caps[w.prov.capture];
        if (!e.windows.empty() && e.split != w.split)
            throw input_error(ds.path(), "capture " + ds.captures()[w.prov.capture] + " has windows in " +
                                             split_name(e.split) + " and " + split_name(w.split) +
                                             ": the split is not grouped by capture, no manifest can describe it");
        e.split = w.split;
        e.windows[w.label]++;
    }
    auto tsv_safe = [&](const std::string& what, const std::string& v) {
        if (v.find_first_of("\t\n\r") != std::string::npos)
            throw input_error(ds.path(), what + " '" + v + "' has a tab or line break: it cannot be a TSV field");
        return v;
    };
    std::string out = "capture\tclass\tsplit\twindows\n";
    for (size_t c = 0; c < caps.size(); ++c)
        for (const auto& [cls, n] : caps[c].windows)
            out += tsv_safe("capture", ds.captures()[c]) + "\t" + tsv_safe("class", ds.classes()[cls]) + "\t" +
                   split_name(caps[c].split) + "\t" + std::to_string(n) + "\n";
    return out;
}

namespace {
std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, f);
    std::vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}
}  // namespace

std::string stats_text(const DatasetStats& s) {
    std::string out;
    out += fmt("dataset   %s\n", s.path.c_str());
    out += fmt("size      %.1f MB on disk (%.1f MB of packet records)\n", s.file_bytes / 1e6, s.packet_bytes / 1e6);
    out += fmt("windows   %llu (%llu vpn) from %zu captures, %llu packets\n", (unsigned long long)s.windows,
               (unsigned long long)s.vpn_windows, s.captures, (unsigned long long)s.packets);
    out += fmt("\n%-16s %9s %9s %9s %9s   %s\n", "class", "train", "val", "test", "total", "packets/window min/mean/max");
    for (size_t c = 0; c < s.classes.size(); ++c) {
        const auto& n = s.counts[c];
        const PacketCountStats& p = s.per_class[c];
        out += fmt("%-16s %9llu %9llu %9llu %9llu   %llu / %.1f / %llu\n", s.classes[c].c_str(),
                   (unsigned long long)n[0], (unsigned long long)n[1], (unsigned long long)n[2],
                   (unsigned long long)p.windows, (unsigned long long)p.min, p.mean(), (unsigned long long)p.max);
    }
    out += fmt("%-16s %9llu %9llu %9llu %9llu   %llu / %.1f / %llu\n", "all", (unsigned long long)s.split_totals[0],
               (unsigned long long)s.split_totals[1], (unsigned long long)s.split_totals[2],
               (unsigned long long)s.windows, (unsigned long long)s.all.min, s.all.mean(), (unsigned long long)s.all.max);
    if (s.few_shot.enabled()) {
        out += fmt("\nsplit     few-shot: %u captures per class for train+val (val fraction %g), draw %u, seed %llu;"
                   " the rest is test\n",
                   s.few_shot.per_class, s.few_shot.val_fraction, s.few_shot.index, (unsigned long long)s.seed);
        out += fmt("%-16s %9s %9s %9s %9s\n", "captures", "train", "val", "test", "total");
        std::array<uint64_t, 3> sum{};
        for (size_t c = 0; c < s.classes.size(); ++c) {
            const auto& n = s.capture_counts[c];
            for (int k = 0; k < 3; ++k) sum[k] += n[k];
            out += fmt("%-16s %9llu %9llu %9llu %9llu\n", s.classes[c].c_str(), (unsigned long long)n[0],
                       (unsigned long long)n[1], (unsigned long long)n[2], (unsigned long long)(n[0] + n[1] + n[2]));
        }
        out += fmt("%-16s %9llu %9llu %9llu %9llu\n", "all", (unsigned long long)sum[0], (unsigned long long)sum[1],
                   (unsigned long long)sum[2], (unsigned long long)(sum[0] + sum[1] + sum[2]));
    }
    out += "\nprep      " + s.prep_json + "\n";
    return out;
}

std::string stats_json(const DatasetStats& s) {
    using nlohmann::json;
    auto pc = [](const PacketCountStats& p) {
        return json{{"min", p.min}, {"mean", p.mean()}, {"max", p.max}};
    };
    json j;
    j["path"] = s.path;
    j["file_bytes"] = s.file_bytes;
    j["packet_bytes"] = s.packet_bytes;
    j["windows"] = s.windows;
    j["vpn_windows"] = s.vpn_windows;
    j["packets"] = s.packets;
    j["captures"] = s.captures;
    j["splits"] = {{"train", s.split_totals[0]}, {"val", s.split_totals[1]}, {"test", s.split_totals[2]}};
    j["packets_per_window"] = pc(s.all);
    json classes = json::array();
    for (size_t c = 0; c < s.classes.size(); ++c) {
        const auto& n = s.counts[c];
        classes.push_back({{"index", c},
                           {"name", s.classes[c]},
                           {"windows", s.per_class[c].windows},
                           {"train", n[0]},
                           {"val", n[1]},
                           {"test", n[2]},
                           {"packets_per_window", pc(s.per_class[c])}});
        if (s.few_shot.enabled()) {
            const auto& k = s.capture_counts[c];
            classes.back()["captures"] = {{"train", k[0]}, {"val", k[1]}, {"test", k[2]}};
        }
    }
    if (s.few_shot.enabled())
        j["split_rule"] = {{"rule", "few-shot"},
                           {"per_class", s.few_shot.per_class},
                           {"val_fraction", s.few_shot.val_fraction},
                           {"index", s.few_shot.index},
                           {"seed", s.seed}};
    j["classes"] = classes;
    j["prep"] = json::parse(s.prep_json);
    return j.dump(2);
}

}  // namespace flowpic
