// Training: epochs of shuffled mini-batches from the train split, validation after every
// epoch, the best weights kept (by validation loss or accuracy), early stopping, and
// checkpoints that make a killed run resume with exactly the result of an uninterrupted
// one (on the CPU): the batch order is a function of (seed, epoch), dropout masks of
// (seed, step), augmented samples of (seed, window, copy), and the checkpoint holds
// weights, Adam moments and the best-so-far state.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "flowpic/dataset_file.h"
#include "nn/loader.h"
#include "nn/network.h"
#include "nn/optimizer.h"
#include "nn/safetensors.h"

namespace flowpic {

enum class ClassWeighting { kNone, kBalanced };
enum class BestBy { kValLoss, kValAccuracy };

// A checkpoint read and checked on its own (no net needed): format, version, the CRC-32C
// of its metadata and tensors (metadata "crc32c"), counters in range, finite values.
// Every problem is an InputError "path: what".
struct CheckpointFile {
    SafeTensorsFile file;
    int epoch = 0, best_epoch = 0, since_best = 0;
    int64_t adam_step = 0;
    double best_metric = 0;
    bool stopped_early = false;
};
CheckpointFile read_checkpoint(const std::string& path);
// The checksum stored under "crc32c": every metadata key but itself, and every tensor's
// name, shape and data (by name, so the order a writer chose does not matter).
uint32_t checkpoint_checksum(const SafeTensorsFile& f);

struct TrainConfig {
    int epochs = 40;
    int batch = 128;
    AdamParams adam;
    uint64_t seed = 1;
    ClassWeighting class_weights = ClassWeighting::kNone;
    BestBy best_by = BestBy::kValLoss;
    int early_stop = 0;         // stop after this many epochs without a better model; 0 = off
    // A better model must beat the best metric by more than this (tcbench's min_delta:
    // best_loss - loss > delta); 0 = any improvement, as before.  Applies to the best
    // model kept as well as to early stopping: one rule, as in tcbench.
    double early_stop_delta = 0;
    AugmentOptions augment;     // the train split's copies (and validation's, if augment.validation)
    int checkpoint_every = 0;   // epochs between checkpoints; 0 = none
    std::string checkpoint_path;
    // Memory for the train and validation splits' images, binned (and augmented) once
    // instead of every epoch (DatasetLoader::cache_images); a split that does not fit is
    // binned per batch as without a cache.  0 = no cache.  Same results either way.
    size_t image_cache_bytes = size_t(1) << 30;
    bool progress = true;
};

struct EpochRecord {
    int epoch = 0;  // 1-based
    double train_loss = 0, train_accuracy = 0;
    double val_loss = 0, val_accuracy = 0;
    bool has_val = false;
    double seconds = 0, images_per_s = 0;
    bool best = false;
};

class Trainer {
public:
    Trainer(Backend& be, Network& net, const DatasetReader& ds, const BinningOptions& binning, TrainConfig cfg);

    // Continues from the checkpoint's state (throws InputError if it is corrupt or does
    // not fit).  Checkpoints with a non-finite value are never written (InputError).
    void resume_from(const std::string& checkpoint);
    // Runs the remaining epochs; on_epoch sees every finished epoch.  Throws InputError
    // on a NaN/infinite loss, naming the epoch and step.
    void run(const std::function<void(const EpochRecord&)>& on_epoch);
    // Copies the best weights seen (or the last ones when there was no validation) into net.
    void restore_best();

    const std::vector<float>& class_weights() const { return class_weights_; }
    int best_epoch() const { return best_epoch_; }
    double best_metric() const { return best_metric_; }
    int epochs_done() const { return epoch_; }
    bool stopped_early() const { return stopped_early_; }
    bool train_images_cached() const { return train_.cached(); }

private:
    void save_checkpoint() const;
    void evaluate(DatasetLoader& loader, double& loss, double& accuracy);
    // Loads samples [first, first + count) of loader; returns the host images' tensor on
    // this backend when the loader makes images (image augmentations), else nullptr and
    // the packet batch in `packets`.
    const Tensor* load(DatasetLoader& loader, size_t first, size_t count, std::vector<int32_t>& labels,
                       PacketBatch& packets);

    Backend& be_;
    Network& net_;
    const DatasetReader& ds_;
    TrainConfig cfg_;
    DatasetLoader train_, val_;
    Adam adam_;
    std::vector<float> class_weights_;  // empty: none
    std::vector<Tensor> best_;          // best weights, parameter order
    std::vector<float> host_images_;    // image augmentations: one batch on the host ...
    Tensor images_;                     // ... and on the backend
    double best_metric_ = 0;
    int best_epoch_ = 0, epoch_ = 0, since_best_ = 0;
    bool stopped_early_ = false;
};

}  // namespace flowpic
