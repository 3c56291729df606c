// PNG rendering: a real PNG of the right size, decoded with stb_image, where packets are
// darker than the background, more packets darker than fewer, and the direction colours.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <stb/stb_image.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/error.h"
#include "flowpic/png_image.h"
#include "tests/util.h"

using namespace flowpic;

namespace {

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

struct Decoded {
    int w = 0, h = 0, comp = 0;
    std::unique_ptr<uint8_t, void (*)(void*)> px{nullptr, stbi_image_free};
    const uint8_t* at(int x, int y) const { return px.get() + (size_t(y) * w + x) * comp; }
};

Decoded decode(const std::vector<uint8_t>& png) {
    Decoded d;
    d.px.reset(stbi_load_from_memory(png.data(), int(png.size()), &d.w, &d.h, &d.comp, 0));
    BOOST_REQUIRE(d.px);
    return d;
}

// Centre of FlowPic pixel (row, col) in the picture: rows grow upwards.
const uint8_t* bin_pixel(const Decoded& d, int n, int row, int col) {
    const int s = d.w / n;
    return d.at(col * s + s / 2, (n - 1 - row) * s + s / 2);
}

int brightness(const uint8_t* p, int comp) {
    int s = 0;
    for (int i = 0; i < comp; ++i) s += p[i];
    return s / comp;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(png)

BOOST_AUTO_TEST_CASE(header_and_size) {
    struct Case { int n, channels, scale, side; };
    for (Case c : {Case{32, 1, 0, 512}, Case{64, 2, 0, 512}, Case{300, 1, 0, 300},
                   Case{1500, 1, 0, 1500}, Case{10, 1, 3, 30}, Case{7, 2, 0, 511}}) {
        std::vector<float> img(size_t(c.channels) * c.n * c.n, 0.0f);
        img[3] = 5;
        PngOptions o;
        o.scale = c.scale;
        auto png = encode_flowpic_png(img.data(), c.channels, c.n, o);
        BOOST_REQUIRE(png.size() > 33u);
        BOOST_TEST(std::memcmp(png.data(), "\x89PNG\r\n\x1a\n", 8) == 0);
        BOOST_TEST(std::memcmp(png.data() + 12, "IHDR", 4) == 0);
        BOOST_TEST(be32(png.data() + 16) == uint32_t(c.side), "n " << c.n);
        BOOST_TEST(be32(png.data() + 20) == uint32_t(c.side));
        BOOST_TEST(png[25] == (c.channels == 1 ? 0 : 2));  // colour type: grey or RGB
    }
}

BOOST_AUTO_TEST_CASE(packets_are_darker_than_the_background) {
    const int n = 64;
    std::mt19937 rng(5);
    std::vector<float> img(n * n, 0.0f);
    for (int i = 0; i < 200; ++i) img[rng() % (n * n)] += 1.0f;
    img[10 * n + 20] = 1.0f;    // one packet
    img[40 * n + 50] = 300.0f;  // many
    Decoded d = decode(encode_flowpic_png(img.data(), 1, n));
    BOOST_TEST(d.comp == 1);
    BOOST_TEST(d.w == 512);
    int zero_row = -1, zero_col = -1;
    for (int i = 0; i < n * n && zero_row < 0; ++i)
        if (img[i] == 0) zero_row = i / n, zero_col = i % n;
    const int background = bin_pixel(d, n, zero_row, zero_col)[0];
    BOOST_TEST(background == 255);
    BOOST_TEST(bin_pixel(d, n, 10, 20)[0] < 200);
    BOOST_TEST(bin_pixel(d, n, 40, 50)[0] < bin_pixel(d, n, 10, 20)[0]);
    BOOST_TEST(bin_pixel(d, n, 40, 50)[0] == 0);  // the maximum is black
    for (int i = 0; i < n * n; ++i)
        if (img[i] > 0) BOOST_TEST(bin_pixel(d, n, i / n, i % n)[0] < background);
    // size grows upwards: FlowPic row 10 is drawn 10 bins above the bottom edge
    BOOST_TEST(d.at(20 * 8 + 1, d.h - 1 - 10 * 8 - 1)[0] < 200);
}

BOOST_AUTO_TEST_CASE(channels_in_two_colours) {
    const int n = 32;
    std::vector<float> img(2 * n * n, 0.0f);
    img[5 * n + 6] = 3;              // client->server only
    img[n * n + 20 * n + 7] = 3;     // server->client only
    img[9 * n + 9] = 2;              // both
    img[n * n + 9 * n + 9] = 2;
    Decoded d = decode(encode_flowpic_png(img.data(), 2, n));
    BOOST_TEST(d.comp == 3);
    const uint8_t* up = bin_pixel(d, n, 5, 6);
    const uint8_t* down = bin_pixel(d, n, 20, 7);
    const uint8_t* both = bin_pixel(d, n, 9, 9);
    const uint8_t* bg = bin_pixel(d, n, 0, 0);
    BOOST_TEST(brightness(bg, 3) == 255);
    BOOST_TEST(up[0] > up[2] + 100);    // red
    BOOST_TEST(down[2] > down[0] + 100);  // blue
    BOOST_TEST(brightness(up, 3) < 255);
    BOOST_TEST(brightness(down, 3) < 255);
    BOOST_TEST(brightness(both, 3) < brightness(up, 3));
}

BOOST_AUTO_TEST_CASE(written_atomically) {
    TempDir dir;
    std::vector<float> img(16 * 16, 0.0f);
    img[17] = 2;
    write_flowpic_png(dir.path + "/a.png", img.data(), 1, 16);
    auto want = encode_flowpic_png(img.data(), 1, 16);
    BOOST_TEST(read_file(dir.path + "/a.png") == std::string(want.begin(), want.end()));
    BOOST_TEST(list_dir(dir.path).size() == 1u);
    BOOST_CHECK_THROW(write_flowpic_png("/nonexistent-dir/a.png", img.data(), 1, 16), InputError);
    BOOST_CHECK_THROW(encode_flowpic_png(img.data(), 3, 16), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
