#include "pcap/packet.h"

#include <arpa/inet.h>

namespace flowpic {

std::string format_address(const std::array<uint8_t, 16>& a, uint8_t ip_version) {
    char buf[INET6_ADDRSTRLEN];
    if (ip_version == 4) inet_ntop(AF_INET, &a[12], buf, sizeof buf);
    else inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
    return buf;
}

const char* proto_name(uint8_t proto) {
    return proto == kProtoTcp ? "TCP" : proto == kProtoUdp ? "UDP" : "?";
}

}  // namespace flowpic
