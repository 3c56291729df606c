// Scalar reference binning: plain loops over packets, the oracle for the faster versions.
// The bin rule itself is packet_pixel() in binning.h, shared by every implementation.
#include "kernels/cpu/binning.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "core/error.h"

namespace flowpic {

namespace {

[[noreturn]] void bad_flag(const char* flag, const std::string& s, const char* accepted) {
    throw UsageError(std::string("--") + flag + ": invalid value '" + s + "' (expected " +
                     accepted + ")");
}

constexpr float kGreyUp = 200.0f;    // a client->server packet fell here
constexpr float kGreyDown = 50.0f;   // only server->client packets fell here

// Flat index of a packet's pixel in the C x N x N image; false when the packet is dropped.
bool packet_index(const WindowPacket& p, const TimeAxis& axis, const BinningOptions& opts,
                  size_t& index) {
    int row, col;
    if (!packet_pixel(p, axis, opts.resolution, opts.arith, row, col)) return false;
    size_t n = size_t(opts.resolution);
    index = (size_t(packet_channel(p, opts.direction)) * n + size_t(row)) * n + size_t(col);
    return true;
}

// One window into a zeroed image; T is float or uint16_t (saturating counts).
template <typename T>
void bin_one_dense(const PacketListView& window, const BinningOptions& opts, T* img) {
    const PacketListView w = axis_view(window, opts);
    const TimeAxis axis = time_axis(w, opts.normalize);
    for (uint32_t i = 0; i < w.count; ++i) {
        const WindowPacket& p = w.packets[i];
        size_t k;
        if (!packet_index(p, axis, opts, k)) continue;
        if (opts.direction == Direction::grey) {
            T v = T(p.dir == 1 ? kGreyUp : kGreyDown);
            if (img[k] < v) img[k] = v;
        } else if (opts.values == ValueMode::binary) {
            img[k] = T(1);
        } else if (img[k] < std::numeric_limits<T>::max()) {  // never true for float
            img[k] += T(1);
        }
    }
    // The cap, after counting, as numpy.clip(h, 0, max_count) does it.
    if (const uint32_t cap = count_cap(opts))
        for (size_t k = 0, n = image_size(opts); k < n; ++k)
            if (img[k] > T(cap)) img[k] = T(cap);
}

template <typename T>
void bin_dense_batch(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                     T* out) {
    validate(opts);
    const size_t stride = image_size(opts);
    std::fill(out, out + stride * batch, T(0));
    for (size_t b = 0; b < batch; ++b) bin_one_dense(windows[b], opts, out + stride * b);
}

}  // namespace

Normalize parse_normalize(const std::string& s) {
    if (s == "span") return Normalize::span;
    if (s == "fixed") return Normalize::fixed;
    bad_flag("normalize", s, "span or fixed");
}

ValueMode parse_values(const std::string& s) {
    if (s == "count") return ValueMode::count;
    if (s == "binary") return ValueMode::binary;
    bad_flag("values", s, "count or binary");
}

Direction parse_direction(const std::string& s) {
    if (s == "none") return Direction::none;
    if (s == "grey" || s == "gray") return Direction::grey;
    if (s == "channels") return Direction::channels;
    bad_flag("direction", s, "none, grey or channels");
}

BinArith parse_arith(const std::string& s) {
    if (s == "flowpic") return BinArith::flowpic;
    if (s == "tcbench") return BinArith::tcbench;
    bad_flag("bin-arith", s, "flowpic or tcbench");
}

int parse_resolution(const std::string& s) {
    // Digits only: strtol would accept " 64", "+64" and "64abc".
    if (s.empty() || s.size() > 4 || s.find_first_not_of("0123456789") != std::string::npos)
        bad_flag("resolution", s, "an integer from 1 to 1500");
    int n = std::atoi(s.c_str());
    if (n < 1 || n > kMaxResolution) bad_flag("resolution", s, "an integer from 1 to 1500");
    return n;
}

const char* to_string(Normalize n) { return n == Normalize::span ? "span" : "fixed"; }
const char* to_string(ValueMode v) { return v == ValueMode::count ? "count" : "binary"; }
const char* to_string(BinArith a) { return a == BinArith::flowpic ? "flowpic" : "tcbench"; }
const char* to_string(Direction d) {
    return d == Direction::none ? "none" : d == Direction::grey ? "grey" : "channels";
}

std::string format_options(const BinningOptions& o) {
    return "resolution=" + std::to_string(o.resolution) + " normalize=" + to_string(o.normalize) +
           " values=" + to_string(o.values) + " direction=" + to_string(o.direction) +
           (o.max_count ? " max_count=" + std::to_string(o.max_count) : std::string()) +
           (o.arith != BinArith::flowpic ? std::string(" arith=") + to_string(o.arith) : std::string()) +
           (o.axis_us ? " axis_us=" + std::to_string(o.axis_us) : std::string());
}

void validate(const BinningOptions& opts) {
    if (opts.resolution < 1 || opts.resolution > kMaxResolution)
        throw UsageError("--resolution: " + std::to_string(opts.resolution) +
                         " is out of range (1 to 1500)");
    if (opts.max_count > 65535)
        throw UsageError("--max-count: " + std::to_string(opts.max_count) + " is out of range (1 to 65535; 0 = no cap)");
    if (opts.axis_us && opts.normalize != Normalize::fixed)
        throw UsageError("--time-axis needs --normalize fixed (span maps first..last packet onto the width: it has no "
                         "fixed axis to cut at)");
}

void bin_dense_ref(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                   float* out) {
    bin_dense_batch(windows, batch, opts, out);
}

void bin_dense_u16_ref(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                       uint16_t* out) {
    bin_dense_batch(windows, batch, opts, out);
}

void bin_sparse_ref(const PacketListView& window, const BinningOptions& opts,
                    std::vector<SparsePixel>& out) {
    validate(opts);
    const PacketListView w = axis_view(window, opts);
    // Sort keys (flat pixel index << 1 | is-upstream): equal pixels become neighbours in
    // (channel, row, col) order, and in grey the last key of a run says whether any
    // client->server packet fell there.  2 * 1500 * 1500 * 2 fits in 32 bits.
    const TimeAxis axis = time_axis(w, opts.normalize);
    std::vector<uint32_t> keys;
    keys.reserve(w.count);
    for (uint32_t i = 0; i < w.count; ++i) {
        size_t k;
        if (packet_index(w.packets[i], axis, opts, k))
            keys.push_back(uint32_t(k << 1) | (w.packets[i].dir == 1 ? 1u : 0u));
    }
    std::sort(keys.begin(), keys.end());
    const uint32_t n = uint32_t(opts.resolution);
    for (size_t i = 0; i < keys.size();) {
        const uint32_t pixel = keys[i] >> 1;
        size_t j = i;
        while (j < keys.size() && (keys[j] >> 1) == pixel) ++j;
        float value;
        if (opts.direction == Direction::grey)
            value = (keys[j - 1] & 1u) ? kGreyUp : kGreyDown;
        else if (opts.values == ValueMode::binary)
            value = 1.0f;
        else if (const uint32_t cap = count_cap(opts); cap && j - i > cap)
            value = float(cap);
        else
            value = float(j - i);
        out.push_back(SparsePixel{uint16_t(pixel / (n * n)), uint16_t(pixel / n % n),
                                  uint16_t(pixel % n), 0, value});
        i = j;
    }
}

void bin_sparse_ref(const PacketListView* windows, size_t batch, const BinningOptions& opts,
                    SparseBatch& out) {
    out.pixels.clear();
    out.offsets.assign(1, 0);
    for (size_t b = 0; b < batch; ++b) {
        bin_sparse_ref(windows[b], opts, out.pixels);
        out.offsets.push_back(uint32_t(out.pixels.size()));
    }
}

void densify(const SparsePixel* pixels, size_t count, const BinningOptions& opts, float* out) {
    validate(opts);
    const size_t n = size_t(opts.resolution), c = size_t(channels(opts));
    std::fill(out, out + image_size(opts), 0.0f);
    for (size_t i = 0; i < count; ++i) {
        const SparsePixel& p = pixels[i];
        if (p.channel >= c || p.row >= n || p.col >= n)
            throw std::out_of_range("densify: pixel outside the " + format_options(opts) + " image");
        out[(size_t(p.channel) * n + p.row) * n + p.col] = p.value;
    }
}

}  // namespace flowpic
