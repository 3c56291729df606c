// flowpic-infer: run a model on FlowPics, three ways:
//   --images X.npy          dense images (flowpic-render --npy-dataset, or the seed's notebooks)
//   --data DATASET --eval   one split of a dataset file: metrics and timing (apps/infer_eval.h)
//   CAPTURE...|DIR          captures, windowed as the model says (apps/infer_captures.h)
#include <cmath>
#include <cstdio>
#include <optional>
#include <nlohmann/json.hpp>

#include "apps/cli.h"
#include "apps/device_flag.h"
#include "apps/infer_captures.h"
#include "apps/infer_eval.h"
#include "apps/infer_settings.h"
#include "apps/window_flags.h"
#include "core/atomic_file.h"
#include "core/progress.h"
#include "flowpic/npy.h"
#include "nn/evaluate.h"
#include "nn/metrics.h"
#include "nn/model_file.h"

using namespace flowpic;

namespace {

const char* kDescription =
    "flowpic-infer: classify FlowPics with a model file (safetensors: from flowpic-train, or\n"
    "written by PyTorch with the same tensor names, see tests/torch_model_to_safetensors.py).\n"
    "Inputs, one of:\n"
    "  --images X.npy: N x C x H x W or N x H x W images, uint8, uint16, int64 or float32\n"
    "    (flowpic-render --npy-dataset writes them).  One row per image: index, predicted\n"
    "    class, and the probability of every class.\n"
    "  --data DATASET --eval: evaluate on one split (--split, default test) of a dataset from\n"
    "    flowpic-prep: accuracy, top-2 accuracy, per-class precision/recall/F1, macro-F1, the\n"
    "    confusion matrix (text; --confusion-csv, --confusion-png), images/s and per-image\n"
    "    latency p50/p99 at --batch and at batch 1.  Binning as the model's metadata says;\n"
    "    classes matched by name.\n"
    "  CAPTURE...|DIR: extract, window and bin exactly as the model's metadata says (window\n"
    "    flags are refused then, unless --override-prep; a model without prep metadata uses\n"
    "    the flags, whose defaults are the authors' settings) and classify every window.\n";

const char* kFooter =
    "\nExamples:\n"
    "  flowpic-infer --model model.safetensors --images out/np/X.npy\n"
    "  flowpic-infer --model model.safetensors --images X.npy --json | jq .predictions[0]\n"
    "  flowpic-infer --model model.safetensors --data ds.fpd --eval --confusion-png cm.png\n"
    "  flowpic-infer --model model.safetensors --data ds.fpd --eval --json | jq .macro_f1\n"
    "  flowpic-infer --model model.safetensors captures/ --output windows.csv --flows-summary flows.csv\n"
    "  flowpic-infer --model model.safetensors --data ds.fpd --eval --device cuda   # batch 1 via a CUDA graph\n"
    "\nOutput CSV headers (classes in the model's label order):\n"
    "  --images:  index,class,p_<class>...\n"
    "  captures:  capture,proto,src,sport,dst,dport,view,window_start,packets,class,p_<class>...\n"
    "             (src/dst: the flow's client->server orientation; view: uni-fwd, uni-rev, bi;\n"
    "             window_start: epoch seconds)\n"
    "  --flows-summary: capture,proto,src,sport,dst,dport,windows,class,p_<class>...  (per flow:\n"
    "             the mean probability over its windows, both views; class = argmax of the mean)\n"
    "Metrics follow scikit-learn (zero_division=0; macro-F1 over the classes that are true or\n"
    "predicted at least once).  --json prints one object on stdout instead of the CSV or text.\n"
    "--device auto (the default) runs on the GPU when one is present; on CUDA only packet\n"
    "lists are copied to the device (--images uploads the dense images it is given).\n"
    "Environment: FLOWPIC_CPU=scalar runs the scalar reference kernels instead of AVX2.\n"
    "\nExit codes: 0 success, 1 bad input (one line on stderr naming the file), 2 usage error.\n";

// The pixel values the model's binning makes: "0 or 1" for binary pixels, "0, 50 or 200"
// for grey, whole numbers >= 0 for counts.  Images from elsewhere that break it (count
// images given to a binary model) are classified, with a warning: they are not what the
// model learnt from.
struct PixelRule {
    BinningOptions b;
    bool ok(float v) const {
        if (b.direction == Direction::grey) return v == 0.f || v == 50.f || v == 200.f;
        if (b.values == ValueMode::binary) return v == 0.f || v == 1.f;
        return v >= 0.f && v == std::floor(v);
    }
    const char* says() const {
        if (b.direction == Direction::grey) return "grey pixels (0, 50 or 200)";
        if (b.values == ValueMode::binary) return "binary pixels (0 or 1)";
        return "packet counts (whole numbers >= 0)";
    }
};

int run_images(const std::string& model_path, const std::string& images, const std::string& output, int batch,
               const std::string& device, bool json, bool quiet) {
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
    std::optional<PixelRule> rule;
    if (m.info.metadata.count("binning")) rule = PixelRule{model_binning(m, model_path)};
    uint64_t off_rule = 0, first_off = 0;
    float first_value = 0;
    auto be = make_backend(device);
    m.net->to(be->memory());
    check_batch_fits(*m.net, *be, batch, /*training=*/false);
    const size_t per_image = size_t(c * h * w), k = m.info.classes.size();
    std::vector<uint8_t> raw;
    std::vector<float> probs(size_t(n) * k);
    Tensor input, on_backend({0}, be->memory()), batch_probs({0}, be->memory());
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
        if (rule)
            for (size_t r = 0; r < rows; ++r)
                for (size_t i = r * per_image; i < (r + 1) * per_image; ++i)
                    if (!rule->ok(input[i])) {
                        if (off_rule++ == 0) first_off = first + r, first_value = input[i];
                        break;
                    }
        on_backend.copy_from(input);  // dense images: the one path that uploads images
        const Tensor& logits = m.net->forward(*be, on_backend, kInference);
        batch_probs.reshape(logits.shape());
        be->softmax_forward(logits.data(), int(rows), int(k), batch_probs.data());
        batch_probs.copy_to_host(probs.data() + first * k);
        progress.update(first + rows);
    }
    progress.finish(n);
    if (off_rule)
        std::fprintf(stderr,
                     "flowpic-infer: warning: %s: %llu of %llu images hold values the model's binning never makes "
                     "(image %llu has %g; %s was trained on %s): predictions on them are not to be trusted\n",
                     images.c_str(), (unsigned long long)off_rule, (unsigned long long)n, (unsigned long long)first_off,
                     double(first_value), model_path.c_str(), rule->says());
    auto argmax = [&](uint64_t i) { return argmax_row(probs.data() + i * k, k); };
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
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app(kDescription, "flowpic-infer");
    app.footer(kFooter);
    std::string model_path, images, data, output = "-", split = "test", confusion_csv, confusion_png, flows_summary;
    std::vector<std::string> inputs;
    int batch = 64;
    size_t latency_samples = 200;
    std::string device = "auto";
    bool json = false, quiet = false, eval = false, override_prep = false;
    WindowFlags wf;
    app.add_option("--model", model_path, "model file (safetensors)")->required();
    app.add_option("inputs", inputs, "captures (pcap/pcapng files or directories)");
    app.add_option("--images", images, "a .npy of images");
    app.add_option("--data", data, "a dataset file from flowpic-prep (with --eval)");
    app.add_flag("--eval", eval, "evaluate the model on --data");
    app.add_option("--split", split, "--data: train, val, test or all")->default_val(split);
    app.add_option("--confusion-csv", confusion_csv, "--eval: write the confusion matrix as CSV");
    app.add_option("--confusion-png", confusion_png, "--eval: write the confusion matrix as a PNG heat map");
    app.add_option("--latency-samples", latency_samples, "--eval: batch-1 passes timed (0 = none)")
        ->default_val(latency_samples)->check(number_in(0, 1e6));
    app.add_option("--flows-summary", flows_summary, "captures: write the per-flow summary CSV");
    app.add_flag("--override-prep", override_prep, "captures: window flags override the model's prep metadata");
    app.add_option("--output", output, "CSV of predictions, or the --eval report (- for stdout)")->default_val(output);
    app.add_option("--batch", batch, "images per forward pass")->default_val(batch)->check(CLI::Range(1, 65536));
    add_device_flag(&app, device);
    app.add_flag("--json", json, "print one JSON object on stdout instead of CSV or text");
    app.add_flag("-q,--quiet", quiet, "no progress on stderr");
    wf.add_to(app);

    return run_cli(app, argc, argv, [&]() {
        if (json && output != "-") throw UsageError("--json prints to stdout; leave out --output");
        const int modes = !images.empty() + !data.empty() + !inputs.empty();
        if (modes != 1) throw UsageError("give exactly one input: --images X.npy, --data DATASET --eval, or captures");
        if (data.empty() && (eval || !confusion_csv.empty() || !confusion_png.empty() || app.count("--split")))
            throw UsageError("--eval, --split and --confusion-* need --data DATASET");
        if (!data.empty() && !eval) throw UsageError("--data evaluates a model: add --eval");
        if (inputs.empty()) {
            if (!flows_summary.empty() || override_prep) throw UsageError("--flows-summary and --override-prep are for captures");
            for (const auto& name : prep_flag_names())
                if (app.count(name)) throw UsageError(name + " is for captures");
        }
        std::vector<std::string> read = {model_path};
        for (const auto* in : {&images, &data}) if (!in->empty()) read.push_back(*in);
        read.insert(read.end(), inputs.begin(), inputs.end());
        check_outputs(read, {{"--output", json ? "" : output},
                             {"--flows-summary", flows_summary},
                             {"--confusion-csv", confusion_csv},
                             {"--confusion-png", confusion_png}});
        if (!images.empty()) return run_images(model_path, images, output, batch, device, json, quiet);
        if (!data.empty()) {
            EvalRequest r;
            r.model_path = model_path, r.data_path = data, r.split = split, r.output = output;
            r.confusion_csv = confusion_csv, r.confusion_png = confusion_png;
            r.batch = batch, r.latency_samples = latency_samples, r.json = json, r.quiet = quiet;
            r.device = device;
            return run_eval(r);
        }
        CaptureRequest r;
        r.model_path = model_path, r.output = output, r.flows_summary = flows_summary, r.inputs = inputs;
        r.batch = batch, r.json = json, r.quiet = quiet, r.override_prep = override_prep;
        r.device = device;
        return run_captures(r, app, wf);
    });
}
