// DatasetReader (flowpic/dataset_file.h); the writer is in dataset_writer.cpp.
#include "flowpic/dataset_file.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/error.h"
#include "flowpic/checksum.h"

namespace flowpic {

namespace {

// Parses a string table that must fill [p, p + size) exactly with `count` entries.
bool parse_string_table(const uint8_t* p, uint64_t size, uint32_t count, std::vector<std::string>& out) {
    uint64_t pos = 0;
    auto get32 = [&](uint32_t& v) {
        if (size - pos < 4) return false;
        std::memcpy(&v, p + pos, 4);
        pos += 4;
        return true;
    };
    uint32_t n;
    if (!get32(n) || n != count) return false;
    // Each entry takes at least its 4-byte length: a count the table's bytes cannot hold
    // is corrupt, and reserving it first would ask for up to 128 GB (0xffffffff strings).
    if (n > (size - pos) / 4) return false;
    out.clear();
    out.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
        uint32_t len;
        if (!get32(len) || size - pos < len) return false;
        out.emplace_back(reinterpret_cast<const char*>(p + pos), len);
        pos += len;
    }
    return pos == size;
}

}  // namespace

DatasetReader::DatasetReader(const std::string& path, Verify verify) : file_(path) {
    const uint8_t* d = file_.data();
    const uint64_t n = file_.size();
    auto err = [&](const std::string& what) { return input_error(path, what); };
    const std::string not_dataset = "not a flowpic dataset (no FLOWPICD magic)";

    if (n == 0) throw err("empty file, not a flowpic dataset");
    if (std::memcmp(d, kDatasetMagic, std::min<uint64_t>(n, 8)) != 0) throw err(not_dataset);
    if (n < 12) throw err("truncated dataset (" + std::to_string(n) + " bytes, the header alone is 256)");
    uint32_t version;
    std::memcpy(&version, d + 8, 4);
    // Checked before anything else in the header: a later version may lay it out differently.
    if (version != kDatasetVersion)
        throw err("unsupported dataset version " + std::to_string(version) + " (this build reads version " +
                  std::to_string(kDatasetVersion) + ")");
    if (n < kHeaderSize) throw err("truncated dataset (" + std::to_string(n) + " bytes, the header alone is 256)");
    FileHeader h;
    std::memcpy(&h, d, sizeof h);
    if (header_crc(h) != h.header_crc) throw err("header checksum mismatch (corrupt file)");
    if (h.header_size != kHeaderSize || h.section_count != kSectionCount ||
        h.window_record_size != sizeof(WindowRecord) || h.packet_record_size != sizeof(WindowPacket))
        throw err("corrupt header (sizes do not match version 1)");
    if (h.file_size != n)
        throw err(n < h.file_size ? "truncated dataset (" + std::to_string(n) + " of " + std::to_string(h.file_size) + " bytes)"
                                  : "file is " + std::to_string(n) + " bytes, header says " +
                                        std::to_string(h.file_size) + " (trailing data)");

    const SectionEntry* sec[kSectionCount + 1] = {};
    for (const SectionEntry& s : h.sections) {
        if (s.id < 1 || s.id > kSectionCount || sec[s.id]) throw err("corrupt section directory");
        const std::string name = std::string("section '") + section_name(s.id) + "'";
        if (s.offset % 8 != 0 || s.offset < kHeaderSize) throw err(name + " is misplaced (corrupt file)");
        if (s.size > n || s.offset > n - s.size) throw err(name + " extends past the end of the file");
        sec[s.id] = &s;
    }
    // Sections tile the file: no overlap, and only zero padding (< 8 bytes) between them,
    // so that every byte of the file is covered by a checksum or checked here.
    {
        std::vector<const SectionEntry*> order(sec + 1, sec + kSectionCount + 1);
        std::sort(order.begin(), order.end(), [](auto a, auto b) { return a->offset < b->offset; });
        uint64_t cursor = kHeaderSize;
        for (const SectionEntry* s : order) {
            if (s->offset < cursor || s->offset - cursor >= 8) throw err("sections overlap or leave gaps (corrupt file)");
            for (uint64_t p = cursor; p < s->offset; ++p)
                if (d[p] != 0) throw err("non-zero padding at byte " + std::to_string(p) + " (corrupt file)");
            cursor = s->offset + s->size;
        }
        if (cursor != n) throw err("sections do not end at the end of the file (corrupt file)");
    }
    for (uint32_t id = 1; id <= kSectionCount; ++id) {
        if (id == kSecPackets && verify == Verify::kTables) continue;
        if (crc32c(d + sec[id]->offset, sec[id]->size) != sec[id]->crc)
            throw err(std::string("section '") + section_name(id) + "' checksum mismatch (corrupt file)");
    }

    window_count_ = h.window_count;
    packet_count_ = h.packet_count;
    if (sec[kSecWindows]->size / sizeof(WindowRecord) != h.window_count ||
        sec[kSecWindows]->size % sizeof(WindowRecord) != 0)
        throw err("window section size does not match the window count");
    if (sec[kSecPackets]->size / sizeof(WindowPacket) != h.packet_count ||
        sec[kSecPackets]->size % sizeof(WindowPacket) != 0)
        throw err("packet section size does not match the packet count");
    windows_ = d + sec[kSecWindows]->offset;
    packets_ = reinterpret_cast<const WindowPacket*>(d + sec[kSecPackets]->offset);
    packets_crc_ = sec[kSecPackets]->crc;
    packets_size_ = sec[kSecPackets]->size;

    meta_.assign(reinterpret_cast<const char*>(d + sec[kSecMeta]->offset), sec[kSecMeta]->size);
    try {
        nlohmann::json m = nlohmann::json::parse(meta_);
        if (!m.is_object() || m.value("format", "") != "flowpic-dataset" || !m.contains("prep"))
            throw err("meta section is not flowpic-dataset metadata");
    } catch (const nlohmann::json::exception&) {
        throw err("meta section is not valid JSON");
    }
    if (!parse_string_table(d + sec[kSecClasses]->offset, sec[kSecClasses]->size, h.class_count, classes_))
        throw err("corrupt class table");
    if (!parse_string_table(d + sec[kSecCaptures]->offset, sec[kSecCaptures]->size, h.capture_count, captures_))
        throw err("corrupt capture table");

    // Every record is checked once here, so window() can trust them.
    for (size_t i = 0; i < window_count_; ++i) {
        WindowRecord r;
        std::memcpy(&r, record(i), sizeof r);
        const char* bad = nullptr;
        if (r.label >= classes_.size()) bad = "label out of range";
        else if (r.capture >= captures_.size()) bad = "capture out of range";
        else if (r.split > kSplitTest) bad = "split is not 0, 1 or 2";
        else if (r.vpn > 1) bad = "vpn flag is not 0 or 1";
        else if (r.view > uint8_t(DirView::kUniRev)) bad = "unknown direction view";
        else if (r.length_us == 0) bad = "window length 0";
        else if (r.packet_offset > packet_count_ || r.packet_count > packet_count_ - r.packet_offset)
            bad = "packet range outside the packet section";
        if (bad) throw err("window " + std::to_string(i) + ": " + bad + " (corrupt file)");
    }
}

const uint8_t* DatasetReader::record(size_t i) const { return windows_ + i * sizeof(WindowRecord); }

std::string DatasetReader::prep_json() const { return nlohmann::json::parse(meta_).at("prep").dump(); }

DatasetWindow DatasetReader::window(size_t i) const {
    if (i >= window_count_) throw std::out_of_range("DatasetReader::window: index past the end");
    WindowRecord r;
    std::memcpy(&r, record(i), sizeof r);
    DatasetWindow w;
    w.label = r.label;
    w.split = r.split;
    w.vpn = r.vpn != 0;
    w.prov.capture = r.capture;
    w.prov.flow_id = r.flow_id;
    std::memcpy(w.prov.tuple.src.data(), r.src, 16);
    std::memcpy(w.prov.tuple.dst.data(), r.dst, 16);
    w.prov.tuple.sport = r.sport;
    w.prov.tuple.dport = r.dport;
    w.prov.tuple.proto = r.proto;
    w.prov.tuple.ip_version = r.ip_version;
    w.prov.view = DirView(r.view);
    w.prov.index = r.window_index;
    w.prov.start_ns = r.start_ns;
    w.prov.length_us = r.length_us;
    w.packets = PacketListView{packets_ + r.packet_offset, r.packet_count, r.length_us};
    return w;
}

uint32_t DatasetReader::label(size_t i) const {
    if (i >= window_count_) throw std::out_of_range("DatasetReader::label: index past the end");
    uint16_t v;
    std::memcpy(&v, record(i) + offsetof(WindowRecord, label), 2);
    return v;
}

uint8_t DatasetReader::split(size_t i) const {
    if (i >= window_count_) throw std::out_of_range("DatasetReader::split: index past the end");
    return record(i)[offsetof(WindowRecord, split)];
}

std::vector<std::array<uint64_t, 3>> DatasetReader::counts() const {
    std::vector<std::array<uint64_t, 3>> c(classes_.size(), {0, 0, 0});
    for (size_t i = 0; i < window_count_; ++i) c[label(i)][split(i)]++;
    return c;
}

void DatasetReader::verify_packets() const {
    if (crc32c(packets_, packets_size_) != packets_crc_)
        throw input_error(path(), "section 'packets' checksum mismatch (corrupt file)");
}

}  // namespace flowpic
