// The windowing's spill file: where WindowCollector parks a long flow's time-sorted
// packets until the flow ends (flowpic/windowing.h, "Streaming").  Windows are emitted
// when their flow ends, in the same order as a batch cut (the dataset file's bytes depend
// on that order), so a live flow's packets must be kept somewhere; here they cost 16 bytes
// of disk each instead of RAM.
//
// The file is anonymous: created with mkstemp in the spool directory ($TMPDIR, else /tmp)
// on the first spill and unlinked at once, so nothing is left behind even after kill -9.
// It holds runs of up to kSpoolRunPackets packets in 4 KiB slots; each slot starts with
// the offset of the same sequence's next run, so a sequence needs only its first and last
// run's offsets in memory, however long it is.  A run that has been read back is
// released (its 4 KiB punched out of the file, best effort), and the file is truncated
// whenever no run is live: the disk used is 4 KiB per live run, at most 16 bytes per
// packet of the live flows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "flowpic/windowing.h"

namespace flowpic {

constexpr uint32_t kSpoolSlotBytes = 4096;
constexpr uint32_t kSpoolRunPackets = (kSpoolSlotBytes - 16) / sizeof(FlowPacket);  // 255

class PacketSpool {
public:
    explicit PacketSpool(std::string dir);  // "" = $TMPDIR, else /tmp
    ~PacketSpool();
    PacketSpool(const PacketSpool&) = delete;
    PacketSpool& operator=(const PacketSpool&) = delete;

    // Writes n (1..kSpoolRunPackets) packets as a new run and links it after run `prev`
    // (-1: the sequence's first run).  Returns the new run's offset.  InputError naming
    // the spool directory when the file cannot be created or written (disk full).
    int64_t append(const FlowPacket* p, uint32_t n, int64_t prev);
    // Reads the run at `offset` into `out`, releases it, and returns the offset of the
    // run linked after it (-1: the last).
    int64_t take(int64_t offset, std::vector<FlowPacket>& out);

    uint64_t live_bytes() const { return uint64_t(live_runs_) * kSpoolSlotBytes; }
    uint64_t peak_bytes() const { return peak_runs_ * kSpoolSlotBytes; }

private:
    void open();
    [[noreturn]] void fail(const std::string& what) const;

    std::string dir_;
    int fd_ = -1;
    int64_t end_ = 0;  // next free slot
    uint64_t live_runs_ = 0, peak_runs_ = 0;
};

}  // namespace flowpic
