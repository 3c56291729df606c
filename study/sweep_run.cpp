#include "study/sweep_run.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <string>

#include "core/error.h"
#include "nn/evaluate.h"
#include "nn/loader.h"
#include "nn/metrics.h"
#include "nn/model_file.h"
#include "nn/train_recipe.h"
#include "nn/trainer.h"
#include "study/grid.h"

namespace flowpic {

bool reset_peak_rss() {
    std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    const bool ok = std::fputs("5", f) >= 0;
    return std::fclose(f) == 0 && ok;
}

double peak_rss_mb() {
    std::ifstream f("/proc/self/status");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_maxrss) / 1024.0;
}

nlohmann::json train_and_measure(const DatasetReader& ds, const nlohmann::json& cell, uint64_t seed, Backend& be,
                                 const RunMeasure& m, const std::string& model_path) {
    using clock = std::chrono::steady_clock;
    if (ds.classes().size() < 2)
        throw input_error(ds.path(), "has " + std::to_string(ds.classes().size()) + " class(es): training needs at least 2");
    const BinningOptions b = cell_binning(cell);
    TrainConfig cfg = cell_train_config(cell, seed);
    const bool rss_reset = reset_peak_rss();

    const auto t0 = clock::now();
    Network net = make_training_net(cell_arch(cell), b, int(ds.classes().size()), seed, be, cfg.batch);
    Trainer trainer(be, net, ds, b, cfg);
    double seen = 0;
    trainer.run([&](const EpochRecord& r) { seen += r.images_per_s * r.seconds; });
    trainer.restore_best();
    const double train_s = std::chrono::duration<double>(clock::now() - t0).count();

    ModelSettings settings;
    settings.binning = b;
    settings.prep = parse_prep_settings(ds.prep_json(), ds.path());
    TrainedInfo info{ds.path(), cell["arch"].get<std::string>(), cell["class-weights"].get<std::string>(),
                     cell["best-by"].get<std::string>(), "sweep", &cfg, trainer.epochs_done(), trainer.best_epoch()};
    save_model(model_path, net, ds.classes(), settings, {{"trained", trained_metadata(info)}});
    struct stat st;
    const double model_bytes = stat(model_path.c_str(), &st) == 0 ? double(st.st_size) : 0;

    DatasetLoader test(ds, kSplitTest, b);
    if (test.size() == 0) throw input_error(ds.path(), "the test split is empty: nothing to evaluate the cell on");
    std::vector<int32_t> identity(ds.classes().size());
    std::iota(identity.begin(), identity.end(), 0);
    check_batch_fits(net, be, m.infer_batch, /*training=*/false);
    EvalOptions eo;
    eo.batch = m.infer_batch;
    eo.latency_samples = m.latency_samples;
    const EvalResult res = evaluate(net, be, test, identity, eo);
    const Metrics met = compute_metrics(res.labels, res.probs.data(), ds.classes().size());

    nlohmann::json per_class = nlohmann::json::object();
    for (size_t c = 0; c < ds.classes().size(); ++c)
        if (met.per_class[c].support > 0 || met.per_class[c].predicted > 0) per_class[ds.classes()[c]] = met.per_class[c].f1;
    nlohmann::json j = {{"seed", seed},
                        {"accuracy", met.accuracy},
                        {"top2_accuracy", met.top2_accuracy},
                        {"macro_f1", met.macro_f1},
                        {"per_class_f1", per_class},
                        {"test_windows", met.samples},
                        {"epochs", trainer.epochs_done()},
                        {"best_epoch", trainer.best_epoch()},
                        {"stopped_early", trainer.stopped_early()},
                        {"train_s", train_s},
                        {"train_images_per_s", train_s > 0 ? seen / train_s : 0.0},
                        {"infer_images_per_s", res.images_per_s},
                        {"infer_batch", m.infer_batch},
                        {"b1_p50_us", res.single_latency.p50_ms * 1e3},
                        {"b1_p99_us", res.single_latency.p99_ms * 1e3},
                        {"b1_samples", res.single_latency.samples},
                        {"b1_path", res.path},
                        {"peak_rss_mb", peak_rss_mb()},
                        {"params", net.parameter_count()},
                        {"model_bytes", model_bytes},
                        {"model", model_path},
                        {"backend", be.name()}};
    if (!rss_reset) j["rss_scope"] = "process";
    return j;
}

}  // namespace flowpic
