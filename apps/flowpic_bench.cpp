// flowpic-bench: micro-benchmarks, one subcommand per mode.  Each mode is a BenchMode
// (apps/bench_mode.h) in apps/bench_<mode>.h (its flags) with its body in
// apps/bench_<mode>.cpp; add a mode by writing the pair and listing it below.
#include "apps/bench_augment.h"
#include "apps/bench_binning.h"
#include "apps/bench_nn.h"
#include "apps/bench_pipeline.h"
#include "apps/cli.h"

#include <memory>
#include <vector>

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
    std::vector<std::unique_ptr<BenchMode>> modes;
    modes.push_back(std::make_unique<BinningBench>());
    modes.push_back(std::make_unique<NnBench>());
    modes.push_back(std::make_unique<PipelineBench>());
    modes.push_back(std::make_unique<AugmentBench>());
    for (auto& m : modes) m->add_to(app);

    return run_cli(app, argc, argv, [&] {
        for (auto& m : modes)
            if (m->selected()) return m->run();
        throw UsageError("no mode given");
    });
}
