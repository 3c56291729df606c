// flowpic-bench augment: augmentation at loading as flowpic-train runs it (DatasetLoader:
// per batch, the augmented packet lists or images, then the binning) over a training set
// of --flows windows x --copies samples, one line per augmentation: seconds per pass over
// the whole set, samples/s, packets/s.  The windows come from --data (its train split) or
// are drawn here (--packets per window on average, 15 s long) into a temporary dataset.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "apps/bench_mode.h"

namespace flowpic {

class AugmentBench : public BenchMode {
public:
    void add_to(CLI::App& app) override;
    int run() override;

private:
    std::string data_;
    size_t flows_ = 500, batch_ = 32;
    uint32_t packets_ = 3000;
    int copies_ = 10, resolution_ = 32;
    std::vector<std::string> augments_ = {"none", "changertt", "timeshift", "packetloss", "rotate", "hflip", "colorjitter"};
    double min_time_ = 1.0;
    uint64_t seed_ = 1;
    bool json_ = false;
};

}  // namespace flowpic
