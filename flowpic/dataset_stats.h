// What `flowpic-prep --stats DATASET` prints: per-class and per-split window counts,
// packets per window (min / mean / max), bytes on disk, as text or JSON.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "flowpic/dataset_file.h"

namespace flowpic {

struct PacketCountStats {
    uint64_t windows = 0, packets = 0;
    uint64_t min = 0, max = 0;
    double mean() const { return windows ? double(packets) / double(windows) : 0.0; }
    void add(uint64_t n);
};

struct DatasetStats {
    std::string path;
    uint64_t file_bytes = 0;
    uint64_t packet_bytes = 0;  // the packet records alone (8 bytes each)
    uint64_t windows = 0, packets = 0, vpn_windows = 0;
    size_t captures = 0;
    std::vector<std::string> classes;
    std::vector<std::array<uint64_t, 3>> counts;  // [class][split]
    std::array<uint64_t, 3> split_totals{};
    std::vector<PacketCountStats> per_class;      // packets per window, by class
    PacketCountStats all;
    std::string prep_json;  // the preparation settings stored in the file
    // The few-shot rule (tcbench: --split-per-class) when the file was split by it; then
    // also captures per [class][split] (a capture with windows of two classes counts in both).
    FewShotRule few_shot;
    uint64_t seed = 0;
    std::vector<std::array<uint64_t, 3>> capture_counts;
};

DatasetStats compute_stats(const DatasetReader& ds);
std::string stats_text(const DatasetStats& s);  // a table for people
std::string stats_json(const DatasetStats& s);  // one JSON object (pretty, 2-space indent)

// The split manifest (flowpic-prep --stats DATA --captures; docs/FORMATS.md): TSV with the
// header `capture<TAB>class<TAB>split<TAB>windows`, then one line per capture in dataset
// order -- one per (capture, class), in class order, for a capture whose flows have several
// classes (per-flow labels), every line with the capture's one split.  InputError "path:
// ..." when a capture has windows in two splits (no file flowpic-prep writes has one) or
// a name that TSV cannot carry (a tab or line break).
std::string captures_manifest(const DatasetReader& ds);

}  // namespace flowpic
