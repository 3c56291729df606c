// FlowPics as PNGs for people: dark packets on a white background.
//
// Layout: time runs left to right, packet size bottom to top (row 0 of the FlowPic, the
// smallest sizes, is the bottom pixel row), each bin drawn as a scale x scale square.
// Shade: 0 is white; a non-zero value v is drawn with darkness 0.3 + 0.7 * log1p(v) /
// log1p(vmax) (vmax = the image's largest value), so a single packet is still visible
// next to a pixel of 3,000.  One channel: grey.  Two channels (direction = channels):
// channel 0 (client->server) in red, channel 1 (server->client) in blue; where both
// fell the inks multiply to a dark purple.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace flowpic {

struct PngOptions {
    // Pixels per bin.  0: automatic, the largest that keeps the picture within 512 px
    // (16 at 32x32, 8 at 64x64, 1 at 300x300 and above).
    int scale = 0;
};

// The scale actually used for an n x n image.
int png_scale(int n, const PngOptions& opts);

// image: channels x n x n values as the binning writes them; channels is 1 or 2.
std::vector<uint8_t> encode_flowpic_png(const float* image, int channels, int n,
                                        const PngOptions& opts = {});
// The same, written atomically to path.
void write_flowpic_png(const std::string& path, const float* image, int channels, int n,
                       const PngOptions& opts = {});

}  // namespace flowpic
