#include "apps/bench_binning.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "apps/bench_timing.h"
#include "core/atomic_file.h"
#include "core/output_paths.h"
#include "core/error.h"
#include "kernels/cpu/binning.h"
#include "kernels/cpu/binning_avx2.h"

namespace flowpic {
namespace {

// A window like real traffic: ~45% ACK-sized packets (52-66 B), ~40% full segments
// (1400-1500 B, half of them exactly 1500), the rest anywhere between; times uniform
// over the window, the first packet at 0 and the last at its end, so span and fixed
// normalisation see the same axis.  Deterministic for a seed (std::mt19937_64 and our
// own arithmetic, no implementation-defined distributions).
std::vector<WindowPacket> bench_window(uint64_t seed, uint32_t packets, uint32_t length_us) {
    std::mt19937_64 rng(seed);
    std::vector<WindowPacket> w(packets);
    for (uint32_t i = 0; i < packets; ++i) {
        const uint64_t r = rng() % 100;
        uint16_t size;
        if (r < 45) size = uint16_t(52 + rng() % 15);
        else if (r < 65) size = 1500;
        else if (r < 85) size = uint16_t(1400 + rng() % 100);
        else size = uint16_t(67 + rng() % 1333);
        const uint32_t t = i == 0 ? 0 : i == 1 ? length_us : uint32_t(rng() % (uint64_t(length_us) + 1));
        w[i] = WindowPacket{t, size, uint8_t(size < 100 ? 1 : rng() % 4 == 0), 0};
    }
    std::sort(w.begin(), w.end(), [](const WindowPacket& a, const WindowPacket& b) { return a.t_us < b.t_us; });
    return w;
}

// The figures mean nothing if the fast output differs: checked on the whole batch.
void check_equal(const std::vector<PacketListView>& views, const BinningOptions& o, std::vector<float>& images) {
    SparseBatch a, b;
    bin_sparse_ref(views.data(), views.size(), o, a);
    SparseBatchBinner().bin(views.data(), views.size(), o, b);
    const bool same_sparse = a.offsets == b.offsets && a.pixels.size() == b.pixels.size() &&
                             std::memcmp(a.pixels.data(), b.pixels.data(), a.pixels.size() * sizeof(SparsePixel)) == 0;
    std::vector<float> one(image_size(o));
    bin_dense_ref(views.data(), 1, o, one.data());
    DenseBinner().bin(views.data(), 1, o, images.data());
    const bool same_dense = std::memcmp(one.data(), images.data(), one.size() * sizeof(float)) == 0;
    if (!same_sparse || !same_dense)
        throw std::logic_error("optimised binning differs from the reference at " + format_options(o));
}

int dump_window(const std::string& path, uint64_t seed, const std::vector<WindowPacket>& w, uint32_t length_us) {
    check_outputs({}, {{"--dump-window", path}});
    AtomicFile f(path);
    std::fprintf(f.get(), "# flowpic-bench window: seed %llu packets %zu length_us %u\n# t_us size dir\n",
                 (unsigned long long)seed, w.size(), length_us);
    for (const auto& p : w) std::fprintf(f.get(), "%u %u %d\n", unsigned(p.t_us), unsigned(p.size), int(p.dir));
    f.commit();
    return 0;
}

void print_table(const nlohmann::json& rows, FILE* out) {
    std::fprintf(out, "%-18s %6s %6s %14s %14s\n", "method", "N", "batch", "us/window", "windows/s");
    for (const auto& r : rows)
        std::fprintf(out, "%-18s %6d %6zu %14.2f %14.0f\n", r["method"].get<std::string>().c_str(),
                     r["resolution"].get<int>(), r["batch"].get<size_t>(), 1e6 * r["s_per_window"].get<double>(),
                     r["windows_per_s"].get<double>());
}

}  // namespace

void BinningBench::add_to(CLI::App& app) {
    cmd_ = app.add_subcommand("binning", "time the reference and optimised CPU binning (sparse, dense)");
    cmd_->footer(
        "\nEach figure is the median of many runs after a warm-up.  Batch 1 bins one window\n"
        "(per-call scratch kept, as a loader would); the batch form bins --batch different\n"
        "windows in parallel (OpenMP; OMP_NUM_THREADS sets the threads).  Before timing,\n"
        "the optimised output is checked equal to the reference's.\n"
        "\nExamples:\n"
        "  flowpic-bench binning                             # 3,000 packets, 60 s, 1500^2 and 64^2\n"
        "  flowpic-bench binning --resolutions 1500,300,32 --batch 256 --json\n"
        "  flowpic-bench binning --dump-window w.txt         # the window, for bench/binning_numpy.py\n");
    cmd_->add_option("--packets", packets_, "packets per window")->default_val(packets_)->check(CLI::Range(1, 1000000));
    cmd_->add_option("--window-seconds", seconds_, "window length")->default_val(seconds_)->check(CLI::Range(1, 3600));
    cmd_->add_option("--seed", seed_, "seed of the random windows")->default_val(seed_);
    cmd_->add_option("--batch", batch_, "windows in the batch rows")->default_val(batch_)->check(CLI::Range(2, 4096));
    cmd_->add_option("--resolutions", resolutions_, "image sides N")->delimiter(',')->default_str("1500,64");
    cmd_->add_option("--min-time", min_time_, "seconds of runs per figure, at least")->default_val(min_time_)->check(positive(3600));
    cmd_->add_option("--dump-window", dump_, "write the batch-1 window as text (t_us size dir per line) and exit");
    cmd_->add_flag("--json", json_, "print one JSON object on stdout (the table goes to stderr)");
}

int BinningBench::run() {
    const uint32_t length_us = seconds_ * 1000000u;
    if (!dump_.empty()) return dump_window(dump_, seed_, bench_window(seed_, packets_, length_us), length_us);
    for (int n : resolutions_) validate(BinningOptions{n, Normalize::span, ValueMode::count, Direction::none});

    std::vector<std::vector<WindowPacket>> store;
    std::vector<PacketListView> views;
    for (size_t b = 0; b < batch_; ++b) store.push_back(bench_window(seed_ + b, packets_, length_us));
    for (auto& w : store) views.push_back(PacketListView{w.data(), uint32_t(w.size()), length_us});

    const TimingPlan sparse_plan{min_time_, 5}, dense_plan{min_time_, 3};
    nlohmann::json rows = nlohmann::json::array();
    std::vector<SparsePixel> pixels;
    SparseBatch sparse_batch;
    SparseBinner sparse;
    SparseBatchBinner sparse_batcher;
    DenseBinner dense;
    std::vector<float> images;
    for (int n : resolutions_) {
        const BinningOptions o{n, Normalize::span, ValueMode::count, Direction::none};
        images.resize(image_size(o) * batch_);
        check_equal(views, o, images);
        for (size_t batch : {size_t(1), batch_}) {
            const PacketListView* w = views.data();
            auto add = [&](const char* method, const Timing& t) {
                rows.push_back({{"method", method}, {"resolution", n}, {"batch", batch},
                                {"runs", t.runs}, {"s_per_call", t.median_s},
                                {"s_per_window", t.median_s / double(batch)},
                                {"windows_per_s", double(batch) / t.median_s}});
                std::fprintf(stderr, "bench binning: %-17s N=%-4d batch %-4zu %10.2f us/window\n", method,
                             n, batch, 1e6 * t.median_s / double(batch));
            };
            if (batch == 1) {
                add("reference sparse", time_median([&] { pixels.clear(); bin_sparse_ref(*w, o, pixels); }, sparse_plan));
                add("fast sparse", time_median([&] { pixels.clear(); sparse.bin(*w, o, pixels); }, sparse_plan));
            } else {
                add("reference sparse", time_median([&] { bin_sparse_ref(w, batch, o, sparse_batch); }, sparse_plan));
                add("fast sparse", time_median([&] { sparse_batcher.bin(w, batch, o, sparse_batch); }, sparse_plan));
            }
            add("reference dense", time_median([&] { bin_dense_ref(w, batch, o, images.data()); }, dense_plan));
            add("fast dense", time_median([&] { dense.bin(w, batch, o, images.data()); }, dense_plan));
        }
    }
    const nlohmann::json result = {{"mode", "binning"}, {"packets", packets_}, {"window_s", seconds_},
                                   {"seed", seed_}, {"threads", omp_get_max_threads()},
                                   {"options", "normalize=span values=count direction=none"}, {"results", rows}};
    if (json_) std::printf("%s\n", result.dump().c_str());
    print_table(rows, json_ ? stderr : stdout);
    return 0;
}

}  // namespace flowpic
