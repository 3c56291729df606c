#include "apps/bench_augment.h"

#include <omp.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdlib.h>
#include <unistd.h>

#include "apps/bench_timing.h"
#include "core/error.h"
#include "flowpic/augment.h"
#include "flowpic/dataset_file.h"
#include "kernels/cpu/binning_avx2.h"
#include "nn/loader.h"
#include "synth/random_windows.h"

namespace flowpic {

namespace {

// A scratch directory for the drawn dataset, removed with its file.
struct ScratchDir {
    std::string path;
    ScratchDir() {
        const char* t = std::getenv("TMPDIR");
        std::string tmpl = std::string(t && *t ? t : "/tmp") + "/flowpic-bench-augment.XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (!mkdtemp(buf.data())) throw InputError(tmpl + ": cannot create a scratch directory");
        path = buf.data();
    }
    ~ScratchDir() {
        std::remove((path + "/bench.fpd").c_str());
        rmdir(path.c_str());
    }
};

// Windows of 15 s, packet counts uniform in [packets / 20, 2 * packets - packets / 20]
// (mean `packets`), two classes.
void write_windows(const std::string& path, size_t flows, uint32_t packets, uint64_t seed) {
    RandomWindowOptions o;
    o.windows = flows;
    o.min_packets = std::max<uint32_t>(1, packets / 20);
    o.max_packets = std::max(o.min_packets, 2 * packets - o.min_packets);
    o.length_us = 15000000;
    o.hot_share = 0.6;
    o.seed = seed;
    RandomWindows w = random_windows(o);
    DatasetWriter wr(path);
    const uint32_t a = wr.add_class("a"), b = wr.add_class("b");
    for (size_t i = 0; i < w.size(); ++i) {
        Window win;
        win.length_us = w.length_us[i];
        win.packets = std::move(w.packets[i]);
        wr.add_window(win, i % 2 ? b : a, wr.add_capture("w" + std::to_string(i)), false);
    }
    wr.finish();
}

}  // namespace

void AugmentBench::add_to(CLI::App& app) {
    cmd_ = app.add_subcommand("augment", "augmentation at loading + binning over a training set, as flowpic-train does it");
    cmd_->add_option("--data", data_, "dataset file: bench its train split (default: draw --flows windows)");
    cmd_->add_option("--flows", flows_, "windows to draw")->default_val(flows_)->check(CLI::Range(size_t(1), size_t(1000000)));
    cmd_->add_option("--packets", packets_, "mean packets per drawn window")
        ->default_val(packets_)->check(CLI::Range(1u, 100000u));
    cmd_->add_option("--copies", copies_, "samples per window, the original included")
        ->default_val(copies_)->check(CLI::Range(1, 1000));
    cmd_->add_option("--resolution", resolution_, "image side")->default_val(resolution_)->check(CLI::Range(1, 1500));
    cmd_->add_option("--batch", batch_, "samples per batch")->default_val(batch_)->check(CLI::Range(size_t(1), size_t(65536)));
    cmd_->add_option("--augment", augments_, "augmentations to time")->default_str("all");
    cmd_->add_option("--min-time", min_time_, "seconds to time each")->default_val(min_time_)->check(non_negative());
    cmd_->add_option("--seed", seed_, "seed of the windows and the draws")->default_val(seed_);
    cmd_->add_flag("--json", json_, "one JSON object per augmentation on stdout");
    cmd_->footer(
        "\nExamples:\n"
        "  flowpic-bench augment                                  # 500 drawn windows x 10 copies, 32x32\n"
        "  flowpic-bench augment --data ucdavis.fpd --augment changertt --resolution 64\n");
}

int AugmentBench::run() {
    std::unique_ptr<ScratchDir> scratch;
    std::string path = data_;
    if (path.empty()) {
        scratch = std::make_unique<ScratchDir>();
        path = scratch->path + "/bench.fpd";
        write_windows(path, flows_, packets_, seed_);
    }
    DatasetReader ds(path);
    BinningOptions b;
    b.resolution = resolution_;
    b.normalize = Normalize::fixed;
    b.max_count = 255;
    if (!json_)
        std::printf("%-12s %8s %8s %10s %12s %14s   (%d threads, %dx%d, batch %zu)\n", "augment", "windows", "samples",
                    "s/pass", "samples/s", "packets/s", omp_get_max_threads(), resolution_, resolution_, batch_);
    for (const std::string& name : augments_) {
        AugmentOptions a;
        a.kind = parse_augment(name);
        a.copies = a.kind == AugmentKind::none ? 1 : copies_;
        a.seed = seed_;
        DatasetLoader loader(ds, kSplitTrain, b, a);
        if (loader.size() == 0) throw input_error(path, "the train split is empty");
        loader.shuffle(seed_, 1);
        std::vector<float> images(batch_ * image_size(b));
        std::vector<int32_t> labels;
        DenseBinner binner;
        uint64_t packets = 0;
        // One pass: every sample of the set, as the trainer loads them (a packet batch is
        // binned on the host here, as cpu-* backends do).
        auto pass = [&] {
            packets = 0;
            for (size_t first = 0; first < loader.size(); first += batch_) {
                const size_t n = std::min(batch_, loader.size() - first);
                if (loader.image_input()) {
                    loader.images(first, n, labels, images.data());
                    for (size_t i = 0; i < n; ++i) packets += ds.window(loader.order()[first + i] / uint32_t(a.copies)).packets.count;
                } else {
                    const PacketListView* v = loader.views(first, n, labels);
                    binner.bin(v, n, b, images.data());
                    for (size_t i = 0; i < n; ++i) packets += v[i].count;
                }
            }
        };
        TimingPlan plan;
        plan.seconds = min_time_;
        plan.min_runs = 3;
        const Timing t = time_median(pass, plan);
        const double samples = double(loader.size());
        nlohmann::json j{{"augment", name},           {"windows", loader.window_count()}, {"samples", loader.size()},
                         {"resolution", resolution_}, {"s_per_pass", t.median_s},      {"samples_per_s", samples / t.median_s},
                         {"packets_per_s", double(packets) / t.median_s}, {"runs", t.runs}, {"threads", omp_get_max_threads()}};
        if (json_)
            std::printf("%s\n", j.dump().c_str());
        else
            std::printf("%-12s %8zu %8zu %10.4f %12.0f %14.3g\n", name.c_str(), loader.window_count(), loader.size(),
                        t.median_s, samples / t.median_s, double(packets) / t.median_s);
    }
    return 0;
}

}  // namespace flowpic
