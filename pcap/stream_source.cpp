// A pcap or pcapng stream on standard input (tcpdump -w - | flowpic-infer --stream -),
// read record by record as the writer produces them.  libpcap reads through a FILE; this
// one's read function waits for data with poll(), a tenth of a second at a time, so the
// stop flag ends the run even while the writer is silent (a blocked read() would not
// notice SIGINT with SA_RESTART semantics, and a handler cannot safely close stdin).
// Deadlines run on the stream's own time: the records' timestamps.
#include <pcap.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"
#include "pcap/live_source.h"

namespace flowpic {
namespace {

struct StdinCookie {
    int fd;
    const std::atomic<bool>* stop;
};

ssize_t read_stdin(void* cookie, char* buf, size_t n) {
    auto* c = static_cast<StdinCookie*>(cookie);
    for (;;) {
        if (c->stop && c->stop->load()) return 0;  // as the end of the stream
        pollfd pfd{c->fd, POLLIN, 0};
        const int r = poll(&pfd, 1, 100);
        if (r < 0 && errno != EINTR) return -1;
        if (r <= 0) continue;
        const ssize_t k = ::read(c->fd, buf, n);
        if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        return k;
    }
}

class CaptureStream final : public LiveInput {
public:
    explicit CaptureStream(const std::atomic<bool>* stop) : cookie_{STDIN_FILENO, stop}, stop_(stop) {
        if (isatty(STDIN_FILENO)) throw input_error(name_, "standard input is a terminal: pipe a capture in (tcpdump -w - | ...)");
        cookie_io_functions_t io{read_stdin, nullptr, nullptr, nullptr};
        std::FILE* f = fopencookie(&cookie_, "r", io);
        if (!f) throw input_error(name_, std::strerror(errno));
        // Records are handed on as soon as their bytes are in: stdio returns a short read
        // of the pipe to libpcap's fread, which asks again for the rest.
        reader_ = std::make_unique<CaptureReader>(f, name_);
    }
    ~CaptureStream() override { flush_saved(); }

    ReadResult next(RawRecord& rec, int /*timeout_ms*/) override {
        try {
            if (!reader_->next(rec)) return ReadResult::kEnd;
        } catch (const InputError& e) {
            if (stop_ && stop_->load()) return ReadResult::kEnd;
            error_ = e.what();
            return ReadResult::kEnd;
        }
        if (dumper_) {
            struct pcap_pkthdr h;
            h.ts.tv_sec = time_t(rec.ts_ns / 1000000000);
            h.ts.tv_usec = suseconds_t(rec.ts_ns % 1000000000);  // nanoseconds: the handle's precision
            h.caplen = rec.caplen;
            h.len = rec.wirelen;
            pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, rec.data);
        }
        return ReadResult::kRecord;
    }
    int link_type() const override { return reader_->link_type(); }
    const std::string& name() const override { return name_; }
    bool wall_clock() const override { return false; }
    SourceCounters counters() const override { return {}; }
    const std::string& error() const override { return error_; }
    std::string warning() const override {
        // A stop request ends the stream where it was: not the writer's fault.
        return stop_ && stop_->load() ? "" : reader_->warning();
    }
    void save_to(std::FILE* f) override {
        dumper_ = pcap_dump_fopen(static_cast<pcap_t*>(reader_->handle()), f);
        if (!dumper_) throw input_error(name_, "cannot save packets");
    }
    void flush_saved() override {
        if (dumper_) pcap_dump_flush(dumper_);
    }

private:
    std::string name_ = "<stdin>";
    StdinCookie cookie_;
    const std::atomic<bool>* stop_;
    std::unique_ptr<CaptureReader> reader_;
    pcap_dumper_t* dumper_ = nullptr;
    std::string error_;
};

}  // namespace

std::unique_ptr<LiveInput> open_capture_stream(const std::atomic<bool>* stop) {
    return std::make_unique<CaptureStream>(stop);
}

}  // namespace flowpic
