// Bidirectional flow table.  The first packet seen of a 5-tuple (either orientation)
// makes its sender the client; direction 1 = client->server, 0 = server->client (the
// seed's convention).  Flows end on an idle timeout, an active timeout (a long flow is
// cut into several), eviction when the table is full (the least recently active flow
// goes), or flush().  Ended flows are handed to a callback in the order they end, so
// output streams and memory stays bounded by max_flows whatever the capture size.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "pcap/packet.h"

namespace flowpic {

// Timeouts are finite, > 0 and at most a year: in nanoseconds they must fit int64 beside
// any timestamp.  FlowTable's constructor throws UsageError naming the flag otherwise.
constexpr double kMaxFlowTimeoutS = 365.0 * 86400;
// --max-flows: 64 Mi live flows are ~10 GB of table; more is a typo, not a capture.
constexpr size_t kMaxTrackedFlows = size_t(1) << 26;

struct FlowTableConfig {
    double idle_timeout_s = 120.0;    // no packet for this long ends a flow
    double active_timeout_s = 3600.0; // a flow older than this is ended and a new one begins
    size_t max_flows = 1u << 20;      // live flows kept; beyond it the idlest is evicted
};

enum class FlowEnd : uint8_t { kIdle, kActive, kEvicted, kFlush };
const char* flow_end_name(FlowEnd e);

struct FlowRecord {
    uint64_t id = 0;          // 0, 1, 2 ... in order of first packet
    FiveTuple client;         // src = client (initiator), dst = server
    uint64_t packets[2] = {0, 0};  // [0] server->client, [1] client->server
    uint64_t bytes[2] = {0, 0};    // sums of ip_len, same indexing
    int64_t first_ns = 0, last_ns = 0;
    FlowEnd end = FlowEnd::kFlush;
};

// What add() tells about the packet just added.
struct FlowHit {
    uint64_t flow_id;
    uint8_t direction;   // 1 client->server, 0 server->client
    int64_t flow_first_ns;
    bool new_flow;
};

class FlowTable {
public:
    using EndCallback = std::function<void(const FlowRecord&)>;
    FlowTable(FlowTableConfig cfg, EndCallback on_end);
    ~FlowTable();
    FlowTable(const FlowTable&) = delete;
    FlowTable& operator=(const FlowTable&) = delete;

    FlowHit add(const Packet& p);
    // Ends the flows idle at now_ns, as add() does before a packet of that time: live
    // capture advances the clock when no packet comes (a later packet older than now_ns
    // then expires nothing more).
    void advance(int64_t now_ns);
    void flush();  // ends every live flow (in order of first packet)

    size_t live_flows() const;
    uint64_t flows_started() const { return next_id_; }
    uint64_t evictions() const { return evictions_; }

private:
    struct Slot;
    void end_flow(uint32_t idx, FlowEnd why);
    void expire(int64_t now_ns);
    uint32_t find_or_insert(const FiveTuple& key, bool& found);
    void unlink_lru(uint32_t idx);
    void push_lru(uint32_t idx);
    void rehash_remove(uint32_t pos);

    FlowTableConfig cfg_;
    EndCallback on_end_;
    std::vector<Slot> flows_;
    std::vector<uint32_t> free_;
    std::vector<uint32_t> buckets_;  // open addressing, index+1 into flows_, 0 = empty
    uint32_t lru_head_ = UINT32_MAX, lru_tail_ = UINT32_MAX;
    size_t live_ = 0;
    uint64_t next_id_ = 0, evictions_ = 0;
    int64_t now_ns_ = INT64_MIN;
};

}  // namespace flowpic
