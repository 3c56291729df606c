#include "flowpic/packet_spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace flowpic {

namespace {

// A slot: this header, then `count` packets.
struct RunHeader {
    int64_t next;  // offset of the sequence's next run, -1 when none (patched by append)
    uint32_t count;
    uint32_t pad;
};
static_assert(sizeof(RunHeader) == 16, "slot layout");
static_assert(sizeof(FlowPacket) == 16, "slot layout");

bool write_all(int fd, const void* p, size_t n, int64_t at) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
        ssize_t w = ::pwrite(fd, c, n, at);
        if (w < 0 && errno == EINTR) continue;
        if (w == 0) errno = ENOSPC;
        if (w <= 0) return false;
        c += w;
        n -= size_t(w);
        at += w;
    }
    return true;
}

bool read_all(int fd, void* p, size_t n, int64_t at) {
    char* c = static_cast<char*>(p);
    while (n > 0) {
        ssize_t r = ::pread(fd, c, n, at);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) errno = EIO;  // a run past the end: the file was cut under us
        if (r <= 0) return false;
        c += r;
        n -= size_t(r);
        at += r;
    }
    return true;
}

}  // namespace

PacketSpool::PacketSpool(std::string dir) : dir_(std::move(dir)) {
    if (dir_.empty()) {
        const char* t = std::getenv("TMPDIR");
        dir_ = t && *t ? t : "/tmp";
    }
}

PacketSpool::~PacketSpool() {
    if (fd_ >= 0) ::close(fd_);
}

void PacketSpool::fail(const std::string& what) const {
    throw input_error(dir_, what + " (the windowing's spill file for long flows; set TMPDIR to a "
                              "directory with room): " + std::strerror(errno));
}

void PacketSpool::open() {
    std::string path = dir_ + "/.flowpic-spool.XXXXXX";
    fd_ = ::mkstemp(path.data());
    if (fd_ < 0) fail("cannot create a temporary file");
    ::unlink(path.c_str());  // anonymous from now on: gone when the process is
}

int64_t PacketSpool::append(const FlowPacket* p, uint32_t n, int64_t prev) {
    if (fd_ < 0) open();
    alignas(8) char slot[kSpoolSlotBytes];
    const RunHeader h{-1, n, 0};
    std::memcpy(slot, &h, sizeof h);
    std::memcpy(slot + sizeof h, p, size_t(n) * sizeof(FlowPacket));
    const int64_t at = end_;
    if (!write_all(fd_, slot, sizeof h + size_t(n) * sizeof(FlowPacket), at)) fail("cannot write");
    if (prev >= 0 && !write_all(fd_, &at, sizeof at, prev)) fail("cannot write");
    end_ += kSpoolSlotBytes;
    if (++live_runs_ > peak_runs_) peak_runs_ = live_runs_;
    return at;
}

int64_t PacketSpool::take(int64_t offset, std::vector<FlowPacket>& out) {
    RunHeader h;
    if (!read_all(fd_, &h, sizeof h, offset)) fail("cannot read back");
    if (h.count == 0 || h.count > kSpoolRunPackets) {
        errno = EIO;
        fail("read back a corrupt run");
    }
    out.resize(h.count);
    if (!read_all(fd_, out.data(), size_t(h.count) * sizeof(FlowPacket), offset + int64_t(sizeof h)))
        fail("cannot read back");
    if (--live_runs_ == 0) {
        // Nothing live: start the file over, so it never grows past the live runs' peak.
        if (::ftruncate(fd_, 0) == 0) end_ = 0;
    } else {
        // Best effort (not every file system can): the disk goes back as runs are read.
        (void)::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, kSpoolSlotBytes);
    }
    return h.next;
}

}  // namespace flowpic
