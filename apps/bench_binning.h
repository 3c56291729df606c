// flowpic-bench binning: the reference and the optimised CPU binning (sparse and dense)
// of random 3,000-packet windows, at the resolutions and batch sizes asked for.  The
// numpy baseline (bench/binning_numpy.py) bins the same window, written by --dump-window.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "apps/bench_mode.h"

namespace flowpic {

class BinningBench : public BenchMode {
public:
    void add_to(CLI::App& app) override;
    int run() override;

private:
    uint32_t packets_ = 3000, seconds_ = 60;
    uint64_t seed_ = 1;
    size_t batch_ = 128;
    std::vector<int> resolutions_ = {1500, 64};
    double min_time_ = 0.5;
    std::string dump_;
    bool json_ = false;
};

}  // namespace flowpic
