// The input of every binning kernel (CPU and CUDA): one window's packets as a flat list.
// This is also the on-disk packet record of the dataset file (docs/FORMATS.md), so a
// memory-mapped dataset feeds the kernels without a copy.
#pragma once
#include <cstdint>

namespace flowpic {

struct WindowPacket {
    uint32_t t_us;     // arrival time, microseconds after the window start
    uint16_t size;     // IP total length in bytes (<= 1500 once prepared)
    uint8_t dir;       // 1 client->server, 0 server->client
    uint8_t reserved;  // 0
};
static_assert(sizeof(WindowPacket) == 8, "WindowPacket is an 8-byte on-disk record");

// A non-owning view of one window: packets sorted by t_us.
struct PacketListView {
    const WindowPacket* packets = nullptr;
    uint32_t count = 0;
    uint32_t length_us = 0;  // the window length (what `fixed` normalisation maps onto the width)
};

}  // namespace flowpic
