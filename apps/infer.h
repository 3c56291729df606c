// flowpic-infer's three modes, each a run function (apps/infer_<mode>.cpp) taking the
// parsed command line as one request:
//   --images X.npy          dense images (flowpic-render --npy-dataset, or the seed's notebooks)
//   --data DATASET --eval   one split of a dataset file: metrics and timing
//   CAPTURE...|DIR          captures, windowed and binned as the model says
// Every run loads the model itself; nn/model_file.h resolves its binning and prep settings.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "apps/window_flags.h"

namespace flowpic {

struct ImagesRequest {
    std::string model_path, images, output = "-";
    int batch = 64;
    std::string device = "auto";
    bool json = false, quiet = false;
};
int run_images(const ImagesRequest& r);

struct EvalRequest {
    std::string model_path, data_path, split = "test", output = "-", confusion_csv, confusion_png;
    int batch = 64;
    size_t latency_samples = 200;
    std::string device = "auto";
    bool json = false, quiet = false;
};
int run_eval(const EvalRequest& r);

struct CaptureRequest {
    std::string model_path, output = "-", flows_summary;
    std::vector<std::string> inputs;
    int batch = 64;
    std::string device = "auto";
    bool json = false, quiet = false, override_prep = false;
    WindowFlags windows;                  // finalize()d
    std::vector<std::string> given_flags;  // the prep_flag_names() given on the command line
};
int run_captures(const CaptureRequest& r);

struct LiveRequest {
    std::string model_path, output = "-", save_packets;
    std::string interface;   // --live IFACE; empty: --stream - (standard input)
    std::string filter;      // --live: BPF
    int buffer_mb = 64, snaplen = 256;
    double grace_s = 0.05;   // --live: a window closes this long after its end on the wall clock
    std::vector<double> early;  // --early fractions
    int batch = 64;
    std::string device = "auto";
    bool json = false, quiet = false, override_prep = false;
    WindowFlags windows;                  // finalize()d
    std::vector<std::string> given_flags;  // the prep_flag_names() given on the command line
};
int run_live(const LiveRequest& r);  // apps/infer_live.cpp

struct ModelInfo;
struct WindowOptions;
struct ExtractOptions;
// The windowing of captures and live input: the model's prep decides; window flags given
// on the command line are an error unless override_prep (apps/infer_captures.cpp).
// Returns a note for stderr ("" when nothing to say).
std::string resolve_prep(const ModelInfo& m, const std::vector<std::string>& given, const WindowFlags& wf,
                         bool override_prep, WindowOptions& w, ExtractOptions& x);

}  // namespace flowpic
