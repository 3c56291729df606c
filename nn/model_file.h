// The model file: safetensors with PyTorch names and layouts (conv1.weight OIHW, fc1.weight
// out x in with the input flattened C,H,W, ...) and __metadata__:
//   required (a model trained elsewhere needs only these to run on --images):
//     format=flowpic  version=1  arch=flowpic|lenet  resolution=N  channels=C
//     classes=comma-separated names in label order
//   written by flowpic-train as well: prep (how the training windows were cut) and binning
//     (how they became images), both typed here (ModelSettings, flowpic/settings.h for the
//     JSON), and free-form keys.
// The binning is resolved once, here: recorded, or for a model trained elsewhere derived
// from the network (span normalisation, count values, direction none for 1 channel and
// channels for 2); recorded binning that does not make the network's input is an error
// naming both shapes.
// Loading checks everything and names what is wrong: missing or malformed metadata, an
// unknown version, resolution outside 1..1500, channels outside 1..16, missing or extra
// tensors, shapes against the metadata (all before the net is allocated), non-finite weights.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flowpic/settings.h"
#include "kernels/cpu/binning.h"
#include "nn/network.h"

namespace flowpic {

constexpr int kModelFormatVersion = 1;
constexpr int kMaxModelChannels = 16;   // flowpic's own binning makes 1 or 2
constexpr int kMaxModelClasses = 4096;  // class names are metadata; bounds the fc layer

// What training fixes for inference.
struct ModelSettings {
    std::optional<BinningOptions> binning;  // none: a model written elsewhere
    std::optional<PrepSettings> prep;       // none: trained on images, or windowing unknown
};

struct ModelInfo {
    NetSpec spec;
    std::vector<std::string> classes;
    ModelSettings settings;         // binning: recorded or derived (above); none when the
                                    // network's input is no image flowpic's binning makes
    bool binning_recorded = false;  // the file has "binning" metadata
    std::map<std::string, std::string> metadata;  // every key of the file
};

// The input images of a network (resolution and channels) as the binning that makes them:
// one rule for train (NetSpec from the binning) and load (binning from the NetSpec).
NetSpec net_spec_for(Arch arch, const BinningOptions& binning, int classes);
// The model's binning; InputError naming `path` when flowpic cannot make its input.
const BinningOptions& model_binning(const ModelInfo& info, const std::string& path);

struct LoadedModel {
    ModelInfo info;
    std::unique_ptr<Network> net;
};

// The parameters a spec implies, in Network::params() order (names and shapes), computed
// without allocating any: load_model checks a file against them before building the net.
// std::invalid_argument when the resolution is too small for the arch.
std::vector<std::pair<std::string, Shape>> model_tensor_shapes(const NetSpec& spec);

// Writes atomically; InputError (nothing written) when a weight is NaN or infinite.
// settings become the "binning" and "prep" metadata; extra: free-form keys beyond them.
void save_model(const std::string& path, Network& net, const std::vector<std::string>& classes,
                const ModelSettings& settings, const std::map<std::string, std::string>& extra = {});
// The raw form (tests write hostile or partial metadata with it): extra as given.
void save_model(const std::string& path, Network& net, const std::vector<std::string>& classes,
                const std::map<std::string, std::string>& extra = {});

// Throws InputError("path: what"), also for a NaN or infinite weight.
LoadedModel load_model(const std::string& path);

}  // namespace flowpic
