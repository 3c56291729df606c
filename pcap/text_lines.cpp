#include "pcap/text_lines.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/error.h"

namespace flowpic {

TextLines::TextLines(const std::string& path, size_t buffer_bytes) {
    if (path == "-") {
        name_ = "<stdin>";
        fd_ = 0;
    } else {
        name_ = path;
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) throw input_error(path, std::strerror(errno));
        own_fd_ = true;
        struct stat st;
        if (fstat(fd_, &st) != 0) {
            const int e = errno;
            ::close(fd_);
            throw input_error(path, std::strerror(e));
        }
        if (S_ISDIR(st.st_mode)) {
            ::close(fd_);
            throw input_error(path, "is a directory");
        }
        if (S_ISREG(st.st_mode)) size_ = uint64_t(st.st_size);
    }
    // Room for two longest lines at least; a small regular file gets a buffer that holds
    // all of it (and a byte more, so the read that sees its end needs no second buffer).
    cap_ = std::max(buffer_bytes, 2 * kMaxLineBytes + 2);
    if (size_ > 0 && size_ + 1 < cap_) cap_ = std::max<size_t>(size_t(size_) + 1, 2 * kMaxLineBytes + 2);
    buf_.reset(new char[cap_]);
}

TextLines::~TextLines() {
    if (own_fd_) ::close(fd_);
}

void TextLines::fail(const std::string& what) const {
    throw InputError(name_ + ":" + std::to_string(line_) + ": " + what);
}

bool TextLines::fill() {
    if (eof_) return false;
    if (begin_ > 0) {  // keep the unfinished line (< kMaxLineBytes) at the front
        std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
        consumed_ += begin_;
        end_ -= begin_;
        begin_ = 0;
    }
    for (;;) {
        ssize_t n = ::read(fd_, buf_.get() + end_, cap_ - end_);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw input_error(name_, std::string("read error: ") + std::strerror(errno));
        if (n == 0) {
            eof_ = true;
            whole_ = consumed_ == 0 && own_fd_;
            return false;
        }
        end_ += size_t(n);
        return true;
    }
}

bool TextLines::next(std::string_view& line) {
    for (;;) {
        const char* p = buf_.get() + begin_;
        const size_t avail = end_ - begin_;
        if (const char* nl = static_cast<const char*>(std::memchr(p, '\n', avail))) {
            size_t len = size_t(nl - p);
            ++line_;
            if (len > kMaxLineBytes)
                fail("line longer than " + std::to_string(kMaxLineBytes) + " bytes (binary data, or no line breaks?)");
            begin_ += len + 1;
            if (len > 0 && p[len - 1] == '\r') --len;
            line = std::string_view(p, len);
            return true;
        }
        if (avail > kMaxLineBytes) {
            ++line_;
            fail("line longer than " + std::to_string(kMaxLineBytes) + " bytes (binary data, or no line breaks?)");
        }
        if (!fill()) {
            if (avail == 0) return false;
            // The last line, without its '\n'.
            ++line_;
            size_t len = avail;
            begin_ = end_;
            if (p[len - 1] == '\r') --len;
            line = std::string_view(p, len);
            return true;
        }
    }
}

bool TextLines::rewind() {
    if (whole_) {
        begin_ = 0;
        line_ = 0;
        return true;
    }
    if (!own_fd_) return false;
    if (::lseek(fd_, 0, SEEK_SET) != 0) return false;
    consumed_ = 0;
    begin_ = end_ = 0;
    eof_ = false;
    line_ = 0;
    return true;
}

namespace {
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

NumberError parse_seconds_ns(std::string_view s, int64_t& ns) {
    if (s.empty()) return NumberError::kEmpty;
    const char* p = s.data();
    const char* const e = p + s.size();
    if (*p == '-') return number_shaped(s) ? NumberError::kNegative : NumberError::kNotNumber;
    const char* int_b = p;
    while (p < e && is_digit(*p)) ++p;
    const char* int_e = p;
    const char* frac_b = p;
    const char* frac_e = p;
    if (p < e && *p == '.') {
        frac_b = ++p;
        while (p < e && is_digit(*p)) ++p;
        frac_e = p;
    }
    const int64_t int_len = int_e - int_b, frac_len = frac_e - frac_b;
    if (int_len + frac_len == 0) return NumberError::kNotNumber;
    int64_t exp = 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        ++p;
        bool neg = false;
        if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
        if (p == e || !is_digit(*p)) return NumberError::kNotNumber;
        for (; p < e && is_digit(*p); ++p)
            if (exp < 100000) exp = exp * 10 + (*p - '0');  // past that only zero stays in range
        if (neg) exp = -exp;
    }
    if (p != e) return NumberError::kNotNumber;
    // Digit k (of int then fraction digits) weighs 10^(int_len - 1 - k + exp + 9) ns: the
    // first `keep` digits are whole nanoseconds, the rest are cut off.
    const int64_t keep = int_len + exp + 9;
    uint64_t acc = 0;
    constexpr uint64_t kMax = uint64_t(INT64_MAX);
    int64_t k = 0;
    auto take = [&](const char* b, const char* end) {
        for (const char* q = b; q < end && k < keep; ++q, ++k) {
            const uint64_t d = uint64_t(*q - '0');
            if (acc > (kMax - d) / 10) return false;
            acc = acc * 10 + d;
        }
        return true;
    };
    if (!take(int_b, int_e) || !take(frac_b, frac_e)) return NumberError::kRange;
    for (; k < keep && acc != 0; ++k) {  // fewer digits than whole nanoseconds: scale up
        if (acc > kMax / 10) return NumberError::kRange;
        acc *= 10;
    }
    ns = int64_t(acc);
    return NumberError::kNone;
}

NumberError parse_uint(std::string_view s, uint32_t max, uint32_t& v) {
    if (s.empty()) return NumberError::kEmpty;
    if (s[0] == '-') return number_shaped(s) ? NumberError::kNegative : NumberError::kNotNumber;
    uint64_t x = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), x);
    if (r.ec == std::errc::result_out_of_range) {
        for (char c : s)
            if (!is_digit(c)) return NumberError::kNotNumber;
        return NumberError::kRange;
    }
    if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return NumberError::kNotNumber;
    if (x > max) return NumberError::kRange;
    v = uint32_t(x);
    return NumberError::kNone;
}

bool number_shaped(std::string_view s) {
    size_t i = 0, n = s.size();
    if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
    size_t digits = 0;
    while (i < n && is_digit(s[i])) ++i, ++digits;
    if (i < n && s[i] == '.') {
        ++i;
        while (i < n && is_digit(s[i])) ++i, ++digits;
    }
    if (digits == 0) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
        size_t ed = 0;
        while (i < n && is_digit(s[i])) ++i, ++ed;
        if (ed == 0) return false;
    }
    return i == n;
}

std::string quote_field(std::string_view s) {
    static const char* hex = "0123456789abcdef";
    std::string q = "'";
    size_t shown = 0;
    for (unsigned char c : s) {
        if (shown == 40) {
            q += "...";
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '\'') {
            q += char(c);
        } else {
            q += "\\x";
            q += hex[c >> 4];
            q += hex[c & 15];
        }
        ++shown;
    }
    return q + "'";
}

}  // namespace flowpic
