#include "nn/trainer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "core/error.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/trace.h"
#include "flowpic/checksum.h"
#include "nn/safetensors.h"

namespace flowpic {

namespace {
double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

Trainer::Trainer(Backend& be, Network& net, const DatasetReader& ds, const BinningOptions& binning, TrainConfig cfg)
    : be_(be), net_(net), ds_(ds), cfg_(std::move(cfg)), train_(ds, kSplitTrain, binning, cfg_.augment),
      val_(ds, kSplitVal, binning, cfg_.augment.validation ? cfg_.augment : AugmentOptions{}), adam_(cfg_.adam) {
    if (train_.size() == 0) throw input_error(ds.path(), "the train split is empty: nothing to train on");
    if (cfg_.class_weights == ClassWeighting::kBalanced) {
        // sklearn / Keras "balanced": n_samples / (n_classes * n_c); classes absent from
        // the train split get weight 0 (they cannot occur as labels there anyway).
        std::vector<uint64_t> n = train_.class_counts();
        size_t present = 0;
        for (uint64_t c : n) present += c > 0;
        class_weights_.resize(n.size());
        for (size_t c = 0; c < n.size(); ++c)
            class_weights_[c] = n[c] ? float(double(train_.size()) / (double(present) * double(n[c]))) : 0.f;
    }
    // Train first: it gains most (every epoch sees every sample); validation takes the rest.
    // Not when the net takes these windows from packet entries anyway (few packets for
    // their pixels: the authors' 1500x1500), where images would go unused.
    auto worth_caching = [&](const DatasetLoader& l) {
        return l.image_input() ||
               !net_.uses_sparse_input(binning, l.window_packets() * uint64_t(l.augment().copies), l.size());
    };
    size_t budget = cfg_.image_cache_bytes;
    if (worth_caching(train_) && train_.cache_images(budget)) {
        budget -= train_.size() * image_size(binning) * sizeof(float);
        if (worth_caching(val_)) val_.cache_images(budget);
    }
    for (const Param& p : net_.params()) {
        best_.emplace_back(p.value->shape(), p.value->memory());
        best_.back().copy_from(*p.value);
    }
}

const Tensor* Trainer::load(DatasetLoader& loader, size_t first, size_t count, std::vector<int32_t>& labels,
                           PacketBatch& packets) {
    const BinningOptions& b = loader.binning();
    if (loader.cached()) {
        host_images_.resize(count * image_size(b));
        const uint64_t binned = loader.cached_images(first, count, labels, host_images_.data());
        // The net would take this batch from packet entries: keep its path (and its rounding).
        if (!loader.image_input() && net_.uses_sparse_input(b, binned, count)) {
            packets = PacketBatch{loader.views(first, count, labels), count, b};
            return nullptr;
        }
    } else if (!loader.image_input()) {
        packets = PacketBatch{loader.views(first, count, labels), count, loader.binning()};
        return nullptr;
    } else {
        host_images_.resize(count * image_size(b));
        loader.images(first, count, labels, host_images_.data());
    }
    images_.place(be_.memory());
    images_.reshape({int64_t(count), channels(b), b.resolution, b.resolution});
    images_.assign(host_images_.data());
    return &images_;
}

void Trainer::evaluate(DatasetLoader& loader, double& loss, double& accuracy) {
    Tensor probs, dlogits;
    std::vector<int32_t> labels;
    double loss_sum = 0;
    size_t correct = 0;
    for (size_t first = 0; first < loader.size(); first += size_t(cfg_.batch)) {
        size_t count = std::min(loader.size() - first, size_t(cfg_.batch));
        PacketBatch batch;
        const Tensor* x = load(loader, first, count, labels, batch);
        const Tensor& logits = x ? net_.forward(be_, *x, kInference) : net_.forward(be_, batch, kInference);
        probs.place(be_.memory());
        probs.reshape(logits.shape());
        const int k = int(logits.dim(1));
        double l = be_.softmax_xent_forward(logits.data(), labels.data(), nullptr, int(count), k, probs.data());
        loss_sum += l * double(count);
        const std::vector<float> host = probs.to_vector();
        for (size_t i = 0; i < count; ++i) {
            const float* p = host.data() + i * size_t(k);
            correct += size_t(std::max_element(p, p + k) - p) == size_t(labels[i]);
        }
    }
    loss = loader.size() ? loss_sum / double(loader.size()) : 0;
    accuracy = loader.size() ? double(correct) / double(loader.size()) : 0;
}

void Trainer::run(const std::function<void(const EpochRecord&)>& on_epoch) {
    Tensor probs, dlogits;
    std::vector<int32_t> labels;
    const float* weights = class_weights_.empty() ? nullptr : class_weights_.data();
    while (epoch_ < cfg_.epochs && !stopped_early_) {
        const int epoch = epoch_ + 1;
        const double t0 = now_s();
        train_.shuffle(cfg_.seed, uint64_t(epoch));
        Progress bar("epoch " + std::to_string(epoch) + "/" + std::to_string(cfg_.epochs), train_.size(), "images",
                     cfg_.progress, 2.0);
        double loss_sum = 0;
        size_t correct = 0, seen = 0, step_in_epoch = 0;
        for (size_t first = 0; first < train_.size(); first += size_t(cfg_.batch), ++step_in_epoch) {
            size_t count = std::min(train_.size() - first, size_t(cfg_.batch));
            PacketBatch batch;
            const Tensor* x = load(train_, first, count, labels, batch);
            StepContext ctx{true, mix_seed(cfg_.seed, uint64_t(adam_.step()) + 1)};
            StepResult r = x ? loss_and_gradients(be_, net_, *x, labels, weights, ctx, probs, dlogits)
                             : loss_and_gradients(be_, net_, batch, labels, weights, ctx, probs, dlogits);
            if (!std::isfinite(r.loss))
                throw InputError("training diverged: the loss is " + std::string(std::isnan(r.loss) ? "NaN" : "infinite") +
                                 " at epoch " + std::to_string(epoch) + ", step " + std::to_string(step_in_epoch + 1) +
                                 " (try a lower --lr)");
            adam_.update(be_, net_.params());
            loss_sum += r.loss * double(count);
            correct += r.correct;
            seen += count;
            char note[64];
            std::snprintf(note, sizeof note, "loss %.4f acc %.3f", loss_sum / double(seen), double(correct) / double(seen));
            bar.set_note(note);
            bar.update(seen, seen, "images");
        }
        bar.finish(seen, seen, "images");
        EpochRecord rec;
        rec.epoch = epoch;
        rec.train_loss = loss_sum / double(seen);
        rec.train_accuracy = double(correct) / double(seen);
        rec.has_val = val_.size() > 0;
        if (rec.has_val) evaluate(val_, rec.val_loss, rec.val_accuracy);
        rec.seconds = now_s() - t0;
        rec.images_per_s = double(seen) / rec.seconds;
        // Without a validation split the best model is judged on the training loss.
        const double metric = !rec.has_val ? -rec.train_loss
                              : cfg_.best_by == BestBy::kValLoss ? -rec.val_loss
                                                                 : rec.val_accuracy;
        // With delta 0 this is metric > best_metric_ exactly (x + 0 == x).
        if (best_epoch_ == 0 || metric > best_metric_ + cfg_.early_stop_delta) {
            best_metric_ = metric;
            best_epoch_ = epoch;
            since_best_ = 0;
            rec.best = true;
            auto params = net_.params();
            for (size_t i = 0; i < params.size(); ++i) best_[i].copy_from(*params[i].value);
        } else {
            ++since_best_;
        }
        epoch_ = epoch;
        if (cfg_.early_stop > 0 && since_best_ >= cfg_.early_stop) stopped_early_ = true;
        if (cfg_.checkpoint_every > 0 && !cfg_.checkpoint_path.empty() &&
            (epoch % cfg_.checkpoint_every == 0 || epoch == cfg_.epochs || stopped_early_))
            save_checkpoint();
        on_epoch(rec);
    }
}

void Trainer::restore_best() {
    auto params = net_.params();
    for (size_t i = 0; i < params.size(); ++i) params[i].value->copy_from(best_[i]);
}

// The checkpoint: a safetensors file (atomic, so a failed write, e.g. a full disk,
// leaves the previous checkpoint whole) with the weights under their own names, the Adam
// moments under adam.m./adam.v., the best weights under best., the counters, and a
// CRC-32C of all of it (metadata "crc32c"): a bit flipped on disk must not resume silently.
namespace {

constexpr char kCrcKey[] = "crc32c";

// What a resume must share about augmentation ("none" when off: the key is then not
// written, so checkpoints of runs without augmentation are as before).
std::string augment_key(const AugmentOptions& a) {
    if (!a.active()) return "none";
    return format_augment(a.kind, a.params) + " copies=" + std::to_string(a.copies) + " seed=" + std::to_string(a.seed) +
           (a.validation ? " validation" : "");
}

// A decimal integer in [lo, hi], or InputError naming the key: no std::stoi exceptions.
int64_t checkpoint_int(const std::string& path, const std::map<std::string, std::string>& md, const char* key,
                       int64_t lo, int64_t hi) {
    auto it = md.find(key);
    if (it == md.end()) throw input_error(path, std::string("not a flowpic checkpoint (no ") + key + ")");
    const std::string& v = it->second;
    char* end = nullptr;
    errno = 0;
    long long x = v.empty() || !(std::isdigit((unsigned char)v[0]) || v[0] == '-') ? 0 : std::strtoll(v.c_str(), &end, 10);
    if (!end || *end || errno || x < lo || x > hi)
        throw input_error(path, std::string("checkpoint ") + key + " is '" + v + "', not an integer in " +
                                    std::to_string(lo) + ".." + std::to_string(hi));
    return x;
}

}  // namespace

uint32_t checkpoint_checksum(const SafeTensorsFile& f) {
    uint32_t crc = 0;
    auto add = [&](const void* p, size_t n) { crc = crc32c(p, n, crc); };
    for (const auto& [k, v] : f.metadata) {  // std::map: sorted, the same order on both sides
        if (k == kCrcKey) continue;
        add(k.c_str(), k.size() + 1);
        add(v.c_str(), v.size() + 1);
    }
    std::vector<const SafeTensor*> order;
    for (const auto& t : f.tensors) order.push_back(&t);
    std::sort(order.begin(), order.end(), [](auto a, auto b) { return a->name < b->name; });
    for (const SafeTensor* t : order) {
        add(t->name.c_str(), t->name.size() + 1);
        const uint64_t rank = t->shape.size();
        add(&rank, sizeof rank);
        add(t->shape.data(), t->shape.size() * sizeof(int64_t));
        add(t->data.data(), t->data.size() * sizeof(float));
    }
    return crc;
}

CheckpointFile read_checkpoint(const std::string& path) {
    CheckpointFile c;
    c.file = read_safetensors(path);
    const auto& md = c.file.metadata;
    auto format = md.find("format");
    if (format == md.end() || format->second != "flowpic-checkpoint") throw input_error(path, "not a flowpic checkpoint");
    auto version = md.find("version");
    if (version == md.end() || version->second != "1")
        throw input_error(path, "unsupported checkpoint version '" + (version == md.end() ? "" : version->second) +
                                    "' (this flowpic reads version 1)");
    for (const char* k : {"arch", "resolution", "seed", "batch", "best_metric", "stopped_early", kCrcKey})
        if (!md.count(k))
            throw input_error(path, std::string("not a flowpic checkpoint (no ") + k + ")" +
                                        (std::string(k) == kCrcKey ? ": made by an older flowpic; train without --resume" : ""));
    char want[16];
    std::snprintf(want, sizeof want, "%08x", checkpoint_checksum(c.file));
    if (md.at(kCrcKey) != want)
        throw input_error(path, "checkpoint checksum mismatch (stored " + md.at(kCrcKey) + ", computed " + want +
                                    "): corrupt file, resume from an intact checkpoint or start over");
    c.epoch = int(checkpoint_int(path, md, "epoch", 0, INT32_MAX));
    c.adam_step = checkpoint_int(path, md, "adam_step", 0, INT64_MAX);
    c.best_epoch = int(checkpoint_int(path, md, "best_epoch", 0, c.epoch));
    c.since_best = int(checkpoint_int(path, md, "since_best", 0, c.epoch));
    const std::string& metric = md.at("best_metric");
    char* end = nullptr;
    c.best_metric = std::strtod(metric.c_str(), &end);
    if (metric.empty() || *end || !std::isfinite(c.best_metric))
        throw input_error(path, "checkpoint best_metric is '" + metric + "', not a finite number");
    const std::string& stopped = md.at("stopped_early");
    if (stopped != "0" && stopped != "1") throw input_error(path, "checkpoint stopped_early is '" + stopped + "', not 0 or 1");
    c.stopped_early = stopped == "1";
    for (const auto& t : c.file.tensors)
        for (size_t i = 0; i < t.data.size(); ++i)
            if (!std::isfinite(t.data[i]))
                throw input_error(path, "checkpoint tensor " + t.name + " holds a non-finite value at element " +
                                            std::to_string(i));
    return c;
}

void Trainer::save_checkpoint() const {
    SafeTensorsFile f;
    auto params = net_.params();
    auto add = [&](const std::string& name, const Tensor& t) {
        f.tensors.push_back({name, t.shape(), t.to_vector()});
        for (float v : f.tensors.back().data)
            if (!std::isfinite(v))
                throw input_error(cfg_.checkpoint_path, "refusing to write a checkpoint whose tensor " + name +
                                                            " holds a non-finite value (after epoch " +
                                                            std::to_string(epoch_) + ")");
    };
    auto& moments = const_cast<Adam&>(adam_).moments();
    for (size_t i = 0; i < params.size(); ++i) {
        add(params[i].name, *params[i].value);
        add("best." + params[i].name, best_[i]);
        if (!moments.empty()) {
            add("adam.m." + params[i].name, moments[2 * i]);
            add("adam.v." + params[i].name, moments[2 * i + 1]);
        }
    }
    char metric[64];
    std::snprintf(metric, sizeof metric, "%.17g", best_metric_);
    f.metadata = {{"format", "flowpic-checkpoint"}, {"version", "1"},
                  {"epoch", std::to_string(epoch_)}, {"adam_step", std::to_string(adam_.step())},
                  {"best_epoch", std::to_string(best_epoch_)}, {"best_metric", metric},
                  {"since_best", std::to_string(since_best_)}, {"seed", std::to_string(cfg_.seed)},
                  {"batch", std::to_string(cfg_.batch)}, {"arch", arch_name(net_.spec().arch)},
                  {"resolution", std::to_string(net_.spec().resolution)},
                  {"stopped_early", stopped_early_ ? "1" : "0"}};
    if (cfg_.augment.active()) f.metadata["augment"] = augment_key(cfg_.augment);
    char crc[16];
    std::snprintf(crc, sizeof crc, "%08x", checkpoint_checksum(f));
    f.metadata[kCrcKey] = crc;
    write_safetensors(cfg_.checkpoint_path, f);
}

void Trainer::resume_from(const std::string& path) {
    CheckpointFile c = read_checkpoint(path);
    const SafeTensorsFile& f = c.file;
    auto md = [&](const char* k) -> const std::string& { return f.metadata.at(k); };
    if (md("arch") != arch_name(net_.spec().arch) || md("resolution") != std::to_string(net_.spec().resolution) ||
        md("seed") != std::to_string(cfg_.seed) || md("batch") != std::to_string(cfg_.batch))
        throw input_error(path, "checkpoint was made with other settings (arch " + md("arch") + ", resolution " +
                                    md("resolution") + ", seed " + md("seed") + ", batch " + md("batch") +
                                    "): resume with the same options");
    const auto aug = f.metadata.find("augment");
    const std::string made = aug == f.metadata.end() ? "none" : aug->second, now = augment_key(cfg_.augment);
    if (made != now)
        throw input_error(path, "checkpoint was made with augmentation '" + made + "', this run has '" + now +
                                    "': resume with the same --augment options");
    auto params = net_.params();
    auto& moments = adam_.moments();
    moments.clear();
    auto take = [&](const std::string& name, Tensor& dst) {
        const SafeTensor* t = f.find(name);
        if (!t || t->shape != dst.shape()) throw input_error(path, "checkpoint lacks tensor " + name + " of shape " + shape_string(dst.shape()));
        dst.assign(t->data.data());
    };
    const bool has_moments = f.find("adam.m." + params[0].name) != nullptr;
    for (size_t i = 0; i < params.size(); ++i) {
        take(params[i].name, *params[i].value);
        take("best." + params[i].name, best_[i]);
        if (has_moments) {
            moments.emplace_back(params[i].value->shape(), params[i].value->memory());
            take("adam.m." + params[i].name, moments.back());
            moments.emplace_back(params[i].value->shape(), params[i].value->memory());
            take("adam.v." + params[i].name, moments.back());
        }
    }
    epoch_ = c.epoch;
    adam_.set_step(c.adam_step);
    best_epoch_ = c.best_epoch;
    best_metric_ = c.best_metric;
    since_best_ = c.since_best;
    stopped_early_ = c.stopped_early;
}

}  // namespace flowpic
