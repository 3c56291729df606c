// What the text sources (packet time series, packet CSV) share: a line reader over one
// big buffer per file, and exact number parsers that neither allocate nor round.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace flowpic {

// Lines of one file (or "-", standard input), read through a buffer of `buffer_bytes`:
// a line is a view into the buffer, valid until the next call.  Lines end in '\n' (a
// '\r' before it is dropped; the last line may lack its '\n').  A line longer than
// kMaxLineBytes is bad input: text formats here have short lines, and a long one means a
// binary file or a missing newline, which must not grow memory.
class TextLines {
public:
    static constexpr size_t kMaxLineBytes = 4096;
    static constexpr size_t kDefaultBuffer = size_t(1) << 20;

    explicit TextLines(const std::string& path, size_t buffer_bytes = kDefaultBuffer);  // throws InputError
    ~TextLines();
    TextLines(const TextLines&) = delete;
    TextLines& operator=(const TextLines&) = delete;

    // The next line, or false at the end of the file.  Throws InputError for a read error
    // or a line longer than kMaxLineBytes.
    bool next(std::string_view& line);
    // Back to the first line, for a second pass.  A file that fit the buffer is not read
    // again.  False for standard input (it cannot be read twice).
    bool rewind();

    uint64_t line_number() const { return line_; }  // of the line last returned, 1-based
    uint64_t bytes_read() const { return consumed_ + begin_; }  // through the last line returned
    uint64_t file_size() const { return size_; }    // 0 for standard input
    const std::string& name() const { return name_; }  // the path, or "<stdin>"

    // Throws InputError "NAME:LINE: what" for the line last returned.
    [[noreturn]] void fail(const std::string& what) const;

private:
    bool fill();  // reads more after end_; false at the end of the file

    std::string name_;
    int fd_ = -1;
    bool own_fd_ = false;
    uint64_t size_ = 0;
    std::unique_ptr<char[]> buf_;
    size_t cap_ = 0, begin_ = 0, end_ = 0;
    uint64_t consumed_ = 0;  // file bytes before buf_[0]
    uint64_t line_ = 0;
    bool eof_ = false;
    bool whole_ = false;  // the whole file is in buf_ (a rewind re-reads nothing)
};

// Why a number did not parse.
enum class NumberError : uint8_t { kNone, kEmpty, kNotNumber, kNegative, kRange };

// A non-negative decimal number of seconds ("1522953991.427530000", "0.0328109",
// "6.69956e-05", "12") as integer nanoseconds, from its digits: no floating point, so
// nine decimals come out exactly; digits below a nanosecond are cut off (round toward
// zero).  kRange above INT64_MAX ns (the year 2262 as a Unix time).
NumberError parse_seconds_ns(std::string_view s, int64_t& ns);

// A decimal integer 0..max (digits only; "-3" is kNegative, "+3" and "3.0" kNotNumber).
NumberError parse_uint(std::string_view s, uint32_t max, uint32_t& v);

// True for text shaped like a number: [-+]digits[.digits][(e|E)[-+]digits], or with the
// digits only after the point.  What detection accepts before the strict parsers run.
bool number_shaped(std::string_view s);

// A field as it can appear in an error message: at most 40 characters, anything outside
// printable ASCII as \xNN, in single quotes.
std::string quote_field(std::string_view s);

}  // namespace flowpic
