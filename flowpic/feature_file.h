// The feature table of flowpic-render --features (docs/FEATURES.md): one row per window,
// the leading columns split, label, class, then flowpic/features.h's columns.
//  - OUT.csv: a header line, then one line per window; split as train/val/test, label
//    the class index, class the name (quoted as RFC 4180 when it holds a comma, quote or
//    line break), features as the shortest decimal that reads back as the same double.
//  - OUT.npy: a float32 matrix rows x features (features only), and beside it the sidecar
//    OUT.columns.json: {"format": "flowpic-features", "version": 1, "columns": [...],
//    "first_k", "classes": [...], "rows", "label": [int per row], "split": ["train"|"val"|
//    "test" per row]}.  A value above 2^24 (bytes of a long window) loses its last digits
//    in float32; the CSV keeps them.
// Both appear whole or not at all (core/atomic_file.h); finish() adds them to the
// caller's OutputBatch, which takes them back if a later step fails.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/text_writer.h"
#include "flowpic/features.h"
#include "flowpic/npy.h"

namespace flowpic {

enum class FeatureFormat : uint8_t { kCsv, kNpy };

// By the name's ending (.csv or .npy, any case); UsageError naming the flag otherwise.
FeatureFormat feature_format_of(const std::string& path);
// OUT.npy -> OUT.columns.json (the .npy sidecar); empty for a CSV.
std::string feature_sidecar_path(const std::string& path);

class DatasetReader;

class FeatureFileWriter {
public:
    FeatureFileWriter(const std::string& path, const FeatureOptions& o, std::vector<std::string> classes);
    ~FeatureFileWriter();
    FeatureFileWriter(const FeatureFileWriter&) = delete;
    FeatureFileWriter& operator=(const FeatureFileWriter&) = delete;

    void add(const PacketListView& w, uint32_t label, uint8_t split);
    uint64_t rows() const { return rows_; }
    size_t columns() const { return names_.size(); }  // features only
    // Completes the file(s), adding each to `written` as it is complete.
    void finish(OutputBatch& written);

private:
    std::string path_;
    FeatureFormat format_;
    FeatureOptions opts_;
    std::vector<std::string> classes_, names_;
    std::vector<double> row_;
    std::vector<float> row32_;
    std::unique_ptr<AtomicFile> csv_file_;
    std::unique_ptr<TextWriter> csv_;
    std::unique_ptr<NpyStreamWriter> npy_;
    std::vector<uint32_t> labels_;
    std::vector<uint8_t> splits_;
    uint64_t rows_ = 0;
};

// The table of every window of a dataset, written whole to `path` (and sidecar) or not at
// all; returns the rows.  flowpic-sweep's classical rows use it.
uint64_t write_dataset_features(const DatasetReader& ds, const std::string& path, const FeatureOptions& o);

}  // namespace flowpic
