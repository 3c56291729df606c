// flowpic-infer: run a model on FlowPics.  This issue: dense images in a .npy (as written
// by flowpic-render or by the seed's notebooks); captures and datasets come next.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "apps/cli.h"
#include "core/atomic_file.h"
#include "core/progress.h"
#include "flowpic/npy.h"
#include "nn/model_file.h"

using namespace flowpic;

namespace {

const char* kDescription =
    "flowpic-infer: classify FlowPics with a model file (safetensors: from flowpic-train, or\n"
    "written by PyTorch with the same tensor names, see tests/torch_model_to_safetensors.py).\n"
    "--images X.npy holds N x C x H x W or N x H x W images, uint8, uint16, int64 or float32\n"
    "(flowpic-render --npy-dataset writes them).  One row per image: index, predicted class,\n"
    "and the probability of every class.\n";

const char* kFooter =
    "\nExamples:\n"
    "  flowpic-infer --model model.safetensors --images out/np/X.npy\n"
    "  flowpic-infer --model model.safetensors --images X.npy --output predictions.csv\n"
    "  flowpic-infer --model model.safetensors --images X.npy --json | jq .predictions[0]\n"
    "\nOutput CSV header: index,class,p_<class>... (classes in the model's label order).\n"
    "Environment: FLOWPIC_CPU=scalar runs the scalar reference kernels instead of AVX2.\n"
    "\nExit codes: 0 success, 1 bad input (one line on stderr naming the file), 2 usage error.\n";

}  // namespace

int main(int argc, char** argv) {
    CLI::App app(kDescription, "flowpic-infer");
    app.footer(kFooter);
    std::string model_path, images, output = "-";
    int batch = 64;
    bool json = false, quiet = false;
    app.add_option("--model", model_path, "model file (safetensors)")->required();
    app.add_option("--images", images, "a .npy of images")->required();
    app.add_option("--output", output, "CSV of predictions (- for stdout)")->default_val(output);
    app.add_option("--batch", batch, "images per forward pass")->default_val(batch)->check(CLI::Range(1, 4096));
    app.add_flag("--json", json, "print one JSON object (classes, predictions) instead of CSV");
    app.add_flag("-q,--quiet", quiet, "no progress on stderr");

    return run_cli(app, argc, argv, [&]() {
        if (json && output != "-") throw UsageError("--json prints to stdout; leave out --output");
        LoadedModel m = load_model(model_path);
        const NetSpec& spec = m.info.spec;
        NpyReader x(images);
        const NpyShape& sh = x.shape();
        const bool has_channels = sh.size() == 4;
        if (sh.size() != 3 && sh.size() != 4)
            throw input_error(images, "expected images of shape N x C x H x W or N x H x W, got " +
                                          std::to_string(sh.size()) + " dimensions");
        const uint64_t n = sh[0], c = has_channels ? sh[1] : 1, h = sh[sh.size() - 2], w = sh[sh.size() - 1];
        if (c != uint64_t(spec.channels) || h != uint64_t(spec.resolution) || w != uint64_t(spec.resolution))
            throw input_error(images, "images are " + std::to_string(c) + " x " + std::to_string(h) + " x " +
                                          std::to_string(w) + " but the model " + model_path + " expects " +
                                          std::to_string(spec.channels) + " x " + std::to_string(spec.resolution) +
                                          " x " + std::to_string(spec.resolution));
        auto be = make_cpu_backend();
        const size_t per_image = size_t(c * h * w), k = m.info.classes.size();
        std::vector<uint8_t> raw;
        std::vector<float> probs(size_t(n) * k);
        Tensor input;
        Progress progress("inferring", n, "images", !quiet);
        for (uint64_t first = 0; first < n; first += uint64_t(batch)) {
            const uint64_t rows = std::min<uint64_t>(uint64_t(batch), n - first);
            raw.resize(size_t(rows) * per_image * npy_itemsize(x.dtype()));
            x.read_rows(first, rows, raw.data());
            input.reshape({int64_t(rows), int64_t(c), int64_t(h), int64_t(w)});
            npy_to_float(x.dtype(), raw.data(), input.size(), input.data());
            for (size_t i = 0; i < input.size(); ++i)
                if (!std::isfinite(input[i]))
                    throw input_error(images, "image " + std::to_string(first + i / per_image) + " holds NaN or infinity");
            const Tensor& logits = m.net->forward(*be, input, StepContext{});
            for (uint64_t r = 0; r < rows; ++r) {  // softmax, stable
                const float* l = logits.data() + r * k;
                float* p = probs.data() + (first + r) * k;
                float mx = l[0];
                for (size_t j = 1; j < k; ++j) mx = std::max(mx, l[j]);
                double sum = 0;
                for (size_t j = 0; j < k; ++j) sum += std::exp(double(l[j]) - mx);
                for (size_t j = 0; j < k; ++j) p[j] = float(std::exp(double(l[j]) - mx) / sum);
            }
            progress.update(first + rows);
        }
        progress.finish(n);
        auto argmax = [&](uint64_t i) {
            const float* p = probs.data() + i * k;
            return size_t(std::max_element(p, p + k) - p);
        };
        if (json) {
            nlohmann::json preds = nlohmann::json::array();
            for (uint64_t i = 0; i < n; ++i)
                preds.push_back({{"index", i}, {"class", m.info.classes[argmax(i)]},
                                 {"probabilities", std::vector<float>(probs.begin() + i * k, probs.begin() + (i + 1) * k)}});
            std::printf("%s\n", nlohmann::json{{"model", model_path}, {"classes", m.info.classes}, {"predictions", preds}}
                                    .dump().c_str());
            return 0;
        }
        AtomicFile out(output);
        std::fprintf(out.get(), "index,class");
        for (const auto& name : m.info.classes) std::fprintf(out.get(), ",p_%s", name.c_str());
        std::fputc('\n', out.get());
        for (uint64_t i = 0; i < n; ++i) {
            std::fprintf(out.get(), "%llu,%s", (unsigned long long)i, m.info.classes[argmax(i)].c_str());
            for (size_t j = 0; j < k; ++j) std::fprintf(out.get(), ",%.7g", probs[i * k + j]);
            std::fputc('\n', out.get());
        }
        out.commit();
        return 0;
    });
}
