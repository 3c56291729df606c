// The dataset file's on-disk structures (version 1), shared by the writer and reader.
// Plain structs copied with memcpy: the format is little-endian and so is every host
// flowpic builds for (checked below).  docs/FORMATS.md describes each field.
#pragma once
#include <cstddef>
#include <cstdint>

namespace flowpic {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the dataset format is little-endian");

constexpr char kDatasetMagic[8] = {'F', 'L', 'O', 'W', 'P', 'I', 'C', 'D'};
constexpr uint32_t kHeaderSize = 256;
constexpr uint32_t kSectionCount = 5;
constexpr uint32_t kHeaderCrcOffset = 224;  // where header_crc sits

enum SectionId : uint32_t {
    kSecPackets = 1,
    kSecMeta = 2,
    kSecClasses = 3,
    kSecCaptures = 4,
    kSecWindows = 5,
};
const char* section_name(uint32_t id);

struct SectionEntry {
    uint32_t id;
    uint32_t reserved0;
    uint64_t offset;  // from the start of the file, a multiple of 8
    uint64_t size;    // bytes, without padding
    uint32_t crc;     // CRC-32C of the section's `size` bytes
    uint32_t reserved1;
};
static_assert(sizeof(SectionEntry) == 32, "");

struct FileHeader {
    char magic[8];
    uint32_t version;
    uint32_t header_size;     // 256
    uint64_t file_size;       // the whole file
    uint64_t window_count;
    uint64_t packet_count;
    uint32_t class_count;
    uint32_t capture_count;
    uint32_t window_record_size;  // 88
    uint32_t packet_record_size;  // 8
    uint32_t section_count;       // 5
    uint32_t reserved0;
    SectionEntry sections[kSectionCount];
    uint32_t header_crc;  // CRC-32C of all 256 header bytes, this field taken as 0
    uint32_t reserved1;
    uint8_t reserved2[24];
};
static_assert(sizeof(FileHeader) == kHeaderSize, "");
static_assert(offsetof(FileHeader, header_crc) == kHeaderCrcOffset, "");

// CRC-32C of the header with header_crc taken as 0.
uint32_t header_crc(const FileHeader& h);

struct WindowRecord {
    uint64_t packet_offset;  // first packet, in records from the packet section's start
    uint32_t packet_count;
    uint32_t length_us;
    int64_t start_ns;
    uint64_t flow_id;
    uint32_t capture;
    uint32_t window_index;
    uint16_t label;
    uint8_t split;       // 0 train, 1 val, 2 test
    uint8_t vpn;         // 0 / 1
    uint8_t view;        // 0 bi, 1 uni-fwd, 2 uni-rev
    uint8_t proto;
    uint8_t ip_version;  // 4 or 6
    uint8_t reserved0;
    uint16_t sport, dport;
    uint32_t reserved1;
    uint8_t src[16], dst[16];  // client, server (IPv4 as ::ffff:a.b.c.d)
};
static_assert(sizeof(WindowRecord) == 88, "");

}  // namespace flowpic
