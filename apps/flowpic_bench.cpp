// flowpic-bench: micro-benchmarks, one subcommand per mode.  Each mode is a class in
// apps/bench_<mode>.h (its flags, add_to(app), selected(), run()) with its body in
// apps/bench_<mode>.cpp; add a mode by writing the pair and registering it below.
#include "apps/bench_augment.h"
#include "apps/bench_binning.h"
#include "apps/bench_nn.h"
#include "apps/bench_pipeline.h"
#include "apps/cli.h"

using namespace flowpic;

int main(int argc, char** argv) {
    CLI::App app(
        "flowpic-bench: micro-benchmarks of flowpic's kernels on this machine.  Figures are\n"
        "medians of many runs; compare ratios measured in one run (bench/run.sh does, next to\n"
        "the numpy, dpkt and scapy baselines), not absolute numbers across machines.",
        "flowpic-bench");
    app.footer(
        "\nExamples:\n"
        "  flowpic-bench binning                         # sparse and dense, 1500^2 and 64^2\n"
        "  flowpic-bench binning --json --min-time 1\n"
        "  flowpic-bench binning --help\n"
        "  flowpic-bench nn --arch flowpic --resolution 1500 --batch 32 --mode train\n"
        "  flowpic-bench nn --help\n"
        "  flowpic-bench pipeline --device cuda              # packets -> class on the GPU\n"
        "  flowpic-bench augment                             # 500 windows x 10 augmented copies, 32x32\n"
        "\nExit codes: 0 success, 1 an output cannot be written, 2 usage error, 3 internal\n"
        "error (e.g. an optimised kernel disagreeing with the reference).\n");
    app.require_subcommand(1);
    BinningBench binning;
    binning.add_to(app);
    NnBench nn;
    nn.add_to(app);
    PipelineBench pipeline;
    pipeline.add_to(app);
    AugmentBench augment;
    augment.add_to(app);

    return run_cli(app, argc, argv, [&] {
        if (binning.selected()) return binning.run();
        if (nn.selected()) return nn.run();
        if (pipeline.selected()) return pipeline.run();
        if (augment.selected()) return augment.run();
        throw UsageError("no mode given");
    });
}
