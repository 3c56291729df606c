#include "flowpic/checksum.h"

#include <array>
#include <cstring>
#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif

namespace flowpic {

#if defined(__SSE4_2__)

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    uint64_t c = ~crc;
    while (size >= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        size -= 8;
    }
    uint32_t c32 = uint32_t(c);
    while (size--) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}

#else

namespace {
std::array<uint32_t, 256> make_table() {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
        t[i] = c;
    }
    return t;
}
}  // namespace

uint32_t crc32c(const void* data, size_t size, uint32_t crc) {
    static const std::array<uint32_t, 256> table = make_table();  // const after first use
    const uint8_t* p = static_cast<const uint8_t*>(data);
    uint32_t c = ~crc;
    while (size--) c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

#endif

}  // namespace flowpic
