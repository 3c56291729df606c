// Augmentations at loading (mini-FlowPic, IMC'22; as tcbench, the IMC'23 replication, runs
// them): every training window gives `copies` samples, itself (copy 0) and copies - 1
// augmented versions, each with its own parameters drawn from (seed, window, copy).
//
// Packet-list augmentations (before binning), on a window's packets (times in us after
// the window start, sorted) and its length L (window_length_us; 0 = no end):
//   changertt   t' = round(t * alpha), alpha ~ U[alpha_min, alpha_max]      (0.5, 1.5)
//   timeshift   t' = t + round(b * 1e6), b ~ U[-shift, shift] seconds       (1)
//   packetloss  drop every packet with |t - t0| <= loss seconds, t0 ~ U[first t, last t]  (0.1)
//   After changertt and timeshift a packet is kept when 0 <= t' < L (at L > 0): the
//   window is fixed-length, as --first S keeps "time since first < S", and tcbench's
//   get_flowpic keeps t < 15 s.  round() is to the nearest microsecond, halves away from 0.
// Image augmentations (after binning, on the C x N x N image; rows = size, cols = time):
//   rotate      torchvision rotate(img, -theta) (tcbench's call), theta ~ U[-degrees, degrees]
//               (10): nearest neighbour about the image centre, zero fill; see rotate_image.
//   hflip       with probability p (0.5; RandomHorizontalFlip) mirror the time axis:
//               col j -> N-1-j.  tcbench flips always and keeps one flipped copy: that is
//               --augment hflip --augment-copies 2 --augment-param p=1.
//   colorjitter torchvision ColorJitter(brightness=B, contrast=K) (0.8, 0.8: tcbench's; its
//               saturation and hue do nothing to one-channel images) on uint8-like images:
//               factors f ~ U[max(0, 1-B), 1+B], g ~ U[max(0, 1-K), 1+K], applied in a random
//               order (brightness first with probability 1/2), each
//                 brightness  v' = floor(clamp(f * v, 0, hi))
//                 contrast    v' = floor(clamp(g * v + (1 - g) * mean, 0, hi)),
//                             mean = the image's mean over every pixel and channel
//               in float, hi = the pixel ceiling (BinningOptions::max_count, 255 in grey
//               mode, 65535 for uncapped counts).  Binary images are refused (UsageError).
// Everything is integer-seeded (core/rng.h): the same seed gives the same samples on any
// machine and backend.  The functions with explicit parameters are the exact rules; the
// augment_* ones draw the parameters and call them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cpu/binning.h"
#include "kernels/packet_list.h"

namespace flowpic {

enum class AugmentKind : uint8_t { none, changertt, timeshift, packetloss, rotate, hflip, colorjitter };

// "none", "changertt", ...; parse throws UsageError listing the names.
const char* to_string(AugmentKind k);
AugmentKind parse_augment(const std::string& s);
inline bool is_image_augment(AugmentKind k) {
    return k == AugmentKind::rotate || k == AugmentKind::hflip || k == AugmentKind::colorjitter;
}

struct AugmentParams {
    double alpha_min = 0.5, alpha_max = 1.5;  // changertt
    double shift_s = 1.0;                     // timeshift: b ~ U[-shift_s, shift_s]
    double loss_s = 0.1;                      // packetloss: half-width of the gap
    double degrees = 10.0;                    // rotate: theta ~ U[-degrees, degrees]
    double flip_p = 0.5;                      // hflip: probability
    double brightness = 0.8, contrast = 0.8;  // colorjitter
};

// One --augment-param KEY=VALUE for augmentation k: alpha=MIN:MAX (changertt), shift=S
// (timeshift), loss=S (packetloss), degrees=D (rotate), p=P (hflip), brightness=B and
// contrast=K (colorjitter).  UsageError naming the key and what it takes.
void set_augment_param(AugmentParams& p, AugmentKind k, const std::string& key_value);
// "changertt alpha=0.5:1.5" (logs); "none" for none.
std::string format_augment(AugmentKind k, const AugmentParams& p);
// The parameters of k as a JSON object text ({"alpha":[0.5,1.5]}; {} for none).
std::string augment_params_json(AugmentKind k, const AugmentParams& p);

struct AugmentOptions {
    AugmentKind kind = AugmentKind::none;
    AugmentParams params;
    int copies = 1;           // samples per window, the original included (1 = off)
    bool validation = false;  // the validation split gets the same copies
    uint64_t seed = 1;
    bool active() const { return kind != AugmentKind::none && copies > 1; }
};
// UsageError when the options cannot work with this binning (colorjitter on binary
// images; copies out of 1..1000).
void validate(const AugmentOptions& a, const BinningOptions& b);

// The generator state of one sample: a pure function of (seed, window, copy).
uint64_t augment_state(uint64_t seed, uint64_t window, uint32_t copy);
// lo + (hi - lo) * u, u uniform in [0, 1) on 53 bits; advances state.
double uniform(uint64_t& state, double lo, double hi);

// ---- packet lists: each appends the kept packets of `in` to out, returns how many ----
size_t change_rtt(const PacketListView& in, double alpha, std::vector<WindowPacket>& out);
size_t time_shift(const PacketListView& in, int64_t shift_us, std::vector<WindowPacket>& out);
size_t packet_loss(const PacketListView& in, double t0_us, double half_width_us, std::vector<WindowPacket>& out);
// Draws k's parameters from state and applies it (k a packet augmentation).
size_t augment_packets(const PacketListView& in, AugmentKind k, const AugmentParams& p, uint64_t& state,
                       std::vector<WindowPacket>& out);

// ---- images: C x N x N floats, row-major --------------------------------------------
// out[c][i][j] = in[c][y][x] with x = nearbyint(cos(t) * xo + sin(t) * yo + (N-1)/2),
// y = nearbyint(-sin(t) * xo + cos(t) * yo + (N-1)/2), xo = j - (N-1)/2, yo = i - (N-1)/2,
// t = degrees in radians; 0 where (x, y) falls outside.  Positive degrees turn the
// picture clockwise (torchvision's rotate turns counter-clockwise; tcbench negates).
void rotate_image(const float* in, int channels, int n, double degrees, float* out);
void hflip_image(float* img, int channels, int n);
void adjust_brightness(float* img, size_t count, double factor, float hi);
void adjust_contrast(float* img, size_t count, double factor, float hi);
// The pixel ceiling colorjitter clamps to (see the top of this file).
float pixel_ceiling(const BinningOptions& b);
// Draws k's parameters from state and applies it in place (k an image augmentation);
// scratch holds one image for rotate.
void augment_image(float* img, const BinningOptions& b, AugmentKind k, const AugmentParams& p, uint64_t& state,
                   std::vector<float>& scratch);

}  // namespace flowpic
