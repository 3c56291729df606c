#include "core/progress.h"

#include <cstdio>
#include <unistd.h>

namespace flowpic {

namespace {
double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}
std::string amount(uint64_t v, const std::string& unit) {
    char buf[64];
    if (unit == "B") std::snprintf(buf, sizeof buf, "%.1f MB", v / 1e6);
    else std::snprintf(buf, sizeof buf, "%llu %s", (unsigned long long)v, unit.c_str());
    return buf;
}
}  // namespace

Progress::Progress(std::string label, uint64_t total, std::string unit, bool enabled, double delay_s)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(enabled),
      tty_(isatty(STDERR_FILENO)), delay_s_(delay_s) {
    start_ = last_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
    if (shown_ && tty_) std::fputc('\n', stderr);
}

void Progress::finish(uint64_t done, uint64_t items, const char* items_name) {
    if (enabled_ && shown_) report(done, items, items_name, true);
}

void Progress::report(uint64_t done, uint64_t items, const char* items_name, bool final) {
    auto now = std::chrono::steady_clock::now();
    double elapsed = seconds_between(start_, now);
    if (!final) {
        if (elapsed < delay_s_) return;
        double gap = tty_ ? 0.2 : 5.0;
        if (shown_ && seconds_between(last_, now) < gap) return;
    }
    last_ = now;
    shown_ = true;
    double rate = elapsed > 0 ? items / elapsed : 0;
    std::string line = label_ + ": " + amount(done, unit_);
    if (total_) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " / %s (%.0f%%)", amount(total_, unit_).c_str(),
                      100.0 * done / total_);
        line += buf;
    }
    if (items) {
        char buf[96];
        // Scaled to the rate: a small run's 2,400 images/s is not "0.00 M images/s".
        if (rate >= 1e6) std::snprintf(buf, sizeof buf, ", %.2f M %s/s", rate / 1e6, items_name);
        else if (rate >= 1e4) std::snprintf(buf, sizeof buf, ", %.1f k %s/s", rate / 1e3, items_name);
        else std::snprintf(buf, sizeof buf, ", %.0f %s/s", rate, items_name);
        line += buf;
    }
    if (!note_.empty()) line += ", " + note_;
    if (tty_) {
        std::string bar;
        if (total_) {
            int width = 30, filled = int(width * (double)done / total_);
            if (filled > width) filled = width;
            bar = "[" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
        }
        std::fprintf(stderr, "\r%s%s\033[K", bar.c_str(), line.c_str());
        if (final) { std::fputc('\n', stderr); shown_ = false; }
    } else {
        std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
}

}  // namespace flowpic
