#include "pcap/capture_reader.h"

#include <pcap.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>

#include "core/error.h"

namespace flowpic {

namespace {

// libpcap's messages are clear but long; keep them and add what the user can act on.
std::string open_error_text(const std::string& errbuf) {
    if (errbuf.find("unknown file format") != std::string::npos)
        return "not a pcap or pcapng capture (unknown file format)";
    return errbuf;
}

}  // namespace

// libpcap reads a savefile with two freads per record.  Through a plain FILE that is a
// kernel copy into the stdio buffer plus a copy out of it; over a memory-mapped file
// (fmemopen, unbuffered) it is one memcpy from the page cache.  Falls back to a FILE with
// a large buffer where mmap is not possible (pipes, special files).
FILE* CaptureReader::open_mapped(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw input_error(path, std::strerror(errno));
    void* m = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (m != MAP_FAILED) {
        madvise(m, size_, MADV_SEQUENTIAL);
        map_ = m;
        FILE* f = fmemopen(m, size_, "r");
        if (f) {
            std::setvbuf(f, nullptr, _IOFBF, 1 << 16);
            return f;
        }
        munmap(m, size_);
        map_ = nullptr;
    }
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) throw input_error(path, std::strerror(errno));
    buffer_.reset(new char[kBufferSize]);
    std::setvbuf(f, buffer_.get(), _IOFBF, kBufferSize);
    return f;
}

CaptureReader::CaptureReader(const std::string& path) : path_(path) {
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t* p = nullptr;
    if (path == "-") {
        buffer_.reset(new char[kBufferSize]);
        std::setvbuf(stdin, buffer_.get(), _IOFBF, kBufferSize);
        p = pcap_fopen_offline_with_tstamp_precision(stdin, PCAP_TSTAMP_PRECISION_NANO, errbuf);
        if (!p) throw input_error("<stdin>", open_error_text(errbuf));
    } else {
        struct stat st;
        if (stat(path.c_str(), &st) != 0) throw input_error(path, std::strerror(errno));
        if (S_ISDIR(st.st_mode)) throw input_error(path, "is a directory");
        if (st.st_size == 0) throw input_error(path, "empty file (not a capture)");
        size_ = uint64_t(st.st_size);
        FILE* f = open_mapped(path);
        p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
        if (!p) {
            // The destructor does not run for a constructor that throws: unmap here, or
            // every file that is not a capture leaks a mapping (found by fuzzing: after
            // ~65,000 of them mmap fails for good).
            std::fclose(f);
            if (map_) munmap(map_, size_);
            map_ = nullptr;
            throw input_error(path, open_error_text(errbuf));
        }
    }
    pcap_ = p;
    dlt_ = pcap_datalink(p);
}

CaptureReader::CaptureReader(std::FILE* stream, const std::string& name) : path_(name) {
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t* p = pcap_fopen_offline_with_tstamp_precision(stream, PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!p) {
        std::fclose(stream);
        throw input_error(name, open_error_text(errbuf));
    }
    pcap_ = p;
    dlt_ = pcap_datalink(p);
}

CaptureReader::~CaptureReader() {
    // pcap_close would fclose(stdin) for "-"; that is fine: stdin is read once.
    if (pcap_) pcap_close(static_cast<pcap_t*>(pcap_));
    if (map_) munmap(map_, size_);
}

bool CaptureReader::next(RawRecord& rec) {
    auto* p = static_cast<pcap_t*>(pcap_);
    struct pcap_pkthdr* hdr;
    const u_char* data;
    int rc = pcap_next_ex(p, &hdr, &data);
    if (rc == 1) {
        // Nanoseconds since 1970 in an int64_t reach 2262; a pcapng timestamp can say any
        // 64-bit value (and libpcap's time_t is signed).  Out of range is bad input, not UB.
        int64_t ns;
        if (hdr->ts.tv_sec < 0 || hdr->ts.tv_usec < 0 ||
            __builtin_mul_overflow(int64_t(hdr->ts.tv_sec), int64_t(1000000000), &ns) ||
            __builtin_add_overflow(ns, int64_t(hdr->ts.tv_usec), &ns))
            throw input_error(path_ == "-" ? "<stdin>" : path_,
                              "record " + std::to_string(records_ + 1) + ": timestamp " +
                                  std::to_string(int64_t(hdr->ts.tv_sec)) + " s is outside 1970..2262 " +
                                  "(the nanosecond range)");
        ++records_;
        rec.ts_ns = ns;
        rec.data = data;
        rec.caplen = hdr->caplen;
        rec.wirelen = hdr->len;
        return true;
    }
    if (rc == PCAP_ERROR_BREAK) return false;  // end of file
    std::string err = pcap_geterr(p);
    // A capture that was killed mid-write ends inside its last record; what came before
    // is good data.  tcpdump and tshark treat it the same way (a warning).
    if (err.find("truncated") != std::string::npos || err.find("cut short") != std::string::npos) {
        warning_ = "capture cut short inside its last record (" + err + "); read up to there";
        return false;
    }
    throw input_error(path_ == "-" ? "<stdin>" : path_, "read error: " + err);
}

uint64_t CaptureReader::bytes_read() const {
    if (path_ == "-") return 0;
    FILE* f = pcap_file(static_cast<pcap_t*>(pcap_));
    long pos = f ? std::ftell(f) : -1;
    return pos < 0 ? 0 : uint64_t(pos);
}

bool looks_like_capture(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return false;
    char m[4];
    bool ok = std::fread(m, 1, 4, f) == 4;
    std::fclose(f);
    return ok && detect_capture_head(m, 4);
}

namespace {
void walk(const std::string& dir, InputFormat format, std::vector<std::string>& out) {
    DIR* d = opendir(dir.c_str());
    if (!d) throw input_error(dir, std::string("cannot read directory: ") + std::strerror(errno));
    std::vector<std::string> names;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
        std::string p = dir + (dir.empty() || dir.back() == '/' ? "" : "/") + n;
        struct stat st;
        if (stat(p.c_str(), &st) != 0) continue;  // dangling link
        if (S_ISDIR(st.st_mode)) {
            walk(p, format, out);
        } else if (S_ISREG(st.st_mode)) {
            // A capture tree is walked as before: the magic number alone decides.
            const bool take = format == InputFormat::kCapture ? looks_like_capture(p) : [&] {
                const InputFormat found = detect_file_format(p);
                return found != InputFormat::kAuto && (format == InputFormat::kAuto || found == format);
            }();
            if (take) out.push_back(p);
        }
    }
}
}  // namespace

std::vector<std::string> expand_capture_inputs(const std::vector<std::string>& inputs, InputFormat format) {
    std::vector<std::string> out;
    for (const auto& in : inputs) {
        if (in == "-") { out.push_back(in); continue; }
        struct stat st;
        if (stat(in.c_str(), &st) != 0) throw input_error(in, std::strerror(errno));
        if (S_ISDIR(st.st_mode)) {
            size_t before = out.size();
            walk(in, format, out);
            if (out.size() == before)
                throw input_error(in, format == InputFormat::kAuto
                                          ? "directory holds no pcap or pcapng capture (nor a packet time series or "
                                            "packet CSV)"
                                      : format == InputFormat::kCapture
                                          ? "directory holds no pcap or pcapng capture"
                                          : std::string("directory holds no ") + (input_format_what(format) + 2) +
                                                " (--format " + input_format_name(format) + ")");
        } else {
            out.push_back(in);
        }
    }
    return out;
}

}  // namespace flowpic
