#include "flowpic/png_image.h"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/atomic_file.h"
#include "core/error.h"

namespace flowpic {

namespace {

constexpr int kAutoPixels = 512;  // automatic upscaling stops below this picture size

// Darkness in [0, 1] of a value, given log1p of the image's largest value.
float darkness(float v, float log_max) {
    if (!(v > 0.0f)) return 0.0f;  // zero, negative and NaN all draw as background
    return 0.3f + 0.7f * std::min(1.0f, std::log1p(v) / log_max);
}

uint8_t byte(float x) { return uint8_t(std::lround(255.0f * std::clamp(x, 0.0f, 1.0f))); }

void append_bytes(void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    const auto* p = static_cast<const uint8_t*>(data);
    out->insert(out->end(), p, p + size);
}

}  // namespace

int png_scale(int n, const PngOptions& opts) {
    if (opts.scale > 0) return opts.scale;
    return std::max(1, kAutoPixels / std::max(1, n));
}

std::vector<uint8_t> encode_flowpic_png(const float* image, int channels, int n,
                                        const PngOptions& opts) {
    if (channels != 1 && channels != 2) throw std::invalid_argument("PNG: channels must be 1 or 2");
    if (n < 1) throw std::invalid_argument("PNG: empty image");
    const int s = png_scale(n, opts);
    const long side = long(n) * s;
    if (side > 65535) throw UsageError("PNG: " + std::to_string(side) + " pixels wide is too large");
    const size_t nn = size_t(n) * size_t(n);
    float vmax = 0.0f;
    for (size_t i = 0; i < nn * size_t(channels); ++i)
        if (image[i] > vmax) vmax = image[i];
    const float log_max = std::log1p(std::max(vmax, 1e-30f));

    const int comp = channels == 1 ? 1 : 3;
    std::vector<uint8_t> pixels(size_t(side) * size_t(side) * size_t(comp));
    for (int row = 0; row < n; ++row) {
        const int y0 = (n - 1 - row) * s;  // small sizes at the bottom
        for (int col = 0; col < n; ++col) {
            uint8_t rgb[3];
            const float a0 = darkness(image[size_t(row) * n + col], log_max);
            if (channels == 1) {
                rgb[0] = byte(1.0f - a0);
            } else {
                const float a1 = darkness(image[nn + size_t(row) * n + col], log_max);
                rgb[0] = byte(1.0f - a1);                   // blue ink absorbs red and green
                rgb[1] = byte((1.0f - a0) * (1.0f - a1));
                rgb[2] = byte(1.0f - a0);                   // red ink absorbs green and blue
            }
            for (int dy = 0; dy < s; ++dy) {
                uint8_t* p = &pixels[((size_t(y0) + dy) * side + size_t(col) * s) * comp];
                for (int dx = 0; dx < s; ++dx, p += comp) std::copy(rgb, rgb + comp, p);
            }
        }
    }
    std::vector<uint8_t> png;
    if (!stbi_write_png_to_func(append_bytes, &png, int(side), int(side), comp, pixels.data(),
                                int(side) * comp))
        throw std::runtime_error("PNG encoding failed");
    return png;
}

void write_flowpic_png(const std::string& path, const float* image, int channels, int n,
                       const PngOptions& opts) {
    const std::vector<uint8_t> png = encode_flowpic_png(image, channels, n, opts);
    write_file_atomic(path, png.data(), png.size());
}

}  // namespace flowpic
