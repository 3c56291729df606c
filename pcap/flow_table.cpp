// Open addressing (linear probing, backward-shift deletion) over a slab of flow slots,
// plus an intrusive list in order of last activity: the idle flows are always at its
// head, so expiry and eviction are O(1) per ended flow.  No per-packet allocation.
#include "pcap/flow_table.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "core/error.h"

namespace flowpic {

struct FlowTable::Slot {
    FiveTuple key;     // canonical orientation (the smaller endpoint first)
    FlowRecord rec;
    uint64_t hash;
    uint32_t prev, next;  // activity list
    uint32_t bucket;      // where buckets_ points at this slot
};

namespace {

constexpr uint32_t kNone = UINT32_MAX;

// Endpoint order that makes both directions of a flow one key.
bool src_is_smaller(const FiveTuple& t) {
    int c = std::memcmp(t.src.data(), t.dst.data(), 16);
    return c < 0 || (c == 0 && t.sport <= t.dport);
}

inline uint64_t mix(uint64_t x) {  // splitmix64 finaliser
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27; x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Keys compare as five machine words instead of a memcmp call (hot: every packet).
inline bool same_key(const FiveTuple& a, const FiveTuple& b) {
    static_assert(sizeof(FiveTuple) == 38, "FiveTuple layout");
    uint64_t x[5] = {}, y[5] = {};
    std::memcpy(x, &a, sizeof a);
    std::memcpy(y, &b, sizeof b);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

uint64_t hash_key(const FiveTuple& k) {
    uint64_t w[4];
    std::memcpy(&w[0], k.src.data(), 8);
    std::memcpy(&w[1], k.src.data() + 8, 8);
    std::memcpy(&w[2], k.dst.data(), 8);
    std::memcpy(&w[3], k.dst.data() + 8, 8);
    uint64_t h = mix(w[0] ^ 0x9e3779b97f4a7c15ULL);
    h = mix(h ^ w[1]);
    h = mix(h ^ w[2]);
    h = mix(h ^ w[3]);
    return mix(h ^ (uint64_t(k.sport) << 32 | uint64_t(k.dport) << 16 | uint64_t(k.proto) << 8 | k.ip_version));
}

}  // namespace

const char* flow_end_name(FlowEnd e) {
    switch (e) {
        case FlowEnd::kIdle: return "idle";
        case FlowEnd::kActive: return "active";
        case FlowEnd::kEvicted: return "evicted";
        case FlowEnd::kFlush: return "end";
    }
    return "?";
}

FlowTable::FlowTable(FlowTableConfig cfg, EndCallback on_end) : cfg_(cfg), on_end_(std::move(on_end)) {
    // !(x > 0) also catches NaN.
    for (auto [flag, v] : {std::pair{"--idle-timeout", cfg_.idle_timeout_s}, {"--active-timeout", cfg_.active_timeout_s}})
        if (!(v > 0) || v > kMaxFlowTimeoutS)
            throw UsageError(std::string(flag) + ": must be a number of seconds > 0 and at most " +
                             std::to_string(int64_t(kMaxFlowTimeoutS)) + " (a year)");
    if (cfg_.max_flows < 1 || cfg_.max_flows > kMaxTrackedFlows)
        throw UsageError("--max-flows: must be in 1.." + std::to_string(kMaxTrackedFlows));
    buckets_.assign(1024, 0);
}

FlowTable::~FlowTable() = default;

size_t FlowTable::live_flows() const { return live_; }

void FlowTable::unlink_lru(uint32_t i) {
    Slot& s = flows_[i];
    (s.prev == kNone ? lru_head_ : flows_[s.prev].next) = s.next;
    (s.next == kNone ? lru_tail_ : flows_[s.next].prev) = s.prev;
}

void FlowTable::push_lru(uint32_t i) {
    Slot& s = flows_[i];
    s.prev = lru_tail_;
    s.next = kNone;
    (lru_tail_ == kNone ? lru_head_ : flows_[lru_tail_].next) = i;
    lru_tail_ = i;
}

// Backward-shift deletion keeps every probe chain unbroken without tombstones.
void FlowTable::rehash_remove(uint32_t pos) {
    const size_t mask = buckets_.size() - 1;
    uint32_t hole = pos;
    for (uint32_t j = (hole + 1) & mask;; j = (j + 1) & mask) {
        uint32_t e = buckets_[j];
        if (e == 0) break;
        uint32_t ideal = uint32_t(flows_[e - 1].hash & mask);
        // move e into the hole if its ideal position is not in (hole, j]
        bool between = hole <= j ? (ideal > hole && ideal <= j) : (ideal > hole || ideal <= j);
        if (!between) {
            buckets_[hole] = e;
            flows_[e - 1].bucket = hole;
            hole = j;
        }
    }
    buckets_[hole] = 0;
}

void FlowTable::end_flow(uint32_t i, FlowEnd why) {
    Slot& s = flows_[i];
    s.rec.end = why;
    unlink_lru(i);
    rehash_remove(s.bucket);
    free_.push_back(i);
    --live_;
    if (on_end_) on_end_(s.rec);
}

void FlowTable::expire(int64_t now_ns) {
    const int64_t idle_ns = int64_t(cfg_.idle_timeout_s * 1e9);
    while (lru_head_ != kNone && now_ns - flows_[lru_head_].rec.last_ns > idle_ns)
        end_flow(lru_head_, FlowEnd::kIdle);
}

uint32_t FlowTable::find_or_insert(const FiveTuple& key, bool& found) {
    if ((live_ + 1) * 2 > buckets_.size()) {  // keep the load factor <= 1/2
        std::vector<uint32_t> bigger(buckets_.size() * 2, 0);
        const size_t mask = bigger.size() - 1;
        for (uint32_t e : buckets_) {
            if (!e) continue;
            size_t j = flows_[e - 1].hash & mask;
            while (bigger[j]) j = (j + 1) & mask;
            bigger[j] = e;
            flows_[e - 1].bucket = uint32_t(j);
        }
        buckets_.swap(bigger);
    }
    const uint64_t h = hash_key(key);
    const size_t mask = buckets_.size() - 1;
    size_t j = h & mask;
    for (; buckets_[j]; j = (j + 1) & mask) {
        Slot& s = flows_[buckets_[j] - 1];
        if (s.hash == h && same_key(s.key, key)) { found = true; return buckets_[j] - 1; }
    }
    found = false;
    uint32_t i;
    if (!free_.empty()) { i = free_.back(); free_.pop_back(); }
    else { i = uint32_t(flows_.size()); flows_.emplace_back(); }
    Slot& s = flows_[i];
    s.key = key;
    s.hash = h;
    s.bucket = uint32_t(j);
    buckets_[j] = i + 1;
    ++live_;
    return i;
}

void FlowTable::advance(int64_t now_ns) {
    if (now_ns <= now_ns_) return;
    now_ns_ = now_ns;
    expire(now_ns_);
}

FlowHit FlowTable::add(const Packet& p) {
    advance(p.ts_ns);
    const bool smaller = src_is_smaller(p.tuple);
    const FiveTuple key = smaller ? p.tuple : p.tuple.reversed();
    bool found;
    uint32_t i = find_or_insert(key, found);
    FiveTuple client_of_continued;
    bool continued = false;
    if (found && p.ts_ns - flows_[i].rec.first_ns > int64_t(cfg_.active_timeout_s * 1e9)) {
        // A long conversation is cut into flows of at most active_timeout; the pieces keep
        // the original client so directions stay comparable across them.
        client_of_continued = flows_[i].rec.client;
        continued = true;
        end_flow(i, FlowEnd::kActive);
        i = find_or_insert(key, found);
    }
    if (!found && live_ > cfg_.max_flows) {
        // Evict the idlest flow other than the one just inserted (which is not yet listed).
        ++evictions_;
        end_flow(lru_head_, FlowEnd::kEvicted);
    }
    Slot& s = flows_[i];
    if (found) {
        unlink_lru(i);
    } else {
        s.rec = FlowRecord{};
        s.rec.id = next_id_++;
        s.rec.client = continued ? client_of_continued : p.tuple;
        s.rec.first_ns = p.ts_ns;
        s.rec.last_ns = p.ts_ns;
    }
    push_lru(i);
    // Sent by the client?  (A flow from an endpoint to itself counts as client->server.)
    const uint8_t dir = p.tuple.src == s.rec.client.src && p.tuple.sport == s.rec.client.sport ? 1 : 0;
    s.rec.packets[dir] += 1;
    s.rec.bytes[dir] += p.ip_len;
    if (p.ts_ns > s.rec.last_ns) s.rec.last_ns = p.ts_ns;
    return FlowHit{s.rec.id, dir, s.rec.first_ns, !found};
}

void FlowTable::flush() {
    std::vector<uint32_t> live;
    for (uint32_t i = lru_head_; i != kNone; i = flows_[i].next) live.push_back(i);
    std::sort(live.begin(), live.end(), [&](uint32_t a, uint32_t b) { return flows_[a].rec.id < flows_[b].rec.id; });
    for (uint32_t i : live) end_flow(i, FlowEnd::kFlush);
    flows_.clear();
    free_.clear();
    std::fill(buckets_.begin(), buckets_.end(), 0);
    lru_head_ = lru_tail_ = kNone;
    now_ns_ = INT64_MIN;
}

}  // namespace flowpic
