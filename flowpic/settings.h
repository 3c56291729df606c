// The settings that travel with the data from preparation to inference, as typed structs
// and as the JSON that datasets ("prep" in their meta section) and model files ("prep" and
// "binning" metadata, nn/model_file.h) carry.  This file is the one place that spells
// them: flowpic-prep writes them, flowpic-train copies them into the model, flowpic-infer
// and flowpic-render read them back.  Readers are lenient about keys that older files
// lack (the defaults apply) and strict about values: a malformed one is an InputError
// naming the file.
#pragma once
#include <optional>
#include <string>

#include "flowpic/split.h"
#include "flowpic/windowing.h"
#include "kernels/cpu/binning.h"
#include "pcap/extractor.h"

namespace flowpic {

// How a dataset's windows were made.
struct PrepSettings {
    WindowOptions windows;
    ExtractOptions extract;  // recorded: flow timeouts, max_flows, skip_empty_tcp, skip_dns
    std::string labels;      // the label source, in words (LabelSource::description)
    SplitFractions split;    // unused when few_shot is enabled
    FewShotRule few_shot;    // "few_shot" key, written only when enabled
    uint64_t seed = 1;
    std::optional<BinningOptions> binning;  // prep's default binning for render/train/infer
};

std::string to_json(const PrepSettings& s);  // a JSON object, as text
// nullopt when the text records no windowing ("", "{}", or no "windows" key: a dataset
// written by hand, a model trained elsewhere).  `what` names the setting in errors:
// "path: bad 'prep' metadata: ...".
std::optional<PrepSettings> parse_prep_settings(const std::string& json, const std::string& path,
                                                const std::string& what = "'prep' settings");

std::string to_json(const BinningOptions& b);  // {"direction":..,"normalize":..,"resolution":..,"values":..}
// Keys missing from the object keep their values in `defaults`; the result is validated.
BinningOptions parse_binning_settings(const std::string& json, const std::string& path,
                                      const BinningOptions& defaults = {},
                                      const std::string& what = "'binning' settings");

// Windowing and extraction as infer redoes them: the fields of `a` and `b` that decide
// which windows a capture gives are equal.
bool same_windowing(const PrepSettings& a, const PrepSettings& b);

}  // namespace flowpic
