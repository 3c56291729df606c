// A live interface through libpcap: pcap_create + immediate mode (each packet is handed
// over as it arrives, not when a buffer block fills), nanosecond timestamps where the
// kernel gives them, non-blocking reads with our own poll() so deadlines and the stop
// flag are served while the interface is quiet.
#include <net/if.h>
#include <pcap.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "core/error.h"
#include "pcap/live_source.h"

namespace flowpic {
namespace {

class LiveCapture final : public LiveInput {
public:
    LiveCapture(const LiveCaptureOptions& o, const std::atomic<bool>* stop) : name_(o.interface), stop_(stop) {
        char errbuf[PCAP_ERRBUF_SIZE] = "";
        p_ = pcap_create(o.interface.c_str(), errbuf);
        if (!p_) throw input_error(name_, errbuf);
        pcap_set_snaplen(p_, o.snaplen);
        pcap_set_promisc(p_, o.promiscuous ? 1 : 0);
        pcap_set_immediate_mode(p_, 1);
        pcap_set_buffer_size(p_, o.buffer_mb << 20);
        nano_ = pcap_set_tstamp_precision(p_, PCAP_TSTAMP_PRECISION_NANO) == 0;
        const int rc = pcap_activate(p_);
        if (rc < 0) {
            std::string why = pcap_geterr(p_);
            if (rc == PCAP_ERROR_NO_SUCH_DEVICE) why = "no such interface (ip link lists them)";
            else if (rc == PCAP_ERROR_PERM_DENIED) why = "permission denied: capturing needs root or CAP_NET_RAW (" + why + ")";
            else if (rc == PCAP_ERROR_IFACE_NOT_UP) why = "the interface is down";
            pcap_close(p_);
            throw input_error(name_, why);
        }
        if (!o.filter.empty()) {
            bpf_program prog;
            if (pcap_compile(p_, &prog, o.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
                std::string why = pcap_geterr(p_);
                pcap_close(p_);
                throw UsageError("--filter: " + why);
            }
            const int set = pcap_setfilter(p_, &prog);
            pcap_freecode(&prog);
            if (set != 0) {
                std::string why = pcap_geterr(p_);
                pcap_close(p_);
                throw input_error(name_, "cannot set the filter: " + why);
            }
        }
        if (pcap_setnonblock(p_, 1, errbuf) != 0) {
            pcap_close(p_);
            throw input_error(name_, errbuf);
        }
        fd_ = pcap_get_selectable_fd(p_);
    }
    ~LiveCapture() override {
        if (dumper_) pcap_dump_flush(dumper_);
        // pcap_dump_close would fclose the caller's FILE: the dumper is only freed with it.
        pcap_close(p_);
    }

    ReadResult next(RawRecord& rec, int timeout_ms) override {
        if (!error_.empty()) return ReadResult::kEnd;
        bool waited = false;
        for (;;) {
            if (stop_ && stop_->load()) return ReadResult::kEnd;
            struct pcap_pkthdr* h;
            const u_char* data;
            const int rc = pcap_next_ex(p_, &h, &data);
            if (rc == 1) {
                rec.ts_ns = int64_t(h->ts.tv_sec) * 1000000000 + int64_t(h->ts.tv_usec) * (nano_ ? 1 : 1000);
                rec.data = data;
                rec.caplen = h->caplen;
                rec.wirelen = h->len;
                if (dumper_) pcap_dump(reinterpret_cast<u_char*>(dumper_), h, data);
                return ReadResult::kRecord;
            }
            if (rc < 0) {
                error_ = rc == PCAP_ERROR_BREAK ? "capture stopped" : std::string(pcap_geterr(p_));
                return ReadResult::kEnd;
            }
            if (waited) {
                if (gone()) {
                    error_ = "the interface went down or away";
                    return ReadResult::kEnd;
                }
                return ReadResult::kTimeout;
            }
            pollfd pfd{fd_, POLLIN, 0};
            const int r = poll(&pfd, 1, timeout_ms);
            if (r < 0 && errno != EINTR) {
                error_ = std::string("poll: ") + std::strerror(errno);
                return ReadResult::kEnd;
            }
            if (r > 0 && (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))) {
                // The socket's pending error says why (ENETDOWN: the interface went down
                // or was deleted); libpcap's non-blocking read does not look.
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0 || if_nametoindex(name_.c_str()) == 0) {
                    error_ = err == ENETDOWN || if_nametoindex(name_.c_str()) == 0
                                 ? "the interface went down or away"
                                 : std::strerror(err);
                    return ReadResult::kEnd;
                }
            }
            waited = true;
        }
    }

    int link_type() const override { return pcap_datalink(p_); }
    const std::string& name() const override { return name_; }
    bool wall_clock() const override { return true; }
    SourceCounters counters() const override {
        SourceCounters c;
        struct pcap_stat s;
        if (pcap_stats(p_, &s) == 0) {
            c.known = true;
            c.received = s.ps_recv;
            c.dropped = s.ps_drop;
            c.if_dropped = s.ps_ifdrop;
        }
        return c;
    }
    const std::string& error() const override { return error_; }
    std::string warning() const override { return ""; }
    void save_to(std::FILE* f) override {
        dumper_ = pcap_dump_fopen(p_, f);
        if (!dumper_) throw input_error(name_, std::string("cannot save packets: ") + pcap_geterr(p_));
    }
    void flush_saved() override {
        if (dumper_) pcap_dump_flush(dumper_);
    }

private:
    // Whether the interface was deleted, asked at most twice a second (libpcap's
    // non-blocking read may already have taken the socket's error and said nothing).
    bool gone() {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_check_ < std::chrono::milliseconds(500)) return false;
        last_check_ = now;
        return if_nametoindex(name_.c_str()) == 0;
    }

    std::chrono::steady_clock::time_point last_check_{};
    std::string name_;
    const std::atomic<bool>* stop_;
    pcap_t* p_ = nullptr;
    pcap_dumper_t* dumper_ = nullptr;
    int fd_ = -1;
    bool nano_ = false;
    std::string error_;
};

}  // namespace

std::unique_ptr<LiveInput> open_live_capture(const LiveCaptureOptions& opts, const std::atomic<bool>* stop) {
    return std::make_unique<LiveCapture>(opts, stop);
}

}  // namespace flowpic
