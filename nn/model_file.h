// The model file: safetensors with PyTorch names and layouts (conv1.weight OIHW, fc1.weight
// out x in with the input flattened C,H,W, ...) and __metadata__:
//   required (a model trained elsewhere needs only these to run on --images):
//     format=flowpic  version=1  arch=flowpic|lenet  resolution=N  channels=C
//     classes=comma-separated names in label order
//   written by flowpic-train as well: prep (JSON: windowing and extraction settings),
//     binning (JSON: resolution, normalize, values, direction), and free-form keys.
// Loading checks everything and names what is wrong: missing or malformed metadata, an
// unknown version, resolution outside 1..1500, channels outside 1..16, missing or extra
// tensors, shapes against the metadata (all before the net is allocated), non-finite weights.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nn/network.h"

namespace flowpic {

constexpr int kModelFormatVersion = 1;
constexpr int kMaxModelChannels = 16;   // flowpic's own binning makes 1 or 2
constexpr int kMaxModelClasses = 4096;  // class names are metadata; bounds the fc layer

struct ModelInfo {
    NetSpec spec;
    std::vector<std::string> classes;
    std::map<std::string, std::string> metadata;  // every key of the file
};

struct LoadedModel {
    ModelInfo info;
    std::unique_ptr<Network> net;
};

// The parameters a spec implies, in Network::params() order (names and shapes), computed
// without allocating any: load_model checks a file against them before building the net.
// std::invalid_argument when the resolution is too small for the arch.
std::vector<std::pair<std::string, Shape>> model_tensor_shapes(const NetSpec& spec);

// Writes atomically; InputError (nothing written) when a weight is NaN or infinite.  extra: metadata beyond the required keys (prep, binning, ...).
void save_model(const std::string& path, Network& net, const std::vector<std::string>& classes,
                const std::map<std::string, std::string>& extra = {});

// Throws InputError("path: what"), also for a NaN or infinite weight.
LoadedModel load_model(const std::string& path);

}  // namespace flowpic
