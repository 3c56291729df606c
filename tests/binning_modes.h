// Every combination of the binning modes at one resolution, for the binning suites.
#pragma once
#include <vector>

#include "kernels/cpu/binning.h"

namespace flowpic {

inline std::vector<BinningOptions> all_binning_modes(int n) {
    std::vector<BinningOptions> out;
    for (auto norm : {Normalize::span, Normalize::fixed})
        for (auto values : {ValueMode::count, ValueMode::binary})
            for (auto dir : {Direction::none, Direction::grey, Direction::channels})
                out.push_back(BinningOptions{n, norm, values, dir});
    return out;
}

}  // namespace flowpic
