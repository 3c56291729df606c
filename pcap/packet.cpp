#include "pcap/packet.h"

#include <arpa/inet.h>

namespace flowpic {

std::string format_address(const std::array<uint8_t, 16>& a, uint8_t ip_version) {
    char buf[INET6_ADDRSTRLEN];
    if (ip_version == 4) {  // by hand: inet_ntop goes through sprintf, slow per packet
        char* p = buf;
        for (int i = 12; i < 16; ++i) {
            unsigned v = a[i];
            if (v >= 100) *p++ = char('0' + v / 100);
            if (v >= 10) *p++ = char('0' + v / 10 % 10);
            *p++ = char('0' + v % 10);
            if (i < 15) *p++ = '.';
        }
        return std::string(buf, p);
    }
    inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
    return buf;
}

const char* proto_name(uint8_t proto) {
    return proto == kProtoTcp ? "TCP" : proto == kProtoUdp ? "UDP" : "?";
}

}  // namespace flowpic
