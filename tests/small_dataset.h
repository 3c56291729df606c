// A small dataset file in a temp dir for loader and trainer tests.
#pragma once
#include <string>

#include "flowpic/dataset_file.h"
#include "synth/random_windows.h"
#include "tests/util.h"

namespace flowpic {

// A small dataset: `windows` random windows of 15 s (two classes, alternating), the
// first `train` of them in the train split, the rest in validation.
struct SmallDataset {
    TempDir dir;
    std::string path;
    RandomWindows w;
    SmallDataset(size_t windows, size_t train, uint64_t seed, uint32_t max_packets = 400) {
        path = dir.path + "/d.fpd";
        RandomWindowOptions o;
        o.windows = windows;
        o.min_packets = 1;
        o.max_packets = max_packets;
        o.length_us = 15000000;
        o.seed = seed;
        w = random_windows(o);
        DatasetWriter wr(path);
        const uint32_t a = wr.add_class("a"), b = wr.add_class("b");
        for (size_t i = 0; i < windows; ++i) {
            Window win;
            win.length_us = w.length_us[i];
            win.packets = w.packets[i];
            size_t k = wr.add_window(win, i % 2 ? b : a, wr.add_capture("c" + std::to_string(i)), false);
            wr.set_split(k, i < train ? kSplitTrain : kSplitVal);
        }
        wr.finish();
    }
};

}  // namespace flowpic
