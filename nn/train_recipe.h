// What flowpic-train and flowpic-sweep both spell about one training run, so the two make
// the same models: the tcbench preset's values, the augmentation assembled from its
// settings, the net built for a binning (shape rule refused as a UsageError), and the
// "trained" metadata a model file records.
#pragma once
#include <cstdint>
#include <string>

#include "flowpic/augment.h"
#include "kernels/cpu/binning.h"
#include "nn/backend.h"
#include "nn/network.h"
#include "nn/trainer.h"

namespace flowpic {

// The IMC'23 replication's training (tcbench): LeNet, 32x32, fixed time axis, counts capped
// at 255, tcbench's arithmetic, Adam 0.01, batch 32, 50 epochs, early stop after 5 epochs
// without a validation-loss gain over 0.001, the validation split augmented too.
struct TcbenchPreset {
    static constexpr const char* arch = "lenet";
    static constexpr int resolution = 32;
    static constexpr const char* normalize = "fixed";
    static constexpr const char* direction = "none";
    static constexpr const char* values = "count";
    static constexpr uint32_t max_count = 255;
    static constexpr const char* arith = "tcbench";
    static constexpr double lr = 0.01;
    static constexpr int batch = 32;
    static constexpr int epochs = 50;
    static constexpr int early_stop = 5;
    static constexpr double early_stop_delta = 0.001;
    static constexpr const char* best_by = "loss";
    static constexpr bool augment_val = true;
};

// The augmentation of a run: `copies` samples per training window when kind is not none
// (1 otherwise), the validation split too when asked and active, drawn from `seed`.
AugmentOptions make_augment_options(AugmentKind kind, const AugmentParams& params, int copies, bool validation,
                                    uint64_t seed);

// The net for `binning` and `classes`, glorot-initialised from `seed`, in the backend's
// memory, checked to fit `batch` training images.  A resolution too small for the arch is
// a UsageError with the shape rule's message.
Network make_training_net(Arch arch, const BinningOptions& binning, int classes, uint64_t seed, Backend& be, int batch);

// The "trained" metadata (JSON text) of a model: dataset, epochs run, best epoch, seed,
// batch, lr, class weights; the preset, arch, stopping rule and augmentation only where a
// preset, an augmentation or a stopping delta is used (so other runs' metadata is as it
// always was).
struct TrainedInfo {
    std::string dataset, arch, class_weights = "none", best_by = "loss", preset;
    const TrainConfig* cfg = nullptr;
    int epochs_done = 0, best_epoch = 0;
};
std::string trained_metadata(const TrainedInfo& t);

}  // namespace flowpic
