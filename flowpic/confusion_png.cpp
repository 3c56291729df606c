#include "flowpic/confusion_png.h"

#include <stb/stb_image_write.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/atomic_file.h"

namespace flowpic {

namespace {

constexpr int kFont = 2;       // image pixels per font unit
constexpr int kGap = 8;        // margin between blocks
constexpr size_t kMaxName = 24;  // longer class names are cut

struct Rgb { uint8_t r, g, b; };
const Rgb kBlack{0, 0, 0}, kWhite{255, 255, 255};

// White -> dark blue (matplotlib's "Blues" ends), linear in the fraction.
Rgb shade(double f) {
    f = std::clamp(f, 0.0, 1.0);
    auto mix = [f](int a, int b) { return uint8_t(std::lround(a + (b - a) * f)); };
    return {mix(247, 8), mix(251, 48), mix(255, 107)};
}

class Canvas {
public:
    Canvas(int w, int h) : img_{w, h, std::vector<uint8_t>(size_t(w) * size_t(h) * 3, 255)} {}
    ConfusionImage& image() { return img_; }

    void fill(int x0, int y0, int x1, int y1, Rgb c) {  // [x0, x1) x [y0, y1), clipped
        x0 = std::max(x0, 0), y0 = std::max(y0, 0);
        x1 = std::min(x1, img_.width), y1 = std::min(y1, img_.height);
        for (int y = y0; y < y1; ++y)
            for (int x = x0; x < x1; ++x) {
                uint8_t* p = &img_.rgb[(size_t(y) * size_t(img_.width) + size_t(x)) * 3];
                p[0] = c.r, p[1] = c.g, p[2] = c.b;
            }
    }
    // Text with its top-left corner at (x, y); vertical: rotated a quarter turn
    // anticlockwise, (x, y) then being its bottom-left corner (reads bottom to top).
    void text(int x, int y, const std::string& s, Rgb c, bool vertical = false) {
        std::vector<char> buf(s.size() * 300 + 1024);
        std::string t = s;
        int quads = stb_easy_font_print(0, 0, t.data(), nullptr, buf.data(), int(buf.size()));
        for (int q = 0; q < quads; ++q) {
            const float* v0 = reinterpret_cast<const float*>(buf.data() + size_t(q) * 64);       // top-left
            const float* v2 = reinterpret_cast<const float*>(buf.data() + size_t(q) * 64 + 32);  // bottom-right
            const int ax = int(std::lround(v0[0] * kFont)), ay = int(std::lround(v0[1] * kFont));
            const int bx = int(std::lround(v2[0] * kFont)), by = int(std::lround(v2[1] * kFont));
            if (vertical)
                fill(x + ay, y - bx, x + by, y - ax, c);
            else
                fill(x + ax, y + ay, x + bx, y + by, c);
        }
    }

private:
    ConfusionImage img_;
};

int text_width(const std::string& s) {
    std::string t = s;
    return stb_easy_font_width(t.data()) * kFont;
}
constexpr int kTextHeight = 8 * kFont;  // capitals and digits are 7 units tall, plus a row

std::string cut(const std::string& s) { return s.size() <= kMaxName ? s : s.substr(0, kMaxName - 1) + "~"; }

}  // namespace

ConfusionImage draw_confusion(const std::vector<std::vector<uint64_t>>& confusion,
                              const std::vector<std::string>& classes, const std::string& title) {
    const int k = int(classes.size());
    if (k == 0 || confusion.size() != classes.size()) throw std::invalid_argument("confusion PNG: shape mismatch");
    int name_w = 0, count_w = 0;
    uint64_t total = 0;
    for (int i = 0; i < k; ++i) {
        if (confusion[size_t(i)].size() != classes.size()) throw std::invalid_argument("confusion PNG: not square");
        name_w = std::max(name_w, text_width(cut(classes[size_t(i)])));
        for (uint64_t v : confusion[size_t(i)]) count_w = std::max(count_w, text_width(std::to_string(v))), total += v;
    }
    const int cell = std::max(44, count_w + 2 * kGap);
    const std::string heading = title.empty() ? "confusion matrix (" + std::to_string(total) + " windows)" : title;
    const std::string axis_rows = "true", axis_cols = "predicted", legend = "colour: share of the row";
    // Blocks, left to right: row axis caption, row names, cells, colour bar with labels.
    const int left = kGap + kTextHeight + kGap + name_w + kGap;
    const int top = kGap + kTextHeight + kGap + kTextHeight + kGap + name_w + kGap;
    const int grid = cell * k;
    const int bar_x = left + grid + 2 * kGap, bar_w = 16;
    const int width = std::max({bar_x + bar_w + kGap + text_width("100%") + kGap, kGap + text_width(heading) + kGap,
                                left + text_width(legend) + kGap});
    const int height = top + std::max(grid, 5 * kTextHeight) + kGap + kTextHeight + kGap;
    Canvas cv(width, height);

    cv.text(kGap, kGap, heading, kBlack);
    cv.text(left + (grid - text_width(axis_cols)) / 2, 2 * kGap + kTextHeight, axis_cols, kBlack);
    cv.text(kGap, top + (grid + text_width(axis_rows)) / 2, axis_rows, kBlack, true);
    for (int i = 0; i < k; ++i) {
        const std::string name = cut(classes[size_t(i)]);
        // Column names end just above the grid; row names are right-aligned to it.
        cv.text(left + i * cell + (cell - kTextHeight) / 2 + kFont, top - kGap, name, kBlack, true);
        cv.text(left - kGap - text_width(name), top + i * cell + (cell - kTextHeight) / 2 + kFont, name, kBlack);
    }
    for (int t = 0; t < k; ++t) {
        uint64_t row = 0;
        for (uint64_t v : confusion[size_t(t)]) row += v;
        for (int p = 0; p < k; ++p) {
            const uint64_t v = confusion[size_t(t)][size_t(p)];
            const double f = row ? double(v) / double(row) : 0.0;
            const int x = left + p * cell, y = top + t * cell;
            cv.fill(x, y, x + cell, y + cell, shade(f));
            const std::string s = std::to_string(v);
            cv.text(x + (cell - text_width(s)) / 2 + kFont, y + (cell - kTextHeight) / 2 + kFont, s,
                    f < 0.5 ? kBlack : kWhite);
        }
    }
    const Rgb grid_line{200, 200, 200};  // thin separators keep equal shades apart
    for (int i = 0; i <= k; ++i) {
        cv.fill(left + i * cell, top, left + i * cell + 1, top + grid + 1, grid_line);
        cv.fill(left, top + i * cell, left + grid + 1, top + i * cell + 1, grid_line);
    }
    const int bar_h = std::max(grid, 5 * kTextHeight);
    for (int y = 0; y < bar_h; ++y) cv.fill(bar_x, top + y, bar_x + bar_w, top + y + 1, shade(1.0 - double(y) / (bar_h - 1)));
    cv.text(bar_x + bar_w + kGap / 2, top, "100%", kBlack);
    cv.text(bar_x + bar_w + kGap / 2, top + bar_h / 2 - kTextHeight / 2, "50%", kBlack);
    cv.text(bar_x + bar_w + kGap / 2, top + bar_h - kTextHeight, "0%", kBlack);
    cv.text(left, top + bar_h + kGap, legend, kBlack);
    return std::move(cv.image());
}

namespace {

void append_bytes(void* context, void* data, int size) {
    auto* out = static_cast<std::vector<uint8_t>*>(context);
    const auto* p = static_cast<const uint8_t*>(data);
    out->insert(out->end(), p, p + size);
}

}  // namespace

std::vector<uint8_t> encode_confusion_png(const std::vector<std::vector<uint64_t>>& confusion,
                                          const std::vector<std::string>& classes, const std::string& title) {
    const ConfusionImage img = draw_confusion(confusion, classes, title);
    std::vector<uint8_t> png;
    if (!stbi_write_png_to_func(append_bytes, &png, img.width, img.height, 3, img.rgb.data(), img.width * 3))
        throw std::runtime_error("PNG encoding failed");
    return png;
}

void write_confusion_png(const std::string& path, const std::vector<std::vector<uint64_t>>& confusion,
                         const std::vector<std::string>& classes, const std::string& title) {
    const std::vector<uint8_t> png = encode_confusion_png(confusion, classes, title);
    write_file_atomic(path, png.data(), png.size());
}

}  // namespace flowpic
