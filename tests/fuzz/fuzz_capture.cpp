// Capture bytes -> CaptureReader (libpcap) -> decoder -> flow table -> windows, the path
// of flowpic-prep, -render and -infer on captures.  The first byte picks the options
// (view, size rule, timeouts, table size) so every branch of the pipeline is reachable;
// windows are short and keep everything, so small inputs still produce some.
#include <vector>

#include "core/error.h"
#include "flowpic/prep.h"
#include "tests/fuzz/fuzz_util.h"

namespace flowpic {

int fuzz_capture(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t opt = data[0];
    fuzz::InputFile in(data + 1, size - 1, "capture.pcap");
    ExtractOptions ex;
    ex.progress = false;
    ex.keep_going = (opt & 1) != 0;
    ex.skip_empty_tcp = (opt & 2) != 0;
    ex.skip_dns = (opt & 4) != 0;
    ex.flows.max_flows = (opt & 8) ? 4 : ex.flows.max_flows;  // evictions
    if (opt & 16) {
        ex.flows.idle_timeout_s = 0.5;
        ex.flows.active_timeout_s = 2;
    }
    WindowOptions w;
    w.view = (opt & 32) ? FlowView::kBi : FlowView::kUni;
    w.sizes = (opt & 64) ? SizeRule::kClip : SizeRule::kDrop;
    w.window_s = (opt & 128) ? 0.01 : 1.0;
    w.overlap = (opt & 128) ? 0.5 : 0.0;
    w.min_packets = 1;
    w.min_span_s = 0;
    uint64_t packets = 0;
    try {
        ExtractStats st;
        window_captures({in.path()}, ex, w,
                        [&](const std::string&, Window&& win) {
                            for (const WindowPacket& p : win.packets)
                                if (p.t_us >= win.length_us || p.size > kMaxPacketSize) std::abort();
                            packets += win.packets.size();
                        },
                        st);
    } catch (const InputError&) {
    }
    return 0;
}

}  // namespace flowpic

FLOWPIC_FUZZ_ENTRY(flowpic::fuzz_capture)
