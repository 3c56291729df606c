// Fast text output for per-packet CSV rows: formats into a large buffer and writes it out
// in big chunks.  printf per field would dominate extraction time.
#pragma once
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"

namespace flowpic {

class TextWriter {
public:
    TextWriter(std::FILE* f, std::string name) : f_(f), name_(std::move(name)) { buf_.reserve(kCap + 256); }
    ~TextWriter() = default;  // call flush() explicitly: errors must be seen
    TextWriter(const TextWriter&) = delete;
    TextWriter& operator=(const TextWriter&) = delete;

    TextWriter& str(const char* s, size_t n) { buf_.append(s, n); return spill(); }
    TextWriter& str(const std::string& s) { return str(s.data(), s.size()); }
    TextWriter& str(const char* s) { return str(s, std::strlen(s)); }
    TextWriter& ch(char c) { buf_.push_back(c); return spill(); }
    TextWriter& u64(uint64_t v) {
        char tmp[24];
        char* e = tmp + sizeof tmp;
        char* p = e;
        do { *--p = char('0' + v % 10); v /= 10; } while (v);
        return str(p, size_t(e - p));
    }
    TextWriter& i64(int64_t v) {
        if (v < 0) { ch('-'); return u64(uint64_t(0) - uint64_t(v)); }
        return u64(uint64_t(v));
    }
    // Nanoseconds as seconds with 9 decimals: exact, no floating point.
    TextWriter& seconds_ns(int64_t ns) {
        if (ns < 0) { ch('-'); ns = -ns; }
        u64(uint64_t(ns) / 1000000000);
        ch('.');
        char frac[9];
        uint64_t f = uint64_t(ns) % 1000000000;
        for (int i = 8; i >= 0; --i) { frac[i] = char('0' + f % 10); f /= 10; }
        return str(frac, 9);
    }
    void flush() {
        if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
            throw input_error(name_, std::string("write failed: ") + std::strerror(errno));
        buf_.clear();
    }

private:
    static constexpr size_t kCap = 1 << 18;
    TextWriter& spill() {
        if (buf_.size() >= kCap) flush();
        return *this;
    }
    std::FILE* f_;
    std::string name_;
    std::string buf_;
};

}  // namespace flowpic
