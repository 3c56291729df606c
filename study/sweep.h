// flowpic-sweep's engine: every cell of a grid (study/grid.h) trained once per seed,
// evaluated on the test split and measured on the chosen backend, in this process
// (nn/trainer.h, nn/evaluate.h, flowpic/prep.h), with the results in one directory:
//   DIR/runs.jsonl      one JSON line per (cell, seed) run, written whole as it ends
//   DIR/cells.jsonl     one JSON line per cell (the seeds aggregated), written whole as it ends
//   DIR/results.csv     every cell of this grid, grid order (classical rows last)
//   DIR/results.md      the same as a markdown table sorted by accuracy
//   DIR/*.png           plots (bench/sweep_plot.py with matplotlib), when available
//   DIR/prep/KEY.fpd    the datasets prepared from --inputs, one per distinct prep setting
//   DIR/models/KEY.safetensors  every run's best model
// Lines are appended through core/line_log.h (the file rewritten atomically per line), so a
// kill at any point leaves whole lines only.  Resuming: a run or cell whose key is already
// in the files is not redone; keys hash the cell's full settings, the seed(s), the data's
// checksum and the measurement settings (device, inference batch, batch-1 samples), so a
// rerun with the same arguments ends with the same lines and tables.  Lines of other grids
// in the same DIR are kept and left out of this grid's tables.
#pragma once
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flowpic/prep.h"
#include "study/grid.h"

namespace flowpic {

// Where --inputs get their labels: from-dir (default), map FILE, builtin NAME, flows FILE,
// fixed NAME.
struct SweepLabels {
    std::string kind = "from-dir";
    std::string arg;
};

struct ClassicalOptions {
    enum class Mode { kAuto, kOn, kOff };
    Mode mode = Mode::kAuto;
    std::string models = "rf,et,xgb";
    std::string script;         // default: bench/classical.py of this repository
};

struct SweepOptions {
    Grid grid;
    std::string where = "the grid";  // names the grid's source in errors
    std::string data;                 // --data D.fpd, or
    std::vector<std::string> inputs;  // --inputs CAPTURES (prep axes allowed)
    SweepLabels labels;               // for --inputs
    PrepOptions prep;                 // for --inputs: extraction, split, seed, the windowing
                                      // that no axis sets (min packets, span, sizes)
    std::string out_dir;
    std::string device = "auto";
    int infer_batch = 256;
    size_t latency_samples = 200;
    size_t max_cells = 0;  // stop after this many newly run cells (0 = all): tests, budgets
    ClassicalOptions classical;
    bool plot = true;
    std::string plot_script;  // default: bench/sweep_plot.py of this repository
    std::string python = "/usr/bin/python3";
    bool progress = true;
};

struct SweepResult {
    size_t cells = 0, cells_run = 0, cells_reused = 0;
    size_t classical_rows = 0;
    bool stopped = false;            // --max-cells ended it early
    std::string table_md;            // results.md's table
    std::vector<std::string> notes;  // what was skipped and why (classical, plots)
    std::vector<std::string> plots;  // PNGs written
    std::vector<std::string> errors;  // classical baselines asked for (--classical) that failed
};

// Throws UsageError for a bad grid (before any work) and InputError for bad data.
SweepResult run_sweep(const SweepOptions& opts);

// The pieces, for the tests and the tables.
// The 256-byte header of a dataset file holds every section's CRC-32C and its own: its
// CRC-32C (and the file size) identify the content.  "crc32c:XXXXXXXX:SIZE".
std::string dataset_checksum(const std::string& path);

// Reads a JSON-lines file of the sweep into key -> object ({} when it does not exist).
// InputError "path:line: ..." for a line that is not a JSON object with a "key".
std::map<std::string, nlohmann::json> read_json_lines(const std::string& path);

// results.csv / results.md of these cell lines (cells.jsonl objects, in grid order).
std::string results_csv(const std::vector<nlohmann::json>& cells);
std::string results_md(const std::vector<nlohmann::json>& cells);

}  // namespace flowpic
