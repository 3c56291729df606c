// The grid of a sweep (flowpic-sweep, docs/SWEEP.md): named axes, each a list of values,
// whose cartesian product gives the cells; a grid may be the union of several such
// products ("parts": LeNet at 32 and 64 plus FlowPicNet at 1500).  Every axis has a default
// (flowpic-prep's and flowpic-train's), so a cell is always a full assignment of every axis
// and its key names everything that made its result.  Seeds are not an axis: every cell
// is run once per seed and reported as the mean and a t-interval over them.
//
// Axes, by what they change:
//   prep     window, overlap, first, flows           (a new dataset per distinct setting)
//   binning  resolution, normalize, values, direction, max-count, bin-arith, time-axis
//   train    arch, class-weights, augment, augment-copies, augment-val, epochs, batch, lr,
//            early-stop, early-stop-delta, best-by
// Normalisation, so that no two cells differ only in a setting that does nothing: with
// first > 0 window and overlap are null (one window per flow) and flows "auto" becomes bi
// (else uni, as flowpic-prep); with augment none, augment-copies is 1 and augment-val false.
// Duplicates after normalisation are dropped (first one kept).
//
// Every problem is a UsageError naming the axis (and the grid file): an unknown axis, an
// empty one, a bad value, an arch that cannot take a resolution (nn/network.h's shape
// rule), a binning or augmentation that cannot work (kernels/cpu/binning.h, flowpic/augment.h).
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "flowpic/augment.h"
#include "flowpic/windowing.h"
#include "kernels/cpu/binning.h"
#include "nn/network.h"
#include "nn/trainer.h"

namespace flowpic {

enum class AxisKind { kPrep, kBinning, kTrain };

struct AxisInfo {
    std::string name;
    AxisKind kind;
    std::string help;  // what its values are, for --help and errors
};
// Every axis, in table-column order.
const std::vector<AxisInfo>& sweep_axes();
const AxisInfo* find_axis(const std::string& name);  // nullptr if unknown

// One product of axes: axis -> its values (typed JSON scalars, as canonical_value makes).
using GridPart = std::map<std::string, std::vector<nlohmann::json>>;

struct Grid {
    std::vector<GridPart> parts = {GridPart{}};
    std::vector<uint64_t> seeds = {1, 2, 3};
};

// A value on `axis` as the grid stores it: numbers of real axes as doubles, integer axes
// as integers, choices as strings, booleans as bools; from JSON or from a flag's text.
// UsageError "<where>: axis 'A': ..." for a bad value.
nlohmann::json canonical_value(const std::string& axis, const nlohmann::json& v, const std::string& where);
nlohmann::json canonical_value_text(const std::string& axis, const std::string& text, const std::string& where);

// grid.json: {"axis": [values] | value, ..., "seeds": N | [s, ...]}, or
// {"parts": [{...}, {...}], "seeds": ...} for a union (axes outside "parts" apply to every
// part).  `path` names the file in errors.
Grid parse_grid_json(const std::string& text, const std::string& path);
// --seeds: "N" (seeds 1..N) or a comma list "4,9,12".
std::vector<uint64_t> parse_seeds(const std::string& text, const std::string& where);
// A flag's comma list ("--window 10,30,60") replaces the axis in every part.
void set_axis(Grid& g, const std::string& axis, const std::string& comma_list);

// The presets (docs/SWEEP.md): "seed" (the original study) and "ucdavis" (IMC'23).
Grid preset_grid(const std::string& name);  // UsageError for another name
std::vector<std::string> preset_names();

// After a preset's arch or resolution axis was overridden: drops the parts with an
// (arch, resolution) pair the shape rule refuses (the preset's FlowPicNet part under
// --resolution 32,64), saying so in `notes`.  When every part would go, nothing is dropped
// (expand_grid then names the problem).
void prune_parts(Grid& g, std::vector<std::string>& notes);

// The cells of the grid, normalised and deduplicated, in grid order (parts in order, axes
// in sweep_axes() order, the first axis varying slowest).  Each is a JSON object with every
// axis.  Throws UsageError naming the axis for every problem above; `where` prefixes it.
// `classes` only sizes the nets for the shape check.
std::vector<nlohmann::json> expand_grid(const Grid& g, const std::string& where);
// Checks one normalised cell (expand_grid calls it on every cell).
void check_cell(const nlohmann::json& cell, const std::string& where);

// A cell's settings, typed.
BinningOptions cell_binning(const nlohmann::json& cell);
Arch cell_arch(const nlohmann::json& cell);
// The training configuration of one seed (no progress, no checkpoints).
TrainConfig cell_train_config(const nlohmann::json& cell, uint64_t seed);
// The windowing of the cell on top of `base` (min-packets, sizes, ... from the sweep's
// prep flags): view, window, overlap, first.
WindowOptions cell_windows(const nlohmann::json& cell, WindowOptions base);
// The prep axes of a cell alone (what decides its dataset).
nlohmann::json cell_prep_axes(const nlohmann::json& cell);

// The axes whose values differ between cells (the table's setting columns).
std::vector<std::string> varying_axes(const std::vector<nlohmann::json>& cells);

// 64-bit FNV-1a of the text, as 16 hex digits: the key of a cell, a run or a preparation
// (the inputs are canonical JSON text, so equal settings give equal keys on any machine).
std::string settings_hash(const std::string& text);

}  // namespace flowpic
