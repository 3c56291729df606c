#include "flowpic/augment.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/rng.h"

namespace flowpic {

namespace {

constexpr struct {
    AugmentKind kind;
    const char* name;
} kNames[] = {{AugmentKind::none, "none"},         {AugmentKind::changertt, "changertt"},
              {AugmentKind::timeshift, "timeshift"}, {AugmentKind::packetloss, "packetloss"},
              {AugmentKind::rotate, "rotate"},     {AugmentKind::hflip, "hflip"},
              {AugmentKind::colorjitter, "colorjitter"}};

std::string names_list() {
    std::string s;
    for (const auto& n : kNames) s += (s.empty() ? "" : ", ") + std::string(n.name);
    return s;
}

// A finite decimal number, or UsageError naming the key.
double number(const std::string& key, const std::string& v) {
    char* end = nullptr;
    errno = 0;
    double x = v.empty() ? 0 : std::strtod(v.c_str(), &end);
    if (v.empty() || *end || errno || !std::isfinite(x))
        throw UsageError("--augment-param " + key + ": '" + v + "' is not a number");
    return x;
}

// The shortest form that reads back exactly, for logs and metadata; without an exponent
// where one is not needed ("10", not "1e+01").
std::string num(double x) {
    std::string first;
    for (int prec = 1; prec <= 17; ++prec) {
        char c[40];
        std::snprintf(c, sizeof c, "%.*g", prec, x);
        if (std::strtod(c, nullptr) != x) continue;
        if (!std::strchr(c, 'e')) return c;
        if (first.empty()) first = c;
    }
    return first;
}

// Appends p with time t to out when t lies in the window [0, L) (any t >= 0 at L = 0).
inline bool keep_at(const WindowPacket& p, int64_t t, uint32_t length_us, std::vector<WindowPacket>& out) {
    if (t < 0 || (length_us > 0 ? t >= int64_t(length_us) : t > int64_t(UINT32_MAX))) return false;
    WindowPacket q = p;
    q.t_us = uint32_t(t);
    out.push_back(q);
    return true;
}

}  // namespace

const char* to_string(AugmentKind k) {
    for (const auto& n : kNames)
        if (n.kind == k) return n.name;
    return "?";
}

AugmentKind parse_augment(const std::string& s) {
    for (const auto& n : kNames)
        if (s == n.name) return n.kind;
    throw UsageError("--augment: invalid value '" + s + "' (expected " + names_list() + ")");
}

void set_augment_param(AugmentParams& p, AugmentKind k, const std::string& kv) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
        throw UsageError("--augment-param: '" + kv + "' is not KEY=VALUE (e.g. alpha=0.5:1.5)");
    const std::string key = kv.substr(0, eq), v = kv.substr(eq + 1);
    auto expect = [&](AugmentKind owner) {
        if (k != owner)
            throw UsageError("--augment-param " + key + " belongs to --augment " + to_string(owner) + ", not " +
                             to_string(k));
    };
    if (key == "alpha") {
        expect(AugmentKind::changertt);
        const size_t colon = v.find(':');
        if (colon == std::string::npos) throw UsageError("--augment-param alpha: '" + v + "' is not MIN:MAX (e.g. 0.5:1.5)");
        double lo = number(key, v.substr(0, colon)), hi = number(key, v.substr(colon + 1));
        if (!(lo > 0 && lo <= hi)) throw UsageError("--augment-param alpha: needs 0 < MIN <= MAX, not " + v);
        p.alpha_min = lo;
        p.alpha_max = hi;
    } else if (key == "shift") {
        expect(AugmentKind::timeshift);
        double x = number(key, v);
        if (!(x >= 0 && x <= 4294.0)) throw UsageError("--augment-param shift: seconds in 0..4294, not " + v);
        p.shift_s = x;
    } else if (key == "loss") {
        expect(AugmentKind::packetloss);
        double x = number(key, v);
        if (!(x >= 0 && x <= 4294.0)) throw UsageError("--augment-param loss: seconds in 0..4294, not " + v);
        p.loss_s = x;
    } else if (key == "degrees") {
        expect(AugmentKind::rotate);
        double x = number(key, v);
        if (!(x >= 0 && x <= 180)) throw UsageError("--augment-param degrees: 0..180, not " + v);
        p.degrees = x;
    } else if (key == "p") {
        expect(AugmentKind::hflip);
        double x = number(key, v);
        if (!(x >= 0 && x <= 1)) throw UsageError("--augment-param p: a probability in 0..1, not " + v);
        p.flip_p = x;
    } else if (key == "brightness" || key == "contrast") {
        expect(AugmentKind::colorjitter);
        double x = number(key, v);
        if (!(x >= 0 && x <= 1000)) throw UsageError("--augment-param " + key + ": 0..1000, not " + v);
        (key == "brightness" ? p.brightness : p.contrast) = x;
    } else {
        throw UsageError("--augment-param: unknown key '" + key +
                         "' (alpha=MIN:MAX, shift=S, loss=S, degrees=D, p=P, brightness=B, contrast=K)");
    }
}

std::string format_augment(AugmentKind k, const AugmentParams& p) {
    switch (k) {
        case AugmentKind::none: return "none";
        case AugmentKind::changertt: return "changertt alpha=" + num(p.alpha_min) + ":" + num(p.alpha_max);
        case AugmentKind::timeshift: return "timeshift shift=" + num(p.shift_s);
        case AugmentKind::packetloss: return "packetloss loss=" + num(p.loss_s);
        case AugmentKind::rotate: return "rotate degrees=" + num(p.degrees);
        case AugmentKind::hflip: return "hflip p=" + num(p.flip_p);
        case AugmentKind::colorjitter:
            return "colorjitter brightness=" + num(p.brightness) + " contrast=" + num(p.contrast);
    }
    return "?";
}

std::string augment_params_json(AugmentKind k, const AugmentParams& p) {
    switch (k) {
        case AugmentKind::none: return "{}";
        case AugmentKind::changertt: return "{\"alpha\":[" + num(p.alpha_min) + "," + num(p.alpha_max) + "]}";
        case AugmentKind::timeshift: return "{\"shift\":" + num(p.shift_s) + "}";
        case AugmentKind::packetloss: return "{\"loss\":" + num(p.loss_s) + "}";
        case AugmentKind::rotate: return "{\"degrees\":" + num(p.degrees) + "}";
        case AugmentKind::hflip: return "{\"p\":" + num(p.flip_p) + "}";
        case AugmentKind::colorjitter:
            return "{\"brightness\":" + num(p.brightness) + ",\"contrast\":" + num(p.contrast) + "}";
    }
    return "{}";
}

void validate(const AugmentOptions& a, const BinningOptions& b) {
    if (a.copies < 1 || a.copies > 1000)
        throw UsageError("--augment-copies: " + std::to_string(a.copies) + " is not in 1..1000");
    if (a.kind == AugmentKind::colorjitter && b.values == ValueMode::binary && b.direction != Direction::grey)
        throw UsageError("--augment colorjitter changes pixel values, which binary images (--values binary) do not have: "
                         "use --values count");
}

uint64_t augment_state(uint64_t seed, uint64_t window, uint32_t copy) {
    // A tag keeps these streams apart from the weight, order and dropout streams of the same seed.
    return mix_seed(mix_seed(seed ^ 0x6175676d656e7431ull, window), copy);
}

double uniform(uint64_t& state, double lo, double hi) {
    const double u = double(splitmix64(state) >> 11) * 0x1.0p-53;
    return lo + (hi - lo) * u;
}

size_t change_rtt(const PacketListView& in, double alpha, std::vector<WindowPacket>& out) {
    size_t kept = 0;
    for (uint32_t i = 0; i < in.count; ++i) {
        const double t = std::round(double(in.packets[i].t_us) * alpha);
        if (!(t < 9.0e18)) continue;  // NaN or beyond any window
        kept += keep_at(in.packets[i], int64_t(t), in.length_us, out);
    }
    return kept;
}

size_t time_shift(const PacketListView& in, int64_t shift_us, std::vector<WindowPacket>& out) {
    size_t kept = 0;
    for (uint32_t i = 0; i < in.count; ++i)
        kept += keep_at(in.packets[i], int64_t(in.packets[i].t_us) + shift_us, in.length_us, out);
    return kept;
}

size_t packet_loss(const PacketListView& in, double t0_us, double half_width_us, std::vector<WindowPacket>& out) {
    size_t kept = 0;
    for (uint32_t i = 0; i < in.count; ++i) {
        if (std::fabs(double(in.packets[i].t_us) - t0_us) <= half_width_us) continue;
        out.push_back(in.packets[i]);
        ++kept;
    }
    return kept;
}

size_t augment_packets(const PacketListView& in, AugmentKind k, const AugmentParams& p, uint64_t& state,
                       std::vector<WindowPacket>& out) {
    switch (k) {
        case AugmentKind::changertt: return change_rtt(in, uniform(state, p.alpha_min, p.alpha_max), out);
        case AugmentKind::timeshift:
            return time_shift(in, std::llround(uniform(state, -p.shift_s, p.shift_s) * 1e6), out);
        case AugmentKind::packetloss: {
            if (in.count == 0) return 0;
            const double t0 = uniform(state, double(in.packets[0].t_us), double(in.packets[in.count - 1].t_us));
            return packet_loss(in, t0, p.loss_s * 1e6, out);
        }
        default: break;
    }
    out.insert(out.end(), in.packets, in.packets + in.count);
    return in.count;
}

void rotate_image(const float* in, int channels, int n, double degrees, float* out) {
    const double t = degrees * (M_PI / 180.0), c = std::cos(t), s = std::sin(t), mid = 0.5 * double(n - 1);
    const size_t plane = size_t(n) * size_t(n);
    for (int i = 0; i < n; ++i) {
        const double yo = double(i) - mid;
        for (int j = 0; j < n; ++j) {
            const double xo = double(j) - mid;
            // grid_sample's nearest: round half to even (nearbyint in the default mode)
            const double x = std::nearbyint(c * xo + s * yo + mid), y = std::nearbyint(-s * xo + c * yo + mid);
            const bool inside = x >= 0 && x < double(n) && y >= 0 && y < double(n);
            const size_t src = inside ? size_t(y) * size_t(n) + size_t(x) : 0;
            for (int ch = 0; ch < channels; ++ch)
                out[size_t(ch) * plane + size_t(i) * size_t(n) + size_t(j)] = inside ? in[size_t(ch) * plane + src] : 0.f;
        }
    }
}

void hflip_image(float* img, int channels, int n) {
    for (int r = 0; r < channels * n; ++r) std::reverse(img + size_t(r) * size_t(n), img + size_t(r + 1) * size_t(n));
}

// torchvision's _blend on integer images: (r * a + (1 - r) * b).clamp(0, bound), then the
// cast back to the integer type truncates.
void adjust_brightness(float* img, size_t count, double factor, float hi) {
    const float r = float(factor);
    for (size_t i = 0; i < count; ++i) img[i] = std::floor(std::clamp(r * img[i], 0.f, hi));
}

void adjust_contrast(float* img, size_t count, double factor, float hi) {
    double sum = 0;
    for (size_t i = 0; i < count; ++i) sum += img[i];
    const float mean = count ? float(sum / double(count)) : 0.f;
    const float r = float(factor), q = float(1.0 - factor) * mean;
    for (size_t i = 0; i < count; ++i) img[i] = std::floor(std::clamp(r * img[i] + q, 0.f, hi));
}

float pixel_ceiling(const BinningOptions& b) {
    if (b.direction == Direction::grey) return 255.f;
    if (b.values == ValueMode::binary) return 1.f;
    return b.max_count > 0 ? float(b.max_count) : 65535.f;
}

void augment_image(float* img, const BinningOptions& b, AugmentKind k, const AugmentParams& p, uint64_t& state,
                   std::vector<float>& scratch) {
    const int ch = channels(b), n = b.resolution;
    const size_t size = image_size(b);
    switch (k) {
        case AugmentKind::rotate: {
            const double deg = uniform(state, -p.degrees, p.degrees);
            scratch.resize(size);
            rotate_image(img, ch, n, deg, scratch.data());
            std::copy(scratch.begin(), scratch.end(), img);
            break;
        }
        case AugmentKind::hflip:
            if (uniform(state, 0, 1) < p.flip_p) hflip_image(img, ch, n);
            break;
        case AugmentKind::colorjitter: {
            const bool brightness_first = uniform(state, 0, 1) < 0.5;
            const double f = uniform(state, std::max(0.0, 1 - p.brightness), 1 + p.brightness);
            const double g = uniform(state, std::max(0.0, 1 - p.contrast), 1 + p.contrast);
            const float hi = pixel_ceiling(b);
            if (brightness_first) adjust_brightness(img, size, f, hi);
            adjust_contrast(img, size, g, hi);
            if (!brightness_first) adjust_brightness(img, size, f, hi);
            break;
        }
        default: break;
    }
}

}  // namespace flowpic
