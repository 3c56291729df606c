// flowpic-train: dataset file -> trained model file, on the CPU or a CUDA device.
#include <omp.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "apps/binning_flags.h"
#include "flowpic/augment.h"
#include "apps/cli.h"
#include "core/error.h"
#include "core/line_log.h"
#include "flowpic/dataset_file.h"
#include "apps/device_flag.h"
#include "kernels/cuda/device.h"
#include "nn/model_file.h"
#include "nn/train_recipe.h"
#include "nn/trainer.h"

using namespace flowpic;

namespace {

const char* kDescription =
    "flowpic-train: train FlowPicNet (the authors' CNN) or mini-FlowPic LeNet on a dataset\n"
    "from flowpic-prep, validating on its validation split after every epoch and keeping\n"
    "the best model.  Images are binned from the packet lists on the fly, so resolution,\n"
    "normalisation and direction encoding are chosen here; they are stored in the model\n"
    "with the dataset's preparation settings, so flowpic-infer redoes both exactly.\n";

const char* kFooter =
    "\nExamples:\n"
    "  flowpic-train --data synth.fpd -o model.safetensors --arch lenet --resolution 32 --epochs 20\n"
    "  flowpic-train --data iscx.fpd -o flowpic.safetensors                  # the authors' setup: 1500x1500\n"
    "  flowpic-train --data d.fpd -o m.safetensors --checkpoint-every 1      # then, after a crash: --resume\n"
    "  flowpic-train --data d.fpd -o m.safetensors --class-weights balanced --early-stop 5 --metrics m.jsonl\n"
    "  flowpic-train --data iscx.fpd -o m.safetensors --device cuda         # our CUDA kernels on GPU 0\n"
    "  flowpic-train --data ucdavis.fpd -o m.safetensors --preset tcbench   # the IMC'23 protocol's training\n"
    "  flowpic-train --data ucdavis.fpd -o m.safetensors --preset tcbench --augment changertt\n"
    "  flowpic-train --data ucdavis-first30.fpd -o m.safetensors --preset tcbench --time-axis 15 --augment changertt\n"
    "      # prep --first 30 windows binned on [0, 15 s): the flow's later packets an augmentation pulls in\n"
    "  flowpic-train --data d.fpd -o m.safetensors --preset tcbench --augment rotate --augment-param degrees=5 --epochs 30\n"
    "\nDefaults follow the authors' Keras notebook: Adam (lr 1e-3, beta 0.9/0.999, eps 1e-7),\n"
    "batch 128, 40 epochs, glorot-uniform weights.  Same seed, data and threads give\n"
    "identical results; a resumed run ends exactly where an uninterrupted one does.\n"
    "--device auto (the default) trains on the GPU when one is present; the CUDA kernels are\n"
    "deterministic too, and agree with the CPU to float rounding (not bit for bit).\n"
    "The metrics file gets one JSON line per epoch (epoch, train/val loss and accuracy,\n"
    "seconds, images/s, best).\n"
    "\nAugmentation at loading (--augment, docs/TRAIN.md): each training window gives\n"
    "--augment-copies samples, itself and C-1 augmented versions with parameters drawn from\n"
    "(--seed, window, copy): the same samples every epoch, on every backend, and after a\n"
    "resume.  changertt, timeshift and packetloss change the packet list (times x alpha,\n"
    "times + b, a 2 x loss s gap) before binning; rotate, hflip and colorjitter change the\n"
    "image.  --augment-param KEY=VALUE (repeatable): alpha=0.5:1.5 (changertt), shift=1\n"
    "(timeshift, seconds), loss=0.1 (packetloss, seconds), degrees=10 (rotate), p=0.5 (hflip),\n"
    "brightness=0.8 and contrast=0.8 (colorjitter); the defaults are tcbench's.\n"
    "\nExit codes: 0 success, 1 bad input (one line on stderr naming the file), 2 usage error.\n";

// The preset's values, each applied only where its flag is not given (CLI11's count()).
const char* kTcbenchPreset =
    "--arch lenet --resolution 32 --normalize fixed --direction none --values count --max-count 255 --bin-arith tcbench "
    "--lr 0.01 --batch 32 --epochs 50 --early-stop 5 --early-stop-delta 0.001 --best-by loss --augment-val";

}  // namespace

int main(int argc, char** argv) {
    CLI::App app(kDescription, "flowpic-train");
    app.footer(kFooter);
    std::string data, out, arch = "flowpic", device = "auto", class_weights = "none", best_by = "loss", metrics,
                               checkpoint;
    TrainConfig cfg;
    BinningFlags binning;
    int threads = 0;
    int image_cache_mb = 1024;
    bool resume = false, quiet = false, json = false, augment_val = false;
    std::string preset, augment = "none";
    int augment_copies = 10;
    std::vector<std::string> augment_params;
    app.add_option("--data", data, "dataset file from flowpic-prep")->required();
    app.add_option("-o,--output", out, "model file to write (safetensors)")->required();
    app.add_option("--arch", arch, "flowpic (the authors' CNN) or lenet (mini-FlowPic, for 32/64)")->default_val(arch);
    binning.add_to(app);
    app.add_option("--epochs", cfg.epochs, "epochs")->default_val(40)->check(CLI::Range(1, 100000));
    app.add_option("--batch", cfg.batch, "images per step")->default_val(128)->check(CLI::Range(1, 65536));
    app.add_option("--lr", cfg.adam.lr, "Adam learning rate")->default_val(1e-3)->check(positive());
    app.add_option("--seed", cfg.seed, "seed for weights, batch order and dropout")->default_val(1)->check(non_negative());
    app.add_option("--class-weights", class_weights, "none, or balanced (n / (classes * n_class), the seed's weighted run)")
        ->default_val(class_weights);
    app.add_option("--best-by", best_by, "keep the model with the best validation loss or accuracy")->default_val(best_by);
    app.add_option("--early-stop", cfg.early_stop, "stop after this many epochs without a better model (0 = off)")
        ->default_val(0)->check(non_negative());
    app.add_option("--early-stop-delta", cfg.early_stop_delta,
                   "a better model must beat the best validation loss (or accuracy) by more than this (tcbench: 0.001)")
        ->default_val(0)->check(non_negative());
    app.add_option("--preset", preset,
                   std::string("tcbench: the IMC'23 replication's training, i.e. ") + kTcbenchPreset +
                       "; a flag given on the command line wins over its preset value")
        ->check(CLI::IsMember({"tcbench"}));
    app.add_option("--augment", augment,
                   "augmentation at loading: none, changertt, timeshift, packetloss, rotate, hflip, colorjitter")
        ->default_val(augment)->group("Augmentation");
    app.add_option("--augment-copies", augment_copies, "samples per training window, the original included")
        ->default_val(augment_copies)->check(CLI::Range(1, 1000))->group("Augmentation");
    app.add_option("--augment-param", augment_params, "KEY=VALUE of the augmentation, e.g. alpha=0.5:1.5 (repeatable)")
        ->group("Augmentation");
    app.add_flag("--augment-val,!--no-augment-val", augment_val,
                 "augment the validation split too (off by default; tcbench, so --preset tcbench, has it on)")
        ->group("Augmentation");
    add_device_flag(&app, device);
    app.add_option("--threads", threads, "CPU threads (0 = all cores, at most 1024)")->default_val(0)->check(number_in(0, kMaxThreads));
    app.add_option("--image-cache", image_cache_mb,
                   "MiB for the train and validation images, binned and augmented once instead of every epoch "
                   "(0 = off; a split that does not fit is binned per batch; same results either way)")
        ->default_val(image_cache_mb)->check(number_in(0, 1 << 20));
    app.add_option("--metrics", metrics, "append one JSON line per epoch to FILE");
    app.add_option("--checkpoint-every", cfg.checkpoint_every, "write a checkpoint every N epochs")
        ->default_val(0)->check(non_negative());
    app.add_option("--checkpoint", checkpoint, "checkpoint file (default: OUTPUT.ckpt)");
    app.add_flag("--resume", resume, "continue from the checkpoint");
    app.add_flag("--json", json, "print a summary as JSON on stdout");
    app.add_flag("-q,--quiet", quiet, "no progress on stderr");

    return run_cli(app, argc, argv, [&]() {
        auto given = [&](const char* flag) { return app.get_option(flag)->count() > 0; };
        if (preset == "tcbench") {
            using P = TcbenchPreset;
            if (!given("--arch")) arch = P::arch;
            if (!given("--resolution")) binning.resolution = P::resolution;
            if (!given("--normalize")) binning.normalize = P::normalize;
            if (!given("--direction")) binning.direction = P::direction;
            if (!given("--values")) binning.values = P::values;
            if (!given("--max-count")) binning.max_count = P::max_count;
            if (!given("--bin-arith")) binning.arith = P::arith;
            if (!given("--lr")) cfg.adam.lr = P::lr;
            if (!given("--batch")) cfg.batch = P::batch;
            if (!given("--epochs")) cfg.epochs = P::epochs;
            if (!given("--early-stop")) cfg.early_stop = P::early_stop;
            if (!given("--early-stop-delta")) cfg.early_stop_delta = P::early_stop_delta;
            if (!given("--best-by")) best_by = P::best_by;
            if (!given("--augment-val")) augment_val = P::augment_val;
        }
        const AugmentKind aug_kind = parse_augment(augment);
        if (aug_kind == AugmentKind::none && given("--augment-copies"))
            throw UsageError("--augment-copies needs --augment NAME (changertt, timeshift, ...)");
        if (aug_kind == AugmentKind::none && augment_val && given("--augment-val"))
            throw UsageError("--augment-val needs --augment NAME (changertt, timeshift, ...)");
        if (aug_kind == AugmentKind::none && !augment_params.empty())
            throw UsageError("--augment-param needs --augment NAME (changertt, timeshift, ...)");
        AugmentParams aug_params;
        for (const std::string& kv : augment_params) set_augment_param(aug_params, aug_kind, kv);
        cfg.augment = make_augment_options(aug_kind, aug_params, augment_copies, augment_val, cfg.seed);
        const Arch net_arch = parse_arch(arch);
        const BinningOptions b = binning.options();
        if (cfg.augment.active()) validate(cfg.augment, b);
        if ((aug_kind == AugmentKind::changertt || aug_kind == AugmentKind::timeshift) && b.normalize == Normalize::span)
            std::fprintf(stderr,
                         "flowpic-train: warning: --augment %s with --normalize span: the time axis spans first..last "
                         "packet, so %s hardly changes the image (use --normalize fixed, as --preset tcbench does)\n",
                         augment.c_str(), aug_kind == AugmentKind::changertt ? "scaling the times" : "a shift");
        if (class_weights != "none" && class_weights != "balanced")
            throw UsageError("--class-weights: invalid value '" + class_weights + "' (expected none or balanced)");
        cfg.class_weights = class_weights == "balanced" ? ClassWeighting::kBalanced : ClassWeighting::kNone;
        if (best_by != "loss" && best_by != "accuracy")
            throw UsageError("--best-by: invalid value '" + best_by + "' (expected loss or accuracy)");
        cfg.best_by = best_by == "loss" ? BestBy::kValLoss : BestBy::kValAccuracy;
        auto be = make_backend(device);
        if (threads > 0) omp_set_num_threads(threads);
        cfg.progress = !quiet;
        cfg.image_cache_bytes = size_t(image_cache_mb) << 20;
        cfg.checkpoint_path = checkpoint.empty() ? out + ".ckpt" : checkpoint;
        if (resume && cfg.checkpoint_every == 0) cfg.checkpoint_every = 1;
        // Every output is checked before training: a run is never lost to an unwritable
        // path at its end, and no output may be the dataset (or another output).
        std::vector<NamedOutput> outputs = {{"-o", out}, {"--metrics", metrics}};
        if (cfg.checkpoint_every > 0) outputs.push_back({"--checkpoint", cfg.checkpoint_path});
        check_outputs({data}, outputs);

        DatasetReader ds(data);
        if (ds.classes().size() < 2)
            throw input_error(data, "has " + std::to_string(ds.classes().size()) + " class(es): training needs at least 2");
        ModelSettings settings;  // what the model will record: checked before any training
        settings.binning = b;
        settings.prep = parse_prep_settings(ds.prep_json(), data);
        Network net = make_training_net(net_arch, b, int(ds.classes().size()), cfg.seed, *be, cfg.batch);
        Trainer trainer(*be, net, ds, b, cfg);
        if (resume) trainer.resume_from(cfg.checkpoint_path);
        std::unique_ptr<LineLog> metrics_log;
        if (!metrics.empty()) metrics_log = std::make_unique<LineLog>(metrics);
        std::string metrics_error;  // a failed metrics write does not stop training
        if (!quiet)
            std::fprintf(stderr, "training %s (%zu parameters) on %s: %s, %s backend, %d threads\n", arch.c_str(),
                         net.parameter_count(), data.c_str(), format_options(b).c_str(), be->name().c_str(),
                         omp_get_max_threads());
        char delta[32];
        std::snprintf(delta, sizeof delta, "%g", cfg.early_stop_delta);
        const std::string aug_text =
            !cfg.augment.active() ? "none"
                                  : format_augment(cfg.augment.kind, cfg.augment.params) + " x" +
                                        std::to_string(cfg.augment.copies) +
                                        (cfg.augment.validation ? " (train and validation)" : " (train only)");
        if (!quiet)
            std::fprintf(stderr, "settings%s%s: epochs %d, batch %d, lr %g, early stop %d (delta %s), best by %s, augment %s\n",
                         preset.empty() ? "" : " of preset ", preset.c_str(), cfg.epochs, cfg.batch, cfg.adam.lr,
                         cfg.early_stop, delta, best_by.c_str(), aug_text.c_str());
        trainer.run([&](const EpochRecord& r) {
            if (!quiet) {
                std::fprintf(stderr, "epoch %d/%d: loss %.4f acc %.3f", r.epoch, cfg.epochs, r.train_loss, r.train_accuracy);
                if (r.has_val) std::fprintf(stderr, " | val loss %.4f acc %.3f", r.val_loss, r.val_accuracy);
                std::fprintf(stderr, " | %.1f s, %.0f images/s%s\n", r.seconds, r.images_per_s, r.best ? "  *best" : "");
            }
            if (metrics_log) {
                nlohmann::json j{{"epoch", r.epoch}, {"train_loss", r.train_loss}, {"train_accuracy", r.train_accuracy},
                                 {"seconds", r.seconds}, {"images_per_s", r.images_per_s}, {"best", r.best}};
                if (r.has_val) {
                    j["val_loss"] = r.val_loss;
                    j["val_accuracy"] = r.val_accuracy;
                }
                try {
                    metrics_log->append(j.dump());
                } catch (const InputError& e) {
                    metrics_error = e.what();
                    std::fprintf(stderr, "flowpic-train: %s; training goes on without metrics\n", e.what());
                    metrics_log.reset();
                }
            }
        });
        trainer.restore_best();
        TrainedInfo trained{data, arch, class_weights, best_by, preset, &cfg, trainer.epochs_done(), trainer.best_epoch()};
        save_model(out, net, ds.classes(), settings, {{"trained", trained_metadata(trained)}});
        if (!quiet)
            std::fprintf(stderr, "wrote %s (best epoch %d of %d%s)\n", out.c_str(), trainer.best_epoch(),
                         trainer.epochs_done(), trainer.stopped_early() ? ", stopped early" : "");
        if (json)
            std::printf("%s\n", nlohmann::json{{"model", out}, {"best_epoch", trainer.best_epoch()},
                                               {"epochs", trainer.epochs_done()}, {"stopped_early", trainer.stopped_early()}}
                                    .dump().c_str());
        if (!metrics_error.empty()) throw InputError(metrics_error + " (the model was written; the metrics file is incomplete)");
        return 0;
    });
}
