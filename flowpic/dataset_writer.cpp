// DatasetWriter (flowpic/dataset_file.h).
#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/atomic_file.h"
#include "core/error.h"
#include "flowpic/checksum.h"
#include "flowpic/dataset_file.h"

namespace flowpic {

const char* section_name(uint32_t id) {
    switch (id) {
        case kSecPackets: return "packets";
        case kSecMeta: return "meta";
        case kSecClasses: return "classes";
        case kSecCaptures: return "captures";
        case kSecWindows: return "windows";
    }
    return "unknown";
}

uint32_t header_crc(const FileHeader& h) {
    FileHeader copy = h;
    copy.header_crc = 0;
    return crc32c(&copy, sizeof copy);
}

namespace {

std::string string_table(const std::vector<std::string>& names) {
    std::string out;
    auto put32 = [&](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
    put32(uint32_t(names.size()));
    for (const std::string& n : names) {
        put32(uint32_t(n.size()));
        out += n;
    }
    return out;
}

}  // namespace

DatasetWriter::DatasetWriter(const std::string& path, const std::string& prep_json) : path_(path) {
    if (path == "-") throw UsageError("the dataset cannot be written to stdout; give a file name");
    nlohmann::json prep;
    try {
        prep = nlohmann::json::parse(prep_json);
    } catch (const nlohmann::json::exception& e) {
        throw std::invalid_argument(std::string("DatasetWriter: prep settings are not JSON: ") + e.what());
    }
    if (!prep.is_object()) throw std::invalid_argument("DatasetWriter: prep settings must be a JSON object");
    nlohmann::json meta;
    meta["format"] = "flowpic-dataset";
    meta["version"] = kDatasetVersion;
    meta["prep"] = prep;
    meta_ = meta.dump();

    out_ = std::make_unique<AtomicFile>(path);
    // Room for the header, written last when every offset and checksum is known.
    static const uint8_t zeros[kHeaderSize] = {};
    if (std::fwrite(zeros, 1, kHeaderSize, out_->get()) != kHeaderSize)
        throw input_error(path_, std::string("write failed: ") + std::strerror(errno));
}

DatasetWriter::~DatasetWriter() = default;

uint32_t DatasetWriter::add_class(const std::string& name) {
    for (size_t i = 0; i < classes_.size(); ++i)
        if (classes_[i] == name) return uint32_t(i);
    if (classes_.size() >= 65535) throw InputError(path_ + ": more than 65535 classes");
    classes_.push_back(name);
    return uint32_t(classes_.size() - 1);
}

uint32_t DatasetWriter::add_capture(const std::string& name) {
    if (captures_.size() >= UINT32_MAX) throw InputError(path_ + ": too many captures");
    captures_.push_back(name);
    return uint32_t(captures_.size() - 1);
}

size_t DatasetWriter::add_window(const Window& w, uint32_t label, uint32_t capture, bool vpn) {
    if (finished_) throw std::logic_error("DatasetWriter::add_window after finish");
    if (label >= classes_.size()) throw std::invalid_argument("DatasetWriter: label out of range");
    if (capture >= captures_.size()) throw std::invalid_argument("DatasetWriter: capture out of range");
    if (w.length_us == 0) throw std::invalid_argument("DatasetWriter: window length 0");
    if (w.packets.size() > UINT32_MAX) throw std::invalid_argument("DatasetWriter: window too large");
    // Checked here because the reader and the kernels rely on them and trust the CRC.
    for (size_t i = 0; i < w.packets.size(); ++i) {
        const WindowPacket& p = w.packets[i];
        if (p.t_us >= w.length_us || p.size > kMaxPacketSize || p.dir > 1 ||
            (i > 0 && p.t_us < w.packets[i - 1].t_us))
            throw std::invalid_argument("DatasetWriter: packet " + std::to_string(i) +
                                        " breaks the window rules (sorted, t < length, size <= 1500, dir 0/1)");
    }
    const size_t bytes = w.packets.size() * sizeof(WindowPacket);
    if (bytes && std::fwrite(w.packets.data(), 1, bytes, out_->get()) != bytes)
        throw input_error(path_, std::string("write failed: ") + std::strerror(errno));
    packets_crc_ = crc32c(w.packets.data(), bytes, packets_crc_);

    WindowRecord r{};
    r.packet_offset = packets_;
    r.packet_count = uint32_t(w.packets.size());
    r.length_us = w.length_us;
    r.start_ns = w.start_ns;
    r.flow_id = w.flow_id;
    r.capture = capture;
    r.window_index = w.index;
    r.label = uint16_t(label);
    r.split = kSplitTrain;
    r.vpn = vpn ? 1 : 0;
    r.view = uint8_t(w.view);
    r.proto = w.tuple.proto;
    r.ip_version = w.tuple.ip_version;
    r.sport = w.tuple.sport;
    r.dport = w.tuple.dport;
    std::memcpy(r.src, w.tuple.src.data(), 16);
    std::memcpy(r.dst, w.tuple.dst.data(), 16);
    records_.push_back(r);
    packets_ += w.packets.size();
    return records_.size() - 1;
}

std::vector<SplitGroup> DatasetWriter::split_groups() const {
    std::map<uint32_t, SplitGroup> by_capture;  // ordered: groups come out by capture index
    for (const WindowRecord& r : records_) {
        auto it = by_capture.find(r.capture);
        if (it == by_capture.end()) {
            by_capture.emplace(r.capture, SplitGroup{r.capture, r.label, 1});
        } else {
            if (it->second.label != r.label)
                throw std::logic_error("DatasetWriter: capture " + captures_[r.capture] + " has two labels");
            it->second.windows++;
        }
    }
    std::vector<SplitGroup> out;
    for (const auto& kv : by_capture) out.push_back(kv.second);
    return out;
}

void DatasetWriter::apply_split_plan(const std::vector<SplitGroup>& groups, const SplitPlan& plan) {
    if (plan.split.size() != groups.size()) throw std::invalid_argument("DatasetWriter: plan does not fit the groups");
    std::vector<uint8_t> of_capture(captures_.size(), kSplitTrain);
    for (size_t i = 0; i < groups.size(); ++i) {
        if (groups[i].id >= captures_.size()) throw std::invalid_argument("DatasetWriter: group is not a capture");
        of_capture[groups[i].id] = plan.split[i];
    }
    for (WindowRecord& r : records_) r.split = of_capture[r.capture];
}

void DatasetWriter::set_split(size_t window, uint8_t split) {
    if (split > kSplitTest) throw std::invalid_argument("DatasetWriter: split must be 0, 1 or 2");
    records_.at(window).split = split;
}

void DatasetWriter::finish() {
    if (finished_) return;
    std::FILE* f = out_->get();
    FileHeader h{};
    std::memcpy(h.magic, kDatasetMagic, 8);
    h.version = kDatasetVersion;
    h.header_size = kHeaderSize;
    h.window_count = records_.size();
    h.packet_count = packets_;
    h.class_count = uint32_t(classes_.size());
    h.capture_count = uint32_t(captures_.size());
    h.window_record_size = sizeof(WindowRecord);
    h.packet_record_size = sizeof(WindowPacket);
    h.section_count = kSectionCount;

    uint64_t pos = kHeaderSize;
    auto fail = [&]() { return input_error(path_, std::string("write failed: ") + std::strerror(errno)); };
    auto section = [&](int slot, uint32_t id, const void* data, uint64_t size, bool write, uint32_t crc) {
        static const uint8_t zeros[8] = {};
        const uint64_t pad = (8 - pos % 8) % 8;
        if (pad && std::fwrite(zeros, 1, pad, f) != pad) throw fail();
        pos += pad;
        h.sections[slot] = SectionEntry{id, 0, pos, size, write ? crc32c(data, size) : crc, 0};
        if (write && size && std::fwrite(data, 1, size, f) != size) throw fail();
        pos += size;
    };
    // The packets are already in the file, right after the header.
    h.sections[0] = SectionEntry{kSecPackets, 0, kHeaderSize, packets_ * sizeof(WindowPacket), packets_crc_, 0};
    pos += packets_ * sizeof(WindowPacket);
    const std::string classes = string_table(classes_), captures = string_table(captures_);
    section(1, kSecMeta, meta_.data(), meta_.size(), true, 0);
    section(2, kSecClasses, classes.data(), classes.size(), true, 0);
    section(3, kSecCaptures, captures.data(), captures.size(), true, 0);
    section(4, kSecWindows, records_.data(), records_.size() * sizeof(WindowRecord), true, 0);
    h.file_size = pos;
    h.header_crc = header_crc(h);

    if (std::fseek(f, 0, SEEK_SET) != 0) throw fail();
    if (std::fwrite(&h, 1, sizeof h, f) != sizeof h) throw fail();
    out_->commit();
    finished_ = true;
}

}  // namespace flowpic
