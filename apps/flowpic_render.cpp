// flowpic-render: FlowPics as PNGs for people and .npy arrays for numpy users, from a
// dataset file or straight from captures.
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "apps/binning_flags.h"
#include "apps/cli.h"
#include "apps/window_flags.h"
#include "core/atomic_file.h"
#include "core/fs.h"
#include "core/progress.h"
#include "flowpic/dataset_file.h"
#include "flowpic/feature_file.h"
#include "flowpic/labels.h"
#include "flowpic/npy.h"
#include "flowpic/png_image.h"
#include "flowpic/prep.h"
#include "pcap/capture_reader.h"

using namespace flowpic;

namespace {

const char* kDescription =
    "flowpic-render: bin windows into FlowPics and write them as PNG pictures (--png DIR),\n"
    "one .npy per window (--npy DIR, shape C x N x N), or the whole set as arrays for\n"
    "training elsewhere (--npy-dataset DIR: X.npy N x C x H x W, y.npy int64 class\n"
    "indices, split.npy uint8 0 train / 1 val / 2 test, classes.txt), or per-window\n"
    "statistics for classical classifiers (--features OUT.csv|OUT.npy; docs/FEATURES.md:\n"
    "counts, sizes, gaps, first packets; never addresses, ports or names).  Input: a dataset\n"
    "file from flowpic-prep, or captures (windowed with the --window... flags; class\n"
    "'capture', split train).\n";

const char* kFooter =
    "\nExamples:\n"
    "  flowpic-render data.fpd --png out/png --limit 3 --resolution 64     # 3 per class\n"
    "  flowpic-render data.fpd --npy-dataset out/np --resolution 32 --values binary\n"
    "  flowpic-render call.pcap --png out/call --window 30 --direction channels\n"
    "  flowpic-render GoogleDoc-1.txt --png out/doc --flows bi --window 15   # a UCDavis time series\n"
    "  flowpic-render s0.fpd --features s0.csv      # one row per window: split,label,class,features\n"
    "  flowpic-render s0.fpd --features s0.npy --features-first 20   # float32 + s0.columns.json\n"
    "\nFile names: <class>_<capture>-c<capture index>_f<flow>_<view>_w<window>.png|.npy.  PNGs: white\n"
    "background, darker = more packets (log scale), time left to right, size bottom to top;\n"
    "with --direction channels, red = client->server, blue = server->client.\n"
    "\nExit codes: 0 success, 1 bad input (one line on stderr naming the file), 2 usage error.\n";

struct Item {
    std::string cls, capture;
    uint32_t capture_index;  // keeps names unique when two captures share a base name
    uint8_t split;
    uint32_t label;
    uint64_t flow_id;
    DirView view;
    uint32_t index;
    PacketListView packets;
};

std::string file_stem(const Item& it) {
    std::string cap = capture_stem(it.capture);
    for (char& c : cap)
        if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
    return it.cls + "_" + cap + "-c" + std::to_string(it.capture_index) + "_f" + std::to_string(it.flow_id) + "_" + dir_view_name(it.view) + "_w" +
           std::to_string(it.index);
}

class Renderer {
public:
    Renderer(const BinningOptions& b, std::string png_dir, std::string npy_dir, std::string npy_dataset, NpyDtype dtype,
             int png_scale, OutputBatch& written)
        : written_(written), b_(b), png_dir_(std::move(png_dir)), npy_dir_(std::move(npy_dir)), ds_dir_(std::move(npy_dataset)),
          dtype_(dtype), image_(image_size(b)) {
        png_.scale = png_scale;
        for (const auto* d : {&png_dir_, &npy_dir_, &ds_dir_})
            if (!d->empty()) make_dirs(*d);
        if (!ds_dir_.empty()) {
            NpyShape item{uint64_t(channels(b)), uint64_t(b.resolution), uint64_t(b.resolution)};
            x_ = std::make_unique<NpyStreamWriter>(ds_dir_ + "/X.npy", dtype_, item);
        }
    }

    void render(const Item& it) {
        bin_dense_ref(&it.packets, 1, b_, image_.data());
        const int c = channels(b_), n = b_.resolution;
        if (!png_dir_.empty()) {
            std::string path = png_dir_ + "/" + file_stem(it) + ".png";
            write_flowpic_png(path, image_.data(), c, n, png_);
            written_.add(path);
        }
        if (!npy_dir_.empty() || x_) {
            convert();
            NpyShape shape{uint64_t(c), uint64_t(n), uint64_t(n)};
            if (!npy_dir_.empty()) {
                std::string path = npy_dir_ + "/" + file_stem(it) + ".npy";
                write_npy(path, dtype_, shape, raw_.data());
                written_.add(path);
            }
            if (x_) x_->append_raw(raw_.data(), 1);
        }
        y_.push_back(int64_t(it.label));
        split_.push_back(it.split);
        ++count_;
    }

    void finish(const std::vector<std::string>& classes) {
        if (!x_) return;
        x_->finish();
        written_.add(ds_dir_ + "/X.npy");
        write_npy(ds_dir_ + "/y.npy", NpyShape{uint64_t(y_.size())}, y_.data());
        written_.add(ds_dir_ + "/y.npy");
        write_npy(ds_dir_ + "/split.npy", NpyShape{uint64_t(split_.size())}, split_.data());
        written_.add(ds_dir_ + "/split.npy");
        std::string names;
        for (const auto& n : classes) names += n + "\n";
        write_file_atomic(ds_dir_ + "/classes.txt", names.data(), names.size());
        written_.add(ds_dir_ + "/classes.txt");
    }
    size_t count() const { return count_; }

private:
    // The float image as the export dtype (counts saturate).
    void convert() {
        const size_t k = image_.size();
        raw_.resize(k * npy_itemsize(dtype_));
        for (size_t i = 0; i < k; ++i) {
            float v = image_[i];
            switch (dtype_) {
                case NpyDtype::u8: raw_[i] = uint8_t(v > 255.f ? 255.f : v); break;
                case NpyDtype::u16: { uint16_t u = uint16_t(v > 65535.f ? 65535.f : v); std::memcpy(&raw_[2 * i], &u, 2); break; }
                case NpyDtype::f32: std::memcpy(&raw_[4 * i], &v, 4); break;
                case NpyDtype::i64: { int64_t u = int64_t(v); std::memcpy(&raw_[8 * i], &u, 8); break; }
            }
        }
    }

    OutputBatch& written_;
    BinningOptions b_;
    std::string png_dir_, npy_dir_, ds_dir_;
    NpyDtype dtype_;
    PngOptions png_;
    std::vector<float> image_;
    std::vector<uint8_t> raw_;
    std::unique_ptr<NpyStreamWriter> x_;
    std::vector<int64_t> y_;
    std::vector<uint8_t> split_;
    size_t count_ = 0;
};

NpyDtype pick_dtype(const std::string& s, const BinningOptions& b) {
    if (s == "auto") return b.values == ValueMode::binary || b.direction == Direction::grey ? NpyDtype::u8 : NpyDtype::u16;
    if (s == "u8" || s == "uint8") return NpyDtype::u8;
    if (s == "u16" || s == "uint16") return NpyDtype::u16;
    if (s == "f32" || s == "float32") return NpyDtype::f32;
    throw UsageError("--npy-dtype: invalid value '" + s + "' (expected auto, u8, u16 or f32)");
}

// A dataset file by its name or its magic: a damaged .fpd then gets the dataset
// reader's error, not "not a capture".
bool is_dataset_file(const std::string& path) {
    if (path.size() > 4 && path.compare(path.size() - 4, 4, ".fpd") == 0) return true;
    std::ifstream f(path, std::ios::binary);
    char magic[7] = {};
    f.read(magic, 7);
    return f.gcount() == 7 && std::string(magic, 7) == "FLOWPIC";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app(kDescription, "flowpic-render");
    app.footer(kFooter);
    std::vector<std::string> inputs;
    std::string png_dir, npy_dir, npy_dataset, features_path, dtype_name = "auto", split_name_filter = "all";
    FeatureOptions feature_opts;
    size_t limit = 0;
    int scale = 0;
    bool quiet = false, json = false;
    BinningFlags binning;
    WindowFlags wf;
    app.add_option("inputs", inputs, "a dataset file, or capture files/directories")->required();
    app.add_option("--png", png_dir, "write one PNG per window into DIR");
    app.add_option("--npy", npy_dir, "write one .npy (C x N x N) per window into DIR");
    app.add_option("--npy-dataset", npy_dataset, "write X.npy, y.npy, split.npy, classes.txt into DIR");
    app.add_option("--features", features_path,
                   "write per-window statistics (docs/FEATURES.md) to OUT.csv, or OUT.npy (float32) + OUT.columns.json");
    auto* first_k = app.add_option("--features-first", feature_opts.first_k,
                                   "first packets whose size and direction are columns (0 .. 1000)")
                        ->default_val(feature_opts.first_k)->check(number_in(0, kMaxFeatureFirstK));
    app.add_option("--npy-dtype", dtype_name, "auto (u8 for binary/grey, else u16), u8, u16 or f32")->default_val(dtype_name);
    app.add_option("--limit", limit, "at most N windows per class (0 = all)")->default_val(0)->check(non_negative());
    app.add_option("--split", split_name_filter, "only windows of this split: train, val, test or all")
        ->default_val(split_name_filter);
    app.add_option("--scale", scale, "PNG pixels per bin (0 = automatic, pictures up to 512 px; at most 64)")
        ->default_val(0)->check(number_in(0, 64));
    binning.add_to(app);
    wf.add_to(app);
    app.add_flag("--json", json, "print a summary as JSON on stdout");
    app.add_flag("-q,--quiet", quiet, "no progress on stderr");

    return run_cli(app, argc, argv, [&]() {
        const bool images = !png_dir.empty() || !npy_dir.empty() || !npy_dataset.empty();
        if (!images && features_path.empty())
            throw UsageError("nothing to write: give --png, --npy, --npy-dataset or --features");
        if (first_k->count() && features_path.empty()) throw UsageError("--features-first needs --features");
        if (!features_path.empty()) feature_format_of(features_path);  // the name says the format
        BinningOptions b = binning.options();
        feature_opts.axis_us = b.axis_us;  // the packets the FlowPic would bin
        NpyDtype dtype = pick_dtype(dtype_name, b);
        int split_filter = split_name_filter == "all" ? -1
                           : split_name_filter == "train" ? kSplitTrain
                           : split_name_filter == "val"   ? kSplitVal
                           : split_name_filter == "test"  ? kSplitTest
                           : throw UsageError("--split: invalid value '" + split_name_filter + "' (expected train, val, test or all)");
        // The input is opened before any output directory is created: a bad input leaves nothing.
        std::unique_ptr<DatasetReader> ds;
        if (inputs.size() == 1 && is_dataset_file(inputs[0])) {
            ds = std::make_unique<DatasetReader>(inputs[0]);
            std::vector<std::string> flags = prep_flag_names();
            flags.push_back("--keep-going");
            flags.push_back("--format");
            for (const auto& name : flags)
                if (app.count(name))
                    throw UsageError(name + " cuts windows from captures, but " + inputs[0] +
                                     " is a dataset whose windows are already cut: leave it out");
        }
        std::vector<std::string> captures;
        if (!ds) {
            wf.finalize();
            captures = expand_capture_inputs(inputs, wf.extract.format);
        }
        if (!features_path.empty())
            check_outputs(ds ? inputs : captures,
                          {{"--features", features_path}, {"--features (sidecar)", feature_sidecar_path(features_path)}});
        if (scale > 0 && scale * b.resolution > 16384)
            throw UsageError("--scale " + std::to_string(scale) + " at resolution " + std::to_string(b.resolution) +
                             " makes PNGs wider than 16384 pixels");
        OutputBatch written;  // a run that fails midway takes its files back
        return written.guard([&] {
            std::vector<std::string> classes = ds ? ds->classes() : std::vector<std::string>{"capture"};
            std::unique_ptr<Renderer> r;
            if (images) r = std::make_unique<Renderer>(b, png_dir, npy_dir, npy_dataset, dtype, scale, written);
            std::unique_ptr<FeatureFileWriter> features;
            if (!features_path.empty()) features = std::make_unique<FeatureFileWriter>(features_path, feature_opts, classes);
            size_t count = 0;
            auto emit = [&](const Item& it) {
                if (r) r->render(it);
                if (features) features->add(it.packets, it.label, it.split);
                ++count;
            };
            std::map<uint32_t, size_t> per_class;
            auto wanted = [&](uint32_t label, uint8_t split) {
                if (split_filter >= 0 && split != split_filter) return false;
                return limit == 0 || per_class[label]++ < limit;
            };
            if (ds) {
                Progress progress(r ? "rendering" : "features", ds->window_count(), "windows", !quiet);
                for (size_t i = 0; i < ds->window_count(); ++i) {
                    DatasetWindow w = ds->window(i);
                    if (!wanted(w.label, w.split)) continue;
                    emit(Item{classes[w.label], ds->captures()[w.prov.capture], w.prov.capture, w.split, w.label, w.prov.flow_id,
                                  w.prov.view, w.prov.index, w.packets});
                    if ((i & 63) == 0) progress.update(i);
                }
                progress.finish(ds->window_count());
            } else {
                wf.extract.progress = !quiet;
                ExtractStats st;
                std::map<std::string, uint32_t> index_of;
                for (size_t i = 0; i < captures.size(); ++i) index_of.emplace(captures[i], uint32_t(i));
                window_captures(captures, wf.extract, wf.windows,
                                [&](const std::string& capture, Window&& w) {
                                    if (!wanted(0, kSplitTrain)) return;
                                    PacketListView v{w.packets.data(), uint32_t(w.packets.size()), w.length_us};
                                    emit(Item{"capture", capture, index_of.at(capture), kSplitTrain, 0, w.flow_id,
                                                  w.view, w.index, v});
                                },
                                st);
                for (const auto& warn : st.warnings) std::fprintf(stderr, "flowpic-render: %s\n", warn.c_str());
            }
            if (r) r->finish(classes);
            if (features) features->finish(written);
            if (count == 0) std::fprintf(stderr, "flowpic-render: warning: no window to render\n");
            if (!quiet && r) std::fprintf(stderr, "rendered %zu windows (%s)\n", count, format_options(b).c_str());
            if (!quiet && features)
                std::fprintf(stderr, "features of %zu windows (%zu columns each) in %s\n", count, features->columns(),
                             features_path.c_str());
            if (json) {
                nlohmann::json summary{{"windows", count}, {"binning", nlohmann::json::parse(to_json(b))}, {"classes", classes}};
                if (features) summary["features"] = {{"path", features_path}, {"columns", features->columns()}, {"rows", features->rows()}};
                std::printf("%s\n", summary.dump().c_str());
            }
            written.commit();
            return 0;
        });
    });
}
