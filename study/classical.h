// The classical baselines of a sweep (Random Forest, Extra Trees, XGBoost on per-window
// statistics), as rows of the same tables.  The features are written in process
// (flowpic/feature_file.h, as flowpic-render DATA --features F.csv: columns split, label,
// class name, then the features); the classifiers are bench/classical.py (Python:
// scikit-learn, xgboost), run as a program:
//   python3 classical.py --features F.csv --models rf,et,xgb --seeds 1,2,3 --json OUT.jsonl
// which writes one JSON line per (model, seed) {"model","seed","accuracy","macro_f1",
// "per_class_f1":{name:f1},"train_s","latency_us_per_window","classes":[...]} and exits 3
// with a one-line message when scikit-learn or xgboost are missing.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/line_log.h"
#include "study/sweep.h"

namespace flowpic {

// One prepared dataset the baselines run on, and the prep axes it stands for.
struct ClassicalData {
    std::string path, checksum;
    nlohmann::json prep_axes;
};

// Whether the baselines can run (python, script, features tool; with Mode::kAuto also
// scikit-learn importable); when not, *why says so.
bool classical_available(const ClassicalOptions& c, const std::string& python, std::string* why);

// The cell lines of every model on every dataset, cached ones from `done`, new ones
// appended to `log` (only when `can_run`; else `why` says what is missing).  Failures go
// to result.notes (Mode::kAuto) or result.errors (kOn).
std::vector<nlohmann::json> run_classical(const ClassicalOptions& c, const std::string& python,
                                          const std::vector<uint64_t>& seeds, const std::vector<ClassicalData>& data,
                                          const std::string& out_dir, const std::map<std::string, nlohmann::json>& done,
                                          LineLog& log, SweepResult& result, bool can_run, const std::string& why);

}  // namespace flowpic
