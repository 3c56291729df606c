// One run of a sweep cell: train one seed (validation split, best model, early stop),
// write the model, evaluate it on the test split and measure it, all in this process.
//   train_s              the training loop's wall time (validation passes included)
//   train_images_per_s   training samples seen / train_s
//   infer_images_per_s   the test split at --infer-batch: binning + forward + softmax
//                        (nn/evaluate.h), probabilities back on the host
//   b1_p50_us, b1_p99_us batch-1 latency from packets to class (nn/evaluate.h: the CUDA
//                        graph on a GPU), over up to --latency-samples test windows
//   peak_rss_mb          the process's peak resident set during this run: the high-water
//                        mark is reset first (/proc/self/clear_refs), so earlier runs do
//                        not count; "rss_scope":"process" where the reset is refused
//   params, model_bytes  parameters and the safetensors file's size
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "flowpic/dataset_file.h"
#include "nn/backend.h"

namespace flowpic {

struct RunMeasure {
    int infer_batch = 256;
    size_t latency_samples = 200;
};

// The run's record (runs.jsonl fields above, plus accuracy, top2_accuracy, macro_f1,
// per_class_f1 {class: f1}, epochs, best_epoch, stopped_early, test_windows, backend).
// InputError when the dataset has no test windows or fewer than 2 classes.
nlohmann::json train_and_measure(const DatasetReader& ds, const nlohmann::json& cell, uint64_t seed, Backend& be,
                                 const RunMeasure& m, const std::string& model_path);

// Peak RSS: reset the high-water mark (false when the kernel refuses) and read it (MB).
bool reset_peak_rss();
double peak_rss_mb();

}  // namespace flowpic
