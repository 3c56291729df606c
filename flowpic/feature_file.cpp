#include "flowpic/feature_file.h"

#include <charconv>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/error.h"
#include "flowpic/dataset_file.h"
#include "flowpic/split.h"

namespace flowpic {

namespace {

bool ends_with_nocase(const std::string& s, const std::string& tail) {
    if (s.size() < tail.size()) return false;
    for (size_t i = 0; i < tail.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[s.size() - tail.size() + i])) != tail[i]) return false;
    return true;
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) {
        if (c == '"') q += '"';
        q += c;
    }
    return q + "\"";
}

}  // namespace

FeatureFormat feature_format_of(const std::string& path) {
    if (ends_with_nocase(path, ".csv")) return FeatureFormat::kCsv;
    if (ends_with_nocase(path, ".npy")) return FeatureFormat::kNpy;
    throw UsageError("--features: '" + path + "' must end in .csv or .npy (the format is chosen by the name)");
}

std::string feature_sidecar_path(const std::string& path) {
    if (feature_format_of(path) != FeatureFormat::kNpy) return "";
    return path.substr(0, path.size() - 4) + ".columns.json";
}

FeatureFileWriter::FeatureFileWriter(const std::string& path, const FeatureOptions& o, std::vector<std::string> classes)
    : path_(path), format_(feature_format_of(path)), opts_(o), classes_(std::move(classes)), names_(feature_columns(o)) {
    if (o.first_k > kMaxFeatureFirstK)
        throw UsageError("--features-first: must be at most " + std::to_string(kMaxFeatureFirstK));
    row_.resize(names_.size());
    if (format_ == FeatureFormat::kCsv) {
        csv_file_ = std::make_unique<AtomicFile>(path);
        csv_ = std::make_unique<TextWriter>(csv_file_->get(), path);
        csv_->str("split,label,class");
        for (const auto& n : names_) csv_->ch(',').str(n);
        csv_->ch('\n');
    } else {
        row32_.resize(names_.size());
        npy_ = std::make_unique<NpyStreamWriter>(path, NpyDtype::f32, NpyShape{uint64_t(names_.size())});
    }
}

FeatureFileWriter::~FeatureFileWriter() = default;

void FeatureFileWriter::add(const PacketListView& w, uint32_t label, uint8_t split) {
    if (label >= classes_.size()) throw std::logic_error("feature row with label " + std::to_string(label) + " past the classes");
    window_features(w, opts_, row_.data());
    if (csv_) {
        csv_->str(split_name(split)).ch(',').u64(label).ch(',').str(csv_field(classes_[label]));
        char buf[32];
        for (double v : row_) {
            auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
            csv_->ch(',').str(buf, size_t(r.ptr - buf));
        }
        csv_->ch('\n');
    } else {
        for (size_t i = 0; i < row_.size(); ++i) row32_[i] = float(row_[i]);
        npy_->append(row32_.data(), 1);
        labels_.push_back(label);
        splits_.push_back(split);
    }
    ++rows_;
}

void FeatureFileWriter::finish(OutputBatch& written) {
    if (csv_) {
        csv_->flush();
        csv_file_->commit();
        written.add(path_);
        return;
    }
    npy_->finish();
    written.add(path_);
    nlohmann::json split_names = nlohmann::json::array();
    for (uint8_t s : splits_) split_names.push_back(split_name(s));
    const nlohmann::json side{{"format", "flowpic-features"}, {"version", 1},     {"columns", names_},
                              {"first_k", opts_.first_k},     {"classes", classes_}, {"rows", rows_},
                              {"label", labels_},             {"split", split_names}};
    const std::string text = side.dump() + "\n";
    const std::string side_path = feature_sidecar_path(path_);
    write_file_atomic(side_path, text.data(), text.size());
    written.add(side_path);
}

uint64_t write_dataset_features(const DatasetReader& ds, const std::string& path, const FeatureOptions& o) {
    OutputBatch written;
    FeatureFileWriter w(path, o, ds.classes());
    for (size_t i = 0; i < ds.window_count(); ++i) {
        const DatasetWindow win = ds.window(i);
        w.add(win.packets, win.label, win.split);
    }
    w.finish(written);
    written.commit();
    return w.rows();
}

}  // namespace flowpic
