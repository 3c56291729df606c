// flowpic-infer --images: a model over dense images from a .npy, one row per image.
#include <cmath>
#include <cstdio>
#include <optional>
#include <nlohmann/json.hpp>

#include "apps/infer.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/progress.h"
#include "flowpic/npy.h"
#include "nn/evaluate.h"
#include "nn/metrics.h"
#include "nn/model_file.h"

namespace flowpic {
namespace {

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

}  // namespace

int run_images(const ImagesRequest& r) {
    const std::string &model_path = r.model_path, &images = r.images, &output = r.output;
    const int batch = r.batch;
    const bool json = r.json, quiet = r.quiet;
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
    if (m.info.binning_recorded) rule = PixelRule{model_binning(m.info, model_path)};
    uint64_t off_rule = 0, first_off = 0;
    float first_value = 0;
    auto be = make_backend(r.device);
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


}  // namespace flowpic
