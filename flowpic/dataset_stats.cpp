#include "flowpic/dataset_stats.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <nlohmann/json.hpp>

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
    for (size_t i = 0; i < ds.window_count(); ++i) {
        DatasetWindow w = ds.window(i);  // only the record is read, not the packets
        s.counts[w.label][w.split]++;
        s.split_totals[w.split]++;
        s.per_class[w.label].add(w.packets.count);
        s.all.add(w.packets.count);
        s.vpn_windows += w.vpn;
    }
    return s;
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
    }
    j["classes"] = classes;
    j["prep"] = json::parse(s.prep_json);
    return j.dump(2);
}

}  // namespace flowpic
