// The dataset file: labelled windows as packet lists (docs/FORMATS.md, "Dataset file").
// "Store packet lists, bin late": each packet is one 8-byte WindowPacket record, so a
// memory-mapped file hands PacketListViews to the binning kernels without a copy; 10,000
// windows of 3,000 packets are ~240 MB.
//
// Layout (version 1, little-endian, every section offset a multiple of 8):
//   header   256 bytes: "FLOWPICD", u32 version, counts, a directory of 5 sections
//            {id, offset, size, crc32c}, and a CRC-32C of the header itself
//   packets  WindowPacket[packet_count]        (written first, streamed as windows arrive)
//   meta     JSON: {"format":"flowpic-dataset","version":1,"prep":{...}}
//   classes  string table (index = label)
//   captures string table (index = provenance capture)
//   windows  WindowRecord[window_count], 88 bytes each (label, split, vpn, provenance,
//            packet range)
//
// Writer: windows arrive one at a time; their packets go straight to the output's temp
// file, their 88-byte records stay in memory until finish(), so the split (known only
// once all windows are) can be set late.  The file appears whole at finish() or not at all
// (core/atomic_file.h).
//
// Reader: maps the file and checks, before anything is used: magic, version, header CRC,
// file size, section bounds/alignment/sizes, every section's CRC (the packet section's
// CRC too unless Verify::kTables is asked for: then call verify_packets() when wanted),
// and every window record (label, capture, split, view in range; packet range inside the
// packet section).  Any failure is an InputError "path: what"; never a crash.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "flowpic/dataset_format.h"
#include "flowpic/mapped_file.h"
#include "flowpic/split.h"
#include "flowpic/windowing.h"
#include "kernels/packet_list.h"
#include "pcap/packet.h"

namespace flowpic {

constexpr uint32_t kDatasetVersion = 1;

struct WindowProvenance {
    uint32_t capture = 0;   // index into captures()
    uint64_t flow_id = 0;   // the flow's id within its capture
    FiveTuple tuple;        // client->server orientation
    DirView view = DirView::kBi;
    uint32_t index = 0;     // window index k within its flow sequence
    int64_t start_ns = 0;   // absolute start time of the window
    uint32_t length_us = 0; // window length
};

struct DatasetWindow {
    uint32_t label = 0;  // index into classes()
    uint8_t split = 0;   // kSplitTrain / kSplitVal / kSplitTest
    bool vpn = false;
    WindowProvenance prov;
    PacketListView packets;  // points into the mapping (valid while the reader lives)
};

class AtomicFile;

class DatasetWriter {
public:
    // prep_json: a JSON object with the preparation settings (WindowOptions::to_json()
    // plus whatever the app adds: label source, split, seed).  "-" is refused (the
    // header is written last, so the output must be seekable).
    explicit DatasetWriter(const std::string& path, const std::string& prep_json = "{}");
    ~DatasetWriter();  // without finish(): no file appears
    DatasetWriter(const DatasetWriter&) = delete;
    DatasetWriter& operator=(const DatasetWriter&) = delete;

    uint32_t add_class(const std::string& name);    // index; an existing name returns its index
    uint32_t add_capture(const std::string& name);  // index; always a new entry
    // Appends the window's packets to the file now (packets sorted by t_us, t_us <
    // length_us, size <= 1500, dir 0/1, else std::invalid_argument: a caller bug).
    // Split starts as train.  Returns the window's index.
    size_t add_window(const Window& w, uint32_t label, uint32_t capture, bool vpn);

    size_t window_count() const { return records_.size(); }
    uint64_t packet_count() const { return packets_; }

    // One group per capture that has windows: {capture, label, windows}, for
    // assign_splits.  std::logic_error if one capture has windows of two labels.
    std::vector<SplitGroup> split_groups() const;
    void apply_split_plan(const std::vector<SplitGroup>& groups, const SplitPlan& plan);
    void set_split(size_t window, uint8_t split);

    void finish();  // writes the tables and header, fsyncs, renames into place

private:
    std::string path_, meta_;
    std::unique_ptr<AtomicFile> out_;
    std::vector<std::string> classes_, captures_;
    std::vector<WindowRecord> records_;
    uint64_t packets_ = 0;
    uint32_t packets_crc_ = 0;
    bool finished_ = false;
};

class DatasetReader {
public:
    enum class Verify { kAll, kTables };
    explicit DatasetReader(const std::string& path, Verify verify = Verify::kAll);

    const std::string& path() const { return file_.path(); }
    uint64_t file_size() const { return file_.size(); }
    uint32_t version() const { return kDatasetVersion; }
    const std::vector<std::string>& classes() const { return classes_; }
    const std::vector<std::string>& captures() const { return captures_; }
    const std::string& meta_json() const { return meta_; }  // the whole meta section
    std::string prep_json() const;                           // its "prep" object

    size_t window_count() const { return window_count_; }
    uint64_t packet_count() const { return packet_count_; }
    DatasetWindow window(size_t i) const;  // std::out_of_range past the end
    uint32_t label(size_t i) const;
    uint8_t split(size_t i) const;

    // counts()[class][split]: windows per class and split.
    std::vector<std::array<uint64_t, 3>> counts() const;

    // Checks the packet section's CRC (done at open unless Verify::kTables).
    void verify_packets() const;

private:
    const uint8_t* record(size_t i) const;
    MappedFile file_;
    std::vector<std::string> classes_, captures_;
    std::string meta_;
    size_t window_count_ = 0;
    uint64_t packet_count_ = 0;
    const uint8_t* windows_ = nullptr;
    const WindowPacket* packets_ = nullptr;
    uint64_t packets_size_ = 0;
    uint32_t packets_crc_ = 0;
};

}  // namespace flowpic
