// The binning flags shared by flowpic-prep, flowpic-render and flowpic-train:
// --resolution N, --normalize span|fixed, --values count|binary, --direction none|grey|channels,
// --max-count N, --bin-arith flowpic|tcbench, --time-axis S.
#pragma once
#include <CLI/CLI.hpp>
#include <cmath>
#include <string>

#include "kernels/cpu/binning.h"

namespace flowpic {

struct BinningFlags {
    int resolution = 1500;
    std::string normalize = "span", values = "count", direction = "none", arith = "flowpic";
    uint32_t max_count = 0;
    double time_axis_s = 0;

    void add_to(CLI::App& app) {
        app.add_option("--resolution", resolution, "image side N (1..1500; the authors: 1500)")
            ->default_val(resolution)->group("Binning");
        app.add_option("--normalize", normalize,
                       "time axis: span (first..last packet, the authors) or fixed (window start..end)")
            ->default_val(normalize)->group("Binning");
        app.add_option("--values", values, "count (packets per pixel, the authors) or binary (1 where any fell, the seed)")
            ->default_val(values)->group("Binning");
        app.add_option("--direction", direction,
                       "none, grey (the seed: 200 client->server, 50 server->client only) or channels (one per direction)")
            ->default_val(direction)->group("Binning");
        app.add_option("--max-count", max_count, "cap the packets counted per pixel (tcbench: 255, uint8 images); 0 = no cap")
            ->default_val(max_count)->check(CLI::Range(0, 65535))->group("Binning");
        app.add_option("--bin-arith", arith,
                       "flowpic (size*N/1500, time in us: the FlowPic authors' code) or tcbench (size/1500*N, time in s: "
                       "tcbench's); the same bins but for values on a bin edge, e.g. at N = 1500")
            ->default_val(arith)->group("Binning");
        app.add_option("--time-axis", time_axis_s,
                       "seconds S: with --normalize fixed, the time axis is [0, S) and packets at t >= S are left out, "
                       "e.g. 15 on windows of prep --first 30, so augmentations pull later packets in; 0 = the window length")
            ->default_val(time_axis_s)->check(CLI::Range(0.0, 4294.0))->group("Binning");
    }
    // UsageError naming the flag for a bad value.
    BinningOptions options() const {
        BinningOptions o;
        o.resolution = resolution;
        o.normalize = parse_normalize(normalize);
        o.values = parse_values(values);
        o.direction = parse_direction(direction);
        o.max_count = max_count;
        o.arith = parse_arith(arith);
        o.axis_us = uint32_t(std::llround(time_axis_s * 1e6));
        validate(o);
        return o;
    }
};

}  // namespace flowpic
