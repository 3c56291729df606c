// flowpic-infer --data DATASET --eval: a model over one split of a dataset file, with
// metrics (nn/metrics.h), timing (nn/evaluate.h), and the confusion matrix as text, CSV
// and PNG.  Binning comes from the model (nn/model_file.h): the dataset holds packet
// lists, so any resolution can be made from it, and the "binning" a dataset records is
// only flowpic-prep's default.  Classes are matched by name; a class present in the split
// but unknown to the model is an error naming it.  Windowing that differs between the
// model's prep metadata and the dataset's is worth a warning, not a refusal.
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>

#include "apps/infer.h"
#include "nn/model_file.h"
#include "core/atomic_file.h"
#include "core/progress.h"
#include "flowpic/confusion_png.h"
#include "flowpic/dataset_file.h"
#include "nn/evaluate.h"
#include "nn/metrics.h"

namespace flowpic {

namespace {

int parse_split_name(const std::string& s) {
    if (s == "train") return kSplitTrain;
    if (s == "val") return kSplitVal;
    if (s == "test") return kSplitTest;
    if (s == "all") return -1;
    throw UsageError("--split: invalid value '" + s + "' (expected train, val, test or all)");
}

nlohmann::json latency_json(const LatencyStats& s) {
    return {{"batch", s.batch}, {"samples", s.samples}, {"p50_ms", s.p50_ms}, {"p99_ms", s.p99_ms},
            {"mean_ms", s.mean_ms}};
}

void warn_if_windowing_differs(const LoadedModel& m, const EvalRequest& r, const DatasetReader& ds) {
    const std::optional<PrepSettings> dp = parse_prep_settings(ds.prep_json(), r.data_path, "'prep' settings");
    const std::optional<PrepSettings>& mp = m.info.settings.prep;
    if (!mp || !dp || same_windowing(*mp, *dp)) return;
    std::fprintf(stderr, "flowpic-infer: warning: %s was windowed as %s but the model %s as %s\n", r.data_path.c_str(),
                 dp->windows.to_json().c_str(), r.model_path.c_str(), mp->windows.to_json().c_str());
}

}  // namespace

int run_eval(const EvalRequest& r) {
    LoadedModel m = load_model(r.model_path);
    const BinningOptions binning = model_binning(m.info, r.model_path);
    const int split = parse_split_name(r.split);
    DatasetReader ds(r.data_path);
    const std::vector<std::string>& classes = m.info.classes;
    DatasetLoader loader(ds, split, binning);
    if (loader.size() == 0) {
        uint64_t per_split[3] = {0, 0, 0};
        for (const auto& c : ds.counts())
            for (int s = 0; s < 3; ++s) per_split[s] += c[size_t(s)];
        throw input_error(r.data_path, "the " + r.split + " split is empty (windows: train " +
                                           std::to_string(per_split[0]) + ", val " + std::to_string(per_split[1]) +
                                           ", test " + std::to_string(per_split[2]) + ")");
    }
    std::map<std::string, int32_t> model_index;
    for (size_t i = 0; i < classes.size(); ++i) model_index.emplace(classes[i], int32_t(i));
    std::vector<int32_t> label_map;
    const std::vector<uint64_t> counts = loader.class_counts();
    for (size_t d = 0; d < ds.classes().size(); ++d) {
        auto it = model_index.find(ds.classes()[d]);
        label_map.push_back(it == model_index.end() ? -1 : it->second);
        if (it == model_index.end() && counts[d] > 0) {
            std::string known;
            for (const auto& c : classes) known += (known.empty() ? "" : ",") + c;
            throw input_error(r.data_path, "class '" + ds.classes()[d] + "' (" + std::to_string(counts[d]) +
                                               " windows in the " + r.split + " split) is unknown to the model " +
                                               r.model_path + " (classes: " + known + ")");
        }
    }
    warn_if_windowing_differs(m, r, ds);
    // Outputs are opened before the work so a bad path fails fast; they appear at the end.
    std::unique_ptr<AtomicFile> out;
    if (!r.json) out = std::make_unique<AtomicFile>(r.output);

    auto be = make_backend(r.device);
    m.net->to(be->memory());
    check_batch_fits(*m.net, *be, r.batch, /*training=*/false);
    Progress progress("evaluating", loader.size(), "windows", !r.quiet);
    EvalOptions opts;
    opts.batch = r.batch;
    opts.latency_samples = r.latency_samples;
    opts.progress = [&](size_t done) { progress.update(done); };
    EvalResult res = evaluate(*m.net, *be, loader, label_map, opts);
    progress.finish(loader.size());
    const Metrics met = compute_metrics(res.labels, res.probs.data(), classes.size());

    if (!r.confusion_csv.empty()) {
        const std::string csv = confusion_csv(met, classes);
        write_file_atomic(r.confusion_csv, csv.data(), csv.size());
    }
    if (!r.confusion_png.empty())
        write_confusion_png(r.confusion_png, met.confusion, classes,
                            "confusion matrix: " + r.split + " split, " + std::to_string(met.samples) + " windows");

    if (r.json) {
        nlohmann::json per_class = nlohmann::json::object();
        for (size_t c = 0; c < classes.size(); ++c) {
            const ClassMetrics& cm = met.per_class[c];
            per_class[classes[c]] = {{"precision", cm.precision}, {"recall", cm.recall}, {"f1", cm.f1},
                                     {"support", cm.support}, {"predicted", cm.predicted}};
        }
        nlohmann::json j = {
            {"model", r.model_path}, {"data", r.data_path}, {"split", r.split}, {"windows", met.samples},
            {"classes", classes}, {"binning", format_options(binning)}, {"accuracy", met.accuracy},
            {"top2_accuracy", met.top2_accuracy}, {"macro_f1", met.macro_f1}, {"macro_f1_classes", met.macro_classes},
            {"per_class", per_class}, {"confusion", met.confusion}, {"backend", be->name()}, {"batch1_path", res.path},
            {"batch", r.batch}, {"seconds", res.seconds}, {"images_per_s", res.images_per_s},
            {"latency_batch", latency_json(res.batch_latency)}, {"latency_batch1", latency_json(res.single_latency)}};
        std::printf("%s\n", j.dump().c_str());
        return 0;
    }
    std::FILE* f = out->get();
    std::fprintf(f, "model %s on %s, %s split: %zu windows (%s)\n", r.model_path.c_str(), r.data_path.c_str(),
                 r.split.c_str(), met.samples, format_options(binning).c_str());
    std::fprintf(f, "accuracy %.4f   top-2 accuracy %.4f   macro-F1 %.4f\n\n", met.accuracy, met.top2_accuracy,
                 met.macro_f1);
    std::fprintf(f, "%s\n%s\n", format_per_class(met, classes).c_str(), format_confusion(met, classes).c_str());
    const LatencyStats& b = res.batch_latency;
    const LatencyStats& s = res.single_latency;
    std::fprintf(f, "timing (%s backend, binning + forward + softmax): %.1f images/s at batch %d\n", be->name().c_str(),
                 res.images_per_s, r.batch);
    std::fprintf(f, "  per image, batch %d: p50 %.3f ms  p99 %.3f ms  (%zu batches)\n", b.batch, b.p50_ms, b.p99_ms,
                 b.samples);
    if (s.samples)
        std::fprintf(f, "  per image, batch 1:  p50 %.3f ms  p99 %.3f ms  (%zu images; %s)\n", s.p50_ms, s.p99_ms,
                     s.samples, res.path.c_str());
    out->commit();
    return 0;
}

}  // namespace flowpic
