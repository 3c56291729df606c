#include "flowpic/npy.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "core/error.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the .npy writer stores memory as little-endian data"
#endif

namespace flowpic {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;
constexpr int kCountWidth = 20;  // digits of the largest uint64: the streaming placeholder

std::string shape_string(const NpyShape& shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    if (shape.size() == 1) s += ",";  // numpy spells a 1-d shape "(3,)"
    return s + ")";
}

// The preamble for a header dict, padded with spaces to `total` bytes (0: the next
// multiple of 64).  Also what the streaming writer uses to patch its count in place.
std::string preamble(const std::string& dict, size_t total = 0) {
    size_t unpadded = kMagicLen + 4 + dict.size() + 1;  // + '\n'
    if (total == 0) total = (unpadded + kAlign - 1) / kAlign * kAlign;
    if (total - kMagicLen - 4 > 0xffff) throw std::length_error(".npy header over 64 KiB");
    std::string out(kMagic, kMagicLen);
    out += '\x01';
    out += '\x00';
    const size_t header_len = total - kMagicLen - 4;
    out += char(header_len & 0xff);
    out += char(header_len >> 8);
    out += dict;
    out.append(total - unpadded, ' ');
    out += '\n';
    return out;
}

std::string header_dict(NpyDtype t, const std::string& shape) {
    return std::string("{'descr': '") + npy_descr(t) + "', 'fortran_order': False, 'shape': " + shape +
           ", }";
}

uint64_t checked_elements(const NpyShape& shape, const std::string& path) {
    uint64_t n = 1;
    for (uint64_t d : shape)
        if (__builtin_mul_overflow(n, d, &n)) throw input_error(path, "array shape too large");
    return n;
}

// A tiny reader for the one Python literal a .npy header is.
class HeaderParser {
public:
    HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

    void parse(std::string& descr, bool& fortran, NpyShape& shape) {
        bool have_descr = false, have_fortran = false, have_shape = false;
        expect('{');
        while (!peek('}')) {
            std::string key = string_literal();
            expect(':');
            if (key == "descr") {
                descr = string_literal();
                have_descr = true;
            } else if (key == "fortran_order") {
                fortran = boolean();
                have_fortran = true;
            } else if (key == "shape") {
                shape = tuple();
                have_shape = true;
            } else {
                fail("unexpected key '" + key + "'");
            }
            if (!peek(',')) break;
            ++i_;
        }
        expect('}');
        skip_ws();
        if (i_ != s_.size()) fail("text after the dict");
        if (!have_descr || !have_fortran || !have_shape)
            fail(std::string("missing '") + (!have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape") +
                 "'");
    }

private:
    [[noreturn]] void fail(const std::string& what) const {
        throw input_error(path_, "malformed .npy header: " + what);
    }
    void skip_ws() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    bool peek(char c) {
        skip_ws();
        return i_ < s_.size() && s_[i_] == c;
    }
    void expect(char c) {
        if (!peek(c)) fail(std::string("expected '") + c + "'");
        ++i_;
    }
    std::string string_literal() {
        skip_ws();
        if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) fail("expected a string");
        char q = s_[i_++];
        size_t end = s_.find(q, i_);
        if (end == std::string::npos) fail("unterminated string");
        std::string out = s_.substr(i_, end - i_);
        i_ = end + 1;
        return out;
    }
    bool boolean() {
        skip_ws();
        for (const char* word : {"True", "False"}) {
            size_t n = std::strlen(word);
            if (s_.compare(i_, n, word) == 0) {
                i_ += n;
                return word[0] == 'T';
            }
        }
        fail("fortran_order is not True or False");
    }
    NpyShape tuple() {
        NpyShape out;
        expect('(');
        while (!peek(')')) {
            if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_])))
                fail("shape holds something other than non-negative integers");
            uint64_t v = 0;
            while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
                if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, uint64_t(s_[i_] - '0'), &v))
                    fail("shape dimension too large");
                ++i_;
            }
            if (i_ < s_.size() && s_[i_] == 'L') ++i_;  // Python 2 longs
            out.push_back(v);
            if (!peek(',')) break;
            ++i_;
        }
        expect(')');
        return out;
    }

    const std::string& s_;
    const std::string& path_;
    size_t i_ = 0;
};

bool parse_descr(const std::string& d, NpyDtype& t) {
    if (d == "|u1" || d == "<u1") t = NpyDtype::u8;
    else if (d == "<u2") t = NpyDtype::u16;
    else if (d == "<i8") t = NpyDtype::i64;
    else if (d == "<f4") t = NpyDtype::f32;
    else return false;
    return true;
}

}  // namespace

size_t npy_itemsize(NpyDtype t) {
    switch (t) {
    case NpyDtype::u8: return 1;
    case NpyDtype::u16: return 2;
    case NpyDtype::i64: return 8;
    case NpyDtype::f32: return 4;
    }
    return 0;
}

const char* npy_descr(NpyDtype t) {
    switch (t) {
    case NpyDtype::u8: return "|u1";  // what numpy.save writes for uint8
    case NpyDtype::u16: return "<u2";
    case NpyDtype::i64: return "<i8";
    case NpyDtype::f32: return "<f4";
    }
    return "?";
}

uint64_t npy_elements(const NpyShape& shape) { return checked_elements(shape, "npy"); }

std::string npy_preamble(NpyDtype t, const NpyShape& shape) {
    return preamble(header_dict(t, shape_string(shape)));
}

void write_npy(const std::string& path, NpyDtype t, const NpyShape& shape, const void* data) {
    const uint64_t bytes = checked_elements(shape, path) * npy_itemsize(t);
    AtomicFile out(path);
    const std::string head = npy_preamble(t, shape);
    if (std::fwrite(head.data(), 1, head.size(), out.get()) != head.size() ||
        (bytes && std::fwrite(data, 1, bytes, out.get()) != bytes))
        throw input_error(path, std::string("write failed: ") + std::strerror(errno));
    out.commit();
}

// ---- streaming writer ----------------------------------------------------------------

namespace {
// The dict with the count right-aligned in a fixed-width field of spaces: "(   42, 1, 8, 8)".
std::string stream_dict(NpyDtype t, uint64_t count, const NpyShape& item_shape) {
    std::string n = std::to_string(count);
    std::string s = "(" + std::string(kCountWidth - n.size(), ' ') + n;
    for (uint64_t d : item_shape) s += ", " + std::to_string(d);
    if (item_shape.empty()) s += ",";
    return header_dict(t, s + ")");
}
}  // namespace

NpyStreamWriter::NpyStreamWriter(const std::string& path, NpyDtype t, NpyShape item_shape)
    : file_(path), dtype_(t), item_shape_(std::move(item_shape)) {
    if (file_.is_stdout()) throw UsageError("an .npy dataset cannot be written to stdout");
    item_bytes_ = size_t(checked_elements(item_shape_, path) * npy_itemsize(t));
    const std::string head = preamble(stream_dict(t, 0, item_shape_));
    preamble_bytes_ = head.size();
    if (std::fwrite(head.data(), 1, head.size(), file_.get()) != head.size())
        throw input_error(path, std::string("write failed: ") + std::strerror(errno));
}

void NpyStreamWriter::check_type(NpyDtype t) const {
    if (t != dtype_)
        throw std::logic_error(file_.path() + ": appending " + npy_descr(t) + " items to a " +
                               npy_descr(dtype_) + " array");
}

void NpyStreamWriter::append_raw(const void* items, uint64_t count) {
    const size_t bytes = size_t(count) * item_bytes_;
    if (bytes && std::fwrite(items, 1, bytes, file_.get()) != bytes)
        throw input_error(file_.path(), std::string("write failed: ") + std::strerror(errno));
    count_ += count;
}

void NpyStreamWriter::finish() {
    const std::string head = preamble(stream_dict(dtype_, count_, item_shape_), preamble_bytes_);
    if (std::fflush(file_.get()) != 0 || std::fseek(file_.get(), 0, SEEK_SET) != 0 ||
        std::fwrite(head.data(), 1, head.size(), file_.get()) != head.size())
        throw input_error(file_.path(), std::string("write failed: ") + std::strerror(errno));
    file_.commit();
}

// ---- reader ----------------------------------------------------------------------------

NpyReader::NpyReader(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "rb")) {
    if (!file_) throw input_error(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st;
    if (fstat(fileno(file_.get()), &st) != 0 || !S_ISREG(st.st_mode))
        throw input_error(path, "not a regular file");
    const uint64_t file_size = uint64_t(st.st_size);

    unsigned char fixed[12];
    size_t got = std::fread(fixed, 1, sizeof fixed, file_.get());
    if (got < 10 || std::memcmp(fixed, kMagic, kMagicLen) != 0)
        throw input_error(path, "not a .npy file (bad magic)");
    const int major = fixed[6], minor = fixed[7];
    size_t len_bytes;
    if (major == 1 && minor == 0) len_bytes = 2;
    else if (major == 2 && minor == 0) len_bytes = 4;  // only for headers over 64 KiB
    else
        throw input_error(path, "unsupported .npy version " + std::to_string(major) + "." +
                                    std::to_string(minor) + " (expected 1.0 or 2.0)");
    if (got < 8 + len_bytes) throw input_error(path, "truncated .npy header");
    uint64_t header_len = fixed[8] | uint64_t(fixed[9]) << 8;
    if (len_bytes == 4) header_len |= uint64_t(fixed[10]) << 16 | uint64_t(fixed[11]) << 24;
    data_offset_ = 8 + len_bytes + header_len;
    if (data_offset_ > file_size)
        throw input_error(path, "truncated .npy header (" + std::to_string(file_size) + " of " +
                                    std::to_string(data_offset_) + " bytes)");
    std::string header(header_len, '\0');
    if (std::fseek(file_.get(), long(8 + len_bytes), SEEK_SET) != 0 ||
        std::fread(&header[0], 1, header_len, file_.get()) != header_len)
        throw input_error(path, "cannot read the .npy header");

    std::string descr;
    bool fortran = false;
    HeaderParser(header, path).parse(descr, fortran, shape_);
    if (!parse_descr(descr, dtype_))
        throw input_error(path, "unsupported dtype '" + descr +
                                    "' (expected uint8 '|u1', uint16 '<u2', int64 '<i8' or float32 '<f4')");
    if (fortran) throw input_error(path, "Fortran-order arrays are not supported (save with C order)");

    uint64_t bytes;
    if (__builtin_mul_overflow(checked_elements(shape_, path), uint64_t(npy_itemsize(dtype_)), &bytes) ||
        bytes > std::numeric_limits<size_t>::max())
        throw input_error(path, "array shape too large");
    data_bytes_ = size_t(bytes);
    const uint64_t have = file_size - data_offset_;
    if (have < bytes)
        throw input_error(path, "truncated data (" + std::to_string(have) + " of " + std::to_string(bytes) +
                                    " bytes)");
    if (have > bytes)
        throw input_error(path, std::to_string(have - bytes) + " unexpected bytes after the data");
}

void NpyReader::read_rows(uint64_t first, uint64_t rows, void* out) {
    const uint64_t total_rows = shape_.empty() ? 1 : shape_[0];
    if (first > total_rows || rows > total_rows - first)
        throw std::out_of_range(path_ + ": rows " + std::to_string(first) + "+" + std::to_string(rows) +
                                " beyond " + std::to_string(total_rows));
    if (rows == 0) return;
    const size_t row_bytes = data_bytes_ / size_t(total_rows);
    const size_t bytes = size_t(rows) * row_bytes;
    if (fseeko(file_.get(), off_t(data_offset_ + first * row_bytes), SEEK_SET) != 0 ||
        std::fread(out, 1, bytes, file_.get()) != bytes)
        throw input_error(path_, "read failed (file changed or truncated?)");
}

NpyArray read_npy(const std::string& path) {
    NpyReader r(path);
    NpyArray a;
    a.dtype = r.dtype();
    a.shape = r.shape();
    a.data.resize(r.data_bytes());
    r.read_all(a.data.data());
    return a;
}

void npy_to_float(NpyDtype t, const void* raw, size_t n, float* out) {
    const auto* bytes = static_cast<const uint8_t*>(raw);
    auto convert = [&](auto tag) {
        using T = decltype(tag);
        for (size_t i = 0; i < n; ++i) {
            T v;
            std::memcpy(&v, bytes + i * sizeof(T), sizeof(T));
            out[i] = float(v);
        }
    };
    switch (t) {
    case NpyDtype::u8: convert(uint8_t{}); break;
    case NpyDtype::u16: convert(uint16_t{}); break;
    case NpyDtype::i64: convert(int64_t{}); break;
    case NpyDtype::f32: convert(float{}); break;
    }
}

std::vector<float> NpyArray::to_float() const {
    std::vector<float> out(static_cast<size_t>(elements()));
    npy_to_float(dtype, data.data(), out.size(), out.data());
    return out;
}

}  // namespace flowpic
