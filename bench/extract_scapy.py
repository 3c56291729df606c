#!/usr/bin/python3
"""Extraction baseline with scapy (the seed's pcap_parser.py parses this way): a
bidirectional 5-tuple dict with per-direction packet and byte counts (bytes = IP total
length; the first packet's sender is the client).  scapy dissects every layer in Python
(a few thousand packets/s), so it reads only the first --limit packets (default 100000)
and its rate is extrapolated from those.  Prints one JSON line:
{"tool", "packets", "seconds", "packets_per_s", "mb_per_s", "flows"}.
MB/s is capture-file bytes read per second.  The import (slow) is not timed.
Run with Debian's python: /usr/bin/python3 bench/extract_scapy.py FILE [--limit N]."""
import argparse
import json
import time

import scapy
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.utils import PcapReader


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("pcap")
    ap.add_argument("--limit", type=int, default=100000, help="stop after N packets (0 = all)")
    args = ap.parse_args()

    flows = {}
    packets = 0
    nbytes = 24
    start = time.perf_counter()
    with PcapReader(args.pcap) as reader:
        for pkt in reader:
            packets += 1
            nbytes += 16 + len(pkt)  # captured bytes
            if IP in pkt:
                ip = pkt[IP]
                size = ip.len
                proto = ip.proto
            elif IPv6 in pkt:
                ip = pkt[IPv6]
                size = ip.plen + 40
                proto = ip.nh
            else:
                if args.limit and packets >= args.limit:
                    break
                continue
            l4 = pkt[TCP] if TCP in pkt else pkt[UDP] if UDP in pkt else None
            if l4 is not None:
                key = (ip.src, l4.sport, ip.dst, l4.dport, proto)
                rec = flows.get(key)
                if rec is not None:
                    rec[0] += 1
                    rec[1] += size
                else:
                    rev = (ip.dst, l4.dport, ip.src, l4.sport, proto)
                    rec = flows.get(rev)
                    if rec is not None:
                        rec[2] += 1
                        rec[3] += size
                    else:
                        flows[key] = [1, size, 0, 0]
            if args.limit and packets >= args.limit:
                break
    seconds = time.perf_counter() - start
    print(json.dumps({
        "tool": "scapy " + scapy.VERSION,
        "packets": packets,
        "seconds": seconds,
        "packets_per_s": packets / seconds if seconds > 0 else 0.0,
        "mb_per_s": nbytes / 1e6 / seconds if seconds > 0 else 0.0,
        "flows": len(flows),
    }))


if __name__ == "__main__":
    main()
