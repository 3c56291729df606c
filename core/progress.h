// Progress on stderr for long work: a redrawn bar when stderr is a terminal, a plain line
// every few seconds when it is not (logs, CI).  Silent for short jobs (first report after
// `delay_s`).  update() reads the clock: callers call it every few thousand items.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace flowpic {

class Progress {
public:
    // total: the amount of work (bytes, windows...) or 0 if unknown; unit: "B" formats
    // as MB, anything else as a plain count.
    Progress(std::string label, uint64_t total, std::string unit, bool enabled = true,
             double delay_s = 1.0);
    ~Progress();

    // done: work done so far; items: a second counter shown as a rate (packets/s).
    void update(uint64_t done, uint64_t items = 0, const char* items_name = "packets") {
        if (enabled_) report(done, items, items_name, false);
    }
    void finish(uint64_t done, uint64_t items = 0, const char* items_name = "packets");
    void set_total(uint64_t total) { total_ = total; }
    // Extra text shown after the counts, e.g. "loss 0.52 acc 0.81".
    void set_note(std::string note) { note_ = std::move(note); }

private:
    void report(uint64_t done, uint64_t items, const char* items_name, bool final);

    std::string label_, unit_, note_;
    uint64_t total_;
    bool enabled_, tty_, shown_ = false;
    double delay_s_;
    std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace flowpic
