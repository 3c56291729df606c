#include "nn/train_recipe.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/error.h"
#include "nn/model_file.h"

namespace flowpic {

AugmentOptions make_augment_options(AugmentKind kind, const AugmentParams& params, int copies, bool validation,
                                    uint64_t seed) {
    AugmentOptions a;
    a.kind = kind;
    a.params = params;
    a.copies = kind == AugmentKind::none ? 1 : copies;
    a.validation = validation && a.active();
    a.seed = seed;
    return a;
}

Network make_training_net(Arch arch, const BinningOptions& binning, int classes, uint64_t seed, Backend& be, int batch) {
    Network net = [&] {
        try {
            return Network(net_spec_for(arch, binning, classes));
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what());
        }
    }();
    net.init_glorot(seed);
    net.to(be.memory());
    check_batch_fits(net, be, batch, /*training=*/true);
    return net;
}

std::string trained_metadata(const TrainedInfo& t) {
    const TrainConfig& cfg = *t.cfg;
    nlohmann::json trained{{"dataset", t.dataset},   {"epochs", t.epochs_done},   {"best_epoch", t.best_epoch},
                           {"seed", cfg.seed},       {"batch", cfg.batch},        {"lr", cfg.adam.lr},
                           {"class_weights", t.class_weights}};
    if (!t.preset.empty() || cfg.augment.active() || cfg.early_stop_delta != 0) {
        if (!t.preset.empty()) trained["preset"] = t.preset;
        trained["arch"] = t.arch;
        trained["max_epochs"] = cfg.epochs;
        trained["early_stop"] = cfg.early_stop;
        trained["early_stop_delta"] = cfg.early_stop_delta;
        trained["best_by"] = t.best_by;
        trained["augment"] = nlohmann::json{{"name", to_string(cfg.augment.kind)},
                                            {"params", nlohmann::json::parse(augment_params_json(cfg.augment.kind, cfg.augment.params))},
                                            {"copies", cfg.augment.copies},
                                            {"validation", cfg.augment.validation}};
    }
    return trained.dump();
}

}  // namespace flowpic
