// The model file: safetensors bytes -> read_safetensors -> load_model (metadata, shapes
// against the metadata before the net is built, finite weights), as flowpic-infer loads
// it; a model that loads classifies one window, as infer does.
#include <cmath>

#include "core/error.h"
#include "nn/model_file.h"
#include "nn/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

namespace flowpic {

int fuzz_model(const uint8_t* data, size_t size) {
    fuzz::InputFile in(data, size, "model.safetensors");
    try {
        SafeTensorsFile f = read_safetensors(in.path());
        for (const SafeTensor& t : f.tensors)
            if (safetensor_elements(t.shape) != t.data.size()) std::abort();
        LoadedModel m = load_model(in.path());
        if (!m.net || m.info.classes.size() < 2) std::abort();
        for (const Param& p : m.net->params())  // a loaded model never holds NaN or inf
            for (float v : p.value->to_vector())
                if (!std::isfinite(v)) std::abort();
    } catch (const InputError&) {
    }
    return 0;
}

}  // namespace flowpic

FLOWPIC_FUZZ_ENTRY(flowpic::fuzz_model)
